"""hostapd text in and out: STATUS/GET_CONFIG and event parsing, CHAN_SWITCH and chanlist, event translation, URLs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drivers.hostapd.commands import CommandError, PhyModes, chan_switch_command, set_chanlist_command
from drivers.hostapd.event_translation import HostapdEventTranslator
from drivers.hostapd.frequencies import band_of_frequency, channel_of_frequency, occupied_channels
from drivers.hostapd.messages import (
    HostapdEvent,
    MalformedReply,
    parse_event_line,
    parse_get_config,
    parse_key_values,
    parse_status,
)
from drivers.hostapd.radio_facts import Nl80211Facts, capabilities
from drivers.hostapd.url import parse_hostapd_url
from drivers.protocol import DriverUnavailable
from radio_domain.events import EventType
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

# STATUS as Debian's hostapd 2.10 (driver=none) sent it for channel 52, HT40+, VHT 80 MHz.
STATUS_2_10 = """state=ENABLED
phy=
freq=0
num_sta_non_erp=0
olbc=0
ht_op_mode=0x0
cac_time_seconds=0
cac_time_left_seconds=N/A
channel=52
edmg_enable=0
edmg_channel=0
secondary_channel=1
ieee80211n=1
ieee80211ac=1
ieee80211ax=0
beacon_int=100
dtim_period=2
vht_oper_chwidth=1
vht_oper_centr_freq_seg0_idx=58
vht_oper_centr_freq_seg1_idx=0
vht_caps_info=00000000
ht_caps_info=000e
bss[0]=rrmap0
bssid[0]=00:00:00:00:00:00
ssid[0]=test
num_sta[0]=0
"""

HT = PhyModes(ht=True, vht=False, he=False)
VHT = PhyModes(ht=True, vht=True, he=False)


def status_with(**changes: str) -> str:
    lines = dict(line.split("=", 1) for line in STATUS_2_10.strip().splitlines())
    lines.update(changes)
    return "\n".join(f"{k}={v}" for k, v in lines.items() if v != "<drop>") + "\n"


def test_status_of_hostapd_2_10() -> None:
    status = parse_status(STATUS_2_10, "ap-1")
    assert (status.state, status.enabled, status.freq_mhz, status.channel) == ("ENABLED", True, 0, 52)
    assert (status.width_mhz, status.ht, status.vht, status.he) == (80, True, True, False)
    assert (status.bssids, status.ssids, status.stations, status.cac_time_left_s) == (
        ("00:00:00:00:00:00",),
        ("test",),
        0,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "width"),
    [
        ({"vht_oper_chwidth": "0"}, 40),
        ({"vht_oper_chwidth": "0", "secondary_channel": "0"}, 20),
        ({"ieee80211n": "0", "ieee80211ac": "0", "secondary_channel": "0"}, 20),
        ({"vht_oper_chwidth": "2"}, 160),
        ({"vht_oper_chwidth": "3"}, 160),
        ({"ieee80211ax": "1", "he_oper_chwidth": "0", "secondary_channel": "-1"}, 40),
        ({"ieee80211ac": "0"}, 40),
    ],
)
def test_status_width(changes: dict[str, str], width: int) -> None:
    assert parse_status(status_with(**changes), "ap-1").width_mhz == width


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("FAIL\n", "hostapd answered 'FAIL'"),
        ("", "instead of key=value"),
        (status_with(channel="fifty"), "channel='fifty' is not an integer"),
        (status_with(state="<drop>"), "no state= line"),
        (status_with(freq="<drop>"), "no freq= line"),
        (status_with(vht_oper_chwidth="9"), "channel width code 9"),
        (status_with(secondary_channel="2", vht_oper_chwidth="0"), "secondary_channel=2"),
        (STATUS_2_10 + "garbage line\n", "is not key=value"),
        (STATUS_2_10 + "channel=36\n", "repeats key 'channel'"),
    ],
)
def test_malformed_status_names_the_ap_and_the_problem(reply: str, problem: str) -> None:
    with pytest.raises(MalformedReply) as caught:
        parse_status(reply, "ap-1/5g")
    assert isinstance(caught.value, DriverUnavailable)
    assert str(caught.value).startswith("ap-1/5g: STATUS: ")
    assert problem in str(caught.value)


def test_get_config() -> None:
    config = parse_get_config("bssid=02:00:00:00:01:00\nssid=corp\nwps_state=disabled\n", "ap-1")
    assert (config.bssid, config.ssid, config.fields["wps_state"]) == ("02:00:00:00:01:00", "corp", "disabled")
    with pytest.raises(MalformedReply, match="ap-1: GET_CONFIG: reply has no bssid= line"):
        parse_get_config("ssid=corp\n", "ap-1")
    assert parse_key_values("a=b=c\nempty=\n", "ap-1", "X") == {"a": "b=c", "empty": ""}


@pytest.mark.parametrize(
    ("line", "name", "args", "fields"),
    [
        (
            "<3>DFS-RADAR-DETECTED freq=5260 ht_enabled=1 chan_offset=0 chan_width=1 cf1=0 cf2=0",
            "DFS-RADAR-DETECTED",
            (),
            {"freq": "5260", "ht_enabled": "1", "chan_offset": "0", "chan_width": "1", "cf1": "0", "cf2": "0"},
        ),
        (
            "<3>DFS-CAC-START freq=5260 chan=52 chan_offset=0 width=0 seg0=0 seg1=0 cac_time=60s",
            "DFS-CAC-START",
            (),
            {
                "freq": "5260",
                "chan": "52",
                "chan_offset": "0",
                "width": "0",
                "seg0": "0",
                "seg1": "0",
                "cac_time": "60s",
            },
        ),
        (
            "<3>DFS-NEW-CHANNEL freq=5825 chan=165 sec_chan=0",
            "DFS-NEW-CHANNEL",
            (),
            {"freq": "5825", "chan": "165", "sec_chan": "0"},
        ),
        ("<3>AP-CSA-FINISHED freq=5825 dfs=0", "AP-CSA-FINISHED", (), {"freq": "5825", "dfs": "0"}),
        ("<3>AP-ENABLED ", "AP-ENABLED", (), {}),
        (
            "<3>CTRL-EVENT-CHANNEL-SWITCH freq=5180 ht_enabled=1 ch_offset=1 ch_width=80 MHz cf1=5210 cf2=0 dfs=0",
            "CTRL-EVENT-CHANNEL-SWITCH",
            (),
            {
                "freq": "5180",
                "ht_enabled": "1",
                "ch_offset": "1",
                "ch_width": "80 MHz",
                "cf1": "5210",
                "cf2": "0",
                "dfs": "0",
            },
        ),
        (
            "<3>AP-STA-CONNECTED 02:00:00:00:01:00 auth_alg=open",
            "AP-STA-CONNECTED",
            ("02:00:00:00:01:00",),
            {"auth_alg": "open"},
        ),
    ],
)
def test_event_lines(line: str, name: str, args: tuple[str, ...], fields: dict[str, str]) -> None:
    event = parse_event_line(line)
    assert event is not None
    assert (event.level, event.name, event.args, dict(event.fields)) == (3, name, args, fields)


def test_replies_are_not_events() -> None:
    assert parse_event_line("OK\n") is None
    assert parse_event_line("state=ENABLED\nchannel=36\n") is None


def test_event_field_errors_name_the_event() -> None:
    event = parse_event_line("<3>AP-CSA-FINISHED freq=abc dfs=0")
    assert event is not None
    with pytest.raises(MalformedReply, match=r"ap-1/5g: AP-CSA-FINISHED: freq='abc' is not an integer"):
        event.int_field("freq", "ap-1/5g")
    with pytest.raises(MalformedReply, match="event has no dfs2="):
        event.int_field("dfs2", "ap-1/5g")


@pytest.mark.parametrize(
    ("band", "channel", "width", "modes", "expected"),
    [
        (Band.G5, 36, 20, HT, "CHAN_SWITCH 5 5180 center_freq1=5180 bandwidth=20 sec_channel_offset=0 ht"),
        (Band.G5, 36, 40, HT, "CHAN_SWITCH 5 5180 center_freq1=5190 bandwidth=40 sec_channel_offset=1 ht"),
        (Band.G5, 40, 40, HT, "CHAN_SWITCH 5 5200 center_freq1=5190 bandwidth=40 sec_channel_offset=-1 ht"),
        (Band.G5, 52, 80, VHT, "CHAN_SWITCH 5 5260 center_freq1=5290 bandwidth=80 sec_channel_offset=1 ht vht"),
        (Band.G5, 64, 80, VHT, "CHAN_SWITCH 5 5320 center_freq1=5290 bandwidth=80 sec_channel_offset=-1 ht vht"),
        (Band.G5, 100, 160, VHT, "CHAN_SWITCH 5 5500 center_freq1=5570 bandwidth=160 sec_channel_offset=1 ht vht"),
        (Band.G2, 6, 20, HT, "CHAN_SWITCH 5 2437 center_freq1=2437 bandwidth=20 sec_channel_offset=0 ht"),
        (Band.G2, 1, 40, HT, "CHAN_SWITCH 5 2412 center_freq1=2422 bandwidth=40 sec_channel_offset=1 ht"),
        (
            Band.G6,
            37,
            80,
            PhyModes(ht=False, vht=False, he=True),
            "CHAN_SWITCH 5 6135 center_freq1=6145 bandwidth=80 sec_channel_offset=-1 he",
        ),
    ],
)
def test_chan_switch_command(band: Band, channel: int, width: int, modes: PhyModes, expected: str) -> None:
    assert chan_switch_command(band, channel, width, modes, Region.FCC) == expected


@pytest.mark.parametrize(
    ("band", "channel", "width", "modes", "problem"),
    [
        (Band.G5, 36, 80, HT, "needs 802.11ac or 802.11ax"),
        (Band.G5, 36, 40, PhyModes(False, False, False), "needs 802.11n"),
        (Band.G6, 37, 20, VHT, "needs 802.11ax"),
        (Band.G5, 165, 40, HT, "belongs to no 40 MHz group"),
        (Band.G5, 149, 20, HT, "not a legal 5g channel in ETSI"),
    ],
)
def test_chan_switch_refuses_what_cannot_be_said(
    band: Band, channel: int, width: int, modes: PhyModes, problem: str
) -> None:
    region = Region.ETSI if channel == 149 else Region.FCC
    with pytest.raises(ValueError, match=problem):
        chan_switch_command(band, channel, width, modes, region)


@pytest.mark.parametrize(("kernel_limit", "ceiling"), [(23.0, 30.0), (36.0, 36.0), (None, 30.0)])
def test_tx_power_ceiling_is_the_bands_not_the_channels(kernel_limit: float | None, ceiling: float) -> None:
    """Opened on channel 52 (23 dBm in the kernel), the range still covers channel 149's 30 dBm (HIL rig)."""
    status = parse_status(STATUS_2_10, "ap-1")
    facts = Nl80211Facts(tx_power=True, utilisation=False, noise=False, max_eirp_dbm=kernel_limit)
    caps = capabilities(Band.G5, status, Region.FCC, facts)
    assert (caps.min_tx_power_dbm, caps.max_tx_power_dbm, caps.can_change_tx_power) == (0.0, ceiling, True)
    assert capabilities(Band.G5, status, Region.FCC, None).max_tx_power_dbm == 0.0  # no nl80211: no power


