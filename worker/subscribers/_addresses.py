"""Email addresses as stored: validated by email-validator and normalized once."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    """An address that cannot receive mail; the message says why."""


def normalize_address(address: str, *, check_deliverability: bool = False) -> str:
    """The canonical form used as the unique key: normalized domain, lower-cased whole.

    Lower-casing the local part is technically lossy, but every major provider treats it
    case-insensitively and it is what makes ``Jean@Example.org`` one subscriber, not two.
    """
    try:
        result = validate_email(address.strip(), check_deliverability=check_deliverability)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from exc
    return result.normalized.lower()
