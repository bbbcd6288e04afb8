"""Delivery: email backends and the batch sender that uses them."""

from worker.delivery._backends import (
    ConnectionFailedError,
    ConsoleBackend,
    DeliveryError,
    EmailBackend,
    FileBackend,
    PermanentDeliveryError,
    RejectedMessageError,
    SmtpBackend,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from worker.delivery._dkim import DkimSigner
from worker.delivery._journal import RunRevoked, halt, unhalt
from worker.delivery._message import DigestMessage, Outgoing, build_message, sign
from worker.delivery._rate import RateLimiter, throttle
from worker.delivery._recovery import settle_dead_runs
from worker.delivery._send import (
    BatchOutcome,
    NewsletterNotConfigured,
    SuppressedAddress,
    address,
    backend_for,
    digest_message,
    send_batch,
    send_test,
    signer_for,
)

__all__ = [
    "BatchOutcome",
    "ConnectionFailedError",
    "ConsoleBackend",
    "DeliveryError",
    "DigestMessage",
    "DkimSigner",
    "EmailBackend",
    "FileBackend",
    "NewsletterNotConfigured",
    "Outgoing",
    "PermanentDeliveryError",
    "RateLimiter",
    "RejectedMessageError",
    "RunRevoked",
    "SmtpBackend",
    "SuppressedAddress",
    "TemporaryDeliveryError",
    "UncertainDeliveryError",
    "address",
    "backend_for",
    "build_message",
    "digest_message",
    "halt",
    "send_batch",
    "send_test",
    "settle_dead_runs",
    "sign",
    "signer_for",
    "throttle",
    "unhalt",
]
