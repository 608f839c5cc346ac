"""The decision matrix at work: event + what the agent knows about the radio -> one intent."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers.protocol import ClientObservation, NeighborObservation, RadioCapabilities, RadioInfo, RadioState
from edge_agent.change_admission import SafeZoneLimit
from edge_agent.decisions import IntentKind, RadioContext, decide
from edge_agent.event_policy import ActionKind, EventPolicy
from edge_agent.event_queue import QueuedEvent
from radio_domain import regulatory
from radio_domain.events import DEFAULT_SEVERITY, EventType
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

POLICY = EventPolicy()
CAPS = RadioCapabilities(
    channels=regulatory.channels(Region.FCC, Band.G5),
    widths_mhz=(20, 40, 80),
    min_tx_power_dbm=1.0,
    max_tx_power_dbm=23.0,
    can_steer_clients=True,
)
INFO = RadioInfo("ap-1/5g", "ap-1", Band.G5, CAPS)


def _event(kind: EventType, confidence: float = 1.0, channel: int = 36, **metadata: str) -> QueuedEvent:
    return QueuedEvent("e1", "ap-1/5g", kind, DEFAULT_SEVERITY[kind], channel, confidence, metadata, 0.0, 0.0)


def _client(cid: str, qoe: float, rssi: float = -60.0) -> ClientObservation:
    return ClientObservation(cid, rssi, rssi + 94.0, 100.0, 5.0, 0.05, qoe)


def _state(config: RadioConfig, clients: tuple[ClientObservation, ...] = (), **more: object) -> RadioState:
    return RadioState("ap-1/5g", 0.0, config, -94.0, 0.3, 0.2, 0.1, 0.05, 0.02, clients, **more)  # type: ignore[arg-type]


def _context(channel: int = 36, width: int = 80, **more: object) -> RadioContext:
    config = RadioConfig(channel, width, 20.0)
    state = more.pop("state", _state(config))
    return RadioContext(INFO, Region.FCC, config, state, **more)  # type: ignore[arg-type]


def test_interference_moves_only_at_high_confidence_and_duty() -> None:
    """Seed 003: >= 0.8 confidence and >= 70 % duty moves; 30-70 % narrows; less is only reported."""
    context = _context(interfered={36: 0.8})
    assert decide(_event(EventType.NON_WIFI_BURST, 0.9, duty_cycle="0.8"), context, POLICY).action is (
        ActionKind.CHANNEL_CHANGE
    )
    narrow = decide(_event(EventType.NON_WIFI_BURST, 0.9, duty_cycle="0.5"), context, POLICY)
    assert narrow.action is ActionKind.WIDTH_REDUCTION and narrow.change is not None
    assert narrow.change.width_mhz == 40
    weak = decide(_event(EventType.NON_WIFI_BURST, 0.6, duty_cycle="0.9"), context, POLICY)
    assert weak.kind is IntentKind.NONE


def test_the_thresholds_are_configuration() -> None:
    """A policy whose interference rule starts at 0.5 confidence moves on a 0.6 event."""
    matrix = tuple(
        replace(rule, min_confidence=0.5) if rule.event_type is EventType.NON_WIFI_BURST else rule
        for rule in POLICY.matrix
    )
    intent = decide(
        _event(EventType.NON_WIFI_BURST, 0.6, duty_cycle="0.9"),
        _context(interfered={36: 0.9}),
        replace(POLICY, matrix=matrix),
    )
    assert intent.kind is IntentKind.CHANGE


def test_radar_on_the_channel_moves_at_once_and_is_never_rolled_back() -> None:
    """Radar on the radio's channels: a move off the whole group, cooldown overridden, not eligible for rollback."""
    intent = decide(_event(EventType.DFS_RADAR, channel=52, nop_channels="52,56,60,64"), _context(52), POLICY)
    assert intent.kind is IntentKind.CHANGE and intent.change is not None and intent.change.channel is not None
    group = regulatory.bonding_group(Region.FCC, Band.G5, intent.change.channel, intent.change.width_mhz or 80)
    assert not set(group) & {52, 56, 60, 64}
    assert intent.override_cooldown and not intent.rollback_eligible
    assert intent.reason_code == "DFS_RADAR"


def test_after_the_aps_own_radar_move_the_agent_moves_again_only_if_clearly_better() -> None:
    """Landing on a clean channel: nothing to do; landing beside a loud neighbour: a follow-up move."""
    radar = _event(EventType.DFS_RADAR, channel=52, nop_channels="52,56,60,64")
    blocked = dict.fromkeys((52, 56, 60, 64), 9e9)
    clean = decide(radar, _context(149, blocked=blocked), POLICY)
    assert clean.kind is IntentKind.NONE and "no second move" in clean.explanation
    loud = (NeighborObservation("n", False, 149, 80, -45.0), NeighborObservation("m", False, 149, 80, -50.0))
    crowded = _context(149, blocked=blocked, state=_state(RadioConfig(149, 80, 20.0), neighbors=loud))
    follow_up = decide(radar, crowded, POLICY)
    assert follow_up.kind is IntentKind.CHANGE and follow_up.reason_code == "DFS_RADAR_FOLLOW_UP"
    assert follow_up.change is not None and follow_up.change.channel == 36


