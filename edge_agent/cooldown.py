"""Per-radio cooldown between local actions (seed 003: 10 s), which radar may override."""

from __future__ import annotations


class RadioCooldowns:
    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._last: dict[str, float] = {}

    def ready(self, radio_id: str, now: float, *, override: bool = False) -> bool:
        """Whether the radio may be changed now; ``override`` (radar) ignores the cooldown."""
        return override or now - self._last.get(radio_id, float("-inf")) >= self.cooldown_s

    def remaining(self, radio_id: str, now: float) -> float:
        return max(0.0, self._last.get(radio_id, float("-inf")) + self.cooldown_s - now)

    def acted(self, radio_id: str, now: float) -> None:
        self._last[radio_id] = now
