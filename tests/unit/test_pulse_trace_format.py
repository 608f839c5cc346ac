"""The rrm-pulse-trace v1 format: round trip, and every malformed file refused with file, line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hil_tests.pulses.trace_format import (
    Pulse,
    PulseTrace,
    TraceFormatError,
    dumps_trace,
    parse_trace,
    read_trace,
    write_trace,
)
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

HEADER = '{"format": "rrm-pulse-trace", "version": 1, "region": "FCC", "channel_mhz": 5260}'
PULSE = '{"ts_us": 100, "freq_mhz": 5260, "width_us": 1.0, "rssi_db": 20, "chirp": false}'


def _trace() -> PulseTrace:
    return PulseTrace(
        Region.ETSI,
        5500,
        (
            Pulse(10, 5500, 1.0, 20, False),
            Pulse(10, 5500, 0.5, -3, False),
            Pulse(1439, 5520, 55.25, 31, True),
            Pulse(2**64 - 1, 5500, 0.0, 0, False),
        ),
    )


def test_a_trace_survives_write_and_read(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_trace(path, _trace())
    assert read_trace(path) == _trace()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"format": "rrm-pulse-trace", "version": 1, "region": "ETSI", "channel_mhz": 5500}
    assert json.loads(lines[3]) == {"ts_us": 1439, "freq_mhz": 5520, "width_us": 55.25, "rssi_db": 31, "chirp": True}


def test_a_header_alone_is_a_trace_without_pulses() -> None:
    assert parse_trace(HEADER + "\n") == PulseTrace(Region.FCC, 5260, ())


def test_an_integer_width_is_read_as_that_many_microseconds() -> None:
    trace = parse_trace(HEADER + "\n" + PULSE.replace("1.0", "2"))
    assert trace.pulses[0].width_us == 2.0
    assert isinstance(trace.pulses[0].width_us, float)


def test_the_last_line_may_lack_its_newline() -> None:
    assert len(parse_trace(HEADER + "\n" + PULSE).pulses) == 1


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", None, "empty file"),
        ("\n", 1, "blank line"),
        ("[1, 2]\n", 1, "expected a JSON object, got an array"),
        ('{"format": "other", "version": 1}\n', 1, "not an rrm-pulse-trace header"),
        (HEADER.replace('"version": 1', '"version": 2'), 1, "version 2 is not supported"),
        (HEADER.replace('"version": 1', '"version": true'), 1, "version True is not supported"),
        (HEADER.replace('"FCC"', '"US"'), 1, "region 'US' is not one of FCC, ETSI, JP"),
        (HEADER.replace("5260", '"5260"'), 1, "channel_mhz must be a positive integer"),
        (HEADER.replace("5260", "0"), 1, "channel_mhz must be a positive integer"),
        (HEADER.replace("}", ', "extra": 1}'), 1, "unknown key(s) 'extra' in the header"),
        (HEADER.replace(', "channel_mhz": 5260', ""), 1, "the header is missing 'channel_mhz'"),
        (HEADER + "\n" + PULSE + "\n\n" + PULSE, 3, "blank line"),
        (HEADER + "\n{not json", 2, "not valid JSON"),
        (HEADER + "\n" + PULSE.replace("1.0", "NaN"), 2, "NaN is not a number this format allows"),
        (HEADER + "\n" + PULSE.replace("1.0", "Infinity"), 2, "Infinity is not a number"),
        (HEADER + "\n" + PULSE.replace('"rssi_db": 20', '"rssi_db": 20, "rssi_db": 21'), 2, "'rssi_db' appears twice"),
        (HEADER + "\n" + PULSE.replace(', "chirp": false', ""), 2, "the pulse is missing 'chirp'"),
        (HEADER + "\n" + PULSE.replace("}", ', "noise": 3}'), 2, "unknown key(s) 'noise' in the pulse"),
        (HEADER + "\n" + PULSE.replace('"ts_us": 100', '"ts_us": 100.5'), 2, "ts_us must be an integer"),
        (HEADER + "\n" + PULSE.replace('"ts_us": 100', '"ts_us": -1'), 2, "ts_us must be an integer"),
        (HEADER + "\n" + PULSE.replace('"ts_us": 100', f'"ts_us": {2**64}'), 2, "ts_us must be an integer"),
        (HEADER + "\n" + PULSE.replace("5260,", "5260.0,"), 2, "freq_mhz must be a positive integer"),
        (HEADER + "\n" + PULSE.replace("1.0", '"1.0"'), 2, "width_us must be a number"),
        (HEADER + "\n" + PULSE.replace("1.0", "-0.5"), 2, "width_us must be a number"),
        (HEADER + "\n" + PULSE.replace("1.0", "true"), 2, "width_us must be a number"),
        (HEADER + "\n" + PULSE.replace('"rssi_db": 20', '"rssi_db": 20.5'), 2, "rssi_db must be an integer"),
        (HEADER + "\n" + PULSE.replace("false", "0"), 2, "chirp must be true or false"),
        (HEADER + "\n" + PULSE.replace("false", "null"), 2, "chirp must be true or false"),
        (HEADER + "\n" + "42", 2, "expected a JSON object, got a number"),
        (HEADER + "\n" + PULSE + "\n" + PULSE.replace("100", "99"), 3, "ts_us 99 is earlier than the previous"),
    ],
)
def test_a_malformed_trace_names_the_file_the_line_and_the_fault(text: str, line: int | None, reason: str) -> None:
    with pytest.raises(TraceFormatError) as caught:
        parse_trace(text, "bad.jsonl")
    message = str(caught.value)
    assert message.startswith("bad.jsonl: " + (f"line {line}: " if line else ""))
    assert reason in message


def test_an_unreadable_or_non_utf8_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match=r"missing\.jsonl: cannot read"):
        read_trace(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe" + HEADER.encode())
    with pytest.raises(TraceFormatError, match=r"binary\.jsonl: not UTF-8"):
        read_trace(binary)


def test_the_writer_refuses_what_the_reader_would_refuse() -> None:
    backwards = PulseTrace(Region.FCC, 5260, (Pulse(5, 5260, 1.0, 1, False), Pulse(4, 5260, 1.0, 1, False)))
    with pytest.raises(TraceFormatError, match="earlier than the previous"):
        dumps_trace(backwards)
    with pytest.raises(TraceFormatError, match="width_us"):
        dumps_trace(PulseTrace(Region.FCC, 5260, (Pulse(5, 5260, float("nan"), 1, False),)))
