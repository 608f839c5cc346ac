"""The controller's view of the network, frozen into a NetworkSnapshot for the guardrails and loops.

Built from what agents sent (STYLE.md point 3: optimisers and guardrails see frozen snapshots):
their Hellos (radios, capabilities, region), their latest telemetry (configuration, managed
neighbours heard), their action reports (every applied change and rollback, whoever made it: the
controller, the agent's event loop or the AP itself) and their radar events (channels in
non-occupancy). Reads ingest.db on its own connection; the ingest writer process is the only writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from controller.guardrails import NetworkSnapshot, PastChange, PastRollback, RadioView
from controller.registry import AgentRegistry
from radio_domain.radio import split_radio_id
from radio_domain.regulatory import NOP_SECONDS, Region, parse_region
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import band_from_pb, capabilities_from_pb, config_from_pb, ms

HISTORY_S = 24 * 3600.0
LATEST_SAMPLE_S = 120.0
PARAMETERS = ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")


class NetworkView:
    def __init__(self, ingest: sqlite3.Connection, registry: AgentRegistry, *, neighbour_rssi_dbm: float = -75.0):
        self._ingest = ingest
        self._registry = registry
        self.neighbour_rssi_dbm = neighbour_rssi_dbm

    def close(self) -> None:
        self._ingest.close()

    def snapshot(self, now: float) -> NetworkSnapshot:
        hellos = self._registry.known_agents()
        region = _region(hellos.values())
        since_ms = ms(now - HISTORY_S)
        reports = self._reports(since_ms)
        radios: dict[str, RadioView] = {}
        for agent_id, hello in hellos.items():
            latest = self.latest_samples(agent_id, now)
            for descriptor in hello.radios:
                radios[descriptor.radio_id] = self._radio(descriptor, latest.get(descriptor.radio_id), reports)
        return NetworkSnapshot(
            taken_at=now,
            region=region,
            radios=radios,
            changes=tuple(_changes(reports)),
            rollbacks=tuple(PastRollback(r.radio_id, r.completed_at_ms / 1000.0) for r in reports if _rolled_back(r)),
            non_occupancy=self._non_occupancy(now),
        )

    def latest_samples(self, agent_id: str, now: float) -> dict[str, pb.RadioSample]:
        """The newest sample of each of the agent's radios from the last two minutes."""
        latest: dict[str, pb.RadioSample] = {}
        for sample in self.samples(agent_id, now - LATEST_SAMPLE_S, now):
            if sample.timestamp_ms >= latest.get(sample.radio_id, sample).timestamp_ms:
                latest[sample.radio_id] = sample
        return latest

    def samples(self, agent_id: str, since: float, until: float, radio_id: str = "") -> list[pb.RadioSample]:
        """The agent's samples (of one radio, when given) with since < timestamp <= until, oldest first."""
        since_ms, until_ms = ms(since), ms(until)
        rows = self._ingest.execute(
            "SELECT message FROM telemetry_batches WHERE agent_id = ? AND last_ts_ms > ? AND first_ts_ms <= ?",
            (agent_id, since_ms, until_ms),
        ).fetchall()
        picked = [
            sample
            for (blob,) in rows
            for sample in pb.AgentMessage.FromString(blob).telemetry.samples
            if since_ms < sample.timestamp_ms <= until_ms and (not radio_id or sample.radio_id == radio_id)
        ]
        picked.sort(key=lambda s: s.timestamp_ms)
        return picked

    def _reports(self, since_ms: int) -> list[pb.ActionReport]:
        rows = self._ingest.execute(
            "SELECT report FROM action_reports WHERE ts_ms >= ? AND status IN ('APPLIED', 'ROLLED_BACK') "
            "ORDER BY ts_ms",
            (since_ms,),
        ).fetchall()
        return [pb.ActionReport.FromString(blob) for (blob,) in rows]

    def _radio(
        self, descriptor: pb.RadioDescriptor, sample: pb.RadioSample | None, reports: list[pb.ActionReport]
    ) -> RadioView:
        config, at_ms = config_from_pb(descriptor.config), 0
        if sample is not None:
            config, at_ms = config_from_pb(sample.config), sample.timestamp_ms
        for report in reports:  # a change acknowledged after the latest reading
            if report.radio_id == descriptor.radio_id and report.completed_at_ms > at_ms and report.HasField("after"):
                config, at_ms = config_from_pb(report.after), report.completed_at_ms
        neighbours = frozenset(
            split_radio_id(n.neighbor_id)[0]
            for n in (sample.neighbors if sample is not None else ())
            if n.managed and n.rssi_dbm >= self.neighbour_rssi_dbm
        )
        return RadioView(
            descriptor.radio_id,
            descriptor.ap_id,
            band_from_pb(descriptor.band),
            capabilities_from_pb(descriptor.capabilities),
            config,
            neighbours,
        )

    def radar_channels(self, now: float, within_s: float = HISTORY_S) -> dict[str, set[int]]:
        """Radio -> the 20 MHz channels radar hit on it in the last ``within_s`` (the slow loop's radar history)."""
        hit: dict[str, set[int]] = {}
        for event in self.events_of_type("DFS_RADAR", now - within_s):
            listed = [int(c) for c in event.metadata.get("nop_channels", "").split(",") if c.strip()]
            hit.setdefault(event.radio_id, set()).update(listed or [event.channel])
        return hit

    def events_of_type(self, event_type: str, since: float) -> list[pb.RadioEvent]:
        """The agents' radio events of one type (``pb.EventType`` name) since ``since``, oldest first."""
        rows = self._ingest.execute(
            "SELECT event FROM radio_events WHERE type = ? AND ts_ms >= ? ORDER BY ts_ms", (event_type, ms(since))
        ).fetchall()
        return [pb.RadioEvent.FromString(blob) for (blob,) in rows]

    def _non_occupancy(self, now: float) -> dict[str, dict[int, float]]:
        blocked: dict[str, dict[int, float]] = {}
        for event in self.events_of_type("DFS_RADAR", now - 2 * NOP_SECONDS):
            until = event.timestamp_ms / 1000.0 + max(NOP_SECONDS, float(event.metadata.get("nop_s", "0") or 0))
            if until <= now:
                continue
            listed = [int(c) for c in event.metadata.get("nop_channels", "").split(",") if c.strip()]
            for channel in listed or [event.channel]:
                radio = blocked.setdefault(event.radio_id, {})
                radio[channel] = max(radio.get(channel, 0.0), until)
        return blocked


def _region(hellos: Iterable[pb.Hello]) -> Region:
    for hello in hellos:
        if hello.regulatory_domain:
            return parse_region(hello.regulatory_domain)
    return Region.FCC


def _rolled_back(report: pb.ActionReport) -> bool:
    return report.status == pb.ROLLED_BACK


def _changes(reports: Iterable[pb.ActionReport]) -> Iterable[PastChange]:
    for report in reports:
        if not (report.HasField("before") and report.HasField("after")):
            continue
        ap_id = split_radio_id(report.radio_id)[0]
        change_id = report.change_id or report.action_id
        for parameter in PARAMETERS:
            if getattr(report.before, parameter) != getattr(report.after, parameter):
                yield PastChange(report.radio_id, ap_id, parameter, report.completed_at_ms / 1000.0, change_id)
