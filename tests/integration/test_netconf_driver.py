"""The NETCONF driver against real peers: netconfd (yuma123) behind sshd, and the state-serving AP."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from drivers.netconf.driver import NetconfDriver
from drivers.netconf.failures import DatastoreLocked
from drivers.netconf.url import open_netconf_driver, parse_netconf_url
from drivers.protocol import CapabilityRefused, ChangeRejected, DriverEvent, DriverUnavailable, Reading
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from rrm.clock import VirtualClock, WallClock
from tests.peers.netconf_state_server import PASSWORD, StateServer
from tests.peers.netconfd_peer import NetconfdPeer, missing_binaries

pytestmark = pytest.mark.integration

HOST = "ap1.lab"
LAB = "ap-lab-1"
ENV = {"RRM_NETCONF_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def netconfd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetconfdPeer]:
    missing = missing_binaries()
    if missing:
        pytest.skip(f"netconfd peer needs {', '.join(missing)} (apt-get install netconfd openssh-server)")
    peer = NetconfdPeer(tmp_path_factory.mktemp("netconfd"))
    try:
        peer.start()
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def yuma(netconfd: NetconfdPeer) -> NetconfdPeer:
    """netconfd holding one freshly seeded AP: 2g on 6/20 MHz/17 dBm, 5g on 36/80 MHz/20 dBm."""
    netconfd.seed(HOST)
    return netconfd


@pytest.fixture
async def yuma_driver(yuma: NetconfdPeer) -> AsyncIterator[NetconfDriver]:
    driver = await open_netconf_driver(parse_netconf_url(yuma.url(hostkey="insecure"), {}), clock=WallClock())
    yield driver
    await driver.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[StateServer]:
    server = StateServer(tmp_path / "lab", LAB)
    yield server
    server.stop()


@pytest.fixture
def spare_key(tmp_path: Path) -> Path:
    """A fresh ed25519 key pair that no server knows."""
    key = tmp_path / "spare_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    return key


async def open_lab(server: StateServer, **options: str) -> NetconfDriver:
    return await open_netconf_driver(parse_netconf_url(server.url(**options), ENV), clock=WallClock())


async def next_event(events: AsyncIterator[DriverEvent], timeout_s: float = 10.0) -> DriverEvent:
    try:
        return await asyncio.wait_for(anext(events), timeout_s)
    except TimeoutError:
        raise AssertionError(f"no driver event within {timeout_s:g} s") from None


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ netconfd: the config path


async def test_netconfd_radios_are_read_as_config_only(yuma_driver: NetconfDriver) -> None:
    """netconfd serves no state: the driver reads config and says that is all it reads."""
    infos = {i.radio_id: i for i in yuma_driver.radios()}
    assert sorted(infos) == [f"{HOST}/2g", f"{HOST}/5g"]
    assert all(i.capabilities.reads == frozenset({Reading.CONFIG, Reading.TX_POWER}) for i in infos.values())
    assert not infos[f"{HOST}/5g"].capabilities.reports_radar
    states = {s.radio_id: s for s in await yuma_driver.state()}
    assert (states[f"{HOST}/5g"].config.channel, states[f"{HOST}/5g"].config.width_mhz) == (36, 80)
    assert states[f"{HOST}/2g"].config.tx_power_dbm == 17.0


async def test_apply_channel_and_power_then_the_same_change_changes_nothing(
    yuma: NetconfdPeer, yuma_driver: NetconfDriver
) -> None:
    """A confirmed change lands in running; repeating it reports before == after."""
    result = await yuma_driver.apply(f"{HOST}/5g", ConfigChange(channel=52, tx_power_dbm=18))
    assert (result.before.channel, result.after.channel, result.after.tx_power_dbm) == (36, 52, 18.0)
    assert (yuma.running_leaf(HOST, 1, "channel"), yuma.running_leaf(HOST, 1, "transmit-power")) == ("52", "18")
    again = await yuma_driver.apply(f"{HOST}/5g", ConfigChange(channel=52, tx_power_dbm=18))
    assert again.before == again.after == result.after
    width = await yuma_driver.apply(f"{HOST}/5g", ConfigChange(width_mhz=40))
    assert yuma.running_leaf(HOST, 1, "channel-bandwidth") == "40" and width.after.width_mhz == 40
    assert yuma.running_leaf(HOST, 1, "channel-width") is None  # the deprecated leaf is never written


async def test_out_of_range_channel_is_rejected_with_the_servers_message(
    yuma: NetconfdPeer, yuma_driver: NetconfDriver
) -> None:
    """channel 250 is outside the YANG range: ChangeRejected names the radio and netconfd's words."""
    with pytest.raises(ChangeRejected) as caught:
        await yuma_driver.apply(f"{HOST}/5g", ConfigChange(channel=250))
    assert caught.value.radio_id == f"{HOST}/5g"
    assert "value not in range" in str(caught.value) and "config/channel" in str(caught.value)
    assert yuma.running_leaf(HOST, 1, "channel") == "36"
    assert (await yuma_driver.apply(f"{HOST}/5g", ConfigChange(channel=40))).after.channel == 40


