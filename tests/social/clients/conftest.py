"""The three platforms emulated at the HTTP layer by a real local server (pytest-httpserver),
answering with the status codes, headers and bodies the real APIs send; the clients run
unchanged against it, tweepy and httpx included."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import environment, free_port
from worker.settings import Settings, load_settings
from worker.social.clients import OutgoingPost

X_SECRETS = {
    "API_KEY": "xkey-consumer-1111",
    "API_SECRET": "xsecret-consumer-2222",
    "ACCESS_TOKEN": "1500-xtoken-3333",
    "ACCESS_TOKEN_SECRET": "xtokensecret-4444",
}
PAGE_TOKEN = "EAAGpage-token-5555"
LINKEDIN_TOKEN = "AQVlinkedin-token-6666"
PAGE_ID = "100000000000001"
AUTHOR_URN = "urn:li:organization:1000001"
ALL_SECRETS = [*X_SECRETS.values(), PAGE_TOKEN, LINKEDIN_TOKEN]

ACCOUNTS = f"""
[social]
graph_api_version = "v24.0"
linkedin_version = "202510"

[social.accounts.test_x]
platform = "twitter"
publisher = "live"
post_at = "now"

[social.accounts.test_facebook]
platform = "facebook"
publisher = "live"
post_at = "now"
page_id = "{PAGE_ID}"

[social.accounts.test_linkedin]
platform = "linkedin"
publisher = "live"
post_at = "now"
author_urn = "{AUTHOR_URN}"

[social.accounts.test_dry]
platform = "linkedin"
publisher = "dry-run"
post_at = "now"
author_urn = "{AUTHOR_URN}"
"""

# Short enough for a test, long enough for a local answer.
SHORT_TIMEOUT = 0.5


def load(tmp_path: Path, api_url: str) -> Settings:
    """Settings as a worker would load them, every platform's API at ``api_url``."""
    config = tmp_path / "newsroom.toml"
    config.write_text('[site]\ntimezone = "Europe/Paris"\n' + ACCOUNTS, encoding="utf-8")
    secrets = {f"SOCIAL_TEST_X_{name}": value for name, value in X_SECRETS.items()}
    return load_settings(
        environment(
            tmp_path,
            NEWSROOM_CONFIG=str(config),
            X_API_URL=api_url,
            FACEBOOK_GRAPH_URL=api_url,
            LINKEDIN_API_URL=api_url,
            SOCIAL_TEST_FACEBOOK_PAGE_TOKEN=PAGE_TOKEN,
            SOCIAL_TEST_LINKEDIN_ACCESS_TOKEN=LINKEDIN_TOKEN,
            **secrets,
        )
    )


class Emulator(HTTPServer):
    """pytest-httpserver's server, threaded so a deliberately slow answer holds no other
    request, and quick to stop (it polls for shutdown every 0.5 s by default)."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)


@pytest.fixture
def platform() -> Iterator[HTTPServer]:
    """A server of its own for each test; a request no test expected fails the test."""
    server = Emulator(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()
    server.check_assertions()


@pytest.fixture
def settings(tmp_path: Path, platform: HTTPServer) -> Settings:
    return load(tmp_path, platform.url_for("/").rstrip("/"))


@pytest.fixture
def closed_port_settings(tmp_path: Path) -> Settings:
    """Every API on a port where nothing listens: the connection is refused."""
    return load(tmp_path, f"http://127.0.0.1:{free_port()}")


def read_request(connection: socket.socket) -> None:
    """Read one HTTP request to its last byte (headers, then Content-Length bytes)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lengths = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    length = int(lengths[0].split(b":")[1]) if lengths else 0
    while len(body) < length and (chunk := connection.recv(65536)):
        body += chunk


@pytest.fixture
def hang_up_settings(tmp_path: Path) -> Iterator[Settings]:
    """Every API on a server that reads the whole request, then closes without a word."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener was shut down
                return
            with connection:
                connection.settimeout(5)
                read_request(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield load(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}")
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
    listener.close()
    thread.join(5)


def outgoing(account: str, **changes: object) -> OutgoingPost:
    fields: dict[str, object] = {
        "post_id": 42,
        "account": account,
        "text": "Budget : l’Assemblée vote https://news.example/a?utm_source=x #budget",
        "link": "https://news.example/a?utm_source=social",
        "title": "Budget : l’Assemblée vote",
        "description": "Le texte passe en première lecture.",
        "image_url": "",
    }
    fields.update(changes)
    return OutgoingPost(**fields)  # type: ignore[arg-type]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in ALL_SECRETS:
            assert secret not in text


def slow(seconds: float) -> Callable[[Request], Response]:
    """A handler that answers only after ``seconds``: longer than the client waits."""

    def handler(request: Request) -> Response:
        time.sleep(seconds)
        return Response("{}", status=201, content_type="application/json")

    return handler
