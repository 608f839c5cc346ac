"""The SNMP driver against real agents on loopback: snmpsim (IEEE and AIRESPACE data, traps, v3)
and net-snmp snmpd (real notWritable). One agent of each kind serves the whole module, so tests
change values relative to what they read rather than assuming a fresh agent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from pysnmp.proto.rfc1902 import Counter32, Integer32

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverEvent, DriverUnavailable, RadioDriver, Reading
from drivers.snmp.client import AuthProtocol, CommunityCredentials, PrivProtocol, SnmpClient, UsmCredentials, expect_int
from drivers.snmp.driver import SnmpDriver
from drivers.snmp.trap_receiver import TrapListen, TrapReceiver
from drivers.snmp.url import AUTH_KEY_ENV, PRIV_KEY_ENV, open_snmp_driver, parse_snmp_url
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from rrm.clock import Clock, VirtualClock, WallClock
from tests.peers import snmpd_peer
from tests.peers.snmpsim_peer import (
    ENGINE_ID,
    HOOK_CHANNEL_CHANGED,
    HOOK_RADAR,
    HOOK_RADAR_V3,
    HOOK_UNKNOWN,
    IEEE_COMMUNITY,
    MAC_A,
    TRAP_COMMUNITY,
    V3_AUTH_KEY,
    V3_PRIV_KEY,
    V3_USER,
    WLC_COMMUNITY,
    SnmpsimPeer,
    free_udp_port,
    mac_index,
    poke,
)

pytestmark = pytest.mark.integration

WAIT_S = 10.0
D = "1.2.840.10036"
A = "1.3.6.1.4.1.14179"
V3_ENV = {AUTH_KEY_ENV: V3_AUTH_KEY, PRIV_KEY_ENV: V3_PRIV_KEY}


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimPeer]:
    peer = SnmpsimPeer(tmp_path_factory.mktemp("snmpsim")).start()
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[snmpd_peer.SnmpdPeer]:
    snmpd_peer.require_snmpd()
    peer = snmpd_peer.SnmpdPeer(tmp_path_factory.mktemp("snmpd"), snmpd_peer.ieee_objects()).start()
    yield peer
    peer.stop()


@contextlib.asynccontextmanager
async def opened(
    url: str,
    env: dict[str, str] | None = None,
    *,
    clock: Clock | None = None,
    trap_receiver: TrapReceiver | None = None,
) -> AsyncIterator[SnmpDriver]:
    target = parse_snmp_url(url, env or {})
    driver = await open_snmp_driver(target, clock=clock or WallClock(), trap_receiver=trap_receiver)
    try:
        yield driver
    finally:
        await driver.close()


def ieee_url(peer: SnmpsimPeer, ap: str = "ieee1") -> str:
    return f"snmp://{IEEE_COMMUNITY}@127.0.0.1:{peer.port}?ap={ap}&timeout=3"


def wlc_url(peer: SnmpsimPeer) -> str:
    return f"snmp://{WLC_COMMUNITY}@127.0.0.1:{peer.port}?profile=airespace&mac=00:11:22:33:44:55&ap=wlc1&timeout=3"


async def next_event(events: AsyncIterator[DriverEvent], what: str) -> DriverEvent:
    try:
        return await asyncio.wait_for(anext(events), WAIT_S)
    except TimeoutError:
        raise AssertionError(f"no {what} event within {WAIT_S:g} s") from None


async def test_ieee_profile_reads_state_and_applies_channel_and_power(snmpsim: SnmpsimPeer) -> None:
    """ifIndexes and bands come from the walk; channel and power are SET, verified and read back."""
    async with opened(ieee_url(snmpsim)) as driver:
        assert isinstance(driver, RadioDriver)
        radios = {r.radio_id: r for r in driver.radios()}
        assert sorted(radios) == ["ieee1/2g", "ieee1/5g"]
        caps = radios["ieee1/5g"].capabilities
        assert caps.reads == {Reading.CONFIG, Reading.TX_POWER, Reading.ERRORS}
        assert (caps.min_tx_power_dbm, caps.max_tx_power_dbm) == (10.8, 20.0)
        assert not caps.can_change_width and not caps.can_change_obss_pd and not caps.reports_radar
        before = {s.radio_id: s.config for s in await driver.state()}
        assert before["ieee1/2g"].channel == 6
        channel = 149 if before["ieee1/5g"].channel != 149 else 44
        power = 14.0 if before["ieee1/5g"].tx_power_dbm != 14.0 else 17.0
        result = await driver.apply("ieee1/5g", ConfigChange(channel=channel, tx_power_dbm=power + 1.5))
        assert (result.before, result.after.channel, result.after.tx_power_dbm) == (before["ieee1/5g"], channel, power)
        assert {s.radio_id: s.config for s in await driver.state()}["ieee1/5g"] == result.after
        again = await driver.apply("ieee1/5g", ConfigChange(channel=channel, tx_power_dbm=power))
        assert again.before == again.after == result.after


async def test_counters_become_retry_and_packet_error_rates(snmpsim: SnmpsimPeer) -> None:
    """Retry rate and PER are deltas of dot11 counters between two readings."""
    async with opened(ieee_url(snmpsim)) as driver:
        first = {s.radio_id: s for s in await driver.state()}["ieee1/2g"]
        assert (first.retry_rate, first.packet_error_rate) == (0.0, 0.0)
        base = f"{D}.2.2.1"
        now = await _read_counters(snmpsim)
        await poke(
            snmpsim.port,
            IEEE_COMMUNITY,
            [
                (f"{base}.13.1", Counter32(now[13] + 1000)),
                (f"{base}.4.1", Counter32(now[4] + 100)),
                (f"{base}.9.1", Counter32(now[9] + 250)),
            ],
        )
        second = {s.radio_id: s for s in await driver.state()}["ieee1/2g"]
        assert second.retry_rate == pytest.approx(0.1)
        assert second.packet_error_rate == pytest.approx(250 / 1250)


async def _read_counters(peer: SnmpsimPeer) -> dict[int, int]:
    client = SnmpClient("probe", "127.0.0.1", peer.port, CommunityCredentials(IEEE_COMMUNITY), 1.0, 1)
    try:
        answers = await client.get([(1, 2, 840, 10036, 2, 2, 1, c, 1) for c in (4, 9, 13)], "probe")
    finally:
        await client.close()
    return {c: expect_int(vb, "probe", "probe", str(c)) for c, vb in zip((4, 9, 13), answers, strict=True)}


async def test_airespace_profile_reads_state_and_applies_channel_and_power(snmpsim: SnmpsimPeer) -> None:
    """MAC+slot indexes; utilisation, interference and per-channel noise; pins set to customized."""
    async with opened(wlc_url(snmpsim)) as driver:
        caps = {r.radio_id: r.capabilities for r in driver.radios()}
        assert caps["wlc1/5g"].reads == {Reading.CONFIG, Reading.TX_POWER, Reading.UTILISATION, Reading.NOISE}
        assert caps["wlc1/5g"].reports_radar and not caps["wlc1/2g"].reports_radar
        two_g = {s.radio_id: s for s in await driver.state()}["wlc1/2g"]
        assert (two_g.config.channel, two_g.channel_utilization, two_g.cca_busy) == (1, 0.35, 0.12)
        assert two_g.noise_floor_dbm == -92.0
        current = {s.radio_id: s.config for s in await driver.state()}["wlc1/5g"]
        channel = 100 if current.channel != 100 else 36
        power = 11.0 if current.tx_power_dbm != 11.0 else 8.0
        result = await driver.apply("wlc1/5g", ConfigChange(channel=channel, tx_power_dbm=power))
        assert (result.after.channel, result.after.tx_power_dbm) == (channel, power)
        five_g = {s.radio_id: s for s in await driver.state()}["wlc1/5g"]
        assert five_g.config == result.after
        assert five_g.noise_floor_dbm == {100: -97.0, 36: -92.0}[channel]


async def test_wlc_with_several_aps_needs_a_mac(snmpsim: SnmpsimPeer) -> None:
    """Without ?mac= a WLC serving two APs is refused, naming both MACs."""
    url = f"snmp://{WLC_COMMUNITY}@127.0.0.1:{snmpsim.port}?profile=airespace&ap=wlc"
    with pytest.raises(DriverUnavailable, match=r"00:11:22:33:44:55, 00:11:22:33:44:66.*\?mac=") as caught:
        await open_snmp_driver(parse_snmp_url(url, {}), clock=WallClock())
    assert caught.value.operation == "open"


async def test_snmpsim_nosuchinstance_on_set_is_change_rejected(snmpsim: SnmpsimPeer) -> None:
    """snmpsim answers a SET on a read-only object with a noSuchInstance varbind, not an error."""
    async with opened(ieee_url(snmpsim)) as driver:
        with pytest.raises(ChangeRejected) as caught:
            await driver.apply("ieee1/2g", ConfigChange(tx_power_dbm=14.0))
    assert caught.value.radio_id == "ieee1/2g"
    assert "dot11CurrentTxPowerLevel.1 (1.2.840.10036.4.3.1.10.1)" in str(caught.value)
    assert "noSuchInstance" in str(caught.value)


async def test_snmpd_reads_applies_and_answers_notwritable(snmpd: snmpd_peer.SnmpdPeer) -> None:
    """net-snmp: a real notWritable becomes ChangeRejected naming the radio and the OID."""
    url = f"snmp://{snmpd_peer.COMMUNITY}@127.0.0.1:{snmpd.port}?ap=lab1&timeout=10"  # a process per object
    async with opened(url) as driver:
        configs = {s.radio_id: s.config for s in await driver.state()}
        assert (configs["lab1/2g"].channel, configs["lab1/5g"].tx_power_dbm) == (11, 20.0)
        result = await driver.apply("lab1/5g", ConfigChange(channel=52, tx_power_dbm=23.0))
        assert (result.after.channel, result.after.tx_power_dbm) == (52, 23.0)
        assert snmpd.stored(f"{D}.4.11.1.1.2") == 52
        with pytest.raises(ChangeRejected, match=r"lab1/2g: apply: dot11CurrentTxPowerLevel\.1 .*notWritable"):
            await driver.apply("lab1/2g", ConfigChange(tx_power_dbm=17.0))
        assert snmpd.stored(f"{D}.4.3.1.10.1") == 1


async def test_radar_trap_arrives_as_dfs_radar(snmpsim: SnmpsimPeer) -> None:
    """bsnRadarChannelDetected from the agent becomes DFS_RADAR on our radio id and its channel."""
    receiver = TrapReceiver(TrapListen("127.0.0.1", snmpsim.trap_port, TRAP_COMMUNITY))
    await receiver.start()
    try:
        async with opened(wlc_url(snmpsim), trap_receiver=receiver) as driver:
            events = aiter(driver.events())
            await poke(snmpsim.port, WLC_COMMUNITY, [(HOOK_UNKNOWN, Integer32(1))])
            await poke(snmpsim.port, WLC_COMMUNITY, [(HOOK_RADAR, Integer32(1))])
            radar = await next_event(events, "DFS_RADAR")
            assert (radar.type, radar.radio_id, radar.channel) == (EventType.DFS_RADAR, "wlc1/5g", 52)
            await poke(snmpsim.port, WLC_COMMUNITY, [(HOOK_CHANNEL_CHANGED, Integer32(1))])
            switched = await next_event(events, "CHANNEL_SWITCHED")
            assert (switched.type, switched.channel) == (EventType.CHANNEL_SWITCHED, 100)
            assert receiver.dropped["unknown trap"] == 1
    finally:
        await receiver.close()


async def test_v3_radar_trap_is_authenticated_with_the_senders_engine_id(snmpsim: SnmpsimPeer) -> None:
    """A v3 authPriv trap is accepted for the user keyed to the sender's engine id."""
    usm = UsmCredentials(V3_USER, AuthProtocol.SHA, PrivProtocol.AES, V3_AUTH_KEY, V3_PRIV_KEY)
    receiver = TrapReceiver(TrapListen("127.0.0.1", snmpsim.trap_port, usm=usm, engine_id=bytes.fromhex(ENGINE_ID)))
    await receiver.start()
    try:
        async with opened(wlc_url(snmpsim), trap_receiver=receiver) as driver:
            events = aiter(driver.events())
            await poke(snmpsim.port, WLC_COMMUNITY, [(HOOK_RADAR_V3, Integer32(1))])
            radar = await next_event(events, "DFS_RADAR from a v3 trap")
    finally:
        await receiver.close()
    assert (radar.type, radar.radio_id, radar.channel) == (EventType.DFS_RADAR, "wlc1/5g", 56)


