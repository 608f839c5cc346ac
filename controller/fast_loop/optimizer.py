"""``FastLoopOptimizer``: one radio's safe Bayesian optimiser behind ask/tell (STYLE.md 2).

- ``observe(config, load, reward, now_s)`` (tell) appends an observation to the bounded window,
  settles a pending change (trust region +1 if it helped, -1 if not; ``last_outcome`` holds
  predicted against observed), and refits the hyperparameters when the schedule says so. The
  window must describe ``config`` alone: after a change, observe a telemetry window that starts
  after it (``CachedLoopTelemetry.forget``).
- ``decide(snapshot)`` (ask) returns a ``Proposal`` or a ``Keep`` with its reason;
  ``propose(snapshot)`` is the same with ``None`` for keep (the reason in ``last_keep``). Both
  read the frozen snapshot and the optimiser's data and change neither: every hypothetical
  candidate is scored on arrays built for the call (a ``Posterior`` refitted with fixed
  hyperparameters, dropped afterwards, so a radio holds only its ~200 observations between calls,
  not a 200x200 factor).
- ``applied(proposal, now_s)`` is called by the planner when it actually applies a proposal
  (guardrails may refuse it): it spends the AP's daily budget and awaits the outcome.
- ``copy()`` is an independent deep copy for what-if runs (a copy's budget is its own too).

Gate order in ``decide``: no clients -> daily budget -> awaiting the outcome of the last change ->
settling (``settle_observations`` at the new config first; no flapping) -> enough data -> trust
region less the targets held off after a rollback (``rolled_back``) -> GP -> safety -> hysteresis
or bounded exploration (none beyond the margin of a recent unforeseen loss: ``distrust_s``; none
at all on a radio serving fewer than ``min_explore_stations`` stations) -> expected improvement
(exploration.py). The station floor (3): an exploratory change is judged by one 120 s window,
and with one or two clients that window is one client's traffic (dense_floor seed 2: ap-03/2g,
one client, a power cut measured +0.18 that had cost 0.167 on a fork without it, and the next
cut cost 0.216). Over dense_floor seeds 1-4 the floor took the worst caused exploratory dip from
0.056 / 0.216 / 0.118 / 0.219 to 0.056 / 0.004 / 0.118 / 0.002 at 0.9265 mean QoE against
0.9238 without it. Confident improvements are still made on such radios.

All randomness comes from ``seed``; with the same seed and the same calls the decisions are
identical.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from controller.fast_loop.candidates import CandidateTable, candidate_table, on_ladder
from controller.fast_loop.channel_evidence import ChannelEvidence
from controller.fast_loop.encoding import EncodingError, FloatArray, config_encoder
from controller.fast_loop.exploration import (
    DAY_S,
    ChangeBudget,
    Refusal,
    SafetySettings,
    TrustRegionRule,
    choose,
    seen_unsafe,
)
from controller.fast_loop.history import (
    ChangeOutcome,
    HeldOff,
    HyperSchedule,
    LearningState,
    Observation,
    PendingChange,
    WindowPolicy,
    windowed,
)
from controller.fast_loop.reward import load_index, radio_reward
from controller.fast_loop.surrogate import Hyperparameters, Posterior, fit_hyperparameters
from controller.fast_loop.telemetry import RadioSnapshot
from radio_domain.radio import Band, ConfigChange, RadioConfig
from radio_domain.regulatory import Region

logger = logging.getLogger(__name__)
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class OptimizerSettings:
    window: WindowPolicy = field(default_factory=WindowPolicy)
    schedule: HyperSchedule = field(default_factory=HyperSchedule)
    trust: TrustRegionRule = field(default_factory=TrustRegionRule)
    safety: SafetySettings = field(default_factory=SafetySettings)
    min_observations: int = 3
    settle_observations: int = 2
    pending_timeout_s: float = 900.0  # a change never observed by then counts as reverted
    rollback_hold_s: float = DAY_S  # a rolled-back target is not proposed again for this long
    distrust_s: float = DAY_S  # how long an overestimate beyond the margin makes the radio cautious
    min_explore_stations: int = 3  # fewer stations in the window: no exploratory change (module docstring)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A change the optimiser recommends, with what it predicts (rewards, at the snapshot's load)."""

    radio_id: str
    kind: str  # "improve": confident predicted gain; "explore": safe, plausibly better
    baseline: RadioConfig  # the current config: the safe fallback
    target: RadioConfig
    change: ConfigChange  # only the parameters that change
    load: float
    measured_reward: float
    current_mean: float
    predicted_mean: float
    predicted_std: float
    predicted_lcb: float
    predicted_gain: float
    gain_confidence: float
    expected_improvement: float
    trust_radius: int
    observations: int
    candidates_scored: int
    gain_std: float = 0.0  # the gain's standard deviation (covariance with the current config included)

    def optimistic_gain(self, beta: float = 2.0) -> float:
        """``predicted_gain + beta * gain_std``: what an exploratory change could plausibly gain."""
        return self.predicted_gain + beta * self.gain_std


