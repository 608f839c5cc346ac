"""What the controller accepts from agents, and how it names what it refuses."""

from __future__ import annotations

import math

import pytest

from controller.message_checks import foreign_radios, hello_problem, invalid_reason
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import client_readings

pytestmark = pytest.mark.unit


def _batch(*samples: pb.RadioSample) -> pb.AgentMessage:
    return pb.AgentMessage(message_id="m1", telemetry=pb.TelemetryBatch(samples=samples))


def _sample(ts: int = 1000, **fields: object) -> pb.RadioSample:
    base = pb.RadioSample(radio_id="ap-1/5g", timestamp_ms=ts, config=pb.RadioConfig(channel=36, width_mhz=20))
    for name, value in fields.items():
        if isinstance(value, pb.ClientReadings | pb.RadioConfig):
            getattr(base, name).CopyFrom(value)
        else:
            setattr(base, name, value)
    return base


def _clients(**columns: list[float]) -> pb.ClientReadings:
    n = len(next(iter(columns.values())))
    return client_readings([bytes([i]) * 10 for i in range(n)], columns)


GOOD = {"rssi_dbm": [-60.0, -70.0], "snr_db": [30.0, 20.0], "tx_rate_mbps": [200.0, 80.0],
        "throughput_mbps": [5.0, 2.0], "retry_rate": [0.1, 0.2]}  # fmt: skip


def test_a_sound_batch_is_accepted() -> None:
    assert invalid_reason(_batch(_sample(client_readings=_clients(**GOOD)), _sample(ts=2000)), 100) is None


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (pb.AgentMessage(telemetry=pb.TelemetryBatch()), "telemetry: message_id is empty"),
        (_batch(), "telemetry.samples is empty"),
        (_batch(_sample(cca_busy=math.nan)), "telemetry.samples[0].cca_busy: nan is outside [0, 1]"),
        (_batch(_sample(), _sample(ts=500)), "telemetry.samples[1].timestamp_ms 500 is earlier than the sample"),
        (_batch(_sample(ts=0)), "telemetry.samples[0].timestamp_ms is 0"),
        (
            _batch(_sample(config=pb.RadioConfig(width_mhz=30))),
            "telemetry.samples[0].config.width_mhz: 30 is not one of",
        ),
        (
            _batch(_sample(client_readings=_clients(**{**GOOD, "snr_db": [30.0, math.inf]}))),
            "telemetry.samples[0].client_readings.snr_db[1]: inf is not finite",
        ),
        (
            _batch(_sample(client_readings=_clients(**{**GOOD, "retry_rate": [0.1, 1.5]}))),
            "telemetry.samples[0].client_readings.retry_rate[1]: 1.5 is outside [0, 1]",
        ),
    ],
)
def test_each_impossible_telemetry_value_is_named(msg: pb.AgentMessage, reason: str) -> None:
    problem = invalid_reason(msg, 100)
    assert problem is not None and problem.startswith(reason)


def test_columns_of_unequal_length_are_refused() -> None:
    readings = _clients(**GOOD)
    readings.snr_db = readings.snr_db[:4]
    problem = invalid_reason(_batch(_sample(client_readings=readings)), 100)
    assert problem is not None and "every column one float32 per client" in problem


def test_batches_above_the_limit_are_refused() -> None:
    problem = invalid_reason(_batch(*[_sample(ts=i + 1) for i in range(5)]), 4)
    assert problem == "telemetry.samples holds 5 samples; at most 4 per batch"


def test_foreign_radios_are_found_in_every_durable_kind() -> None:
    own = frozenset({"ap-1/5g"})
    assert foreign_radios(_batch(_sample(), pb.RadioSample(radio_id="ap-9/2g")), own) == ["ap-9/2g"]
    report = pb.AgentMessage(message_id="r", action_report=pb.ActionReport(radio_id="ap-9/5g"))
    assert foreign_radios(report, own) == ["ap-9/5g"]
    agent_level = pb.AgentMessage(message_id="e", event=pb.RadioEvent(type=pb.OUTBOX_OVERFLOW))
    assert foreign_radios(agent_level, own) == []


def test_malformed_hellos_are_named() -> None:
    radio = pb.RadioDescriptor(radio_id="ap-1/5g", ap_id="ap-1", band=pb.BAND_5G)
    assert hello_problem(pb.Hello(agent_id="a", regulatory_domain="FCC", radios=[radio])) is None
    assert hello_problem(pb.Hello(agent_id="a", regulatory_domain="XX")) == (
        "hello.regulatory_domain: region 'XX' is unknown; expected one of FCC, ETSI, JP"
    )
    wrong = pb.RadioDescriptor(radio_id="ap-2/5g", ap_id="ap-1")
    assert "does not belong to ap_id 'ap-1'" in (
        hello_problem(pb.Hello(agent_id="a", regulatory_domain="FCC", radios=[wrong])) or ""
    )
