"""The spectral-scan source of a Linux AP: samples read from a debugfs relay file or a FIFO, as they come.

On ath9k the samples are in ``/sys/kernel/debug/ieee80211/phyN/ath9k/spectral_scan0`` (ath10k:
``.../ath10k/spectral_scan0``) once the scan runs (``echo background > spectral_scan_ctl; echo trigger >
spectral_scan_ctl``; this source only reads). A FIFO or a growing file in the same format (a replayed
capture, another tool's tee) works the same. The file is read every ``poll_s`` without blocking;
decoding (drivers.spectral.stream) and the sliding-window classification (drivers.spectral.watch) are
pure, and this is only the reading, the logging and the worker thread a classifier pass runs in
(a pass takes seconds on a slow CPU, such as the HIL guest under TCG, and the agent's event loop
shares this thread; the file is read on meanwhile, so the kernel's buffer does not fill up).
Nothing here stops the driver: a missing file is waited for (logged once), damage is logged naming
the file and byte offset and skipped, a read error closes the file and it is opened again, a file
that shrank (truncated, or replaced by a new one) is read again from its start.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from drivers.protocol import DriverEvent, RadioCapabilities, Reading
from drivers.spectral.ath_encode import encode_ht20
from drivers.spectral.ath_samples import decode_capture
from drivers.spectral.interference import Classification, classify
from drivers.spectral.stream import Decoded, SpectralStreamDecoder
from drivers.spectral.watch import DEFAULT_WATCH, SpectralWatch, WatchSettings
from rrm.clock import Clock

log = logging.getLogger(__name__)

POLL_S = 0.02
REOPEN_S = 1.0
READ_BYTES = 65536
DEBUGFS = Path("/sys/kernel/debug")
WARM_UP_SAMPLES = 40


def with_spectrum(caps: RadioCapabilities) -> RadioCapabilities:
    """The radio's capabilities once a spectral source feeds it: it reports spectrum and non-Wi-Fi duty."""
    return replace(caps, reports_spectrum=True, reads=caps.reads | {Reading.NON_WIFI})


@dataclass(frozen=True, slots=True)
class _Opened:
    fd: int
    inode: tuple[int, int]  # (st_dev, st_ino): a different one at the path means the file was replaced
    growing: bool  # a regular file that grows (not a FIFO, not a debugfs relay file, which reports size 0)
    fifo: bool