async def test_radar_is_polled_without_traps(snmpsim: SnmpsimPeer) -> None:
    """Without a trap port the radar column is polled on the injected clock."""
    clock = VirtualClock()
    radar_row = f"{A}.2.2.24.1.1.{mac_index(MAC_A, 1)}.52"
    async with opened(wlc_url(snmpsim), clock=clock) as driver:
        events = aiter(driver.events())
        await poke(snmpsim.port, WLC_COMMUNITY, [(radar_row, Integer32(52))])
        try:
            await _wait_for_sleeper(clock)
            clock.advance(driver.profile.radar_poll_s)
            radar = await next_event(events, "polled DFS_RADAR")
        finally:
            await poke(snmpsim.port, WLC_COMMUNITY, [(radar_row, Integer32(0))])
    async with asyncio.timeout(WAIT_S):
        assert [e async for e in events] == []  # the stream ends once the driver is closed
    assert (radar.type, radar.radio_id, radar.channel, radar.metadata["source"]) == (
        EventType.DFS_RADAR,
        "wlc1/5g",
        52,
        "snmp-poll",
    )


async def _wait_for_sleeper(clock: VirtualClock) -> None:
    """Until the poller sleeps on the virtual clock (advancing earlier would wake nobody)."""
    for _ in range(int(WAIT_S / 0.01)):
        if clock.pending_sleepers():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the radar poller did not sleep on the clock within {WAIT_S:g} s")


