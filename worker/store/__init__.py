"""Storage: the schema, sessions and one query module per model.

DAO functions take a session and never commit: the caller decides where a transaction ends.
"""

from worker.store import articles, digests, newsletters, social, subscribers
from worker.store._db import dispose_engines, get_engine, on_commit, session_factory, upgrade
from worker.store._models import (
    Article,
    ArticleEvent,
    Base,
    Consent,
    ConsentSource,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestStatus,
    Newsletter,
    SocialAccount,
    SocialAccountStatus,
    SocialPost,
    SocialPostStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    address_hash,
    utcnow,
)

__all__ = [
    "Article",
    "ArticleEvent",
    "Base",
    "Consent",
    "ConsentSource",
    "Delivery",
    "DeliveryStatus",
    "Digest",
    "DigestStatus",
    "Newsletter",
    "SocialAccount",
    "SocialAccountStatus",
    "SocialPost",
    "SocialPostStatus",
    "Subscriber",
    "Subscription",
    "SubscriptionStatus",
    "Suppression",
    "SuppressionReason",
    "address_hash",
    "articles",
    "digests",
    "dispose_engines",
    "get_engine",
    "newsletters",
    "on_commit",
    "session_factory",
    "social",
    "subscribers",
    "upgrade",
    "utcnow",
]
