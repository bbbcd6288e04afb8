"""Who is asking: an editor's login session (pages) or an API token (scripts).

Sessions live in Redis under a random id carried by an HttpOnly, SameSite=Lax cookie
(Secure when the app is served over https), and end after 12 hours, at logout, or when
the editor is deactivated. A session
also holds a CSRF token that every form and every cookie-authenticated API mutation must
send back; a bearer token carries no ambient authority, so it needs none. Login attempts
are rate limited per client address.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Annotated

import redis
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from worker.editors import check_nobodys_password, check_password, token_hash
from worker.store import editors
from worker.web._limits import TooManyRequests, hit

SESSION_COOKIE = "newsroom_session"
SESSION_SECONDS = 12 * 3600
_SESSION = "newsroom:web:session:"
# Login: at most this many tries per client address per window.
LOGIN_TRIES, LOGIN_WINDOW_SECONDS = 10, 15 * 60
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Actor:
    """The editor behind a request, and how the audit log names them."""

    editor_id: int
    label: str
    csrf: str | None  # None for a bearer token


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


def start_session(client: redis.Redis, editor_id: int, email: str) -> str:
    session_id = secrets.token_urlsafe(32)
    value = {"editor_id": editor_id, "email": email, "csrf": secrets.token_urlsafe(24)}
    client.set(_SESSION + session_id, json.dumps(value), ex=SESSION_SECONDS)
    return session_id


def end_session(client: redis.Redis, session_id: str | None) -> None:
    if session_id:
        client.delete(_SESSION + session_id)


def session_actor(client: redis.Redis, session_id: str | None) -> Actor | None:
    raw = client.get(_SESSION + session_id) if session_id else None
    if raw is None:
        return None
    value = json.loads(raw)
    return Actor(value["editor_id"], f"editor:{value['email']}", value["csrf"])


def login(
    sessions: sessionmaker[Session], client: redis.Redis, address: str, email: str, password: str
) -> str | None:
    """A new session id for the right password, else None (same answer for an unknown
    email: no enumeration). Raises TooManyRequests after too many tries from ``address``."""
    hit(client, f"login:{address}", LOGIN_TRIES, LOGIN_WINDOW_SECONDS)
    with sessions.begin() as session:
        editor = editors.get_by_email(session, email.strip().lower())
        if editor is None or not editor.active:
            return check_nobodys_password(password) or None
        if not check_password(editor.password_hash, password):
            return None
        return start_session(client, editor.id, editor.email)


async def current_actor(request: Request) -> Actor:
    """The editor behind the request; raises LoginRequired, or 403 on a missing CSRF token
    for a mutation made with a session cookie."""
    actor = await run_in_threadpool(  # the database and Redis calls must not block the loop
        _actor,
        request.app.state,
        request.headers.get("authorization", ""),
        request.cookies.get(SESSION_COOKIE),
    )
    if actor.csrf is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token")
        if sent is None and "form" in request.headers.get("content-type", ""):
            sent = str((await request.form()).get("csrf", ""))
        if not sent or not hmac.compare_digest(sent.encode(), actor.csrf.encode()):
            raise HTTPException(403, "missing or wrong CSRF token")
    return actor


def _actor(state: State, authorization: str, session_id: str | None) -> Actor:
    """From an API token, or from a session whose editor is still active (a deactivated
    editor's sessions end at their next request, not when they expire)."""
    if authorization.lower().startswith("bearer "):
        with state.sessions.begin() as session:
            token = editors.token_by_hash(session, token_hash(authorization[7:].strip()))
            if token is None:
                raise HTTPException(401, "invalid or revoked API token")
            return Actor(token.editor_id, f"token:{token.name} ({token.editor.email})", None)
    client = state.redis()
    actor = session_actor(client, session_id)
    if actor is None:
        raise LoginRequired
    with state.sessions.begin() as session:
        active = editors.is_active(session, actor.editor_id)
    if not active:
        end_session(client, session_id)
        raise LoginRequired
    return actor


EditorDep = Annotated[Actor, Depends(current_actor)]

__all__ = ["Actor", "EditorDep", "LoginRequired", "TooManyRequests", "current_actor", "login"]
