"""Pure parts of the NETCONF driver: OpenConfig XML, notifications, translation, events and URLs."""

from __future__ import annotations

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

from drivers.netconf.apply_transaction import check_change, wanted_config
from drivers.netconf.change_detection import RadioMemory, observe
from drivers.netconf.discovery import choose_hostname, managed_radios
from drivers.netconf.failures import DatastoreLocked, translate
from drivers.netconf.notifications import ConfigChangeNotice, RadarNotice, parse_notification, radar_notification
from drivers.netconf.openconfig_names import AP_NS, NC_NS, WIFI_TYPES_NS, OpenConfigReplyError, band_of_frequency
from drivers.netconf.openconfig_xml import RadioKey, parse_hostnames, parse_radios, radio_config_edit, radios_xpath
from drivers.netconf.radio_translation import radio_state
from drivers.netconf.target import HostKeyCheck
from drivers.netconf.url import parse_netconf_url
from drivers.protocol import CapabilityRefused, ChangeRejected, DriverUnavailable, Reading
from radio_domain.events import EventType
from radio_domain.radio import Band, ConfigChange, RadioConfig

pytestmark = pytest.mark.unit

FREQ = f'xmlns:wt="{WIFI_TYPES_NS}"'
STATE = """<state><channel>100</channel><channel-bandwidth>80</channel-bandwidth>
  <total-channel-utilization>50</total-channel-utilization><tx-dot11-channel-utilization>20</tx-dot11-channel-utilization>
  <rx-noise-channel-utilization>10</rx-noise-channel-utilization><obss-rx>5</obss-rx>
  <dfs-hit-time>1700000000000000000</dfs-hit-time><channel-change-reason {freq}>wt:DFS</channel-change-reason>
  <allowed-max-txpower>23</allowed-max-txpower><supported-channels>36</supported-channels>
  <supported-channels>100</supported-channels><counters><noise-floor>-93</noise-floor>
  <failed-fcs-frames>7</failed-fcs-frames></counters></state>
  <neighbors><neighbor><bssid>02:00:00:00:00:09</bssid><state><bssid>02:00:00:00:00:09</bssid>
  <rssi>-70</rssi><channel>42</channel><primary-channel>36</primary-channel></state></neighbor></neighbors>"""


def reply(radios: str, hostname: str = "ap1") -> etree._Element:
    return etree.fromstring(
        f'<data xmlns="{NC_NS}"><access-points xmlns="{AP_NS}"><access-point><hostname>{hostname}</hostname>'
        f"<radios>{radios}</radios></access-point></access-points></data>"
    )


def radio(index: int, freq: str, config: str = "", extra: str = "") -> str:
    return (
        f"<radio><id>{index}</id><operating-frequency {FREQ}>wt:{freq}</operating-frequency>"
        f"<config>{config}</config>{extra}</radio>"
    )


FIVE = radio(1, "FREQ_5GHZ", "<channel>52</channel><channel-bandwidth>80</channel-bandwidth>", STATE.format(freq=FREQ))
TWO = radio(0, "FREQ_2GHZ", "<channel>6</channel><channel-width>20</channel-width><transmit-power>17</transmit-power>")


def test_edit_payload_writes_channel_bandwidth_with_the_module_prefix_in_the_key() -> None:
    """Only the named leaves, channel-bandwidth (never channel-width), the key with oc-wifi-types:."""
    xml = radio_config_edit("ap1", RadioKey(1, "FREQ_5GHZ"), channel=36, bandwidth_mhz=40)
    root = etree.fromstring(xml)
    config = root.find(f".//{{{AP_NS}}}radio/{{{AP_NS}}}config")
    assert [etree.QName(e).localname for e in config] == ["channel", "channel-bandwidth"]
    freq = root.find(f".//{{{AP_NS}}}operating-frequency")
    assert freq.text == "oc-wifi-types:FREQ_5GHZ" and freq.nsmap["oc-wifi-types"] == WIFI_TYPES_NS
    assert etree.QName(root).text == f"{{{NC_NS}}}config"
    with pytest.raises(ValueError, match="nothing to change"):
        radio_config_edit("ap1", RadioKey(1, "FREQ_5GHZ"))