@dataclass(frozen=True, slots=True)
class Keep:
    """Keep the current config; ``code`` is stable for metrics, ``reason`` reads for operators."""

    radio_id: str
    code: str
    reason: str


def _prior(evidence: ChannelEvidence | None, configs: list[RadioConfig]) -> FloatArray:
    """The prior mean of each config's reward (zero without evidence)."""
    if evidence is None:
        return np.zeros(len(configs), dtype=np.float64)
    return evidence.prior_reward([c.channel for c in configs], [c.width_mhz for c in configs])


def _same(a: RadioConfig, b: RadioConfig) -> bool:
    return (a.channel, a.width_mhz, a.tx_power_dbm, a.obss_pd_dbm) == (
        b.channel,
        b.width_mhz,
        b.tx_power_dbm,
        b.obss_pd_dbm,
    )


def _change(before: RadioConfig, after: RadioConfig) -> ConfigChange:
    return ConfigChange(
        channel=after.channel if after.channel != before.channel else None,
        width_mhz=after.width_mhz if after.width_mhz != before.width_mhz else None,
        tx_power_dbm=after.tx_power_dbm if after.tx_power_dbm != before.tx_power_dbm else None,
        obss_pd_dbm=after.obss_pd_dbm if after.obss_pd_dbm != before.obss_pd_dbm else None,
    )


