"""Signed tokens for links in emails: no login, no guessable ids, one purpose each.

The salt names the action, so an unsubscribe token can never confirm a subscription and a
confirmation token never opens the preferences page. Confirmation and preferences links
also carry the time they were signed: they expire, while an unsubscribe link must keep
working in every digest ever sent.

    InvalidToken       tampered with, made with another key or for another action
     └── ExpiredToken  genuine, but older than its purpose allows: offer a new one
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from itsdangerous import BadData, BadSignature, Signer, URLSafeTimedSerializer

from worker.store import utcnow

UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
PREFERENCES = "preferences"
# Long enough for a reader back from a week away, short enough that an old email forwarded
# or leaked cannot confirm a subscription months later.
CONFIRM_MAX_AGE = timedelta(days=7)
PREFERENCES_MAX_AGE = timedelta(days=30)


class InvalidToken(ValueError):
    """A token that was tampered with or made for another action."""


class ExpiredToken(InvalidToken):
    """A genuine token past its maximum age."""


def unsubscribe_token(secret_key: str, subscriber_id: int, newsletter_id: int) -> str:
    """``<subscriber>-<newsletter>.<signature>``: URL-safe, and cheap enough to make one per
    message of a 100,000-recipient digest."""
    return _signer(secret_key, UNSUBSCRIBE).sign(f"{subscriber_id}-{newsletter_id}").decode()


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, int]:
    try:
        value = _signer(secret_key, UNSUBSCRIBE).unsign(token).decode()
        subscriber_id, newsletter_id = (int(part) for part in value.split("-"))
    except (BadSignature, ValueError, UnicodeError) as exc:
        raise InvalidToken("this link is not valid") from exc
    return subscriber_id, newsletter_id


def confirmation_token(secret_key: str, subscriber_id: int, newsletter_ids: list[int]) -> str:
    """The double opt-in link's token: who, and which subscriptions it confirms."""
    return _serializer(secret_key, CONFIRM).dumps([subscriber_id, sorted(set(newsletter_ids))])


def read_confirmation_token(
    secret_key: str, token: str, *, now: datetime | None = None
) -> tuple[int, list[int]]:
    """(subscriber id, newsletter ids); raises InvalidToken, or ExpiredToken after 7 days."""
    value = _load(secret_key, CONFIRM, token, CONFIRM_MAX_AGE, now)
    match value:
        case [int() as subscriber_id, [int(), *_] as newsletter_ids] if _ids(
            [subscriber_id, *newsletter_ids]
        ):
            return subscriber_id, newsletter_ids
    raise InvalidToken("this link is not valid")


def preferences_token(secret_key: str, subscriber_id: int) -> str:
    return _serializer(secret_key, PREFERENCES).dumps(subscriber_id)


def read_preferences_token(secret_key: str, token: str, *, now: datetime | None = None) -> int:
    """The subscriber id; raises InvalidToken, or ExpiredToken after 30 days."""
    match _load(secret_key, PREFERENCES, token, PREFERENCES_MAX_AGE, now):
        case int() as subscriber_id if _ids([subscriber_id]):
            return subscriber_id
    raise InvalidToken("this link is not valid")


def _load(
    secret_key: str, purpose: str, token: str, max_age: timedelta, now: datetime | None
) -> object:
    """The payload of a token signed for ``purpose``. The signature is checked before the
    age, so a forged token is refused as invalid, never reported as merely expired."""
    try:
        value, signed_at = _serializer(secret_key, purpose).loads(token, return_timestamp=True)
    except (BadData, ValueError, UnicodeError) as exc:
        raise InvalidToken("this link is not valid") from exc
    if (now or utcnow()) - signed_at > max_age:
        raise ExpiredToken("this link has expired")
    return value


def _ids(values: list[object]) -> bool:
    # bool is an int to Python, and JSON has no other way to smuggle one in
    return all(type(value) is int and value > 0 for value in values)


@cache
def _signer(secret_key: str, purpose: str) -> Signer:
    return Signer(secret_key, salt=purpose)


@cache
def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=purpose)
