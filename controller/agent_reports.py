"""The scheduler's view of what agents report: their events, and the changes they made themselves.

One conversion for the controller (controller/scheduler_shim.py, from stored messages) and the
system evaluation (rrm/evaluation/system_eval.py, from the agents' outboxes).
"""

from __future__ import annotations

from controller.ap_locks import ReportedAction, ReportedEvent
from radio_domain.radio import split_radio_id
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import WireError, event_type_from_pb


def reported(msg: pb.AgentMessage) -> ReportedEvent | ReportedAction | None:
    """An event on a radio, or an applied action of the agent's own; None for anything else."""
    body = msg.WhichOneof("body")
    if body == "event" and msg.event.radio_id:
        e = msg.event
        try:
            kind = event_type_from_pb(e.type)
        except WireError:
            return None
        return ReportedEvent(e.event_id, e.radio_id, _ap(e.radio_id), kind, e.timestamp_ms / 1000.0)
    if body == "action_report" and msg.action_report.status == pb.APPLIED:
        r = msg.action_report
        origin = pb.ActionOrigin.Name(r.origin)
        changed = r.before.SerializeToString(deterministic=True) != r.after.SerializeToString(deterministic=True)
        at = r.completed_at_ms / 1000.0
        return ReportedAction(r.action_id, r.radio_id, _ap(r.radio_id), origin, at, r.reason, changed)
    return None


def action_kind(r: pb.ActionReport) -> str:
    """``ORIGIN:STATUS``; an applied action that left the config as it was (client steering) is ``ORIGIN:STEERED``."""
    status = pb.ActionStatus.Name(r.status)
    if r.status == pb.APPLIED and r.before.SerializeToString(deterministic=True) == r.after.SerializeToString(
        deterministic=True
    ):
        status = "STEERED"
    return f"{pb.ActionOrigin.Name(r.origin)}:{status}"


def _ap(radio_id: str) -> str:
    try:
        return split_radio_id(radio_id)[0]
    except ValueError:
        return radio_id
