"""What makes an agent's message acceptable: pure checks that name the offending field.

``invalid_reason`` answers "can this message ever be stored?" (if not, the agent is told with a
Rejection and the stream goes on). ``foreign_radios`` answers "does the agent speak for radios it
does not own?" (if so the stream is closed with PERMISSION_DENIED: that is a security matter).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from controller.client_columns import unpack_f32
from radio_domain.radio import split_radio_id
from radio_domain.regulatory import RegulatoryError, parse_region
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import CLIENT_COLUMNS, CLIENT_ID_BYTES

WIDTHS = (20, 40, 80, 160)
_FRACTIONS = (
    "channel_utilization",
    "cca_busy",
    "tx_airtime",
    "retry_rate",
    "packet_error_rate",
    "non_wifi_duty",
)


def _clients_problem(samples: Sequence[pb.RadioSample]) -> str | None:
    """Check every sample's client columns at once (vectorised over the batch)."""
    rows: list[tuple[bytes, ...]] = []
    for i, s in enumerate(samples):
        r = s.client_readings
        ids = r.client_ids
        size = 4 * (len(ids) // CLIENT_ID_BYTES)
        rssi, snr, rate, thr, retry, qoe = r.rssi_dbm, r.snr_db, r.tx_rate_mbps, r.throughput_mbps, r.retry_rate, r.qoe
        if not (
            len(ids) % CLIENT_ID_BYTES == 0
            and len(rssi) == len(snr) == len(rate) == len(thr) == len(retry) == size
            and len(qoe) in (0, size)
        ):
            return (
                f"telemetry.samples[{i}].client_readings: client_ids must hold {CLIENT_ID_BYTES} bytes per client "
                f"and every column one float32 per client ({len(ids)} id bytes; qoe may be empty)"
            )
        rows.append((rssi, snr, rate, thr, retry, qoe))
    for name, parts in zip(CLIENT_COLUMNS, zip(*rows, strict=True), strict=True):
        values = unpack_f32(b"".join(parts))
        bounded = name in ("retry_rate", "qoe")
        bad = ~np.isfinite(values) | ((values < 0.0) | (values > 1.0) if bounded else False)
        if bad.any():
            return _locate(samples, name, bounded)
    return None


def _locate(samples: Sequence[pb.RadioSample], name: str, bounded: bool) -> str:
    """Name the first sample and client whose column ``name`` holds a bad value."""
    for i, s in enumerate(samples):
        values = unpack_f32(getattr(s.client_readings, name))
        for j, v in enumerate(values):
            if not math.isfinite(v) or (bounded and not 0.0 <= v <= 1.0):
                what = "is outside [0, 1]" if math.isfinite(v) else "is not finite"
                return f"telemetry.samples[{i}].client_readings.{name}[{j}]: {v} {what}"
    return f"telemetry client_readings.{name} holds a bad value"


def _sample_problem(i: int, s: pb.RadioSample, previous_ts_ms: int) -> str | None:
    # One chained comparison per value: NaN fails it, and it stays cheap at 50k samples/s.
    if not (
        0.0 <= s.channel_utilization <= 1.0
        and 0.0 <= s.cca_busy <= 1.0
        and 0.0 <= s.tx_airtime <= 1.0
        and 0.0 <= s.retry_rate <= 1.0
        and 0.0 <= s.packet_error_rate <= 1.0
        and 0.0 <= s.non_wifi_duty <= 1.0
    ):
        name = next(n for n in _FRACTIONS if not 0.0 <= getattr(s, n) <= 1.0)
        return f"telemetry.samples[{i}].{name}: {getattr(s, name)} is outside [0, 1]"
    if not s.radio_id:
        return f"telemetry.samples[{i}].radio_id is empty"
    if s.timestamp_ms <= 0:
        return f"telemetry.samples[{i}].timestamp_ms is {s.timestamp_ms}; a unix time in ms is required"
    if s.timestamp_ms < previous_ts_ms:
        return (
            f"telemetry.samples[{i}].timestamp_ms {s.timestamp_ms} is earlier than the sample before; "
            "a batch must be in time order"
        )
    if s.config.width_mhz not in WIDTHS:
        return f"telemetry.samples[{i}].config.width_mhz: {s.config.width_mhz} is not one of {list(WIDTHS)}"
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
        previous = 0
        for i, s in enumerate(samples):
            if (problem := _sample_problem(i, s, previous)) is not None:
                return problem
            previous = s.timestamp_ms
        return _clients_problem(samples)
    if body == "event":
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
    if msg.WhichOneof("body") == "telemetry":
        return sorted({s.radio_id for s in msg.telemetry.samples} - own)
    return sorted(set(_radio_ids(msg)) - own)


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
