"""OpenConfig access-point XML: filters and edit payloads to send, radio records parsed from replies.

Pure functions over strings and lxml elements; no I/O. The tree is openconfig-access-points 1.2.0,
whose radios come from ``uses wifi-phy:radio-top``: in this XML the radio nodes carry the
**access-points** namespace, not wifi-phy's (../shared/facts/southbound.md section 2)::

    /access-points/access-point[hostname]/radios/radio[id][operating-frequency]/{config,state}
    .../radio/neighbors/neighbor[bssid]/state

Writes touch only ``config/channel``, ``config/channel-bandwidth`` (never the deprecated
``channel-width``) and ``config/transmit-power``. Identities (``operating-frequency``) are sent
with the wifi-types module's own prefix, ``oc-wifi-types``: netconfd compares the leafref list
keys textually and refuses another prefix. XPath filters likewise use the module prefix
``access-points`` (netconfd answers "module not found" for any other).

Replies that do not fit the model raise :class:`OpenConfigReplyError` naming the AP and the node.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from drivers.netconf.openconfig_leaves import (
    child,
    identity_leaf,
    int_leaf,
    int_leaves,
    text_leaf,
)
from drivers.netconf.openconfig_names import (
    AP_NS,
    AP_PREFIX,
    NC_NS,
    WIFI_PHY_NS,
    WIFI_TYPES_NS,
    WIFI_TYPES_PREFIX,
    OpenConfigReplyError,
)

UINT8 = (0, 255)
INT8 = (-128, 127)
UINT16 = (0, 65535)
UINT64 = (0, 2**64 - 1)
CHANNEL = (1, 233)  # openconfig-wifi-phy config/channel
PERCENT = (0, 100)  # oc-types:percentage


@dataclass(frozen=True, slots=True)
class RadioKey:
    """The list key of one radio: ``id`` and the local name of its ``operating-frequency`` identity."""

    radio_index: int
    frequency: str

    def describe(self) -> str:
        return f"radio {self.radio_index} ({self.frequency})"


@dataclass(frozen=True, slots=True)
class OcRadioConfig:
    """The leaves we read from ``config`` (or the same leaves mirrored in ``state``); None = absent."""

    channel: int | None = None
    bandwidth_mhz: int | None = None
    transmit_power_dbm: int | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class OcNeighbor:
    """One BSS the radio hears (``neighbors/neighbor/state``)."""

    bssid: str
    rssi_dbm: int
    channel: int
    primary_channel: int | None = None
    ssid: str | None = None


@dataclass(frozen=True, slots=True)
class OcRadioState:
    """The operational ``state`` container; percentages are 0..100 as served; None = not served."""

    operating: OcRadioConfig
    total_channel_utilization: int | None = None
    rx_dot11_channel_utilization: int | None = None
    rx_noise_channel_utilization: int | None = None  # the non-802.11 (noise) share of airtime
    tx_dot11_channel_utilization: int | None = None
    obss_rx: int | None = None
    noise_floor_dbm: int | None = None
    failed_fcs_frames: int | None = None
    dfs_hit_time_ns: int | None = None
    channel_change_reason: str | None = None  # local name of a CHANGE_REASON_TYPE identity, e.g. DFS
    allowed_max_txpower_dbm: int | None = None
    supported_channels: tuple[int, ...] = ()
    allowed_regulatory_channels: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class OcRadio:
    """One radio as a reply shows it. ``neighbors`` is None when the reply has no neighbors container."""

    key: RadioKey
    config: OcRadioConfig
    state: OcRadioState | None = None
    neighbors: tuple[OcNeighbor, ...] | None = None


# ---------------------------------------------------------------- requests


def hostnames_filter() -> str:
    """Subtree filter selecting the hostname of every access point."""
    return f'<access-points xmlns="{AP_NS}"><access-point><hostname/></access-point></access-points>'


def radios_filter(hostname: str) -> str:
    """Subtree filter selecting every radio (config, state, neighbors) of one access point."""
    root = etree.Element(f"{{{AP_NS}}}access-points", nsmap={None: AP_NS})
    ap = etree.SubElement(root, f"{{{AP_NS}}}access-point")
    etree.SubElement(ap, f"{{{AP_NS}}}hostname").text = hostname
    etree.SubElement(ap, f"{{{AP_NS}}}radios")
    return str(etree.tostring(root, encoding="unicode"))


def radios_xpath(hostname: str) -> tuple[dict[str, str], str]:
    """The same selection as an XPath filter (namespaces, select) using the module's own prefix."""
    if "'" in hostname and '"' in hostname:
        raise ValueError(f"hostname {hostname!r} holds both quote characters; XPath 1.0 cannot quote it")
    quoted = f'"{hostname}"' if "'" in hostname else f"'{hostname}'"
    p = AP_PREFIX
    return {p: AP_NS}, f"/{p}:access-points/{p}:access-point[{p}:hostname={quoted}]/{p}:radios"


