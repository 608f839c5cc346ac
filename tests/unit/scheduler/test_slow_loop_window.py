"""The slow-loop window in site time: daily openings, midnight, the two DST days, parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from controller.slow_loop_window import SlowLoopWindow, WindowError


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_window_is_in_site_time_not_utc() -> None:
    """02:00-04:00 Europe/Berlin in winter is 01:00-03:00 UTC."""
    window = SlowLoopWindow.parse("02:00-04:00", "Europe/Berlin")
    assert not window.contains(at("2026-01-15T00:59:59+00:00"))
    assert window.occurrence(at("2026-01-15T01:00:00+00:00")) == date(2026, 1, 15)
    assert window.contains(at("2026-01-15T02:59:59+00:00"))
    assert not window.contains(at("2026-01-15T03:00:00+00:00"))


def test_spring_forward_day_window_starts_when_the_clock_jumps() -> None:
    """On 2026-03-29 Berlin skips 02:00-03:00: the window is 03:00-04:00 CEST, 01:00-02:00 UTC."""
    window = SlowLoopWindow.parse("02:00-04:00", "Europe/Berlin")
    assert not window.contains(at("2026-03-29T00:59:59+00:00"))  # 01:59:59 CET
    assert window.contains(at("2026-03-29T01:00:00+00:00"))  # 03:00 CEST
    assert not window.contains(at("2026-03-29T02:00:00+00:00"))  # 04:00 CEST
    assert window.next_opening(at("2026-03-28T12:00:00+00:00")) == at("2026-03-29T01:00:00+00:00")


def test_fall_back_day_window_is_one_opening_of_three_hours() -> None:
    """On 2026-10-25 Berlin repeats 02:00-03:00: 00:00-03:00 UTC is inside, all one opening."""
    window = SlowLoopWindow.parse("02:00-04:00", "Europe/Berlin")
    openings = {window.occurrence(at(f"2026-10-25T0{h}:30:00+00:00")) for h in range(3)}
    assert openings == {date(2026, 10, 25)}
    assert not window.contains(at("2026-10-25T03:00:00+00:00"))


def test_window_across_midnight_belongs_to_the_day_it_opens() -> None:
    """23:00-01:00 UTC: 00:30 on the 2nd is the opening of the 1st."""
    window = SlowLoopWindow.parse("23:00-01:00")
    assert window.occurrence(at("2026-01-01T23:30:00+00:00")) == date(2026, 1, 1)
    assert window.occurrence(at("2026-01-02T00:30:00+00:00")) == date(2026, 1, 1)
    assert window.occurrence(at("2026-01-02T01:00:00+00:00")) is None


def test_next_opening_is_now_inside_the_window_and_tomorrow_after_it() -> None:
    window = SlowLoopWindow.parse("02:00-04:00")
    inside = at("2026-01-01T03:00:00+00:00")
    assert window.next_opening(inside) == inside
    assert datetime.fromtimestamp(window.next_opening(at("2026-01-01T05:00:00+00:00")), UTC) == datetime(
        2026, 1, 2, 2, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "zone", "needle"),
    [
        ("2-4", "UTC", "HH:MM"),
        ("25:00-04:00", "UTC", "clock"),
        ("02:00-02:00", "UTC", "empty"),
        ("02:00-04:00", "Mars/Olympus", "Mars"),
    ],
)
def test_bad_windows_are_refused_naming_the_input(text: str, zone: str, needle: str) -> None:
    with pytest.raises(WindowError, match=needle):
        SlowLoopWindow.parse(text, zone)
