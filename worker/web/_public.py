"""The readers' pages: subscribe (double opt-in), confirm, unsubscribe in one click, and
choose newsletters and language.

Every link carries a signed token for one action; a tampered, expired or foreign token
raises InvalidToken, which the app answers with a clear page (``link_refused``), having
changed nothing. The subscribe form answers the same way whether
the address is new, known, confirmed or suppressed, so it reveals nobody. Forms carry a
CSRF token (signed, and bound to a cookie); the RFC 8058 one-click POST that mailbox
providers send comes without one and is accepted, since its URL token is the proof. Each
client address is rate limited in Redis.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from worker.digests import translations
from worker.dispatch import request_confirmation
from worker.settings import Settings
from worker.store import (
    ConsentSource,
    Newsletter,
    SubscriptionStatus,
    address_hash,
    newsletters,
)
from worker.store import subscribers as subscriber_store
from worker.subscribers import (
    ExpiredToken,
    InvalidAddress,
    InvalidField,
    InvalidToken,
    confirm_subscription,
    normalize_address,
    preferences_token,
    read_confirmation_token,
    read_preferences_token,
    read_unsubscribe_token,
    request_subscription,
    unsubscribe,
    update_preferences,
)
from worker.web._limits import TooManyRequests, hit


def _page_refusal(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


# What a reader's link or form can meet, each a page in the reader's language (429 is JSON).
READER_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: _page_refusal("The form's anti-forgery cookie is missing or expired."),
    404: _page_refusal("The link is not valid (tampered with, or meant for another action)."),
    410: _page_refusal("The link has expired."),
    422: {
        "description": "A field is not valid: a page says which, or, for a form missing "
        "its fields, FastAPI's JSON list of them.",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    },
    429: {"description": "Too many requests from this address; see Retry-After."},
}
router = APIRouter(tags=["readers"], responses=READER_REFUSALS)

FORM_COOKIE = "newsroom_form"
FORM_MAX_AGE = 2 * 3600
# The consent wording shown on the form: its version is recorded with each opt-in.
CONSENT_TEXT_VERSION = "2026-11"
# Public requests per client address: enough for people, too few for a script.
PUBLIC_LIMIT, PUBLIC_WINDOW_SECONDS = 30, 600
# Confirmation emails the form sends one address per day, whoever asks from wherever: the
# form cannot be used to flood somebody's inbox.
REQUESTS_PER_ADDRESS, ADDRESS_WINDOW_SECONDS = 3, 24 * 3600


def _limit(request: Request) -> None:
    address = request.client.host if request.client else "unknown"
    hit(request.app.state.redis(), f"public:{address}", PUBLIC_LIMIT, PUBLIC_WINDOW_SECONDS)


def _forms(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="public-form")


def _page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    nonce: str | None = None,
    **context: object,
) -> Response:
    """A page; with a form, a CSRF token bound to a cookie that only this site can set."""
    nonce = nonce or request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(16)
    csrf = _forms(request.app.state.settings).dumps(nonce)
    language = str(context.pop("language", "fr"))
    response = request.app.state.pages.TemplateResponse(
        request,
        template,
        {"language": language, "_": _gettext(language), "csrf": csrf, **context},
        status_code=status_code,
    )
    response.set_cookie(
        FORM_COOKIE,
        nonce,
        max_age=FORM_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.public_base_url.startswith("https://"),
    )
    return response


def _gettext(language: str) -> Callable[..., str]:
    """gettext in the reader's language, formatting ``%(name)s`` placeholders."""
    catalog = translations(language)

    def gettext(text: str, **values: object) -> str:
        translated = catalog.gettext(text)
        return translated % values if values else translated

    return gettext


def _form_ok(request: Request, csrf: str | None) -> bool:
    try:
        nonce = _forms(request.app.state.settings).loads(csrf or "", max_age=FORM_MAX_AGE)
    except BadSignature:
        return False
    return secrets.compare_digest(str(nonce), request.cookies.get(FORM_COOKIE, ""))


