"""A hidden QoE landscape of one radio, for tests and ``rrm bench bo`` (not used by the live loop).

The reward of (channel, width, power, OBSS-PD) under load ``L`` in [0, 1) is

    capacity = (width / 20) ** 0.6 * (1 - interference of the bonding group)
    spatial  = 1 + 0.6 * interference * x - 0.3 * x ** 2          x = (OBSS-PD + 82) / 20
    coverage = exp(-((power - p_opt) / 7) ** 2)
    served   = capacity * spatial / (capacity * spatial + 0.6 * L + 0.15)
    reward   = 0.1 + 0.8 * served * (0.5 + 0.5 * coverage)

with a per-channel interference level in [0, 0.7] and ``p_opt`` in [12, 20] dBm drawn from the
seed. So: a clean channel matters most, wide channels pay off unless they reach onto crowded
ones, OBSS-PD helps on crowded channels and hurts a little on clean ones, and the same config is
worth less at higher load, more so when its capacity is low (the context matters). Observations
add Gaussian noise (sd 0.02).

``simulate_loop`` runs a ``FastLoopOptimizer`` against it as the planner would: observe, decide,
apply at once; ``random_search`` is the baseline the bench compares with.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from controller.fast_loop.candidates import CandidateTable, SafeValues, candidate_table
from controller.fast_loop.optimizer import FastLoopOptimizer, Proposal
from controller.fast_loop.reward import load_index, prediction_error
from controller.fast_loop.telemetry import LoopTelemetry, RadioSnapshot
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region, bonding_group, channels

NOISE_SD = 0.02


@dataclass(frozen=True, slots=True)
class SyntheticLandscape:
    region: Region
    band: Band
    seed: int
    interference: dict[int, float] = field(init=False)
    p_opt: float = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        legal = channels(self.region, self.band)
        object.__setattr__(self, "interference", {c: float(rng.uniform(0.0, 0.7)) for c in legal})
        object.__setattr__(self, "p_opt", float(rng.uniform(12.0, 20.0)))

    def value(self, config: RadioConfig, load: float) -> float:
        """The noise-free reward."""
        group = bonding_group(self.region, self.band, config.channel, config.width_mhz)
        interference = float(np.mean([self.interference[c] for c in group]))
        capacity = math.pow(config.width_mhz / 20.0, 0.6) * (1.0 - interference)
        x = (config.obss_pd_dbm + 82) / 20.0
        spatial = 1.0 + 0.6 * interference * x - 0.3 * x * x
        coverage = math.exp(-(((config.tx_power_dbm - self.p_opt) / 7.0) ** 2))
        served = capacity * spatial / (capacity * spatial + 0.6 * load + 0.15)
        return 0.1 + 0.8 * served * (0.5 + 0.5 * coverage)

    def sample(self, config: RadioConfig, load: float, rng: np.random.Generator) -> float:
        return self.value(config, load) + float(rng.normal(0.0, NOISE_SD))

    def values(self, table: CandidateTable, load: float) -> np.ndarray:
        return np.asarray([self.value(table.config(i), load) for i in range(len(table))])


def telemetry_for(reward: float, stations: int) -> LoopTelemetry:
    """Telemetry whose reward (no penalties) is ``reward`` and whose load is that of ``stations``."""
    return LoopTelemetry(None, None, None, None, 0.0, 0.0, 0.0, 0.0, stations, reward)


@dataclass(slots=True)
class LoopTrace:
    true_values: list[float] = field(default_factory=list)  # of the config in use, per iteration
    proposals: list[Proposal] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)  # prediction_error of each applied proposal
    configs: list[RadioConfig] = field(default_factory=list)


def simulate_loop(
    landscape: SyntheticLandscape,
    optimizer: FastLoopOptimizer,
    start: RadioConfig,
    iterations: int,
    stations: Callable[[int], int],
    seed: int,
    safe: SafeValues | None = None,
    period_s: float = 300.0,
    t0_s: float = 1_767_225_600.0,
) -> LoopTrace:
    """Observe, decide and apply every ``period_s``; each proposal is applied at once."""
    rng = np.random.default_rng(seed)
    trace = LoopTrace()
    config = start
    awaiting: Proposal | None = None
    for i in range(iterations):
        now = t0_s + i * period_s
        n = stations(i)
        load = load_index(n)
        reward = landscape.sample(config, load, rng)
        trace.true_values.append(landscape.value(config, load))
        trace.configs.append(config)
        optimizer.observe(config, load, reward, now)
        if awaiting is not None:
            trace.errors.append(prediction_error(awaiting.predicted_mean, reward))
            awaiting = None
        snapshot = RadioSnapshot(
            optimizer.radio_id,
            landscape.region,
            landscape.band,
            now,
            config,
            telemetry_for(reward, n),
            safe or SafeValues(),
        )
        proposal = optimizer.propose(snapshot)
        if proposal is not None:
            optimizer.applied(proposal, now)
            trace.proposals.append(proposal)
            config = proposal.target
            awaiting = proposal
    return trace


def random_search(
    landscape: SyntheticLandscape, safe: SafeValues, load: float, iterations: int, seed: int
) -> list[float]:
    """Best true value found so far after each random (uniform, unsafe) trial."""
    table = candidate_table(landscape.region, landscape.band, safe)
    rng = np.random.default_rng(seed)
    best = -math.inf
    out = []
    for _ in range(iterations):
        best = max(best, landscape.value(table.config(int(rng.integers(len(table)))), load))
        out.append(best)
    return out
