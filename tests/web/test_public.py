"""The readers' pages over real HTTP, with the real database, Redis and SMTP server:
double opt-in, one-click unsubscribe (RFC 8058), preferences, CSRF, no enumeration."""

from __future__ import annotations

import re

import httpx
import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SmtpSink, WorkerProcess, wait_until
from tests.db import create_subscriber
from worker.settings import Settings
from worker.store import SubscriptionStatus, newsletters
from worker.store import subscribers as subscriber_store
from worker.subscribers import confirmation_token, unsubscribe_token
from worker.web._public import FORM_COOKIE


def open_form(client: httpx.Client, path: str) -> tuple[httpx.Response, str]:
    """A page with a form, and its CSRF token. The form cookie is Secure (PUBLIC_BASE_URL is
    https) and the test server plain HTTP, so it is carried over by hand, as a browser on
    https would."""
    page = client.get(path)
    client.cookies.set(FORM_COOKIE, page.cookies[FORM_COOKIE])
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return page, found.group(1)


def status_of(sessions: sessionmaker[Session], email: str, slug: str) -> SubscriptionStatus | None:
    with sessions.begin() as session:
        subscriber = subscriber_store.get_by_email(session, email)
        newsletter = newsletters.get_by_slug(session, slug)
        if subscriber is None or newsletter is None:
            return None
        row = subscriber_store.subscription(session, subscriber, newsletter)
        return row.status if row else None


