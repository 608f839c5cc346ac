"""The decision matrix at work: an event and what the agent knows about the radio -> an intent.

Pure (STYLE.md point 1): it returns what to do (a config change, client steering, an alarm, or
nothing) with a reason code and an explanation; the event loop's shim does the driver I/O. The
rules come from EventPolicy.matrix (the seeds' EVENT_ACTION_MATRIX, as configuration); channel
choices come from the emergency channel selector's ranking of the radio (emergency_channels.py).

Radar: if the radio is still on the radar channels it is moved at once (cooldown overridden, never
rolled back). Usually the AP has already moved by itself, to the head of the fallback list the
agent keeps pointed at its own ranking (ARCHITECTURE.md "The radar path"); then the agent only
checks the landing and moves again if another channel scores clearly better (by the policy's
``radar_follow_up_margin``), since every move costs the clients a channel switch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from statistics import median

from drivers.protocol import NeighborObservation, RadioCapabilities, RadioInfo, RadioState
from edge_agent.change_admission import SafeZoneLimit
from edge_agent.emergency_channels import NoChannel, Ranking, SelectionInputs
from edge_agent.event_detection import client_is_poor
from edge_agent.event_policy import ActionKind, EventPolicy, MatrixRule
from edge_agent.event_queue import QueuedEvent
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import OBSS_PD_MAX_DBM, Band, ConfigChange, RadioConfig, split_radio_id


class IntentKind(StrEnum):
    CHANGE = "change"
    STEER = "steer"
    RESTART = "restart"
    ALARM = "alarm"  # something must be done and cannot be (no legal channel left)
    WAIT = "wait"  # decide again later: the AP is making its own radar move (its CSA)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class RadioContext:
    """What the agent knows about one radio when it decides."""

    info: RadioInfo
    region: regulatory.Region
    config: RadioConfig
    state: RadioState | None
    siblings: Sequence[RadioState] = ()  # the AP's other radios
    interfered: Mapping[int, float] = field(default_factory=dict)  # channel -> non-Wi-Fi duty seen
    steerable: frozenset[str] = frozenset()  # clients not in steering back-off
    blocked: Mapping[int, float] = field(default_factory=dict)  # channels in non-occupancy -> until
    cleared: frozenset[int] = frozenset()  # DFS channels a CAC has cleared
    radar_hits: Mapping[int, int] = field(default_factory=dict)  # channel -> recent radar hits
    ranking: Ranking | None = None  # ranked ahead of time by the event loop; ranked here when None
    zones: Sequence[SafeZoneLimit] = ()  # the controller's safe zones for this radio
    now: float = 0.0  # when the context was taken (the agent's clock)


@dataclass(frozen=True, slots=True)
class Intent:
    kind: IntentKind
    radio_id: str
    action: ActionKind
    reason_code: str
    explanation: str
    change: ConfigChange | None = None
    steer: tuple[tuple[str, str], ...] = ()  # (client id, target radio id)
    rollback_eligible: bool = True
    override_cooldown: bool = False


def _rule(event: QueuedEvent, policy: EventPolicy) -> MatrixRule | None:
    duty = float(event.metadata.get("duty_cycle", "1.0") or 1.0)
    for rule in policy.rules_for(event.type):
        if event.confidence >= rule.min_confidence and duty >= rule.min_duty_cycle:
            return rule
    return None


def selection_inputs(context: RadioContext) -> SelectionInputs:
    """What the emergency selector needs to know about the radio, from the agent's view of it."""
    state = context.state
    clients = state.clients if state else ()
    return SelectionInputs(
        region=context.region,
        band=context.info.band,
        capabilities=_inside_zones(context.info.capabilities, context.zones),
        current=context.config,
        blocked=context.blocked,
        cleared=context.cleared,
        interfered=context.interfered,
        neighbors=state.neighbors if state else (),
        clients=len(clients),
        clients_without_dfs=sum(1 for c in clients if not c.supports_dfs),
        radar_hits=context.radar_hits,
    )


