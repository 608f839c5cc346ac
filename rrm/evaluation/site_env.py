"""A gymnasium environment over the simulator: the slow loop's plan, three APs at a time.

State: the interference graph built from every radio's telemetry (world_graph.py), encoded as
fixed-size arrays: ``network`` (the state features of move_features.py), ``radios`` (one row of
radio features per radio), ``candidates`` (one row of move features per candidate move, radio
``i``'s candidates in rows ``i * K .. i * K + K - 1`` with ``K = CandidateSettings.per_radio``) and
``candidate_mask`` (which rows hold a move). The candidates are legal by construction
(move_candidates.py); with a ``guide`` policy (the heuristic) its plan's assignments are
candidates too. The graph leaves out the non-Wi-Fi sources the controller's graph counts
(controller/slow_loop/non_wifi_sightings.py): training with them was measured and not kept
(``rrm eval slow-loop``, 2 days: safe RL on unplanned_office 0.972 -> 0.961 against the
heuristic's 0.986, on dense_floor 0.906 -> 0.911 against 0.906).

Action: ``MultiDiscrete([1 + rows] * slots)`` with ``slots = max_aps_per_step`` (3): per slot 0 is
a no-op and ``k`` the candidate in row ``k - 1``. So a step changes at most 3 radios, hence at
most 3 APs. A second slot on a radio already moved is ignored; a slot naming an empty row, or a
move the radio refuses, is a violation: counted, penalised, never applied.

Dynamics: the moves go to ``SimWorld.apply``, then the world runs ``window_s`` of virtual time in
``tick_s`` steps; the reward is step_reward.py's (QoE over the window minus change, CAC-outage
and violation penalties). An episode is ``steps_per_episode`` steps (then ``truncated``).

With ``counterfactual`` (the default) each step also runs a fork of the world (SimWorld.fork, a
copy: STYLE.md point 2) with no moves over the same window; the fork draws the same demand noise,
so ``outcome.noop_mean_qoe`` is what doing nothing would have given, a control variate for
learning from noisy rewards (cql_agent.py).

Determinism: ``reset(seed=s)`` builds the world from the scenario with seed ``s`` (the world's
shadowing, demand and radar draws) and seeds the environment's own generator (the optional
scrambled start, ``options={"scramble": n}``: ``n`` radios start on a random candidate;
``options={"start": "guide"}`` starts from the guide's whole plan, put in place before the first
step, so episodes can also explore around a good plan); without a
seed the first reset uses the scenario's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from controller.slow_loop.candidate_channels import assignment_problems
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_candidates import CandidateSettings, Move, site_candidates
from controller.slow_loop.move_features import (
    N_MOVE_FEATURES,
    N_STATE_FEATURES,
    STRONG_DBM,
    move_features,
    state_features,
)
from controller.slow_loop.site_plan import RadioAssignment, SlowLoopPolicy, assignment_of
from controller.slow_loop.step_reward import RewardWeights, StepOutcome
from drivers.protocol import DriverError
from drivers.sim.scenario_model import Scenario
from drivers.sim.world import SimWorld
from radio_domain import regulatory
from radio_domain.radio import Band, ConfigChange
from rrm.evaluation.world_graph import RadarHistory, observe_graph

Observation = dict[str, npt.NDArray[Any]]
RADIO_FEATURES = (
    "band_2g",
    "band_5g",
    "band_6g",
    "width",
    "tx_power",
    "clients",
    "utilisation",
    "on_air",
    "neighbours",
    "on_dfs",
)


@dataclass(frozen=True, slots=True)
class EnvSettings:
    steps_per_episode: int = 8
    window_s: float = 300.0
    tick_s: float = 60.0
    warmup_s: float = 60.0
    max_aps_per_step: int = 3  # the blast radius of one slow-loop step (ARCHITECTURE.md invariant 5)
    replan_guide_each_step: bool = False  # False: the guide plans once per episode, as a staged plan runs
    counterfactual: bool = True  # also run a fork of the world with no moves over the same window
    candidates: CandidateSettings = field(default_factory=CandidateSettings)
    reward: RewardWeights = field(default_factory=RewardWeights)

    def __post_init__(self) -> None:
        if self.tick_s <= 0 or self.window_s < self.tick_s:
            raise ValueError(f"need 0 < tick_s <= window_s (tick {self.tick_s:g}, window {self.window_s:g})")
        if not 1 <= self.max_aps_per_step <= 3:
            raise ValueError(f"max_aps_per_step must be 1..3, not {self.max_aps_per_step}")


@dataclass(frozen=True, slots=True)
class SiteView:
    """One observation's structured side: the graph, the candidate moves by row, the guide's plan."""

    graph: InterferenceGraph
    now: float
    rows: tuple[Move | None, ...]
    guide: dict[str, RadioAssignment]


class SiteEnv(gymnasium.Env[Observation, npt.NDArray[np.int64]]):
    """The slow loop's environment (module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's declared class attribute)

    def __init__(
        self, scenario: Scenario, settings: EnvSettings | None = None, guide: SlowLoopPolicy | None = None
    ) -> None:
        self.scenario = scenario
        self.settings = settings or EnvSettings()
        self.guide = guide
        self._radio_ids = tuple(SimWorld(scenario).radio_ids())
        self.per_radio = self.settings.candidates.per_radio
        rows = len(self._radio_ids) * self.per_radio
        self.observation_space = spaces.Dict(  # type: ignore[assignment]  # gymnasium types Dict as Space[object]
            {
                "network": spaces.Box(-np.inf, np.inf, (N_STATE_FEATURES,), np.float64),
                "radios": spaces.Box(-np.inf, np.inf, (len(self._radio_ids), len(RADIO_FEATURES)), np.float64),
                "candidates": spaces.Box(-np.inf, np.inf, (rows, N_MOVE_FEATURES), np.float64),
                "candidate_mask": spaces.MultiBinary(rows),
            }
        )
        self.action_space = spaces.MultiDiscrete([rows + 1] * self.settings.max_aps_per_step)
        self._seeded = False
        self._world = SimWorld(scenario)
        self._radar = RadarHistory()
        self._steps = 0
        self._guide_plan: dict[str, RadioAssignment] = {}
        self.view: SiteView | None = None

    @property
    def world(self) -> SimWorld:
        """The simulated site (read it; change it only through ``step``)."""
        return self._world

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            world_seed = seed
        elif self._seeded:
            world_seed = int(self.np_random.integers(2**31 - 1))
        else:
            world_seed = self.scenario.seed
            self.np_random = np.random.default_rng(world_seed)
        self._seeded = True
        self._world = SimWorld(replace(self.scenario, seed=world_seed))
        self._radar = RadarHistory()
        self._steps = 0
        self._guide_plan = {}
        self._run(self.settings.warmup_s)
        if (options or {}).get("start") == "guide":
            self._start_from_guide()
        scramble = int((options or {}).get("scramble", 0))
        if scramble > 0:
            self._scramble(scramble)
            self._run(self.settings.warmup_s)
        observation, view = self._observe()
        return observation, {"view": view, "world_seed": world_seed, "mean_qoe": self._world.network_qoe()}

    def step(self, action: npt.NDArray[np.int64]) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        if self.view is None:
            raise RuntimeError("call reset() before step()")
        moves, violations = self.decode(action)
        return self._step(moves, violations)

    def step_moves(self, moves: Sequence[Move]) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """A step given as moves (e.g. a plan's next stage) rather than candidate rows.

        Each move must pass ``assignment_problems`` on the current graph and the moves must touch
        at most ``max_aps_per_step`` APs, one move per radio; a move that does not is a violation,
        counted and not applied.
        """
        if self.view is None:
            raise RuntimeError("call reset() before step()")
        graph, now = self.view.graph, self.view.now
        accepted: list[Move] = []
        violations = 0
        for move in moves:
            node = graph.nodes.get(move.radio_id)
            aps = {m.ap_id for m in accepted} | {move.ap_id}
            if (
                node is None
                or any(m.radio_id == move.radio_id for m in accepted)
                or len(aps) > self.settings.max_aps_per_step
                or assignment_problems(graph.region, node, move.assignment, now)
            ):
                violations += 1
                continue
            accepted.append(move)
        return self._step(accepted, violations)

    def _step(self, moves: list[Move], violations: int) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        outcome, applied = self._apply_and_watch(moves, violations)
        self._steps += 1
        observation, view = self._observe()
        truncated = self._steps >= self.settings.steps_per_episode
        info = {"view": view, "applied": applied, "outcome": outcome, "mean_qoe": outcome.mean_qoe}
        return observation, outcome.reward(self.settings.reward), False, truncated, info

    def decode(self, action: npt.NDArray[np.int64]) -> tuple[list[Move], int]:
        """The moves an action asks for on the current view, and how many slots were illegal."""
        assert self.view is not None
        moves: list[Move] = []
        violations = 0
        for value in np.asarray(action, dtype=np.int64).reshape(-1)[: self.settings.max_aps_per_step]:
            k = int(value)
            if k == 0:
                continue
            move = self.view.rows[k - 1] if 0 < k <= len(self.view.rows) else None
            if move is None:
                violations += 1
            elif all(m.radio_id != move.radio_id for m in moves):
                moves.append(move)
        return moves, violations

    def row_of(self, move: Move) -> int:
        """The candidate row holding ``move`` on the current view; raises KeyError if it is not offered."""
        assert self.view is not None
        for k, row in enumerate(self.view.rows):
            if row == move:
                return k
        raise KeyError(f"{move.radio_id}: {move.assignment} is not a candidate now")

    # ----- internals -------------------------------------------------------------------------

    def _apply_and_watch(self, moves: list[Move], violations: int) -> tuple[StepOutcome, tuple[Move, ...]]:
        assert self.view is not None
        world = self._world
        shadow = world.fork() if self.settings.counterfactual else None
        applied: list[Move] = []
        switches = powers = 0
        for move in moves:
            before = assignment_of(self.view.graph.nodes[move.radio_id])
            a = move.assignment
            try:
                world.apply(move.radio_id, ConfigChange(a.channel, a.width_mhz, a.tx_power_dbm))
            except DriverError:
                violations += 1
                continue
            applied.append(move)
            if (a.channel, a.width_mhz) != (before.channel, before.width_mhz):
                switches += 1
            else:
                powers += 1
        clients = {m.radio_id: self.view.graph.nodes[m.radio_id].clients for m in applied}
        total_clients = max(1, sum(n.clients for n in self.view.graph.nodes.values()))
        ticks = max(1, round(self.settings.window_s / self.settings.tick_s))
        qoe: list[float] = []
        noop_qoe: list[float] = []
        dark = 0.0
        for _ in range(ticks):
            world.step(self.settings.tick_s)
            qoe.append(world.network_qoe())
            dark += sum(clients[r] / total_clients for r in clients if world.radio(r).cac_until is not None) / ticks
            if shadow is not None:
                shadow.step(self.settings.tick_s)
                noop_qoe.append(shadow.network_qoe())
        mean = float(np.mean(qoe))
        noop = float(np.mean(noop_qoe)) if noop_qoe else None
        outcome = StepOutcome(mean, switches, powers, dark, violations, noop)
        return outcome, tuple(applied)

    def _run(self, seconds: float) -> None:
        ticks = max(1, round(seconds / self.settings.tick_s))
        for _ in range(ticks):
            self._world.step(self.settings.tick_s)

    def _start_from_guide(self) -> None:
        """Put the guide's whole plan in place before the episode starts (an initial condition)."""
        if self.guide is None:
            return
        graph = observe_graph(self._world, self._radar)
        plan = self.guide.propose(graph, self._world.timestamp)
        for radio_id in plan.changed(graph):
            a = plan.assignments[radio_id]
            try:
                self._world.apply(radio_id, ConfigChange(a.channel, a.width_mhz, a.tx_power_dbm))
            except DriverError:
                continue
        self._run(self.settings.warmup_s)

    def _scramble(self, count: int) -> None:
        graph = observe_graph(self._world, self._radar)
        now = self._world.timestamp
        per_radio = site_candidates(graph, now, self.settings.candidates)
        order = self.np_random.permutation(len(per_radio))[:count]
        for i in order:
            options = per_radio[int(i)]
            if options:
                move = options[int(self.np_random.integers(len(options)))]
                a = move.assignment
                try:
                    self._world.apply(move.radio_id, ConfigChange(a.channel, a.width_mhz, a.tx_power_dbm))
                except DriverError:
                    continue

    def _observe(self) -> tuple[Observation, SiteView]:
        graph = observe_graph(self._world, self._radar)
        now = self._world.timestamp
        guide = self._guide_assignments(graph, now)
        per_radio = site_candidates(graph, now, self.settings.candidates, guide)
        k = self.per_radio
        rows: list[Move | None] = [None] * (len(self._radio_ids) * k)
        features = np.zeros((len(rows), N_MOVE_FEATURES))
        mask = np.zeros(len(rows), dtype=np.int8)
        index = {r: i for i, r in enumerate(self._radio_ids)}
        for radio_id, moves in zip(graph.nodes, per_radio, strict=True):
            base = index[radio_id] * k
            for j, move in enumerate(moves[:k]):
                rows[base + j] = move
                features[base + j] = move_features(graph, move, now)
                mask[base + j] = 1
        observation: Observation = {
            "network": state_features(graph, now),
            "radios": self._radio_rows(graph),
            "candidates": features,
            "candidate_mask": mask,
        }
        self.view = SiteView(graph, now, tuple(rows), guide)
        return observation, self.view

    def _guide_assignments(self, graph: InterferenceGraph, now: float) -> dict[str, RadioAssignment]:
        """The guide's assignments that differ from the current config (its plan of this episode)."""
        if self.guide is None:
            return {}
        if self.settings.replan_guide_each_step or self._steps == 0:
            plan = self.guide.propose(graph, now)
            self._guide_plan = {r: plan.assignments[r] for r in plan.changed(graph)}
        return {r: a for r, a in self._guide_plan.items() if r in graph.nodes and a != assignment_of(graph.nodes[r])}

    def _radio_rows(self, graph: InterferenceGraph) -> npt.NDArray[np.float64]:
        out = np.zeros((len(self._radio_ids), len(RADIO_FEATURES)))
        for i, radio_id in enumerate(self._radio_ids):
            node = graph.nodes.get(radio_id)
            if node is None:
                continue
            c = node.config
            strong = sum(1 for _, rssi in graph.neighbours(radio_id) if rssi >= STRONG_DBM)
            out[i] = (
                float(node.band is Band.G2),
                float(node.band is Band.G5),
                float(node.band is Band.G6),
                c.width_mhz / 160.0,
                c.tx_power_dbm / 23.0,
                node.clients / 20.0,
                node.utilisation,
                float(c.enabled),
                strong / 10.0,
                float(
                    regulatory.is_legal(graph.region, node.band, c.channel, c.width_mhz)
                    and regulatory.needs_dfs(graph.region, node.band, c.channel, c.width_mhz)
                ),
            )
        return out