def test_xpath_filter_uses_the_access_points_prefix() -> None:
    namespaces, select = radios_xpath("ap1")
    assert namespaces == {"access-points": AP_NS}
    assert (
        select
        == "/access-points:access-points/access-points:access-point[access-points:hostname='ap1']/access-points:radios"
    )
    assert '"it\'s"' in radios_xpath("it's")[1]


def test_radios_parse_config_state_and_neighbours() -> None:
    two, five = sorted(parse_radios(reply(TWO + FIVE), "ap1"), key=lambda r: r.key.radio_index)
    assert (two.config.channel, two.config.bandwidth_mhz, two.state) == (6, 20, None)  # deprecated leaf read
    assert five.key == RadioKey(1, "FREQ_5GHZ") and five.state is not None
    assert (five.state.operating.channel, five.state.dfs_hit_time_ns) == (100, 1_700_000_000_000_000_000)
    assert (five.state.channel_change_reason, five.state.noise_floor_dbm, five.state.failed_fcs_frames) == (
        "DFS",
        -93,
        7,
    )
    assert five.state.supported_channels == (36, 100) and five.neighbors is not None
    assert (five.neighbors[0].rssi_dbm, five.neighbors[0].primary_channel) == (-70, 36)
    assert parse_hostnames(reply(""), "srv") == ("ap1",)


@pytest.mark.parametrize(
    ("radios", "problem"),
    [
        (radio(1, "FREQ_5GHZ", "<channel>abc</channel>"), "config/channel is 'abc', not an integer"),
        (radio(1, "FREQ_5GHZ", "<channel>250</channel>"), "outside 1..233"),
        (radio(1, "FREQ_5GHZ", "<enabled>yes</enabled>"), "enabled is 'yes'"),
        ("<radio><id>1</id><operating-frequency>x:FREQ_5GHZ</operating-frequency></radio>", "undeclared prefix 'x'"),
        (
            f'<radio><id>1</id><operating-frequency xmlns:o="{AP_NS}">o:FREQ_5GHZ</operating-frequency></radio>',
            "is from",
        ),
        ("<radio><config/></radio>", "lacks its id or operating-frequency"),
        (radio(1, "FREQ_5GHZ") * 2, "more than once"),
        (
            radio(1, "FREQ_5GHZ", "", "<neighbors><neighbor><bssid>b</bssid><state/></neighbor></neighbors>"),
            "lacks rssi",
        ),
        (radio(1, "FREQ_5GHZ", "", "<state><counters><noise-floor>-200</noise-floor></counters></state>"), "-128..127"),
    ],
)
def test_malformed_radios_name_the_ap_and_the_node(radios: str, problem: str) -> None:
    with pytest.raises(OpenConfigReplyError, match="access point 'ap1'") as caught:
        parse_radios(reply(radios), "ap1")
    assert problem in str(caught.value)


def test_reply_structure_errors() -> None:
    with pytest.raises(OpenConfigReplyError, match="no access-point with this hostname"):
        parse_radios(reply(FIVE, hostname="other"), "ap1")
    with pytest.raises(OpenConfigReplyError, match="no <data>"):
        parse_radios(etree.fromstring(f'<rpc-reply xmlns="{NC_NS}"/>'), "ap1")
    phy = reply("").find(f".//{{{AP_NS}}}radios")
    phy.tag = "{http://openconfig.net/yang/wifi-phy}radios"
    with pytest.raises(OpenConfigReplyError, match="wifi-phy namespace"):
        parse_radios(phy.getroottree().getroot(), "ap1")


def test_frequency_identities_map_to_bands() -> None:
    assert [band_of_frequency(f, None) for f in ("FREQ_2GHZ", "FREQ_5GHZ", "FREQ_6GHZ")] == [Band.G2, Band.G5, Band.G6]
    assert (band_of_frequency("FREQ_2_5_GHZ", 11), band_of_frequency("FREQ_2_5_GHZ", 36)) == (Band.G2, Band.G5)
    assert band_of_frequency("FREQ_5_6_GHZ", 36) is None


