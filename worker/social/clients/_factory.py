"""Which publisher an account gets: one setting, publisher = "live" or "dry-run", swaps the
real client for the file that shows what would have gone out."""

from __future__ import annotations

from worker.settings import Settings
from worker.social.clients._base import Publisher, account_config
from worker.social.clients.dry_run import DryRunPublisher
from worker.social.clients.facebook import FacebookPublisher
from worker.social.clients.linkedin import LinkedInPublisher
from worker.social.clients.twitter import TwitterPublisher

LIVE: dict[str, type[TwitterPublisher | FacebookPublisher | LinkedInPublisher]] = {
    "twitter": TwitterPublisher,
    "facebook": FacebookPublisher,
    "linkedin": LinkedInPublisher,
}


def publisher_for(settings: Settings, account: str) -> Publisher:
    """A publisher for one account, to close after use; KeyError for an unknown account."""
    config = account_config(settings, account)
    if config.publisher == "dry-run":
        return DryRunPublisher(settings, account)
    return LIVE[config.platform](settings, account)
