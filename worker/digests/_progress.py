"""Where a digest stands: counts by status, the current rate and the time left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from worker.store import DeliveryStatus, Digest, DigestStatus, digests

RATE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Progress:
    digest_id: int
    newsletter: str
    status: DigestStatus
    counts: dict[DeliveryStatus, int]
    rate_per_second: float
    created_at: datetime
    scheduled_at: datetime | None
    # what delayed it, oldest first: retries, lost workers, stalls (see DigestEvent)
    events: tuple[dict[str, str], ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Rows with a final outcome."""
        return (
            self.total - self.counts[DeliveryStatus.PENDING] - self.counts[DeliveryStatus.SENDING]
        )

    @property
    def eta_seconds(self) -> float | None:
        remaining = self.total - self.done
        if remaining == 0:
            return 0.0
        return remaining / self.rate_per_second if self.rate_per_second else None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.digest_id,
            "newsletter": self.newsletter,
            "status": self.status.value,
            "total": self.total,
            **{status.value: count for status, count in self.counts.items()},
            "rate_per_second": round(self.rate_per_second, 1),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds),
            "created_at": self.created_at.isoformat(),
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "events": list(self.events),
        }


def progress(session: Session, digest: Digest, *, now: datetime) -> Progress:
    """Rate over the last minute (or since the start, when more recent); once the digest
    finished, over its whole send, which a last minute of nothing would hide."""
    counts = digests.counts(session, digest.id)
    if digest.finished_at is not None and digest.started_at is not None:
        window = (digest.finished_at - digest.started_at).total_seconds()
        sent = counts[DeliveryStatus.SENT]
    else:
        since = max(now - RATE_WINDOW, digest.started_at or now)
        window = (now - since).total_seconds()
        sent = digests.sent_since(session, digest.id, since) if window > 0 else 0
    return Progress(
        digest_id=digest.id,
        newsletter=digest.newsletter.slug,
        status=digest.status,
        counts=counts,
        rate_per_second=sent / window if window > 0 else 0.0,
        created_at=digest.created_at,
        scheduled_at=digest.scheduled_at,
        events=tuple(event.as_dict() for event in digests.events(session, digest.id)),
    )