def test_translation_to_radio_state_and_capabilities() -> None:
    records = parse_radios(reply(TWO + FIVE + radio(2, "FREQ_5_6_GHZ", "<channel>37</channel>")), "ap1")
    radios, skipped = managed_radios(records, "ap-9", pushes_radar=False)
    assert [r.radio_id for r in radios] == ["ap-9/2g", "ap-9/5g"] and "FREQ_5_6_GHZ" in skipped[0]
    two, five = (r.info.capabilities for r in radios)
    assert two.reads == frozenset({Reading.CONFIG, Reading.TX_POWER}) and not two.reports_radar
    expected = {Reading.CONFIG, Reading.UTILISATION, Reading.NOISE, Reading.NON_WIFI, Reading.NEIGHBOURS}
    assert five.reads == frozenset(expected)  # no transmit-power leaf in FIVE: the power is not a reading
    assert (five.reports_radar, five.channels, five.max_tx_power_dbm, five.can_change_obss_pd) == (
        True,
        (36, 100),
        23.0,
        False,
    )
    state = radio_state("ap-9/5g", records[1], "ap1", 5.0)
    assert (state.config.channel, state.config.tx_power_dbm) == (100, 9.0)  # operating channel; YANG default power
    assert (state.channel_utilization, state.tx_airtime, state.cca_busy, state.non_wifi_duty) == pytest.approx(
        (0.5, 0.2, 0.3, 0.1)
    )
    assert (state.neighbors[0].channel, state.neighbors[0].managed) == (36, False)


def test_notifications_parse() -> None:
    ns = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
    change = etree.fromstring(
        f'<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>t</eventTime>'
        f'<netconf-config-change xmlns="{ns}"><changed-by><session-id>7</session-id></changed-by>'
        f"<edit><target>/a:x</target></edit></netconf-config-change></notification>"
    )
    assert parse_notification(change, "s") == ConfigChangeNotice(session_id="7", by_server=False, targets=("/a:x",))
    radar = etree.fromstring(radar_notification("ap1", 1, "FREQ_5GHZ", 52, 100, "t"))
    assert parse_notification(radar, "s") == RadarNotice("ap1", 1, "FREQ_5GHZ", 52, 100)
    radar.find("{urn:rrm:radar}radar-detected/{urn:rrm:radar}channel").text = "high"
    with pytest.raises(OpenConfigReplyError, match="channel is 'high'"):
        parse_notification(radar, "s")
    with pytest.raises(OpenConfigReplyError, match="expected a <notification>"):
        parse_notification(etree.fromstring("<hello/>"), "s")


CONFIG = RadioConfig(channel=52, width_mhz=80, tx_power_dbm=20.0)


def test_observations_become_radar_or_channel_switch_once() -> None:
    moved = RadioMemory(RadioConfig(channel=100, width_mhz=80, tx_power_dbm=20.0), 10, "DFS")
    assert observe("r", None, moved, 1.0) == []  # the first observation is a baseline
    [radar] = observe("r", RadioMemory(CONFIG, 5), moved, 1.0)
    assert (radar.type, radar.channel, radar.metadata["source"]) == (EventType.DFS_RADAR, 52, "dfs-hit-time")
    assert observe("r", moved, moved, 2.0, RadarNotice("ap1", 1, None, 52, 100)) == []  # already reported
    [pushed] = observe("r", RadioMemory(CONFIG, 5), moved, 1.0, RadarNotice("ap1", 1, None, 52, 100))
    assert pushed.metadata["new_channel"] == "100"
    [switch] = observe("r", RadioMemory(CONFIG), RadioMemory(moved.config), 3.0)
    assert (switch.type, switch.channel, switch.metadata["previous_channel"]) == (EventType.CHANNEL_SWITCHED, 100, "52")
    assert observe("r", RadioMemory(CONFIG), RadioMemory(CONFIG), 4.0) == []


