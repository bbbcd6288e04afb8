"""The dry-run publisher: nothing leaves the machine, each post becomes a line of JSON.

It is what every account uses until it is switched to publisher = "live", so a demo, a
staging site or a new account shows exactly what would have been posted, and when. One
write per post in append mode keeps lines from several workers whole.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from worker.settings import Settings
from worker.social.clients._base import (
    OutgoingPost,
    Published,
    account_config,
    check_account,
)
from worker.store import utcnow

log = logging.getLogger(__name__)


def dry_run_file(settings: Settings) -> Path:
    return settings.data_dir / "social" / "dry-run.jsonl"


class DryRunPublisher:
    def __init__(self, settings: Settings, account: str) -> None:
        self.account = account
        self.platform = account_config(settings, account).platform
        self.path = dry_run_file(settings)

    def publish(self, post: OutgoingPost) -> Published:
        check_account(post, self.account)
        line = {
            "account": self.account,
            "platform": self.platform,
            "post_id": post.post_id,
            "text": post.text,
            "link": post.link,
            "title": post.title,
            "at": utcnow().isoformat(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        log.info(
            "dry run: post %s for %s (%s) written to %s",
            post.post_id,
            self.account,
            self.platform,
            self.path,
        )
        return Published(f"dry-run-{post.post_id}", "")

    def close(self) -> None:
        return None
