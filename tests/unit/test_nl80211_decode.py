"""nl80211 decoding on messages built with pyroute2's own encoder, and the telemetry taken from two readings."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from pyroute2.netlink.nl80211 import NL80211_NAMES, MarshalNl80211, nl80211cmd

from drivers.hostapd.nl80211_decode import (
    RadarEventKind,
    StationEntry,
    SurveyEntry,
    decode_interface,
    decode_mlme,
    decode_regulatory,
    decode_station,
    decode_survey,
    hex_attr_int,
    noise_dbm,
    radar_event_kind,
    tx_power_mbm,
)
from drivers.hostapd.telemetry import (
    ASSUMED_NOISE_FLOOR_DBM,
    client_observations,
    link_errors,
    operating_entry,
    survey_fractions,
)

pytestmark = pytest.mark.unit

GENL_NL80211 = 0x1C  # any generic netlink family id: the marshal only reads the command


def wire(command: str, attrs: list[list[Any]]) -> Any:
    """Encode an nl80211 message with pyroute2 and decode it back as the kernel's reply would be."""
    msg = nl80211cmd()
    msg["cmd"] = NL80211_NAMES[command]
    msg["attrs"] = attrs
    msg["header"]["type"] = GENL_NL80211
    msg.encode()
    [decoded] = MarshalNl80211().parse(bytes(msg.data))
    return decoded


@pytest.mark.parametrize(("raw", "dbm"), [(161, -95), (164, -92), (128, -128), (127, 127), (0, 0)])
def test_noise_byte_is_signed(raw: int, dbm: int) -> None:
    assert noise_dbm(raw) == dbm


@pytest.mark.parametrize(("dbm", "mbm"), [(10.0, 1000), (12.5, 1200), (0.0, 0), (22.9999999999, 2300), (22.9, 2200)])
def test_tx_power_goes_down_to_whole_dbm(dbm: float, mbm: int) -> None:
    """mac80211 answers EOPNOTSUPP to 1250 mBm (seen on the HIL rig): whole dBm, rounded down (float noise aside)."""
    assert tx_power_mbm(dbm) == mbm


@pytest.mark.parametrize("dbm", [-1.0, float("nan"), float("inf")])
def test_tx_power_mac80211_refuses(dbm: float) -> None:
    with pytest.raises(ValueError, match="whole dBm"):
        tx_power_mbm(dbm)


def test_survey_entry() -> None:
    info = [
        ["NL80211_SURVEY_INFO_FREQUENCY", 5260],
        ["NL80211_SURVEY_INFO_NOISE", 161],
        ["NL80211_SURVEY_INFO_IN_USE", True],
        ["NL80211_SURVEY_INFO_TIME", 1000],
        ["NL80211_SURVEY_INFO_TIME_BUSY", 250],
        ["NL80211_SURVEY_INFO_TIME_RX", 150],
        ["NL80211_SURVEY_INFO_TIME_TX", 100],
    ]
    msg = wire(
        "NL80211_CMD_NEW_SURVEY_RESULTS", [["NL80211_ATTR_IFINDEX", 3], ["NL80211_ATTR_SURVEY_INFO", {"attrs": info}]]
    )
    assert decode_survey(msg) == SurveyEntry(5260, True, -95, 1000, 250, 150, 100)


def test_survey_entry_of_a_channel_not_in_use_has_what_was_sent() -> None:
    info = [["NL80211_SURVEY_INFO_FREQUENCY", 5180], ["NL80211_SURVEY_INFO_NOISE", 164]]
    msg = wire("NL80211_CMD_NEW_SURVEY_RESULTS", [["NL80211_ATTR_SURVEY_INFO", {"attrs": info}]])
    assert decode_survey(msg) == SurveyEntry(5180, False, -92, None, None, None, None)
    assert decode_survey(wire("NL80211_CMD_NEW_SURVEY_RESULTS", [["NL80211_ATTR_IFINDEX", 3]])) is None


