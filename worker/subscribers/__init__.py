"""Subscribers: addresses, their consent and the links that let them leave."""

from worker.subscribers._addresses import InvalidAddress, normalize_address
from worker.subscribers._tokens import InvalidToken, read_unsubscribe_token, unsubscribe_token

__all__ = [
    "InvalidAddress",
    "InvalidToken",
    "normalize_address",
    "read_unsubscribe_token",
    "unsubscribe_token",
]
