"""HostapdDriver against a real hostapd (driver=none) started by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from drivers.hostapd.control import EventTimeout, HostapdControl
from drivers.hostapd.driver import HostapdDriver
from drivers.hostapd.url import open_hostapd_driver, parse_hostapd_url
from drivers.protocol import (
    CapabilityRefused,
    ChangeRejected,
    DriverEvent,
    DriverUnavailable,
    RadioDriver,
    Reading,
)
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from rrm.clock import WallClock
from tests.peers.hostapd_peer import HostapdPeer, default_settings, running_hostapd

pytestmark = pytest.mark.integration

EVENT_TIMEOUT_S = 10.0
RECOVERY_TIMEOUT_S = 20.0  # AP-ENABLED comes about 5 s after ENABLE (COUNTRY_UPDATE without a radio)


@pytest.fixture(scope="module")
def enabled_hostapd() -> Iterator[HostapdPeer]:
    """One hostapd on channel 52 at 40 MHz, past its COUNTRY_UPDATE, shared by the non-destructive tests."""
    with running_hostapd() as peer:
        peer.wait_enabled()
        yield peer


@asynccontextmanager
async def opened(peer: HostapdPeer, ap_id: str = "ap-t", keepalive_s: float = 5.0) -> AsyncIterator[HostapdDriver]:
    driver = await open_hostapd_driver(parse_hostapd_url(peer.url(ap_id)), clock=WallClock(), keepalive_s=keepalive_s)
    try:
        yield driver
    finally:
        await driver.close()


async def next_event(driver: HostapdDriver, timeout_s: float = EVENT_TIMEOUT_S) -> DriverEvent:
    stream = driver.events()
    try:
        return await asyncio.wait_for(anext(stream), timeout_s)
    except TimeoutError:
        raise AssertionError(f"no driver event from {driver.radio_id} within {timeout_s:g} s") from None


async def event_of(driver: HostapdDriver, kind: EventType, timeout_s: float = EVENT_TIMEOUT_S) -> DriverEvent:
    """The next event of this type; fails naming the events seen instead."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no {kind.value} from {driver.radio_id} within {timeout_s:g} s; saw {seen}")
        try:
            event = await next_event(driver, remaining)
        except AssertionError:
            continue
        if event.type is kind:
            return event
        seen.append(event.type.value)


async def test_state_reads_the_radio_from_status(enabled_hostapd: HostapdPeer) -> None:
    """STATUS gives the radio id, channel, width and honest capabilities without nl80211."""
    async with opened(enabled_hostapd) as driver:
        assert isinstance(driver, RadioDriver)
        [info] = driver.radios()
        assert info.radio_id == "ap-t/5g"
        caps = info.capabilities
        assert caps.reads == frozenset({Reading.CONFIG})
        assert not caps.can_change_tx_power and not caps.can_change_obss_pd and not caps.can_steer_clients
        assert caps.can_set_fallback_channels and caps.reports_radar
        assert caps.widths_mhz == (20, 40, 80, 160)
        [state] = await driver.state()
    assert state.radio_id == "ap-t/5g"
    assert (state.config.channel, state.config.width_mhz, state.config.enabled) == (52, 40, True)
    assert driver.nl80211_reason.startswith("no nl80211")


@pytest.mark.parametrize(
    ("extra", "width"),
    [
        ({"ieee80211n": "0", "ieee80211ac": "0"}, 20),
        ({"vht_oper_chwidth": "1", "vht_oper_centr_freq_seg0_idx": "58"}, 80),
    ],
)
async def test_width_follows_ht_and_vht_settings(extra: dict[str, str], width: int) -> None:
    """The width comes from ieee80211n/secondary_channel and vht_oper_chwidth."""
    settings = default_settings() | extra
    if extra.get("ieee80211n") == "0":
        del settings["ht_capab"]
    with running_hostapd(settings) as peer:
        async with opened(peer) as driver:
            [state] = await driver.state()
    assert (state.config.channel, state.config.width_mhz) == (52, width)


async def test_radar_becomes_dfs_radar_with_channel(enabled_hostapd: HostapdPeer) -> None:
    """RADAR DETECTED on another control connection arrives as DFS_RADAR on channel 52."""
    async with opened(enabled_hostapd) as driver:
        assert enabled_hostapd.command("RADAR DETECTED freq=5260 ht_enabled=1 chan_width=1") == "OK"
        event = await next_event(driver)
    assert (event.type, event.radio_id, event.channel) == (EventType.DFS_RADAR, "ap-t/5g", 52)
    assert event.metadata["freq_mhz"] == "5260"
    assert event.metadata["nop_channels"] == "52"
    assert event.metadata["source"] == "hostapd"