def test_station_entry() -> None:
    info = [
        ["NL80211_STA_INFO_SIGNAL", -45],
        ["NL80211_STA_INFO_SIGNAL_AVG", -47],
        ["NL80211_STA_INFO_TX_PACKETS", 100],
        ["NL80211_STA_INFO_TX_RETRIES", 10],
        ["NL80211_STA_INFO_TX_FAILED", 1],
        [
            "NL80211_STA_INFO_TX_BITRATE",
            {"attrs": [["NL80211_RATE_INFO_BITRATE32", 8667], ["NL80211_RATE_INFO_VHT_MCS", 9]]},
        ],
        ["NL80211_STA_INFO_RX_BITRATE", {"attrs": [["NL80211_RATE_INFO_BITRATE", 1300]]}],
        ["NL80211_STA_INFO_EXPECTED_THROUGHPUT", 500_000],
    ]
    msg = wire(
        "NL80211_CMD_NEW_STATION",
        [
            ["NL80211_ATTR_IFINDEX", 3],
            ["NL80211_ATTR_MAC", "02:00:00:00:01:00"],
            ["NL80211_ATTR_STA_INFO", {"attrs": info}],
        ],
    )
    assert decode_station(msg) == StationEntry("02:00:00:00:01:00", -47, 100, 10, 1, 866.7, 130.0, 500.0)


def test_interface_entry() -> None:
    msg = wire(
        "NL80211_CMD_NEW_INTERFACE",
        [
            ["NL80211_ATTR_IFINDEX", 7],
            ["NL80211_ATTR_IFNAME", "wlan0"],
            ["NL80211_ATTR_WIPHY", 1],
            ["NL80211_ATTR_WIPHY_FREQ", 5260],
            ["NL80211_ATTR_CHANNEL_WIDTH", 2],
            ["NL80211_ATTR_CENTER_FREQ1", 5270],
            ["NL80211_ATTR_WIPHY_TX_POWER_LEVEL", 2000],
        ],
    )
    entry = decode_interface(msg)
    assert entry is not None
    assert (entry.ifindex, entry.ifname, entry.wiphy, entry.freq_mhz) == (7, "wlan0", 1, 5260)
    assert (entry.width_code, entry.center_freq1_mhz, entry.tx_power_dbm) == (2, 5270, 20.0)


def test_regulatory_domain() -> None:
    def rule(flags: int, start: int, end: int, eirp_mbm: int) -> dict[str, Any]:
        return {
            "attrs": [
                ["NL80211_ATTR_REG_RULE_FLAGS", flags],
                ["NL80211_ATTR_FREQ_RANGE_START", start * 1000],
                ["NL80211_ATTR_FREQ_RANGE_END", end * 1000],
                ["NL80211_ATTR_FREQ_RANGE_MAX_BW", 80_000],
                ["NL80211_ATTR_POWER_RULE_MAX_EIRP", eirp_mbm],
            ]
        }

    msg = wire(
        "NL80211_CMD_GET_REG",
        [
            ["NL80211_ATTR_REG_ALPHA2", "DE"],
            ["NL80211_ATTR_DFS_REGION", b"\x02"],
            ["NL80211_ATTR_REG_RULES", [rule(0, 5150, 5250, 2300), rule(16, 5250, 5350, 2000)]],
        ],
    )
    domain = decode_regulatory(msg)
    assert domain is not None
    assert (domain.alpha2, domain.dfs_region) == ("DE", 2)
    assert [(r.start_mhz, r.end_mhz, r.max_eirp_dbm, r.dfs) for r in domain.rules] == [
        (5150.0, 5250.0, 23.0, False),
        (5250.0, 5350.0, 20.0, True),
    ]
    assert domain.max_eirp_dbm(5250, 5270) == 20.0
    assert domain.max_eirp_dbm(5240, 5260) is None  # straddles two rules