async def test_unconfirmed_commit_rolls_back_by_itself_when_the_session_is_lost(yuma: NetconfdPeer) -> None:
    """The session dies between commit-confirmed and the confirm: the AP restores the old channel."""
    clock = VirtualClock()
    target = parse_netconf_url(yuma.url(hostkey="insecure", settle="5", confirm_timeout="60"), {})
    driver = await open_netconf_driver(target, clock=clock)
    try:
        applying = asyncio.ensure_future(driver.apply(f"{HOST}/5g", ConfigChange(channel=100)))
        await eventually(lambda: clock.pending_sleepers() == 1, "the driver to wait before its read-back")
        assert yuma.running_leaf(HOST, 1, "channel") == "100"  # committed, not yet confirmed
        assert driver.session_id is not None
        yuma.kill_session(driver.session_id)
        await eventually(lambda: yuma.running_leaf(HOST, 1, "channel") == "36", "netconfd to roll back")
        clock.advance(5)
        with pytest.raises(DriverUnavailable, match="rolls the change back by itself"):
            await asyncio.wait_for(applying, 15)
        states = {s.radio_id: s for s in await driver.state()}  # the driver reconnects
        assert states[f"{HOST}/5g"].config.channel == 36
    finally:
        await driver.close()


async def test_a_lock_held_by_another_manager_is_a_typed_error(yuma: NetconfdPeer, yuma_driver: NetconfDriver) -> None:
    """While someone else locks the candidate, apply fails with DatastoreLocked naming that session."""
    admin = yuma.admin()
    admin.lock("candidate")
    try:
        with pytest.raises(DatastoreLocked, match=f"locked by NETCONF session {admin.session_id}"):
            await yuma_driver.apply(f"{HOST}/5g", ConfigChange(channel=44))
    finally:
        admin.unlock("candidate")
    assert (await yuma_driver.apply(f"{HOST}/5g", ConfigChange(channel=44))).after.channel == 44


async def test_obss_pd_steering_and_fallback_are_refused(yuma_driver: NetconfDriver) -> None:
    """The OpenConfig model has no leaf for these: CapabilityRefused, nothing sent."""
    with pytest.raises(CapabilityRefused, match="OBSS-PD"):
        await yuma_driver.apply(f"{HOST}/5g", ConfigChange(obss_pd_dbm=-70))
    with pytest.raises(CapabilityRefused):
        await yuma_driver.steer_client(f"{HOST}/5g", "client", f"{HOST}/2g")
    with pytest.raises(CapabilityRefused, match="allowed-channels is policy"):
        await yuma_driver.set_fallback_channels(f"{HOST}/5g", [36, 40])


async def test_a_change_by_another_manager_becomes_channel_switched(
    yuma: NetconfdPeer, yuma_driver: NetconfDriver
) -> None:
    """netconfd's RFC 6470 config-change from another session turns into CHANNEL_SWITCHED."""
    assert yuma_driver.subscribed
    events = yuma_driver.events()
    yuma.set_channel(HOST, 1, "FREQ_5GHZ", 149)
    event = await next_event(events)
    assert (event.type, event.radio_id, event.channel) == (EventType.CHANNEL_SWITCHED, f"{HOST}/5g", 149)
    assert event.metadata["previous_channel"] == "36"


async def test_wrong_key_is_driver_unavailable(yuma: NetconfdPeer, spare_key: Path) -> None:
    """A key sshd does not know: DriverUnavailable saying authentication failed."""
    url = yuma.url(hostkey="insecure").replace(str(yuma.client_key), str(spare_key))
    with pytest.raises(DriverUnavailable, match="authentication failed"):
        await open_netconf_driver(parse_netconf_url(url, {}), clock=WallClock())


async def test_host_keys_accept_new_then_strict_then_changed(
    yuma: NetconfdPeer, tmp_path: Path, spare_key: Path
) -> None:
    """accept-new records the key; strict then trusts that file; a different key there is refused."""
    known = tmp_path / "known_hosts"
    first = await open_netconf_driver(
        parse_netconf_url(yuma.url(hostkey="accept-new", known_hosts=str(known)), {}), clock=WallClock()
    )
    await first.close()
    assert yuma.host_public_key in known.read_text()
    second = await open_netconf_driver(parse_netconf_url(yuma.url(hostkey=str(known)), {}), clock=WallClock())
    await second.close()
    yuma.write_known_hosts(known, public_key=f"{spare_key}.pub")  # someone else's key for this host:port
    with pytest.raises(DriverUnavailable, match="does not match"):
        await open_netconf_driver(parse_netconf_url(yuma.url(hostkey=str(known)), {}), clock=WallClock())


