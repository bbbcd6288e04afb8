"""Delivery: email backends and the batch sender that uses them."""

from worker.delivery._backends import (
    ConsoleBackend,
    DeliveryError,
    EmailBackend,
    FileBackend,
    PermanentDeliveryError,
    SmtpBackend,
    TemporaryDeliveryError,
)
from worker.delivery._message import build_message
from worker.delivery._send import BatchOutcome, backend_for, send_batch

__all__ = [
    "BatchOutcome",
    "ConsoleBackend",
    "DeliveryError",
    "EmailBackend",
    "FileBackend",
    "PermanentDeliveryError",
    "SmtpBackend",
    "TemporaryDeliveryError",
    "backend_for",
    "build_message",
    "send_batch",
]