class SpectralFileSource:
    """Reads ``path`` for one radio and raises its NON_WIFI_BURST events through ``publish``."""

    def __init__(
        self,
        path: Path,
        radio_id: str,
        *,
        clock: Clock,
        settings: WatchSettings = DEFAULT_WATCH,
        poll_s: float = POLL_S,
    ) -> None:
        self.path = path
        self.watch = SpectralWatch(radio_id, settings)
        self.samples = 0  # decoded so far
        self.faults = 0  # damaged places met so far
        self._clock = clock
        self._poll_s = poll_s
        self._decoder = SpectralStreamDecoder(str(path))
        self._opened: _Opened | None = None
        self._position = 0
        self._missing_logged = False
        self._verdict_kind = ""  # the kind of the last verdict logged

    async def run(self, publish: Callable[[DriverEvent], None]) -> None:
        """Read until cancelled; each event worth raising goes to ``publish``."""
        radio = self.watch.radio_id
        log.info("%s: reading spectral samples from %s", radio, self.path)
        # The pass in progress; the first is a warm-up on made-up samples, not judged.
        running: asyncio.Future[Classification] | None = asyncio.ensure_future(asyncio.to_thread(_warm_up))
        warming = True
        try:
            while True:
                data = self._read()
                now = self._clock.now()
                if data:
                    self._take(self._decoder.feed(data), now)
                if running is not None and running.done() and warming:
                    running, warming = None, False
                    log.debug("%s: spectral classifier warmed up", radio)
                elif running is not None and running.done():
                    event = self.watch.judge(running.result(), now)
                    running = None
                    self._note_verdict()
                    if event is not None:
                        _log_event(event, self.path)
                        publish(event)
                if running is None and (window := self.watch.window(now)) is not None:
                    running = asyncio.ensure_future(asyncio.to_thread(classify, window))
                await self._clock.sleep(self._poll_s if self._opened is not None else REOPEN_S)
        finally:
            if running is not None:
                running.cancel()
            self._close()

    def _take(self, decoded: Decoded, now: float) -> None:
        self.samples += len(decoded.samples)
        self.faults += len(decoded.faults)
        for fault in decoded.faults:
            where = fault.error.offset if fault.error.offset is not None else 0
            log.error(
                "%s: spectral samples in %s damaged at byte %d (0x%x): %s; skipped %d byte(s) looking for "
                "the next good record",
                self.watch.radio_id, self.path, where, where, fault.error.detail, fault.skipped,
            )  # fmt: skip
        self.watch.add(decoded.samples, now)

    def _note_verdict(self) -> None:
        """Log the verdict when its kind changes (Wi-Fi, none, a non-Wi-Fi kind), so silence is explained."""
        verdict = self.watch.latest
        if verdict is None or verdict.kind.value == self._verdict_kind:
            return
        self._verdict_kind = verdict.kind.value
        log.info(
            "%s: spectral verdict from %s now %s (confidence %.2f, channel %d) over %d sample(s), %d read so far",
            self.watch.radio_id, self.path, verdict.kind.value, verdict.confidence, verdict.channel,
            len(self.watch), self.samples,
        )  # fmt: skip

    # ------------------------------------------------------------------ the file

    def _read(self) -> bytes:
        opened = self._opened or self._open()
        if opened is None:
            return b""
        if opened.growing and self._replaced_or_shrunk(opened):
            log.warning("%s: %s was truncated or replaced; reading it from the start", self.watch.radio_id, self.path)
            self._close()
            self._decoder.reset()
            return b""
        try:
            data = os.read(opened.fd, READ_BYTES)
        except BlockingIOError:
            return b""  # a FIFO with a writer and nothing written yet
        except OSError as exc:
            log.error("%s: reading %s failed: %s; opening it again", self.watch.radio_id, self.path, exc)
            self._close()
            return b""
        if not data and opened.fifo and self._decoder.pending:
            # No writer any more: what it left of a record will never be completed.
            log.warning("%s: the writer of %s left %d byte(s) of an unfinished record; dropped",
                        self.watch.radio_id, self.path, self._decoder.pending)  # fmt: skip
            self._decoder.reset()
        self._position += len(data)
        return data

    def _open(self) -> _Opened | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            if not self._missing_logged:
                why = "does not exist yet" if exc.errno == errno.ENOENT else f"cannot be opened: {exc.strerror}"
                log.warning("%s: %s %s; trying again every %g s", self.watch.radio_id, self.path, why, REOPEN_S)
                self._missing_logged = True
            return None
        info = os.fstat(fd)
        growing = stat.S_ISREG(info.st_mode) and not self.path.resolve().is_relative_to(DEBUGFS)
        self._opened = _Opened(fd, (info.st_dev, info.st_ino), growing, stat.S_ISFIFO(info.st_mode))
        self._position = 0
        if self._missing_logged:
            log.info("%s: %s is there now", self.watch.radio_id, self.path)
        self._missing_logged = False
        return self._opened

    def _replaced_or_shrunk(self, opened: _Opened) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return False  # gone for now: keep reading what we have open
        return (info.st_dev, info.st_ino) != opened.inode or info.st_size < self._position

    def _close(self) -> None:
        if self._opened is not None:
            with contextlib.suppress(OSError):
                os.close(self._opened.fd)
            self._opened = None


def _warm_up() -> Classification:
    """One pass over made-up samples (a tone, some wideband bursts, noise) as the source starts.

    The first pass pays for lazy imports and cold code (seconds in the HIL guest, where QEMU translates
    each code path the first time it runs); better before the interferer than in front of its event.
    """
    records = b"".join(
        encode_ht20(
            [40 if i % 4 == 0 else (60 if b == 20 else 1 + (b * i) % 5) for b in range(56)], rssi=30, tsf=i * 1500
        )
        for i in range(WARM_UP_SAMPLES)
    )
    return classify(decode_capture(records, "warm-up"))


def _log_event(event: DriverEvent, path: Path) -> None:
    meta = event.metadata
    log.info(
        "%s: spectral %s: %s on channel %d at %s MHz (confidence %.2f, duty %s, bandwidth %s MHz): NON_WIFI_BURST",
        event.radio_id, path, meta.get("kind"), event.channel, meta.get("freq_mhz"), event.confidence,
        meta.get("duty_cycle"), meta.get("bandwidth_mhz"),
    )  # fmt: skip