class FastLoopOptimizer:
    def __init__(
        self,
        radio_id: str,
        region: Region,
        band: Band,
        *,
        seed: int,
        settings: OptimizerSettings | None = None,
        budget: ChangeBudget | None = None,
        observations: Iterable[Observation] = (),
        state: LearningState | None = None,
    ) -> None:
        self.radio_id = radio_id
        self.region = region
        self.band = band
        self.settings = settings or OptimizerSettings()
        self.budget = budget if budget is not None else ChangeBudget()
        self._seed = int(np.random.SeedSequence(seed).generate_state(1)[0])
        self._window = windowed(list(observations), self.settings.window)
        self._state = state or LearningState()
        self.last_keep: Keep | None = None
        self.last_outcome: ChangeOutcome | None = None
        self._evidence: ChannelEvidence | None = None  # the latest told, for the hyperparameter fits

    @property
    def observations(self) -> tuple[Observation, ...]:
        """The window the model is fitted on, oldest first."""
        return tuple(self._window)

    @property
    def state(self) -> LearningState:
        return self._state

    def copy(self) -> FastLoopOptimizer:
        return copy.deepcopy(self)

    # -- tell ---------------------------------------------------------------------------------

    def observe(
        self,
        config: RadioConfig,
        load: float,
        reward: float,
        now_s: float,
        evidence: ChannelEvidence | None = None,
    ) -> Observation:
        """Learn that ``config`` earned ``reward`` at ``load`` over the window ending at ``now_s``.

        ``evidence`` (the radio's channel evidence of that window) becomes the prior mean the
        hyperparameters are fitted against; None keeps the last one told.
        """
        if evidence is not None:
            self._evidence = evidence
        obs = Observation(now_s, config, min(1.0, max(0.0, load)), float(reward))
        self._window = windowed([*self._window, obs], self.settings.window)
        state = self._settle(self._state, obs)
        state = state.evolve(
            tells_since_fit=state.tells_since_fit + 1, observations_since_change=state.observations_since_change + 1
        )
        distinct = len({o.config_key() for o in self._window})
        if self.settings.schedule.due(len(self._window), distinct, state.n_at_fit, state.tells_since_fit):
            state = state.evolve(hyperparameters=self._fit(state), n_at_fit=len(self._window), tells_since_fit=0)
        self._state = state
        return obs

    def observe_snapshot(self, snapshot: RadioSnapshot) -> Observation | None:
        """``observe`` the snapshot's reward and load; None (nothing learned) when it has no clients."""
        breakdown = radio_reward(snapshot.telemetry)
        if breakdown is None:
            return None
        load = load_index(snapshot.telemetry.station_count)
        return self.observe(snapshot.config, load, breakdown.reward, snapshot.now_s, snapshot.evidence)

    def fit_hyperparameters(self) -> Hyperparameters:
        """Refit now, off schedule (e.g. in a worker after a restart without stored hyperparameters)."""
        hp = self._fit(self._state)
        self._state = self._state.evolve(hyperparameters=hp, n_at_fit=len(self._window), tells_since_fit=0)
        return hp

    def _fit(self, state: LearningState) -> Hyperparameters:
        features, rewards = self._training(self._evidence)
        start = state.hyperparameters or Hyperparameters()
        return fit_hyperparameters(features, rewards, config_encoder(self.region, self.band).groups, start, self._seed)

    def _settle(self, state: LearningState, obs: Observation) -> LearningState:
        pending = state.pending
        if pending is None:
            return state
        if not _same(obs.config, pending.target):
            if obs.ts_s - pending.applied_s <= self.settings.pending_timeout_s:
                return state  # a window from before the change: wait for the new config
            helped = False  # reverted, or overridden, before it was ever observed
        else:
            helped = obs.reward >= pending.baseline_reward
            self.last_outcome = ChangeOutcome(
                pending.target, pending.predicted_mean, obs.reward, pending.baseline_reward, helped
            )
            # a loss the model did not foresee: worse than before by more than the margin, and short of
            # the prediction by more (a change that helped less than predicted is no safety surprise)
            shortfall = pending.predicted_mean - obs.reward
            margin = self.settings.safety.margin
            if obs.reward < pending.baseline_reward - margin and shortfall > margin:
                recent = tuple(o for o in state.overestimates if obs.ts_s - o[0] < self.settings.distrust_s)
                state = state.evolve(overestimates=(*recent, (obs.ts_s, shortfall)))
        logger.debug("radio %s: change to %s %s", self.radio_id, pending.target, "helped" if helped else "did not help")
        return state.evolve(
            pending=None,
            radius=self.settings.trust.after(state.radius, helped),
            successes=state.successes + helped,
            failures=state.failures + (not helped),
        )

    def _training(self, evidence: ChannelEvidence | None) -> tuple[FloatArray, FloatArray]:
        """GP inputs and targets of the window: rewards less the evidence's prior mean, if any."""
        encoder = config_encoder(self.region, self.band)
        configs = [o.config for o in self._window]
        features = encoder.encode_configs(configs, [o.load for o in self._window])
        rewards = np.asarray([o.reward for o in self._window], dtype=np.float64)
        return features, rewards - _prior(evidence, configs)

    def _posterior(self, evidence: ChannelEvidence | None) -> Posterior:
        features, rewards = self._training(evidence)
        hp = self._state.hyperparameters or Hyperparameters()
        return Posterior(features, rewards, config_encoder(self.region, self.band).groups, hp)

    # -- ask ----------------------------------------------------------------------------------

    def propose(self, snapshot: RadioSnapshot) -> Proposal | None:
        """The recommended change, or None to keep the current config (the reason in ``last_keep``)."""
        decision = self.decide(snapshot)
        self.last_keep = decision if isinstance(decision, Keep) else None
        return decision if isinstance(decision, Proposal) else None

    def decide(self, snapshot: RadioSnapshot) -> Proposal | Keep:
        def keep(code: str, reason: str) -> Keep:
            return Keep(self.radio_id, code, reason)

        breakdown = radio_reward(snapshot.telemetry)
        now = snapshot.now_s
        state = self._state
        if breakdown is None:
            return keep("no_clients", "no client in the window: nothing to optimise")
        if not self.budget.allows(now):
            return keep("daily_budget", f"AP used its {self.budget.max_per_day} changes of the last 24 h")
        if state.pending is not None:
            return keep("awaiting_outcome", f"the change to {state.pending.target} is not observed yet")
        if state.last_change_s is not None and state.observations_since_change < self.settings.settle_observations:
            return keep("settling", f"{state.observations_since_change} observations since the last change")
        if len(self._window) < self.settings.min_observations:
            return keep("too_little_data", f"{len(self._window)} observations, need {self.settings.min_observations}")
        table = candidate_table(self.region, self.band, snapshot.safe)
        inside = self.settings.trust.mask(table, on_ladder(snapshot.config, snapshot.safe), state.radius)
        held = state.held(now)
        rows = np.flatnonzero(inside & ~table.keys_in(held)) if held else np.flatnonzero(inside)
        if rows.size == 0:
            barred = f" ({len(held)} held off after a rollback)" if held else ""
            return keep("no_candidates", f"no legal, safe candidate within trust radius {state.radius}{barred}")
        load = load_index(snapshot.telemetry.station_count)
        encoder = config_encoder(self.region, self.band)
        try:
            reference = encoder.encode_configs([snapshot.config], load)[0]
        except EncodingError as exc:
            return keep("current_config_unknown", str(exc))
        features = encoder.encode(
            table.channel[rows], table.width_mhz[rows], table.tx_power_dbm[rows], table.obss_pd_dbm[rows], load
        )
        evidence = snapshot.evidence
        candidates = [table.channel[rows], table.width_mhz[rows]]
        pred = self._posterior(evidence).predict(features, reference)
        if evidence is not None:
            pred = pred.shifted(evidence.prior_reward(*candidates), float(_prior(evidence, [snapshot.config])[0]))
        stations = snapshot.telemetry.station_count
        few = stations < self.settings.min_explore_stations
        choice = choose(
            pred,
            self.settings.safety,
            self._may_explore(now) and not few,
            self._seen_bad(table, rows, snapshot.config),
            distrust=state.distrust(now, self.settings.distrust_s),
        )
        if isinstance(choice, Refusal):
            if few and choice.code == "no_confident_gain":
                return keep(choice.code, f"{choice.text}; {stations} station(s) are too few to explore with")
            return keep(choice.code, choice.text)
        target = table.config(int(rows[choice.row]), enabled=snapshot.config.enabled)
        return Proposal(
            radio_id=self.radio_id,
            kind=choice.kind,
            baseline=snapshot.config,
            target=target,
            change=_change(snapshot.config, target),
            load=load,
            measured_reward=breakdown.reward,
            current_mean=pred.reference_mean,
            predicted_mean=float(pred.mean[choice.row]),
            predicted_std=float(pred.std[choice.row]),
            predicted_lcb=choice.lcb,
            predicted_gain=choice.gain,
            gain_confidence=choice.confidence,
            expected_improvement=choice.expected_improvement,
            trust_radius=state.radius,
            observations=len(self._window),
            candidates_scored=int(rows.size),
            gain_std=choice.gain_std,
        )

    def _seen_bad(self, table: CandidateTable, rows: IntArray, current: RadioConfig) -> BoolArray:
        """Candidates among ``rows`` measured to lose more than the margin (exploration.seen_unsafe)."""
        keys = [
            (int(table.channel[i]), int(table.width_mhz[i]), float(table.tx_power_dbm[i]), int(table.obss_pd_dbm[i]))
            for i in rows.tolist()
        ]
        here = (current.channel, current.width_mhz, current.tx_power_dbm, current.obss_pd_dbm)
        seen = ((o.config_key(), o.reward) for o in self._window)
        return seen_unsafe(keys, seen, here, self.settings.safety.margin)

    def _may_explore(self, now_s: float) -> bool:
        recent = sum(1 for t in self._state.explorations if now_s - DAY_S < t <= now_s)
        return recent < self.settings.safety.explore_per_day

    def predict(self, configs: list[RadioConfig], load: float) -> list[tuple[float, float]]:
        """Predicted reward (mean, std) of each config at ``load``; needs one observation."""
        if not configs:
            return []
        if not self._window:
            raise ValueError(f"radio {self.radio_id}: no observations to predict from")
        features = config_encoder(self.region, self.band).encode_configs(configs, load)
        pred = self._posterior(None).predict(features, features[0])
        return [(float(m), float(s)) for m, s in zip(pred.mean, pred.std, strict=True)]

    # -- the planner's side -------------------------------------------------------------------

    def applied(self, proposal: Proposal, now_s: float) -> None:
        """The planner applied ``proposal`` at ``now_s``: spend budget, await the outcome."""
        self.budget.record(now_s)
        state = self._state
        explorations = tuple(t for t in state.explorations if t > now_s - DAY_S)
        if proposal.kind == "explore":
            explorations += (now_s,)
        self._state = state.evolve(
            pending=PendingChange(
                proposal.target, now_s, proposal.current_mean, proposal.predicted_mean, proposal.kind
            ),
            last_change_s=now_s,
            observations_since_change=0,
            explorations=explorations,
        )

    def rolled_back(self, target: RadioConfig, now_s: float) -> None:
        """The planner rolled back the change to ``target``: bar it for ``rollback_hold_s``.

        A before/after comparison on the radio itself is the strongest evidence the loop gets;
        without the bar, a prior or a smooth fit that still rates the target well proposes the
        same move again (dense_floor: a 2.4 GHz move onto a partly overlapping channel lost
        0.25, was rolled back and was sent again 20 minutes later, losing 0.23).
        """
        key = (target.channel, target.width_mhz, target.tx_power_dbm, target.obss_pd_dbm)
        state = self._state
        kept = tuple(h for h in state.held_off if h.until_s > now_s and h.config_key != key)
        self._state = state.evolve(held_off=(*kept, HeldOff(key, now_s + self.settings.rollback_hold_s)))

    def changed_recently(self, now_s: float, within_s: float = 600.0) -> bool:
        """Whether a change was applied within ``within_s`` (for period.next_period_s)."""
        last = self._state.last_change_s
        return last is not None and now_s - last < within_s
