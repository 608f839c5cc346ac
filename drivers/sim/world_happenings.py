"""What the scenario makes happen to radios over time: failures, radar, and CACs running out.

Radar (the world models hostapd plus the kernel, ARCHITECTURE.md "the radar path"): while a radar
source is on, a 5 GHz radio that is on air or in a CAC, whose occupied span covers the radar
frequency and which receives it at ≥ −64 dBm (the detection threshold for 23-30 dBm devices,
rf-model.md section 7), detects it: every 20 MHz channel of its bonding group enters the 30-minute
non-occupancy period, it reports DFS_RADAR, then moves at once like hostapd's CSA (dfs.py chooses
where, narrowing the width if needed, lowering tx power to the landing channel's limit), reports
CHANNEL_SWITCHED with reason=radar, and starts a CAC if the landing channel is DFS and uncleared.
Radar during a CAC aborts it the same way. ``simulated_radar`` runs the same path on demand (the
test hook mac80211_hwsim offers as ``dfs_simulate_radar``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from drivers.protocol import ChangeRejected, DriverEvent, DriverUnavailable
from drivers.sim.dfs import choose_radar_landing, needs_cac
from drivers.sim.propagation import frequency_term_db
from drivers.sim.scenario_model import Interferer, InterfererKind, RadioFailure, Scenario
from drivers.sim.sim_radio import SimRadio, hardware_tx_limit_dbm
from drivers.sim.world_events import EventFactory
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import Band
from radio_domain.regulatory import Region

RADAR_DETECT_DBM = -64.0

_PENDING, _FAILED, _DONE = 0, 1, 2


def enter_channel(radio: SimRadio, region: Region, now: float, factory: EventFactory, reason: str) -> list[DriverEvent]:
    """After a move or a recovery: start a CAC on an uncleared DFS channel, else go on air."""
    s = radio.setting
    seconds = needs_cac(region, radio.band, s.channel, s.width_mhz, radio.dfs)
    if seconds <= 0.0 or radio.failed:
        radio.cac_until = None
        return []
    radio.cac_until = now + seconds
    return [factory.make(radio, EventType.CAC_STARTED, metadata={"reason": reason, "cac_s": f"{seconds:g}"})]


class ScheduledHappenings:
    """Runs the scenario's failures and radar against the radios, and finishes CACs."""

    def __init__(
        self,
        scenario: Scenario,
        radios: Sequence[SimRadio],
        site_loss_db: NDArray[np.float64],
        n_aps: int,
        rng: np.random.Generator,
        factory: EventFactory,
    ) -> None:
        self._region = scenario.region
        self._radios = radios
        self._by_id = {r.radio_id: r for r in radios}
        self._factory = factory
        self._rng = rng
        self._failures: list[tuple[RadioFailure, SimRadio]] = [
            (f, self._by_id[f"{f.ap}/{f.band.value}"]) for f in scenario.radio_failures
        ]
        self._failure_state = [_PENDING] * len(self._failures)
        self._radars: list[tuple[Interferer, NDArray[np.float64]]] = []
        for k, item in enumerate(scenario.interferers):
            if item.kind is InterfererKind.RADAR:
                level = item.power_dbm - frequency_term_db(item.freq_mhz) - site_loss_db[:, n_aps + k]
                self._radars.append((item, np.asarray(level, dtype=np.float64)))

    def failures(self, t0: float, t1: float) -> list[DriverEvent]:
        """HW_FAILURE when a scheduled failure starts, RADIO_RECOVERED (and a CAC if due) when it ends."""
        events: list[DriverEvent] = []
        for i, (failure, radio) in enumerate(self._failures):
            if self._failure_state[i] == _PENDING and failure.at_s <= t1:
                self._failure_state[i] = _FAILED
                radio.failed = True
                radio.cac_until = None
                events.append(
                    self._factory.make(radio, EventType.HW_FAILURE, metadata={"duration_s": f"{failure.duration_s:g}"})
                )
            if self._failure_state[i] == _FAILED and failure.at_s + failure.duration_s <= t1:
                self._failure_state[i] = _DONE
                radio.failed = False
                events.append(self._factory.make(radio, EventType.RADIO_RECOVERED))
                events += enter_channel(radio, self._region, t1, self._factory, "recovery")
        return events

    def radar(self, t0: float, t1: float) -> list[DriverEvent]:
        """Detection and the AP's own move for every radar source on during (t0, t1]."""
        events: list[DriverEvent] = []
        for item, level in self._radars:
            if not item.active_during(t0, t1):
                continue
            for radio in self._radios:
                if radio.band is not Band.G5 or radio.failed:
                    continue
                low, high = regulatory.span_mhz(
                    self._region, radio.band, radio.setting.channel, radio.setting.width_mhz
                )
                rssi = float(level[radio.ap_index])
                if low <= item.freq_mhz <= high and rssi >= RADAR_DETECT_DBM:
                    events += self._radar_hit(radio, t1, {"freq_mhz": f"{item.freq_mhz:g}", "rssi_dbm": f"{rssi:.1f}"})
        return events

    def simulated_radar(self, radio: SimRadio, now: float) -> list[DriverEvent]:
        """Radar on the radio's channel at ``now``, like mac80211_hwsim's ``dfs_simulate_radar``:
        the same detection, NOP and move as a scenario radar. The event says ``simulated=true`` and
        the frequency of the first DFS channel the radio occupies.

        Raises:
            DriverUnavailable: the radio has failed.
            ChangeRejected: the radio's channels need no DFS, so it does no radar detection.
        """
        if radio.failed:
            raise DriverUnavailable(radio.radio_id, "trigger radar", "the radio has failed and does not answer")
        group = radio.group(self._region)
        dfs = [c for c in group if regulatory.needs_dfs(self._region, radio.band, c, 20)]
        if not dfs:
            s = radio.setting
            raise ChangeRejected(
                radio.radio_id,
                "trigger radar",
                f"channel {s.channel} at {s.width_mhz} MHz needs no DFS; the radio does no radar detection there",
            )
        freq = regulatory.center_mhz(radio.band, dfs[0])
        return self._radar_hit(radio, now, {"freq_mhz": f"{freq:g}", "simulated": "true"})

    def _radar_hit(self, radio: SimRadio, now: float, detection: dict[str, str]) -> list[DriverEvent]:
        group = radio.group(self._region)
        during_cac = radio.cac_until is not None
        radio.dfs.mark_radar(group, now)
        events = [
            self._factory.make(
                radio,
                EventType.DFS_RADAR,
                metadata=detection
                | {
                    "nop_channels": ",".join(str(c) for c in group),
                    "nop_s": f"{regulatory.NOP_SECONDS:g}",
                    "during_cac": str(during_cac).lower(),
                },
            )
        ]
        before = radio.setting
        channel, width = choose_radar_landing(
            self._region, radio.band, before.width_mhz, radio.fallback, radio.dfs, now, self._rng
        )
        limit = hardware_tx_limit_dbm(self._region, radio.band, channel, width)
        radio.setting = replace(before, channel=channel, width_mhz=width, tx_power_dbm=min(before.tx_power_dbm, limit))
        radio.cac_until = None
        events.append(
            self._factory.make(
                radio,
                EventType.CHANNEL_SWITCHED,
                metadata={
                    "reason": "radar",
                    "from_channel": str(before.channel),
                    "from_width_mhz": str(before.width_mhz),
                    "choice": "fallback" if channel in radio.fallback else "random",
                },
            )
        )
        return events + enter_channel(radio, self._region, now, self._factory, "radar")

    def cac_completions(self, t: float) -> list[DriverEvent]:
        """CAC_COMPLETED for radios whose check ran its course by ``t``; the channels are cleared."""
        events: list[DriverEvent] = []
        for radio in self._radios:
            if radio.cac_until is not None and radio.cac_until <= t and not radio.failed:
                radio.dfs.mark_cleared(radio.group(self._region))
                radio.cac_until = None
                events.append(self._factory.make(radio, EventType.CAC_COMPLETED))
        return events
