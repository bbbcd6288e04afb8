"""Platform clients: one per platform behind the same two-method Publisher, each raising
our own errors (see _base for the tree), plus the dry-run publisher."""

from worker.social.clients._base import (
    AuthExpired,
    DuplicatePost,
    NotSent,
    OutgoingPost,
    Published,
    Publisher,
    PublishError,
    RateLimited,
    Rejected,
    Unconfirmed,
)
from worker.social.clients._factory import publisher_for
from worker.social.clients.dry_run import DryRunPublisher, dry_run_file
from worker.social.clients.facebook import FacebookPublisher
from worker.social.clients.linkedin import LinkedInPublisher
from worker.social.clients.twitter import TwitterPublisher

__all__ = [
    "AuthExpired",
    "DryRunPublisher",
    "DuplicatePost",
    "FacebookPublisher",
    "LinkedInPublisher",
    "NotSent",
    "OutgoingPost",
    "PublishError",
    "Published",
    "Publisher",
    "RateLimited",
    "Rejected",
    "TwitterPublisher",
    "Unconfirmed",
    "dry_run_file",
    "publisher_for",
]
