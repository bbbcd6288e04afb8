"""Signed tokens for links in emails: no login, no guessable ids, one purpose each.

The salt names the action, so an unsubscribe token can never confirm a subscription.
"""

from __future__ import annotations

from functools import cache

from itsdangerous import BadSignature, Signer

UNSUBSCRIBE = "unsubscribe"


class InvalidToken(ValueError):
    """A token that was tampered with or made for another action."""


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


@cache
def _signer(secret_key: str, purpose: str) -> Signer:
    return Signer(secret_key, salt=purpose)
