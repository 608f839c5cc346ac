"""The spectral file source on real files and FIFOs: growing files, cut records, damage, files that come late."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from drivers.hostapd.spectral_source import SpectralFileSource, with_spectrum
from drivers.protocol import DriverEvent, RadioCapabilities, Reading
from drivers.spectral.watch import WatchSettings
from radio_domain.events import EventType
from rrm.clock import WallClock

pytestmark = pytest.mark.unit

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "spectral"
CAMERA = CAPTURES / "ar9550_20mhz_analog_camera_ch1.dump"
needs_captures = pytest.mark.skipif(not CAMERA.is_file(), reason=f"the public spectral captures are not at {CAPTURES}")
WAIT_S = 10.0
RADIO = "ap-1/2g"


def _camera_bytes(records: int = 120) -> bytes:
    """The first ``records`` HT20 records of the camera capture (76 bytes each, all tuned to 2412 MHz)."""
    return CAMERA.read_bytes()[: 76 * records]


class Running:
    """A source reading in a task; the events it published."""

    def __init__(self, source: SpectralFileSource) -> None:
        self.source = source
        self.events: list[DriverEvent] = []

    async def until(self, check: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not check():
            if loop.time() > deadline:
                raise AssertionError(
                    f"no {what} within {WAIT_S:g} s; samples {self.source.samples}, faults {self.source.faults}, "
                    f"events {[e.metadata.get('kind') for e in self.events]}"
                )
            await asyncio.sleep(0.01)


@asynccontextmanager
async def reading(path: Path) -> AsyncIterator[Running]:
    source = SpectralFileSource(
        path, RADIO, clock=WallClock(), settings=WatchSettings(classify_every_s=0.02), poll_s=0.005
    )
    running = Running(source)
    task = asyncio.create_task(source.run(running.events.append))
    try:
        yield running
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _write_once(path: Path, data: bytes) -> None:
    """Open (a FIFO: blocks until the source reads it), write, close: one writer come and gone."""
    with open(path, "wb", buffering=0) as writer:
        writer.write(data)


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


@needs_captures
async def test_a_growing_file_is_read_as_it_grows_and_raises_the_burst(tmp_path: Path) -> None:
    """Records appended in pieces that cut records in two are all decoded; the camera is raised once."""
    path = tmp_path / "spectral_scan0"
    path.write_bytes(b"")
    data = _camera_bytes()
    async with reading(path) as run:
        for start in range(0, len(data), 500):  # 500 is no multiple of the 76-byte record
            _append(path, data[start : start + 500])
            await asyncio.sleep(0.01)
        await run.until(lambda: run.source.samples == 120, "all 120 samples")
        await run.until(lambda: bool(run.events), "NON_WIFI_BURST")
    [event] = run.events
    assert event.type is EventType.NON_WIFI_BURST and event.channel == 1 and event.radio_id == RADIO
    assert event.metadata["kind"] == "video_camera" and event.confidence >= 0.8
    assert run.source.faults == 0


@needs_captures
async def test_damage_is_logged_naming_the_file_and_reading_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged public dump, then good records: one error naming the file and byte; the good ones count."""
    path = tmp_path / "spectral_scan0"
    path.write_bytes((CAPTURES / "crash_1.dump").read_bytes())
    caplog.set_level(logging.ERROR, logger="drivers.hostapd.spectral_source")
    async with reading(path) as run:
        await run.until(lambda: run.source.faults == 1, "the fault")
        _append(path, _camera_bytes())
        await run.until(lambda: bool(run.events), "NON_WIFI_BURST after the damage")
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert str(path) in record.getMessage() and "at byte 0" in record.getMessage()
    assert run.source.samples >= 118  # the first good records may be taken for more damage


@needs_captures
async def test_a_file_that_is_not_there_yet_is_waited_for(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The source starts before the file exists (logged once), then reads it when it comes."""
    path = tmp_path / "later.dump"
    caplog.set_level(logging.WARNING, logger="drivers.hostapd.spectral_source")
    async with reading(path) as run:
        await run.until(lambda: any("does not exist yet" in r.getMessage() for r in caplog.records), "the warning")
        path.write_bytes(_camera_bytes())
        await run.until(lambda: run.source.samples == 120, "the samples of the late file")
    assert sum("does not exist yet" in r.getMessage() for r in caplog.records) == 1


@needs_captures
async def test_a_replaced_file_is_read_from_its_start(tmp_path: Path) -> None:
    """A file replaced by a new one (log rotation, a new capture) is read again from byte 0."""
    path = tmp_path / "spectral.dump"
    data = _camera_bytes(40)
    path.write_bytes(data)
    async with reading(path) as run:
        await run.until(lambda: run.source.samples == 40, "the first file")
        staged = tmp_path / "new.dump"
        staged.write_bytes(data[:760])
        staged.replace(path)
        await run.until(lambda: run.source.samples == 50, "the replacement's 10 samples")
    assert run.source.faults == 0


@needs_captures
async def test_a_fifo_writer_leaving_mid_record_does_not_spoil_the_next(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A FIFO: one writer stops inside a record (logged), the next writes whole records; no fault, all read."""
    path = tmp_path / "spectral.fifo"
    os.mkfifo(path)
    data = _camera_bytes(60)
    caplog.set_level(logging.WARNING, logger="drivers.hostapd.spectral_source")
    async with reading(path) as run:
        await asyncio.to_thread(_write_once, path, data[: 76 * 20 + 30])
        await run.until(lambda: run.source.samples == 20, "the first writer's 20 samples")
        await run.until(
            lambda: any("left 30 byte(s) of an unfinished record" in r.getMessage() for r in caplog.records),
            "the warning about the unfinished record",
        )
        await asyncio.to_thread(_write_once, path, data[76 * 20 :])
        await run.until(lambda: run.source.samples == 60, "the second writer's 40 samples")
    assert run.source.faults == 0


def test_a_spectral_source_adds_spectrum_and_non_wifi_to_the_capabilities() -> None:
    """reports_spectrum and Reading.NON_WIFI, the rest unchanged."""
    caps = RadioCapabilities(channels=(1, 6, 11), widths_mhz=(20,), min_tx_power_dbm=0, max_tx_power_dbm=20,
                             reads=frozenset({Reading.CONFIG}))  # fmt: skip
    got = with_spectrum(caps)
    assert got.reports_spectrum and got.reads == {Reading.CONFIG, Reading.NON_WIFI}
    assert got.channels == caps.channels
