"""Email addresses as stored: validated by email-validator and normalized once."""

from __future__ import annotations

from functools import cache

import dns.resolver
from email_validator import EmailNotValidError, caching_resolver, validate_email


class InvalidAddress(ValueError):
    """An address that cannot receive mail; the message says why."""


def normalize_address(address: str, *, check_deliverability: bool = False) -> str:
    """The canonical form used as the unique key: normalized domain, lower-cased whole.

    Lower-casing the local part is technically lossy, but every major provider treats it
    case-insensitively and it is what makes ``Jean@Example.org`` one subscriber, not two.
    """
    try:
        if check_deliverability:
            result = validate_email(address.strip(), dns_resolver=_resolver())
        else:
            result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from exc
    return result.normalized.lower()


@cache
def _resolver() -> dns.resolver.Resolver:
    """One DNS cache for a run: a list of 100,000 addresses shares a few thousand domains."""
    return caching_resolver(timeout=10)
