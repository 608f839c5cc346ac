"""What makes an agent's message acceptable: pure checks that name the offending field.

``invalid_reason`` answers "can this message ever be stored?" (if not, the agent is told with a
Rejection and the stream goes on). ``foreign_radios`` answers "does the agent speak for radios it
does not own?" (if so the stream is closed with PERMISSION_DENIED: that is a security matter).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from radio_domain.radio import split_radio_id
from radio_domain.regulatory import RegulatoryError, parse_region
from rrm.v1 import agent_link_pb2 as pb

WIDTHS = (20, 40, 80, 160)
_FRACTIONS = (
    "channel_utilization",
    "cca_busy",
    "tx_airtime",
    "retry_rate",
    "packet_error_rate",
    "non_wifi_duty",
)


def _sample_problem(where: str, s: pb.RadioSample) -> str | None:
    if not s.radio_id:
        return f"{where}.radio_id is empty"
    if s.timestamp_ms <= 0:
        return f"{where}.timestamp_ms is {s.timestamp_ms}; a unix time in ms is required"
    for name in _FRACTIONS:
        value = getattr(s, name)
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            return f"{where}.{name}: {value} is outside [0, 1]"
    if s.config.width_mhz not in WIDTHS:
        return f"{where}.config.width_mhz: {s.config.width_mhz} is not one of {list(WIDTHS)}"
    for i, c in enumerate(s.clients):
        if not all(math.isfinite(v) for v in (c.rssi_dbm, c.snr_db, c.tx_rate_mbps, c.throughput_mbps)):
            return f"{where}.clients[{i}] has a non-finite value"
        if c.HasField("qoe") and not 0.0 <= c.qoe <= 1.0:
            return f"{where}.clients[{i}].qoe: {c.qoe} is outside [0, 1]"
    return None


def invalid_reason(msg: pb.AgentMessage, max_batch_samples: int) -> str | None:
    """Why a durable message can never be accepted, or None."""
    body = msg.WhichOneof("body")
    if not msg.message_id:
        return f"{body}: message_id is empty; durable messages need an idempotent id"
    if len(msg.message_id) > 128:
        return f"{body}: message_id is {len(msg.message_id)} characters; at most 128"
    if body == "telemetry":
        samples = msg.telemetry.samples
        if not samples:
            return "telemetry.samples is empty"
        if len(samples) > max_batch_samples:
            return f"telemetry.samples holds {len(samples)} samples; at most {max_batch_samples} per batch"
        for i, s in enumerate(samples):
            if (problem := _sample_problem(f"telemetry.samples[{i}]", s)) is not None:
                return problem
    elif body == "event":
        e = msg.event
        if e.type not in pb.EventType.values() or e.type == pb.EVENT_TYPE_UNSPECIFIED:
            return f"event.type: {e.type} is not a known event type"
        if not (math.isfinite(e.confidence) and 0.0 <= e.confidence <= 1.0):
            return f"event.confidence: {e.confidence} is outside [0, 1]"
        if e.timestamp_ms <= 0:
            return f"event.timestamp_ms is {e.timestamp_ms}"
    elif body == "action_report":
        r = msg.action_report
        if not r.radio_id:
            return "action_report.radio_id is empty"
        if r.status not in pb.ActionStatus.values() or r.status == pb.ACTION_STATUS_UNSPECIFIED:
            return f"action_report.status: {r.status} is not a known status"
    elif body == "audit" and len(msg.audit.record_hash) != 32:
        return f"audit.record_hash is {len(msg.audit.record_hash)} bytes; a SHA-256 (32 bytes) is required"
    return None


def _radio_ids(msg: pb.AgentMessage) -> Iterator[str]:
    body = msg.WhichOneof("body")
    if body == "telemetry":
        yield from (s.radio_id for s in msg.telemetry.samples)
    elif body == "event" and msg.event.radio_id:
        yield msg.event.radio_id
    elif body == "action_report":
        yield msg.action_report.radio_id
    elif body == "audit" and msg.audit.radio_id:
        yield msg.audit.radio_id


def foreign_radios(msg: pb.AgentMessage, own: frozenset[str]) -> list[str]:
    """Radio ids the message speaks for that are not the agent's own."""
    return sorted({r for r in _radio_ids(msg) if r not in own})


def hello_problem(hello: pb.Hello) -> str | None:
    """Why a Hello is malformed (not: whether the agent may say it), or None."""
    if not hello.agent_id:
        return "hello.agent_id is empty"
    try:
        parse_region(hello.regulatory_domain)
    except RegulatoryError as exc:
        return f"hello.regulatory_domain: {exc}"
    seen: set[str] = set()
    for i, radio in enumerate(hello.radios):
        try:
            ap_id, band = split_radio_id(radio.radio_id)
        except ValueError as exc:
            return f"hello.radios[{i}].radio_id: {exc}"
        if ap_id != radio.ap_id:
            return f"hello.radios[{i}]: radio_id {radio.radio_id!r} does not belong to ap_id {radio.ap_id!r}"
        if radio.radio_id in seen:
            return f"hello.radios[{i}].radio_id {radio.radio_id!r} is listed twice"
        seen.add(radio.radio_id)
        del band
    return None
