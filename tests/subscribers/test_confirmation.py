"""The double opt-in email, received by a real SMTP server, and its link followed back."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import BOTH_BROKERS, SQLITE_ONLY, SmtpSink, WorkerProcess, wait_until
from worker.delivery import backend_for
from worker.dispatch import request_confirmation
from worker.settings import Settings
from worker.store import (
    ConsentSource,
    SubscriptionStatus,
    SuppressionReason,
    newsletters,
    subscribers,
)
from worker.subscribers import (
    SubscriptionRequest,
    confirm_subscription,
    read_confirmation_token,
    read_unsubscribe_token,
    request_subscription,
)
from worker.subscribers.confirmation import send_confirmation_batch, send_confirmation_email


def ask(
    settings: Settings, sessions: sessionmaker[Session], *slugs: str, email: str
) -> SubscriptionRequest:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        return request_subscription(
            session,
            email=email,
            newsletters=[newsletters.get_by_slug(session, slug) for slug in slugs],
            name="Camille Martin",
            source=ConsentSource.FORM,
            ip=None,
            text_version="1",
        )


def send(settings: Settings, sessions: sessionmaker[Session], request: SubscriptionRequest):
    assert request.subscriber_id is not None
    with backend_for(settings) as backend:
        return send_confirmation_email(
            sessions, settings, backend, request.subscriber_id, request.newsletter_ids
        )


def text_part(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def link_token(text: str) -> str:
    found = re.search(r"https://news\.example/subscriptions/confirm\?token=(\S+)", text)
    assert found, text
    return found.group(1)


def test_the_email_arrives_in_the_newsletters_language_and_its_link_confirms(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    request = ask(
        settings, sessions, "la-matinale", "morning-briefing", email="camille@example.org"
    )
    message_id = send(settings, sessions, request)
    assert message_id
    [(recipients, message)] = smtp_server.messages
    assert recipients == ["camille@example.org"]
    assert message["Subject"] == "Confirmez votre abonnement à La Matinale, The Morning Briefing"
    assert message["Message-ID"] == message_id
    text = text_part(message)
    assert text.startswith("Bonjour Camille Martin,")
    assert "camille@example.org" in text
    assert "d’ici 7 jours" in text
    assert re.search(r"jours\W*\r?\nhttps://news\.example/subscriptions/confirm\?token=", text)
    html = message.get_body(("html",)).get_content()
    assert "Je confirme mon abonnement" in html
    token = link_token(text)
    assert f"confirm?token={token}" in html
    # one-click unsubscribe works for someone who never asked
    unsubscribe = re.search(r"/unsubscribe/([^>]+)>", message["List-Unsubscribe"])
    assert unsubscribe
    assert read_unsubscribe_token(settings.secret_key, unsubscribe.group(1))[0] == (
        request.subscriber_id
    )

    subscriber_id, newsletter_ids = read_confirmation_token(settings.secret_key, token)
    assert (subscriber_id, newsletter_ids) == (request.subscriber_id, request.newsletter_ids)
    with sessions.begin() as session:
        assert confirm_subscription(session, subscriber_id, newsletter_ids) == newsletter_ids
        statuses = {s.status for s in subscribers.subscriptions_of(session, subscriber_id).values()}
        assert statuses == {SubscriptionStatus.CONFIRMED}
    # a late or repeated task sends nothing once confirmed
    assert send(settings, sessions, request) is None
    assert len(smtp_server.messages) == 1


def test_an_english_newsletter_gets_an_english_email(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    send(settings, sessions, ask(settings, sessions, "morning-briefing", email="alex@example.com"))
    [(_, message)] = smtp_server.messages
    assert message["Subject"] == "Confirm your subscription to The Morning Briefing"
    text = text_part(message)
    assert text.startswith("Hello Camille Martin,")
    assert "within 7 days" in text
    assert "If you did not ask for it, ignore this email" in text


def test_a_bounced_confirmation_suppresses_the_address(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    smtp_server.refuse["typo@example.org"] = "550 5.1.1 no such mailbox"
    request = ask(settings, sessions, "la-matinale", email="typo@example.org")
    assert send(settings, sessions, request) is None
    with sessions.begin() as session:
        subscriber = subscribers.get_by_email(session, "typo@example.org")
        assert subscriber is not None
        assert [
            s.status for s in subscribers.subscriptions_of(session, subscriber.id).values()
        ] == [SubscriptionStatus.BOUNCED]
        assert subscribers.suppression_reasons(session, subscriber.email_hash, None) == {
            SuppressionReason.BOUNCED
        }
    assert (
        ask(settings, sessions, "morning-briefing", email="typo@example.org").newsletter_ids == []
    )


@BOTH_BROKERS
@SQLITE_ONLY
def test_a_committed_request_reaches_the_worker_and_the_mailbox(
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
) -> None:
    request = ask(settings, sessions, "la-matinale", email="nadia@example.org")
    assert request.subscriber_id is not None
    with sessions.begin() as session:
        request_confirmation(session, [request.subscriber_id], request.newsletter_ids)
    failed = sessions()
    failed.begin()
    assert subscribers.get(failed, request.subscriber_id) is not None  # under way
    request_confirmation(failed, [request.subscriber_id], request.newsletter_ids)
    failed.rollback()  # no commit, no email
    failed.close()
    wait_until(lambda: smtp_server.messages, timeout=30, why=worker.log)
    time.sleep(0.5)  # room for a second message, had the rolled-back one been published
    [(recipients, message)] = smtp_server.messages
    assert recipients == ["nadia@example.org"]
    token = link_token(text_part(message))
    assert read_confirmation_token(settings.secret_key, token) == (
        request.subscriber_id,
        request.newsletter_ids,
    )


def test_a_batch_defers_whom_the_server_put_off_and_everyone_when_it_is_down(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    requests = [
        ask(settings, sessions, "la-matinale", email=f"{name}@example.org")
        for name in ("ana", "later", "refused", "zoe")
    ]
    ids = [request.subscriber_id for request in requests]
    newsletter_ids = requests[0].newsletter_ids
    smtp_server.refuse["later@example.org"] = "450 4.2.1 mailbox busy"
    smtp_server.reject_data["refused@example.org"] = "550 5.7.1 content rejected"

    sent, deferred = send_confirmation_batch(
        sessions, settings, backend_for(settings), ids, newsletter_ids
    )
    assert (sent, deferred) == (2, [ids[1]])  # refused for its content: not worth a retry
    assert sorted(r for rs, _ in smtp_server.messages for r in rs) == [
        "ana@example.org",
        "zoe@example.org",
    ]

    smtp_server.stop()  # no connection at all: the whole batch waits, nothing is lost
    assert send_confirmation_batch(
        sessions, settings, backend_for(settings), ids[1:2], newsletter_ids
    ) == (0, ids[1:2])
