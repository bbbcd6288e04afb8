"""The web app: the CMS webhook, the reader's pages behind the links in emails, and health.

Started by ``newsroom web`` (uvicorn). Route handlers only read the request, call the same
plain functions as the CLI and the workers, and shape the answer; the pages are
server-rendered Jinja2 in the reader's language.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import redis
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from worker.articles import import_records, parse_json
from worker.celery_app import connect, current_redis
from worker.digests import fill_personal, greeting, read_view_token, translations, view_url
from worker.dispatch import announce_article
from worker.health import CheckName
from worker.health import check as check_health
from worker.settings import Settings
from worker.store import Subscriber, digests, session_factory
from worker.subscribers import InvalidToken, unsubscribe_token
from worker.web._api import router as api_router
from worker.web._api_subscribers import router as subscribers_api_router
from worker.web._auth import LoginRequired, TooManyRequests
from worker.web._login import router as login_router
from worker.web._metrics import metrics_router
from worker.web._pages import STATIC_DIR
from worker.web._pages import router as pages_router
from worker.web._pages_subscribers import router as subscriber_pages_router
from worker.web._public import READER_REFUSALS, link_refused
from worker.web._public import router as public_router
from worker.web._webhook import WebhookRefused, verify

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def create_app(settings: Settings) -> FastAPI:
    connect(settings)
    app = FastAPI(
        title="newsroom",
        summary="Articles in, email digests and social posts out.",
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.redis = current_redis
    app.state.pages = _pages()
    app.include_router(api_router)
    app.include_router(subscribers_api_router)
    app.include_router(login_router)
    app.include_router(public_router)
    app.include_router(metrics_router(settings, app.state.sessions))
    app.include_router(pages_router)
    app.include_router(subscriber_pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": "log in, or send an API token (Authorization: Bearer …)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    app.add_exception_handler(InvalidToken, link_refused)

    @app.exception_handler(TooManyRequests)
    async def rate_limited(_: Request, exc: TooManyRequests) -> Response:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)}
        )

    @app.get(
        "/health",
        tags=["operations"],
        responses={
            200: {"description": "Everything checked is healthy."},
            503: {
                "description": "Something is unhealthy: the same report says what.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
        },
    )
    def health(
        request: Request, only: Annotated[list[CheckName] | None, Query()] = None
    ) -> JSONResponse:
        """The report of `newsroom health`; 503 when anything is unhealthy. `?only=database&
        only=redis` narrows it to what this process needs (the container's healthcheck)."""
        report = check_health(request.app.state.settings, only=only or ())
        return JSONResponse(report.as_json(), status_code=200 if report.healthy else 503)

    @app.post(
        "/api/articles",
        tags=["articles"],
        responses={
            401: {"description": "Unsigned, badly signed, stale or replayed: nothing changed."},
            422: {"description": "An article is not valid; `errors` names the field."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "description": "One article or a list, in the format of "
                            "`newsroom articles import` (url, title, summary, body, author, "
                            "published_at, tags, section, image_url, language).",
                            "oneOf": [{"type": "object"}, {"type": "array"}],
                        }
                    }
                },
            }
        },
    )
    async def push_articles(
        request: Request,
        sessions: Annotated[sessionmaker[Session], Depends(_sessions)],
        client: Annotated[redis.Redis, Depends(_redis)],
        x_newsroom_timestamp: Annotated[str | None, Header()] = None,
        x_newsroom_signature: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """The CMS pushes a published or updated article, signed with WEBHOOK_SECRET
        (see the README). The same article twice is one article."""
        body = await request.body()
        return await run_in_threadpool(  # database and Redis calls: off the event loop
            _import_pushed,
            request.app.state.settings,
            sessions,
            client,
            body,
            x_newsroom_timestamp,
            x_newsroom_signature,
        )

    @app.get(
        "/digests/view/{token}",
        response_class=HTMLResponse,
        tags=["readers"],
        responses={404: READER_REFUSALS[404]},
    )
    def view_digest(
        token: str,
        request: Request,
        sessions: Annotated[sessionmaker[Session], Depends(_sessions)],
    ) -> HTMLResponse:
        """A digest as its reader received it, from the link at the top of the email."""
        settings: Settings = request.app.state.settings
        try:
            subscriber_id, digest_id = read_view_token(settings.secret_key, token)
        except InvalidToken:
            return _message(request, "en", "invalid_link", status_code=404)
        with sessions.begin() as session:
            digest = digests.get(session, digest_id)
            if digest is None:
                return _message(request, "en", "no_web_version", status_code=404)
            language = digest.newsletter.language
            subscriber = session.get(Subscriber, subscriber_id)
            name = subscriber.name if subscriber else ""
            unsubscribe = unsubscribe_token(
                settings.secret_key, subscriber_id, digest.newsletter_id
            )
            values = {
                "greeting": greeting(language, name),
                "name": name,
                "email": subscriber.email if subscriber else "",
                "unsubscribe_url": f"{settings.public_base_url}/unsubscribe/{unsubscribe}",
                "view_url": view_url(settings.public_base_url, token),
            }
            page = fill_personal(digest.html, values, html.escape)
        # the digest is rendered HTML of our own; search engines have no business here
        return HTMLResponse(page, headers={"X-Robots-Tag": "noindex"})

    return app


def _pages() -> Jinja2Templates:
    return Jinja2Templates(directory=TEMPLATES_DIR)


# A headline and a sentence per kind of message page, translated from the digests' catalogs.
MESSAGES = {
    "invalid_link": (
        "This link is not valid",
        "It may be incomplete, or it was made for something else. Nothing was changed.",
    ),
    "no_web_version": (
        "No web version",
        "This email has no web version (an editor's test copy has none).",
    ),
}


def _message(request: Request, language: str, kind: str, status_code: int) -> HTMLResponse:
    """A short page in the reader's language: an invalid link, a missing web version..."""
    catalog = translations(language)
    headline, detail = (catalog.gettext(text) for text in MESSAGES[kind])
    return request.app.state.pages.TemplateResponse(
        request,
        "message.html",
        {"language": language, "headline": headline, "detail": detail},
        status_code=status_code,
    )


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def _redis(request: Request) -> redis.Redis:
    return current_redis()


def _import_pushed(
    settings: Settings,
    sessions: sessionmaker[Session],
    client: redis.Redis,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
) -> JSONResponse:
    """The webhook's work once the body is read: check the signature, import, answer."""
    try:
        verify(settings.webhook_secret, timestamp, signature, body, client)
    except WebhookRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=401)
    parsed = parse_json(body, source="webhook")
    if parsed.errors:
        errors = [str(error) for error in parsed.errors]
        return JSONResponse({"detail": "invalid article", "errors": errors}, 422)
    with sessions.begin() as session:
        summary = import_records(
            session, parsed.records, source="webhook", announce=announce_article
        )
    status = 422 if summary.rejected else 200
    return JSONResponse(
        {
            "imported": summary.imported,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "rejected": [str(error) for error in summary.rejected],
        },
        status_code=status,
    )
