"""Posts published by real worker processes and beat (the schedule on real Redis, the
broker Redis or RabbitMQ), through tweepy's real client code talking to an X emulator over
HTTP: timing, crashes, exactly once."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import BOTH_BROKERS, SQLITE_ONLY, start_worker, wait_until
from tests.db import create_article
from tests.social.conftest import LIVE_X, XEmulator
from worker.dispatch import change_post, plan_social_posts
from worker.settings import Settings
from worker.store import SocialPostStatus, utcnow
from worker.store import social as social_posts


def plan(settings: Settings, sessions: sessionmaker[Session], numbers: range) -> list[int]:
    """The posts of articles numbered ``numbers``, planned as the worker would plan them."""
    ids = []
    with sessions.begin() as session:
        for n in numbers:
            article = create_article(session, n, title=f"« Article {n} » : l’essentiel")
            ids += [post.id for post in plan_social_posts(session, settings, article)]
    return ids


pytestmark = BOTH_BROKERS


def status_of(sessions: sessionmaker[Session], post_id: int) -> SocialPostStatus:
    with sessions.begin() as session:
        post = social_posts.get_post(session, post_id)
        assert post is not None
        return post.status


# timing and restarts do not depend on the database: SQLite only, the slow test of the file
@SQLITE_ONLY
@pytest.mark.newsroom_config(LIVE_X)
def test_a_post_fires_within_two_seconds_of_its_time_across_restarts(
    live_settings: Settings,
    settings_env: dict[str, str],
    sessions: sessionmaker[Session],
    x_api: XEmulator,
    tmp_path: Path,
) -> None:
    worker = start_worker(settings_env, tmp_path / "worker.log")
    beat = start_worker(settings_env, tmp_path / "beat.log", command="beat")
    try:
        (first,) = plan(live_settings, sessions, range(1, 2))
        # planned "now": published at once, through beat's dispatcher
        wait_until(lambda: x_api.received, timeout=20, why=tmp_path / "worker.log")
        beat.stop()
        worker.stop()
        # planned while nothing runs, for a time after the restart
        (second,) = plan(live_settings, sessions, range(2, 3))
        slot = (utcnow() + timedelta(seconds=12)).replace(microsecond=0)
        change_post(live_settings, second, "reschedule", at=slot)
        worker = start_worker(settings_env, tmp_path / "worker-2.log")
        beat = start_worker(settings_env, tmp_path / "beat-2.log", command="beat")
        assert time.time() < slot.timestamp(), "restarting took longer than the test allows"
        wait_until(lambda: len(x_api.received) == 2, timeout=30, why=tmp_path / "worker-2.log")
        arrived = x_api.received[1][0]
        assert slot.timestamp() <= arrived <= slot.timestamp() + 2
        wait_until(lambda: status_of(sessions, second) is SocialPostStatus.PUBLISHED)
        with sessions.begin() as session:
            post = social_posts.get_post(session, second)
            assert post is not None
            assert post.platform_post_id == "1860000000000000002"
            assert post.permalink == "https://x.com/i/web/status/1860000000000000002"
        assert status_of(sessions, first) is SocialPostStatus.PUBLISHED
    finally:
        beat.discard()
        worker.discard()


@pytest.mark.newsroom_config(LIVE_X)
def test_a_worker_killed_while_publishing_never_posts_twice(
    live_settings: Settings,
    settings_env: dict[str, str],
    sessions: sessionmaker[Session],
    x_api: XEmulator,
    tmp_path: Path,
) -> None:
    x_api.hang = "Article 1 »"
    log = tmp_path / "worker.log"
    worker = start_worker(settings_env, log, concurrency=1)
    beat = start_worker(settings_env, tmp_path / "beat.log", command="beat")
    try:
        post_ids = plan(live_settings, sessions, range(1, 6))
        # the first post is in the platform's hands when the worker dies
        wait_until(
            lambda: x_api.per_text() and any("Article 1 »" in t for t in x_api.per_text()),
            timeout=20,
            why=log,
        )
        assert status_of(sessions, post_ids[0]) is SocialPostStatus.PUBLISHING
        worker.kill()
        x_api.release.set()

        worker = start_worker(settings_env, tmp_path / "worker-2.log", concurrency=1)
        wait_until(
            lambda: all(
                status_of(sessions, post_id) is SocialPostStatus.PUBLISHED
                for post_id in post_ids[1:]
            ),
            timeout=40,
            why=tmp_path / "worker-2.log",
        )
        # the sweeper settles the lost claim: it may have been posted, so never again
        wait_until(
            lambda: status_of(sessions, post_ids[0]) is SocialPostStatus.UNCONFIRMED,
            timeout=20,
            why=tmp_path / "beat.log",
        )
        time.sleep(2)  # a redelivered message or a sweep would show up by now
        assert set(x_api.per_text().values()) == {1}
        assert len(x_api.received) == 5
    finally:
        beat.discard()
        worker.discard()
