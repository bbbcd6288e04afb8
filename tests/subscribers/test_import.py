"""CSV import: what a file may hold and what it may never do (bring back someone who left)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_newsletter, create_subscriber
from worker.store import (
    Consent,
    ConsentSource,
    Subscriber,
    SubscriptionStatus,
    SuppressionReason,
    address_hash,
    subscribers,
)
from worker.subscribers import (
    Row,
    UnreadableFile,
    forget,
    import_rows,
    parse_csv,
    request_subscription,
    suppress,
    unsubscribe,
)
from worker.subscribers._import import CHUNK


def test_valid_rows_are_normalized_and_bad_ones_reported_by_line() -> None:
    data = (
        "email,name,language\r\n"
        "Jean@Example.ORG,Jean Dupont,fr\r\n"
        "not-an-address,Nobody,fr\r\n"
        '"camille@example.org","Camille\r\nMartin",fr-FR\r\n'
        "\r\n"
        "zoe@example.org,Zoë,klingon\r\n"
        "jean@example.org,Jean again,fr\r\n"
        "too@example.org,many,fields,here\r\n"
        f"long@example.org,{'n' * 301},en\r\n"
        f"{'x' * 250}@example.org,Too long,en\r\n"
        "nul@exa\x00mple.org,,\r\n"
    ).encode()
    parsed = parse_csv(data)
    assert parsed.rows == [
        Row(2, "jean@example.org", "Jean Dupont", "fr"),
        Row(4, "camille@example.org", "Camille Martin", "fr_FR"),
    ]
    assert parsed.duplicates == [(8, 2)]
    reasons = dict(parsed.rejected)
    assert sorted(reasons) == [3, 7, 9, 10, 11, 12]
    assert "@-sign" in reasons[3]
    assert "'klingon' is not a known language" in reasons[7]
    assert reasons[9] == "4 fields, the header has 3"
    assert reasons[10] == "name: longer than 300 characters"
    assert "too long" in reasons[11]


def test_a_byte_order_mark_semicolons_and_any_column_order() -> None:
    data = "\ufeffLanguage;EMAIL;Name\nfr;a@example.org;Anne\n".encode()
    assert parse_csv(data).rows == [Row(2, "a@example.org", "Anne", "fr")]
    assert parse_csv(b"email\nb@example.org\n").rows == [Row(2, "b@example.org")]


def test_an_oversized_field_costs_its_line_only() -> None:
    data = ("email,name\na@example.org," + "y" * 200_000 + "\nb@example.org,B\n").encode()
    parsed = parse_csv(data)
    assert parsed.rows == [Row(3, "b@example.org", "B")]
    assert parsed.rejected[0][0] == 2
    assert "field larger than field limit" in parsed.rejected[0][1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b"name,language\nJean,fr\n", "line 1: no 'email' column (the header is name,language)"),
        (b"email,name,phone\n", "line 1: unknown column 'phone' (the columns are email"),
        (b"email,email\n", "line 1: column 'email' appears twice"),
        (
            "email,name\na@example.org,Lefèvre\n".encode("latin-1"),
            "not UTF-8: byte 0xE8 at offset 28 (line 2)",
        ),
        (b"\xef\xbb\xbfemail\n\xff@example.org\n", "not UTF-8: byte 0xFF at offset 9 (line 2)"),
        ("email\n".encode("utf-16"), "the file is UTF-16"),
    ],
)
def test_unreadable_files_are_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(UnreadableFile) as refused:
        parse_csv(data)
    assert message in str(refused.value)


def test_an_unclosed_quote_is_reported_not_swallowed() -> None:
    parsed = parse_csv(b'email,name\na@example.org,"Anne\nb@example.org,B\n')
    assert parsed.rows == []
    assert parsed.rejected[0][0] == 2
    assert "not valid CSV" in parsed.rejected[0][1]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_never_brings_back_who_left_and_keeps_known_details(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        matinale = create_newsletter(session)
        briefing = create_newsletter(session, "morning-briefing", "en")
        create_subscriber(session, "confirmed@example.org", matinale, name="Kept Name")
        create_subscriber(session, "pending@example.org", matinale, SubscriptionStatus.PENDING)
        left = create_subscriber(session, "left@example.org", matinale)
        unsubscribe(session, left.id, matinale.id)
        create_subscriber(session, "bounced@example.org", matinale, SubscriptionStatus.BOUNCED)
        create_subscriber(session, "complained@example.org", briefing)
        suppress(
            session, address_hash("complained@example.org"), SuppressionReason.COMPLAINED, None
        )
        create_subscriber(session, "erased@example.org", matinale)
        forget(session, "erased@example.org")
        forget(session, "never-seen@example.org")
        create_subscriber(session, "other-list@example.org", briefing, name="Kept Too")
        matinale_id = matinale.id

    emails = [
        "confirmed@example.org",
        "pending@example.org",
        "left@example.org",
        "bounced@example.org",
        "complained@example.org",
        "erased@example.org",
        "never-seen@example.org",
        "other-list@example.org",
        "new@example.org",
    ]
    rows = [Row(n, email, "Imported Name", "fr") for n, email in enumerate(emails, 2)]
    with sessions.begin() as session:
        outcome = import_rows(session, rows, matinale_id, confirmed=True, detail="crm.csv")
        assert (outcome.already, outcome.suppressed, len(outcome.imported)) == (2, 5, 2)
        for email, status in [
            ("left@example.org", SubscriptionStatus.UNSUBSCRIBED),
            ("bounced@example.org", SubscriptionStatus.BOUNCED),
            ("pending@example.org", SubscriptionStatus.PENDING),
            ("other-list@example.org", SubscriptionStatus.CONFIRMED),
            ("new@example.org", SubscriptionStatus.CONFIRMED),
        ]:
            subscriber = subscribers.get_by_email(session, email)
            assert subscriber is not None
            assert subscribers.subscriptions_of(session, subscriber.id)[matinale_id].status is (
                status
            ), email
        assert subscribers.get_by_email(session, "erased@example.org") is None
        assert subscribers.get_by_email(session, "never-seen@example.org") is None
        assert subscribers.get_by_email(session, "confirmed@example.org").name == "Kept Name"
        assert subscribers.get_by_email(session, "other-list@example.org").name == "Kept Too"
        new = subscribers.get_by_email(session, "new@example.org")
        assert (new.name, new.language, new.email_hash) == (
            "Imported Name",
            "fr",
            address_hash("new@example.org"),
        )
        imported = session.scalars(select(Consent).where(Consent.detail == "crm.csv")).all()
        assert len(imported) == 2
        assert all(c.source is ConsentSource.IMPORT and c.confirmed_at for c in imported)

    with sessions.begin() as session:
        again = import_rows(session, rows, matinale_id, confirmed=True, detail="crm.csv")
        assert (again.already, again.suppressed, again.imported) == (4, 5, [])


def test_a_pending_import_over_several_chunks(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        newsletter_id = create_newsletter(session).id
        create_subscriber(session, "reader0042@example.org")  # known, on no list yet
    rows = [Row(n + 2, f"reader{n:04}@example.org") for n in range(CHUNK * 2 + 5)]
    with sessions.begin() as session:
        outcome = import_rows(session, rows, newsletter_id, confirmed=False, detail="x")
    assert len(outcome.imported) == len(set(outcome.imported)) == len(rows)
    with sessions.begin() as session:
        assert count(session, Subscriber) == len(rows)
        counts = subscribers.counts_by_status(session)[newsletter_id]
        assert counts[SubscriptionStatus.PENDING] == len(rows)
        assert session.scalar(select(func.count()).where(Consent.confirmed_at.is_(None))) == len(
            rows
        )


def test_after_forget_a_form_request_stores_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        matinale = create_newsletter(session)
        create_subscriber(session, "camille@example.org", matinale)
        assert forget(session, "Camille@Example.org")
        request = request_subscription(
            session,
            email="camille@example.org",
            newsletters=[matinale],
            name="Camille",
            source=ConsentSource.FORM,
            ip=None,
            text_version="1",
        )
        assert (request.subscriber_id, request.newsletter_ids) == (None, [])
        assert count(session, Subscriber) == 0