@pytest.fixture
def synced(settings: Settings, sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        return {
            slug: newsletters.get_by_slug(session, slug).id  # type: ignore[union-attr]
            for slug in settings.file.newsletters
        }


def test_double_opt_in_from_the_form_to_the_confirmation_link(
    web: httpx.Client,
    synced: dict[str, int],
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
) -> None:
    form, csrf = open_form(web, "/subscribe")
    assert form.status_code == 200
    sent = web.post(
        "/subscribe",
        data={
            "email": "Camille.Durand@Example.org",
            "name": "Camille",
            "newsletter": ["la-matinale"],
            "csrf": csrf,
        },
    )
    assert sent.status_code == 200
    assert "Consultez votre boîte de réception" in sent.text
    assert status_of(sessions, "camille.durand@example.org", "la-matinale") is (
        SubscriptionStatus.PENDING
    )

    wait_until(lambda: smtp_server.messages, why=worker.log)
    (recipients, message) = smtp_server.messages[0]
    assert recipients == ["camille.durand@example.org"]
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https://news\.example(/subscriptions/confirm\?token=\S+)", body)
    assert link, body
    page, csrf = open_form(web, link.group(1))
    assert page.status_code == 200  # a page with a button: a link scanner confirms nothing
    assert status_of(sessions, "camille.durand@example.org", "la-matinale") is (
        SubscriptionStatus.PENDING
    )
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    done = web.post("/subscriptions/confirm", data={"token": token.group(1), "csrf": csrf})
    assert "Abonnement confirmé" in done.text
    assert status_of(sessions, "camille.durand@example.org", "la-matinale") is (
        SubscriptionStatus.CONFIRMED
    )


def test_the_form_answers_the_same_whatever_the_address(
    web: httpx.Client, synced: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        matinale = newsletters.get_by_slug(session, "la-matinale")
        create_subscriber(session, "known@example.org", matinale)
        create_subscriber(session, "left@example.org", matinale, SubscriptionStatus.UNSUBSCRIBED)
        create_subscriber(session, "bounced@example.org", matinale, SubscriptionStatus.BOUNCED)

    def answer(email: str) -> tuple[int, str]:
        _, csrf = open_form(web, "/subscribe")
        response = web.post(
            "/subscribe", data={"email": email, "newsletter": "la-matinale", "csrf": csrf}
        )
        return response.status_code, re.sub(r'name="csrf" value="[^"]+"', "", response.text)

    answers = {
        answer(email)
        for email in (
            "new@example.org",
            "known@example.org",
            "left@example.org",
            "bounced@example.org",
        )
    }
    assert len(answers) == 1
    assert status_of(sessions, "known@example.org", "la-matinale") is SubscriptionStatus.CONFIRMED
    assert status_of(sessions, "bounced@example.org", "la-matinale") is SubscriptionStatus.BOUNCED


def test_forms_without_their_csrf_token_change_nothing(
    web: httpx.Client, synced: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    refused = web.post("/subscribe", data={"email": "a@example.org", "newsletter": "la-matinale"})
    assert refused.status_code == 403
    foreign = httpx.Client(base_url=str(web.base_url))  # another browser: no cookie
    _, stolen = open_form(web, "/subscribe")
    attempt = foreign.post(
        "/subscribe", data={"email": "a@example.org", "newsletter": "la-matinale", "csrf": stolen}
    )
    assert attempt.status_code == 403
    assert status_of(sessions, "a@example.org", "la-matinale") is None


def test_one_click_unsubscribe_as_mailbox_providers_send_it(
    web: httpx.Client, settings: Settings, synced: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        matinale = newsletters.get_by_slug(session, "la-matinale")
        briefing = newsletters.get_by_slug(session, "morning-briefing")
        reader = create_subscriber(session, "reader@example.org", matinale)
        create_subscriber(session, "reader@example.org", briefing)
        reader_id = reader.id
    token = unsubscribe_token(settings.secret_key, reader_id, synced["la-matinale"])

    page, csrf = open_form(web, f"/unsubscribe/{token}")  # a GET only shows the button
    assert page.status_code == 200
    assert status_of(sessions, "reader@example.org", "la-matinale") is SubscriptionStatus.CONFIRMED

    # RFC 8058: a POST with this body, no cookie, no CSRF token, no page
    provider = httpx.Client(base_url=str(web.base_url))
    done = provider.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert status_of(sessions, "reader@example.org", "la-matinale") is (
        SubscriptionStatus.UNSUBSCRIBED
    )
    assert status_of(sessions, "reader@example.org", "morning-briefing") is (
        SubscriptionStatus.CONFIRMED
    )
    again = provider.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200  # idempotent

    # the page's own button, from every newsletter, then the preferences bring one back
    everything = web.post(f"/unsubscribe/{token}", data={"csrf": csrf, "scope": "all"})
    assert status_of(sessions, "reader@example.org", "morning-briefing") is (
        SubscriptionStatus.UNSUBSCRIBED
    )
    preferences = re.search(r'href="(/preferences/[^"]+)"', everything.text)
    assert preferences
    _, csrf = open_form(web, preferences.group(1))
    saved = web.post(
        preferences.group(1),
        data={"newsletter": "morning-briefing", "language": "en", "csrf": csrf},
    )
    assert saved.status_code == 200
    assert "Your choices are saved" in saved.text  # in the language just chosen
    assert 'value="en" selected' in web.get(preferences.group(1)).text
    assert status_of(sessions, "reader@example.org", "morning-briefing") is (
        SubscriptionStatus.CONFIRMED
    )
    assert status_of(sessions, "reader@example.org", "la-matinale") is (
        SubscriptionStatus.UNSUBSCRIBED
    )


def test_tampered_and_foreign_tokens_get_a_clear_page_and_change_nothing(
    web: httpx.Client, settings: Settings, synced: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        matinale = newsletters.get_by_slug(session, "la-matinale")
        reader_id = create_subscriber(session, "reader@example.org", matinale).id
    token = unsubscribe_token(settings.secret_key, reader_id, synced["la-matinale"])
    for bad in (
        token[:-3] + "abc",
        unsubscribe_token("another-secret-key-another-secret-key", reader_id, 1),
        confirmation_token(settings.secret_key, reader_id, [synced["la-matinale"]]),
    ):
        response = web.post(f"/unsubscribe/{bad}", data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 404
        assert "Ce lien n’est pas valide" in response.text
    confirm = web.get("/subscriptions/confirm", params={"token": token})
    assert confirm.status_code == 404
    assert status_of(sessions, "reader@example.org", "la-matinale") is SubscriptionStatus.CONFIRMED


def test_public_pages_are_rate_limited_per_client_but_not_valid_one_clicks(
    web: httpx.Client, settings: Settings, synced: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        matinale = newsletters.get_by_slug(session, "la-matinale")
        reader_id = create_subscriber(session, "reader@example.org", matinale).id
    codes = [web.get("/subscribe").status_code for _ in range(31)]
    assert codes[:30] == [200] * 30
    assert codes[30] == 429
    # a mailbox provider's address sends many readers' one-clicks: a valid one always works
    token = unsubscribe_token(settings.secret_key, reader_id, synced["la-matinale"])
    one_click = {"List-Unsubscribe": "One-Click"}
    assert web.post(f"/unsubscribe/{token}", data=one_click).status_code == 200
    assert status_of(sessions, "reader@example.org", "la-matinale") is (
        SubscriptionStatus.UNSUBSCRIBED
    )
    assert web.post(f"/unsubscribe/{token[:-3]}abc", data=one_click).status_code == 429


def test_the_form_sends_one_address_three_requests_a_day_whoever_asks(
    web: httpx.Client, settings: Settings, synced: dict[str, int]
) -> None:
    def ask() -> httpx.Response:
        _, csrf = open_form(web, "/subscribe")
        form = {"email": "victim@example.org", "newsletter": "la-matinale", "csrf": csrf}
        return web.post("/subscribe", data=form)

    answers = [ask() for _ in range(5)]
    assert {response.status_code for response in answers} == {200}
    assert len({re.sub(r'name="csrf" value="[^"]+"', "", a.text) for a in answers}) == 1
    queued = redis.Redis.from_url(settings.redis_url).lrange("newsroom", 0, -1)
    assert len(queued) == 3  # one confirmation email per request, up to the day's three
