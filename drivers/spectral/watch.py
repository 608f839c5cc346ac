"""Watching a live stream of spectral samples for non-Wi-Fi interference (pure; time is a parameter).

``SpectralWatch`` keeps the samples that arrived in the last ``window_s`` (at most ``max_samples``,
the newest), classifies them every ``classify_every_s`` once ``min_samples`` are there (less often,
down to every ``max_classify_every_s``, while the verdict stays the same: a pass is not free on an
AP's CPU), and says when the verdict is worth a ``NON_WIFI_BURST`` event: a source not reported
before (kind and channel), one whose confidence rose by ``confidence_step`` since it was last
reported (a first report from few samples is weaker than the same source seen longer; the agent's
matrix acts from 0.8), or one still there ``repeat_s`` after its last report. A source gone from the verdict is
forgotten, so its return is reported again. ``non_wifi_duty`` is the radio's telemetry view: the
duty of the latest non-Wi-Fi verdict when its occupied band overlaps the radio's channel and samples
still come. ``window`` and ``judge`` split ``check`` so that a caller can classify in a worker thread.

Arrival time, not the samples' TSF, orders the window: the TSF restarts whenever the radio retunes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.protocol import DriverEvent
from drivers.spectral.interference import Classification, classify, non_wifi_event
from drivers.spectral.sample import SpectralSample


@dataclass(frozen=True, slots=True)
class WatchSettings:
    window_s: float = 1.0
    max_samples: int = 128  # bounds a pass's work: 25 ms on a desktop core, 1-3 s in the HIL guest (TCG)
    min_samples: int = 20  # fewer and a verdict is a guess (the camera capture: 0.64 at 10, 0.83 at 20)
    classify_every_s: float = 0.25
    max_classify_every_s: float = 2.0  # while the verdict stays the same, passes space out up to this
    repeat_s: float = 10.0
    confidence_step: float = 0.1

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.classify_every_s <= 0 or self.repeat_s <= 0:
            raise ValueError(f"window_s, classify_every_s and repeat_s must be > 0: {self}")
        if self.max_classify_every_s < self.classify_every_s:
            raise ValueError(f"max_classify_every_s must be >= classify_every_s: {self}")
        if not 1 <= self.min_samples <= self.max_samples:
            raise ValueError(f"need 1 <= min_samples <= max_samples: {self}")


DEFAULT_WATCH = WatchSettings()


@dataclass(frozen=True, slots=True)
class _Reported:
    confidence: float
    at: float


class SpectralWatch:
    """One radio's sliding window of spectral samples and what it last reported."""

    def __init__(self, radio_id: str, settings: WatchSettings = DEFAULT_WATCH) -> None:
        self.radio_id = radio_id
        self.settings = settings
        self.latest: Classification | None = None  # the last verdict, None before the first
        self.latest_at = 0.0
        self._samples: deque[tuple[float, SpectralSample]] = deque(maxlen=settings.max_samples)
        self._new = 0  # samples added since the last classification
        self._classified_at: float | None = None
        self._interval = settings.classify_every_s  # doubles while the verdict stays the same
        self._reported: dict[tuple[str, int], _Reported] = {}

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, samples: Sequence[SpectralSample], now: float) -> None:
        self._samples.extend((now, s) for s in samples)
        self._new += len(samples)
        self._evict(now)

    def _evict(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - self.settings.window_s:
            self._samples.popleft()

    def due(self, now: float) -> bool:
        """New samples, enough of them, and the last pass far enough back (``classify_every_s``, doubling
        up to ``max_classify_every_s`` while the verdict does not change)."""
        if self._new == 0 or len(self._samples) < self.settings.min_samples:
            return False
        return self._classified_at is None or now - self._classified_at >= self._interval

    def window(self, now: float) -> list[SpectralSample] | None:
        """The samples to classify now, or None when no pass is due; the caller passes the verdict to ``judge``."""
        self._evict(now)
        if not self.due(now):
            return None
        self._classified_at, self._new = now, 0
        return [s for _, s in self._samples]

    def check(self, now: float) -> DriverEvent | None:
        """Classify the window if due; the event the verdict is worth, if any."""
        samples = self.window(now)
        return None if samples is None else self.judge(classify(samples), now)

    def judge(self, verdict: Classification, now: float) -> DriverEvent | None:
        """Take a verdict on ``window``'s samples; the NON_WIFI_BURST it is worth, if any."""
        key = (verdict.kind.value, verdict.channel)
        previous = self.latest
        same = previous is not None and (previous.kind.value, previous.channel) == key
        self._interval = (
            min(2 * self._interval, self.settings.max_classify_every_s) if same else (self.settings.classify_every_s)
        )
        self.latest, self.latest_at = verdict, now
        for other in [k for k in self._reported if k != key]:
            del self._reported[other]  # gone from the verdict: its return is news again
        event = non_wifi_event(verdict, self.radio_id, now)
        if event is None:
            return None
        last = self._reported.get(key)
        settings = self.settings
        if (
            last is not None
            and verdict.confidence < last.confidence + settings.confidence_step
            and now - last.at < settings.repeat_s
        ):
            return None
        self._reported[key] = _Reported(max(verdict.confidence, last.confidence if last else 0.0), now)
        return event

    def non_wifi_duty(self, span_mhz: tuple[float, float], now: float) -> float:
        """The share of time non-Wi-Fi energy occupies the radio's channel (``span_mhz``: its edges),
        from the latest verdict; 0 when that is Wi-Fi or nothing, elsewhere, or no sample came in ``window_s``."""
        self._evict(now)
        verdict = self.latest
        if verdict is None or not verdict.non_wifi or not self._samples:
            return 0.0
        return verdict.duty if overlaps(verdict, span_mhz) else 0.0


def overlaps(verdict: Classification, span_mhz: tuple[float, float]) -> bool:
    """Whether the source's occupied band touches the spectrum between the edges ``span_mhz``."""
    half = verdict.bandwidth_mhz / 2
    low, high = span_mhz
    return verdict.centre_mhz + half > low and verdict.centre_mhz - half < high
