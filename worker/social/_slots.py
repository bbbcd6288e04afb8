"""When a post goes out: the account's next free time, by its slots, spacing, cap and blackouts.

Times are planned in the account's own time zone and stored in UTC, so "08:00 Europe/Paris"
is 07:00 UTC in winter and 06:00 UTC in summer. A slot that does not exist on the day clocks
go forward (02:30 in Paris) falls an hour later, as local clocks show it; a slot that exists
twice on the day they go back takes its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from worker.settings import WEEKDAYS, SocialAccountConfig

# Planning further ahead than this means the account's rules leave no room: say so.
HORIZON = timedelta(days=366)


class NoFreeSlot(LookupError):
    """The account's slots, cap and blackouts leave no time within the planning horizon."""


def account_timezone(config: SocialAccountConfig) -> ZoneInfo:
    return ZoneInfo(config.slots.timezone if config.slots else "UTC")


def next_free_time(
    config: SocialAccountConfig, taken: Sequence[datetime], now: datetime
) -> datetime:
    """The earliest time at or after ``now`` that the account's rules allow for one more
    post, given the times of the posts it already has (planned or published)."""
    tz = account_timezone(config)
    if config.post_at == "slot":
        for slot in _slot_times(config, now, tz):
            if slot - now > HORIZON:
                break
            if _first_allowed(config, taken, slot, tz) == slot:
                return slot.astimezone(UTC)
    else:
        at = now
        while at - now <= HORIZON:
            moved = _first_allowed(config, taken, at, tz)
            if moved == at:
                return at.astimezone(UTC)
            at = moved
    raise NoFreeSlot(f"no free time within {HORIZON.days} days: check slots, cap and blackouts")


def _slot_times(config: SocialAccountConfig, now: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    assert config.slots is not None
    days = {WEEKDAYS.index(day) for day in config.slots.days}
    times = [time.fromisoformat(value) for value in config.slots.times]
    day = now.astimezone(tz).date()
    while True:
        if day.weekday() in days:
            # sorted as instants: on the night clocks go forward, 02:30 becomes 03:30
            for slot in sorted(_local(day, at, tz) for at in times):
                if slot >= now:
                    yield slot
        day += timedelta(days=1)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant a local clock shows ``at`` on ``day`` (see the module docstring for DST)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _first_allowed(
    config: SocialAccountConfig, taken: Sequence[datetime], at: datetime, tz: ZoneInfo
) -> datetime:
    """``at`` if the rules allow a post then, else the earliest later instant worth trying."""
    for window in config.blackouts:
        start, end = (_aware(value, tz) for value in (window.start, window.end))
        if start <= at < end:
            return end
    spacing = timedelta(minutes=config.min_spacing_minutes)
    if config.post_at == "slot":
        spacing = max(spacing, timedelta(minutes=1))  # a slot is never given twice
    for other in taken:
        if abs(other - at) < spacing:
            return other + spacing
    if config.daily_cap is not None:
        day = at.astimezone(tz).date()
        if sum(other.astimezone(tz).date() == day for other in taken) >= config.daily_cap:
            return _local(day + timedelta(days=1), time(0), tz)
    return at


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)
