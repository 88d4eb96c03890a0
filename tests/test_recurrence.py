"""When a series' sessions fall, computed in its own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import islice

from bot.recurrence import Recurrence, Series, describe, local_time


def starts(series: Series, count: int) -> list[str]:
    return [f"{s:%Y-%m-%d %H:%M}" for s in islice(series.starts(), count)]


def test_weekly_keeps_local_time_across_daylight_saving() -> None:
    series = Series(date(2027, 10, 26), time(18, 0), "Europe/London", Recurrence.WEEKLY)
    # UTC moves by an hour when the clocks go back; London's 18:00 does not.
    assert starts(series, 2) == ["2027-10-26 17:00", "2027-11-02 18:00"]
    assert {f"{local_time(s, 'Europe/London'):%H:%M}" for s in islice(series.starts(), 60)} == {
        "18:00"
    }


def test_fortnightly_until_a_last_day_inclusive() -> None:
    series = Series(
        date(2026, 12, 1), time(9, 30), "UTC", Recurrence.FORTNIGHTLY, until=date(2026, 12, 29)
    )
    assert starts(series, 10) == ["2026-12-01 09:30", "2026-12-15 09:30", "2026-12-29 09:30"]


def test_monthly_on_the_same_weekday_and_the_fifth_becomes_the_last() -> None:
    second_tuesday = Series(date(2026, 12, 8), time(12, 0), "UTC", Recurrence.MONTHLY)
    assert starts(second_tuesday, 3) == ["2026-12-08 12:00", "2027-01-12 12:00", "2027-02-09 12:00"]
    fifth_tuesday = Series(date(2026, 12, 29), time(12, 0), "UTC", Recurrence.MONTHLY)
    assert starts(fifth_tuesday, 3) == ["2026-12-29 12:00", "2027-01-26 12:00", "2027-02-23 12:00"]
    assert describe(fifth_tuesday) == "Monthly on the last Tuesday"


def test_a_time_the_clocks_skip_is_read_with_the_offset_before_the_change() -> None:
    series = Series(date(2027, 3, 28), time(1, 30), "Europe/London", Recurrence.NONE)
    [only] = series.starts()
    assert only == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 02:30 summer time


def test_starts_after_a_moment() -> None:
    series = Series(date(2026, 12, 1), time(18, 0), "Asia/Kolkata", Recurrence.WEEKLY)
    after = datetime(2026, 12, 8, 12, 30, tzinfo=UTC)  # exactly 18:00 in Kolkata
    assert [f"{s:%m-%d %H:%M}" for s in series.starts_after(after, 2)] == [
        "12-15 12:30",
        "12-22 12:30",
    ]
    assert describe(series) == "Weekly on Tuesdays"
