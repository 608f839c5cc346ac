"""One simulated AP radio: its settings, failure and CAC state, and what it will accept.

The radio behaves like a real AP's (hostapd's) radio: it refuses a width it cannot do
(CapabilityRefused), a channel, width or power the region does not allow, a channel in its
non-occupancy period, a power outside 1 dBm..min(23 dBm hardware, legal limit), an OBSS-PD level
outside −82..−62 dBm (ChangeRejected), and everything while it has failed (DriverUnavailable).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverUnavailable, RadioCapabilities
from drivers.sim.dfs import DfsMemory
from radio_domain import regulatory
from radio_domain.radio import OBSS_PD_MAX_DBM, OBSS_PD_OFF_DBM, Band, RadioConfig
from radio_domain.regulatory import Region

HARDWARE_MAX_TX_DBM = 23.0
HARDWARE_MIN_TX_DBM = 1.0


@dataclass
class SimRadio:
    """Mutable state of one radio inside the world.

    ``setting`` is what the radio is configured to (its ``enabled`` is always True); ``config``
    is what it reports: enabled only while it has not failed and is not in a CAC.
    """

    radio_id: str
    ap_id: str
    ap_index: int
    band: Band
    setting: RadioConfig
    failed: bool = False
    cac_until: float | None = None
    fallback: tuple[int, ...] = ()
    dfs: DfsMemory = field(default_factory=DfsMemory)
    disassociations: int = 0
    """Clients that left this radio since the world started (RadioState.disassociations_total)."""

    @property
    def operating(self) -> bool:
        """On air: neither failed nor waiting for a CAC."""
        return not self.failed and self.cac_until is None

    @property
    def config(self) -> RadioConfig:
        return replace(self.setting, enabled=self.operating)

    def group(self, region: Region) -> tuple[int, ...]:
        return regulatory.bonding_group(region, self.band, self.setting.channel, self.setting.width_mhz)


def hardware_tx_limit_dbm(region: Region, band: Band, channel: int, width_mhz: int) -> float:
    """The most the simulated radio transmits on (channel, width): min(23 dBm, legal limit)."""
    return min(HARDWARE_MAX_TX_DBM, regulatory.max_tx_power_dbm(region, band, channel, width_mhz))


@lru_cache(maxsize=16)
def radio_capabilities(region: Region, band: Band) -> RadioCapabilities:
    """What a simulated radio can do on a band in a region."""
    legal_max = max(
        regulatory.max_tx_power_dbm(region, band, c, w)
        for c in regulatory.channels(region, band)
        for w in regulatory.widths(band)
        if regulatory.is_legal(region, band, c, w)
    )
    return RadioCapabilities(
        channels=regulatory.channels(region, band),
        widths_mhz=regulatory.widths(band),
        min_tx_power_dbm=HARDWARE_MIN_TX_DBM,
        max_tx_power_dbm=min(HARDWARE_MAX_TX_DBM, legal_max),
        reports_radar=band is Band.G5,
        reports_spectrum=True,
        can_steer_clients=True,
        can_set_fallback_channels=band is Band.G5,
    )


def check_target(radio: SimRadio, region: Region, target: RadioConfig, now: float) -> None:
    """Raise the typed refusal a real AP would give for ``target``; return when it is acceptable."""
    rid = radio.radio_id
    if radio.failed:
        raise DriverUnavailable(rid, "apply", "the radio has failed and does not answer")
    band = radio.band
    if target.width_mhz not in regulatory.widths(band):
        raise CapabilityRefused(
            rid,
            "apply width_mhz",
            f"a {band.value} radio cannot use {target.width_mhz} MHz; it supports {list(regulatory.widths(band))}",
        )
    if target.channel not in regulatory.channels(region, band):
        raise ChangeRejected(
            rid, "apply channel", f"channel {target.channel} is not a legal {band.value} channel in {region.value}"
        )
    try:
        group = regulatory.bonding_group(region, band, target.channel, target.width_mhz)
    except regulatory.RegulatoryError as exc:
        raise ChangeRejected(rid, "apply channel", str(exc)) from None
    blocked = radio.dfs.blocked(group, now)
    if blocked:
        left = radio.dfs.nop_left_s(group, now)
        raise ChangeRejected(
            rid,
            "apply channel",
            f"channels {blocked} are in their non-occupancy period after radar for another {left:.0f} s",
        )
    limit = hardware_tx_limit_dbm(region, band, target.channel, target.width_mhz)
    if not HARDWARE_MIN_TX_DBM <= target.tx_power_dbm <= limit:
        raise ChangeRejected(
            rid,
            "apply tx_power_dbm",
            f"tx power {target.tx_power_dbm:g} dBm is outside {HARDWARE_MIN_TX_DBM:g}..{limit:g} dBm "
            f"(min of the {region.value} limit and the radio's {HARDWARE_MAX_TX_DBM:g} dBm) "
            f"on channel {target.channel} at {target.width_mhz} MHz",
        )
    if not OBSS_PD_OFF_DBM <= target.obss_pd_dbm <= OBSS_PD_MAX_DBM:
        raise ChangeRejected(
            rid,
            "apply obss_pd_dbm",
            f"OBSS-PD {target.obss_pd_dbm} dBm is outside {OBSS_PD_OFF_DBM}..{OBSS_PD_MAX_DBM} dBm",
        )
