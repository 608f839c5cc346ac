"""OID profiles, index encoding, power levels, profile files, SNMP URLs and the pure checks behind
the SNMP driver (SET verification, trap decoding, counters to rates, change planning)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pysnmp.proto import rfc1902, rfc1905

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverError, DriverUnavailable, Reading
from drivers.snmp.client import (
    Assignment,
    AuthProtocol,
    CommunityCredentials,
    Missing,
    PrivProtocol,
    UsmCredentials,
    VarBind,
    check_set_response,
    decode_value,
    expect_int,
)
from drivers.snmp.oid_profiles import (
    AIRESPACE,
    IEEE80211,
    Column,
    PowerLevels,
    ProfileError,
    Telemetry,
    load_profile_file,
    mac_slot_index,
    mw_to_dbm,
    parse_mac,
    parse_oid,
    resolve_profile,
    split_mac_slot,
)
from drivers.snmp.radio_mapping import (
    DiscoveryProblem,
    error_rates,
    find_radios,
    levels_from_mw,
    make_radio,
    plan_assignments,
    radio_state,
    readback_problem,
)
from drivers.snmp.trap_receiver import Notification, decode_radio_trap, notification_from
from drivers.snmp.url import parse_snmp_url, redact_url
from radio_domain.radio import Band, RadioConfig

pytestmark = pytest.mark.unit

MAC = bytes.fromhex("001122334455")
ENV = {"RRM_SNMP_AUTH_KEY": "auth-key-123", "RRM_SNMP_PRIV_KEY": "priv-key-456"}


def test_builtin_profiles_hold_the_documented_numeric_oids() -> None:
    ieee = {c.band: c.column.oid for c in IEEE80211.channels}
    assert ieee == {Band.G5: parse_oid("1.2.840.10036.4.11.1.1"), Band.G2: parse_oid("1.2.840.10036.4.5.1.1")}
    assert IEEE80211.tx_power is not None and AIRESPACE.tx_power is not None
    assert IEEE80211.tx_power.level.oid == parse_oid("1.2.840.10036.4.3.1.10")
    assert [c.oid[-1] for c in IEEE80211.tx_power.level_mw] == list(range(2, 10))
    assert AIRESPACE.channels[0].column.oid == parse_oid("1.3.6.1.4.1.14179.2.2.2.1.4")
    assert AIRESPACE.tx_power.level.oid == parse_oid("1.3.6.1.4.1.14179.2.2.2.1.6")
    assert AIRESPACE.telemetry[Telemetry.NOISE_FLOOR_DBM].oid == parse_oid("1.3.6.1.4.1.14179.2.2.15.1.21")
    assert AIRESPACE.traps is not None
    assert AIRESPACE.traps.radar_detected == parse_oid("1.3.6.1.4.1.14179.2.6.3.81")
    assert AIRESPACE.traps.radar_cleared == parse_oid("1.3.6.1.4.1.14179.2.6.3.82")


def test_mac_slot_index_is_six_sub_ids_without_length_then_the_slot() -> None:
    index = mac_slot_index(MAC, 1)
    assert index == (0, 17, 34, 51, 68, 85, 1)
    assert split_mac_slot(index) == (MAC, 1)
    assert parse_mac("00-11-22-33-44-55") == parse_mac("001122334455") == MAC
    column = Column("noise", (1, 3), per_channel=True)
    assert column.at(index, 52) == (1, 3, 0, 17, 34, 51, 68, 85, 1, 52)
    with pytest.raises(ValueError, match="not six MAC bytes"):
        split_mac_slot((6, 0, 17, 34, 51, 68, 85, 1))
    with pytest.raises(ValueError, match="not a MAC address"):
        parse_mac("00:11:22")


def test_power_levels_never_exceed_the_requested_power() -> None:
    levels = PowerLevels((20.0, 17.0, 14.0, 10.8))
    assert (levels.level_for(20.0), levels.level_for(18.5), levels.level_for(14.0)) == (1, 2, 3)
    assert levels.level_for(30.0) == 1
    assert levels.level_for(10.0) is None
    assert (levels.dbm_of(4), levels.dbm_of(5)) == (10.8, None)
    assert [mw_to_dbm(mw) for mw in (100, 50, 1)] == [20.0, 17.0, 0.0]
    assert levels_from_mw(3, [200, 100, 50, 25]) == PowerLevels((23.0, 20.0, 17.0))
    assert levels_from_mw(None, [100, None, 25]) == PowerLevels((20.0,))
    assert levels_from_mw(None, [None]) is None


def test_profile_file_rejects_unknown_keys_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "vendor.json"
    good = {
        "name": "vendor",
        "index": "if_index",
        "channel_columns": [{"oid": "1.3.6.1.4.1.9.1", "band": "5g"}],
        "tx_power": {"level": {"oid": "1.3.6.1.4.1.9.2"}, "levels_dbm": [20, 14]},
        "telemetry": {"noise_floor_dbm": {"oid": "1.3.6.1.4.1.9.3", "per_channel": True}},
        "width": {"oid": "1.3.6.1.4.1.9.4"},
    }
    path.write_text(json.dumps(good))
    profile = resolve_profile(str(path))
    assert profile.width is not None and profile.telemetry[Telemetry.NOISE_FLOOR_DBM].per_channel
    bad = {**good, "colour": "red", "telemetry": {"noize": {"oid": "1.3.6.1"}}}
    path.write_text(json.dumps(bad))
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert f"{path}: colour: unknown key" in str(caught.value)
    assert f"{path}: telemetry.noize: unknown key" in str(caught.value)


def test_profile_file_values_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"name": "x", "index": "by_name", "channel_columns": [{"oid": "one.two"}]}))
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert "index: 'by_name' is not one of if_index, mac_slot" in str(caught.value)
    assert "channel_columns[0].oid: 'one.two' is not a numeric OID" in str(caught.value)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile_file(tmp_path / "missing.json")
    with pytest.raises(ProfileError, match="ieee80211, airespace"):
        resolve_profile("cisco")


def test_urls_give_v2c_and_v3_targets_with_hidden_secrets() -> None:
    v2 = parse_snmp_url("snmp://s3cret@10.0.0.5?profile=airespace&mac=00:11:22:33:44:55&trap_port=1162", {})
    assert (v2.host, v2.port, v2.profile.name, v2.mac) == ("10.0.0.5", 161, "airespace", MAC)
    assert v2.credentials == CommunityCredentials("s3cret")
    assert v2.trap is not None and (v2.trap.port, v2.trap.community) == (1162, "s3cret")
    v3 = parse_snmp_url("snmpv3://rrm@ap-7:1161?auth=SHA256&priv=aes&ap=ap-7&context=c", ENV)
    assert v3.credentials == UsmCredentials(
        "rrm", AuthProtocol.SHA256, PrivProtocol.AES, "auth-key-123", "priv-key-456", "c"
    )
    for text in (repr(v2), repr(v3), redact_url("snmp://s3cret@h?trap_community=t0p")):
        assert "s3cret" not in text and "auth-key-123" not in text and "t0p" not in text


@pytest.mark.parametrize(
    ("url", "env", "problem"),
    [
        ("http://public@h", {}, "scheme must be snmp://"),
        ("snmp://h", {}, "no community"),
        ("snmp://public@h:99999", {}, "port is not a number"),
        ("snmp://public@h?colour=red", {}, "unknown option 'colour'"),
        ("snmp://public@h?ap=a&ap=b", {}, "'ap' is given twice"),
        ("snmp://public@h?ap=x/y", {}, "without '/'"),
        ("snmp://public@h?timeout=0", {}, "timeout='0' must be a number from 0.01 to 60"),
        ("snmp://public@h?trap_host=1.2.3.4", {}, "trap_host needs trap_port"),
        ("snmp://public@h?auth=sha", {}, "unknown option 'auth'"),
        ("snmp://public@h?profile=/nope.json", {}, "cannot read the profile"),
        ("snmpv3://u:k3y@h?auth=sha&priv=aes", ENV, "no password in the URL; set RRM_SNMP_AUTH_KEY"),
        ("snmpv3://u@h?auth=sha&priv=aes&auth_key=k3y", ENV, "keys do not go in the URL; set RRM_SNMP_AUTH_KEY"),
        ("snmpv3://u@h?priv=aes", ENV, "v3 needs ?auth="),
        ("snmpv3://u@h?auth=sha1&priv=aes", ENV, "auth='sha1' is not one of md5, sha"),
        ("snmpv3://u@h?auth=sha&priv=aes", {}, "RRM_SNMP_AUTH_KEY must hold the auth key"),
        ("snmpv3://u@h?auth=sha&priv=aes", {"RRM_SNMP_AUTH_KEY": "long-enough"}, "RRM_SNMP_PRIV_KEY must hold"),
    ],
)
def test_url_problems_name_the_url_and_the_problem(url: str, env: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=r"^SNMP URL ") as caught:
        parse_snmp_url(url, env)
    message = str(caught.value)
    assert problem in message
    assert "k3y" not in message
    assert redact_url(url) in message


def test_set_verification_checks_status_and_every_varbind() -> None:
    want = [Assignment((1, 2, 3), 149, "dot11CurrentFrequency.2"), Assignment((1, 2, 4), 3, "level.2")]
    echo = [VarBind((1, 2, 3), 149, "Integer"), VarBind((1, 2, 4), 3, "Integer")]
    check_set_response("ap/5g", "apply", want, 0, 0, echo)
    cases: list[tuple[int, int, list[VarBind], type[Exception], str]] = [
        (17, 2, echo, ChangeRejected, "level.2: the agent answered notWritable"),
        (7, 1, echo, ChangeRejected, "dot11CurrentFrequency.2: the agent answered wrongType"),
        (5, 1, echo, DriverUnavailable, "genErr"),
        (0, 0, [echo[0], VarBind((1, 2, 4), Missing.NO_SUCH_INSTANCE, "noSuchInstance")], ChangeRejected, "noSuch"),
        (0, 0, [echo[0], VarBind((1, 2, 4), b"3", "OctetString")], DriverUnavailable, "echoed a OctetString"),
        (0, 0, [echo[0], VarBind((1, 2, 4), 4, "Integer")], ChangeRejected, "echoed 4, not 3"),
        (0, 0, [echo[0], VarBind((1, 2, 9), 3, "Integer")], DriverUnavailable, "echoed OID 1.2.9"),
        (0, 0, echo[:1], DriverUnavailable, "echoed 1 varbinds for a SET of 2"),
    ]
    for status, index, varbinds, error, text in cases:
        with pytest.raises(error, match=text) as caught:
            check_set_response("ap/5g", "apply", want, status, index, varbinds)
        assert isinstance(caught.value, DriverError)
        assert (caught.value.radio_id, caught.value.operation) == ("ap/5g", "apply")


def test_pysnmp_values_decode_to_plain_python() -> None:
    assert decode_value(rfc1902.Integer32(36)) == (36, "Integer32")
    assert decode_value(rfc1902.Counter32(7)) == (7, "Counter32")
    assert decode_value(rfc1902.OctetString(MAC)) == (MAC, "OctetString")
    assert decode_value(rfc1902.ObjectName("1.3.6")) == ((1, 3, 6), "ObjectName")
    assert decode_value(rfc1905.noSuchInstance) == (Missing.NO_SUCH_INSTANCE, "noSuchInstance")
    assert decode_value(rfc1905.endOfMibView) == (Missing.END_OF_MIB_VIEW, "endOfMibView")


def _trap(trap_oid: tuple[int, ...], *varbinds: VarBind) -> Notification:
    found = notification_from([VarBind((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), trap_oid, "ObjectName"), *varbinds], "h:1")
    assert found is not None
    return found


def test_radar_traps_decode_to_mac_slot_and_channel() -> None:
    assert AIRESPACE.traps is not None
    traps = AIRESPACE.traps
    index = mac_slot_index(MAC, 1)
    full = _trap(
        traps.radar_detected or (),
        VarBind((*traps.mac, *MAC), MAC, "OctetString"),
        VarBind((*traps.slot, *index), 1, "Integer"),
        VarBind((*traps.channel, *index), 52, "Integer"),
    )
    decoded = decode_radio_trap(full, traps)
    assert not isinstance(decoded, str)
    assert (decoded.kind, decoded.index, decoded.channel) == ("radar_detected", index, 52)
    by_suffix = decode_radio_trap(
        _trap(traps.radar_cleared or (), VarBind((*traps.channel, *index), 52, "Integer")), traps
    )
    assert not isinstance(by_suffix, str) and by_suffix.index == index
    assert decode_radio_trap(_trap((1, 3, 6, 1, 4, 1, 9, 9)), traps) == "unknown trap"
    assert "no integer channel" in str(decode_radio_trap(_trap(traps.radar_detected or ()), traps))
    assert notification_from([VarBind((1, 3), 1, "Integer")], "h:1") is None


def _found(profile_rows: dict[tuple[int, ...], int]) -> list[VarBind]:
    prefix = AIRESPACE.channels[0].column.oid
    return [VarBind(prefix + index, channel, "Integer") for index, channel in profile_rows.items()]


def test_discovery_finds_one_radio_per_band_and_needs_a_mac_for_several_aps() -> None:
    other = bytes.fromhex("001122334466")
    rows = _found({mac_slot_index(MAC, 0): 6, mac_slot_index(MAC, 1): 52, mac_slot_index(other, 1): 149})
    walks = [(AIRESPACE.channels[0], rows)]
    with pytest.raises(DiscoveryProblem, match="serves 2 APs"):
        find_radios(AIRESPACE, walks, None)
    mac, radios = find_radios(AIRESPACE, walks, MAC)
    assert (mac, [(r.band, r.channel) for r in radios]) == (MAC, [(Band.G2, 6), (Band.G5, 52)])
    with pytest.raises(DiscoveryProblem, match="no radios found"):
        find_radios(AIRESPACE, walks, bytes(6))


def test_counters_give_rates_across_a_wrap() -> None:
    sent, retry, ack = Telemetry.TRANSMITTED_FRAME_COUNT, Telemetry.RETRY_COUNT, Telemetry.ACK_FAILURE_COUNT
    before = {sent: 2**32 - 500, retry: 10, ack: 0}
    after = {sent: 500, retry: 110, ack: 250}
    retry_rate, per = error_rates(before, after)
    assert (retry_rate, per) == pytest.approx((0.1, 0.2))
    assert error_rates(None, after) == (0.0, 0.0)
    assert error_rates(after, after) == (0.0, 0.0)


def test_state_maps_percentages_and_leaves_missing_readings_neutral() -> None:
    found = find_radios(AIRESPACE, [(AIRESPACE.channels[0], _found({mac_slot_index(MAC, 1): 52}))], None)[1][0]
    radio = make_radio("ap", found, AIRESPACE, PowerLevels((20.0, 17.0)), AIRESPACE.telemetry, radar=True)
    assert radio.info.capabilities.reads == {Reading.CONFIG, Reading.TX_POWER, Reading.UTILISATION, Reading.NOISE}
    config = RadioConfig(52, 20, 17.0)
    values = {
        AIRESPACE.telemetry[Telemetry.CHANNEL_UTILIZATION].at(radio.index): VarBind((), 40, "Integer"),
        AIRESPACE.telemetry[Telemetry.CCA_BUSY].at(radio.index, 52): VarBind((), 250, "Integer"),
    }
    state, _ = radio_state(radio, 1.0, config, values, None)
    assert (state.channel_utilization, state.cca_busy, state.tx_airtime, state.noise_floor_dbm) == (
        0.4,
        0.0,
        0.0,
        -95.0,
    )


def test_change_planning_refuses_what_snmp_cannot_do() -> None:
    found = find_radios(AIRESPACE, [(AIRESPACE.channels[0], _found({mac_slot_index(MAC, 1): 52}))], None)[1][0]
    radio = make_radio("ap", found, AIRESPACE, PowerLevels((20.0, 17.0)), {}, radar=False)
    now = RadioConfig(52, 20, 17.0)
    assert plan_assignments(radio, AIRESPACE, now, now) == []
    assert plan_assignments(radio, AIRESPACE, now, RadioConfig(52, 20, 18.0)) == []  # still level 2
    planned = plan_assignments(radio, AIRESPACE, now, RadioConfig(100, 20, 20.0))
    assert [(a.label.split(".")[0], a.value) for a in planned] == [
        ("bsnAPIfPhyChannelNumber", 100),
        ("bsnAPIfPhyChannelAssignment", 2),
        ("bsnAPIfPhyTxPowerLevel", 1),
        ("bsnAPIfPhyTxPowerControl", 2),
    ]
    with pytest.raises(ChangeRejected, match="channel 14 is not a 5g channel"):
        plan_assignments(radio, AIRESPACE, now, RadioConfig(14, 20, 17.0))
    with pytest.raises(ChangeRejected, match="below the weakest level, 17 dBm"):
        plan_assignments(radio, AIRESPACE, now, RadioConfig(52, 20, 5.0))
    with pytest.raises(CapabilityRefused, match="channel width"):
        plan_assignments(radio, AIRESPACE, now, RadioConfig(52, 80, 17.0))
    with pytest.raises(CapabilityRefused, match="OBSS-PD"):
        plan_assignments(radio, AIRESPACE, now, RadioConfig(52, 20, 17.0, obss_pd_dbm=-70))


def test_unexpected_values_are_unavailable_and_readback_differences_named() -> None:
    assert expect_int(VarBind((1, 2), 36, "Integer"), "ap", "state", "chan.2") == 36
    with pytest.raises(DriverUnavailable, match=r"chan\.2: expected an integer, the agent answered a OctetString"):
        expect_int(VarBind((1, 2), b"36", "OctetString"), "ap", "state", "chan.2")
    with pytest.raises(DriverUnavailable, match=r"chan\.2: the agent answered noSuchObject"):
        expect_int(VarBind((1, 2), Missing.NO_SUCH_OBJECT, "noSuchObject"), "ap", "state", "chan.2")
    assert readback_problem(RadioConfig(36, 20, 17.0), RadioConfig(36, 20, 17.0)) is None
    problem = readback_problem(RadioConfig(149, 20, 17.0), RadioConfig(36, 20, 17.0))
    assert problem == "the agent accepted the SET but reads back channel 36 (set 149)"
