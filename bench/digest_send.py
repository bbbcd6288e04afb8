"""Digest delivery throughput: newsroom end to end against a naive sender and the raw ceiling.

    .venv/bin/python bench/digest_send.py [--subscribers 100000] [--database-url URL]

Everything is real and on this machine: Redis (REDIS_URL, default redis://127.0.0.1:6379/12,
emptied first), the database (a temporary SQLite file, or with --database-url a scratch
database created on that PostgreSQL server for the run and dropped after it), two
``newsroom worker`` processes, and a lean SMTP sink on loopback whose own ceiling is
measured first. It prints:

  sink ceiling  pipelined raw sockets, 2 processes: what the sink can take
  (a) naive     per subscriber: Jinja render + premailer + EmailMessage + smtplib send
  (b) raw       pre-built message bytes over reused smtplib connections, 2 processes
  (c) newsroom  from `digest queue` to the last message accepted, 2 worker processes
  c/a, c/b, peak RSS of each worker process, one digest render + inline
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import httpx
import psutil
import psycopg
import redis
from sqlalchemy import insert, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.smtp_sink import Sink  # noqa: E402
from worker.articles import import_records, parse_source  # noqa: E402
from worker.celery_app import connect  # noqa: E402
from worker.delivery import build_message  # noqa: E402
from worker.digests import DigestArticle, RenderedDigest, render_digest  # noqa: E402
from worker.dispatch import queue_digest  # noqa: E402
from worker.settings import load_settings  # noqa: E402
from worker.store import (  # noqa: E402
    DigestStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    digests,
    get_engine,
    newsletters,
    session_factory,
    upgrade,
)

NEWSLETTER = "la-matinale"
SENDER = "La Matinale <matinale@lequotidien.example>"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sample_articles() -> list[DigestArticle]:
    return [
        DigestArticle(
            title=f"« Budget 2027 » : l’Assemblée adopte la partie {n}",
            link=f"https://www.lequotidien.example/politique/budget-{n}",
            summary="Les députés ont voté la première partie du projet de loi de finances. " * 3,
            author="Camille Martin",
            image_url=f"https://www.lequotidien.example/img/{n}.jpg",
        )
        for n in range(8)
    ]


def render_sample() -> RenderedDigest:
    return render_digest(
        template="digest",
        newsletter_slug=NEWSLETTER,
        newsletter_title="La Matinale",
        language="fr",
        edition=date(2026, 11, 24),
        articles=sample_articles(),
    )


def render_once() -> float:
    """Seconds for one digest render with its CSS inlined (median of 7)."""
    times = []
    for _ in range(7):
        start = time.perf_counter()
        render_sample()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def naive(port: int, count: int) -> float:
    """(a) Everything per subscriber, as a first version would do it."""
    connection = smtplib.SMTP("127.0.0.1", port)
    start = time.perf_counter()
    for n in range(count):
        rendered = render_sample()  # Jinja and premailer again, for every subscriber
        message = EmailMessage(policy=SMTP)
        message["Subject"] = rendered.subject
        message["From"] = SENDER
        message["To"] = f"Lecteur {n} <reader{n}@example.org>"
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain="lequotidien.example")
        message["List-Unsubscribe"] = f"<https://news.example/unsubscribe/{n}>"
        message.set_content(rendered.text.replace("[[unsubscribe_url]]", f"https://x/{n}"))
        message.add_alternative(rendered.html, subtype="html")
        connection.send_message(message)
    elapsed = time.perf_counter() - start
    connection.quit()
    return count / elapsed


def prebuilt_message() -> bytes:
    rendered = render_sample()
    message = build_message(
        rendered,
        sender=SENDER,
        reply_to=None,
        recipient_email="reader@example.org",
        recipient_name="Lecteur",
        unsubscribe_url="https://news.example/unsubscribe/x",
        unsubscribe_mailto="mailto:unsubscribe@lequotidien.example",
        list_id="La Matinale <la-matinale.lequotidien.example>",
    )
    return message.data


def _raw_sender(port: int, data: bytes, count: int) -> None:
    connection = smtplib.SMTP("127.0.0.1", port)
    for n in range(count):
        connection.sendmail("matinale@lequotidien.example", [f"r{n}@example.org"], data)
    connection.quit()


def _pipelined_sender(port: int, data: bytes, count: int) -> None:
    transaction = (
        b"MAIL FROM:<m@lequotidien.example>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n"
        + data
        + b"\r\n.\r\n"
    )
    group = 50
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        for _ in range(count // group):
            sock.sendall(transaction * group)
            for _ in range(group * 4):
                reader.readline()


def parallel(target, port: int, data: bytes, count: int, processes: int = 2) -> float:
    """Messages a second over ``processes`` senders running at once."""
    per = count // processes
    workers = [
        multiprocessing.Process(target=target, args=(port, data, per)) for _ in range(processes)
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per * processes / (time.perf_counter() - start)


def seed(database_url: str, settings, subscribers: int) -> None:
    upgrade(database_url)
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        newsletter = newsletters.get_by_slug(session, NEWSLETTER)
        assert newsletter is not None
        with httpx.Client() as client:
            parsed = parse_source(str(ROOT / "samples" / "articles.json"), client)
        import_records(session, parsed.records, source="samples", announce=lambda _: None)
        newsletter_id = newsletter.id
    chunk = 10_000
    for first in range(0, subscribers, chunk):
        rows = [
            {"email": f"reader{n:06}@example.org", "name": f"Lecteur {n}", "language": "fr"}
            for n in range(first, min(first + chunk, subscribers))
        ]
        with sessions.begin() as session:
            ids = session.scalars(insert(Subscriber).returning(Subscriber.id), rows).all()
            session.execute(
                insert(Subscription),
                [
                    {
                        "subscriber_id": i,
                        "newsletter_id": newsletter_id,
                        "status": SubscriptionStatus.CONFIRMED,
                    }
                    for i in ids
                ],
            )


def peak_rss_mb(process: psutil.Process) -> dict[int, float]:
    """VmHWM of a worker's main process and of its pool children."""
    peaks = {}
    for proc in [process, *process.children(recursive=True)]:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except FileNotFoundError:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        peaks[proc.pid] = kb / 1024
    return peaks


