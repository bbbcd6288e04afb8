"""Every status transition a person or a mailbox can cause, and what the suppression list
lets through, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_newsletter
from worker.store import (
    Consent,
    ConsentSource,
    Newsletter,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    address_hash,
    subscribers,
)
from worker.subscribers import (
    InvalidAddress,
    InvalidField,
    SubscriptionRequest,
    clean_language,
    clean_name,
    confirm_subscription,
    forget,
    is_suppressed,
    request_subscription,
    suppress,
    unsubscribe,
    update_preferences,
)

EMAIL = "camille@example.org"
P, C, U, B, X = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.CONFIRMED,
    SubscriptionStatus.UNSUBSCRIBED,
    SubscriptionStatus.BOUNCED,
    SubscriptionStatus.COMPLAINED,
)


def ask(session: Session, *newsletters: Newsletter, email: str = EMAIL, **extra: str):
    return request_subscription(
        session,
        email=email,
        newsletters=list(newsletters),
        source=ConsentSource.FORM,
        ip="203.0.113.7",
        text_version="2026-11",
        **extra,
    )


def statuses(session: Session, email: str = EMAIL) -> dict[str, SubscriptionStatus]:
    subscriber = subscribers.get_by_email(session, email)
    assert subscriber is not None
    return {
        slug: row.status
        for row, slug in subscribers.with_slugs(session, Subscription, subscriber.id)
    }


def suppressions(session: Session, email: str = EMAIL) -> set[tuple[str, int | None]]:
    rows = session.scalars(select(Suppression).where(Suppression.email_hash == address_hash(email)))
    return {(row.reason.value, row.newsletter_id) for row in rows}


def subscribed(session: Session, *newsletter_ids: int) -> int:
    """EMAIL asked for the newsletters and confirmed; returns the subscriber's id."""
    request = ask(session, *(session.get(Newsletter, n) for n in newsletter_ids))
    assert request.subscriber_id is not None
    confirmed = confirm_subscription(session, request.subscriber_id, request.newsletter_ids)
    assert confirmed == sorted(newsletter_ids)
    return request.subscriber_id