def _inside_zones(caps: RadioCapabilities, zones: Sequence[SafeZoneLimit]) -> RadioCapabilities:
    """The radio's channels and widths narrowed to the safe zones, so emergency moves land inside them."""
    channels, widths = caps.channels, caps.widths_mhz
    for zone in zones:
        if zone.parameter == "channel":
            channels = tuple(c for c in channels if zone.violation(c) is None)
        elif zone.parameter == "width_mhz":
            widths = tuple(w for w in widths if zone.violation(w) is None)
    if (channels, widths) == (caps.channels, caps.widths_mhz):
        return caps
    return replace(caps, channels=channels, widths_mhz=widths or caps.widths_mhz)


def rank(context: RadioContext, policy: EventPolicy) -> Ranking:
    return context.ranking or Ranking.of(selection_inputs(context), policy.selection)


def radar_fallback(context: RadioContext, policy: EventPolicy, ranking: Ranking | None = None) -> tuple[int, ...]:
    """What the AP's own radar fallback list (hostapd ``chanlist``) should hold now, best first."""
    config = context.config
    try:
        group = regulatory.bonding_group(context.region, context.info.band, config.channel, config.width_mhz)
    except regulatory.RegulatoryError:
        group = (config.channel,)
    chosen = ranking or rank(context, policy)
    return chosen.radar_fallback(group, config.width_mhz, policy.radar_fallback_channels)


def decide(event: QueuedEvent, context: RadioContext, policy: EventPolicy, subjects: Sequence[str] = ()) -> Intent:
    """What to do about one (coalesced) event on one radio; ``subjects`` are the clients it concerns."""
    rule = _rule(event, policy)
    if rule is None:
        return _nothing(event, context, "no matrix rule matches")
    action = rule.action
    if event.type is EventType.EMERGENCY_QOE:
        action = _qoe_action(event, context, policy, rule)
    if event.type is EventType.DFS_RADAR:
        return _radar(event, context, policy)
    if event.type is EventType.NON_WIFI_BURST and event.channel and not _on_radio(event.channel, context):
        return _nothing(event, context, f"the burst is on channel {event.channel}, not on the radio's channels")
    if action is ActionKind.CHANNEL_CHANGE:
        return _channel_change(event, context, policy, f"{event.type.value}_AVOIDANCE")
    if action is ActionKind.WIDTH_REDUCTION:
        return _width_reduction(event, context)
    if action is ActionKind.TX_POWER_ADJUST:
        return _power(event, context, rule)
    if action is ActionKind.OBSS_PD_ADJUST:
        return _obss_pd(event, context, rule)
    if action is ActionKind.STEER_CLIENTS:
        return _steer(event, context, policy, subjects)
    if action is ActionKind.RESTART_RADIO:
        return Intent(IntentKind.RESTART, context.info.radio_id, action, event.type.value, "restart the failed radio")
    return _nothing(event, context, "report only")


def _on_radio(channel: int, context: RadioContext) -> bool:
    config = context.config
    try:
        group = regulatory.bonding_group(context.region, context.info.band, config.channel, config.width_mhz)
    except regulatory.RegulatoryError:
        return channel == config.channel
    return channel in group


def _nothing(event: QueuedEvent, context: RadioContext, why: str) -> Intent:
    return Intent(IntentKind.NONE, context.info.radio_id, ActionKind.REPORT_ONLY, event.type.value, why)


def _radar_group(event: QueuedEvent, context: RadioContext) -> frozenset[int]:
    listed = event.metadata.get("nop_channels", "")
    return frozenset(int(c) for c in listed.split(",") if c.strip()) or frozenset({event.channel})


def _qoe_action(event: QueuedEvent, context: RadioContext, policy: EventPolicy, rule: MatrixRule) -> ActionKind:
    """Seed 002: more than 30 % of clients below 0.5 is the radio's problem (power or channel)."""
    if rule.action is ActionKind.REPORT_ONLY:
        return rule.action
    state = context.state
    clients = state.clients if state else ()
    poor = [c for c in clients if client_is_poor(c, policy.detection.poor_qoe)]
    if not clients or len(poor) / len(clients) <= policy.radio_problem_share:
        return ActionKind.STEER_CLIENTS
    weak = median(c.rssi_dbm for c in poor) < policy.weak_client_rssi_dbm
    return ActionKind.TX_POWER_ADJUST if weak else ActionKind.CHANNEL_CHANGE