async def test_chan_switch_right_after_radar_says_hostapds_csa_may_be_running(enabled_hostapd: HostapdPeer) -> None:
    """A CHAN_SWITCH refused just after radar says hostapd's own CSA may be in progress."""
    async with opened(enabled_hostapd) as driver:
        assert enabled_hostapd.command("RADAR DETECTED freq=5260 ht_enabled=1 chan_width=1") == "OK"
        assert (await next_event(driver)).type is EventType.DFS_RADAR
        with pytest.raises(ChangeRejected, match=r"hostapd's own channel switch \(radar at 5260 MHz"):
            await driver.apply("ap-t/5g", ConfigChange(channel=36, width_mhz=20))


async def test_control_queues_events_that_arrive_between_replies(enabled_hostapd: HostapdPeer) -> None:
    """Events that come with replies are queued in order; past the bound the oldest are dropped and counted."""
    control = await HostapdControl.connect(enabled_hostapd.ctrl_path, "ap-q", max_events=2)
    try:
        await control.attach()
        for freq in (5260, 5280, 5300, 5320):
            assert (await control.request(f"RADAR DETECTED freq={freq} ht_enabled=1 chan_width=1")).strip() == "OK"
        assert (await control.request("PING")).strip() == "PONG"
        first = await control.wait_event(["DFS-RADAR-DETECTED"], timeout_s=EVENT_TIMEOUT_S)
        second = await control.wait_event(["DFS-"], timeout_s=EVENT_TIMEOUT_S)
        with pytest.raises(EventTimeout, match="ap-q: wait for DFS-"):
            await control.wait_event(["DFS-"], timeout_s=0.05)
    finally:
        await control.close()
    assert (first.fields["freq"], second.fields["freq"]) == ("5300", "5320")
    assert control.dropped_events == 2
    assert not control.attached


async def test_cac_finished_is_reported_and_nop_and_aborted_cac_are_not(enabled_hostapd: HostapdPeer) -> None:
    """NOP-FINISHED and an aborted CAC make no event; CAC-FINISHED is CAC_COMPLETED success=true."""
    async with opened(enabled_hostapd) as driver:
        for line in ("NOP-FINISHED", "CAC-ABORTED", "CAC-FINISHED"):
            assert enabled_hostapd.command(f"RADAR {line} freq=5260 ht_enabled=1 chan_width=1") == "OK"
        event = await next_event(driver)
    assert (event.type, event.channel) == (EventType.CAC_COMPLETED, 52)
    assert event.metadata["success"] == "true"
    assert event.config is not None and event.config.channel == 52


async def test_disable_and_enable_are_failure_and_recovery() -> None:
    """DISABLE gives HW_FAILURE (radio off), ENABLE gives RADIO_RECOVERED (radio on)."""
    with running_hostapd() as peer:
        peer.wait_enabled()
        async with opened(peer) as driver:
            assert peer.command("DISABLE") == "OK"
            failure = await next_event(driver)
            assert peer.command("ENABLE") == "OK"
            recovered = await event_of(driver, EventType.RADIO_RECOVERED, RECOVERY_TIMEOUT_S)
    assert failure.type is EventType.HW_FAILURE
    assert failure.config is not None and not failure.config.enabled
    assert recovered.config is not None and recovered.config.enabled


@pytest.mark.parametrize(("channel", "width"), [(36, 20), (36, 40), (52, 80), (40, 160)])
async def test_chan_switch_refused_by_driver_none_is_change_rejected(
    enabled_hostapd: HostapdPeer, channel: int, width: int
) -> None:
    """hostapd parses our CHAN_SWITCH, then its radio-less driver refuses the CSA: ChangeRejected with FAIL."""
    async with opened(enabled_hostapd) as driver:
        log_before = len(enabled_hostapd.log_text())
        with pytest.raises(ChangeRejected) as refused:
            await driver.apply("ap-t/5g", ConfigChange(channel=channel, width_mhz=width))
        [state] = await driver.state()
    message = str(refused.value)
    assert message.startswith("ap-t/5g: apply channel/width:")
    assert "'FAIL'" in message and "CHAN_SWITCH 5 " in message
    new_log = enabled_hostapd.log_text()[log_before:]
    assert "CSA is not supported" in new_log, new_log[-2000:]
    assert "invalid frequency settings" not in new_log
    assert (state.config.channel, state.config.width_mhz) == (52, 40)


async def test_same_change_twice_sends_nothing(enabled_hostapd: HostapdPeer) -> None:
    """A change already in effect returns before == after and sends no CHAN_SWITCH."""
    async with opened(enabled_hostapd) as driver:
        log_before = len(enabled_hostapd.log_text())
        first = await driver.apply("ap-t/5g", ConfigChange(channel=52, width_mhz=40))
        second = await driver.apply("ap-t/5g", ConfigChange(channel=52, width_mhz=40))
    assert first.before == first.after == second.before == second.after
    assert "CHAN_SWITCH" not in enabled_hostapd.log_text()[log_before:]


