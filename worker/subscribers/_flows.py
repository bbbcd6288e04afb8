"""What a subscriber can do, and what the suppression list allows: plain functions on a
session, shared by the web endpoints, the CLI and the tasks. None of them commits.

Subscription statuses move like this:

    (none) ── request ──> pending ── confirm ──> confirmed
                            │  ^                    │
                unsubscribe │  └──── request ───────┤ unsubscribe / preferences
                            v                       v
                        unsubscribed <──────────────┘
                            └── preferences (signed link) ──> confirmed

    any ── hard bounce ──> bounced        any ── complaint ──> complained

Bounced and complained are never left by any of these flows, and neither is an address
suppressed for a bounce, a complaint or an erasure: only an unsubscription can be undone,
by the person, through their mailbox (a confirmation or a preferences link).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from sqlalchemy.orm import Session

from worker.store import (
    ConsentSource,
    Newsletter,
    SubscriptionStatus,
    SuppressionReason,
    address_hash,
    subscribers,
    utcnow,
)
from worker.subscribers._addresses import normalize_address

NAME_MAX = 300
LANGUAGE_MAX = 35
# Suppressions only the person can lift, and only by asking again: the others are final.
LIFTABLE = {SuppressionReason.UNSUBSCRIBED}
# Subscription statuses no flow of the person's own leaves.
FINAL = {SubscriptionStatus.BOUNCED, SubscriptionStatus.COMPLAINED}
RECEIVING = {SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED}


class InvalidField(ValueError):
    """A name or language that cannot be stored; the message says which and why."""


@dataclass(frozen=True)
class SubscriptionRequest:
    """What a request changed: the newsletters now awaiting confirmation (send the email
    for these). Whatever the address's state, the caller answers the same way."""

    subscriber_id: int | None
    newsletter_ids: list[int] = field(default_factory=list)


def clean_name(value: str) -> str:
    """A name as stored: one line, no control or format characters, at most 300 characters.
    Line breaks become spaces, so a name never starts a header or a new CSV row."""
    flat = value
    if not value.isprintable():  # the rare name with a control, format or odd space
        flat = "".join(
            " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char
            for char in value
            if unicodedata.category(char) not in ("Cf", "Cs") or char == "\u200d"  # ZWJ: emoji
        )
    name = " ".join(flat.split())
    if len(name) > NAME_MAX:
        raise InvalidField(f"name: longer than {NAME_MAX} characters")
    return name