@pytest.mark.parametrize("kind", list(RadarEventKind))
def test_radar_event_enum(kind: RadarEventKind) -> None:
    msg = wire(
        "NL80211_CMD_RADAR_DETECT",
        [
            ["NL80211_ATTR_WIPHY", 0],
            ["NL80211_ATTR_IFINDEX", 5],
            ["NL80211_ATTR_WIPHY_FREQ", 5260],
            ["NL80211_ATTR_RADAR_EVENT", struct.pack("<I", kind.value)],
            ["NL80211_ATTR_CHANNEL_WIDTH", 2],
            ["NL80211_ATTR_CENTER_FREQ1", 5270],
        ],
    )
    assert msg.get_attr("NL80211_ATTR_RADAR_EVENT") == f"{kind.value:02x}:00:00:00"  # pyroute2's hex dump
    notice = decode_mlme(msg)
    assert notice is not None
    assert (notice.kind, notice.wiphy, notice.ifindex, notice.freq_mhz) == (kind, 0, 5, 5260)
    assert (notice.width_code, notice.center_freq1_mhz, notice.center_freq2_mhz) == (2, 5270, 0)


def test_radar_event_errors_and_other_commands() -> None:
    with pytest.raises(ValueError, match="radar event 9 is not one of 0-5"):
        radar_event_kind("09:00:00:00")
    with pytest.raises(ValueError, match="not a hex dump"):
        hex_attr_int("zz:00")
    missing = wire("NL80211_CMD_RADAR_DETECT", [["NL80211_ATTR_WIPHY", 0]])
    with pytest.raises(ValueError, match="without NL80211_ATTR_RADAR_EVENT"):
        decode_mlme(missing)
    switch = wire("NL80211_CMD_CH_SWITCH_NOTIFY", [["NL80211_ATTR_WIPHY_FREQ", 5180]])
    assert decode_mlme(switch) is None


def survey(active: int, busy: int, tx: int, freq: int = 5260, in_use: bool = True) -> SurveyEntry:
    return SurveyEntry(freq, in_use, -92, active, busy, busy - tx, tx)


def test_airtime_fractions_come_from_differences() -> None:
    fractions = survey_fractions(survey(1000, 200, 50), survey(2000, 600, 150))
    assert fractions is not None
    assert (fractions.utilisation, fractions.tx_airtime) == pytest.approx((0.4, 0.1))
    assert fractions.cca_busy == pytest.approx(0.3)


def test_no_fractions_without_an_interval() -> None:
    assert survey_fractions(None, survey(1000, 200, 50)) is None
    assert survey_fractions(survey(2000, 600, 150), survey(1000, 200, 50)) is None  # counters reset
    assert survey_fractions(survey(1000, 200, 50), survey(1000, 200, 50)) is None
    assert survey_fractions(survey(1000, 200, 50, freq=5180), survey(2000, 600, 150)) is None  # channel changed


def test_operating_entry() -> None:
    entries = [survey(1, 0, 0, freq=5180, in_use=False), survey(1, 0, 0, freq=5260, in_use=False)]
    assert operating_entry(entries, 5260) is entries[1]
    assert operating_entry([*entries, survey(1, 0, 0, freq=5500)], 5260) is not None
    assert operating_entry(entries, None) is None


def station(mac: str, packets: int, retries: int, failed: int, signal: int | None = -60) -> StationEntry:
    return StationEntry(mac, signal, packets, retries, failed, 300.0, 200.0, None)


def test_link_errors_and_clients() -> None:
    before = {"a": station("a", 100, 10, 1), "b": station("b", 50, 0, 0)}
    after = [station("a", 200, 30, 3), station("b", 150, 0, 0), station("c", 0, 0, 0, signal=None)]
    errors = link_errors(before, after)
    assert errors is not None
    assert (errors.retry_rate, errors.packet_error_rate) == pytest.approx((20 / 200, 2 / 200))
    clients = client_observations(before, after, noise_dbm=-92)
    assert [(c.client_id, c.rssi_dbm, c.snr_db, c.retry_rate) for c in clients] == [
        ("a", -60.0, 32.0, pytest.approx(0.2)),
        ("b", -60.0, 32.0, 0.0),
    ]
    assert clients[0].throughput_mbps == 300.0  # no expected throughput: the PHY rate
    assert client_observations({}, after[:1], None)[0].snr_db == -60.0 - ASSUMED_NOISE_FLOOR_DBM
    assert link_errors(before, [station("a", 100, 10, 1)]) is None  # nothing sent in the interval
