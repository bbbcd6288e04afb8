"""An X emulator at the HTTP layer, for tests that publish through tweepy's real client."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from worker.celery_app import connect
from worker.settings import Settings, load_settings
from worker.social._schedule import DUE

# A live X account whose posts go out at once; append to the test configuration with
# @pytest.mark.newsroom_config(LIVE_X).
LIVE_X = """
[delivery]
sweep_seconds = 1

[social]
publishing_stale_seconds = 3
dispatch_seconds = 0.5

[social.accounts.live_x]
platform = "twitter"
publisher = "live"
language = "fr"
post_at = "now"
"""

SECRETS = {
    "SOCIAL_LIVE_X_API_KEY": "consumer-key",
    "SOCIAL_LIVE_X_API_SECRET": "consumer-secret",
    "SOCIAL_LIVE_X_ACCESS_TOKEN": "access-token",
    "SOCIAL_LIVE_X_ACCESS_TOKEN_SECRET": "access-token-secret",
}


@dataclass
class XEmulator:
    """POST /2/tweets as X answers it: 201 with the new post's id, or ``reply`` (status,
    headers, JSON body) when set. It records each text and when it arrived; ``hang`` makes
    the requests whose text contains it wait until ``release`` is set."""

    server: HTTPServer
    received: list[tuple[float, str]] = field(default_factory=list)
    reply: tuple[int, dict[str, str], dict[str, Any]] | None = None
    hang: str | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def handle(self, request: Request) -> Response:
        text = json.loads(request.data)["text"]
        self.received.append((time.time(), text))
        if self.hang and self.hang in text:
            self.release.wait(60)
        if self.reply is not None:
            status, headers, body = self.reply
            return Response(
                json.dumps(body), status=status, headers=headers, content_type="application/json"
            )
        post_id = str(1_860_000_000_000_000_000 + len(self.received))
        body = {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}}
        return Response(json.dumps(body), status=201, content_type="application/json")

    def per_text(self) -> Counter[str]:
        return Counter(text for _, text in self.received)


@pytest.fixture
def x_api(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[XEmulator]:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    emulator = XEmulator(server)
    server.expect_request("/2/tweets", method="POST").respond_with_handler(emulator.handle)
    extra = {**SECRETS, "X_API_URL": server.url_for("").rstrip("/")}
    settings_env.update(extra)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    yield emulator
    emulator.release.set()
    server.clear()
    server.stop()


@pytest.fixture
def live_settings(x_api: XEmulator, settings_env: dict[str, str]) -> Settings:
    loaded = load_settings(settings_env)
    connect(loaded)
    return loaded


def timer(client: redis.Redis) -> dict[int, float]:
    """What the Redis timer holds: post id -> due time (Unix seconds)."""
    return {int(member): score for member, score in client.zrange(DUE, 0, -1, withscores=True)}
