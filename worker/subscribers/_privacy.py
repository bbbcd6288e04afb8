"""Data protection: everything held on a person (access, GDPR art. 15) and its erasure
(art. 17). Erasure keeps one thing, the address's hash in the suppression list, which is
what lets an import or a form recognize the address and refuse it without storing it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from worker.store import (
    Consent,
    Delivery,
    Subscription,
    SuppressionReason,
    address_hash,
    subscribers,
)
from worker.subscribers._addresses import normalize_address


def export_data(session: Session, email: str) -> dict[str, Any]:
    """As JSON-ready values: the subscriber (None if unknown), their subscriptions,
    consents and deliveries, and the suppressions of the address."""
    address = normalize_address(email)
    subscriber = subscribers.get_by_email(session, address)
    suppressions = [
        {
            "newsletter": slug,
            "reason": suppression.reason.value,
            "created_at": _iso(suppression.created_at),
        }
        for suppression, slug in subscribers.suppressions_of(session, address_hash(address))
    ]
    if subscriber is None:
        return {
            "email": address,
            "subscriber": None,
            "subscriptions": [],
            "consents": [],
            "deliveries": [],
            "suppressions": suppressions,
        }
    return {
        "email": address,
        "subscriber": {
            "id": subscriber.id,
            "email": subscriber.email,
            "name": subscriber.name,
            "language": subscriber.language,
            "created_at": _iso(subscriber.created_at),
        },
        "subscriptions": [
            {
                "newsletter": slug,
                "status": subscription.status.value,
                "created_at": _iso(subscription.created_at),
                "updated_at": _iso(subscription.updated_at),
            }
            for subscription, slug in subscribers.with_slugs(session, Subscription, subscriber.id)
        ],
        "consents": [
            {
                "newsletter": slug,
                "source": consent.source.value,
                "detail": consent.detail,
                "ip": consent.ip,
                "text_version": consent.text_version,
                "created_at": _iso(consent.created_at),
                "confirmed_at": _iso(consent.confirmed_at),
            }
            for consent, slug in subscribers.with_slugs(session, Consent, subscriber.id)
        ],
        "deliveries": [
            {
                "digest_id": delivery.digest_id,
                "newsletter": slug,
                "status": delivery.status.value,
                "attempts": delivery.attempts,
                "error": delivery.error,
                "sent_at": _iso(delivery.sent_at),
            }
            for delivery, slug in subscribers.with_slugs(session, Delivery, subscriber.id)
        ],
        "suppressions": suppressions,
    }


def forget(session: Session, email: str) -> bool:
    """Erase the person: their subscriber row goes, and with it (by cascade) their
    subscriptions, consent records and deliveries; the address's hash stays on the
    suppression list for every newsletter. True if there was a subscriber to erase; the
    hash is recorded either way, so an address erased before it was ever imported is
    refused too."""
    address = normalize_address(email)
    subscriber = subscribers.get_by_email(session, address)
    if subscriber is not None:
        subscribers.erase(session, subscriber.id)
    subscribers.suppress(session, address_hash(address), SuppressionReason.ERASED, None)
    return subscriber is not None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
