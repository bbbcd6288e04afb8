"""Delivery: email backends and the batch sender that uses them."""

from worker.delivery._backends import (
    ConnectionFailedError,
    ConsoleBackend,
    DeliveryError,
    EmailBackend,
    FileBackend,
    PermanentDeliveryError,
    SmtpBackend,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from worker.delivery._dkim import DkimKeyError, DkimSigner
from worker.delivery._message import Outgoing, build_message, finalize
from worker.delivery._rate import RateLimiter, throttle
from worker.delivery._send import BatchOutcome, backend_for, compose_message, send_batch, send_test

__all__ = [
    "BatchOutcome",
    "ConnectionFailedError",
    "ConsoleBackend",
    "DeliveryError",
    "DkimKeyError",
    "DkimSigner",
    "EmailBackend",
    "FileBackend",
    "Outgoing",
    "PermanentDeliveryError",
    "RateLimiter",
    "SmtpBackend",
    "TemporaryDeliveryError",
    "UncertainDeliveryError",
    "backend_for",
    "build_message",
    "compose_message",
    "finalize",
    "send_batch",
    "send_test",
    "throttle",
]
