"""What hostapd's STATUS (and nl80211, when there is one) say about the radio: band, config, capabilities (pure).

The band comes from the operating frequency; hostapd without a radio (``driver=none``) reports
``freq=0``, and then the channel number decides (1-14: 2.4 GHz, 32-177: 5 GHz). Transmit power is
nl80211's to read and set: without nl80211 it reads as 0 dBm (unknown) and cannot be changed; with it,
the range offered is the band's ceiling, not the operating channel's limit (``max_tx_power_dbm``).
OBSS-PD cannot be changed at run time (hostapd applies ``he_spr_*`` only when the BSS starts), and
steering is not offered (a proper BSS_TM_REQ needs the target BSS's BSSID, operating class and
channel for its neighbour report, which this driver of one radio does not know).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from drivers.hostapd.commands import PhyModes, band_channels, plan_region
from drivers.hostapd.frequencies import band_of_frequency, guess_band_from_channel
from drivers.hostapd.messages import HostapdStatus
from drivers.protocol import DriverUnavailable, RadioCapabilities, Reading
from radio_domain import regulatory
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

MIN_TX_POWER_DBM = 0.0
UNKNOWN_TX_POWER_DBM = 0.0


@dataclass(frozen=True, slots=True)
class Nl80211Facts:
    """What nl80211 offered when the driver opened: which readings work, the power ceiling."""

    tx_power: bool
    utilisation: bool
    noise: bool
    max_eirp_dbm: float | None = None


def radio_band(status: HostapdStatus, who: str) -> Band:
    if status.freq_mhz > 0:
        try:
            return band_of_frequency(status.freq_mhz)
        except ValueError as exc:
            raise DriverUnavailable(who, "STATUS", str(exc)) from None
    band = guess_band_from_channel(status.channel)
    if band is None:
        raise DriverUnavailable(
            who, "STATUS", f"state {status.state}, channel {status.channel}, freq 0: hostapd has no channel yet"
        )
    return band


def phy_modes(status: HostapdStatus) -> PhyModes:
    return PhyModes(ht=status.ht, vht=status.vht, he=status.he)


def config_of(status: HostapdStatus, tx_power_dbm: float | None) -> RadioConfig:
    return RadioConfig(
        channel=status.channel,
        width_mhz=status.width_mhz,
        tx_power_dbm=UNKNOWN_TX_POWER_DBM if tx_power_dbm is None else tx_power_dbm,
        enabled=status.enabled,
    )


def supported_widths(band: Band, modes: PhyModes) -> tuple[int, ...]:
    wide = modes.he or (modes.vht and band is Band.G5)
    allowed = {20: True, 40: modes.ht or modes.he, 80: wide, 160: wide}
    return tuple(w for w in regulatory.widths(band) if allowed.get(w, False))


def max_tx_power_dbm(band: Band, region: Region | None, facts: Nl80211Facts) -> float:
    """The radio's ceiling over its band: the highest limit of the band's channels in the product's table,
    or the kernel's EIRP limit (of the channel it opened on) when that is higher.

    Not the operating channel's limit: the radio moves, the kernel then holds that channel's power (30 dBm
    on channel 149 after a radar move from 52, seen on the HIL rig), and a ceiling taken on channel 52
    (23 dBm) made every later change "outside the radio's range". Each channel's own limit is checked
    where a change is admitted (``regulatory.check_config``), and the kernel caps a fixed power anyway.
    """
    plan = plan_region(band, region)
    limits = [facts.max_eirp_dbm] if facts.max_eirp_dbm is not None else []
    for channel in band_channels(band, region):
        with contextlib.suppress(regulatory.RegulatoryError):
            limits.append(regulatory.max_tx_power_dbm(plan, band, channel, 20))
    return max(limits, default=MIN_TX_POWER_DBM)


def capabilities(
    band: Band, status: HostapdStatus, region: Region | None, facts: Nl80211Facts | None
) -> RadioCapabilities:
    reads = {Reading.CONFIG}
    if facts is not None:
        reads |= {Reading.ERRORS, Reading.CLIENTS}
        reads |= {Reading.UTILISATION} if facts.utilisation else set()
        reads |= {Reading.NOISE} if facts.noise else set()
        reads |= {Reading.TX_POWER} if facts.tx_power else set()
    power = facts is not None and facts.tx_power
    return RadioCapabilities(
        channels=band_channels(band, region),
        widths_mhz=supported_widths(band, phy_modes(status)),
        min_tx_power_dbm=MIN_TX_POWER_DBM,
        max_tx_power_dbm=max_tx_power_dbm(band, region, facts) if power and facts else MIN_TX_POWER_DBM,
        can_change_channel=True,
        can_change_width=True,
        can_change_tx_power=power,
        can_change_obss_pd=False,
        reports_radar=band is Band.G5,
        reports_spectrum=False,
        can_steer_clients=False,
        can_set_fallback_channels=band is Band.G5,
        reads=frozenset(reads),
    )
