"""Decoding a spectral-scan stream as it arrives: reads of any size, partial records, damage skipped."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from drivers.spectral import decode_capture
from drivers.spectral.ath_encode import encode_ath10k, encode_ht20, encode_ht20_40, tlv
from drivers.spectral.ath_samples import TYPE_HT20
from drivers.spectral.stream import SpectralStreamDecoder

pytestmark = pytest.mark.unit

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "spectral"
CAMERA = CAPTURES / "ar9550_20mhz_analog_camera_ch1.dump"
needs_captures = pytest.mark.skipif(not CAMERA.is_file(), reason=f"the public spectral captures are not at {CAPTURES}")


def _records(count: int, start_tsf: int = 0) -> list[bytes]:
    return [encode_ht20([i % 50 + 1] * 56, tsf=start_tsf + 1500 * i) for i in range(count)]


@needs_captures
def test_reads_of_any_size_give_the_samples_a_whole_dump_gives() -> None:
    """The camera capture fed in random 1-300 byte reads decodes to exactly what decode_capture reads."""
    data = CAMERA.read_bytes()
    whole = decode_capture(data, str(CAMERA))
    decoder = SpectralStreamDecoder(str(CAMERA))
    rng, pos, got = random.Random(3), 0, []
    while pos < len(data):
        size = rng.randint(1, 300)
        decoded = decoder.feed(data[pos : pos + size])
        assert not decoded.faults, decoded.faults
        got += decoded.samples
        pos += size
    assert got == whole
    assert decoder.pending == 0


def test_a_record_cut_by_the_end_of_a_read_waits_for_the_rest() -> None:
    """The end of a read holding part of a record yields nothing for it; the next read completes it."""
    first, second = _records(2)
    decoder = SpectralStreamDecoder("relay")
    decoded = decoder.feed(first + second[:10])
    assert [s.tsf for s in decoded.samples] == [0]
    assert decoder.pending == 10
    decoded = decoder.feed(second[10:])
    assert [(s.tsf, s.offset) for s in decoded.samples] == [(1500, len(first))]
    assert decoder.pending == 0


def test_every_supported_format_decodes_from_a_stream() -> None:
    """HT20, HT20/40 and ath10k records back to back, byte by byte."""
    data = encode_ht20([5] * 56) + encode_ht20_40([5] * 128) + encode_ath10k([5] * 64)
    decoder = SpectralStreamDecoder("mixed")
    got = [s.format.value for b in range(len(data)) for s in decoder.feed(data[b : b + 1]).samples]
    assert got == ["ht20", "ht20_40", "ath10k"]


@needs_captures
@pytest.mark.parametrize("name", ["crash_1.dump", "crash_2.dump"])
def test_the_malformed_dumps_are_faults_naming_the_file_and_offset(name: str) -> None:
    """The two damaged public dumps: a fault at byte 0 naming the file, no sample, no exception."""
    path = CAPTURES / name
    decoder = SpectralStreamDecoder(str(path))
    decoded = decoder.feed(path.read_bytes())
    assert decoded.samples == []
    [fault] = decoded.faults
    assert fault.error.source == str(path) and fault.error.offset == 0
    assert "length" in fault.error.detail
    assert decoded.skipped == fault.skipped > 0


def test_good_records_after_damage_are_decoded_again() -> None:
    """Garbage between records is one fault; the records after it decode, the bytes between are counted."""
    before, after = _records(2), _records(3, start_tsf=10_000)
    garbage = b"\x07\xff\x13not a sample at all"
    decoder = SpectralStreamDecoder("relay")
    decoded = decoder.feed(b"".join(before) + garbage + b"".join(after))
    assert [s.tsf for s in decoded.samples] == [0, 1500, 10_000, 11_500, 13_000]
    [fault] = decoded.faults
    assert fault.error.offset == len(before[0]) * 2
    assert fault.skipped == len(garbage) == decoder.skipped_total


def test_a_record_with_an_impossible_field_is_skipped() -> None:
    """An HT20/40 record whose channel type is neither HT40- nor HT40+ frames well but is no sample."""
    bad = encode_ht20_40([5] * 128, channel_type=0)
    good = _records(2)
    decoded = SpectralStreamDecoder("relay").feed(bad + b"".join(good))
    assert [s.tsf for s in decoded.samples] == [0, 1500]
    [fault] = decoded.faults
    assert fault.error.offset == 0 and "channel_type 0" in fault.error.detail
    assert fault.skipped == len(bad)


def test_a_header_claiming_an_impossible_length_is_a_fault_at_once() -> None:
    """A header claiming 4000 bytes for an HT20 sample is not waited for: it is damage."""
    decoded = SpectralStreamDecoder("relay").feed(tlv(TYPE_HT20, b"", length=4000))
    assert decoded.samples == [] and len(decoded.faults) == 1


def test_the_search_after_damage_goes_on_across_reads() -> None:
    """Garbage, then good records arriving a byte at a time: found once two in a row are complete."""
    records = _records(3)
    decoder = SpectralStreamDecoder("fifo")
    assert decoder.feed(b"\x00\x01\x02junk").faults
    data = b"".join(records)
    tsfs = [s.tsf for b in range(len(data)) for s in decoder.feed(data[b : b + 1]).samples]
    assert tsfs == [0, 1500, 3000]


def test_reset_starts_a_record_at_the_next_byte() -> None:
    """After a truncated or replaced file, half a record held from before is forgotten."""
    first, second = _records(2)
    decoder = SpectralStreamDecoder("file")
    decoder.feed(first[:20])
    decoder.reset()
    decoded = decoder.feed(second)
    assert [(s.tsf, s.offset) for s in decoded.samples] == [(1500, 0)]
    assert not decoded.faults
