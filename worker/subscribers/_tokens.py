"""Signed tokens for links in emails: no login, no guessable ids, one purpose each.

The salt names the action, so an unsubscribe token can never confirm a subscription.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE = "unsubscribe"


class InvalidToken(ValueError):
    """A token that was tampered with or made for another action."""


def unsubscribe_token(secret_key: str, subscriber_id: int, newsletter_id: int) -> str:
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE).dumps([subscriber_id, newsletter_id])


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, int]:
    try:
        subscriber_id, newsletter_id = URLSafeSerializer(secret_key, salt=UNSUBSCRIBE).loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("this link is not valid") from exc
    return int(subscriber_id), int(newsletter_id)
