"""Bands, radio ids and radio configurations."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

OBSS_PD_OFF_DBM = -82
"""OBSS-PD at its minimum means spatial reuse is off (802.11ax 26.10.2; ns-3 default level)."""

OBSS_PD_MAX_DBM = -62


class Band(StrEnum):
    """A Wi-Fi band, spelled as in scenario files and radio ids."""

    G2 = "2g"
    G5 = "5g"
    G6 = "6g"


def make_radio_id(ap_id: str, band: Band) -> str:
    """The network-wide id of an AP's radio on a band, e.g. ``ap-3/5g``."""
    return f"{ap_id}/{band.value}"


def split_radio_id(radio_id: str) -> tuple[str, Band]:
    """Inverse of :func:`make_radio_id`; raises ValueError naming the id when it is malformed."""
    ap_id, sep, band = radio_id.rpartition("/")
    if not sep or not ap_id:
        raise ValueError(f"radio id {radio_id!r} is not of the form '<ap_id>/<band>'")
    try:
        return ap_id, Band(band)
    except ValueError:
        raise ValueError(f"radio id {radio_id!r} names band {band!r}; expected 2g, 5g or 6g") from None


@dataclass(frozen=True, slots=True)
class RadioConfig:
    """The full configuration of one radio. ``channel`` is the primary 20 MHz channel."""

    channel: int
    width_mhz: int
    tx_power_dbm: float
    obss_pd_dbm: int = OBSS_PD_OFF_DBM
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """A partial change: parameters left as None keep their current value."""

    channel: int | None = None
    width_mhz: int | None = None
    tx_power_dbm: float | None = None
    obss_pd_dbm: int | None = None

    def apply_to(self, config: RadioConfig) -> RadioConfig:
        """The configuration after this change."""
        return replace(
            config,
            channel=config.channel if self.channel is None else self.channel,
            width_mhz=config.width_mhz if self.width_mhz is None else self.width_mhz,
            tx_power_dbm=config.tx_power_dbm if self.tx_power_dbm is None else self.tx_power_dbm,
            obss_pd_dbm=config.obss_pd_dbm if self.obss_pd_dbm is None else self.obss_pd_dbm,
        )

    def is_empty(self) -> bool:
        return all(v is None for v in (self.channel, self.width_mhz, self.tx_power_dbm, self.obss_pd_dbm))

    @staticmethod
    def between(before: RadioConfig, after: RadioConfig) -> ConfigChange:
        """The change that turns ``before`` into ``after`` (a full restore when rolling back)."""
        return ConfigChange(
            channel=after.channel,
            width_mhz=after.width_mhz,
            tx_power_dbm=after.tx_power_dbm,
            obss_pd_dbm=after.obss_pd_dbm,
        )
