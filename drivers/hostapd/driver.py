"""HostapdDriver: drivers.protocol.RadioDriver for one hostapd interface, i.e. one radio ``<ap_id>/<band>``.

Configuration comes from hostapd's STATUS; transmit power and telemetry from nl80211 when the kernel
has it (:mod:`drivers.hostapd.nl80211`), and the capabilities say honestly what is missing otherwise.
Changes: channel and width by CHAN_SWITCH (a CSA of 5 beacons; the driver waits for AP-CSA-FINISHED,
then reads STATUS back), tx power by nl80211; OBSS-PD and steering are refused (radio_facts.py).
The radar fallback list is hostapd's ``chanlist``, which hostapd keeps only in memory: the first
command to succeed after hostapd was lost (perhaps restarted) sets it again, or a restarted AP would
flee radar at random (seen on the HIL rig: to channel 171 instead of the agent's 36).

Two tasks run while the driver is open: one reads hostapd's events (translated by
event_translation.py) and, when nothing happens for ``keepalive_s``, PINGs hostapd: a hostapd that
stops answering is reported once as HW_FAILURE (``reason=hostapd_unreachable``) and, when it answers
again (the control connection reattaches by itself), as RADIO_RECOVERED. The other reads nl80211's
radar multicasts, when there are any. With a spectral source (spectral_source.py; ``?spectral=PATH``
in the URL) a third reads spectral samples and raises NON_WIFI_BURST, and state() carries the
non-Wi-Fi duty it measured on the operating channel. Neighbours come from the AP's own passive scan of
its channel (nl80211_scan.py), at most once per ``scan_interval``, the last result cached.
``events()`` yields in order from a bounded queue (the oldest are dropped and counted when nobody
reads) and ends once the driver is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from drivers.event_buffer import DriverEventBuffer
from drivers.hostapd.commands import CSA_BEACONS, CommandError, chan_switch_command, set_chanlist_command
from drivers.hostapd.control import EventTimeout, HostapdControl
from drivers.hostapd.event_translation import EventDraft, HostapdEventTranslator, RadarReport
from drivers.hostapd.frequencies import frequency_of_channel
from drivers.hostapd.messages import HostapdEvent, HostapdStatus, parse_status
from drivers.hostapd.nl80211 import Nl80211Error, Nl80211Radio
from drivers.hostapd.nl80211_decode import RadarEventKind, StationEntry, SurveyEntry
from drivers.hostapd.nl80211_scan import NeighbourSource
from drivers.hostapd.radio_facts import config_of, phy_modes
from drivers.hostapd.telemetry import (
    ASSUMED_NOISE_FLOOR_DBM,
    client_observations,
    link_errors,
    operating_entry,
    survey_fractions,
)
from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    ChangeRejected,
    DriverEvent,
    DriverUnavailable,
    NeighborObservation,
    RadioInfo,
    RadioState,
    SteeringOutcome,
)
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange, RadioConfig
from radio_domain.regulatory import Region
from rrm.clock import Clock

if TYPE_CHECKING:  # imported where a spectral source is configured (it needs numpy)
    from drivers.hostapd.spectral_source import SpectralFileSource

log = logging.getLogger(__name__)

KEEPALIVE_S = 5.0
CSA_MARGIN_S = 2.0


class HostapdDriver:
    """One radio behind one hostapd control socket (and, optionally, its nl80211 interface)."""

    def __init__(
        self,
        control: HostapdControl,
        info: RadioInfo,
        status: HostapdStatus,
        *,
        clock: Clock,
        region: Region | None,
        nl80211: Nl80211Radio | None,
        nl80211_reason: str,
        keepalive_s: float = KEEPALIVE_S,
        spectral: SpectralFileSource | None = None,
        neighbours: NeighbourSource | None = None,
    ) -> None:
        self.info = info
        self.spectral = spectral  # spectral samples read from a file (ath9k/ath10k debugfs, a FIFO), if any
        self.radio_id = info.radio_id
        self.nl80211_reason = nl80211_reason  # why there is no nl80211 ("" when there is)
        self.fallback_channels: tuple[int, ...] | None = None  # what we last set (hostapd cannot be asked)
        self._control = control
        self._status = status
        self._clock = clock
        self._region = region
        self._nl = nl80211
        self._keepalive_s = keepalive_s
        self._translator = HostapdEventTranslator(self.radio_id)
        self._config = config_of(status, None)
        self._buffer = DriverEventBuffer(info.radio_id)
        self._csa_finished = asyncio.Event()
        self._unreachable = False
        self._hostapd_lost = False  # a command failed; the next success may be a restarted hostapd
        self._closed = False
        self._last_survey: SurveyEntry | None = None
        self._last_stations: dict[str, StationEntry] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._neighbours = neighbours  # the AP's own rate-limited channel scan (nl80211_scan.py), if it works

    async def start(self) -> None:
        """Read the first config (and nl80211 counters, so the first state() has a baseline); start the pumps."""
        await self._read_config("open")
        if self._nl is not None:
            with contextlib.suppress(DriverUnavailable):
                await self._telemetry("open")
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._pump_hostapd(), name=f"hostapd events {self.radio_id}"))
        if self._nl is not None:
            self._tasks.append(loop.create_task(self._pump_nl80211(), name=f"nl80211 radar {self.radio_id}"))
        if self.spectral is not None:
            spectral = self.spectral.run(self._publish_spectral)
            self._tasks.append(loop.create_task(spectral, name=f"spectral {self.radio_id}"))

    @property
    def name(self) -> str:
        return "hostapd"

    def radios(self) -> Sequence[RadioInfo]:
        return [self.info]

    async def state(self) -> Sequence[RadioState]:
        self._check_open("state")
        config = await self._read_config("state")
        if self._nl is None:
            return [replace(self._radio_state(config), non_wifi_duty=self._non_wifi_duty(config))]
        survey, stations = await self._telemetry("state")
        fractions = survey_fractions(self._last_survey, survey) if survey is not None else None
        errors = link_errors(self._last_stations, stations)
        noise = survey.noise_dbm if survey is not None else None
        clients = client_observations(self._last_stations, stations, noise)
        self._last_survey = survey
        self._last_stations = {s.mac: s for s in stations}
        state = RadioState(
            radio_id=self.radio_id,
            timestamp=self._clock.now(),
            config=config,
            noise_floor_dbm=float(noise) if noise is not None else ASSUMED_NOISE_FLOOR_DBM,
            channel_utilization=fractions.utilisation if fractions else 0.0,
            cca_busy=fractions.cca_busy if fractions else 0.0,
            tx_airtime=fractions.tx_airtime if fractions else 0.0,
            retry_rate=errors.retry_rate if errors else 0.0,
            packet_error_rate=errors.packet_error_rate if errors else 0.0,
            clients=clients,
            non_wifi_duty=self._non_wifi_duty(config),
            neighbors=await self._neighbours_heard(),
        )
        return [state]

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        self._check_mine("apply", radio_id)
        before = await self._read_config("apply")
        target = change.apply_to(before)
        moves = (target.channel, target.width_mhz) != (before.channel, before.width_mhz)
        powers = abs(target.tx_power_dbm - before.tx_power_dbm) > 1e-6
        caps = self.info.capabilities
        if target.obss_pd_dbm != before.obss_pd_dbm:
            raise CapabilityRefused(
                radio_id, "apply obss_pd", "hostapd applies OBSS-PD (he_spr_*) only when the BSS starts"
            )
        if powers and not caps.can_change_tx_power:
            raise CapabilityRefused(
                radio_id, "apply tx power", f"hostapd has no tx power command; {self.nl80211_reason}"
            )
        if moves:
            await self._switch_channel(target)
        if powers and self._nl is not None:
            try:
                await self._nl.set_tx_power(target.tx_power_dbm)
            except Nl80211Error as exc:
                raise ChangeRejected(radio_id, "apply tx power", str(exc)) from None
        after = await self._read_config("apply") if moves or powers else before
        if moves and (after.channel, after.width_mhz) != (target.channel, target.width_mhz):
            log.warning("%s: hostapd accepted %s but reports %s", radio_id, target, after)
        if powers and abs(after.tx_power_dbm - target.tx_power_dbm) >= 1.0:
            log.warning(  # the kernel caps a fixed power at the channel's limit without an error
                "%s: asked for %g dBm, the kernel holds %g dBm", radio_id, target.tx_power_dbm, after.tx_power_dbm
            )
        return ApplyResult(radio_id, before, after)

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        self._check_mine("steer client", radio_id)
        raise CapabilityRefused(
            radio_id,
            "steer client",
            "BSS_TM_REQ needs the target BSS's BSSID, operating class and channel for its neighbour report; "
            "this driver knows only its own radio",
        )

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        """``SET chanlist``: hostapd's radar fallback picks among these (at random; pass one for a sure landing)."""
        self._check_mine("set fallback channels", radio_id)
        if not self.info.capabilities.can_set_fallback_channels:
            raise CapabilityRefused(radio_id, "set fallback channels", "only a 5 GHz radio has a radar fallback")
        try:
            command = set_chanlist_command(self.info.band, channels, self._region)
        except CommandError as exc:
            raise ChangeRejected(radio_id, "set fallback channels", str(exc)) from None
        reply = await self._request(command)
        if reply.strip() != "OK":
            raise ChangeRejected(
                radio_id, "set fallback channels", f"hostapd answered {reply.strip()!r} to {command!r}"
            )
        self.fallback_channels = tuple(channels)

    def events(self) -> AsyncIterator[DriverEvent]:
        """Events as they happen; ends after close() once the buffer is drained."""
        return self._buffer.drain()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._control.close()
        if self._nl is not None:
            self._nl.close()
        if self._neighbours is not None:
            self._neighbours.close()
        self._buffer.close()

    # ------------------------------------------------------------------ reading

    async def _request(self, command: str) -> str:
        """One hostapd command; the first to succeed after hostapd was lost restores the fallback list first."""
        try:
            reply = await self._control.request(command)
        except DriverUnavailable:
            self._hostapd_lost = True
            raise
        if self._hostapd_lost:
            self._hostapd_lost = False
            await self._restore_fallback()
        return reply

    async def _restore_fallback(self) -> None:
        """hostapd answers again, perhaps a new process that never saw our ``SET chanlist``: send it again."""
        if self.fallback_channels is None:
            return
        command = set_chanlist_command(self.info.band, self.fallback_channels, self._region)
        try:
            reply = (await self._control.request(command)).strip()
        except DriverUnavailable as exc:
            self._hostapd_lost = True
            log.warning("%s: radar fallback list not set again: %s", self.radio_id, exc)
            return
        if reply != "OK":
            log.error("%s: hostapd is back but answered %r to %r", self.radio_id, reply, command)
            return
        fallback = list(self.fallback_channels)
        log.info("%s: hostapd answers again; radar fallback list %s set again", self.radio_id, fallback)

    async def _read_config(self, operation: str) -> RadioConfig:
        self._status = parse_status(await self._request("STATUS"), self.radio_id)
        tx_power: float | None = None
        if self._nl is not None:
            try:
                tx_power = (await self._nl.interface()).tx_power_dbm
            except Nl80211Error as exc:
                raise DriverUnavailable(self.radio_id, operation, str(exc)) from None
        self._config = config_of(self._status, tx_power)
        return self._config

    async def _telemetry(self, operation: str) -> tuple[SurveyEntry | None, list[StationEntry]]:
        assert self._nl is not None
        try:
            survey = operating_entry(await self._nl.survey(), self._status.freq_mhz or None)
            stations = await self._nl.stations()
        except Nl80211Error as exc:
            raise DriverUnavailable(self.radio_id, operation, str(exc)) from None
        if operation == "open":
            self._last_survey, self._last_stations = survey, {s.mac: s for s in stations}
        return survey, stations

    async def _neighbours_heard(self) -> tuple[NeighborObservation, ...]:
        """BSSs other than ours heard on the operating channel (a scan when one is due; see nl80211_scan.py)."""
        if self._neighbours is None:
            return ()
        return await self._neighbours.read(self._clock.now(), self._status.freq_mhz, self._status.bssids)

    def _radio_state(self, config: RadioConfig) -> RadioState:
        return RadioState(
            radio_id=self.radio_id,
            timestamp=self._clock.now(),
            config=config,
            noise_floor_dbm=ASSUMED_NOISE_FLOOR_DBM,
            channel_utilization=0.0,
            cca_busy=0.0,
            tx_airtime=0.0,
            retry_rate=0.0,
            packet_error_rate=0.0,
        )

    # ------------------------------------------------------------------ changing the channel

    async def _switch_channel(self, target: RadioConfig) -> None:
        operation = "apply channel/width"
        try:
            command = chan_switch_command(
                self.info.band, target.channel, target.width_mhz, phy_modes(self._status), self._region
            )
        except ValueError as exc:
            raise ChangeRejected(self.radio_id, operation, str(exc)) from None
        freq = frequency_of_channel(self.info.band, target.channel)
        self._csa_finished.clear()
        self._translator.expect_own_switch(freq)
        try:
            reply = (await self._request(command)).strip()
        except DriverUnavailable:
            self._translator.forget_own_switch()
            raise
        if reply != "OK":
            self._translator.forget_own_switch()
            busy = self._translator.csa_in_progress(self._clock.now())
            detail = f"hostapd answered {reply!r} to {command!r}"
            raise ChangeRejected(self.radio_id, operation, f"{detail}; {busy}" if busy else detail)
        beacon_tu = self._status.fields.get("beacon_int", "100")
        beacon_s = (int(beacon_tu) if beacon_tu.isdigit() else 100) * 1.024e-3
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._csa_finished.wait(), CSA_BEACONS * beacon_s + CSA_MARGIN_S)
            return
        self._translator.forget_own_switch()
        log.warning("%s: no AP-CSA-FINISHED after %s; reading the config back anyway", self.radio_id, command)

    # ------------------------------------------------------------------ events

    async def _pump_hostapd(self) -> None:
        while not self._closed:
            try:
                event = await self._control.wait_event((), timeout_s=self._keepalive_s)
            except EventTimeout:
                await self._keepalive()
                continue
            except DriverUnavailable:
                return  # the connection was closed
            await self._on_hostapd_event(event)

    async def _on_hostapd_event(self, event: HostapdEvent) -> None:
        drafts = self._translator.hostapd_event(event, self._clock.now(), self._config)
        if event.name == "AP-CSA-FINISHED":
            self._csa_finished.set()
        await self._publish(drafts)

    async def _keepalive(self) -> None:
        try:
            reply = await self._request("PING")
        except DriverUnavailable as exc:
            if not self._unreachable:
                self._unreachable = True
                meta = {"reason": "hostapd_unreachable", "detail": exc.detail}
                await self._publish([EventDraft(EventType.HW_FAILURE, self._config.channel, meta)])
            return
        if reply.strip() == "PONG" and self._unreachable:
            self._unreachable = False
            meta = {"reason": "hostapd_reachable"}
            await self._publish([EventDraft(EventType.RADIO_RECOVERED, self._config.channel, meta, True)])

    async def _pump_nl80211(self) -> None:
        assert self._nl is not None
        try:
            async for notice in self._nl.radar_notices():
                if notice.kind is not RadarEventKind.DETECTED:
                    continue  # hostapd reports CAC and NOP transitions itself
                report = RadarReport(
                    notice.freq_mhz, notice.width_code, notice.center_freq1_mhz, notice.center_freq2_mhz, "nl80211"
                )
                await self._publish(self._translator.radar(report, self._clock.now()))
        except Nl80211Error as exc:
            log.error("%s: nl80211 radar events stopped: %s", self.radio_id, exc)

    async def _publish(self, drafts: Sequence[EventDraft]) -> None:
        if not drafts:
            return
        now = self._clock.now()
        config: RadioConfig | None = self._config
        if any(d.refresh_config for d in drafts):
            try:
                config = await self._read_config("event")
            except DriverUnavailable as exc:
                log.warning("%s: cannot read the config after an event: %s", self.radio_id, exc)
        for draft in drafts:
            event = DriverEvent(
                self.radio_id, draft.type, now, channel=draft.channel, config=config, metadata=dict(draft.metadata)
            )
            self._buffer.put(event)

    def _publish_spectral(self, event: DriverEvent) -> None:
        """A NON_WIFI_BURST from the spectral source, with the radio's config as last read."""
        self._buffer.put(replace(event, config=self._config))

    def _non_wifi_duty(self, config: RadioConfig) -> float:
        """Non-Wi-Fi duty on the operating channel from the spectral source (0 without one)."""
        if self.spectral is None:
            return 0.0
        band = self.info.band
        try:
            span = regulatory.span_mhz(self._region or Region.FCC, band, config.channel, config.width_mhz)
        except regulatory.RegulatoryError:
            centre = regulatory.center_mhz(band, config.channel)
            span = (centre - config.width_mhz / 2, centre + config.width_mhz / 2)
        return self.spectral.watch.non_wifi_duty(span, self._clock.now())

    def _check_mine(self, operation: str, radio_id: str) -> None:
        self._check_open(operation)
        if radio_id != self.radio_id:
            raise CapabilityRefused(radio_id, operation, f"radio is not managed by this driver ({self.radio_id})")

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise DriverUnavailable(self.radio_id, operation, "the driver is closed")
