from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from worker.settings import SocialAccountConfig
from worker.social import NoFreeSlot, next_free_time

PARIS = ZoneInfo("Europe/Paris")


def account(**overrides: Any) -> SocialAccountConfig:
    values: dict[str, Any] = {
        "platform": "twitter",
        "post_at": "slot",
        "slots": {
            "times": ["08:00", "12:30", "18:00"],
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "timezone": "Europe/Paris",
        },
    }
    return SocialAccountConfig.model_validate({**values, **overrides})


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def test_next_slot_of_the_day_in_the_accounts_time_zone() -> None:
    # Wednesday 25 November 2026, 10:00 in Paris (09:00 UTC): the 12:30 slot is next
    at = next_free_time(account(), [], paris(2026, 11, 25, 10, 0))
    assert at == paris(2026, 11, 25, 12, 30)
    assert at.tzinfo is UTC
    assert at == datetime(2026, 11, 25, 11, 30, tzinfo=UTC)


def test_a_slot_at_the_very_minute_is_taken() -> None:
    assert next_free_time(account(), [], paris(2026, 11, 25, 12, 30)) == paris(2026, 11, 25, 12, 30)


def test_taken_slots_are_skipped_and_weekends_too() -> None:
    taken = [paris(2026, 11, 27, 18, 0)]  # Friday evening is taken
    at = next_free_time(account(), taken, paris(2026, 11, 27, 17, 0))
    assert at == paris(2026, 11, 30, 8, 0)  # Monday morning


def test_minimum_spacing_skips_slots_too_close_to_another_post() -> None:
    config = account(min_spacing_minutes=5 * 60)
    taken = [paris(2026, 11, 25, 9, 0)]  # a post made at 09:00
    # 12:30 is 3.5 h after it; 18:00 is the first slot 5 h away
    assert next_free_time(config, taken, paris(2026, 11, 25, 9, 5)) == paris(2026, 11, 25, 18, 0)


def test_daily_cap_counts_the_local_day() -> None:
    config = account(daily_cap=2)
    taken = [paris(2026, 11, 25, 8, 0), paris(2026, 11, 25, 12, 30)]
    assert next_free_time(config, taken, paris(2026, 11, 25, 9, 0)) == paris(2026, 11, 26, 8, 0)


def test_blackout_in_local_time_moves_posts_past_it() -> None:
    config = account(
        blackouts=[{"start": "2026-11-25T00:00:00", "end": "2026-11-26T12:00:00", "reason": "x"}]
    )
    assert next_free_time(config, [], paris(2026, 11, 25, 7, 0)) == paris(2026, 11, 26, 12, 30)


def test_posting_now_respects_spacing_cap_and_blackouts() -> None:
    config = account(post_at="now", slots=None, min_spacing_minutes=30, daily_cap=3)
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert next_free_time(config, [], now) == now
    assert next_free_time(config, [now - timedelta(minutes=10)], now) == now + timedelta(minutes=20)
    full_day = [now - timedelta(hours=h) for h in (1, 2, 3)]
    assert next_free_time(config, full_day, now) == datetime(2026, 11, 26, tzinfo=UTC)


def test_slots_keep_their_local_time_across_daylight_saving() -> None:
    config = account(slots={"times": ["08:00"], "timezone": "Europe/Paris"})
    # Saturday 28 March 2026 is CET (UTC+1); Sunday 29 March is CEST (UTC+2)
    saturday = next_free_time(config, [], paris(2026, 3, 28, 7, 0))
    sunday = next_free_time(config, [saturday], paris(2026, 3, 28, 9, 0))
    assert saturday == datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert sunday == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert sunday.astimezone(PARIS).hour == 8


def test_a_slot_that_does_not_exist_on_the_spring_forward_night_is_an_hour_later() -> None:
    config = account(slots={"times": ["02:30"], "timezone": "Europe/Paris"})
    at = next_free_time(config, [], paris(2026, 3, 29, 0, 0))
    assert at.astimezone(PARIS) == paris(2026, 3, 29, 3, 30)


def test_a_slot_that_exists_twice_on_the_fall_back_night_fires_once() -> None:
    config = account(slots={"times": ["02:30"], "timezone": "Europe/Paris"})
    first = next_free_time(config, [], paris(2026, 10, 25, 0, 0))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = next_free_time(config, [first], first)
    assert second == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)  # the next day, 02:30 CET


def test_no_room_at_all_is_an_error_not_a_hang() -> None:
    config = account(
        blackouts=[{"start": "2026-01-01T00:00:00", "end": "2030-01-01T00:00:00", "reason": "x"}]
    )
    with pytest.raises(NoFreeSlot, match="no free time within 366 days"):
        next_free_time(config, [], paris(2026, 11, 25, 7, 0))


def test_slots_stay_in_time_order_on_the_spring_forward_night() -> None:
    config = account(slots={"times": ["02:30", "03:00"], "timezone": "Europe/Paris"})
    # 02:30 does not exist that night and becomes 03:30: 03:00 comes first
    at = next_free_time(config, [], paris(2026, 3, 29, 0, 0))
    assert at.astimezone(PARIS) == paris(2026, 3, 29, 3, 0)
