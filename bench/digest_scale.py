"""Digest throughput with 1, 2 and 4 worker processes on one broker and database.

Each run seeds a fresh database with N subscribers, starts that many `newsroom worker`
processes (one pool process each: the unit a new host adds), queues the digest and times
it to the last message accepted by a loopback SMTP sink. It prints messages per second and
the scaling ratio against one worker, measured in the same run. A small uncounted run
goes first: whichever run came first paid for cold caches (up to half its rate on
PostgreSQL). On a 2-core machine the ratio stops growing at 2 workers: the sink, Redis
and the database share those cores.

    .venv/bin/python bench/digest_scale.py [--subscribers N] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.digest_send import Sink, free_port, newsroom_end_to_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    port = free_port()
    sink = Sink(port)
    rates: dict[int, float] = {}
    try:
        warm_up = argparse.Namespace(**{**vars(args), "subscribers": 2_000})
        newsroom_end_to_end(warm_up, port, sink, workers=1)
        print("warm-up done (not counted)", flush=True)
        for count in (int(n) for n in args.workers.split(",")):
            rates[count], _ = newsroom_end_to_end(args, port, sink, workers=count)
            print(f"{count} worker(s): {rates[count]:8.0f} msg/s", flush=True)
    finally:
        sink.stop()
    base = rates[min(rates)]
    print(f"cores: {os.cpu_count()}; {args.subscribers} subscribers per run")
    for count, rate in rates.items():
        print(f"{count} worker(s): {rate:8.0f} msg/s   x{rate / base:.2f} vs {min(rates)}")


if __name__ == "__main__":
    main()
