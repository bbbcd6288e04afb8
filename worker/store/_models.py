"""The database schema: SQLAlchemy 2 declarative models, migrated with Alembic.

Timestamps are stored in UTC and always come back timezone-aware, on SQLite as on
PostgreSQL, so no code path ever compares a naive datetime with an aware one.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and read back aware, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings (no native PostgreSQL enum) so adding a state is one migration line.
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[datetime | None]
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    section: Mapped[str] = mapped_column(String(200), default="")
    image_url: Mapped[str] = mapped_column(String(2048), default="")
    language: Mapped[str] = mapped_column(String(35), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_articles_published_at", "published_at"),)


class ArticleEvent(Base):
    """A transactional outbox row: written with the article, handled by a worker once.

    The unique (article, kind) pair is what makes re-importing an article unable to raise
    its ``article.published`` event a second time.
    """

    __tablename__ = "article_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]

    article: Mapped[Article] = relationship()

    __table_args__ = (UniqueConstraint("article_id", "kind"),)


class Newsletter(Base):
    """A newsletter's database identity; its settings live in config/ and are synced here."""

    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def address_hash(email: str) -> str:
    """SHA-256 of a normalized address: what the suppression list keeps, so an erased
    person's address is never stored again yet can still be recognized and refused."""
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalized (lower-cased domain and local part) so uniqueness is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # address_hash(email), indexed: the suppression list is matched on it. Filled in from
    # the email on every insert, ORM or Core (a bulk import), unless given.
    email_hash: Mapped[str] = mapped_column(
        String(64),
        index=True,
        default=lambda context: address_hash(context.get_current_parameters()["email"]),
    )
    name: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str] = mapped_column(String(35), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentSource(enum.StrEnum):
    FORM = "form"
    IMPORT = "import"
    API = "api"


class Consent(Base):
    """The record of one opt-in: when, how, from where, and to which wording."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    source: Mapped[ConsentSource] = mapped_column(_enum(ConsentSource))
    # free text naming the source more precisely ("import: crm-2026-11.csv", "form: /fr")
    detail: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str | None] = mapped_column(String(45))
    text_version: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    ERASED = "erased"


class Suppression(Base):
    """An address that must not be mailed (for one newsletter, or any when newsletter_id is
    NULL), kept as a hash: every send checks it, test sends included, and imports never
    bring the address back."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    newsletter_id: Mapped[int | None] = mapped_column(
        ForeignKey("newsletters.id", ondelete="CASCADE")
    )
    reason: Mapped[SuppressionReason] = mapped_column(_enum(SuppressionReason))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_suppressions_email_hash", "email_hash", "newsletter_id"),)


class SubscriptionStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        _enum(SubscriptionStatus), default=SubscriptionStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    subscriber: Mapped[Subscriber] = relationship()
    newsletter: Mapped[Newsletter] = relationship()

    __table_args__ = (
        UniqueConstraint("subscriber_id", "newsletter_id"),
        Index("ix_subscriptions_newsletter_status", "newsletter_id", "status", "subscriber_id"),
    )


class DigestStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    SENT = "sent"
    FAILED = "failed"
    # A scheduled slot that found no new article: recorded so the slot is not tried again.
    SKIPPED = "skipped"


class Digest(Base):
    """One edition of a newsletter: rendered once, then delivered to each subscriber."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id"))
    status: Mapped[DigestStatus] = mapped_column(_enum(DigestStatus), default=DigestStatus.QUEUED)
    subject: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    article_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scheduled_at: Mapped[datetime | None]
    # The cron occurrence a scheduled digest was made for: unique per newsletter, so two
    # beat instances (or a restarted one) never queue the same edition twice.
    schedule_slot: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    newsletter: Mapped[Newsletter] = relationship()

    __table_args__ = (UniqueConstraint("newsletter_id", "schedule_slot"),)


class DigestEvent(Base):
    """What happened to a digest on its way out that an operator should see in its status:
    a batch deferred by the mail server or the database and retried, a stalled digest
    dispatched again, rows a lost worker left behind and how they were settled."""

    __tablename__ = "digest_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    message: Mapped[str] = mapped_column(Text)

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "message": self.message}


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    # Claimed, then the worker died before the server's answer was recorded: it may or may
    # not have been delivered, and it is never sent again automatically.
    UNKNOWN = "unknown"
    # The subscriber left, bounced or complained after the digest was queued.
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Delivery(Base):
    """The ledger: one row per (digest, subscriber), claimed before the send."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    # The batch run holding the row while it is ``sending``; its journal in Redis says which
    # rows it attempted, so a crashed run is settled exactly (see delivery/_journal.py).
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("digest_id", "subscriber_id"),
        Index("ix_deliveries_digest_status", "digest_id", "status"),
        Index("ix_deliveries_status_claimed_at", "status", "claimed_at"),
        Index("ix_deliveries_claim_token", "claim_token"),
    )


class SocialAccountStatus(enum.StrEnum):
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    DISABLED = "disabled"


class SocialAccount(Base):
    """A social account's database identity; settings in config/, secrets in the environment."""

    __tablename__ = "social_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    status: Mapped[SocialAccountStatus] = mapped_column(
        _enum(SocialAccountStatus), default=SocialAccountStatus.ACTIVE
    )
    last_error: Mapped[str] = mapped_column(Text, default="")
    token_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SocialPostStatus(enum.StrEnum):
    """planned (waiting for its time, in the Redis schedule) -> queued (handed to a worker)
    -> publishing (claimed, the API call under way) -> published; or failed (refused: the
    error says why), unconfirmed (the platform may have posted it: never re-posted by
    itself), cancelled."""

    PLANNED = "planned"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    CANCELLED = "cancelled"


class SocialPost(Base):
    """One article on one account: the unique pair means one row, and the claim (queued ->
    publishing, see ``store.social.claim``) means one publish."""

    __tablename__ = "social_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    status: Mapped[SocialPostStatus] = mapped_column(
        _enum(SocialPostStatus), default=SocialPostStatus.PLANNED
    )
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(2048))
    scheduled_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # when a worker took it for publishing: a claim this old with no outcome was lost
    claimed_at: Mapped[datetime | None]
    # tries whose request never reached the platform (safe to repeat, up to a limit)
    attempts: Mapped[int] = mapped_column(default=0)
    platform_post_id: Mapped[str] = mapped_column(String(200), default="")
    permalink: Mapped[str] = mapped_column(String(2048), default="")
    # rate_limited, auth, duplicate, rejected, not_sent, unconfirmed (the publisher's kinds)
    error_kind: Mapped[str] = mapped_column(String(20), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[SocialAccount] = relationship()
    article: Mapped[Article] = relationship()

    __table_args__ = (
        UniqueConstraint("account_id", "article_id"),
        Index("ix_social_posts_status_scheduled", "status", "scheduled_at"),
    )


class Editor(Base):
    """Someone who may queue digests and change posts, through the web app or the API."""

    __tablename__ = "editors"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    # argon2id, never the password
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for scripts and the CMS: stored as its SHA-256, shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    editor: Mapped[Editor] = relationship()


class AuditEntry(Base):
    """Who changed what, and when: one row per mutation made through the web app or API."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # "editor:<email>", "token:<name> (<email>)" or "cms"
    actor: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
        }
