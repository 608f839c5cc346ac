"""The fast loop's change planner (seed 000 3.3, issue 7 part 4): pure, one per site (STYLE.md 1-4).

Per radio that is due (``next_period_s``: 60 s after a change or while QoE moves, up to 300 s
when stable), ``iterate`` does one step of

    proposal -> guardrails -> approval if needed -> command -> observation window -> reward
    observed -> tell the model -> keep or roll back

and returns intents (intents.py); the caller (the controller's shim, or the simulator
evaluation) does the I/O: it sends ``SendChange`` and ``RollBack`` to the radio, asks an
operator on ``AwaitApproval`` (then calls ``approve`` or ``reject``), and audits every
``ChangeRecord``.

- A radio with no watched change: its window's reward is told to the optimiser
  (``ObservedReward``). While a same-band neighbour is settling after a channel or width
  change (``settling.py``: less than ``settle_s`` ago, or its fast-loop change is still
  watched) the radio waits (``KeepConfig`` code ``neighbour_settling``, naming the neighbour
  and the change), so predictions and judgements are made on air that stood still. Otherwise
  the optimiser decides on a frozen ``RadioSnapshot``. Proposals of one iteration are judged
  together by the real guardrails (``controller.guardrails.check_iteration``: blast radius
  and neighbours span radios) against the caller's ``NetworkSnapshot`` and ``SitePolicy``.
  An allowed change becomes ``SendChange`` (the optimiser is told ``applied``: budget spent,
  outcome awaited); a refused one ``KeepConfig`` with code ``guardrails`` and the verdict's
  explanation; a shadow-mode AP's ``KeepConfig`` with code ``shadow``.
- A radio with a watched change: once ``observation_s`` has passed, the reward of the window
  since the change is compared with the reward measured in the window before it. Worse by more
  than ``rollback_margin`` -> ``RollBack`` to the previous config; else the change is kept.
  Either way the observed reward is told to the model (a bad reward is what it must learn) and
  the optimiser settles its trust region (core: +1 if it helped, -1 if not); a rolled-back
  target is held off (``rolled_back``: not proposed again for a day). The
  ``ChangeRecord`` holds reason code, predicted and observed effect and the prediction error.

Telemetry windows: ``window_start(radio_id)`` is where the caller's window for the radio must
start (its last iteration, or the change being watched), so a window never mixes configs.

Guardrail inputs: an exploratory proposal is passed with its optimistic gain
(``Proposal.optimistic_gain``) as ``predicted_gain``: the hysteresis rule then checks that it
could plausibly gain the site's minimum, while the optimiser's own safety rule has already
bounded what it may lose. An improvement is passed with its predicted mean gain.

Any optimiser with the ``LoopOptimiser`` interface plugs in (the BO, or a random-search baseline).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from controller.fast_loop.candidates import SafeValues
from controller.fast_loop.channel_evidence import ChannelEvidence
from controller.fast_loop.intents import (
    AwaitApproval,
    ChangeRecord,
    Intent,
    KeepChange,
    KeepConfig,
    ObservedReward,
    RollBack,
    SendChange,
)
from controller.fast_loop.optimizer import Keep, Proposal
from controller.fast_loop.period import FAST_S, next_period_s
from controller.fast_loop.planner_state import RadioPlanState, WatchState
from controller.fast_loop.reward import load_index, prediction_error, radio_reward
from controller.fast_loop.settling import SettlingChanges
from controller.fast_loop.telemetry import LoopTelemetry, RadioSnapshot
from controller.guardrails import NetworkSnapshot, Verdict, check_iteration
from controller.guardrails import Proposal as GuardProposal
from controller.site_policy import SitePolicy
from radio_domain.radio import Band, ConfigChange, RadioConfig, split_radio_id
from radio_domain.regulatory import Region

FAST_LOOP = "FAST"
Judge = Callable[[Sequence[GuardProposal]], Sequence[Verdict]]
RECENT_QOE = 5  # figures next_period_s looks at


class LoopOptimiser(Protocol):
    """The ask/tell interface the planner drives (FastLoopOptimizer has it)."""

    def observe(
        self, config: RadioConfig, load: float, reward: float, now_s: float, evidence: ChannelEvidence | None = None
    ) -> object: ...
    def decide(self, snapshot: RadioSnapshot) -> Proposal | Keep: ...
    def applied(self, proposal: Proposal, now_s: float) -> None: ...
    def rolled_back(self, target: RadioConfig, now_s: float) -> None: ...
    def changed_recently(self, now_s: float, within_s: float = 600.0) -> bool: ...


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    observation_s: float = 120.0  # window after a change before it is judged
    rollback_margin: float = 0.02  # reward units the change may lose before it is rolled back
    beta: float = 2.0  # for the optimistic gain of an exploratory proposal
    settle_s: float = 120.0  # a neighbour's change settles this long before a radio decides (settling.py)


@dataclass(frozen=True, slots=True)
class RadioReading:
    """What the caller knows of one radio now: its config and its window since ``window_start``."""

    radio_id: str
    config: RadioConfig
    telemetry: LoopTelemetry | None
    safe: SafeValues = field(default_factory=SafeValues)
    evidence: ChannelEvidence | None = None


@dataclass(slots=True)
class _Watch:
    change_id: str
    proposal: Proposal
    applied_s: float


@dataclass(slots=True)
class _Radio:
    radio_id: str
    band: Band
    optimiser: LoopOptimiser
    next_due_s: float
    window_start_s: float
    recent_qoe: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_QOE))
    watch: _Watch | None = None


def config_change(before: RadioConfig, after: RadioConfig) -> ConfigChange:
    """The partial change that turns ``before`` into ``after`` (only what differs)."""
    return ConfigChange(
        channel=after.channel if after.channel != before.channel else None,
        width_mhz=after.width_mhz if after.width_mhz != before.width_mhz else None,
        tx_power_dbm=after.tx_power_dbm if after.tx_power_dbm != before.tx_power_dbm else None,
        obss_pd_dbm=after.obss_pd_dbm if after.obss_pd_dbm != before.obss_pd_dbm else None,
    )


def _same(a: RadioConfig, b: RadioConfig) -> bool:
    return (a.channel, a.width_mhz, a.tx_power_dbm, a.obss_pd_dbm) == (
        b.channel,
        b.width_mhz,
        b.tx_power_dbm,
        b.obss_pd_dbm,
    )


class ChangePlanner:
    """The fast loop of one site: radios, their optimisers, watched changes and the audit records."""

    def __init__(self, region: Region, settings: PlannerSettings | None = None, start_s: float = 0.0) -> None:
        self.region = region
        self.settings = settings or PlannerSettings()
        self._start_s = start_s
        self._radios: dict[str, _Radio] = {}
        self._awaiting: dict[str, tuple[str, Proposal]] = {}  # change id -> (radio id, proposal)
        self._serial = 0
        self.records: list[ChangeRecord] = []

    def add_radio(self, radio_id: str, optimiser: LoopOptimiser) -> None:
        band = split_radio_id(radio_id)[1]
        self._radios[radio_id] = _Radio(radio_id, band, optimiser, self._start_s, self._start_s)

    def optimiser(self, radio_id: str) -> LoopOptimiser:
        return self._radios[radio_id].optimiser

    def due(self, now_s: float) -> list[str]:
        """Radios whose next iteration is due at ``now_s``, sorted."""
        return sorted(r.radio_id for r in self._radios.values() if r.next_due_s <= now_s)

    def next_due(self, radio_id: str) -> float:
        """When the radio's next iteration is due."""
        return self._radios[radio_id].next_due_s

    def window_start(self, radio_id: str) -> float:
        """Where the radio's telemetry window must start (its last iteration or the watched change)."""
        return self._radios[radio_id].window_start_s

    def watching(self, radio_id: str) -> bool:
        return self._radios[radio_id].watch is not None

    def watched_changes(self) -> dict[str, str]:
        """Radio id -> the id of the change it is watching."""
        return {r.radio_id: r.watch.change_id for r in self._radios.values() if r.watch is not None}

    # -- persistence (planner_state.py) -------------------------------------------------------

    @property
    def serial(self) -> int:
        """The number in the last change id handed out."""
        return self._serial

    def restore_serial(self, serial: int) -> None:
        self._serial = max(self._serial, serial)

    def plan_state(self, radio_id: str) -> RadioPlanState:
        """What the planner holds for the radio, to persist."""
        radio = self._radios[radio_id]
        watch = radio.watch
        return RadioPlanState(
            radio.next_due_s,
            radio.window_start_s,
            tuple(radio.recent_qoe),
            None if watch is None else WatchState(watch.change_id, watch.proposal, watch.applied_s),
        )

    def restore(self, radio_id: str, state: RadioPlanState) -> None:
        """Take back a persisted ``plan_state`` for an added radio (after a restart)."""
        radio = self._radios[radio_id]
        radio.next_due_s = state.next_due_s
        radio.window_start_s = state.window_start_s
        radio.recent_qoe.clear()
        radio.recent_qoe.extend(state.recent_qoe)
        watch = state.watch
        radio.watch = None if watch is None else _Watch(watch.change_id, watch.proposal, watch.applied_s)

    # -- one iteration ------------------------------------------------------------------------

    def iterate(
        self,
        now_s: float,
        readings: Mapping[str, RadioReading],
        network: NetworkSnapshot,
        site: SitePolicy,
        judge: Judge | None = None,
    ) -> list[Intent]:
        """One loop iteration over the due radios among ``readings`` (module docstring).

        ``judge`` turns the iteration's guardrail proposals into verdicts; by default the
        guardrails on ``network`` and ``site``. The controller passes its change pipeline, which
        also routes each verdict (sends, records shadow, queues approvals); a ``SendChange`` then
        says what the pipeline sent.
        """
        intents: list[Intent] = []
        proposals: list[tuple[_Radio, Proposal]] = []
        settling = SettlingChanges.of(network, now_s, self.settings.settle_s, self._watch_closes())
        for radio_id in self.due(now_s):
            reading = readings.get(radio_id)
            if reading is not None:
                intents += self._radio_step(self._radios[radio_id], reading, now_s, proposals, settling)
        if judge is None:
            judge = lambda guarded: check_iteration(guarded, network, site, now_s)  # noqa: E731
        intents += self._judge_proposals(proposals, judge, now_s)
        return intents

    def _radio_step(
        self,
        radio: _Radio,
        reading: RadioReading,
        now_s: float,
        proposals: list[tuple[_Radio, Proposal]],
        settling: SettlingChanges,
    ) -> list[Intent]:
        watch = radio.watch
        if watch is not None and now_s - watch.applied_s < self.settings.observation_s:
            radio.next_due_s = watch.applied_s + self.settings.observation_s
            return [KeepConfig(radio.radio_id, "observing", f"watching change {watch.change_id}")]
        breakdown = None if reading.telemetry is None else radio_reward(reading.telemetry)
        if reading.telemetry is None or breakdown is None:
            if watch is not None and not _same(reading.config, watch.proposal.target):
                return [self._not_applied(radio, watch, now_s)]
            radio.window_start_s = now_s
            radio.next_due_s = now_s + FAST_S
            return [KeepConfig(radio.radio_id, "no_clients", "no client in the window: nothing to judge or optimise")]
        radio.recent_qoe.append(breakdown.qoe)
        load = load_index(reading.telemetry.station_count)
        told = ObservedReward(radio.radio_id, reading.config, load, breakdown.reward)
        radio.optimiser.observe(reading.config, load, breakdown.reward, now_s, reading.evidence)
        radio.window_start_s = now_s
        if watch is not None:
            return [told, self._judge_change(radio, watch, reading.config, breakdown.reward, now_s)]
        unsettled = settling.for_radio(radio.radio_id)
        if unsettled is not None:
            radio.next_due_s = max(now_s + 1.0, unsettled.settles_at_s)
            return [told, KeepConfig(radio.radio_id, "neighbour_settling", unsettled.explain(now_s))]
        snapshot = RadioSnapshot(
            radio.radio_id,
            self.region,
            radio.band,
            now_s,
            reading.config,
            reading.telemetry,
            reading.safe,
            reading.evidence,
        )
        decision = radio.optimiser.decide(snapshot)
        self._schedule(radio, now_s)
        if isinstance(decision, Keep):
            return [told, KeepConfig(radio.radio_id, decision.code, decision.reason)]
        proposals.append((radio, decision))
        return [told]

    def _watch_closes(self) -> dict[str, tuple[str, float]]:
        """Open watches of changes that move a BSS in the spectrum (channel or width)."""
        return {
            r.radio_id: (r.watch.change_id, r.watch.applied_s + self.settings.observation_s)
            for r in self._radios.values()
            if r.watch is not None
            and (r.watch.proposal.change.channel is not None or r.watch.proposal.change.width_mhz is not None)
        }

    def _schedule(self, radio: _Radio, now_s: float) -> None:
        radio.next_due_s = now_s + next_period_s(list(radio.recent_qoe), radio.optimiser.changed_recently(now_s))

    # -- guardrails ---------------------------------------------------------------------------

    def _judge_proposals(
        self, proposals: Sequence[tuple[_Radio, Proposal]], judge: Judge, now_s: float
    ) -> list[Intent]:
        if not proposals:
            return []
        guarded = [self._guard_proposal(p) for _, p in proposals]
        verdicts = judge(guarded)
        intents: list[Intent] = []
        for (radio, proposal), verdict in zip(proposals, verdicts, strict=True):
            change_id = verdict.proposal.change_id
            if not verdict.allowed:
                intents.append(KeepConfig(radio.radio_id, "guardrails", verdict.explain()))
            elif verdict.shadow:
                intents.append(KeepConfig(radio.radio_id, "shadow", f"{change_id}: {verdict.explain()}"))
            elif verdict.needs_approval:
                self._awaiting[change_id] = (radio.radio_id, proposal)
                intents.append(AwaitApproval(radio.radio_id, change_id, verdict))
            else:
                intents.append(self._send(radio, proposal, change_id, verdict.proposal, now_s))
        return intents

    def _guard_proposal(self, proposal: Proposal) -> GuardProposal:
        self._serial += 1
        gain = proposal.predicted_gain if proposal.kind == "improve" else proposal.optimistic_gain(self.settings.beta)
        return GuardProposal(
            change_id=f"fast-{self._serial:06d}",
            radio_id=proposal.radio_id,
            change=proposal.change,
            loop=FAST_LOOP,
            reason=f"{proposal.kind}: predicted reward {proposal.predicted_mean:.3f} "
            f"(+{proposal.predicted_gain:.3f}, sd {proposal.predicted_std:.3f}) at load {proposal.load:.2f}",
            predicted_gain=gain,
            inputs={
                "kind": proposal.kind,
                "measured_reward": proposal.measured_reward,
                "current_mean": proposal.current_mean,
                "predicted_mean": proposal.predicted_mean,
                "predicted_lcb": proposal.predicted_lcb,
                "trust_radius": proposal.trust_radius,
                "observations": proposal.observations,
            },
        )

    def _send(
        self, radio: _Radio, proposal: Proposal, change_id: str, guarded: GuardProposal, now_s: float
    ) -> SendChange:
        radio.optimiser.applied(proposal, now_s)
        radio.watch = _Watch(change_id, proposal, now_s)
        radio.window_start_s = now_s
        radio.next_due_s = now_s + self.settings.observation_s
        return SendChange(
            radio.radio_id,
            change_id,
            proposal.change,
            proposal.target,
            proposal.kind,
            guarded.predicted_gain,
            guarded.reason,
        )

    # -- approvals and failed sends -----------------------------------------------------------

    def approve(self, change_id: str, current: RadioConfig, now_s: float) -> SendChange | KeepConfig:
        """An operator approved ``change_id``; sent unless the radio moved meanwhile or is busy."""
        radio_id, proposal = self._awaiting.pop(change_id)
        radio = self._radios[radio_id]
        if radio.watch is not None or not _same(current, proposal.baseline):
            return KeepConfig(radio_id, "stale_approval", f"{change_id}: the radio changed since it was proposed")
        guarded = self._guard_proposal(proposal)
        return self._send(radio, proposal, change_id, guarded, now_s)

    def reject(self, change_id: str) -> None:
        self._awaiting.pop(change_id, None)

    def send_failed(self, change_id: str, now_s: float) -> ChangeRecord | None:
        """The shim could not apply ``change_id``: stop watching it (the optimiser's pending change
        times out as reverted)."""
        for radio in self._radios.values():
            if radio.watch is not None and radio.watch.change_id == change_id:
                return self._not_applied(radio, radio.watch, now_s).record
        return None

    # -- judging a change ---------------------------------------------------------------------

    def _judge_change(
        self, radio: _Radio, watch: _Watch, config: RadioConfig, observed: float, now_s: float
    ) -> KeepChange | RollBack:
        proposal = watch.proposal
        radio.watch = None
        if not _same(config, proposal.target):
            return self._not_applied(radio, watch, now_s)
        worse = observed < proposal.measured_reward - self.settings.rollback_margin
        record = ChangeRecord(
            change_id=watch.change_id,
            radio_id=radio.radio_id,
            kind=proposal.kind,
            code="rolled_back" if worse else "kept",
            baseline=proposal.baseline,
            target=proposal.target,
            applied_s=watch.applied_s,
            judged_s=now_s,
            baseline_reward=proposal.measured_reward,
            predicted_reward=proposal.predicted_mean,
            observed_reward=observed,
            predicted_effect=proposal.predicted_mean - proposal.current_mean,
            observed_effect=observed - proposal.measured_reward,
            prediction_error=prediction_error(proposal.predicted_mean, observed),
        )
        self.records.append(record)
        radio.next_due_s = now_s + FAST_S
        if not worse:
            return KeepChange(record)
        radio.optimiser.rolled_back(proposal.target, now_s)
        return RollBack(
            radio.radio_id,
            watch.change_id,
            config_change(proposal.target, proposal.baseline),
            f"reward {observed:.3f} after the change, {proposal.measured_reward:.3f} before "
            f"(worse by more than {self.settings.rollback_margin:g})",
            record,
        )

    def _not_applied(self, radio: _Radio, watch: _Watch, now_s: float) -> KeepChange:
        radio.watch = None
        radio.window_start_s = now_s
        radio.next_due_s = now_s + FAST_S
        proposal = watch.proposal
        record = ChangeRecord(
            change_id=watch.change_id,
            radio_id=radio.radio_id,
            kind=proposal.kind,
            code="not_applied",
            baseline=proposal.baseline,
            target=proposal.target,
            applied_s=watch.applied_s,
            judged_s=now_s,
            baseline_reward=proposal.measured_reward,
            predicted_reward=proposal.predicted_mean,
            observed_reward=None,
            predicted_effect=proposal.predicted_mean - proposal.current_mean,
            observed_effect=None,
            prediction_error=None,
        )
        self.records.append(record)
        return KeepChange(record)
