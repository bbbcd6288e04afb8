"""The link to read a digest in a browser: signed for one subscriber and one edition, so
the page can show that reader's own greeting and unsubscribe link, and nobody else's."""

from __future__ import annotations

from functools import cache

from itsdangerous import BadSignature, Signer

from worker.subscribers import InvalidToken

VIEW = "view-in-browser"


def view_token(secret_key: str, subscriber_id: int, digest_id: int) -> str:
    """``<subscriber>-<digest>.<signature>``; subscriber 0 stands for an editor's test copy."""
    return _signer(secret_key).sign(f"{subscriber_id}-{digest_id}").decode()


def read_view_token(secret_key: str, token: str) -> tuple[int, int]:
    try:
        value = _signer(secret_key).unsign(token).decode()
        subscriber_id, digest_id = (int(part) for part in value.split("-"))
    except (BadSignature, ValueError, UnicodeError) as exc:
        raise InvalidToken("this link is not valid") from exc
    return subscriber_id, digest_id


def view_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url}/digests/view/{token}"


@cache
def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt=VIEW)