async def test_silent_ap_is_unavailable_while_another_keeps_working(snmpsim: SnmpsimPeer) -> None:
    """A timeout names the AP and the operation; the other AP's driver is unaffected."""
    relay = UdpRelay(snmpsim.port)
    relay_port = await relay.start()
    try:
        url = f"snmp://{IEEE_COMMUNITY}@127.0.0.1:{relay_port}?ap=quiet&timeout=0.3&retries=0"
        async with opened(url) as quiet, opened(wlc_url(snmpsim)) as live:
            relay.silent = True
            lost, working = await asyncio.gather(quiet.state(), live.state(), return_exceptions=True)
        assert isinstance(lost, DriverUnavailable)
        assert (lost.radio_id, lost.operation) == ("quiet", "state")
        assert "no answer from 127.0.0.1" in str(lost)
        assert isinstance(working, list)
        assert len(working) == 2
    finally:
        relay.close()
    nobody = parse_snmp_url(f"snmp://{IEEE_COMMUNITY}@127.0.0.1:{free_udp_port()}?ap=nobody&timeout=0.2&retries=0", {})
    with pytest.raises(DriverUnavailable, match=r"^nobody: open: no answer"):
        await open_snmp_driver(nobody, clock=WallClock())


async def test_v3_authpriv_reads_and_wrong_keys_are_unavailable(snmpsim: SnmpsimPeer) -> None:
    """v3 SHA/AES works; a wrong auth key, a wrong priv key or a wrong community does not."""
    url = f"snmpv3://{V3_USER}@127.0.0.1:{snmpsim.port}?auth=sha&priv=aes&context={IEEE_COMMUNITY}&ap=v3ap"
    async with opened(url, V3_ENV) as driver:
        states = {s.radio_id: s for s in await driver.state()}
        assert states["v3ap/2g"].config.channel == 6
    failures = {
        "authentication failed": (url, {**V3_ENV, AUTH_KEY_ENV: "wrong-auth-key"}),
        "decryption failed": (url, {**V3_ENV, PRIV_KEY_ENV: "wrong-priv-key"}),
        "does not know v3 user 'mallory'": (url.replace(V3_USER, "mallory"), V3_ENV),
        "no answer": (f"snmp://not-a-community@127.0.0.1:{snmpsim.port}?ap=v2&timeout=0.3&retries=0", {}),
    }
    for expected, (bad_url, env) in failures.items():
        with pytest.raises(DriverUnavailable, match=expected) as caught:
            await open_snmp_driver(parse_snmp_url(bad_url, env), clock=WallClock())
        assert caught.value.operation == "open"


