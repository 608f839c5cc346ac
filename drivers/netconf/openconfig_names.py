"""Namespaces, prefixes and identities of the OpenConfig Wi-Fi models, and the reply error type.

Versions: openconfig-access-points 1.2.0, openconfig-wifi-phy 1.4.1, openconfig-wifi-types 1.1.4
(../shared/yang/openconfig). ``operating-frequency`` is an identity of base OPERATING_FREQUENCY;
the single-band ones map to a Band directly, FREQ_2_5_GHZ (a dual-band radio) by its channel.
The 5/6 GHz combinations cannot be told apart from a channel number, so they map to no band.
"""

from __future__ import annotations

from radio_domain.radio import Band

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
NOTIFICATION_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
AP_NS = "http://openconfig.net/yang/wifi/access-points"
AP_PREFIX = "access-points"  # the module's own prefix: netconfd XPath filters need exactly this
WIFI_PHY_NS = "http://openconfig.net/yang/wifi-phy"
WIFI_TYPES_NS = "http://openconfig.net/yang/wifi/wifi-types"
WIFI_TYPES_PREFIX = "oc-wifi-types"

SINGLE_BAND_FREQUENCIES: dict[str, Band] = {"FREQ_2GHZ": Band.G2, "FREQ_5GHZ": Band.G5, "FREQ_6GHZ": Band.G6}
DUAL_2_5_FREQUENCY = "FREQ_2_5_GHZ"
DFS_CHANGE_REASON = "DFS"  # identity oc-wifi-types:DFS, base CHANGE_REASON_TYPE
HIGHEST_2G_CHANNEL = 14


class OpenConfigReplyError(ValueError):
    """A NETCONF reply that does not fit the OpenConfig model; names the AP (or server) and the node."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"access point {source!r}: malformed NETCONF reply: {problem}")
        self.source = source
        self.problem = problem


def band_of_frequency(frequency: str, channel: int | None) -> Band | None:
    """The Band of a radio with this operating-frequency identity (local name), or None if unknown."""
    if frequency in SINGLE_BAND_FREQUENCIES:
        return SINGLE_BAND_FREQUENCIES[frequency]
    if frequency == DUAL_2_5_FREQUENCY and channel is not None:
        return Band.G2 if channel <= HIGHEST_2G_CHANNEL else Band.G5
    return None


def frequency_of_band(band: Band) -> str:
    """The single-band identity for a Band (FREQ_2GHZ, FREQ_5GHZ, FREQ_6GHZ)."""
    return next(name for name, b in SINGLE_BAND_FREQUENCIES.items() if b is band)