async def test_fallback_channels_set_hostapds_chanlist(enabled_hostapd: HostapdPeer) -> None:
    """set_fallback_channels sends SET chanlist, which hostapd's debug log shows it took."""
    async with opened(enabled_hostapd) as driver:
        await driver.set_fallback_channels("ap-t/5g", [36, 44, 36])
        await driver.set_fallback_channels("ap-t/5g", [])
        with pytest.raises(ChangeRejected, match=r"channels \[14\] are not 5g channels"):
            await driver.set_fallback_channels("ap-t/5g", [36, 14])
        assert driver.fallback_channels == ()
    log = enabled_hostapd.log_text()
    assert "CTRL_IFACE SET 'chanlist'='36 44'" in log
    assert "CTRL_IFACE SET 'chanlist'=''" in log
    assert "'chanlist'='36 14'" not in log


async def test_what_cannot_be_done_is_refused(enabled_hostapd: HostapdPeer) -> None:
    """OBSS-PD, tx power without nl80211, steering and foreign radios are CapabilityRefused."""
    async with opened(enabled_hostapd) as driver:
        with pytest.raises(CapabilityRefused, match="OBSS-PD"):
            await driver.apply("ap-t/5g", ConfigChange(obss_pd_dbm=-70))
        with pytest.raises(CapabilityRefused, match="no nl80211"):
            await driver.apply("ap-t/5g", ConfigChange(tx_power_dbm=10))
        with pytest.raises(CapabilityRefused, match="BSS_TM_REQ"):
            await driver.steer_client("ap-t/5g", "02:00:00:00:00:01", "ap-u/5g")
        with pytest.raises(CapabilityRefused, match="not managed"):
            await driver.apply("ap-u/5g", ConfigChange(channel=36))
        [state] = await driver.state()
    assert (state.config.channel, state.config.width_mhz) == (52, 40)


async def test_killed_hostapd_is_unavailable_and_others_keep_working() -> None:
    """SIGKILL: state() names the AP and STATUS, the keepalive reports HW_FAILURE, a restart recovers."""
    with running_hostapd() as victim, running_hostapd() as bystander:
        async with opened(victim, "ap-a", keepalive_s=0.2) as doomed, opened(bystander, "ap-b") as healthy:
            victim.kill()
            with pytest.raises(DriverUnavailable) as gone:
                await doomed.state()
            failure = await event_of(doomed, EventType.HW_FAILURE)
            [still] = await healthy.state()
            victim.start()
            recovered = await event_of(doomed, EventType.RADIO_RECOVERED, RECOVERY_TIMEOUT_S)
            [back] = await doomed.state()
    assert str(gone.value).startswith("ap-a/5g: STATUS:")
    assert failure.metadata["reason"] == "hostapd_unreachable"
    assert still.radio_id == "ap-b/5g" and still.config.channel == 52
    assert recovered.metadata["reason"] == "hostapd_reachable"
    assert back.config.channel == 52


async def test_restarted_hostapd_gets_the_fallback_list_again() -> None:
    """hostapd forgets a SET when it restarts; the driver sets the radar fallback list again once it answers."""
    with running_hostapd() as peer:
        async with opened(peer, "ap-r", keepalive_s=0.2) as driver:
            await driver.set_fallback_channels("ap-r/5g", [36])
            peer.kill()
            await event_of(driver, EventType.HW_FAILURE)
            restarted_at = len(peer.log_text())
            peer.start()
            await event_of(driver, EventType.RADIO_RECOVERED, RECOVERY_TIMEOUT_S)
            [state] = await driver.state()
        after_restart = peer.log_text()[restarted_at:]
    assert "CTRL_IFACE SET 'chanlist'='36'" in after_restart, after_restart[-2000:]
    assert driver.fallback_channels == (36,)
    assert state.config.channel == 52


async def test_open_without_hostapd_is_unavailable(tmp_path: Path) -> None:
    """No socket at the URL: DriverUnavailable naming the AP and the connect."""
    target = parse_hostapd_url(f"hostapd://{tmp_path}/wlan9?ap=ap-z")
    with pytest.raises(DriverUnavailable, match=r"^ap-z: connect: cannot reach hostapd"):
        await open_hostapd_driver(target, clock=WallClock())


async def test_events_end_when_the_driver_closes(enabled_hostapd: HostapdPeer) -> None:
    """events() ends after close(), and the driver refuses work once closed."""
    async with opened(enabled_hostapd) as driver:
        stream = driver.events()
        await driver.close()
        leftover = [e async for e in stream]
        with pytest.raises(DriverUnavailable, match="closed"):
            await driver.state()
    assert leftover == []


async def test_nl80211_readings(enabled_hostapd: HostapdPeer) -> None:
    """With nl80211 the driver reads utilisation, clients and errors (skips where the kernel has none)."""
    async with opened(enabled_hostapd) as driver:
        if driver.nl80211_reason:
            pytest.skip(f"nl80211 is not usable here: {driver.nl80211_reason}")
        caps = driver.radios()[0].capabilities
        [state] = await driver.state()
    assert {Reading.CLIENTS, Reading.ERRORS} <= caps.reads
    assert caps.can_change_tx_power
    assert state.config.tx_power_dbm > 0