def test_chanlist_command() -> None:
    assert set_chanlist_command(Band.G5, [36, 44, 36], Region.ETSI) == "SET chanlist 36 44"
    assert set_chanlist_command(Band.G5, [], None) == "SET chanlist "
    with pytest.raises(CommandError, match=r"channels \[149\] are not 5g channels in ETSI"):
        set_chanlist_command(Band.G5, [36, 149], Region.ETSI)


def test_frequencies() -> None:
    assert [band_of_frequency(f) for f in (2412, 5180, 5955, 5935)] == [Band.G2, Band.G5, Band.G6, Band.G6]
    assert [channel_of_frequency(f) for f in (2412, 2484, 5260, 5825, 5955, 5935)] == [1, 14, 52, 165, 1, 2]
    assert occupied_channels(5260, 40, 5270) == (52, 56)
    assert occupied_channels(5260, 80, 5290) == (52, 56, 60, 64)
    assert occupied_channels(5260, 20, 0) == (52,)
    for bad in (900, 5960, 2418):
        with pytest.raises(ValueError, match=f"{bad} MHz is not"):
            channel_of_frequency(bad)


def event(line: str) -> HostapdEvent:
    parsed = parse_event_line(line)
    assert parsed is not None
    return parsed


CONFIG_52 = RadioConfig(channel=52, width_mhz=40, tx_power_dbm=20.0)


