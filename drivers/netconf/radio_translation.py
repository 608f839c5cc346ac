"""OpenConfig radio records -> the driver Protocol's RadioConfig, RadioState and RadioCapabilities.

Pure. Telemetry mapping (percentages become fractions):

* channel_utilization = total-channel-utilization; tx_airtime = tx-dot11-channel-utilization;
  cca_busy = total minus our own transmit share (what others and noise keep the medium busy);
* non_wifi_duty = rx-noise-channel-utilization (the model's non-802.11 share; it has no
  separate "non-wifi" leaf); noise_floor_dbm = counters/noise-floor;
* neighbours = neighbors/neighbor/state (raw BSSIDs, primary channel where given; the model
  carries no width, so 20 MHz is reported).

failed-fcs-frames is a bare counter with no frame total beside it, so no retry or error rate
can be derived (``Reading.ERRORS`` is not claimed); obss-rx has no RadioState field. Fields a radio
does not serve keep neutral values and are left out of ``RadioCapabilities.reads``.

When the AP serves ``state``, the operating values there (channel, width, power) are the radio's
configuration as it is on air; otherwise the ``config`` leaves are.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.netconf.openconfig_names import OpenConfigReplyError, band_of_frequency
from drivers.netconf.openconfig_xml import OcRadio, OcRadioConfig
from drivers.protocol import NeighborObservation, RadioCapabilities, RadioState, Reading
from radio_domain import regulatory
from radio_domain.radio import Band, RadioConfig

NEUTRAL_NOISE_FLOOR_DBM = -95.0
DEFAULT_WIDTH_MHZ = 20
YANG_DEFAULT_TX_POWER_DBM = 9  # openconfig-wifi-phy: transmit-power default 9
MIN_TX_POWER_DBM = 1.0
# Without allowed-max-txpower we assume a typical indoor AP's ceiling (EIRP limits of regulatory.py).
ASSUMED_MAX_TX_POWER_DBM = 30.0


@dataclass(frozen=True, slots=True)
class RadioSelection:
    """The radios a driver can manage, one per band, and why the others were left out."""

    by_band: dict[Band, OcRadio]
    skipped: tuple[str, ...]


def select_radios(radios: tuple[OcRadio, ...]) -> RadioSelection:
    """One radio per band (the lowest id wins; radio ids are ``<ap_id>/<band>``)."""
    by_band: dict[Band, OcRadio] = {}
    skipped: list[str] = []
    for radio in sorted(radios, key=lambda r: r.key.radio_index):
        band = band_of_frequency(radio.key.frequency, _operating(radio).channel)
        if band is None:
            skipped.append(f"{radio.key.describe()}: operating-frequency names no single band")
        elif band in by_band:
            skipped.append(f"{radio.key.describe()}: a second {band.value} radio (ids name one radio per band)")
        else:
            by_band[band] = radio
    return RadioSelection(by_band=by_band, skipped=tuple(skipped))


def radio_config(radio: OcRadio, hostname: str) -> RadioConfig:
    """The radio's configuration as operated (state when served, else config)."""
    leaves = _operating(radio)
    if leaves.channel is None:
        raise OpenConfigReplyError(hostname, f"{radio.key.describe()} has no channel in config or state")
    power = leaves.transmit_power_dbm
    return RadioConfig(
        channel=leaves.channel,
        width_mhz=leaves.bandwidth_mhz or DEFAULT_WIDTH_MHZ,
        tx_power_dbm=float(YANG_DEFAULT_TX_POWER_DBM if power is None else power),
        enabled=True if leaves.enabled is None else leaves.enabled,
    )


def radio_reads(radio: OcRadio) -> frozenset[Reading]:
    """What this radio's reply actually carries."""
    reads = {Reading.CONFIG}
    if _operating(radio).transmit_power_dbm is not None:
        reads.add(Reading.TX_POWER)  # absent, RadioState shows the YANG default (9 dBm), not a reading
    state = radio.state
    if state is not None:
        if state.total_channel_utilization is not None:
            reads.add(Reading.UTILISATION)
        if state.noise_floor_dbm is not None:
            reads.add(Reading.NOISE)
        if state.rx_noise_channel_utilization is not None:
            reads.add(Reading.NON_WIFI)
    if radio.neighbors is not None:
        reads.add(Reading.NEIGHBOURS)
    return frozenset(reads)


def radio_capabilities(radio: OcRadio, band: Band, *, reports_radar: bool) -> RadioCapabilities:
    """Channels from the AP's regulatory/supported lists when served, else every channel any region allows."""
    state = radio.state
    served = () if state is None else (state.allowed_regulatory_channels or state.supported_channels)
    channels = served or tuple(sorted({c for region in regulatory.Region for c in regulatory.channels(region, band)}))
    ceiling = None if state is None else state.allowed_max_txpower_dbm
    return RadioCapabilities(
        channels=tuple(sorted(set(channels))),
        widths_mhz=regulatory.widths(band),
        min_tx_power_dbm=MIN_TX_POWER_DBM,
        max_tx_power_dbm=ASSUMED_MAX_TX_POWER_DBM if ceiling is None else float(ceiling),
        can_change_obss_pd=False,  # the OpenConfig radio model has no OBSS-PD leaf
        reports_radar=reports_radar,
        reads=radio_reads(radio),
    )


def radio_state(radio_id: str, radio: OcRadio, hostname: str, timestamp: float) -> RadioState:
    """One RadioState from a record; unserved telemetry stays neutral."""
    state = radio.state

    def fraction(percent: int | None) -> float:
        return 0.0 if percent is None else percent / 100.0

    total = fraction(None if state is None else state.total_channel_utilization)
    tx = fraction(None if state is None else state.tx_dot11_channel_utilization)
    noise = None if state is None else state.noise_floor_dbm
    return RadioState(
        radio_id=radio_id,
        timestamp=timestamp,
        config=radio_config(radio, hostname),
        noise_floor_dbm=NEUTRAL_NOISE_FLOOR_DBM if noise is None else float(noise),
        channel_utilization=total,
        cca_busy=max(0.0, total - tx),
        tx_airtime=tx,
        retry_rate=0.0,
        packet_error_rate=0.0,
        neighbors=tuple(
            NeighborObservation(
                neighbor_id=n.bssid,
                managed=False,
                channel=n.primary_channel or n.channel,
                width_mhz=DEFAULT_WIDTH_MHZ,
                rssi_dbm=float(n.rssi_dbm),
            )
            for n in radio.neighbors or ()
        ),
        non_wifi_duty=fraction(None if state is None else state.rx_noise_channel_utilization),
    )


def whole_dbm(tx_power_dbm: float) -> int:
    """transmit-power is int8 dBm: the power the AP can actually be given."""
    return round(tx_power_dbm)


def _operating(radio: OcRadio) -> OcRadioConfig:
    config, state = radio.config, radio.state
    if state is None:
        return config
    on_air = state.operating
    return OcRadioConfig(
        channel=on_air.channel if on_air.channel is not None else config.channel,
        bandwidth_mhz=on_air.bandwidth_mhz if on_air.bandwidth_mhz is not None else config.bandwidth_mhz,
        transmit_power_dbm=on_air.transmit_power_dbm
        if on_air.transmit_power_dbm is not None
        else config.transmit_power_dbm,
        enabled=on_air.enabled if on_air.enabled is not None else config.enabled,
    )
