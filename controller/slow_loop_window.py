"""When the slow loop may re-plan a site on its own: a daily window in the site's local time.

A window such as 02:00-04:00 Europe/Berlin opens every day at 02:00 on the site's wall clock,
whatever the UTC offset that day, and the slow loop runs once per opening (``occurrence``). A
window may cross midnight (23:00-01:00 belongs to the day it opens on). On the day clocks go
forward, wall-clock times that do not exist are never inside it (02:00-04:00 is then 03:00-04:00
CEST, one hour); on the day they go back, the hour that repeats is inside it twice, but it is
still one occurrence, so the loop still runs once. Time is a parameter (STYLE.md point 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class WindowError(ValueError):
    """A slow-loop window or time zone that cannot be used, naming what was given."""


def site_zone(name: str) -> tzinfo:
    """The time zone ``name`` (IANA, e.g. Europe/Berlin); UTC without needing the tz database."""
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)") from exc


@dataclass(frozen=True, slots=True)
class SlowLoopWindow:
    start: time
    end: time
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise WindowError(f"the slow-loop window {self.describe()} is empty (start equals end)")
        site_zone(self.timezone)

    @staticmethod
    def parse(text: str, timezone: str = "UTC") -> SlowLoopWindow:
        """``HH:MM-HH:MM`` in ``timezone``; WindowError naming ``text`` otherwise."""
        found = _WINDOW.match(text)
        if found is None:
            raise WindowError(f"slow-loop window {text!r} is not HH:MM-HH:MM (e.g. 02:00-04:00)")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise WindowError(f"slow-loop window {text!r} names a time that is not on a clock")
        return SlowLoopWindow(time(h1, m1), time(h2, m2), timezone)

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"

    @property
    def _crosses_midnight(self) -> bool:
        return self.end < self.start

    def local(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, site_zone(self.timezone))

    def occurrence(self, now: float) -> date | None:
        """The day of the opening ``now`` is in (the day the window opened), or None outside the window."""
        local = self.local(now)
        clock = local.time()
        if not self._crosses_midnight:
            return local.date() if self.start <= clock < self.end else None
        if clock >= self.start:
            return local.date()
        if clock < self.end:
            return local.date() - timedelta(days=1)
        return None

    def contains(self, now: float) -> bool:
        return self.occurrence(now) is not None

    def next_opening(self, now: float) -> float:
        """The first instant at or after ``now`` inside the window (now itself when inside)."""
        if self.contains(now):
            return now
        zone = site_zone(self.timezone)
        day = self.local(now).date()
        for offset in range(3):
            opening = self._opening(datetime.combine(day + timedelta(days=offset), self.start, zone))
            if opening >= now:
                return opening
        raise AssertionError("a daily window opens within three days")

    def _opening(self, wall: datetime) -> float:
        """When the site's clock shows ``wall``, or, on the day it skips that time, when it first shows a
        later one (the end of the gap)."""
        earliest = wall.replace(fold=1).timestamp()  # in a gap: ``wall`` at the offset after the change
        latest = wall.replace(fold=0).timestamp()  # in a gap: at the offset before it, past the gap
        if earliest >= latest or self.contains(earliest):
            return min(earliest, latest)
        while latest - earliest > 1.0:  # the gap's end, to the second
            middle = (earliest + latest) / 2.0
            if self.contains(middle):
                latest = middle
            else:
                earliest = middle
        return float(int(latest))
