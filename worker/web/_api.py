"""The editors' HTTP API: digests, social posts and accounts, behind a login session or an
API token. Each route validates its input (a 422 names the field), calls the function the
CLI calls, and records every change in the audit log with who made it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from worker import social
from worker.delivery import DeliveryError, backend_for, send_test
from worker.digests import (
    DigestTooLarge,
    NothingToSend,
    newsletters_overview,
    next_edition,
    progress,
)
from worker.dispatch import (
    DigestNotFound,
    PostNotFound,
    change_digest,
    change_post,
    queue_digest,
)
from worker.settings import Settings
from worker.store import digests, editors, utcnow
from worker.store import social as social_posts
from worker.subscribers import InvalidAddress, normalize_address
from worker.web._auth import EditorDep


class Problem(BaseModel):
    """Why a request was refused: a sentence naming the field, or FastAPI's list of the
    invalid fields when the request does not match this schema."""

    detail: str | list[dict[str, Any]]


_REFUSALS = {
    400: "The body is not JSON.",
    401: "Not logged in, or an invalid or revoked API token.",
    403: "A mutation with a session cookie but without its CSRF token.",
    404: "No such newsletter, digest, post or subscriber.",
    409: "Not possible in its current state (nothing new to send, already sent...).",
    413: "The upload is too large.",
    422: "Invalid input; the message names the field.",
    502: "The mail server refused the test copy.",
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Problem, "description": _REFUSALS[code]} for code in codes}


router = APIRouter(prefix="/api", tags=["editors"], responses=refusals(400, 401, 403, 422))
# PostgreSQL keys are 32-bit: a larger id names no row, and the driver would fail on it.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]


def audit(
    sessions: sessionmaker[Session], editor: EditorDep, action: str, target: str, **detail: Any
) -> None:
    with sessions.begin() as session:
        editors.record(session, editor.label, action, target, **detail)


def valid_address(value: str, field: str) -> str:
    """The address normalized; a 422 naming ``field`` if it is not one."""
    try:
        return normalize_address(value)
    except InvalidAddress as exc:
        raise HTTPException(422, f"{field}: {exc}") from None


# The instants a schedule can name: beyond them, year 1 at +01:00 has no UTC equivalent and
# a time late in year 9999 none in a zone east of UTC (an OverflowError, then a 500).
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)


def _check_instant(at: datetime, example: str) -> None:
    """A 422 naming the field for a time without its offset, or out of range."""
    if at.tzinfo is None:
        raise HTTPException(422, f"at: give the time with its offset, e.g. {example}")
    if not _EARLIEST <= at < _LATEST:
        raise HTTPException(422, "at: out of range (years 2000 to 9998)")


def known_newsletter(settings: Settings, slug: str) -> str:
    """``slug`` if it names a configured newsletter; a 404 otherwise."""
    if slug not in settings.file.newsletters:
        raise HTTPException(404, f"no newsletter {slug!r}")
    return slug


@router.get("/session")
def session_info(editor: EditorDep) -> dict[str, str | None]:
    """Who is asking, and (for a login session) the CSRF token its pages send back."""
    return {"actor": editor.label, "csrf": editor.csrf}


# --- newsletters and digests ----------------------------------------------------------


@router.get("/newsletters")
def list_newsletters(
    editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> list[dict[str, Any]]:
    """Each newsletter: name, title, language, schedule, next slot, subscriber counts."""
    with sessions.begin() as session:
        return newsletters_overview(session, settings, utcnow())


class Preview(BaseModel):
    newsletter: str
    subject: str
    html_bytes: int
    too_large: bool
    article_ids: list[int]
    html: str


@router.get("/newsletters/{slug}/preview", responses=refusals(404, 409))
def preview_digest(
    slug: str, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> Preview:
    """The next edition, rendered from the current articles, without sending."""
    known_newsletter(settings, slug)
    with sessions.begin() as session:
        try:
            edition = next_edition(session, settings, slug)
        except NothingToSend as exc:
            raise HTTPException(409, str(exc)) from None
    return Preview(
        newsletter=slug,
        subject=edition.rendered.subject,
        html_bytes=edition.html_bytes,
        too_large=edition.too_large,
        article_ids=list(edition.article_ids),
        html=edition.rendered.html,
    )


class TestSend(BaseModel):
    to: Annotated[str, Field(max_length=320, description="Where the test copy goes.")]


@router.post("/newsletters/{slug}/test", status_code=202, responses=refusals(404, 409, 502))
def test_digest(
    slug: str, body: TestSend, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, str]:
    """Send one real copy of the next edition, subject marked [TEST]."""
    known_newsletter(settings, slug)
    address = valid_address(body.to, "to")
    with sessions.begin() as session:
        try:
            edition = next_edition(session, settings, slug)
        except NothingToSend as exc:
            raise HTTPException(409, str(exc)) from None
    try:
        sent = send_test(settings, backend_for(settings), edition, to=address)
    except DeliveryError as exc:
        raise HTTPException(502, f"the mail server refused the test copy: {exc}") from None
    audit(sessions, editor, "digest.test", slug, to=editors.person(address))
    return {"message_id": sent.message_id}


class QueueRequest(BaseModel):
    at: datetime | None = Field(
        None, description="When to send (ISO 8601 with offset); now if absent."
    )
    force: bool = Field(False, description="Queue even above Gmail's 102 KB clipping limit.")


@router.post("/newsletters/{slug}/queue", status_code=201, responses=refusals(404, 409))
def queue(
    slug: str, body: QueueRequest, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, int]:
    """Render the next edition once and queue it for every confirmed subscriber."""
    known_newsletter(settings, slug)
    if body.at is not None:
        _check_instant(body.at, "2026-11-26T07:00+01:00")
    try:
        digest_id, recipients = queue_digest(settings, slug, at=body.at, force=body.force)
    except (NothingToSend, DigestTooLarge) as exc:
        raise HTTPException(409, str(exc)) from None
    audit(sessions, editor, "digest.queue", f"digest {digest_id}", newsletter=slug)
    return {"digest_id": digest_id, "recipients": recipients}


@router.get("/digests")
def list_digests(
    editor: EditorDep, sessions: SessionsDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, object]]:
    """The latest digests, newest first, with their progress."""
    now = utcnow()
    with sessions.begin() as session:
        return [progress(session, d, now=now).as_dict() for d in digests.latest(session, limit)]


@router.get("/digests/{digest_id}", responses=refusals(404))
def digest_progress(
    digest_id: RowId, editor: EditorDep, sessions: SessionsDep
) -> dict[str, object]:
    """Sent, failed, bounced, pending, rate and ETA."""
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None:
            raise HTTPException(404, f"no digest {digest_id}")
        return progress(session, digest, now=utcnow()).as_dict()


@router.post("/digests/{digest_id}/{action}", responses=refusals(404, 409))
def change(
    digest_id: RowId,
    action: Literal["pause", "resume", "cancel"],
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
) -> dict[str, object]:
    """Pause, resume or cancel a digest."""
    try:
        digest = change_digest(settings, digest_id, action)
    except DigestNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    audit(sessions, editor, f"digest.{action}", f"digest {digest_id}")
    return {"id": digest_id, "status": digest.status.value}


# --- social posts ------------------------------------------------------------------------


@router.get("/social/posts")
def list_posts(
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    # an account's name as configured; no control character (PostgreSQL refuses a NUL)
    account: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")] = None,
) -> list[dict[str, Any]]:
    """Upcoming posts (planned, queued, publishing) with their times and X costs."""
    with sessions.begin() as session:
        rows = [social.post_row(settings, p) for p in social_posts.upcoming(session, account)]
        social.add_day_totals(settings, session, rows)
    return rows


@router.get("/social/posts/{post_id}", responses=refusals(404))
def get_post(
    post_id: RowId, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, Any]:
    with sessions.begin() as session:
        post = social_posts.get_post(session, post_id)
        if post is None:
            raise HTTPException(404, f"no post {post_id}")
        return social.post_row(settings, post)


class PostEdit(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=70_000)]


class PostReschedule(BaseModel):
    at: datetime


def _change_post(
    settings: Settings,
    sessions: sessionmaker[Session],
    editor: EditorDep,
    post_id: int,
    action: str,
    **changes: Any,
) -> dict[str, Any]:
    try:
        post = change_post(settings, post_id, action, **changes)
    except PostNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except social.PostChangeRefused as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:  # TextTooLong, or a text that is empty once cleaned
        raise HTTPException(422, f"text: {exc}") from None
    detail = {key: str(value) for key, value in changes.items()}
    audit(sessions, editor, f"post.{action}", f"post {post_id}", **detail)
    with sessions.begin() as session:
        fresh = social_posts.get_post(session, post.id)
        assert fresh is not None
        return social.post_row(settings, fresh)


@router.patch("/social/posts/{post_id}", responses=refusals(404, 409))
def edit_post(
    post_id: RowId, body: PostEdit, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, Any]:
    """Replace a post's text (checked against the platform's limit, never shortened)."""
    return _change_post(settings, sessions, editor, post_id, "edit", text=body.text)


@router.post("/social/posts/{post_id}/reschedule", responses=refusals(404, 409))
def reschedule_post(
    post_id: RowId,
    body: PostReschedule,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
) -> dict[str, Any]:
    _check_instant(body.at, "2026-11-26T08:00+01:00")
    return _change_post(settings, sessions, editor, post_id, "reschedule", at=body.at)


@router.post("/social/posts/{post_id}/cancel", responses=refusals(404, 409))
def cancel_post(
    post_id: RowId, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, Any]:
    return _change_post(settings, sessions, editor, post_id, "cancel")


@router.post("/social/posts/{post_id}/publish-now", responses=refusals(404, 409))
def publish_post_now(
    post_id: RowId, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, Any]:
    return _change_post(settings, sessions, editor, post_id, "publish-now")


class CountRequest(BaseModel):
    platform: Literal["twitter", "facebook", "linkedin"]
    text: Annotated[str, Field(max_length=70_000)]


@router.post("/social/count")
def count(body: CountRequest, editor: EditorDep) -> dict[str, Any]:
    """The length of a text as its platform counts it (X: weighted; LinkedIn: escaped), for
    the live counter of the post editor."""
    try:
        ready, weighted = social.edited_text(body.platform, body.text)
        length = weighted if weighted is not None else len(ready.encode("utf-16-le")) // 2
    except social.TextTooLong as exc:
        length = exc.length
    except ValueError:  # empty
        length = 0
    limit = social.LIMITS[body.platform]
    return {"platform": body.platform, "length": length, "limit": limit, "fits": length <= limit}


@router.get("/social/accounts")
def list_accounts(
    editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> list[dict[str, Any]]:
    """Each account: platform, status, last error, token expiry, posts per status."""
    with sessions.begin() as session:
        return social.account_rows(settings, session)


@router.get("/audit")
def audit_log(
    editor: EditorDep, sessions: SessionsDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    """The latest changes: who, what, when."""
    with sessions.begin() as session:
        return [entry.as_dict() for entry in editors.audit_log(session, limit)]
