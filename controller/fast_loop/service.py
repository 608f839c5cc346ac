"""The fast loop inside the controller process: the thin shim around the pure ``ChangePlanner``.

``FastLoopService.tick(now)`` is called every few seconds by the controller's fast-loop task
(controller/app.py). It does the I/O the planner leaves to its caller (planner.py):

- finds the site's radios in the ``NetworkView`` snapshot and gives each new one an optimiser,
  warm-started from ``FastLoopStore`` (observations, learned state, the AP's daily budget) and its
  planner state (due time, window start, a watched change) as persisted before a restart;
- reads each due radio's window since ``planner.window_start`` from ``TelemetryWindows`` and
  its channel evidence from the latest samples (evidence_source.py);
- runs ``ChangePlanner.iterate`` with a judge that depends on the mode:
  ``on``: the controller's ``ChangePipeline.propose`` (guardrails, site shadow mode, approvals,
  commands with rollback tokens, the ledger, the signed audit: the same path as every change);
  ``shadow``: the guardrails alone, every verdict marked shadow, the proposal audited as
  ``fast_loop_would_change`` (once per distinct target), nothing sent;
- follows approvals and failures through the pipeline's ledger (approved and sent: the planner
  watches it; rejected: dropped; failed: not applied);
- on a judged change audits a ``fast_loop_change_judged`` record with predicted against observed
  effect and the prediction error, and on a rollback sends it through the pipeline's rollback
  supervisor (the change's rollback token);
- persists what it learned (observations, learned state, budget, planner state, change serial).

One service per controller: a controller owns one site (one region, ARCHITECTURE.md scale-out).
Time comes in as ``now`` (STYLE.md 4); the GP work runs on the caller's thread (~13 ms per
radio iteration at 200 observations, rrm bench bo).
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import asdict, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from controller.audit_chain import AuditDraft
from controller.change_ledger import ChangeState
from controller.fast_loop.candidates import SafeValues
from controller.fast_loop.evidence_source import evidence_for
from controller.fast_loop.exploration import ChangeBudget
from controller.fast_loop.intents import AwaitApproval, ChangeRecord, KeepChange, ObservedReward, RollBack, SendChange
from controller.fast_loop.planner import ChangePlanner, RadioReading
from controller.fast_loop.store import FastLoopStore
from controller.fast_loop.telemetry import LoopTelemetry
from controller.guardrails import NetworkSnapshot, Verdict, check_iteration
from controller.guardrails import Proposal as GuardProposal
from controller.network_view import NetworkView
from controller.rollback_supervisor import applied_change
from controller.site_policy import SitePolicy
from controller.telemetry_window import TelemetryWindows, aggregate
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import ms

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from controller.change_pipeline import AuditSink, ChangePipeline
    from controller.fast_loop.optimizer import FastLoopOptimizer

log = logging.getLogger(__name__)

SITE = "site"
MAX_CHANGES_PER_AP_DAY = 6  # with a rollback after each, at most 12 writes a day (issue 7)
_SENT = (ChangeState.SENT, ChangeState.APPLIED, ChangeState.KEPT)
_ENDED = (ChangeState.REJECTED, ChangeState.REFUSED, ChangeState.FAILED, ChangeState.SHADOW)


class FastLoopMode(StrEnum):
    OFF = "off"
    SHADOW = "shadow"
    ON = "on"


class FastLoopService:
    def __init__(
        self,
        *,
        mode: FastLoopMode,
        store: FastLoopStore,
        telemetry: TelemetryWindows,
        view: NetworkView,
        pipeline: ChangePipeline,
        audit: AuditSink,
        site: Callable[[], SitePolicy],
        agents: Callable[[], Iterable[str]],
        seed: int = 0,
    ) -> None:
        self.mode = mode
        self._store = store
        self._telemetry = telemetry
        self._view = view
        self._pipeline = pipeline
        self._audit = audit
        self._site = site
        self._agents = agents
        self._seed = seed
        self.planner: ChangePlanner | None = None
        self._optimisers: dict[str, FastLoopOptimizer] = {}
        self._budgets: dict[str, ChangeBudget] = {}
        self._awaiting: set[str] = set()
        self._shadowed: dict[str, str] = {}  # radio -> the change last audited as would-change

    def close(self) -> None:
        self._store.close()

    def optimiser(self, radio_id: str) -> FastLoopOptimizer:
        """The radio's optimiser (KeyError before the loop has seen the radio)."""
        return self._optimisers[radio_id]

    def tick(self, now: float, allows: Callable[[str], bool] | None = None) -> None:
        """One pass: new radios, approvals and failures, the due radios' iteration, persistence.

        ``allows`` is the scheduler's say (controller/fast_gate.py): a due radio it holds back (its AP
        locked by an event, cooling down, or being changed by the slow loop) is not iterated this tick,
        so its optimiser neither learns from a window its lock disturbed nor proposes; it stays due.
        """
        if self.mode is FastLoopMode.OFF:
            return
        network = self._view.snapshot(now)
        planner = self._planner(network, now)
        self._follow_ledger(planner, network, now)
        due = [r for r in planner.due(now) if allows is None or allows(r)]
        if not due:
            return
        latest = self._latest_samples(now)
        readings = {r: reading for r in due if (reading := self._reading(r, network, latest, now)) is not None}
        site = self._site()
        for intent in planner.iterate(now, readings, network, site, self._judge(network, site, now)):
            self._handle(intent, now)
        for radio_id in due:
            self._store.save_plan(radio_id, planner.plan_state(radio_id))
            self._store.save_state(radio_id, self._optimisers[radio_id].state)
        self._store.save_serial(SITE, planner.serial)
        self._audit.flush()

    # -- radios -------------------------------------------------------------------------------

    def _planner(self, network: NetworkSnapshot, now: float) -> ChangePlanner:
        from controller.fast_loop.optimizer import FastLoopOptimizer  # noqa: PLC0415 - skopt only when it runs

        planner = self.planner
        if planner is None:
            planner = self.planner = ChangePlanner(network.region, start_s=now)
            planner.restore_serial(self._store.load_serial(SITE))
        for radio_id, view in sorted(network.radios.items()):
            if radio_id in self._optimisers:
                continue
            budget = self._budgets.get(view.ap_id)
            if budget is None:
                budget = self._store.load_budget(view.ap_id, now, MAX_CHANGES_PER_AP_DAY)
                self._budgets[view.ap_id] = budget
            seed = zlib.crc32(f"{self._seed}:{radio_id}".encode())
            optimiser = self._store.load_optimizer(radio_id, network.region, view.band, seed=seed, budget=budget)
            assert isinstance(optimiser, FastLoopOptimizer)
            self._optimisers[radio_id] = optimiser
            planner.add_radio(radio_id, optimiser)
            saved = self._store.load_plan(radio_id)
            if saved is not None:
                planner.restore(radio_id, saved)
        return planner

    def _latest_samples(self, now: float) -> dict[str, pb.RadioSample]:
        latest: dict[str, pb.RadioSample] = {}
        for agent_id in sorted(self._agents()):
            latest.update(self._view.latest_samples(agent_id, now))
        return latest

    def _reading(
        self, radio_id: str, network: NetworkSnapshot, latest: dict[str, pb.RadioSample], now: float
    ) -> RadioReading | None:
        assert self.planner is not None
        view = network.radios.get(radio_id)
        if view is None:
            return None
        since_ms = ms(self.planner.window_start(radio_id))
        samples = [s for s in self._telemetry.samples(radio_id, ms(now)) if s.ts_ms > since_ms]
        agg = aggregate(radio_id, samples)
        window = None if agg is None else LoopTelemetry.from_aggregate(agg)
        policy = self._site().for_ap(view.ap_id)
        safe = SafeValues.from_zones(policy.zones, policy.pins, view.config)
        evidence = None if window is None else evidence_for(radio_id, latest, network.region, window.cca_busy_p50)
        return RadioReading(radio_id, view.config, window, safe, evidence)

    # -- judging ------------------------------------------------------------------------------

    def _judge(
        self, network: NetworkSnapshot, site: SitePolicy, now: float
    ) -> Callable[[Sequence[GuardProposal]], Sequence[Verdict]]:
        if self.mode is FastLoopMode.ON:
            return self._pipeline.propose

        def shadow(proposals: Sequence[GuardProposal]) -> Sequence[Verdict]:
            verdicts = [replace(v, shadow=True) for v in check_iteration(proposals, network, site, now)]
            for verdict in verdicts:
                self._audit_shadow(verdict, network, now)
            return verdicts

        return shadow

    def _handle(self, intent: object, now: float) -> None:
        if isinstance(intent, ObservedReward):
            self._store.append(intent.radio_id, self._optimisers[intent.radio_id].observations[-1])
        elif isinstance(intent, SendChange):
            ap_id = intent.radio_id.split("/")[0]
            self._store.record_change(ap_id, intent.radio_id, now)
        elif isinstance(intent, AwaitApproval):
            self._awaiting.add(intent.change_id)
        elif isinstance(intent, KeepChange):
            self._audit_judged(intent.record, now)
        elif isinstance(intent, RollBack):
            self._audit_judged(intent.record, now)
            self._roll_back(intent, now)

    def _follow_ledger(self, planner: ChangePlanner, network: NetworkSnapshot, now: float) -> None:
        """Approved changes the pipeline sent are watched; rejected ones dropped; failed ones ended."""
        ledger = self._pipeline.ledger
        for change_id in sorted(self._awaiting):
            entry = ledger.get(change_id)
            if entry is None or entry.state is ChangeState.AWAITING_APPROVAL:
                continue
            self._awaiting.discard(change_id)
            view = network.radios.get(entry.radio_id)
            if entry.state in _SENT and view is not None:
                planner.approve(change_id, view.config, now)
                self._store.record_change(entry.ap_id, entry.radio_id, now)
            else:
                planner.reject(change_id)
        for change_id in planner.watched_changes().values():
            entry = ledger.get(change_id)
            if entry is not None and entry.state in _ENDED:
                planner.send_failed(change_id, now)

    def _roll_back(self, intent: RollBack, now: float) -> None:
        entry = self._pipeline.ledger.get(intent.change_id)
        if entry is None or entry.state not in (ChangeState.APPLIED, ChangeState.KEPT):
            log.info("radio %s: change %s is %s, no rollback sent", intent.radio_id, intent.change_id, entry)
            return
        self._pipeline.rollbacks.roll_back([applied_change(entry)], intent.reason, "controller:fast", now)

    # -- audit --------------------------------------------------------------------------------

    def _audit_shadow(self, verdict: Verdict, network: NetworkSnapshot, now: float) -> None:
        """What the loop would have sent (once per distinct change of a radio), with its verdict."""
        proposal = verdict.proposal
        parameters = {k: v for k, v in asdict(proposal.change).items() if v is not None}
        key = repr(sorted(parameters.items()))
        if self._shadowed.get(proposal.radio_id) == key:
            return
        self._shadowed[proposal.radio_id] = key
        view = network.radios.get(proposal.radio_id)
        before = None if view is None else view.config
        self._audit.append(
            AuditDraft(
                timestamp_ms=ms(now),
                actor="controller:fast",
                record_type="fast_loop_would_change",
                reason_code="FAST_SHADOW" if verdict.allowed else "FAST_SHADOW_REFUSED",
                reason=proposal.reason,
                ap_id=proposal.radio_id.split("/")[0],
                radio_id=proposal.radio_id,
                change_id=proposal.change_id,
                inputs={"verdict": verdict.explain(), "inputs": dict(proposal.inputs)},
                before=None if before is None else asdict(before),
                after=None if before is None else asdict(proposal.change.apply_to(before)),
                predicted_effect={"reward_gain": proposal.predicted_gain},
                outcome="SHADOW",
            )
        )

    def _audit_judged(self, record: ChangeRecord, now: float) -> None:
        self._audit.append(
            AuditDraft(
                timestamp_ms=ms(now),
                actor="controller:fast",
                record_type="fast_loop_change_judged",
                reason_code=f"FAST_{record.code.upper()}",
                reason=f"{record.kind} change judged {record.code}",
                ap_id=record.radio_id.split("/")[0],
                radio_id=record.radio_id,
                change_id=record.change_id,
                before=asdict(record.baseline),
                after=asdict(record.target),
                predicted_effect={"reward": record.predicted_effect, "predicted_reward": record.predicted_reward},
                observed_effect={
                    "reward": record.observed_effect,
                    "observed_reward": record.observed_reward,
                    "baseline_reward": record.baseline_reward,
                    "prediction_error": record.prediction_error,
                },
                outcome=record.code.upper(),
            )
        )
