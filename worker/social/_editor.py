"""What an editor may do to a post, and from which statuses: the rules in one place, for the
CLI and the web app alike. Each change is made on the session and committed by the caller,
which then updates the Redis schedule (see ``worker.dispatch``)."""

from __future__ import annotations

from datetime import datetime

from worker.social._compose import edited_text
from worker.store import SocialAccountStatus, SocialPost, SocialPostStatus

_PLANNED, _QUEUED = SocialPostStatus.PLANNED, SocialPostStatus.QUEUED
_FAILED, _UNCONFIRMED = SocialPostStatus.FAILED, SocialPostStatus.UNCONFIRMED

# An unconfirmed post may have been posted: only an editor who checked may send it again.
ALLOWED: dict[str, tuple[SocialPostStatus, ...]] = {
    "edit": (_PLANNED, _FAILED, _UNCONFIRMED),
    "reschedule": (_PLANNED, _FAILED, _UNCONFIRMED),
    "cancel": (_PLANNED, _QUEUED, _FAILED, _UNCONFIRMED),
    "publish-now": (_PLANNED, _FAILED, _UNCONFIRMED),
}


class PostChangeRefused(ValueError):
    """The change does not apply to the post as it is; the message says why."""


def check_allowed(post: SocialPost, action: str) -> None:
    if post.status not in ALLOWED[action]:
        allowed = ", ".join(status.value for status in ALLOWED[action])
        raise PostChangeRefused(
            f"post {post.id} is {post.status.value}: {action} applies to {allowed} posts"
        )


def edit(post: SocialPost, text: str) -> int | None:
    """Replace the text (made ready for the platform, never silently shortened); returns the
    X weighted length, if X."""
    check_allowed(post, "edit")
    post.text, weighted = edited_text(post.account.platform, text)
    return weighted


def reschedule(post: SocialPost, at: datetime) -> None:
    """A new time, and a fresh start: an editor's decision resets the failed tries."""
    check_allowed(post, "reschedule")
    post.status, post.scheduled_at = _PLANNED, at
    post.error_kind, post.error, post.attempts = "", "", 0


def cancel(post: SocialPost) -> None:
    check_allowed(post, "cancel")
    post.status = SocialPostStatus.CANCELLED


def publish_now(post: SocialPost, now: datetime) -> None:
    check_allowed(post, "publish-now")
    if post.account.status is not SocialAccountStatus.ACTIVE:
        raise PostChangeRefused(
            f"account {post.account.name} is {post.account.status.value}: "
            "authorize it again first (newsroom social reactivate)"
        )
    post.status, post.scheduled_at = _QUEUED, now
    post.error_kind, post.error, post.attempts = "", "", 0