def test_radar_then_hostapd_moves_by_csa() -> None:
    """Radar, DFS-NEW-CHANNEL, AP-CSA-FINISHED: one DFS_RADAR, one CHANNEL_SWITCHED reason=radar."""
    t = HostapdEventTranslator("ap-1/5g")
    radar = t.hostapd_event(
        event("<3>DFS-RADAR-DETECTED freq=5260 ht_enabled=1 chan_offset=1 chan_width=2 cf1=5270 cf2=0"), 10.0, CONFIG_52
    )
    assert [(d.type, d.channel, d.metadata["nop_channels"]) for d in radar] == [(EventType.DFS_RADAR, 52, "52,56")]
    assert t.csa_in_progress(10.1) is not None
    assert t.hostapd_event(event("<3>DFS-NEW-CHANNEL freq=5180 chan=36 sec_chan=1"), 10.01, CONFIG_52) == []
    [moved] = t.hostapd_event(event("<3>AP-CSA-FINISHED freq=5180 dfs=0"), 10.4, CONFIG_52)
    assert (moved.type, moved.channel, moved.refresh_config) == (EventType.CHANNEL_SWITCHED, 36, True)
    assert moved.metadata == {"reason": "radar", "freq_mhz": "5180", "from_channel": "52", "from_width_mhz": "40"}
    assert t.csa_in_progress(10.5) is None


