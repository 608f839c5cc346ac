"""What a radio's optimiser remembers: observations, the bounded window, and a small learned state.

The window is what the GP is fitted on. It keeps the newest ``max_size`` (200) observations, and of
those at most ``per_key`` (4) per configuration and load decile: a radio that sits on one config
for a day observes it every few minutes, and without the cap those near-duplicates would push out
everything it learned about other configs. Observations are kept in arrival order; the cap drops
the oldest duplicate first.

``LearningState`` is everything else that must survive a restart, as plain numbers: the trust
region's radius and its success/failure counts, the configs held off after a rollback, the
changes it overestimated (exploration.choose's distrust), the hyperparameters last fitted (so a
restart does not refit 10,000 GPs at once) and when, and the change awaiting its first
observation. Models are never pickled: a warm start rebuilds the window from stored
observations (store.py).

``HyperSchedule`` decides when the hyperparameters are refitted: first at ``min_observations``,
then whenever the window has grown by ``growth`` (x1.5) since the last fit, and at least every
``every_tells`` (50) tells once it is full; never while the window holds fewer than 3 distinct
configs (the length scales say how fast reward changes between configs: one config says nothing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from controller.fast_loop.surrogate import Hyperparameters
from radio_domain.radio import RadioConfig


@dataclass(frozen=True, slots=True)
class Observation:
    """The reward a radio earned over one window at ``config`` under ``load`` (at ``ts_s``)."""

    ts_s: float
    config: RadioConfig
    load: float
    reward: float

    def config_key(self) -> tuple[int, int, float, int]:
        c = self.config
        return (c.channel, c.width_mhz, c.tx_power_dbm, c.obss_pd_dbm)

    def key(self) -> tuple[int, int, float, int, int]:
        return (*self.config_key(), min(9, int(self.load * 10)))


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    max_size: int = 200
    per_key: int = 4


def windowed(observations: list[Observation], policy: WindowPolicy) -> list[Observation]:
    """The newest observations under the policy, in arrival order."""
    kept: list[Observation] = []
    seen: Counter[tuple[int, int, float, int, int]] = Counter()
    for obs in reversed(observations):
        key = obs.key()
        if seen[key] >= policy.per_key:
            continue
        seen[key] += 1
        kept.append(obs)
        if len(kept) >= policy.max_size:
            break
    kept.reverse()
    return kept


@dataclass(frozen=True, slots=True)
class HyperSchedule:
    min_observations: int = 6
    min_distinct_configs: int = 5  # below that, length scales are not identifiable: keep the prior
    growth: float = 1.5
    every_tells: int = 50

    def due(self, n: int, distinct_configs: int, n_at_fit: int, tells_since_fit: int) -> bool:
        if n < self.min_observations or distinct_configs < self.min_distinct_configs:
            return False
        return n_at_fit == 0 or n >= self.growth * n_at_fit or tells_since_fit >= self.every_tells


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change the planner applied, waiting for the first reward observed at its target."""

    target: RadioConfig
    applied_s: float
    baseline_reward: float
    predicted_mean: float
    kind: str


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """Predicted against observed effect of an applied change, for the planner's audit."""

    target: RadioConfig
    predicted_mean: float
    observed_reward: float
    baseline_reward: float
    helped: bool


@dataclass(frozen=True, slots=True)
class HeldOff:
    """A config the planner rolled back: not proposed again before ``until_s``."""

    config_key: tuple[int, int, float, int]
    until_s: float


@dataclass(frozen=True, slots=True)
class LearningState:
    radius: int = 1
    successes: int = 0
    failures: int = 0
    hyperparameters: Hyperparameters | None = None
    n_at_fit: int = 0
    tells_since_fit: int = 0
    pending: PendingChange | None = None
    last_change_s: float | None = None
    observations_since_change: int = 0
    explorations: tuple[float, ...] = field(default=())  # times of exploratory changes (last 24 h)
    held_off: tuple[HeldOff, ...] = field(default=())  # rolled-back targets and until when they stay barred
    # (time, amount) of changes whose observed reward fell short of the prediction by more than the margin
    overestimates: tuple[tuple[float, float], ...] = field(default=())

    def distrust(self, now_s: float, within_s: float) -> float:
        """The largest overestimate of the last ``within_s`` (0 without one)."""
        return max((amount for at, amount in self.overestimates if now_s - within_s < at <= now_s), default=0.0)

    def held(self, now_s: float) -> frozenset[tuple[int, int, float, int]]:
        """Config keys still barred at ``now_s``."""
        return frozenset(h.config_key for h in self.held_off if h.until_s > now_s)

    def evolve(self, **changes: Any) -> LearningState:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        pending = self.pending
        return {
            "radius": self.radius,
            "successes": self.successes,
            "failures": self.failures,
            "hyperparameters": None if self.hyperparameters is None else self.hyperparameters.to_json(),
            "n_at_fit": self.n_at_fit,
            "tells_since_fit": self.tells_since_fit,
            "pending": None
            if pending is None
            else {
                "target": config_to_json(pending.target),
                "applied_s": pending.applied_s,
                "baseline_reward": pending.baseline_reward,
                "predicted_mean": pending.predicted_mean,
                "kind": pending.kind,
            },
            "last_change_s": self.last_change_s,
            "observations_since_change": self.observations_since_change,
            "explorations": list(self.explorations),
            "held_off": [{"config": list(h.config_key), "until_s": h.until_s} for h in self.held_off],
            "overestimates": [list(o) for o in self.overestimates],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> LearningState:
        hp = data.get("hyperparameters")
        p = data.get("pending")
        return LearningState(
            radius=int(data["radius"]),
            successes=int(data["successes"]),
            failures=int(data["failures"]),
            hyperparameters=None if hp is None else Hyperparameters.from_json(hp),
            n_at_fit=int(data["n_at_fit"]),
            tells_since_fit=int(data["tells_since_fit"]),
            pending=None
            if p is None
            else PendingChange(
                target=config_from_json(p["target"]),
                applied_s=float(p["applied_s"]),
                baseline_reward=float(p["baseline_reward"]),
                predicted_mean=float(p["predicted_mean"]),
                kind=str(p["kind"]),
            ),
            last_change_s=None if data.get("last_change_s") is None else float(data["last_change_s"]),
            observations_since_change=int(data.get("observations_since_change", 0)),
            explorations=tuple(float(t) for t in data.get("explorations", ())),
            held_off=tuple(_held_from_json(h) for h in data.get("held_off", ())),
            overestimates=tuple((float(at), float(amount)) for at, amount in data.get("overestimates", ())),
        )


def _held_from_json(data: dict[str, Any]) -> HeldOff:
    channel, width, power, obss = data["config"]
    return HeldOff((int(channel), int(width), float(power), int(obss)), float(data["until_s"]))


def config_to_json(config: RadioConfig) -> dict[str, Any]:
    return {
        "channel": config.channel,
        "width_mhz": config.width_mhz,
        "tx_power_dbm": config.tx_power_dbm,
        "obss_pd_dbm": config.obss_pd_dbm,
    }


def config_from_json(data: dict[str, Any]) -> RadioConfig:
    return RadioConfig(
        channel=int(data["channel"]),
        width_mhz=int(data["width_mhz"]),
        tx_power_dbm=float(data["tx_power_dbm"]),
        obss_pd_dbm=int(data["obss_pd_dbm"]),
    )
