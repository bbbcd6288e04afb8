"""The web app served for real (uvicorn on a free port), for tests that speak HTTP to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import free_port
from worker.editors import hash_password, new_api_token
from worker.settings import Settings
from worker.store import editors
from worker.web import create_app


@pytest.fixture
def web(settings: Settings) -> Iterator[httpx.Client]:
    """An HTTP client on the running app."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client
    server.should_exit = True
    thread.join(timeout=10)


@dataclass(frozen=True)
class EditorLogin:
    email: str
    password: str
    token: str


@pytest.fixture
def editor(sessions: sessionmaker[Session]) -> EditorLogin:
    """An editor with a password and an API token, as `newsroom editors` makes them."""
    login = EditorLogin("claire@lequotidien.example", "correct horse battery", "")
    token, token_hash = new_api_token()
    with sessions.begin() as session:
        row = editors.add(session, login.email, "Claire", hash_password(login.password))
        editors.add_token(session, row, "scripts", token_hash)
    return EditorLogin(login.email, login.password, token)


@pytest.fixture
def api(web: httpx.Client, editor: EditorLogin) -> httpx.Client:
    """The web client, authenticated with the editor's API token."""
    web.headers["Authorization"] = f"Bearer {editor.token}"
    return web