def newsroom_end_to_end(
    args: argparse.Namespace, port: int, sink: Sink, workers: int = 2
) -> tuple[float, list]:
    """Seed a fresh database, start ``workers`` worker processes (one pool process each),
    queue the digest and time it to the last message the sink accepted."""
    data_dir = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    if args.database_url is None:
        sqlite_url = f"sqlite:///{data_dir / 'bench.db'}"
        return _end_to_end(sqlite_url, data_dir, args, port, sink, workers)
    with scratch_postgresql(args.database_url) as database_url:
        return _end_to_end(database_url, data_dir, args, port, sink, workers)


@contextmanager
def scratch_postgresql(server_url: str) -> Iterator[str]:
    """A new empty database on the server of ``server_url``, dropped afterwards: each run
    starts from nothing, and the database the user named is never written to."""
    url = make_url(server_url)
    name = f"newsroom_bench_{uuid.uuid4().hex[:8]}"
    admin_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    scratch_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        yield scratch_url
    finally:
        get_engine(scratch_url).dispose()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _end_to_end(
    database_url: str,
    data_dir: Path,
    args: argparse.Namespace,
    port: int,
    sink: Sink,
    workers: int,
) -> tuple[float, list]:
    env = {
        **os.environ,
        "NEWSROOM_DATA_DIR": str(data_dir),
        "NEWSROOM_CONFIG": str(ROOT / "config" / "newsroom.toml"),
        "NEWSROOM_ENV_FILE": str(data_dir / "none.env"),
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "EMAIL_BACKEND": "smtp",
        "SMTP_URL": f"smtp://127.0.0.1:{port}",
        "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
        "LOG_LEVEL": "WARNING",
    }
    redis.Redis.from_url(args.redis_url).flushdb()
    settings = load_settings({k: v for k, v in env.items() if isinstance(v, str)})
    print(f"seeding {args.subscribers} subscribers in {database_url.split(':')[0]} …", flush=True)
    seed(database_url, settings, args.subscribers)
    connect(settings)

    log = open(data_dir / "workers.log", "wb")  # noqa: SIM115 - closed below
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "worker", "worker", "--concurrency=1", "--loglevel=WARNING"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        for _ in range(workers)
    ]
    time.sleep(2 + workers)  # every worker connected to the broker
    sink.reset()
    start = time.time()
    digest_id, recipients = queue_digest(settings, NEWSLETTER)
    assert recipients == args.subscribers, recipients
    sessions = session_factory(database_url)
    deadline = start + args.timeout
    while sink.received < recipients and time.time() < deadline:
        time.sleep(0.2)
    elapsed = sink.last.value - start
    peaks = [peak_rss_mb(psutil.Process(w.pid)) for w in processes]
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        status = digest.status if digest else None
    for worker in processes:
        worker.terminate()
    for worker in processes:
        worker.wait(30)
    log.close()
    if sink.received < recipients or status is not DigestStatus.SENT:
        print(f"incomplete: {sink.received}/{recipients} received, digest {status}")
    return sink.received / elapsed, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    port = free_port()
    sink = Sink(port)
    try:
        data = prebuilt_message()
        print(f"message size: {len(data) / 1024:.1f} KB")
        ceiling = parallel(_pipelined_sender, port, data, 20_000)
        print(f"sink ceiling:       {ceiling:10.0f} msg/s")
        render = render_once()
        print(f"render + inline:    {render * 1000:10.1f} ms per digest")
        a = naive(port, args.naive_sample)
        print(f"(a) naive:          {a:10.0f} msg/s")
        b = parallel(_raw_sender, port, data, 20_000)
        print(f"(b) raw smtplib:    {b:10.0f} msg/s")
        c, peaks = newsroom_end_to_end(args, port, sink)
        print(f"(c) newsroom:       {c:10.0f} msg/s  ({args.subscribers} subscribers)")
        print(f"c/a = {c / a:.1f}   (target >= 20)")
        print(f"c/b = {c / b:.2f}  (target >= 0.6)")
        for n, worker_peaks in enumerate(peaks, 1):
            listed = ", ".join(f"{mb:.0f} MB" for mb in worker_peaks.values())
            print(f"worker {n} peak RSS: {listed}  (main, pool child; target < 250 MB)")
        print(f"render + inline {render * 1000:.1f} ms  (target < 100 ms)")
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
