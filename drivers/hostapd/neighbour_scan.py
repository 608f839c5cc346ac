"""When a beaconing AP may scan its own channel for neighbours, and what it last heard (pure; time is a parameter).

A passive AP scan takes the radio off beaconing for one dwell (about 110 ms on mac80211_hwsim), so it
is rate limited per radio: at most one attempt per ``interval_s`` (default 5 minutes; the
``scan_interval`` URL option), a refused or failed attempt counting like a good one, so a radio on a
DFS channel (the kernel answers EBUSY while radar detection holds it there) is not asked again at
every reading. What the last good scan heard is served until it is ``stale_after_s`` old (default two
intervals), then nothing: an old list would claim neighbours nobody heard lately. Each kind of
refusal is reported once (the first time, and again after a scan worked in between).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.protocol import NeighborObservation

DEFAULT_SCAN_INTERVAL_S = 300.0


@dataclass
class ScanSchedule:
    """One radio's neighbour scans: is one due, what the last good one heard."""

    interval_s: float = DEFAULT_SCAN_INTERVAL_S
    stale_after_s: float | None = None  # None: two intervals
    last_attempt: float | None = None
    last_success: float | None = None
    heard: tuple[NeighborObservation, ...] = ()
    _reported: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"scan interval {self.interval_s:g} s: must be more than 0 (or no scans at all)")

    def due(self, now: float) -> bool:
        """True when no attempt was made in the last ``interval_s`` (or ever)."""
        return self.last_attempt is None or now - self.last_attempt >= self.interval_s or now < self.last_attempt

    def succeeded(self, now: float, heard: tuple[NeighborObservation, ...]) -> None:
        self.last_attempt = self.last_success = now
        self.heard = heard
        self._reported.clear()

    def failed(self, now: float, kind: str) -> bool:
        """Record a refused or failed attempt; True when this kind was not reported since the last success."""
        self.last_attempt = now
        first = kind not in self._reported
        self._reported.add(kind)
        return first

    def current(self, now: float) -> tuple[NeighborObservation, ...]:
        """What the last good scan heard, or nothing once it is stale."""
        if self.last_success is None:
            return ()
        limit = self.stale_after_s if self.stale_after_s is not None else 2 * self.interval_s
        return self.heard if now - self.last_success <= limit else ()