def test_wanted_config_rounds_power_and_refuses_obss_pd() -> None:
    assert wanted_config(CONFIG, ConfigChange(tx_power_dbm=17.6)).tx_power_dbm == 18.0
    assert wanted_config(CONFIG, ConfigChange.between(CONFIG, CONFIG)) == CONFIG  # a full restore is fine
    with pytest.raises(CapabilityRefused, match="OBSS-PD"):
        check_change("ap1/5g", ConfigChange(obss_pd_dbm=-70))


def test_rpc_errors_become_typed_driver_errors() -> None:
    def rpc_error(tag: str, extra: str = "") -> RPCError:
        return RPCError(etree.fromstring(f'<rpc-error xmlns="{NC_NS}"><error-tag>{tag}</error-tag>{extra}</rpc-error>'))

    invalid = rpc_error(
        "invalid-value", "<error-path>/a:b/a:config/a:channel</error-path><error-message>bad</error-message>"
    )
    rejected = translate(invalid, "ap1/5g", "apply", change=True)
    assert (
        isinstance(rejected, ChangeRejected)
        and str(rejected) == "ap1/5g: apply: the AP refused it: invalid-value 'bad' at config/channel"
    )
    assert type(translate(invalid, "ap1", "state")) is DriverUnavailable
    locked = translate(
        rpc_error("lock-denied", "<error-info><session-id>4</session-id></error-info>"), "ap1/5g", "lock"
    )
    assert isinstance(locked, DatastoreLocked) and "session 4" in str(locked)
    assert "connection failed" in str(translate(ConnectionRefusedError("refused"), "ap1", "connect"))


def test_choose_hostname_lists_what_the_server_has() -> None:
    assert choose_hostname(["ap1"], None, "srv") == "ap1"
    with pytest.raises(ValueError, match=r"several access points \('a', 'b'\); name one with \?hostname="):
        choose_hostname(["a", "b"], None, "srv")
    with pytest.raises(ValueError, match="has no access point 'c'; it has: 'a'"):
        choose_hostname(["a"], "c", "srv")
    with pytest.raises(ValueError, match="no access-point entries"):
        choose_hostname([], None, "srv")


def test_url_parses_options_and_hides_the_password() -> None:
    target = parse_netconf_url(
        "netconf://admin@ap.lab:8830?hostname=ap1&ap=a-1&hostkey=accept-new&confirm_timeout=10&settle=0.5",
        {"RRM_NETCONF_PASSWORD": "s3cret"},
    )
    assert (target.host, target.port, target.username, target.hostname, target.ap_id) == (
        "ap.lab",
        8830,
        "admin",
        "ap1",
        "a-1",
    )
    assert (target.host_key_check, target.confirm_timeout_s, target.settle_s) == (HostKeyCheck.ACCEPT_NEW, 10, 0.5)
    assert target.password == "s3cret" and "s3cret" not in repr(target)
    keyed = parse_netconf_url("netconf://u@h?key=/k&hostkey=/kh", {})
    assert (keyed.port, str(keyed.key_path), str(keyed.known_hosts), keyed.host_key_check) == (
        830,
        "/k",
        "/kh",
        HostKeyCheck.STRICT,
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("netconf://u:hunter2@h?key=/k", "RRM_NETCONF_PASSWORD"),
        ("netconf://h?key=/k", "no user"),
        ("netconf://u@h:99999?key=/k", "port"),
        ("netconf://u@h", "no credentials"),
        ("netconf://u@h?key=/k&colour=red", "unknown option(s) colour"),
        ("netconf://u@h?key=/k&key=/j", "more than once"),
        ("netconf://u@h?key=/k&confirm_timeout=2.5", "whole number"),
        ("netconf://u@h?key=/k&timeout=-1", "above 0"),
        ("netconf://u@h?key=/k&hostkey=insecure&known_hosts=/x", "makes no sense"),
        ("netconf://u@h?key=/k&ap=a/b", "without '/'"),
        ("netconf://u@h/path?key=/k", "no path"),
        ("snmp://u@h?key=/k", "scheme"),
    ],
)
def test_url_errors_name_the_url_and_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match="NETCONF URL") as caught:
        parse_netconf_url(url, {})
    assert problem in str(caught.value) and "hunter2" not in str(caught.value)
