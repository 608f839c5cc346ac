"""Radio telemetry from two nl80211 readings: fractions and rates over the interval between them (pure).

Survey times are cumulative, so fractions come from differences: utilisation = Δbusy / Δactive
(the medium was busy, our own transmissions included, as mac80211 drivers count it), tx airtime =
Δtx / Δactive, and CCA busy = utilisation minus our own tx airtime (busy because of others), the
split the simulator uses. Retry and error rates are Δretries / Δtx packets and Δfailed / Δtx packets
over the associated stations. A first reading, a counter that went backwards (driver reset, channel
change) or no elapsed time gives no fractions (None), never a made-up zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drivers.hostapd.nl80211_decode import StationEntry, SurveyEntry
from drivers.protocol import ClientObservation

ASSUMED_NOISE_FLOOR_DBM = -95.0  # thermal noise in 20 MHz plus a typical noise figure, when no survey says


@dataclass(frozen=True, slots=True)
class AirtimeFractions:
    utilisation: float
    cca_busy: float
    tx_airtime: float


@dataclass(frozen=True, slots=True)
class LinkErrors:
    retry_rate: float
    packet_error_rate: float


def operating_entry(entries: Sequence[SurveyEntry], freq_mhz: int | None) -> SurveyEntry | None:
    """The survey entry of the channel in use (flagged, else the one at the operating frequency)."""
    for entry in entries:
        if entry.in_use:
            return entry
    return next((e for e in entries if freq_mhz is not None and e.freq_mhz == freq_mhz), None)


def survey_fractions(before: SurveyEntry | None, after: SurveyEntry) -> AirtimeFractions | None:
    if before is None or before.freq_mhz != after.freq_mhz:
        return None
    if before.active_ms is None or after.active_ms is None or before.busy_ms is None or after.busy_ms is None:
        return None
    active = after.active_ms - before.active_ms
    busy = after.busy_ms - before.busy_ms
    if active <= 0 or busy < 0:
        return None
    tx = 0
    if before.tx_ms is not None and after.tx_ms is not None and after.tx_ms >= before.tx_ms:
        tx = after.tx_ms - before.tx_ms
    utilisation = min(1.0, busy / active)
    tx_airtime = min(utilisation, tx / active)
    return AirtimeFractions(utilisation, utilisation - tx_airtime, tx_airtime)


def _delta(before: StationEntry | None, after: StationEntry) -> tuple[int, int, int]:
    """(Δpackets, Δretries, Δfailed); the totals since association for a new or reset station."""
    if before is None or after.tx_packets < before.tx_packets:
        return after.tx_packets, after.tx_retries, after.tx_failed
    return (
        after.tx_packets - before.tx_packets,
        max(0, after.tx_retries - before.tx_retries),
        max(0, after.tx_failed - before.tx_failed),
    )


def link_errors(before: Mapping[str, StationEntry], after: Sequence[StationEntry]) -> LinkErrors | None:
    """Retry and error rates over every station; None when nothing was sent in the interval."""
    packets = retries = failed = 0
    for station in after:
        p, r, f = _delta(before.get(station.mac), station)
        packets, retries, failed = packets + p, retries + r, failed + f
    if packets <= 0:
        return None
    return LinkErrors(min(1.0, retries / packets), min(1.0, failed / packets))


def client_observations(
    before: Mapping[str, StationEntry], after: Sequence[StationEntry], noise_dbm: float | None
) -> tuple[ClientObservation, ...]:
    """One observation per station with a signal; SNR over the surveyed noise floor (else the assumed one).

    Throughput is the driver's expected throughput, else the PHY tx rate (an upper bound).
    """
    floor = ASSUMED_NOISE_FLOOR_DBM if noise_dbm is None else noise_dbm
    out: list[ClientObservation] = []
    for station in after:
        if station.signal_dbm is None:
            continue
        packets, retries, _ = _delta(before.get(station.mac), station)
        rate = station.tx_bitrate_mbps or 0.0
        out.append(
            ClientObservation(
                client_id=station.mac,
                rssi_dbm=float(station.signal_dbm),
                snr_db=float(station.signal_dbm) - floor,
                tx_rate_mbps=rate,
                throughput_mbps=station.expected_throughput_mbps or rate,
                retry_rate=min(1.0, retries / packets) if packets > 0 else 0.0,
            )
        )
    return tuple(out)