def test_radar_move_onto_a_dfs_channel_has_a_cac_not_a_failure() -> None:
    """hostapd disables the interface to CAC its fallback: no HW_FAILURE, CHANNEL_SWITCHED then CAC_STARTED."""
    t = HostapdEventTranslator("ap-1/5g")
    t.hostapd_event(event("<3>DFS-RADAR-DETECTED freq=5260 chan_width=1 cf1=0"), 1.0, CONFIG_52)
    t.hostapd_event(event("<3>DFS-NEW-CHANNEL freq=5500 chan=100 sec_chan=0"), 1.0, CONFIG_52)
    assert t.hostapd_event(event("<3>AP-DISABLED "), 1.1, CONFIG_52) == []
    drafts = t.hostapd_event(
        event("<3>DFS-CAC-START freq=5500 chan=100 chan_offset=0 width=0 seg0=0 seg1=0 cac_time=60s"), 1.2, CONFIG_52
    )
    assert [(d.type, d.channel) for d in drafts] == [(EventType.CHANNEL_SWITCHED, 100), (EventType.CAC_STARTED, 100)]
    assert drafts[1].metadata["cac_s"] == "60"
    radar = t.hostapd_event(event("<3>DFS-RADAR-DETECTED freq=5500 chan_width=1 cf1=0"), 5.0, CONFIG_52)
    assert radar[0].metadata["during_cac"] == "true"


def test_own_switch_is_not_an_ap_move_and_csa_without_radar_is() -> None:
    t = HostapdEventTranslator("ap-1/5g")
    t.expect_own_switch(5180)
    assert t.hostapd_event(event("<3>AP-CSA-FINISHED freq=5180 dfs=0"), 1.0, CONFIG_52) == []
    [moved] = t.hostapd_event(event("<3>AP-CSA-FINISHED freq=5200 dfs=0"), 2.0, CONFIG_52)
    assert moved.metadata["reason"] == "ap"


def test_cac_results_and_ignored_events() -> None:
    t = HostapdEventTranslator("ap-1/5g")
    [done] = t.hostapd_event(
        event("<3>DFS-CAC-COMPLETED success=1 freq=5260 ht_enabled=1 chan_offset=0 chan_width=1 cf1=0 cf2=0"), 1, None
    )
    assert (done.type, done.metadata["success"]) == (EventType.CAC_COMPLETED, "true")
    assert t.hostapd_event(event("<3>DFS-CAC-COMPLETED success=0 freq=5260 chan_width=0 cf1=0 cf2=0"), 2, None) == []
    assert t.hostapd_event(event("<3>DFS-NOP-FINISHED freq=5260 ht_enabled=1 chan_width=1 cf1=0 cf2=0"), 3, None) == []
    [failed] = t.hostapd_event(event("<3>AP-DISABLED "), 4, CONFIG_52)
    [back] = t.hostapd_event(event("<3>AP-ENABLED "), 5, CONFIG_52)
    assert (failed.type, back.type) == (EventType.HW_FAILURE, EventType.RADIO_RECOVERED)


def test_unreadable_radar_still_reports_radar_on_our_channel() -> None:
    t = HostapdEventTranslator("ap-1/5g")
    [radar] = t.hostapd_event(event("<3>DFS-RADAR-DETECTED freq=garbage"), 1, CONFIG_52)
    assert (radar.type, radar.channel, radar.metadata["freq_mhz"]) == (EventType.DFS_RADAR, 52, "unknown")


def test_urls() -> None:
    target = parse_hostapd_url("hostapd:///var/run/hostapd/wlan0?ap=ap-7&region=ETSI")
    assert (target.ctrl_path, target.ifname, target.ap_id, target.region) == (
        Path("/var/run/hostapd/wlan0"),
        "wlan0",
        "ap-7",
        Region.ETSI,
    )
    assert parse_hostapd_url("hostapd:///run/hostapd/wlan1").region is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("netconf:///var/run/hostapd/wlan0", "scheme must be hostapd"),
        ("hostapd://ap1/var/run/hostapd/wlan0", "no host allowed"),
        ("hostapd:///wlan0", "path must be /<ctrl_dir>/<ifname>"),
        ("hostapd:///var/run/hostapd/interface-name-too-long", "is not an interface name"),
        ("hostapd:///var/run/hostapd/wlan0?band=5g", "unknown query keys ['band']"),
        ("hostapd:///var/run/hostapd/wlan0?ap=a&ap=b", "given more than once"),
        ("hostapd:///var/run/hostapd/wlan0?ap=a/b", "must be 1-64 letters"),
        ("hostapd:///var/run/hostapd/wlan0?region=EU", "region 'EU' is unknown"),
        ("hostapd:///var/run/hostapd/wlan0#x", "fragment"),
    ],
)
def test_bad_urls_name_the_url_and_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as caught:
        parse_hostapd_url(url)
    assert str(caught.value).startswith(repr(url))
    assert problem in str(caught.value)