def test_a_channel_change_that_gains_little_is_not_made() -> None:
    """Hysteresis: without interference on the current channel, a move must beat staying by the margin."""
    event = _event(EventType.NON_WIFI_BURST, 0.9, duty_cycle="0.8")
    intent = decide(event, _context(interfered={}), POLICY)  # the burst is not on any channel we know of
    assert intent.kind is IntentKind.NONE and "staying on" in intent.explanation


def test_no_legal_channel_left_is_an_alarm_not_a_move() -> None:
    """Every supported channel blocked: an alarm naming why, and no change at all."""
    narrow = replace(INFO, capabilities=replace(CAPS, channels=(52, 56, 60, 64)))
    context = replace(_context(52), info=narrow)
    intent = decide(_event(EventType.DFS_RADAR, channel=52, nop_channels="52,56,60,64"), context, POLICY)
    assert intent.kind is IntentKind.ALARM and intent.change is None
    assert "no legal 5g channel" in intent.explanation


def test_emergency_moves_stay_inside_the_channel_safe_zone() -> None:
    """With a safe zone of channels 36-48, radar on 52 lands inside it, at a width that fits."""
    zone = SafeZoneLimit("channel", 36, 48)
    intent = decide(
        _event(EventType.DFS_RADAR, channel=52, nop_channels="52,56,60,64"), _context(52, zones=(zone,)), POLICY
    )
    assert intent.change is not None and intent.change.channel in (36, 40, 44, 48)


def test_qoe_trouble_on_many_clients_is_the_radios_problem_on_few_it_is_steering() -> None:
    """Seed 002: > 30 % of clients below 0.5 means channel or power (power if they are weak); else steer."""
    healthy = tuple(_client(f"ok{i}", 0.9) for i in range(6))
    weak = tuple(_client(f"weak{i}", 0.2, rssi=-80.0) for i in range(4))
    config = RadioConfig(36, 80, 17.0)
    power = decide(_event(EventType.EMERGENCY_QOE, 0.7), _context(state=_state(config, healthy + weak)), POLICY)
    assert power.action is ActionKind.TX_POWER_ADJUST and power.change is not None
    assert power.change.tx_power_dbm == 23.0  # 20 dBm + the rule's 3 dB step, the radio's ceiling
    few = healthy + weak[:1]
    neighbour = NeighborObservation("ap-2/5g", True, 149, 80, -55.0)
    steer_context = _context(state=_state(config, few, neighbors=(neighbour,)), steerable=frozenset({"weak0", "ok0"}))
    steer = decide(_event(EventType.EMERGENCY_QOE, 0.7), steer_context, POLICY, subjects=("weak0",))
    assert steer.kind is IntentKind.STEER and steer.steer == (("weak0", "ap-2/5g"),)


def test_a_client_backing_off_from_steering_is_not_asked_again() -> None:
    """Only steerable clients (not in back-off) get a BSS transition request."""
    neighbour = NeighborObservation("ap-2/5g", True, 149, 80, -55.0)
    clients = (_client("c1", 0.2), *(_client(f"ok{i}", 0.9) for i in range(5)))
    context = _context(state=_state(RadioConfig(36, 80, 17.0), clients, neighbors=(neighbour,)), steerable=frozenset())
    intent = decide(_event(EventType.EMERGENCY_QOE, 0.7), context, POLICY, subjects=("c1",))
    assert intent.kind is IntentKind.NONE


def test_a_burst_on_another_channel_does_not_move_the_radio() -> None:
    """Interference reported on a channel the radio does not occupy is only noted."""
    intent = decide(_event(EventType.NON_WIFI_BURST, 0.95, channel=149, duty_cycle="0.9"), _context(36), POLICY)
    assert intent.kind is IntentKind.NONE and "not on the radio's channels" in intent.explanation


def test_a_ranking_made_before_the_interference_still_moves_the_radio_off_it() -> None:
    """The ready ranking knew nothing of the burst; the decision filters it and does not stay."""
    from edge_agent.decisions import rank

    ranking = rank(_context(), POLICY)  # no interference known yet
    context = _context(interfered={36: 0.8}, ranking=ranking)
    intent = decide(_event(EventType.NON_WIFI_BURST, 0.9, duty_cycle="0.8"), context, POLICY)
    assert intent.kind is IntentKind.CHANGE and intent.change is not None
    assert intent.change.channel not in (36, 40, 44, 48)
