"""Signed links: they round-trip, and anything altered or foreign is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from worker.store import utcnow
from worker.subscribers import (
    ExpiredToken,
    InvalidToken,
    confirmation_token,
    preferences_token,
    read_confirmation_token,
    read_preferences_token,
    read_unsubscribe_token,
    unsubscribe_token,
)

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


def test_confirmation_and_preferences_tokens_round_trip() -> None:
    token = confirmation_token(KEY, 12345, [7, 3, 7])
    assert read_confirmation_token(KEY, token) == (12345, [3, 7])
    assert read_preferences_token(KEY, preferences_token(KEY, 12345)) == 12345
    assert all(c.isalnum() or c in "-_." for c in token)


def test_tokens_expire_after_their_purposes_age() -> None:
    confirm, preferences = confirmation_token(KEY, 1, [2]), preferences_token(KEY, 1)
    later = utcnow() + timedelta(days=6, hours=23)
    assert read_confirmation_token(KEY, confirm, now=later) == (1, [2])
    with pytest.raises(ExpiredToken):
        read_confirmation_token(KEY, confirm, now=utcnow() + timedelta(days=7, minutes=1))
    assert read_preferences_token(KEY, preferences, now=utcnow() + timedelta(days=29)) == 1
    with pytest.raises(ExpiredToken):
        read_preferences_token(KEY, preferences, now=utcnow() + timedelta(days=31))
    # a forged token is refused as invalid, never reported as merely expired
    with pytest.raises(InvalidToken) as refused:
        read_confirmation_token(KEY, confirm[:-3] + "abc", now=utcnow() + timedelta(days=99))
    assert not isinstance(refused.value, ExpiredToken)


def test_a_token_for_one_action_never_works_for_another() -> None:
    confirm = confirmation_token(KEY, 1, [2])
    preferences = preferences_token(KEY, 1)
    unsubscribe = unsubscribe_token(KEY, 1, 2)
    for token in (preferences, unsubscribe):
        with pytest.raises(InvalidToken):
            read_confirmation_token(KEY, token)
    for token in (confirm, unsubscribe):
        with pytest.raises(InvalidToken):
            read_preferences_token(KEY, token)
    for token in (confirm, preferences):
        with pytest.raises(InvalidToken):
            read_unsubscribe_token(KEY, token)


@pytest.mark.parametrize(
    "payload",
    [[True, [1]], [1, []], [1, [0]], [1, ["2"]], [-1, [2]], "1", [1, [2], 3], {"s": 1}],
)
def test_signed_but_malformed_payloads_are_refused(payload: object) -> None:
    """Only our key signs, but a payload is still checked, not trusted to have a shape."""
    token = URLSafeTimedSerializer(KEY, salt="confirm").dumps(payload)
    with pytest.raises(InvalidToken):
        read_confirmation_token(KEY, token)


@pytest.mark.parametrize(
    "token",
    [
        confirmation_token(KEY, 1, [2])[:-2] + "xx",
        confirmation_token("another-key-another-key-another-key!!", 1, [2]),
        confirmation_token(KEY, 1, [2]).replace("WzEsWzJdXQ", "WzEsWzNdXQ"),  # [1,[3]]
        "",
        "é",
        "a.b.c",
    ],
    # named, not shown: a token holds its time, and pytest-xdist's processes must agree
    ids=["tampered signature", "foreign key", "tampered payload", "empty", "not ASCII", "junk"],
)
def test_tampered_confirmation_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        read_confirmation_token(KEY, token)
