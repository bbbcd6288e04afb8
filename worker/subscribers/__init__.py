"""Subscribers: addresses, their consent, the links that let them leave, the suppression
list, imports, and what the law lets each person see and erase.

The confirmation email is in worker.subscribers.confirmation, outside this front door: it
builds on worker.digests and worker.delivery, which import the tokens from here.
"""

from worker.subscribers._addresses import InvalidAddress, normalize_address
from worker.subscribers._flows import (
    InvalidField,
    SubscriptionRequest,
    clean_language,
    clean_name,
    confirm_subscription,
    is_suppressed,
    request_subscription,
    suppress,
    unsubscribe,
    update_preferences,
)
from worker.subscribers._import import (
    ImportOutcome,
    ParsedFile,
    Row,
    UnreadableFile,
    import_rows,
    parse_csv,
)
from worker.subscribers._lists import (
    EXPORT_COLUMNS,
    ImportReport,
    counts_per_newsletter,
    csv_text,
    subscription_rows,
)
from worker.subscribers._privacy import export_data, forget
from worker.subscribers._tokens import (
    CONFIRM_MAX_AGE,
    PREFERENCES_MAX_AGE,
    ExpiredToken,
    InvalidToken,
    confirmation_token,
    preferences_token,
    read_confirmation_token,
    read_preferences_token,
    read_unsubscribe_token,
    unsubscribe_token,
)

__all__ = [
    "CONFIRM_MAX_AGE",
    "EXPORT_COLUMNS",
    "PREFERENCES_MAX_AGE",
    "ExpiredToken",
    "ImportOutcome",
    "ImportReport",
    "InvalidAddress",
    "InvalidField",
    "InvalidToken",
    "ParsedFile",
    "Row",
    "SubscriptionRequest",
    "UnreadableFile",
    "clean_language",
    "clean_name",
    "confirm_subscription",
    "confirmation_token",
    "counts_per_newsletter",
    "csv_text",
    "export_data",
    "forget",
    "import_rows",
    "is_suppressed",
    "normalize_address",
    "parse_csv",
    "preferences_token",
    "read_confirmation_token",
    "read_preferences_token",
    "read_unsubscribe_token",
    "request_subscription",
    "subscription_rows",
    "suppress",
    "unsubscribe",
    "unsubscribe_token",
    "update_preferences",
]