def link_refused(request: Request, exc: Exception) -> Response:
    """The page for a link whose token is tampered with, foreign or expired (the app's
    handler of InvalidToken): nothing was changed."""
    if isinstance(exc, ExpiredToken):
        return _notice(request, "expired_link", status_code=410)
    return _notice(request, "invalid_link", status_code=404)


def _notice(request: Request, kind: str, status_code: int = 200, **values: object) -> Response:
    return _page(request, "reader_notice.html", status_code=status_code, kind=kind, **values)


# --- subscribe and confirm ----------------------------------------------------------------


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_page(request: Request) -> Response:
    """The subscription form: address, name, newsletters."""
    _limit(request)
    with request.app.state.sessions.begin() as session:
        choices = _choices(request, session)
    return _page(request, "subscribe.html", newsletters=choices)


@router.post("/subscribe", response_class=HTMLResponse)
def subscribe(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    newsletter: Annotated[list[str], Form()],
    name: Annotated[str, Form(max_length=300)] = "",
    csrf: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Record the request and send the confirmation email; the same answer for everyone."""
    _limit(request)
    if not _form_ok(request, csrf):
        return _notice(request, "form_expired", status_code=403)
    state = request.app.state
    try:
        address = normalize_address(email)
    except InvalidAddress as exc:
        return _notice(request, "invalid_address", status_code=422, detail=str(exc))
    key = f"subscribe:{address_hash(address)}"
    try:
        hit(state.redis(), key, REQUESTS_PER_ADDRESS, ADDRESS_WINDOW_SECONDS)
    except TooManyRequests:
        return _notice(request, "check_inbox")  # the same answer, and nothing sent
    with state.sessions.begin() as session:
        chosen = [n for n in _configured(request, session) if n.slug in set(newsletter)]
        if not chosen:
            return _notice(request, "no_newsletter", status_code=422)
        try:
            outcome = request_subscription(
                session,
                email=address,
                newsletters=chosen,
                name=name,
                source=ConsentSource.FORM,
                ip=request.client.host if request.client else None,
                text_version=CONSENT_TEXT_VERSION,
                detail=f"form: {request.url.path}",
            )
        except InvalidField as exc:
            return _notice(request, "invalid_field", status_code=422, detail=str(exc))
        if outcome.subscriber_id is not None and outcome.newsletter_ids:
            request_confirmation(session, [outcome.subscriber_id], outcome.newsletter_ids)
    return _notice(request, "check_inbox")


@router.get("/subscriptions/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, token: str = "") -> Response:
    """A button, not an automatic confirmation: mail scanners follow links on their own."""
    _limit(request)
    read_confirmation_token(request.app.state.settings.secret_key, token)
    return _page(request, "confirm.html", token=token)


@router.post("/subscriptions/confirm", response_class=HTMLResponse)
def confirm(
    request: Request,
    token: Annotated[str, Form(max_length=2000)],
    csrf: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    _limit(request)
    if not _form_ok(request, csrf):
        return _notice(request, "form_expired", status_code=403)
    subscriber_id, newsletter_ids = read_confirmation_token(
        request.app.state.settings.secret_key, token
    )
    with request.app.state.sessions.begin() as session:
        confirm_subscription(session, subscriber_id, newsletter_ids)
    return _notice(request, "confirmed")


# --- unsubscribe and preferences -----------------------------------------------------------


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> Response:
    """One button: leave this newsletter (or all of them); nothing changes on a GET."""
    _limit(request)
    found = _unsubscribe_target(request, token)
    if found is None:
        return _notice(request, "invalid_link", status_code=404)
    _, newsletter = found
    return _page(
        request, "unsubscribe.html", token=token, newsletter=newsletter, language=_lang(newsletter)
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_now(
    request: Request,
    token: str,
    list_unsubscribe: Annotated[str, Form(alias="List-Unsubscribe", max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=500)] = "",
    scope: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``, no cookie, no page) or the
    page's button; ``scope=all`` leaves every newsletter."""
    one_click = list_unsubscribe == "One-Click"
    found = _unsubscribe_target(request, token)
    # Mailbox providers send their users' one-click requests from a few addresses: a valid
    # one is never refused for the address's rate. Everything else counts.
    if not (one_click and found):
        _limit(request)
    if not one_click and not _form_ok(request, csrf):
        return _notice(request, "form_expired", status_code=403)
    if found is None:
        return _notice(request, "invalid_link", status_code=404)
    subscriber_id, newsletter = found
    everything = scope == "all"
    with request.app.state.sessions.begin() as session:
        if subscriber_id:  # 0: an editor's test copy, which unsubscribes nobody
            unsubscribe(session, subscriber_id, None if everything else newsletter.id)
    manage = preferences_token(request.app.state.settings.secret_key, subscriber_id)
    return _notice(
        request,
        "unsubscribed_all" if everything else "unsubscribed",
        newsletter=newsletter.title,
        preferences_url=f"/preferences/{manage}",
        language=_lang(newsletter),
    )


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str) -> Response:
    _limit(request)
    subscriber_id = read_preferences_token(request.app.state.settings.secret_key, token)
    with request.app.state.sessions.begin() as session:
        subscriber = subscriber_store.get(session, subscriber_id)
        if subscriber is None:  # erased meanwhile
            return _notice(request, "invalid_link", status_code=404)
        active = [
            newsletter_id
            for newsletter_id, row in subscriber_store.subscriptions_of(
                session, subscriber_id
            ).items()
            if row.status is SubscriptionStatus.CONFIRMED
        ]
        choices = _choices(request, session)
        language = subscriber.language or "fr"
    return _page(
        request,
        "preferences.html",
        token=token,
        newsletters=choices,
        active=active,
        language=language,
    )


