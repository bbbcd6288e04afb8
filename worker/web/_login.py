"""Logging in and out of the editors' pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from worker.web._auth import SESSION_COOKIE, SESSION_SECONDS, end_session, login

router = APIRouter(tags=["editors"])


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    return _page(request, next, error=None, status_code=200)


@router.post("/login", include_in_schema=False)
def log_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    session_id = login(state.sessions, state.redis(), address, email, password)
    if session_id is None:
        return _page(request, next, error="Wrong email or password.", status_code=401)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=state.settings.public_base_url.startswith("https://"),
    )
    return response


@router.post("/logout", include_in_schema=False)
def log_out(request: Request) -> Response:
    end_session(request.app.state.redis(), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _local(target: str) -> str:
    """Only a path of this site: a login link must not send an editor elsewhere."""
    parts = urlsplit(target)
    return target if target.startswith("/") and not parts.netloc and not parts.scheme else "/"


def _page(request: Request, next: str, error: str | None, status_code: int) -> Response:
    return request.app.state.pages.TemplateResponse(
        request,
        "login.html",
        {"language": "en", "next": _local(next), "error": error},
        status_code=status_code,
    )