def radio_config_edit(
    hostname: str,
    key: RadioKey,
    *,
    channel: int | None = None,
    bandwidth_mhz: int | None = None,
    transmit_power_dbm: int | None = None,
) -> str:
    """An edit-config ``<config>`` merging the given leaves into one radio's ``config``."""
    leaves = {"channel": channel, "channel-bandwidth": bandwidth_mhz, "transmit-power": transmit_power_dbm}
    if all(v is None for v in leaves.values()):
        raise ValueError(f"nothing to change on {key.describe()} of {hostname!r}")
    root = etree.Element(f"{{{NC_NS}}}config", nsmap={None: NC_NS})
    aps = etree.SubElement(root, f"{{{AP_NS}}}access-points", nsmap={None: AP_NS})
    ap = etree.SubElement(aps, f"{{{AP_NS}}}access-point")
    etree.SubElement(ap, f"{{{AP_NS}}}hostname").text = hostname
    radio = etree.SubElement(etree.SubElement(ap, f"{{{AP_NS}}}radios"), f"{{{AP_NS}}}radio")
    add_radio_key(radio, key)
    config = etree.SubElement(radio, f"{{{AP_NS}}}config")
    for name, value in leaves.items():
        if value is not None:
            etree.SubElement(config, f"{{{AP_NS}}}{name}").text = str(value)
    return str(etree.tostring(root, encoding="unicode"))


def add_radio_key(radio: etree._Element, key: RadioKey) -> None:
    """Append the list key leaves ``id`` and ``operating-frequency`` to a ``radio`` element."""
    etree.SubElement(radio, f"{{{AP_NS}}}id").text = str(key.radio_index)
    freq = etree.SubElement(radio, f"{{{AP_NS}}}operating-frequency", nsmap={WIFI_TYPES_PREFIX: WIFI_TYPES_NS})
    freq.text = f"{WIFI_TYPES_PREFIX}:{key.frequency}"


# ---------------------------------------------------------------- replies


def parse_hostnames(data: etree._Element, source: str) -> tuple[str, ...]:
    """The hostnames of the access points in a get/get-config ``<data>``; ``source`` names the server."""
    hostnames: list[str] = []
    for ap in _access_points(data, source):
        name = text_leaf(ap, "hostname", source, "access-point")
        if name is None:
            raise OpenConfigReplyError(source, "an access-point entry has no hostname key")
        hostnames.append(name)
    return tuple(hostnames)


def parse_radios(data: etree._Element, hostname: str) -> tuple[OcRadio, ...]:
    """Every radio of access point ``hostname`` in a get/get-config ``<data>``."""
    matches = [ap for ap in _access_points(data, hostname) if text_leaf(ap, "hostname", hostname, "") == hostname]
    if not matches:
        raise OpenConfigReplyError(hostname, "the reply has no access-point with this hostname")
    radios_node = child(matches[0], "radios")
    if radios_node is None:
        if matches[0].find(f"{{{WIFI_PHY_NS}}}radios") is not None:
            raise OpenConfigReplyError(hostname, f"radios carry the wifi-phy namespace; expected {AP_NS}")
        return ()
    radios = tuple(_radio(node, hostname) for node in radios_node.iterfind(f"{{{AP_NS}}}radio"))
    keys = [r.key for r in radios]
    duplicates = sorted({k.describe() for k in keys if keys.count(k) > 1})
    if duplicates:
        raise OpenConfigReplyError(hostname, f"the reply lists {', '.join(duplicates)} more than once")
    return radios


def _access_points(data: etree._Element, source: str) -> list[etree._Element]:
    if data is None or etree.QName(data).localname != "data":
        raise OpenConfigReplyError(source, "the reply has no <data> element")
    top = child(data, "access-points")
    return [] if top is None else list(top.iterfind(f"{{{AP_NS}}}access-point"))


