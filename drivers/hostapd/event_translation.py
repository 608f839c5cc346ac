"""hostapd (and nl80211 radar) events to DriverEvent drafts, remembering what is in flight (pure).

What each event becomes:

- DFS-RADAR-DETECTED: DFS_RADAR at once (no STATUS read on the radar path), with ``freq_mhz``,
  ``nop_channels`` (the channels of the radar's channel definition), ``during_cac`` and ``source``.
  The same radar reported by nl80211 and by hostapd within ``RADAR_DEDUP_S`` is one event.
- DFS-CAC-START: CAC_STARTED (``cac_s``); if hostapd was moving off a radar channel (DFS-NEW-CHANNEL),
  first CHANNEL_SWITCHED with ``reason=radar`` (a move onto a DFS channel has a CAC instead of a CSA).
- DFS-CAC-COMPLETED success=1: CAC_COMPLETED (``success=true``). An aborted CAC (success=0) is
  not reported as CAC_COMPLETED: consumers take CAC_COMPLETED as "the channels are cleared".
- AP-CSA-FINISHED: CHANNEL_SWITCHED (``reason=radar`` after DFS-NEW-CHANNEL, else ``reason=ap``)
  unless it finishes the driver's own CHAN_SWITCH, which apply() reports instead.
- AP-DISABLED: HW_FAILURE, except while hostapd restarts the interface for a radar move.
- AP-ENABLED: RADIO_RECOVERED.
- DFS-NOP-FINISHED, DFS-NEW-CHANNEL, CTRL-EVENT-(STARTED-)CHANNEL-SWITCH: no event of their own
  (the agent keeps its own non-occupancy timers, which are never shorter than the regulatory 30 min).

hostapd refuses CHAN_SWITCH while its own CSA runs; :meth:`csa_in_progress` says whether one may be
running (started by radar, DFS-NEW-CHANNEL or CTRL-EVENT-STARTED-CHANNEL-SWITCH within
``CSA_WINDOW_S``, not yet finished).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from drivers.hostapd.frequencies import HOSTAPD_CHAN_WIDTH_MHZ, channel_of_frequency, occupied_channels
from drivers.hostapd.messages import HostapdEvent, MalformedReply
from radio_domain.events import EventType
from radio_domain.radio import RadioConfig

log = logging.getLogger(__name__)

RADAR_DEDUP_S = 2.0
CSA_WINDOW_S = 3.0  # a CSA of 5 beacons takes 0.5 s; hostapd's radar move finished within 0.52 s on hwsim


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A DriverEvent without radio id, timestamp and config; ``refresh_config`` asks for a STATUS read."""

    type: EventType
    channel: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    refresh_config: bool = False


@dataclass(frozen=True, slots=True)
class RadarReport:
    """A radar detection from either source: primary frequency and channel definition."""

    freq_mhz: int
    width_code: int  # hostapd / nl80211 chan_width enum (same values)
    cf1_mhz: int
    cf2_mhz: int
    source: str