@lru_cache(maxsize=256)  # an import repeats a handful of tags 100,000 times
def clean_language(value: str) -> str:
    """A language tag Babel knows ("fr", "en-GB", "fr_FR"), stored as "fr" or "en_GB"; empty
    means none."""
    tag = value.strip()
    if not tag:
        return ""
    if len(tag) > LANGUAGE_MAX:
        raise InvalidField(f"language: longer than {LANGUAGE_MAX} characters")
    try:
        return str(Locale.parse(tag.replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        raise InvalidField(f"language: {tag!r} is not a known language") from None


def request_subscription(
    session: Session,
    *,
    email: str,
    newsletters: list[Newsletter],
    name: str = "",
    language: str = "",
    source: ConsentSource,
    ip: str | None,
    text_version: str,
    detail: str = "",
) -> SubscriptionRequest:
    """Someone asked (a form, the API) for ``newsletters`` at ``email``: double opt-in.

    New, pending and unsubscribed subscriptions become pending with a new consent record
    (asking again is how a person who left comes back); confirmed ones stay as they are;
    bounced, complained and suppressed-for-good addresses are left alone, and an erased
    one is not even stored again. Name and language are taken only for a new subscriber:
    an unauthenticated request never rewrites a known person's details.

    Raises InvalidAddress or InvalidField for input that is wrong whoever sends it.
    """
    address = normalize_address(email)
    name, language = clean_name(name), clean_language(language)
    email_hash = address_hash(address)
    wanted = [n for n in newsletters if not suppressed_for_good(session, email_hash, n.id)]
    subscriber = subscribers.get_by_email(session, address)
    if not wanted:
        return SubscriptionRequest(subscriber.id if subscriber else None)
    if subscriber is None:
        subscriber = subscribers.get_or_create(session, address, name=name, language=language)
    current = subscribers.subscriptions_of(session, subscriber.id)
    waiting = []
    for newsletter in wanted:
        existing = current.get(newsletter.id)
        if existing is None:
            subscribers.add_subscription(
                session, subscriber.id, newsletter.id, SubscriptionStatus.PENDING
            )
        elif existing.status in (SubscriptionStatus.PENDING, SubscriptionStatus.UNSUBSCRIBED):
            existing.status = SubscriptionStatus.PENDING
        else:
            continue  # confirmed: nothing to do; bounced or complained: never revived
        subscribers.add_consent(
            session,
            subscriber.id,
            newsletter.id,
            source=source,
            detail=detail[:300],
            ip=_ip(ip),
            text_version=text_version,
        )
        waiting.append(newsletter.id)
    session.flush()
    return SubscriptionRequest(subscriber.id, waiting)


def confirm_subscription(
    session: Session, subscriber_id: int, newsletter_ids: Iterable[int]
) -> list[int]:
    """The person followed their confirmation link: pending becomes confirmed, and their
    consent records say when. Returns the newsletters among ``newsletter_ids`` they are
    now confirmed for, the same on a second click."""
    subscriber = subscribers.get(session, subscriber_id)
    if subscriber is None:
        return []
    current = subscribers.subscriptions_of(session, subscriber_id)
    newly = []
    for newsletter_id in sorted(set(newsletter_ids)):
        existing = current.get(newsletter_id)
        if (
            existing is not None
            and existing.status is SubscriptionStatus.PENDING
            and not suppressed_for_good(session, subscriber.email_hash, newsletter_id)
        ):
            existing.status = SubscriptionStatus.CONFIRMED
            newly.append(newsletter_id)
    if newly:
        subscribers.confirm_consents(session, subscriber_id, newly, utcnow())
        subscribers.lift_unsubscribed(session, subscriber.email_hash, newly)
    session.flush()
    return [
        newsletter_id
        for newsletter_id in sorted(set(newsletter_ids))
        if newsletter_id in current
        and current[newsletter_id].status is SubscriptionStatus.CONFIRMED
    ]


def unsubscribe(session: Session, subscriber_id: int, newsletter_id: int | None) -> None:
    """Leave one newsletter, or all of them (None). The suppression row is what keeps an
    import or a test send from reaching the address again. Repeating it changes nothing."""
    subscriber = subscribers.get(session, subscriber_id)
    if subscriber is None:
        return
    for existing in subscribers.subscriptions_of(session, subscriber_id).values():
        if newsletter_id in (None, existing.newsletter_id) and existing.status in RECEIVING:
            existing.status = SubscriptionStatus.UNSUBSCRIBED
    subscribers.suppress(
        session, subscriber.email_hash, SuppressionReason.UNSUBSCRIBED, newsletter_id
    )
    session.flush()


def update_preferences(
    session: Session,
    subscriber_id: int,
    newsletter_ids: set[int],
    language: str,
    *,
    ip: str | None = None,
    text_version: str = "",
) -> list[int]:
    """The preferences page (reached through a signed link, which proves the mailbox):
    confirmed for exactly the chosen newsletters, unsubscribed from the others, and the
    language saved. Choosing a newsletter records a confirmed consent; bounced, complained
    and suppressed-for-good subscriptions are left as they are. Returns the newsletters
    the person is now confirmed for."""
    subscriber = subscribers.get(session, subscriber_id)
    if subscriber is None:
        return []
    subscriber.language = clean_language(language)
    current = subscribers.subscriptions_of(session, subscriber_id)
    now = utcnow()
    chosen = {
        newsletter_id
        for newsletter_id in newsletter_ids
        if session.get(Newsletter, newsletter_id) is not None
        and not suppressed_for_good(session, subscriber.email_hash, newsletter_id)
    }
    kept = set()
    for newsletter_id in sorted(chosen):
        existing = current.get(newsletter_id)
        if existing is not None and existing.status in FINAL:
            continue
        kept.add(newsletter_id)
        if existing is not None and existing.status is SubscriptionStatus.CONFIRMED:
            continue
        if existing is not None and existing.status is SubscriptionStatus.PENDING:
            # its consent was recorded with the request; this link is its confirmation
            subscribers.confirm_consents(session, subscriber_id, [newsletter_id], now)
        else:
            subscribers.add_consent(
                session,
                subscriber_id,
                newsletter_id,
                source=ConsentSource.FORM,
                detail="preferences",
                ip=_ip(ip),
                text_version=text_version,
                confirmed_at=now,
            )
        if existing is None:
            current[newsletter_id] = subscribers.add_subscription(
                session, subscriber_id, newsletter_id, SubscriptionStatus.CONFIRMED
            )
        else:
            existing.status = SubscriptionStatus.CONFIRMED
    subscribers.lift_unsubscribed(session, subscriber.email_hash, kept)
    for newsletter_id, existing in current.items():
        if newsletter_id not in chosen and existing.status in RECEIVING:
            existing.status = SubscriptionStatus.UNSUBSCRIBED
            subscribers.suppress(
                session, subscriber.email_hash, SuppressionReason.UNSUBSCRIBED, newsletter_id
            )
    session.flush()
    return sorted(
        newsletter_id
        for newsletter_id, existing in current.items()
        if existing.status is SubscriptionStatus.CONFIRMED
    )


def suppress(
    session: Session, email_hash: str, reason: SuppressionReason, newsletter_id: int | None
) -> None:
    """Put an address on the suppression list (for one newsletter, or all with None), and
    bring its subscriptions in line: a complaint or bounce marks them, an unsubscription
    ends the ones still receiving."""
    subscribers.suppress(session, email_hash, reason, newsletter_id)
    status = {
        SuppressionReason.UNSUBSCRIBED: SubscriptionStatus.UNSUBSCRIBED,
        SuppressionReason.BOUNCED: SubscriptionStatus.BOUNCED,
        SuppressionReason.COMPLAINED: SubscriptionStatus.COMPLAINED,
    }.get(reason)
    subscriber = subscribers.get_by_hash(session, email_hash)
    if status is None or subscriber is None:
        return
    # bounced and complained replace anything but each other; unsubscribed only what receives
    replaced = (
        RECEIVING
        if status is SubscriptionStatus.UNSUBSCRIBED
        else RECEIVING | {SubscriptionStatus.UNSUBSCRIBED}
    )
    for existing in subscribers.subscriptions_of(session, subscriber.id).values():
        if newsletter_id in (None, existing.newsletter_id) and existing.status in replaced:
            existing.status = status
    session.flush()


def is_suppressed(session: Session, email: str, newsletter_id: int | None) -> bool:
    """Whether ``email`` may not receive ``newsletter_id`` (None: whether it may receive
    nothing at all). Raises InvalidAddress for what is not an address."""
    email_hash = address_hash(normalize_address(email))
    return bool(subscribers.suppression_reasons(session, email_hash, newsletter_id))


def suppressed_for_good(session: Session, email_hash: str, newsletter_id: int) -> bool:
    """Suppressed for a reason the person cannot lift by asking again."""
    return bool(subscribers.suppression_reasons(session, email_hash, newsletter_id) - LIFTABLE)


def _ip(value: str | None) -> str | None:
    """The client's address as the consent record keeps it, or None when what the caller
    had is not one (a proxy header can carry anything)."""
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
