"""Framing of a spectral-scan dump: a plain concatenation of type-length-value records.

Each record starts with ``struct fft_sample_tlv {u8 type; __be16 length;}`` (3 bytes), and
``length`` counts the bytes that follow the header (Linux drivers/net/wireless/ath/spectral_common.h).
The kernel writes whole records into a relay channel and reading ``spectral_scan0`` yields them back
to back with no padding, so any leftover or overrun byte means the file is damaged.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from drivers.spectral.errors import SpectralCaptureError

TLV_HEADER = struct.Struct(">BH")
"""``struct fft_sample_tlv``: type (u8), length (__be16)."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One record: its offset in the file, its type and the bytes after the 3-byte header."""

    offset: int
    type: int
    payload: memoryview


def iter_tlvs(data: bytes, source: str) -> Iterator[Tlv]:
    """The records of a dump, in order.

    Raises:
        SpectralCaptureError: a header cut short by the end of the file, a zero-length record (the
            kernel never writes one; a run of zero bytes is not a sample), or a length that runs
            past the end of the file. The error names ``source`` and the record's offset.
    """
    view = memoryview(data)
    end = len(view)
    pos = 0
    while pos < end:
        left = end - pos
        if left < TLV_HEADER.size:
            raise SpectralCaptureError(source, pos, f"truncated TLV header: only {left} byte(s) left")
        kind, length = TLV_HEADER.unpack_from(view, pos)
        if length == 0:
            raise SpectralCaptureError(source, pos, f"zero-length TLV (type {kind})")
        body = pos + TLV_HEADER.size
        if body + length > end:
            raise SpectralCaptureError(
                source,
                pos,
                f"TLV type {kind} declares {length} byte(s) but only {end - body} remain before the end of the file",
            )
        yield Tlv(pos, kind, view[body : body + length])
        pos = body + length
