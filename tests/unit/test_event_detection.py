"""Events the agent raises from its own telemetry."""

from __future__ import annotations

import pytest

from drivers.protocol import ClientObservation, RadioState
from edge_agent.event_detection import detect_load_imbalance, detect_radio_events
from edge_agent.event_policy import DetectionThresholds
from radio_domain.events import EventType
from radio_domain.radio import RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

T = DetectionThresholds()


def _client(cid: str, qoe: float | None, rssi: float = -60.0, snr: float = 30.0) -> ClientObservation:
    return ClientObservation(cid, rssi, snr, 100.0, 5.0, 0.05, qoe)


def _state(radio_id: str = "ap-1/5g", *, clients: tuple[ClientObservation, ...] = (), **fields: float) -> RadioState:
    config = RadioConfig(36 if radio_id.endswith("5g") else 6, 20, 30.0 if "loud" in fields else 17.0)
    fields.pop("loud", None)
    base = {"noise_floor_dbm": -94.0, "channel_utilization": 0.3, "cca_busy": 0.1, "tx_airtime": 0.2,
            "retry_rate": 0.05, "packet_error_rate": 0.02, "non_wifi_duty": 0.0} | fields  # fmt: skip
    return RadioState(radio_id, 1000.0, config, clients=clients, **base)  # type: ignore[arg-type]


def _types(events: list) -> list[EventType]:  # type: ignore[type-arg]
    return [e.type for e in events]


def test_a_quiet_radio_raises_nothing() -> None:
    assert detect_radio_events(None, _state(clients=(_client("a", 0.9),)), Region.FCC, T) == []


def test_non_wifi_energy_is_an_interference_burst_with_its_duty() -> None:
    events = detect_radio_events(None, _state(non_wifi_duty=0.85, cca_busy=0.9), Region.FCC, T)
    assert _types(events) == [EventType.NON_WIFI_BURST]
    assert events[0].metadata["duty_cycle"] == "0.85"
    assert events[0].confidence > 0.8


def test_a_medium_busy_with_wifi_is_saturation_not_interference() -> None:
    assert _types(detect_radio_events(None, _state(cca_busy=0.9), Region.FCC, T)) == [EventType.SPECTRUM_SAT]


def test_poor_clients_raise_emergency_qoe_naming_them_only_locally() -> None:
    clients = (_client("a", 0.2, rssi=-80), _client("b", 0.3, rssi=-82), _client("c", 0.9))
    (event,) = detect_radio_events(None, _state(clients=clients), Region.FCC, T)
    assert event.type is EventType.EMERGENCY_QOE
    assert event.subjects == ("a", "b")
    assert event.metadata["poor_clients"] == "2"
    assert "a" not in "".join(event.metadata.values())


def test_without_a_qoe_figure_snr_and_retries_judge_a_client() -> None:
    clients = (_client("a", None, snr=8.0), _client("b", None), _client("c", None, snr=9.0), _client("d", None, snr=5))
    (event,) = detect_radio_events(None, _state(clients=clients), Region.FCC, T)
    assert event.subjects == ("a", "c", "d")


def test_a_sudden_crowd_is_a_density_spike() -> None:
    before = _state(clients=tuple(_client(f"c{i}", 0.9) for i in range(4)))
    after = _state(clients=tuple(_client(f"c{i}", 0.9) for i in range(12)))
    assert _types(detect_radio_events(before, after, Region.FCC, T)) == [EventType.DENSITY_SPIKE]


def test_power_above_the_legal_limit_is_reported() -> None:
    (event,) = detect_radio_events(None, _state(loud=1.0), Region.ETSI, T)
    assert event.type is EventType.POWER_BUDGET_EXCEEDED
    assert event.metadata["limit_dbm"] == "23"


def test_a_crowded_2g_radio_beside_an_idle_5g_radio_is_imbalanced() -> None:
    low = _state("ap-1/2g", clients=tuple(_client(f"c{i}", 0.9) for i in range(9)))
    high = _state("ap-1/5g", clients=(_client("x", 0.9),))
    (event,) = detect_load_imbalance([low, high], T)
    assert (event.type, event.radio_id, event.metadata["target"]) == (EventType.LOAD_IMBALANCE, "ap-1/2g", "ap-1/5g")
    assert len(event.subjects) == 9
    assert detect_load_imbalance([low], T) == []