async def test_capability_refusals(snmpsim: SnmpsimPeer) -> None:
    """Width, OBSS-PD, steering and fallback lists are refused; restating the width is not."""
    async with opened(ieee_url(snmpsim)) as driver:
        with pytest.raises(CapabilityRefused, match="channel width: no standard writable SNMP object"):
            await driver.apply("ieee1/5g", ConfigChange(width_mhz=80))
        with pytest.raises(CapabilityRefused, match="OBSS-PD"):
            await driver.apply("ieee1/5g", ConfigChange(obss_pd_dbm=-70))
        with pytest.raises(CapabilityRefused):
            await driver.steer_client("ieee1/5g", "client", "ieee1/2g")
        with pytest.raises(CapabilityRefused):
            await driver.set_fallback_channels("ieee1/5g", [36, 40])
        with pytest.raises(CapabilityRefused, match="not managed"):
            await driver.apply("other/5g", ConfigChange(channel=36))
        same = await driver.apply("ieee1/5g", ConfigChange(width_mhz=20, obss_pd_dbm=-82))
        assert same.before == same.after


async def test_credentials_never_in_repr_or_logs(snmpsim: SnmpsimPeer, caplog: pytest.LogCaptureFixture) -> None:
    """Communities and v3 keys stay out of reprs, error messages and every log record."""
    caplog.set_level(logging.DEBUG)
    v2 = parse_snmp_url(ieee_url(snmpsim), {})
    url = f"snmpv3://{V3_USER}@127.0.0.1:{snmpsim.port}?auth=sha&priv=aes&context={IEEE_COMMUNITY}&ap=v3ap"
    v3 = parse_snmp_url(url, V3_ENV)
    async with opened(ieee_url(snmpsim)) as driver:
        v2_texts = [repr(v2), str(v2), repr(driver)]
        await driver.state()
        await driver.apply("ieee1/5g", ConfigChange(channel=40))
    with pytest.raises(DriverUnavailable) as caught:
        await open_snmp_driver(parse_snmp_url(url, {**V3_ENV, AUTH_KEY_ENV: "wrong-auth-key"}), clock=WallClock())
    v3_texts = [repr(v3), str(v3), str(caught.value)]
    assert caplog.records, "the driver logged nothing to check"
    logs = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for text in [*v2_texts, logs]:
        assert IEEE_COMMUNITY not in text  # the v2c community (v3 names it as a context, which is no secret)
    for text in [*v2_texts, *v3_texts, logs]:
        for key in (V3_AUTH_KEY, V3_PRIV_KEY, "wrong-auth-key"):
            assert key not in text


class UdpRelay(asyncio.DatagramProtocol):
    """Forwards datagrams to an agent and back; ``silent`` drops them all (an AP gone quiet)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.silent = False
        self.transport: asyncio.DatagramTransport | None = None
        self._links: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.silent:
            task = asyncio.ensure_future(self._forward(data, addr))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _forward(self, data: bytes, client: tuple[str, int]) -> None:
        link = self._links.get(client)
        if link is None:
            loop = asyncio.get_running_loop()
            link, _ = await loop.create_datagram_endpoint(lambda: _Back(self, client), remote_addr=self.upstream)
            self._links[client] = link
        link.sendto(data)

    def close(self) -> None:
        for link in self._links.values():
            link.close()
        if self.transport is not None:
            self.transport.close()


class _Back(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay, client: tuple[str, int]) -> None:
        self.relay, self.client = relay, client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.relay.silent and self.relay.transport is not None:
            self.relay.transport.sendto(data, self.client)
