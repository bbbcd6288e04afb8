"""A person's data: all of it on request, none of it after erasure but the hash."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_newsletter
from worker.store import (
    Consent,
    ConsentSource,
    Delivery,
    Subscription,
    Suppression,
    address_hash,
    digests,
)
from worker.subscribers import (
    confirm_subscription,
    export_data,
    forget,
    request_subscription,
    unsubscribe,
)


def test_export_data_holds_everything_and_forget_leaves_only_the_hash(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        matinale = create_newsletter(session)
        briefing = create_newsletter(session, "morning-briefing", "en")
        request = request_subscription(
            session,
            email="camille@example.org",
            newsletters=[matinale, briefing],
            name="Camille Martin",
            language="fr",
            source=ConsentSource.FORM,
            ip="2001:db8::1",
            text_version="2026-11",
            detail="form: /fr",
        )
        assert request.subscriber_id is not None
        confirm_subscription(session, request.subscriber_id, [matinale.id, briefing.id])
        someone_else = request_subscription(  # who must not appear in Camille's data
            session,
            email="jean@example.org",
            newsletters=[matinale],
            source=ConsentSource.FORM,
            ip="198.51.100.2",
            text_version="2026-11",
        )
        assert someone_else.subscriber_id is not None
        confirm_subscription(session, someone_else.subscriber_id, [matinale.id])
        digest = digests.create(session, matinale, subject="S", html="", text="", article_ids=[])
        assert digests.add_deliveries(session, digest) == 2
        unsubscribe(session, request.subscriber_id, briefing.id)
        digest_id = digest.id

    with sessions.begin() as session:
        data = export_data(session, "CAMILLE@example.org")
    json.dumps(data)  # ready to be written as JSON
    assert data["subscriber"]["name"] == "Camille Martin"
    assert data["subscriber"]["language"] == "fr"
    assert {(s["newsletter"], s["status"]) for s in data["subscriptions"]} == {
        ("la-matinale", "confirmed"),
        ("morning-briefing", "unsubscribed"),
    }
    assert [(c["newsletter"], c["ip"], c["detail"]) for c in data["consents"]] == [
        ("la-matinale", "2001:db8::1", "form: /fr"),
        ("morning-briefing", "2001:db8::1", "form: /fr"),
    ]
    assert all(c["confirmed_at"] and c["text_version"] == "2026-11" for c in data["consents"])
    assert [(d["digest_id"], d["newsletter"], d["status"]) for d in data["deliveries"]] == [
        (digest_id, "la-matinale", "pending")
    ]
    assert [(s["newsletter"], s["reason"]) for s in data["suppressions"]] == [
        ("morning-briefing", "unsubscribed")
    ]
    assert "jean@example.org" not in json.dumps(data)
    assert "198.51.100.2" not in json.dumps(data)

    with sessions.begin() as session:
        assert forget(session, "camille@example.org")
        assert not forget(session, "camille@example.org")  # again: nothing left to erase
    with sessions.begin() as session:
        after = export_data(session, "camille@example.org")
        assert after["subscriber"] is None
        assert after["subscriptions"] == after["consents"] == after["deliveries"] == []
        assert {(s["newsletter"], s["reason"]) for s in after["suppressions"]} == {
            ("morning-briefing", "unsubscribed"),
            (None, "erased"),
        }
        stored = json.dumps(
            [
                list(row)
                for row in session.execute(select(Suppression.email_hash, Suppression.reason))
            ]
        )
        assert "camille" not in stored
        assert address_hash("camille@example.org") in stored
        # Jean's rows are untouched; Camille's are gone
        assert session.scalar(select(func.count()).select_from(Subscription)) == 1
        assert session.scalar(select(func.count()).select_from(Consent)) == 1
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_export_data_of_an_unknown_address_holds_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        data = export_data(session, "nobody@example.org")
    assert data == {
        "email": "nobody@example.org",
        "subscriber": None,
        "subscriptions": [],
        "consents": [],
        "deliveries": [],
        "suppressions": [],
    }