@pytest.fixture
def two(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions.begin() as session:
        return create_newsletter(session, "la-matinale").id, create_newsletter(
            session, "morning-briefing", "en"
        ).id


def test_request_confirm_unsubscribe_and_ask_again(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    matinale, briefing = two
    with sessions.begin() as session:
        first = ask(session, session.get(Newsletter, matinale), email=" Camille@Example.ORG ")
        assert first.newsletter_ids == [matinale]
        assert statuses(session) == {"la-matinale": P}
        # asking again while pending: still pending, one more consent, another email
        assert ask(session, session.get(Newsletter, matinale)).newsletter_ids == [matinale]
    with sessions.begin() as session:
        assert first.subscriber_id is not None
        assert confirm_subscription(session, first.subscriber_id, [matinale, briefing]) == [
            matinale
        ]
        assert statuses(session) == {"la-matinale": C}
        consents = session.scalars(select(Consent)).all()
        assert len(consents) == 2
        assert all(c.confirmed_at and c.ip == "203.0.113.7" for c in consents)
        # a second click changes nothing and says the same
        assert confirm_subscription(session, first.subscriber_id, [matinale]) == [matinale]
        # a confirmed address asking again: nothing changes, no email, same answer shape
        again = ask(session, session.get(Newsletter, matinale))
        assert again == SubscriptionRequest(first.subscriber_id, [])
        assert len(session.scalars(select(Consent)).all()) == 2

        unsubscribe(session, first.subscriber_id, matinale)
        unsubscribe(session, first.subscriber_id, matinale)  # idempotent
        assert statuses(session) == {"la-matinale": U}
        assert suppressions(session) == {("unsubscribed", matinale)}
        assert is_suppressed(session, EMAIL, matinale)
        assert not is_suppressed(session, EMAIL, briefing)
        assert not is_suppressed(session, EMAIL, None)

        # the person asks again through the form: pending, and suppressed until confirmed
        back = ask(session, session.get(Newsletter, matinale))
        assert back.newsletter_ids == [matinale]
        assert statuses(session) == {"la-matinale": P}
        assert is_suppressed(session, EMAIL, matinale)
        assert confirm_subscription(session, first.subscriber_id, [matinale]) == [matinale]
        assert statuses(session) == {"la-matinale": C}
        assert suppressions(session) == set()


def test_unsubscribe_from_all_then_back_to_one(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    matinale, briefing = two
    with sessions.begin() as session:
        subscriber_id = subscribed(session, matinale, briefing)
        unsubscribe(session, subscriber_id, None)
        assert statuses(session) == {"la-matinale": U, "morning-briefing": U}
        assert suppressions(session) == {("unsubscribed", None)}
        assert is_suppressed(session, EMAIL, None)

        ask(session, session.get(Newsletter, briefing))
        assert confirm_subscription(session, subscriber_id, [briefing]) == [briefing]
        # "from all" now holds for every other newsletter, one row each
        assert suppressions(session) == {("unsubscribed", matinale)}
        assert statuses(session) == {"la-matinale": U, "morning-briefing": C}


def test_bounced_complained_and_erased_addresses_are_left_alone_without_telling(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    matinale, briefing = two
    with sessions.begin() as session:
        bounced = ask(session, session.get(Newsletter, matinale), email="gone@example.org")
        assert bounced.subscriber_id is not None
        confirm_subscription(session, bounced.subscriber_id, [matinale])
        subscribers.mark_bounced(session, bounced.subscriber_id, matinale)
        complained = ask(session, session.get(Newsletter, matinale), email="angry@example.org")
        suppress(session, address_hash("angry@example.org"), SuppressionReason.COMPLAINED, None)
        forget(session, "erased@example.org")

        assert statuses(session, "gone@example.org") == {"la-matinale": B}
        assert suppressions(session, "gone@example.org") == {("bounced", None)}
        assert statuses(session, "angry@example.org") == {"la-matinale": X}
        for email, subscriber_id in [
            ("gone@example.org", bounced.subscriber_id),
            ("angry@example.org", complained.subscriber_id),
            ("erased@example.org", None),
        ]:
            # the same answer as for anyone: a request, nothing awaiting confirmation
            result = ask(
                session,
                session.get(Newsletter, matinale),
                session.get(Newsletter, briefing),
                email=email,
            )
            assert result == SubscriptionRequest(subscriber_id, [])
            assert confirm_subscription(session, subscriber_id or 0, [matinale, briefing]) == []
            assert is_suppressed(session, email, briefing)
        assert subscribers.get_by_email(session, "erased@example.org") is None
        assert statuses(session, "gone@example.org") == {"la-matinale": B}
        # a person cannot undo a bounce or a complaint through their preferences either
        assert update_preferences(session, bounced.subscriber_id, {matinale, briefing}, "") == []
        assert statuses(session, "gone@example.org") == {"la-matinale": B}


def test_a_complaint_for_one_newsletter_leaves_the_others(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    matinale, briefing = two
    with sessions.begin() as session:
        subscribed(session, matinale, briefing)
        suppress(session, address_hash(EMAIL), SuppressionReason.COMPLAINED, matinale)
        suppress(session, address_hash(EMAIL), SuppressionReason.COMPLAINED, matinale)
        assert statuses(session) == {"la-matinale": X, "morning-briefing": C}
        assert suppressions(session) == {("complained", matinale)}


def test_preferences_choose_newsletters_and_language(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    matinale, briefing = two
    with sessions.begin() as session:
        request = ask(session, session.get(Newsletter, matinale))
        assert request.subscriber_id is not None
        subscriber_id = request.subscriber_id
        # still pending: the signed link of the preferences page confirms it
        chosen = update_preferences(session, subscriber_id, {matinale, 999_999}, "en-GB")
        assert chosen == [matinale]
        assert statuses(session) == {"la-matinale": C}
        assert subscribers.get(session, subscriber_id).language == "en_GB"

        assert update_preferences(session, subscriber_id, {briefing}, "fr") == [briefing]
        assert statuses(session) == {"la-matinale": U, "morning-briefing": C}
        assert suppressions(session) == {("unsubscribed", matinale)}
        sources = [(c.source, c.detail, c.confirmed_at is not None) for c in consents(session)]
        assert sources == [
            (ConsentSource.FORM, "", True),
            (ConsentSource.FORM, "preferences", True),
        ]

        # coming back to an unsubscribed newsletter lifts its suppression
        assert update_preferences(session, subscriber_id, {matinale, briefing}, "fr") == [
            matinale,
            briefing,
        ]
        assert suppressions(session) == set()
        assert len(consents(session)) == 3

        assert update_preferences(session, subscriber_id, set(), "fr") == []
        assert statuses(session) == {"la-matinale": U, "morning-briefing": U}
        with pytest.raises(InvalidField, match="language"):
            update_preferences(session, subscriber_id, set(), "xx-not-a-language")
        assert update_preferences(session, 424242, {matinale}, "fr") == []


def consents(session: Session) -> list[Consent]:
    return list(session.scalars(select(Consent).order_by(Consent.id)))


def test_a_request_never_rewrites_a_known_persons_details(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    matinale, briefing = two
    with sessions.begin() as session:
        ask(
            session, session.get(Newsletter, matinale), name="Camille\r\nBcc: x@evil", language="fr"
        )
        ask(session, session.get(Newsletter, briefing), name="Someone Else", language="en")
        subscriber = subscribers.get_by_email(session, EMAIL)
        assert subscriber is not None
        assert (subscriber.name, subscriber.language) == ("Camille Bcc: x@evil", "fr")


def test_an_ip_that_is_not_one_is_not_kept(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    with sessions.begin() as session:
        for ip in ("2001:DB8::0:1", "1.2.3.4, 5.6.7.8" + " " * 100):
            request_subscription(
                session,
                email=EMAIL,
                newsletters=[session.get(Newsletter, two[0])],
                source=ConsentSource.API,
                ip=ip,
                text_version="1",
            )
        assert [c.ip for c in consents(session)] == ["2001:db8::1", None]


@pytest.mark.parametrize(
    ("email", "name", "language", "error"),
    [
        ("not an address", "", "", InvalidAddress),
        ("a@b", "", "", InvalidAddress),
        ("x" * 250 + "@example.org", "", "", InvalidAddress),
        ("jean@example.org\r\nBcc: victim@example.org", "", "", InvalidAddress),
        (EMAIL, "n" * 301, "", InvalidField),
        (EMAIL, "", "fr;DROP TABLE", InvalidField),
        (EMAIL, "", "x" * 36, InvalidField),
    ],
)
def test_hostile_input_is_refused_and_stores_nothing(
    sessions: sessionmaker[Session],
    two: tuple[int, int],
    email: str,
    name: str,
    language: str,
    error: type[Exception],
) -> None:
    with sessions.begin() as session:
        with pytest.raises(error):
            ask(session, session.get(Newsletter, two[0]), email=email, name=name, language=language)
        assert subscribers.get_by_email(session, EMAIL) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Jean   Dupont ", "Jean Dupont"),
        ("Jean\r\nDupont", "Jean Dupont"),
        ("Jean\x00\x1b[31mDupont", "Jean [31mDupont"),
        ("\u202eevil\u202c name", "evil name"),  # bidi override: invisible, misleading
        ("Zoë 👩\u200d💻 Lefèvre", "Zoë 👩\u200d💻 Lefèvre"),
        ("line\u2028separator", "line separator"),
        ("é" * 300, "é" * 300),
    ],
)
def test_names_are_one_printable_line(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("fr", "fr"), ("FR", "fr"), ("en-GB", "en_GB"), (" de_AT ", "de_AT"), ("", "")],
)
def test_languages_are_known_locales(raw: str, clean: str) -> None:
    assert clean_language(raw) == clean


def test_someone_who_never_asked_unsubscribes_from_the_confirmation_email(
    sessions: sessionmaker[Session], two: tuple[int, int]
) -> None:
    matinale, _ = two
    with sessions.begin() as session:
        request = ask(session, session.get(Newsletter, matinale))
        assert request.subscriber_id is not None
        unsubscribe(session, request.subscriber_id, matinale)
        assert statuses(session) == {"la-matinale": U}
        # the confirmation link, followed later, no longer subscribes anyone
        assert confirm_subscription(session, request.subscriber_id, [matinale]) == []
        assert statuses(session) == {"la-matinale": U}