def _radar(event: QueuedEvent, context: RadioContext, policy: EventPolicy) -> Intent:
    group = _radar_group(event, context)
    config = context.config
    if config.channel in group:
        waited = context.now - event.first_seen
        if context.info.capabilities.can_set_fallback_channels and waited < policy.radar_ap_grace_s:
            # The AP is moving by itself (hostapd's CSA, to the fallback the agent set); a channel
            # switch now would be refused mid-CSA. Decide again once it has moved, or in time.
            return Intent(
                IntentKind.WAIT,
                context.info.radio_id,
                ActionKind.CHANNEL_CHANGE,
                "DFS_RADAR",
                f"waiting up to {policy.radar_ap_grace_s:g} s for the AP's own radar move",
            )
        return _channel_change(event, context, policy, "DFS_RADAR", avoid=group, radar=True)
    ranking = rank(context, policy)
    landing = ranking.find(config.channel, config.width_mhz)
    if landing is not None and ranking.interfered(landing, context.interfered):
        landing = None  # interference seen since the ranking: the landing is unusable
    best = ranking.choose(config.channel, context.blocked, group, immediate=True, interference=context.interfered)
    if isinstance(best, NoChannel):
        return _nothing(event, context, f"the AP left the radar channels for {config.channel}; {best.reason}")
    if landing is not None and best.score + policy.radar_follow_up_margin >= landing.score:
        return _nothing(
            event,
            context,
            f"the AP left the radar channels for {landing.describe()}; the best alternative, "
            f"{best.channel}/{best.width_mhz} MHz (score {best.score:.3f}), is not better by "
            f"{policy.radar_follow_up_margin:g}: no second move",
        )
    landed = landing.describe() if landing is not None else f"{config.channel}/{config.width_mhz} MHz (unusable)"
    return Intent(
        IntentKind.CHANGE,
        context.info.radio_id,
        ActionKind.CHANNEL_CHANGE,
        "DFS_RADAR_FOLLOW_UP",
        f"the AP's radar fallback landed on {landed}; {best.explanation}",
        ConfigChange(channel=best.channel, width_mhz=best.width_mhz),
        override_cooldown=True,
    )


def _channel_change(
    event: QueuedEvent,
    context: RadioContext,
    policy: EventPolicy,
    code: str,
    *,
    avoid: Collection[int] = (),
    radar: bool = False,
) -> Intent:
    """Leave the channel for the best one usable at once (emergency moves avoid going dark for a CAC).

    Unless radar forces the move or the current channel is excluded (heavy interference), the best
    alternative must beat staying by the policy's ``move_hysteresis``: a move that gains little is
    not worth a channel switch.
    """
    ranking = rank(context, policy)
    choice = ranking.choose(
        context.config.channel, context.blocked, avoid, immediate=True, interference=context.interfered
    )
    if isinstance(choice, NoChannel):
        return Intent(IntentKind.ALARM, context.info.radio_id, ActionKind.CHANNEL_CHANGE, code, choice.reason)
    config = context.config
    staying = ranking.find(config.channel, config.width_mhz)
    if staying is not None and ranking.interfered(staying, context.interfered):
        staying = None  # the interference that raised the event rules the current channel out
    if not radar and staying is not None and choice.score + policy.move_hysteresis >= staying.score:
        return _nothing(
            event,
            context,
            f"staying on {staying.describe()}: the best alternative {choice.channel}/{choice.width_mhz} MHz "
            f"(score {choice.score:.3f}) is not better by {policy.move_hysteresis:g}",
        )
    return Intent(
        IntentKind.CHANGE,
        context.info.radio_id,
        ActionKind.CHANNEL_CHANGE,
        code,
        choice.explanation,
        ConfigChange(channel=choice.channel, width_mhz=choice.width_mhz),
        rollback_eligible=not radar,
        override_cooldown=radar,
    )


