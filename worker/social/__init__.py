"""Social posts: each published article becomes a post per configured account, composed to
the platform's rules, placed in a time slot, and published once by a worker.

Composition is pure (``Composer``); timing is pure (``next_free_time``); the Redis sorted
set is the timer (``schedule``, ``take_due``); the database is the judge of what was
published (``publish_post`` and the conditional updates of ``worker.store.social``).
"""

from worker.social._compose import (
    LIMITS,
    Composer,
    Draft,
    TextTooLong,
    edited_text,
    readable_text,
    x_weighted_length,
)
from worker.social._costs import x_post_cost
from worker.social._editor import (
    PostChangeRefused,
    cancel,
    edit,
    publish_now,
    reschedule,
)
from worker.social._plan import (
    LOOKBACK,
    default_composer,
    draft_and_time,
    plan_posts,
    replan_held,
    speaks,
)
from worker.social._publish import SweepReport, dispatch_due, publish_post, sweep
from worker.social._report import account_rows, add_day_totals, draft_row, post_row
from worker.social._schedule import schedule, take_due, unschedule
from worker.social._share import ShareLink, share_links
from worker.social._slots import NoFreeSlot, account_timezone, next_free_time

__all__ = [
    "LIMITS",
    "LOOKBACK",
    "Composer",
    "Draft",
    "NoFreeSlot",
    "PostChangeRefused",
    "ShareLink",
    "SweepReport",
    "TextTooLong",
    "account_rows",
    "account_timezone",
    "add_day_totals",
    "cancel",
    "default_composer",
    "dispatch_due",
    "draft_and_time",
    "draft_row",
    "edit",
    "edited_text",
    "next_free_time",
    "plan_posts",
    "post_row",
    "publish_now",
    "publish_post",
    "readable_text",
    "replan_held",
    "reschedule",
    "schedule",
    "share_links",
    "speaks",
    "sweep",
    "take_due",
    "unschedule",
    "x_post_cost",
    "x_weighted_length",
]