def _radio(node: etree._Element, hostname: str) -> OcRadio:
    index = int_leaf(node, "id", hostname, "radio", UINT8)
    frequency = identity_leaf(node, "operating-frequency", hostname, "radio", WIFI_TYPES_NS)
    if index is None or frequency is None:
        raise OpenConfigReplyError(hostname, "a radio entry lacks its id or operating-frequency key")
    key = RadioKey(index, frequency)
    where = key.describe()
    config_node = child(node, "config")
    config = OcRadioConfig() if config_node is None else _radio_config(config_node, hostname, f"{where} config")
    state_node = child(node, "state")
    state = None if state_node is None else _radio_state(state_node, hostname, f"{where} state")
    neighbors_node = child(node, "neighbors")
    neighbors = None
    if neighbors_node is not None:
        neighbors = tuple(
            _neighbor(n, hostname, f"{where} neighbor") for n in neighbors_node.iterfind(f"{{{AP_NS}}}neighbor")
        )
    return OcRadio(key=key, config=config, state=state, neighbors=neighbors)


def _radio_config(node: etree._Element, hostname: str, where: str) -> OcRadioConfig:
    bandwidth = int_leaf(node, "channel-bandwidth", hostname, where, UINT16)
    if bandwidth is None:  # read the deprecated leaf only when the new one is absent; never write it
        bandwidth = int_leaf(node, "channel-width", hostname, where, UINT8)
    enabled = text_leaf(node, "enabled", hostname, where)
    if enabled not in (None, "true", "false"):
        raise OpenConfigReplyError(hostname, f"{where}: enabled is {enabled!r}, not true or false")
    return OcRadioConfig(
        channel=int_leaf(node, "channel", hostname, where, CHANNEL),
        bandwidth_mhz=bandwidth,
        transmit_power_dbm=int_leaf(node, "transmit-power", hostname, where, INT8),
        enabled=None if enabled is None else enabled == "true",
    )


def _radio_state(node: etree._Element, hostname: str, where: str) -> OcRadioState:
    counters = child(node, "counters")

    def percent(name: str) -> int | None:
        return int_leaf(node, name, hostname, where, PERCENT)

    return OcRadioState(
        operating=_radio_config(node, hostname, where),
        total_channel_utilization=percent("total-channel-utilization"),
        rx_dot11_channel_utilization=percent("rx-dot11-channel-utilization"),
        rx_noise_channel_utilization=percent("rx-noise-channel-utilization"),
        tx_dot11_channel_utilization=percent("tx-dot11-channel-utilization"),
        obss_rx=percent("obss-rx"),
        noise_floor_dbm=None if counters is None else int_leaf(counters, "noise-floor", hostname, where, INT8),
        failed_fcs_frames=None
        if counters is None
        else int_leaf(counters, "failed-fcs-frames", hostname, where, UINT64),
        dfs_hit_time_ns=int_leaf(node, "dfs-hit-time", hostname, where, UINT64),
        channel_change_reason=identity_leaf(node, "channel-change-reason", hostname, where, WIFI_TYPES_NS),
        allowed_max_txpower_dbm=int_leaf(node, "allowed-max-txpower", hostname, where, UINT8),
        supported_channels=int_leaves(node, "supported-channels", hostname, where, CHANNEL),
        allowed_regulatory_channels=int_leaves(node, "allowed-regulatory-channels", hostname, where, CHANNEL),
    )


def _neighbor(node: etree._Element, hostname: str, where: str) -> OcNeighbor:
    state = child(node, "state")
    bssid = text_leaf(node, "bssid", hostname, where)
    if state is None or bssid is None:
        raise OpenConfigReplyError(hostname, f"{where} {bssid or '?'}: no bssid key or no state container")
    where = f"{where} {bssid}"
    rssi = int_leaf(state, "rssi", hostname, where, INT8)
    channel = int_leaf(state, "channel", hostname, where, UINT16)
    if rssi is None or channel is None:
        raise OpenConfigReplyError(hostname, f"{where}: state lacks rssi or channel")
    return OcNeighbor(
        bssid=bssid,
        rssi_dbm=rssi,
        channel=channel,
        primary_channel=int_leaf(state, "primary-channel", hostname, where, UINT16),
        ssid=text_leaf(state, "ssid", hostname, where),
    )