def _width_reduction(event: QueuedEvent, context: RadioContext) -> Intent:
    widths = sorted(w for w in context.info.capabilities.widths_mhz if w < context.config.width_mhz)
    if not widths:
        return _nothing(event, context, f"already at the narrowest width ({context.config.width_mhz} MHz)")
    narrower = widths[-1]
    return Intent(
        IntentKind.CHANGE,
        context.info.radio_id,
        ActionKind.WIDTH_REDUCTION,
        f"{event.type.value}_WIDTH",
        f"narrow {context.config.width_mhz} -> {narrower} MHz on channel {context.config.channel} to leave the "
        f"interfered part of the band (duty {event.metadata.get('duty_cycle', '?')})",
        ConfigChange(width_mhz=narrower),
    )


def _power(event: QueuedEvent, context: RadioContext, rule: MatrixRule) -> Intent:
    config, caps = context.config, context.info.capabilities
    legal = regulatory.max_tx_power_dbm(context.region, context.info.band, config.channel, config.width_mhz)
    ceiling = min(legal, caps.max_tx_power_dbm)
    if event.type is EventType.POWER_BUDGET_EXCEEDED:
        target, why = ceiling, f"tx power {config.tx_power_dbm:g} dBm is above the {ceiling:g} dBm limit"
    else:
        target = min(ceiling, config.tx_power_dbm + rule.step_db)
        why = f"most poor clients are weak: raise tx power {config.tx_power_dbm:g} -> {target:g} dBm"
    if abs(target - config.tx_power_dbm) < 1e-6:
        return _nothing(event, context, f"tx power already at {target:g} dBm")
    return Intent(
        IntentKind.CHANGE,
        context.info.radio_id,
        ActionKind.TX_POWER_ADJUST,
        f"{event.type.value}_POWER",
        why,
        ConfigChange(tx_power_dbm=max(caps.min_tx_power_dbm, target)),
    )


def _obss_pd(event: QueuedEvent, context: RadioContext, rule: MatrixRule) -> Intent:
    current = context.config.obss_pd_dbm
    target = min(OBSS_PD_MAX_DBM, current + round(rule.step_db))
    if target == current or not context.info.capabilities.can_change_obss_pd:
        return _nothing(event, context, f"OBSS-PD cannot go above {current} dBm here")
    return Intent(
        IntentKind.CHANGE,
        context.info.radio_id,
        ActionKind.OBSS_PD_ADJUST,
        f"{event.type.value}_SPATIAL_REUSE",
        f"medium busy with other BSSs (CCA {event.metadata.get('cca_busy', '?')}): OBSS-PD {current} -> {target} dBm",
        ConfigChange(obss_pd_dbm=target),
    )


def _steer(event: QueuedEvent, context: RadioContext, policy: EventPolicy, subjects: Sequence[str]) -> Intent:
    """Ask the affected clients to roam: a better band of the same AP first, else the best neighbour."""
    state = context.state
    if state is None or not context.info.capabilities.can_steer_clients:
        return _nothing(event, context, "this radio cannot steer clients")
    by_id = {c.client_id: c for c in state.clients}
    wanted = [c for c in subjects if c in by_id and by_id[c].supports_btm and c in context.steerable]
    plan: list[tuple[str, str]] = []
    for client_id in wanted[: policy.max_steers_per_event]:
        target = _steering_target(context, by_id[client_id].supports_6g)
        if target is not None:
            plan.append((client_id, target))
    if not plan:
        return _nothing(event, context, "no client to steer (none capable, all backing off, or no target)")
    return Intent(
        IntentKind.STEER,
        context.info.radio_id,
        ActionKind.STEER_CLIENTS,
        f"{event.type.value}_STEERING",
        f"steer {len(plan)} of {len(subjects)} affected clients ({event.type.value})",
        steer=tuple(plan),
    )


def _steering_target(context: RadioContext, supports_6g: bool) -> str | None:
    _, band = split_radio_id(context.info.radio_id)
    better = [Band.G6, Band.G5] if band is Band.G2 else ([Band.G6] if band is Band.G5 else [])
    for sibling in context.siblings:
        sibling_band = split_radio_id(sibling.radio_id)[1]
        if sibling.config.enabled and sibling_band in better and (sibling_band is not Band.G6 or supports_6g):
            return sibling.radio_id
    neighbours: Sequence[NeighborObservation] = context.state.neighbors if context.state else ()
    managed = [n for n in neighbours if n.managed]
    return max(managed, key=lambda n: n.rssi_dbm).neighbor_id if managed else None
