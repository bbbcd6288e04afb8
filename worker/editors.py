"""Editors' credentials: argon2id password hashes and random API tokens kept as SHA-256.

A token is 32 random bytes, shown once when made; only its hash is stored, so a copy of
the database lets nobody in. SHA-256 suits tokens (they are random, unlike passwords), and
lets a request find its token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# makes a leaked token easy to recognize (and to scan for); not a secret
TOKEN_PREFIX = "nrt_"  # noqa: S105
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_nobodys_password(password: str) -> bool:
    """Spend the time a real check takes, for an unknown login: timing tells nothing."""
    check_password(_nobody(), password)
    return False


@cache
def _nobody() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def new_api_token() -> tuple[str, str]:
    """A new token and the hash to store."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