@router.post("/preferences/{token}", response_class=HTMLResponse)
def save_preferences(
    request: Request,
    token: str,
    newsletter: Annotated[list[str] | None, Form()] = None,
    language: Annotated[str, Form(max_length=35)] = "",
    csrf: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    _limit(request)
    if not _form_ok(request, csrf):
        return _notice(request, "form_expired", status_code=403)
    subscriber_id = read_preferences_token(request.app.state.settings.secret_key, token)
    with request.app.state.sessions.begin() as session:
        chosen = {n.id for n in _configured(request, session) if n.slug in set(newsletter or [])}
        try:
            update_preferences(
                session,
                subscriber_id,
                chosen,
                language,
                ip=request.client.host if request.client else None,
                text_version=CONSENT_TEXT_VERSION,
            )
        except InvalidField as exc:
            return _notice(request, "invalid_field", status_code=422, detail=str(exc))
        saved = subscriber_store.get(session, subscriber_id)
        language = (saved.language if saved else "") or "fr"
    return _notice(request, "preferences_saved", language=language)


def _unsubscribe_target(request: Request, token: str) -> tuple[int, Newsletter] | None:
    try:
        subscriber_id, newsletter_id = read_unsubscribe_token(
            request.app.state.settings.secret_key, token
        )
    except InvalidToken:
        return None
    with request.app.state.sessions.begin() as session:
        newsletter = session.get(Newsletter, newsletter_id)
        if newsletter is None:
            return None
        session.expunge(newsletter)
    return subscriber_id, newsletter


def _configured(request: Request, session: object) -> list[Newsletter]:
    configured = request.app.state.settings.file.newsletters
    rows = [newsletters.get_by_slug(session, slug) for slug in configured]  # type: ignore[arg-type]
    return [row for row in rows if row is not None]


def _choices(request: Request, session: object) -> list[dict[str, object]]:
    return [
        {"slug": n.slug, "id": n.id, "title": n.title, "language": n.language}
        for n in _configured(request, session)
    ]


def _lang(newsletter: Newsletter) -> str:
    return newsletter.language[:2] or "fr"
