"""The editors' pages: a dashboard, the digest preview and its live progress, the social
calendar. Each page reads through the JSON API's own route functions, so a page and the API
never disagree; its scripts change things through that API with the session's CSRF token,
and its forms send the token as the ``csrf`` field."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from worker.digests import GMAIL_CLIP_BYTES, fill_personal, greeting
from worker.settings import Settings
from worker.social import LIMITS, account_timezone
from worker.store import articles
from worker.web import _api as api
from worker.web._api import RowId, SessionsDep, SettingsDep
from worker.web._auth import Actor, EditorDep

STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)

# The statuses after which a digest's numbers no longer move: the progress page stops polling.
FINAL_DIGEST = ("sent", "cancelled", "failed", "skipped")


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> Response:
    """What needs an editor's eye today, each part linking to the page that acts on it."""
    with sessions.begin() as session:
        latest = articles.latest(session, limit=8)
    accounts = api.list_accounts(editor, settings, sessions)
    return render(
        request,
        editor,
        "dashboard.html",
        articles=latest,
        newsletters=api.list_newsletters(editor, settings, sessions),
        digests=api.list_digests(editor, sessions, limit=8),
        posts=[_post_view(settings, row) for row in api.list_posts(editor, settings, sessions)[:8]],
        attention=[a for a in accounts if a["status"] == "needs_reauth" or a["last_error"]],
    )


@router.get("/newsletters/{slug}/preview", response_class=HTMLResponse)
def preview(
    slug: str,
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    sent: str | None = None,
) -> Response:
    """The next edition as a reader with no name would see it, at two widths."""
    try:
        edition = api.preview_digest(slug, editor, settings, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    language = settings.file.newsletters[slug].language
    sample = {
        "greeting": greeting(language, ""),
        "name": "",
        "email": editor.label.partition(":")[2],
        "unsubscribe_url": "#unsubscribe",
        "view_url": "#view-in-browser",
    }
    return render(
        request,
        editor,
        "preview.html",
        slug=slug,
        title=settings.file.newsletters[slug].title,
        edition=edition,
        email=fill_personal(edition.html, sample, html.escape),
        limit_bytes=GMAIL_CLIP_BYTES,
        sent=sent,
    )


@router.post("/newsletters/{slug}/test")
def test_send(
    slug: str,
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    to: Annotated[str, Form(max_length=320)],
) -> Response:
    """One copy to the address typed, then back to the preview, which says where it went."""
    try:
        api.test_digest(slug, api.TestSend(to=to), editor, settings, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    return RedirectResponse(f"/newsletters/{slug}/preview?{urlencode({'sent': to})}", 303)


@router.post("/newsletters/{slug}/queue")
def queue(
    slug: str,
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    force: Annotated[bool, Form()] = False,
) -> Response:
    """Queue the edition now, then watch it go out."""
    try:
        queued = api.queue(slug, api.QueueRequest(force=force), editor, settings, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    return RedirectResponse(f"/digests/{queued['digest_id']}", 303)


@router.get("/digests/{digest_id}", response_class=HTMLResponse)
def digest(
    digest_id: RowId,
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
) -> Response:
    """The numbers as they stand; the page's script polls the API for the rest."""
    try:
        progress = api.digest_progress(digest_id, editor, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    newsletter = settings.file.newsletters.get(str(progress["newsletter"]))
    return render(
        request,
        editor,
        "digest.html",
        progress=progress,
        title=newsletter.title if newsletter else progress["newsletter"],
        final=FINAL_DIGEST,
    )


@router.get("/social", response_class=HTMLResponse)
def social_calendar(
    request: Request, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> Response:
    """Upcoming posts by day (in each account's zone) and by account."""
    posts = [_post_view(settings, row) for row in api.list_posts(editor, settings, sessions)]
    days: dict[date | None, dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for post in posts:
        days[post["day"]][post["account"]].append(post)
    configured = settings.file.social.accounts
    names = sorted({*configured, *(post["account"] for post in posts)})
    accounts = [
        {
            "name": name,
            "platform": configured[name].platform if name in configured else "?",
            "zone": _zone(settings, name),
        }
        for name in names
    ]
    return render(
        request,
        editor,
        "social.html",
        accounts=accounts,
        # unscheduled posts (no time yet) come last
        days=sorted(days.items(), key=lambda item: (item[0] is None, item[0] or date.min)),
        limits=LIMITS,
    )


def _post_view(settings: Settings, row: dict[str, Any]) -> dict[str, Any]:
    """An API post row with what its card shows: the day and time in the account's zone, and
    the text as the platform's readers see it."""
    at = datetime.fromisoformat(row["scheduled_at"]) if row["scheduled_at"] else None
    return {
        **row,
        "site": urlsplit(row["link"]).netloc,
        "day": at.date() if at else None,
        "time": at.strftime("%H:%M") if at else "",
        "local_input": at.strftime("%Y-%m-%dT%H:%M") if at else "",
        "offset": at.isoformat()[-6:] if at else "",
        "zone": _zone(settings, row["account"]),
    }


def _zone(settings: Settings, account: str) -> str:
    """The account's time zone; UTC for an account no longer configured, as the API shows."""
    config = settings.file.social.accounts.get(account)
    return str(account_timezone(config)) if config else "UTC"


def refused(request: Request, editor: Actor, exc: HTTPException) -> Response:
    """An API refusal (no such digest, nothing to send, a bad address...) as a page."""
    return render(
        request, editor, "notice.html", status_code=exc.status_code, detail=str(exc.detail)
    )


def render(
    request: Request, editor: Actor, template: str, status_code: int = 200, **context: Any
) -> Response:
    return request.app.state.pages.TemplateResponse(
        request,
        template,
        {
            "language": "en",
            "csrf": editor.csrf or "",
            "who": editor.label.partition(":")[2],
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
