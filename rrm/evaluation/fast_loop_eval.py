"""The fast loop on the simulator: static config, a one-shot ACS pick, random search and the BO.

Method (issue 7, evaluation). For each policy a fresh ``SimWorld`` from the same scenario and
seed is stepped on virtual time in ``step_s`` steps for ``hours`` (no gRPC, no agents, no DFS
or event loop: the fast loop alone).

- ``static``: the scenario's own configs, untouched.
- ``acs``: at t = 0 each radio, in turn, takes the channel with the lowest hostapd survey
  interference factor (fast_loop_acs.py), then stays.
- ``random``: the change planner with a random-search optimiser (fast_loop_random.py): a random
  legal, safe-zone config per iteration, under the same guardrails, budget and rollback rule.
- ``bo``: the change planner (controller.fast_loop.planner) with one ``FastLoopOptimizer`` per
  radio and one ``ChangeBudget`` per AP; each reading carries the radio's channel evidence (the
  neighbour scan of its latest wire sample and our radios' airtime, as the controller has them:
  controller.fast_loop.evidence_source), the ACS-like prior mean of its GP.
- ``acs_bo`` (opt-in, not in the issue's four): the ACS pick at t = 0, then the BO planner.

Looped policies read each radio's telemetry as the controller does (fast_loop_world.py: the
agent's sample, the controller's ``aggregate`` over the window the planner names), the
guardrails judge against a ``NetworkSnapshot`` of the world and a ledger of applied changes,
changes and rollbacks go through ``SimWorld.apply``.

Figures per policy: ``mean_qoe``, the mean network QoE over the steps of the last half;
``p5_qoe``, the 5th percentile of client QoE pooled over samples every ``p5_every_s`` in the last
half; ``changes_per_ap_day``, config writes (changes, rollbacks and ACS picks) per AP per
simulated day; ``worst_dip``, the largest loss of the changed radio's reward an exploratory change
(the BO's ``explore`` kind, every random change) caused over its observation window: the world
forked at the change and run with and without it (fast_loop_counterfactual.py), 0 when there were
none; ``details`` adds ``worst_dip_observed`` (the same changes judged window after against window
before on the live run, as the planner judges: load swings included), ``worst_dip_network_qoe``
(the network QoE those changes cost, forked the same way) and ``worst_dip_any_change`` (window
against window over every judged change, confident improvements included); ``violations``,
applied configs that break a regulatory or safe-zone rule or an AP's hourly limit, checked
independently of the guardrails (zero by construction). And
``bo_median_prediction_error``, the median of ``prediction_error(predicted, observed)`` over the
BO's judged changes (None when it made none).

Deterministic: the world's draws come from the scenario seed, the optimisers' and random
search's from seeds derived from it. Several seeds, runs in parallel processes and a summary
across seeds: fast_loop_seeds.py (one dense run is chaotic; compare rules across seeds).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from statistics import median

import numpy as np

from controller.fast_loop.candidates import SafeValues
from controller.fast_loop.evidence_source import evidence_for
from controller.fast_loop.exploration import ChangeBudget, SafetySettings
from controller.fast_loop.intents import ChangeRecord, KeepChange, KeepConfig, RollBack, SendChange
from controller.fast_loop.optimizer import FastLoopOptimizer
from controller.fast_loop.period import FAST_S
from controller.fast_loop.planner import ChangePlanner, LoopOptimiser, PlannerSettings, RadioReading
from controller.site_policy import SitePolicy
from drivers.protocol import DriverError
from drivers.sim.scenario_model import Scenario
from drivers.sim.world import SimWorld
from radio_domain.radio import ConfigChange, split_radio_id
from rrm.evaluation.fast_loop_acs import acs_pick
from rrm.evaluation.fast_loop_checks import AppliedConfig, independent_violations
from rrm.evaluation.fast_loop_counterfactual import CausedDip, caused_dip
from rrm.evaluation.fast_loop_random import RandomSearch
from rrm.evaluation.fast_loop_world import ChangeLedger, WorldTelemetry, network_snapshot

POLICIES = ("static", "acs", "random", "bo")
EXTRA_POLICIES = ("acs_bo",)  # opt-in: the ACS pick at t = 0, then the BO planner
DEFAULT_HOURS = 24.0
DEFAULT_STEP_S = 10.0
DEFAULT_P5_EVERY_S = 300.0
DAY_S = 86_400.0
_DIGITS = 4
EXPLORATORY = ("explore", "random")  # the kinds whose dips the issue bounds: the BO's explorations, every random change
_RANDOM_STREAM = 0x72616E64
_BO_STREAM = 0x626F

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class FastLoopEvalOptions:
    hours: float = DEFAULT_HOURS
    step_s: float = DEFAULT_STEP_S
    p5_every_s: float = DEFAULT_P5_EVERY_S
    # Changes per AP per rolling day; each may be followed by a rollback, so at most 12 writes a day
    # (the limit) even when every change is rolled back.
    max_changes_per_ap_day: int = 6
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    site: SitePolicy = field(default_factory=SitePolicy)
    policies: tuple[str, ...] = POLICIES

    def __post_init__(self) -> None:
        if self.step_s <= 0 or self.hours * 3600.0 < 2 * self.step_s:
            raise ValueError(f"need step_s > 0 and at least two steps (hours={self.hours:g}, step_s={self.step_s:g})")
        unknown = [p for p in self.policies if p not in POLICIES + EXTRA_POLICIES]
        if unknown:
            raise ValueError(f"unknown policies {unknown}; known: {', '.join(POLICIES)}")


@dataclass(slots=True)
class PolicyResult:
    name: str
    n_aps: int
    days: float
    mean_qoe: float = 0.0
    p5_qoe: float = 0.0
    changes: int = 0
    rollbacks: int = 0
    worst_dip: float = 0.0  # caused, on forks (fast_loop_counterfactual.py)
    worst_dip_observed: float = 0.0  # window after against window before, exploratory changes
    worst_dip_network_qoe: float = 0.0  # network QoE an exploratory change cost, on forks
    worst_dip_any_change: float = 0.0  # window against window, every judged change
    violations: list[str] = field(default_factory=list)
    records: list[ChangeRecord] = field(default_factory=list)
    keeps: Counter[str] = field(default_factory=Counter)
    failed_sends: int = 0

    @property
    def changes_per_ap_day(self) -> float:
        return (self.changes + self.rollbacks) / self.n_aps / self.days

    def figures(self) -> dict[str, float | int]:
        return {
            "mean_qoe": round(self.mean_qoe, _DIGITS),
            "p5_qoe": round(self.p5_qoe, _DIGITS),
            "changes_per_ap_day": round(self.changes_per_ap_day, _DIGITS),
            "worst_dip": round(self.worst_dip, _DIGITS),
            "violations": len(self.violations),
        }

    def details(self) -> dict[str, object]:
        judged = Counter(r.code for r in self.records)
        kinds = Counter(r.kind for r in self.records)
        return {
            "changes": self.changes,
            "rollbacks": self.rollbacks,
            "judged": dict(sorted(judged.items())),
            "kinds": dict(sorted(kinds.items())),
            "keep_reasons": dict(sorted(self.keeps.items())),
            "failed_sends": self.failed_sends,
            "worst_dip_observed": round(self.worst_dip_observed, _DIGITS),
            "worst_dip_network_qoe": round(self.worst_dip_network_qoe, _DIGITS),
            "worst_dip_any_change": round(self.worst_dip_any_change, _DIGITS),
            "violation_messages": self.violations[:20],
        }


@dataclass(frozen=True, slots=True)
class FastLoopEvaluation:
    scenario: str
    seed: int
    options: FastLoopEvalOptions
    results: Mapping[str, PolicyResult]

    @property
    def bo_median_prediction_error(self) -> float | None:
        bo = self.results.get("bo")
        errors = [] if bo is None else [r.prediction_error for r in bo.records if r.prediction_error is not None]
        return float(median(errors)) if errors else None

    def targets(self) -> dict[str, object]:
        found: dict[str, object] = {}
        bo, static = self.results.get("bo"), self.results.get("static")
        if bo is None:
            return found
        if static is not None and static.mean_qoe > 0:
            gain = (bo.mean_qoe - static.mean_qoe) / static.mean_qoe
            found["mean_qoe_gain_over_static"] = round(gain, _DIGITS)
            found["gain_over_static_ge_10pct"] = gain >= 0.10
        for other in ("random", "acs"):
            if other in self.results:
                found[f"better_than_{other}"] = bo.mean_qoe > self.results[other].mean_qoe
        found["changes_per_ap_day_le_12"] = bo.changes_per_ap_day <= 12.0
        margin = SafetySettings().margin
        found["safety_margin"] = margin
        found["worst_dip_within_margin"] = bo.worst_dip <= margin
        found["worst_network_qoe_dip_within_margin"] = bo.worst_dip_network_qoe <= margin
        error = self.bo_median_prediction_error
        found["median_prediction_error_lt_20pct"] = error is not None and error < 0.20
        found["zero_violations"] = all(not r.violations for r in self.results.values())
        return found

    def figures(self) -> dict[str, object]:
        error = self.bo_median_prediction_error
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "hours": self.options.hours,
            "step_s": self.options.step_s,
            "policies": {name: r.figures() for name, r in self.results.items()},
            "bo_median_prediction_error": None if error is None else round(error, _DIGITS),
            "details": {name: r.details() for name, r in self.results.items()},
            "targets": self.targets(),
        }


class _QoeTracker:
    """Network QoE every step and pooled client QoE every ``p5_every_s``, both over the last half."""

    def __init__(self, half_s: float, p5_every_s: float) -> None:
        self._half_s = half_s
        self._every_s = p5_every_s
        self._next_p5_s = half_s
        self.network: list[float] = []
        self.clients: list[float] = []

    def sample(self, world: SimWorld) -> None:
        if world.time < self._half_s:
            return
        self.network.append(world.network_qoe())
        if world.time >= self._next_p5_s:
            self.clients.extend(world.client_qoe().values())
            self._next_p5_s += self._every_s

    def finish(self, result: PolicyResult) -> None:
        result.mean_qoe = float(np.mean(self.network)) if self.network else 1.0
        result.p5_qoe = float(np.percentile(self.clients, 5)) if self.clients else 1.0


class _Loop:
    """The planner driven on a world: telemetry in, intents out, changes through ``apply``."""

    def __init__(
        self, world: SimWorld, planner: ChangePlanner, options: FastLoopEvalOptions, result: PolicyResult
    ) -> None:
        self.world = world
        self.planner = planner
        self.site = options.site
        self.step_s = options.step_s
        self.result = result
        self.caused: dict[str, CausedDip] = {}  # exploratory change id -> what it cost on forks
        self.telemetry = WorldTelemetry(world)
        self.ledger = ChangeLedger()
        self.applied: list[AppliedConfig] = []

    def step(self) -> None:
        self.telemetry.record()
        now = self.world.timestamp
        due = self.planner.due(now)
        if not due:
            return
        readings = {r: self._reading(r) for r in due}
        network = network_snapshot(self.world, self.telemetry, self.ledger)
        for intent in self.planner.iterate(now, readings, network, self.site):
            if isinstance(intent, SendChange):
                self._send(intent, now)
            elif isinstance(intent, RollBack):
                self._roll_back(intent, now)
            elif isinstance(intent, KeepConfig):
                self.result.keeps[intent.code] += 1
            if isinstance(intent, KeepChange | RollBack):
                self._judged(intent.record)

    def _reading(self, radio_id: str) -> RadioReading:
        config = self.world.config(radio_id)
        policy = self.site.for_ap(split_radio_id(radio_id)[0])
        safe = SafeValues.from_zones(policy.zones, policy.pins, config)
        window = self.telemetry.window(radio_id, self.planner.window_start(radio_id))
        evidence = None
        if window is not None:
            evidence = evidence_for(radio_id, self.telemetry.latest, self.world.region, window.cca_busy_p50)
        return RadioReading(radio_id, config, window, safe, evidence)

    def _send(self, intent: SendChange, now: float) -> None:
        if intent.kind in EXPLORATORY:
            window_s = self.planner.settings.observation_s
            self.caused[intent.change_id] = caused_dip(
                self.world, intent.radio_id, intent.change, window_s, self.step_s
            )
        before = self.world.config(intent.radio_id)
        try:
            self.world.apply(intent.radio_id, intent.change)
        except DriverError:
            self.caused.pop(intent.change_id, None)
            self.result.failed_sends += 1
            self.planner.send_failed(intent.change_id, now)
            return
        after = self.world.config(intent.radio_id)
        self.ledger.record(intent.radio_id, intent.change_id, before, after, now)
        self.applied.append(AppliedConfig(intent.radio_id, intent.change_id, before, after, now, rollback=False))
        self.result.changes += 1

    def _roll_back(self, intent: RollBack, now: float) -> None:
        before = self.world.config(intent.radio_id)
        self.world.apply(intent.radio_id, intent.change)
        after = self.world.config(intent.radio_id)
        self.ledger.record(intent.radio_id, intent.change_id + "-rollback", before, after, now)
        self.ledger.rollback(intent.radio_id, now)
        self.applied.append(AppliedConfig(intent.radio_id, intent.change_id, before, after, now, rollback=True))
        self.result.rollbacks += 1

    def _judged(self, record: ChangeRecord) -> None:
        self.result.records.append(record)
        if record.observed_effect is not None:
            self.result.worst_dip_any_change = max(self.result.worst_dip_any_change, -record.observed_effect)
        if record.kind not in EXPLORATORY or record.observed_effect is None:
            return
        self.result.worst_dip_observed = max(self.result.worst_dip_observed, -record.observed_effect)
        caused = self.caused.pop(record.change_id, None)
        if caused is not None:
            self.result.worst_dip = max(self.result.worst_dip, caused.reward)
            self.result.worst_dip_network_qoe = max(self.result.worst_dip_network_qoe, caused.network_qoe)


def _planner(world: SimWorld, policy: str, seed: int, options: FastLoopEvalOptions) -> ChangePlanner:
    planner = ChangePlanner(world.region, options.planner, start_s=world.timestamp + FAST_S)
    budgets = {ap: ChangeBudget(options.max_changes_per_ap_day) for ap in world.ap_ids()}
    stream = _RANDOM_STREAM if policy == "random" else _BO_STREAM
    for index, info in enumerate(world.radios()):
        radio_seed = int(np.random.SeedSequence([seed, stream, index]).generate_state(1)[0])
        optimiser: LoopOptimiser
        if policy == "random":
            optimiser = RandomSearch(
                info.radio_id, world.region, info.band, seed=radio_seed, budget=budgets[info.ap_id]
            )
        else:
            optimiser = FastLoopOptimizer(
                info.radio_id, world.region, info.band, seed=radio_seed, budget=budgets[info.ap_id]
            )
        planner.add_radio(info.radio_id, optimiser)
    return planner


def _acs(world: SimWorld, result: PolicyResult) -> list[AppliedConfig]:
    applied = []
    for radio_id in world.radio_ids():
        pick = acs_pick(world, radio_id)
        before = world.config(radio_id)
        if pick is None or pick.channel == before.channel:
            continue
        world.apply(radio_id, ConfigChange(channel=pick.channel))
        applied.append(AppliedConfig(radio_id, f"acs-{radio_id}", before, world.config(radio_id), world.timestamp))
        result.changes += 1
    return applied


def run_policy(
    scenario: Scenario, policy: str, options: FastLoopEvalOptions, progress: Progress | None = None
) -> PolicyResult:
    """One policy on a fresh world of ``scenario`` (module docstring)."""
    world = SimWorld(scenario)
    total_s = options.hours * 3600.0
    result = PolicyResult(policy, len(world.ap_ids()), options.hours / 24.0)
    tracker = _QoeTracker(total_s / 2.0, options.p5_every_s)
    applied: list[AppliedConfig] = []
    loop: _Loop | None = None
    if policy in ("acs", "acs_bo"):
        applied = _acs(world, result)
    if policy in ("random", "bo", "acs_bo"):
        loop = _Loop(world, _planner(world, policy, scenario.seed, options), options, result)
    steps = round(total_s / options.step_s)
    report_every = max(1, steps // 8)
    for k in range(steps):
        world.step(options.step_s)
        if loop is not None:
            loop.step()
        tracker.sample(world)
        if progress is not None and (k + 1) % report_every == 0:
            progress(f"{policy}: {world.time / 3600.0:.1f} of {options.hours:g} h")
    tracker.finish(result)
    if loop is not None:
        applied = applied + loop.applied
    result.violations = independent_violations(world.region, applied, options.site)
    return result


def evaluate_fast_loop(
    scenario: Scenario, name: str, options: FastLoopEvalOptions | None = None, progress: Progress | None = None
) -> FastLoopEvaluation:
    """Every policy of ``options`` on ``scenario`` (module docstring)."""
    options = options or FastLoopEvalOptions()
    results = {policy: run_policy(scenario, policy, options, progress) for policy in options.policies}
    return FastLoopEvaluation(name, scenario.seed, options, results)
