"""What the change planner must remember across a controller restart, as plain JSON.

Per radio: when its next iteration is due, where its telemetry window starts, its recent QoE
figures (the adaptive period) and the change it is watching (id, the proposal with its predicted
effect, when it was applied), so a change applied before a restart is still judged, kept or
rolled back after it, against the reward measured before it. Per site: the serial of the last
change id, so ids are never reused. The optimisers' own state (budget, trust region, pending
change, observations) is persisted by store.py; approvals wait in the controller's approval
queue, not here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from controller.fast_loop.history import config_from_json, config_to_json
from controller.fast_loop.optimizer import Proposal
from radio_domain.radio import ConfigChange

_CONFIGS = ("baseline", "target")


@dataclass(frozen=True, slots=True)
class WatchState:
    change_id: str
    proposal: Proposal
    applied_s: float


@dataclass(frozen=True, slots=True)
class RadioPlanState:
    next_due_s: float
    window_start_s: float
    recent_qoe: tuple[float, ...] = ()
    watch: WatchState | None = None

    def to_json(self) -> dict[str, Any]:
        watch = self.watch
        return {
            "next_due_s": self.next_due_s,
            "window_start_s": self.window_start_s,
            "recent_qoe": list(self.recent_qoe),
            "watch": None
            if watch is None
            else {
                "change_id": watch.change_id,
                "applied_s": watch.applied_s,
                "proposal": proposal_to_json(watch.proposal),
            },
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> RadioPlanState:
        w = data.get("watch")
        return RadioPlanState(
            next_due_s=float(data["next_due_s"]),
            window_start_s=float(data["window_start_s"]),
            recent_qoe=tuple(float(q) for q in data.get("recent_qoe", ())),
            watch=None
            if w is None
            else WatchState(str(w["change_id"]), proposal_from_json(w["proposal"]), float(w["applied_s"])),
        )


def proposal_to_json(proposal: Proposal) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: getattr(proposal, name) for name in Proposal.__dataclass_fields__ if name not in (*_CONFIGS, "change")
    }
    for name in _CONFIGS:
        out[name] = config_to_json(getattr(proposal, name))
    out["change"] = {k: v for k, v in asdict(proposal.change).items() if v is not None}
    return out


def proposal_from_json(data: dict[str, Any]) -> Proposal:
    fields: dict[str, Any] = {k: v for k, v in data.items() if k not in (*_CONFIGS, "change")}
    change = data["change"]
    return Proposal(
        **fields,
        baseline=config_from_json(data["baseline"]),
        target=config_from_json(data["target"]),
        change=ConfigChange(
            channel=change.get("channel"),
            width_mhz=change.get("width_mhz"),
            tx_power_dbm=change.get("tx_power_dbm"),
            obss_pd_dbm=change.get("obss_pd_dbm"),
        ),
    )
