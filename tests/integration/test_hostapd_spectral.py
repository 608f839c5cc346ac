"""HostapdDriver with a spectral source (``?spectral=PATH``) against a real hostapd (driver=none) on channel 1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from drivers.hostapd.url import open_hostapd_driver, parse_hostapd_url
from drivers.protocol import DriverEvent, Reading
from radio_domain.events import EventType
from rrm.clock import WallClock
from tests.peers.hostapd_peer import HostapdPeer, running_hostapd

pytestmark = pytest.mark.integration

CAMERA = Path(__file__).resolve().parents[1] / "data" / "spectral" / "ar9550_20mhz_analog_camera_ch1.dump"
EVENT_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def hostapd_on_channel_1() -> Iterator[HostapdPeer]:
    settings = {"ssid": "rrm-spectral", "hw_mode": "g", "channel": "1", "country_code": "US", "ieee80211n": "1"}
    with running_hostapd(settings) as peer:
        peer.wait_enabled()
        yield peer


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


async def _burst(events: AsyncIterator[DriverEvent], timeout_s: float) -> DriverEvent:
    """The next NON_WIFI_BURST; fails naming the events seen instead."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (left := deadline - loop.time()) > 0:
        try:
            event = await asyncio.wait_for(anext(events), left)
        except TimeoutError:
            break
        if event.type is EventType.NON_WIFI_BURST:
            return event
        seen.append(event.type.value)
    raise AssertionError(f"no NON_WIFI_BURST within {timeout_s:g} s; saw {seen}")


@pytest.mark.skipif(not CAMERA.is_file(), reason=f"the public camera capture is not at {CAMERA}")
async def test_the_camera_in_the_spectral_file_becomes_a_burst_on_the_radio_and_its_duty(
    hostapd_on_channel_1: HostapdPeer, tmp_path: Path
) -> None:
    """Samples appended to the file raise NON_WIFI_BURST on channel 1 with the config; state() has the duty."""
    spectral = tmp_path / "spectral_scan0"
    spectral.write_bytes(b"")
    url = f"{hostapd_on_channel_1.url('ap-s')}&spectral={spectral}"
    driver = await open_hostapd_driver(parse_hostapd_url(url), clock=WallClock())
    try:
        caps = driver.radios()[0].capabilities
        assert caps.reports_spectrum and Reading.NON_WIFI in caps.reads
        [before] = await driver.state()
        assert before.non_wifi_duty == 0.0
        await asyncio.to_thread(_append, spectral, CAMERA.read_bytes()[: 76 * 200])
        event = await _burst(driver.events(), EVENT_TIMEOUT_S)
        assert event.radio_id == "ap-s/2g" and event.channel == 1
        assert event.metadata["kind"] == "video_camera" and event.confidence >= 0.8
        assert event.config is not None and event.config.channel == 1
        [after] = await driver.state()
        assert after.non_wifi_duty >= 0.7
    finally:
        await driver.close()


def test_spectral_must_be_an_absolute_path() -> None:
    """A relative spectral path is refused when the URL is parsed, naming it."""
    with pytest.raises(ValueError, match="spectral=spectral_scan0 must be an absolute path"):
        parse_hostapd_url("hostapd:///var/run/hostapd/wlan0?spectral=spectral_scan0")
    assert parse_hostapd_url("hostapd:///var/run/hostapd/wlan0?spectral=/tmp/s").spectral == Path("/tmp/s")
