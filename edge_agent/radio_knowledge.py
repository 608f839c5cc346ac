"""What the agent knows about each of its radios, kept current from driver events and readings.

The event loop asks it for a RadioContext (the decision matrix's whole input) and keeps one
emergency-channel Ranking per radio ready ahead of time. A ranking is recomputed when what it
depends on changes: a new reading (neighbours, clients), a new channel or width, a CAC that
completes. Radar and interference whose duty crosses the selector's exclusion level (or moves by
more than ``DUTY_CHANGE``) only take candidates away: the decision they trigger filters the ready
ranking, which is redone right after it (the fallback list must leave new non-occupancy out). So an
emergency move costs microseconds (STYLE.md point 1: this is data; the event loop does the I/O).

A radio seen on air on a DFS channel has passed its CAC: its channels are recorded as cleared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from drivers.protocol import DriverEvent, RadioInfo, RadioState
from edge_agent.decisions import RadioContext, rank
from edge_agent.dfs_state import DfsState
from edge_agent.emergency_channels import Ranking
from edge_agent.event_policy import EventPolicy
from edge_agent.non_occupancy import radar_channels
from edge_agent.radio_actions import RadioActions
from edge_agent.steering_backoff import SteeringBackoff
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import RadioConfig

INTERFERENCE_MEMORY_S = 600.0
RADAR_MEMORY_S = 24 * 3600.0  # radar hits this recent make a channel less attractive
DUTY_CHANGE = 0.2


class RadioKnowledge:
    def __init__(
        self,
        *,
        actions: RadioActions,
        dfs: DfsState,
        policy: EventPolicy,
        backoff: SteeringBackoff,
    ) -> None:
        self._actions = actions
        self.dfs = dfs
        self._policy = policy
        self._backoff = backoff
        self.states: dict[str, RadioState] = {}
        self._rankings: dict[str, Ranking] = {}
        self._refresh_after: set[str] = set()  # rankings still usable now, to be redone after this pass
        self._interfered: dict[str, dict[int, tuple[float, float]]] = {}
        self._siblings: dict[str, tuple[str, ...]] = {
            rid: tuple(other for other, o in actions.radios.items() if o.ap_id == info.ap_id and other != rid)
            for rid, info in actions.radios.items()
        }

    def manages(self, radio_id: str) -> bool:
        return radio_id in self._actions.radios

    def info(self, radio_id: str) -> RadioInfo:
        return self._actions.radios[radio_id]

    # ------------------------------------------------------------------ what comes in

    def note_event(self, event: DriverEvent) -> None:
        """Learn from a driver event: radar, CACs, interference seen, the config the AP reports."""
        radio_id = event.radio_id
        if event.type is EventType.DFS_RADAR:
            channels, seconds = radar_channels(event.channel, event.metadata)
            self.dfs.record_radar(radio_id, channels, event.timestamp, event.timestamp + seconds)
            # The radar decision filters the ready ranking by the new non-occupancy (fast); the
            # ranking and the AP's fallback list are redone right after it.
            self._refresh_after.add(radio_id)
        elif event.type is EventType.CAC_COMPLETED:
            config = event.config or self._actions.configs.get(radio_id)
            if config is not None:
                self.dfs.record_cac_completed(radio_id, self._group(radio_id, config), event.timestamp)
                self.invalidate(radio_id)
        elif event.type is EventType.NON_WIFI_BURST:
            self.note_interference(radio_id, event.channel, _duty(event.metadata), event.timestamp)
        if event.config is not None:
            self.note_config(radio_id, event.config)

    def note_interference(self, radio_id: str, channel: int, duty: float, at: float) -> None:
        """Non-Wi-Fi energy seen on a channel; the ranking is redone when it crosses the exclusion level
        or moves a lot (smaller changes wait for the next reading)."""
        seen = self._interfered.setdefault(radio_id, {})
        before = seen.get(channel, (0.0, at))[0]
        seen[channel] = (duty, at)
        excluded = self._policy.selection.interfered_duty
        if (before >= excluded) != (duty >= excluded) or abs(before - duty) > DUTY_CHANGE:
            # Decisions filter the ready ranking by the interference (fast); it is redone right after.
            self._refresh_after.add(radio_id)

    def note_config(self, radio_id: str, config: RadioConfig) -> None:
        previous = self._actions.configs.get(radio_id)
        self._actions.configs[radio_id] = config
        if previous is None or (previous.channel, previous.width_mhz) != (config.channel, config.width_mhz):
            self.invalidate(radio_id)

    def note_state(self, state: RadioState) -> RadioState | None:
        """Keep a reading (its neighbours and clients change the ranking); returns the previous one."""
        radio_id = state.radio_id
        previous = self.states.get(radio_id)
        self.states[radio_id] = state
        self.note_config(radio_id, state.config)
        config = state.config
        info = self._actions.radios[radio_id]
        if config.enabled and regulatory.needs_dfs(self._actions.region, info.band, config.channel, config.width_mhz):
            group = self._group(radio_id, config)
            if not set(group) <= self.dfs.cleared(radio_id):
                self.dfs.record_cac_completed(radio_id, group, state.timestamp)  # on air: its CAC is behind it
        self.invalidate(radio_id)
        return previous

    def invalidate(self, radio_id: str) -> None:
        self._rankings.pop(radio_id, None)

    # ------------------------------------------------------------------ what goes out

    def context(self, radio_id: str, now: float) -> RadioContext | None:
        info = self._actions.radios.get(radio_id)
        config = self._actions.configs.get(radio_id)
        if info is None or config is None:
            return None
        state = self.states.get(radio_id)
        siblings = [self.states[s] for s in self._siblings[radio_id] if s in self.states]
        seen = self._interfered.get(radio_id, {})
        interfered = {ch: duty for ch, (duty, at) in seen.items() if now - at <= INTERFERENCE_MEMORY_S}
        steerable = (
            frozenset(c.client_id for c in state.clients if self._backoff.may_steer(c.client_id, now))
            if state
            else frozenset()
        )
        return RadioContext(
            info=info,
            region=self._actions.region,
            config=config,
            state=state,
            siblings=siblings,
            interfered=interfered,
            steerable=steerable,
            blocked=self.dfs.blocked(radio_id, now),
            cleared=self.dfs.cleared(radio_id),
            radar_hits=self.dfs.radar_hits(radio_id, now - RADAR_MEMORY_S),
            ranking=self._rankings.get(radio_id),
            zones=self._actions.zones_for(radio_id),
            now=now,
        )

    def stale(self) -> list[str]:
        """Radios whose ranking must be recomputed."""
        return [
            rid
            for rid in self._actions.radios
            if (rid not in self._rankings or rid in self._refresh_after) and rid in self._actions.configs
        ]

    def refresh(self, radio_id: str, now: float) -> tuple[RadioContext, Ranking] | None:
        """Rank the radio now; returns the context it was ranked in, with the ranking."""
        context = self.context(radio_id, now)
        if context is None:
            return None
        context = replace(context, ranking=None)
        ranking = self._rankings[radio_id] = rank(context, self._policy)
        self._refresh_after.discard(radio_id)
        return context, ranking

    def _group(self, radio_id: str, config: RadioConfig) -> tuple[int, ...]:
        band = self._actions.radios[radio_id].band
        try:
            return regulatory.bonding_group(self._actions.region, band, config.channel, config.width_mhz)
        except regulatory.RegulatoryError:
            return (config.channel,)


def _duty(metadata: Mapping[str, str]) -> float:
    try:
        return float(metadata.get("duty_cycle", "0") or 0.0)
    except ValueError:
        return 0.0
