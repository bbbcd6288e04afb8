"""The main job on embedded defaults, as ``make run`` shows it to a new user.

It runs the real path end to end: migrations, the embedded Redis, a real Celery worker in
a child process, the article import, the sample subscribers, one digest per newsletter
rendered once and delivered by the worker through the configured backend (the ``file``
outbox by default). It stops the worker it started and reports where to look.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from worker import social
from worker.articles import import_records, parse_source
from worker.digests import NothingToSend
from worker.dispatch import announce_article, queue_digest
from worker.settings import PROJECT_ROOT, Settings, mask_url
from worker.social.clients import dry_run_file
from worker.store import (
    DeliveryStatus,
    DigestStatus,
    SubscriptionStatus,
    digests,
    newsletters,
    session_factory,
    subscribers,
)
from worker.store import articles as article_store
from worker.store import social as social_posts
from worker.subscribers import normalize_address

SAMPLES_DIR = PROJECT_ROOT / "samples"
FINISHED = (DigestStatus.SENT, DigestStatus.FAILED, DigestStatus.CANCELLED)


@dataclass
class DemoReport:
    digests: dict[str, tuple[int, DigestStatus, dict[DeliveryStatus, int]]] = field(
        default_factory=dict
    )
    nothing_new: list[str] = field(default_factory=list)
    events_handled: bool = False

    @property
    def ok(self) -> bool:
        """Every digest queued was delivered and every new article's posts were planned; a
        newsletter with no new article is fine."""
        return self.events_handled and all(
            status is DigestStatus.SENT and counts[DeliveryStatus.SENT] > 0
            for _, status, counts in self.digests.values()
        )


def run(settings: Settings, samples: Path, *, console: Console, timeout: float = 120) -> DemoReport:
    sessions = session_factory(settings.database_url)
    worker_log = settings.data_dir / "worker.log"
    worker = _start_worker(worker_log)
    report = DemoReport()
    try:
        with httpx.Client(timeout=10) as client:
            parsed = parse_source(str(samples / "articles.json"), client)
        with sessions.begin() as session:
            summary = import_records(
                session, parsed.records, source="articles.json", announce=announce_article
            )
        console.print(
            f"articles: {summary.imported} imported, {summary.updated} updated, "
            f"{summary.unchanged} unchanged"
        )
        added = _add_subscribers(sessions, samples / "subscribers.csv")
        console.print(f"subscribers: {added} sample subscriptions in place")

        queued: dict[str, int] = {}
        nothing_new: list[str] = []
        for slug in settings.file.newsletters:
            try:
                digest_id, recipients = queue_digest(settings, slug)
            except NothingToSend as exc:
                console.print(f"{exc}: nothing to send, as it should be")
                nothing_new.append(slug)
                continue
            queued[slug] = digest_id
            console.print(f"digest {digest_id} ({slug}) queued for {recipients} subscribers")
        with console.status("the worker is sending the digests…"):
            report = _wait(sessions, queued, timeout)
        report.nothing_new = nothing_new
        with console.status("the worker is planning the social posts…"):
            report.events_handled = _wait_for_events(sessions, timeout)
    finally:
        _stop(worker)

    for slug, (digest_id, status, counts) in report.digests.items():
        console.print(
            f"digest {digest_id} ({slug}): {status.value}, {counts[DeliveryStatus.SENT]} sent, "
            f"{counts[DeliveryStatus.FAILED] + counts[DeliveryStatus.BOUNCED]} failed"
        )
    _print_social_queue(settings, sessions, console)
    if settings.email_backend == "file":
        console.print(
            f"\nThe emails are in [bold]{settings.outbox_dir}[/] (one .eml per recipient)."
        )
    console.print(f"The database is {mask_url(settings.database_url)}.")
    console.print(f"The worker's log is {worker_log}.")
    command = Path(sys.executable).parent / "newsroom"
    console.print("Next, one command a line:")
    for then in ("articles list", "digest status ID", "social queue", "social preview ARTICLE"):
        console.print(f"  {command} {then}", soft_wrap=True, highlight=False)  # whole: copyable
    return report


def _start_worker(log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "worker", "worker", "--concurrency", "2"],
            env={**os.environ, "LOG_LEVEL": "INFO"},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown: the worker finishes the task in hand, then exits."""
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _add_subscribers(sessions: sessionmaker[Session], path: Path) -> int:
    added = 0
    with path.open(newline="", encoding="utf-8") as handle, sessions.begin() as session:
        for row in csv.DictReader(handle):
            newsletter = newsletters.get_by_slug(session, row["newsletter"])
            if newsletter is None:
                continue
            subscriber = subscribers.get_or_create(
                session,
                normalize_address(row["email"]),
                name=row["name"],
                language=row["language"],
            )
            subscribers.subscribe(session, subscriber, newsletter, SubscriptionStatus.CONFIRMED)
            added += 1
    return added


def _wait(sessions: sessionmaker[Session], queued: dict[str, int], timeout: float) -> DemoReport:
    report = DemoReport()
    deadline = time.monotonic() + timeout
    while True:
        with sessions.begin() as session:
            for slug, digest_id in queued.items():
                digest = digests.get(session, digest_id)
                assert digest is not None
                report.digests[slug] = (
                    digest_id,
                    digest.status,
                    digests.counts(session, digest_id),
                )
        done = all(status in FINISHED for _, status, _ in report.digests.values())
        if done or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def _wait_for_events(sessions: sessionmaker[Session], timeout: float) -> bool:
    """Wait until the worker handled every article event (and so planned its posts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions.begin() as session:
            if not article_store.unhandled_events(session, older_than=timedelta(0)):
                return True
        time.sleep(0.2)
    return False


def _print_social_queue(
    settings: Settings, sessions: sessionmaker[Session], console: Console
) -> None:
    with sessions.begin() as session:
        upcoming = social_posts.upcoming(session)
        lines = []
        for post in upcoming:
            config = settings.file.social.accounts.get(post.account.name)
            when = post.scheduled_at
            if when is not None and config is not None:
                when = when.astimezone(social.account_timezone(config))
            first_line = post.text.splitlines()[0]
            lines.append(
                f"  post {post.id:<3} {post.account.name:<20} "
                f"{f'{when:%a %d %b %H:%M %Z}' if when else '':<21} "
                f"{first_line[:24] + ('…' if len(first_line) > 24 else '')}"
            )
    publishers = sorted({account.publisher for account in settings.file.social.accounts.values()})
    console.print(f"\nsocial posts planned: {len(upcoming)} (publisher: {', '.join(publishers)})")
    for line in lines:
        console.print(line, highlight=False, markup=False)
    dry_run = dry_run_file(settings)
    console.print(
        f"They go out in their slots once `newsroom worker` and `newsroom beat` run; the "
        f"dry-run publisher writes what it would post to [bold]{dry_run}[/]."
    )
