"""Signed links: they round-trip, and anything altered or foreign is refused."""

from __future__ import annotations

import pytest

from worker.subscribers import InvalidToken, read_unsubscribe_token, unsubscribe_token

KEY = "a-secret-key-long-enough-for-hmac-signing"


def test_round_trip_and_url_safety() -> None:
    token = unsubscribe_token(KEY, 12345, 7)
    assert read_unsubscribe_token(KEY, token) == (12345, 7)
    assert all(c.isalnum() or c in "-_." for c in token)


@pytest.mark.parametrize(
    "token",
    [
        unsubscribe_token(KEY, 12345, 7)[:-2] + "xx",  # tampered signature
        unsubscribe_token(KEY, 12345, 7).replace("12345", "12346", 1),  # tampered subscriber
        unsubscribe_token("another-key-another-key-another-key!!", 12345, 7),  # foreign key
        "12345-7",
        "",
        "not-a-token.at-all",
        "a-b." + unsubscribe_token(KEY, 1, 1).split(".")[1],
    ],
)
def test_altered_or_foreign_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        read_unsubscribe_token(KEY, token)