class HostapdEventTranslator:
    """One radio's event state machine; ``who`` names the radio in logs."""

    def __init__(self, who: str) -> None:
        self.who = who
        self._radar_seen: dict[int, float] = {}
        self._csa_since: float | None = None
        self._csa_reason = ""
        self._radar_move: int | None = None  # DFS-NEW-CHANNEL frequency, until the move is reported
        self._own_switch: int | None = None
        self._cac_running = False

    # ------------------------------------------------------------------ what the driver tells us

    def expect_own_switch(self, freq_mhz: int) -> None:
        """Our CHAN_SWITCH to ``freq_mhz`` was accepted; its AP-CSA-FINISHED is not an AP-made move."""
        self._own_switch = freq_mhz

    def forget_own_switch(self) -> None:
        self._own_switch = None

    def csa_in_progress(self, now: float) -> str | None:
        """Why hostapd may be busy with its own channel switch, or None."""
        if self._csa_since is None or now - self._csa_since > CSA_WINDOW_S:
            return None
        return f"hostapd's own channel switch ({self._csa_reason}, {now - self._csa_since:.1f} s ago) may be running"

    # ------------------------------------------------------------------ events in, drafts out

    def hostapd_event(self, event: HostapdEvent, now: float, config: RadioConfig | None) -> list[EventDraft]:
        try:
            return self._translate(event, now, config)
        except (MalformedReply, ValueError) as exc:
            if event.name == "DFS-RADAR-DETECTED" and config is not None:
                log.error("%s: radar event without a usable frequency (%s); assuming our own channel", self.who, exc)
                return [EventDraft(EventType.DFS_RADAR, config.channel, {"source": "hostapd", "freq_mhz": "unknown"})]
            log.warning("%s: ignoring unreadable hostapd event: %s", self.who, exc)
            return []

    def radar(self, report: RadarReport, now: float) -> list[EventDraft]:
        """A radar detection; empty when the other source already reported it."""
        last = self._radar_seen.get(report.freq_mhz)
        self._radar_seen = {f: t for f, t in self._radar_seen.items() if now - t <= RADAR_DEDUP_S}
        self._radar_seen[report.freq_mhz] = now
        self._start_csa(now, f"radar at {report.freq_mhz} MHz")
        if last is not None and now - last <= RADAR_DEDUP_S:
            return []
        width = HOSTAPD_CHAN_WIDTH_MHZ.get(report.width_code, 20)
        try:
            group = list(occupied_channels(report.freq_mhz, 80 if report.width_code == 4 else width, report.cf1_mhz))
            if report.width_code == 4 and report.cf2_mhz > 0:
                group += [channel_of_frequency(report.cf2_mhz - 30 + 20 * k) for k in range(4)]
        except ValueError as exc:
            log.warning("%s: radar channel definition unreadable (%s); blocking the primary only", self.who, exc)
            group = [channel_of_frequency(report.freq_mhz)]
        metadata = {
            "freq_mhz": str(report.freq_mhz),
            "nop_channels": ",".join(str(c) for c in sorted(set(group))),
            "width_mhz": str(width),
            "during_cac": str(self._cac_running).lower(),
            "source": report.source,
        }
        return [EventDraft(EventType.DFS_RADAR, channel_of_frequency(report.freq_mhz), metadata)]

    def _translate(self, event: HostapdEvent, now: float, config: RadioConfig | None) -> list[EventDraft]:
        name = event.name
        if name == "DFS-RADAR-DETECTED":
            report = RadarReport(
                freq_mhz=event.int_field("freq", self.who),
                width_code=_optional_int(event, "chan_width", self.who),
                cf1_mhz=_optional_int(event, "cf1", self.who),
                cf2_mhz=_optional_int(event, "cf2", self.who),
                source="hostapd",
            )
            return self.radar(report, now)
        if name == "DFS-NEW-CHANNEL":
            self._radar_move = event.int_field("freq", self.who)
            self._start_csa(now, f"radar fallback to {self._radar_move} MHz")
            return []
        if name == "CTRL-EVENT-STARTED-CHANNEL-SWITCH":
            self._start_csa(now, "channel switch started")
            return []
        if name == "DFS-CAC-START":
            return self._cac_started(event, now, config)
        if name == "DFS-CAC-COMPLETED":
            self._cac_running = False
            freq = event.int_field("freq", self.who)
            if event.fields.get("success") != "1":
                log.warning("%s: CAC on %d MHz aborted: %s", self.who, freq, event.line)
                return []
            meta = {"success": "true", "freq_mhz": str(freq)}
            return [EventDraft(EventType.CAC_COMPLETED, channel_of_frequency(freq), meta, refresh_config=True)]
        if name == "AP-CSA-FINISHED":
            return self._csa_finished(event, config)
        if name == "AP-DISABLED":
            if self._radar_move is not None:
                return []  # hostapd restarts the interface to run a CAC on its radar fallback
            channel = config.channel if config else 0
            return [EventDraft(EventType.HW_FAILURE, channel, {"reason": "AP-DISABLED"}, refresh_config=True)]
        if name == "AP-ENABLED":
            self._cac_running = False
            channel = config.channel if config else 0
            return [EventDraft(EventType.RADIO_RECOVERED, channel, {"reason": "AP-ENABLED"}, refresh_config=True)]
        return []

    def _cac_started(self, event: HostapdEvent, now: float, config: RadioConfig | None) -> list[EventDraft]:
        freq = event.int_field("freq", self.who)
        channel = _optional_int(event, "chan", self.who) or channel_of_frequency(freq)
        self._cac_running = True
        self._csa_since = None
        drafts = []
        if self._radar_move is not None:
            drafts.append(self._moved("radar", channel, freq, config))
            self._radar_move = None
        cac = event.fields.get("cac_time", "").removesuffix("s")
        meta = {"freq_mhz": str(freq)} | ({"cac_s": cac} if cac.isdigit() else {})
        drafts.append(EventDraft(EventType.CAC_STARTED, channel, meta, refresh_config=True))
        return drafts

    def _csa_finished(self, event: HostapdEvent, config: RadioConfig | None) -> list[EventDraft]:
        freq = event.int_field("freq", self.who)
        self._csa_since = None
        if self._own_switch is not None and self._own_switch == freq:
            self._own_switch = None
            return []
        reason = "radar" if self._radar_move is not None else "ap"
        self._radar_move = None
        return [self._moved(reason, channel_of_frequency(freq), freq, config)]

    def _moved(self, reason: str, channel: int, freq: int, config: RadioConfig | None) -> EventDraft:
        meta = {"reason": reason, "freq_mhz": str(freq)}
        if config is not None:
            meta |= {"from_channel": str(config.channel), "from_width_mhz": str(config.width_mhz)}
        return EventDraft(EventType.CHANNEL_SWITCHED, channel, meta, refresh_config=True)

    def _start_csa(self, now: float, reason: str) -> None:
        self._csa_since, self._csa_reason = now, reason


def _optional_int(event: HostapdEvent, key: str, who: str) -> int:
    """An integer argument that hostapd may leave out (0 then)."""
    return event.int_field(key, who) if key in event.fields else 0