# ------------------------------------------------------------------ the state-serving AP


async def test_telemetry_is_in_radio_state(lab: StateServer) -> None:
    """Utilisation, noise floor, the non-Wi-Fi share and neighbours reach RadioState."""
    driver = await open_lab(lab)
    try:
        info = {i.radio_id: i for i in driver.radios()}[f"{LAB}/5g"]
        expected = {Reading.TX_POWER, Reading.UTILISATION, Reading.NOISE, Reading.NON_WIFI, Reading.NEIGHBOURS}
        assert expected <= info.capabilities.reads
        assert info.capabilities.reports_radar and info.capabilities.max_tx_power_dbm == 23.0
        state = {s.radio_id: s for s in await driver.state()}[f"{LAB}/5g"]
        assert (state.channel_utilization, state.tx_airtime, state.cca_busy) == pytest.approx((0.42, 0.15, 0.27))
        assert state.noise_floor_dbm == -91.0
        assert state.non_wifi_duty == pytest.approx(0.07)
        assert [(n.neighbor_id, n.rssi_dbm, n.channel) for n in state.neighbors] == [("02:aa:bb:cc:dd:01", -67.0, 36)]
    finally:
        await driver.close()


async def test_radar_notification_becomes_one_dfs_radar_event(lab: StateServer) -> None:
    """Our radar-detected notification: DFS_RADAR on the radar channel, config already moved, no duplicate."""
    driver = await open_lab(lab)
    try:
        events = driver.events()
        lab.ap.radar(1, new_channel=100)
        event = await next_event(events)
        assert (event.type, event.radio_id, event.channel) == (EventType.DFS_RADAR, f"{LAB}/5g", 52)
        assert event.config is not None and event.config.channel == 100
        assert event.metadata["source"] == "notification"
        await driver.state()  # the poll sees the same dfs-hit-time and must not report it again
        lab.ap.radar(1, new_channel=36)
        assert (await next_event(events)).channel == 100
    finally:
        await driver.close()


async def test_dfs_hit_time_is_polled_when_notifications_are_not_offered(tmp_path: Path) -> None:
    """Without :notification a new dfs-hit-time with reason DFS, seen by state(), is a DFS_RADAR."""
    server = StateServer(tmp_path / "quiet", LAB, notifications=False)
    driver = await open_lab(server)
    try:
        assert not driver.subscribed
        events = driver.events()
        server.ap.radar(1, new_channel=100, notify=False)
        await driver.state()
        event = await next_event(events)
        assert (event.type, event.channel, event.metadata["source"]) == (EventType.DFS_RADAR, 52, "dfs-hit-time")
        assert event.metadata["channel_change_reason"] == "DFS"
        await driver.state()
        server.ap.radar(1, new_channel=36, notify=False)
        await driver.state()
        assert (await next_event(events)).channel == 100
    finally:
        await driver.close()
        server.stop()


async def test_a_clamped_power_is_not_confirmed_and_the_ap_rolls_back(lab: StateServer) -> None:
    """The AP keeps 23 dBm where 28 was asked: no confirm, ChangeRejected, and running returns to 20."""
    driver = await open_lab(lab, confirm_timeout="60")
    try:
        with pytest.raises(ChangeRejected, match="the AP runs channel 52, 80 MHz, 23 dBm"):
            await driver.apply(f"{LAB}/5g", ConfigChange(tx_power_dbm=28))
        await eventually(lambda: lab.ap.running_leaf(1, "transmit-power") == "20", "the AP to roll back")
        assert (await driver.apply(f"{LAB}/5g", ConfigChange(tx_power_dbm=22))).after.tx_power_dbm == 22.0
    finally:
        await driver.close()


async def test_wrong_password_is_driver_unavailable(lab: StateServer) -> None:
    """A refused password is DriverUnavailable and the message does not carry it."""
    wrong = "not-the-password"
    with pytest.raises(DriverUnavailable, match="authentication failed") as caught:
        await open_netconf_driver(parse_netconf_url(lab.url(), {"RRM_NETCONF_PASSWORD": wrong}), clock=WallClock())
    assert wrong not in str(caught.value)


async def test_a_dead_ap_is_unavailable_while_another_keeps_working(lab: StateServer, tmp_path: Path) -> None:
    """Stopping one AP makes its driver raise DriverUnavailable; a driver on another AP is unaffected."""
    other = StateServer(tmp_path / "other", LAB)
    first, second = await open_lab(lab), await open_lab(other)
    try:
        lab.stop()
        with pytest.raises(DriverUnavailable) as caught:
            await first.state()
        assert caught.value.radio_id == LAB
        assert len(await second.state()) == 2
        assert (await second.apply(f"{LAB}/2g", ConfigChange(channel=11))).after.channel == 11
    finally:
        await first.close()
        await second.close()
        other.stop()
