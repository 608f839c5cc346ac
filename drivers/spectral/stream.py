"""Decoding a spectral-scan stream as it arrives: partial records wait, damaged bytes are skipped (pure).

A live ``spectral_scan0`` relay file (or a FIFO fed like one) delivers bytes in reads of any size, so
a record may end in the next read. ``SpectralStreamDecoder.feed`` decodes every complete record and
keeps the rest for the next call. Unlike ``decode_capture`` (a whole dump, strict: it stops at the
first fault), a stream must go on after damage, so a fault is reported and the decoder looks for
the next point where two records in a row decode cleanly (one record's header could be chance
bytes; two in a row, each with the exact length its type needs, are not). Skipped bytes are
counted. A header that cannot be a sample (unknown type, impossible length) is a fault at once,
without waiting for the bytes its length claims.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from drivers.spectral.ath_samples import (
    ATH10K_HEADER,
    ATH10K_MAX_BINS,
    ATH10K_MIN_BINS,
    HT20_40_BINS,
    HT20_40_HEADER,
    HT20_BINS,
    HT20_HEADER,
    TYPE_ATH10K,
    TYPE_HT20,
    TYPE_HT20_40,
    decode_capture,
)
from drivers.spectral.errors import SpectralCaptureError
from drivers.spectral.sample import SpectralSample
from drivers.spectral.tlv import TLV_HEADER

MAX_RECORD = TLV_HEADER.size + ATH10K_HEADER.size + ATH10K_MAX_BINS
"""The longest record any supported type has (ath10k with 256 bins)."""


def _length_ok(kind: int, length: int) -> bool:
    """Whether a record of this type can have this length (the decoders' own rules)."""
    if kind == TYPE_HT20:
        return length == HT20_HEADER.size + HT20_BINS
    if kind == TYPE_HT20_40:
        return length == HT20_40_HEADER.size + HT20_40_BINS
    if kind == TYPE_ATH10K:
        return ATH10K_HEADER.size + ATH10K_MIN_BINS <= length <= ATH10K_HEADER.size + ATH10K_MAX_BINS
    return False


@dataclass(frozen=True, slots=True)
class StreamFault:
    """Damage found in the stream: where it began, what it was, how many bytes were skipped over it."""

    error: SpectralCaptureError
    skipped: int  # bytes dropped from the fault up to the next good record (so far, if still looking)


@dataclass(slots=True)
class Decoded:
    """What one ``feed`` produced."""

    samples: list[SpectralSample] = field(default_factory=list)
    faults: list[StreamFault] = field(default_factory=list)
    skipped: int = 0  # bytes dropped in this feed (also while still looking after an earlier fault)


class _Fault(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SpectralStreamDecoder:
    """Feeds of bytes in, decoded samples out; offsets count from the first byte ever fed."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.skipped_total = 0
        self._buffer = bytearray()
        self._base = 0  # stream offset of _buffer[0]
        self._resyncing = False  # after a fault: skip until two records in a row decode

    @property
    def pending(self) -> int:
        """Bytes held back: the start of a record whose end has not arrived yet."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget buffered bytes (the file was truncated or replaced): the next byte starts a record."""
        self._buffer.clear()
        self._base = 0
        self._resyncing = False

    def feed(self, data: bytes) -> Decoded:
        self._buffer += data
        out = Decoded()
        pos = 0
        while True:
            if self._resyncing:
                pos, found = self._resync(pos, out)
                if not found:
                    break
            try:
                step = self._record(pos)
            except _Fault as exc:
                error = SpectralCaptureError(self.source, self._base + pos, exc.detail)
                out.faults.append(StreamFault(error, 0))
                self._resyncing = True
                self._skip(out, 1)  # the fault's first byte; the search for a good record starts after it
                pos += 1
                continue
            if step is None:
                break
            sample, pos = step
            out.samples.append(sample)
        del self._buffer[:pos]
        self._base += pos
        return out

    def _record(self, pos: int) -> tuple[SpectralSample, int] | None:
        """The record at ``pos`` and where the next starts; None when it is not complete yet."""
        left = len(self._buffer) - pos
        if left < TLV_HEADER.size:
            return None
        kind, length = TLV_HEADER.unpack_from(self._buffer, pos)
        if not _length_ok(kind, length):
            raise _Fault(f"record header type {kind}, length {length} is not a supported sample")
        end = pos + TLV_HEADER.size + length
        if end > len(self._buffer):
            return None
        try:
            [sample] = decode_capture(bytes(self._buffer[pos:end]), self.source)
        except SpectralCaptureError as exc:
            raise _Fault(exc.detail) from None
        return dataclasses.replace(sample, offset=self._base + pos), end

    def _resync(self, pos: int, out: Decoded) -> tuple[int, bool]:
        """From ``pos`` on, the first offset where two good records start back to back, and True; or, when
        the bytes run out first, the first offset that might still start such a pair, and False (wait).
        Bytes passed over are counted as skipped."""
        candidate = pos
        while candidate < len(self._buffer):
            verdict = self._pair_at(candidate)
            if verdict is None:
                break
            if verdict:
                self._resyncing = False
                self._skip(out, candidate - pos)
                return candidate, True
            candidate += 1
        self._skip(out, candidate - pos)
        return candidate, False

    def _pair_at(self, pos: int) -> bool | None:
        """True: two good records start at ``pos``; False: they cannot; None: not enough bytes to tell."""
        try:
            first = self._record(pos)
            if first is None:
                return None
            second = self._record(first[1])
        except _Fault:
            return False
        return None if second is None else True

    def _skip(self, out: Decoded, count: int) -> None:
        self.skipped_total += count
        out.skipped += count
        if out.faults:
            last = out.faults[-1]
            out.faults[-1] = StreamFault(last.error, last.skipped + count)
