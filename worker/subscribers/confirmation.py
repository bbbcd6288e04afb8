"""The double opt-in email: one message naming the newsletters awaiting confirmation, with
a signed link that expires (see _tokens), in the newsletter's language through the same
templates, catalogs and message builder as the digests.

The message carries the newsletter's List-Unsubscribe header like any digest, so someone
who never asked can leave with one click; the form sends one address at most three
requests a day (see worker.web._public), so it cannot be used to flood an inbox.

This module stands outside the package's front door (worker/subscribers/__init__.py):
it builds on worker.digests and worker.delivery, which themselves import the package's
tokens, so the package cannot import it without a cycle.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from worker.delivery import (
    ConnectionFailedError,
    EmailBackend,
    PermanentDeliveryError,
    RejectedMessageError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    address,
    digest_message,
    signer_for,
)
from worker.digests import RenderedDigest, render_email
from worker.settings import Settings
from worker.store import Newsletter, Subscriber, SubscriptionStatus, subscribers
from worker.subscribers._flows import suppressed_for_good
from worker.subscribers._tokens import CONFIRM_MAX_AGE, confirmation_token

log = logging.getLogger(__name__)


def confirm_url(settings: Settings, subscriber_id: int, newsletter_ids: list[int]) -> str:
    token = confirmation_token(settings.secret_key, subscriber_id, newsletter_ids)
    return f"{settings.public_base_url}/subscriptions/confirm?token={token}"


def render_confirmation(*, language: str, newsletter_titles: list[str], url: str) -> RenderedDigest:
    return render_email(
        "confirm",
        language,
        {
            "newsletter_titles": ", ".join(newsletter_titles),
            "confirm_url": url,
            "valid_days": CONFIRM_MAX_AGE.days,
        },
    )


def send_confirmation_batch(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: EmailBackend,
    subscriber_ids: list[int],
    newsletter_ids: list[int],
) -> tuple[int, list[int]]:
    """Send a batch's confirmations over one connection; returns how many were sent and
    the subscribers to try again later: those whose server said "later" and, when no
    connection can be made, everyone not reached yet. A message lost in flight or refused
    for its content is not retried (a second email would be no better)."""
    sent, deferred, reached = 0, [], 0
    try:
        with backend:
            for subscriber_id in subscriber_ids:
                try:
                    sent += bool(
                        send_confirmation_email(
                            sessions, settings, backend, subscriber_id, newsletter_ids
                        )
                    )
                except ConnectionFailedError:
                    raise
                except TemporaryDeliveryError:
                    deferred.append(subscriber_id)
                except (UncertainDeliveryError, RejectedMessageError) as exc:
                    log.warning("subscriber %s: confirmation not retried: %s", subscriber_id, exc)
                reached += 1
    except ConnectionFailedError as exc:
        log.warning("confirmations: %s; %s to try again", exc, len(subscriber_ids) - reached)
    return sent, deferred + subscriber_ids[reached:]


def send_confirmation_email(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: EmailBackend,
    subscriber_id: int,
    newsletter_ids: list[int],
) -> str | None:
    """Send the confirmation, over the caller's open ``backend`` (a batch shares one
    connection), for those of ``newsletter_ids`` still pending; returns the
    Message-ID, or None when there is nothing to confirm any more (confirmed, unsubscribed
    or erased meanwhile: a late or repeated task sends nothing). A hard bounce marks the
    subscriptions bounced and suppresses the address; a 4xx raises TemporaryDeliveryError
    for the task to retry."""
    with sessions.begin() as session:
        subscriber = subscribers.get(session, subscriber_id)
        if subscriber is None:
            return None
        waiting = _waiting(session, settings, subscriber, newsletter_ids)
        if not waiting:
            return None
        email, name = subscriber.email, subscriber.name
    first = waiting[0]
    ids = [newsletter.id for newsletter in waiting]
    rendered = render_confirmation(
        language=settings.file.newsletters[first.slug].language,
        newsletter_titles=[newsletter.title for newsletter in waiting],
        url=confirm_url(settings, subscriber_id, ids),
    )
    try:
        message = address(
            settings,
            digest_message(settings, first, rendered),
            email=email,
            name=name,
            subscriber_id=subscriber_id,
            newsletter_id=first.id,
            digest_id=0,
            signer=signer_for(settings),
        )
    except UnicodeError:
        log.warning("subscriber %s: a non-ASCII address needs SMTPUTF8", subscriber_id)
        return None
    try:
        backend.send(message)
    except PermanentDeliveryError as exc:
        log.warning("subscriber %s: confirmation bounced: %s", subscriber_id, exc)
        with sessions.begin() as session:
            for newsletter_id in ids:
                subscribers.mark_bounced(session, subscriber_id, newsletter_id)
        return None
    return message.message_id


def _waiting(
    session: Session, settings: Settings, subscriber: Subscriber, newsletter_ids: list[int]
) -> list[Newsletter]:
    """The configured newsletters among ``newsletter_ids`` whose subscription is pending and
    that the address may still be sent, by id."""
    current = subscribers.subscriptions_of(session, subscriber.id)
    return [
        current[newsletter_id].newsletter
        for newsletter_id in sorted(set(newsletter_ids))
        if newsletter_id in current
        and current[newsletter_id].status is SubscriptionStatus.PENDING
        and current[newsletter_id].newsletter.slug in settings.file.newsletters
        and not suppressed_for_good(session, subscriber.email_hash, newsletter_id)
    ]
