"""Subscriber CSV import: `newsroom subscribers import` against a naive per-row import.

    .venv/bin/python bench/subscribers_import.py [--lines 100000] [--database-url URL]

Everything is real and on this machine: a generated CSV of French and English readers
(accented names, a header, 0.1 % malformed addresses and 0.1 % repeated lines), the
database (a temporary SQLite file, then PostgreSQL too when --database-url names an empty
database) and, for the pending import, Redis (REDIS_URL, default
redis://127.0.0.1:6379/12, emptied first). For each database it prints:

  (a) naive     per line: validate, look the address up, add Subscriber, Subscription
                and Consent through the ORM, flush; --naive-sample lines, extrapolated
  (b) newsroom  `newsroom subscribers import FILE --newsletter la-matinale --confirmed`,
                as a process, from start to exit
  (c) pending   the same without --confirmed, into the other newsletter: pending
                subscriptions, and one confirmation task published per address
  lines/s and seconds of each, b/a, and whether b stays under 30 s (the target)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.settings import load_settings  # noqa: E402
from worker.store import (  # noqa: E402
    Consent,
    ConsentSource,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    newsletters,
    session_factory,
    subscribers,
    upgrade,
)
from worker.subscribers import normalize_address  # noqa: E402

FIRST = ["Camille", "Jean-Baptiste", "Zoë", "Nadia", "Loïc", "Hélène", "Alex", "Margaux"]
LAST = ["Martin", "Lefèvre", "Benali", "Dupont", "Nguyễn", "Taylor", "O’Brien", "Müller"]


def write_csv(path: Path, lines: int, domain: str, seed: int) -> list[tuple[str, str, str]]:
    """A file of ``lines`` readers; returns its rows as (email, name, language)."""
    rng = random.Random(seed)  # noqa: S311 - made-up readers, not keys
    rows = []
    for n in range(lines):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        email = f"{name.split()[0].lower()}.{n:06}@{domain}"
        if n % 1000 == 1:
            email = email.replace("@", " at ")  # malformed: rejected with its line number
        elif n % 1000 == 2:
            email = rows[-2][0]  # repeated: skipped
        rows.append((email, name, rng.choice(["fr", "fr", "en"])))
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("email,name,language\n")
        handle.writelines(f"{email},{name},{language}\n" for email, name, language in rows)
    return rows


def environment(data_dir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "NEWSROOM_DATA_DIR": str(data_dir),
        "NEWSROOM_CONFIG": str(ROOT / "config" / "newsroom.toml"),
        "NEWSROOM_ENV_FILE": str(data_dir / "none.env"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "file",
        "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
    }


def newsroom_import(env: dict[str, str], path: Path, *options: str) -> float:
    """Seconds for one `newsroom subscribers import`, process start included."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "worker", "subscribers", "import", str(path), *options],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):  # 1: malformed lines were rejected, as planned
        raise SystemExit(f"import failed:\n{result.stderr[-2000:]}")
    print(f"    {result.stdout.strip()}")
    return elapsed


def naive(database_url: str, rows: list[tuple[str, str, str]]) -> float:
    """(a) Seconds for ``rows``, one ORM round trip after another, in one transaction."""
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        newsletter = newsletters.get_by_slug(session, "la-matinale")
        assert newsletter is not None
        start = time.perf_counter()
        for email, name, language in rows:
            try:
                address = normalize_address(email)
            except ValueError:
                continue
            if subscribers.get_by_email(session, address) is not None:
                continue
            subscriber = Subscriber(email=address, name=name, language=language)
            session.add(subscriber)
            session.flush()
            session.add(
                Subscription(
                    subscriber_id=subscriber.id,
                    newsletter_id=newsletter.id,
                    status=SubscriptionStatus.CONFIRMED,
                )
            )
            session.add(
                Consent(
                    subscriber_id=subscriber.id,
                    newsletter_id=newsletter.id,
                    source=ConsentSource.IMPORT,
                )
            )
            session.flush()
        return time.perf_counter() - start


def run(args: argparse.Namespace, database_url: str, data_dir: Path, files: dict) -> None:
    env = environment(data_dir, database_url, args.redis_url)
    upgrade(database_url)
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        if session.scalar(select(func.count()).select_from(Subscriber)):
            raise SystemExit(f"{database_url}: has subscribers already; give an empty database")
        newsletters.sync(session, load_settings(env).file.newsletters)
    redis.Redis.from_url(args.redis_url).flushdb()
    print(f"{database_url.split(':')[0]}:")

    b = newsroom_import(env, files["confirmed"], "--newsletter", "la-matinale", "--confirmed")
    c = newsroom_import(env, files["pending"], "--newsletter", "morning-briefing")
    queued = redis.Redis.from_url(args.redis_url).llen("newsroom")
    redis.Redis.from_url(args.redis_url).flushdb()
    a = naive(database_url, files["naive"]) * args.lines / len(files["naive"])

    print(f"  (a) naive:     {args.lines / a:8.0f} lines/s  {a:6.1f} s (extrapolated)")
    print(f"  (b) newsroom:  {args.lines / b:8.0f} lines/s  {b:6.1f} s  (target < 30 s)")
    print(f"  (c) pending:   {args.lines / c:8.0f} lines/s  {c:6.1f} s  ({queued} tasks queued)")
    print(f"  b/a = {a / b:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=5_000)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    files = {
        "confirmed": data_dir / "confirmed.csv",
        "pending": data_dir / "pending.csv",
    }
    write_csv(files["confirmed"], args.lines, "example.org", seed=1)
    write_csv(files["pending"], args.lines, "example.net", seed=2)
    files["naive"] = write_csv(data_dir / "naive.csv", args.naive_sample, "example.com", seed=3)
    size = files["confirmed"].stat().st_size / 1024 / 1024
    print(f"{args.lines} lines, {size:.1f} MB per file, in {data_dir}")

    run(args, f"sqlite:///{data_dir / 'bench.db'}", data_dir, files)
    if args.database_url:
        run(args, args.database_url, data_dir, files)


if __name__ == "__main__":
    main()
