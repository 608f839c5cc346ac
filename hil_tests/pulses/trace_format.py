"""The ``rrm-pulse-trace`` v1 format: pulse reports as the radio's detector receives them, in JSON Lines.

The first line is the header ``{"format": "rrm-pulse-trace", "version": 1, "region": "FCC"|"ETSI"|"JP",
"channel_mhz": int}``; every further line is one pulse ``{"ts_us": int, "freq_mhz": int, "width_us":
float, "rssi_db": int, "chirp": bool}``, the fields of the kernel's ``pulse_event`` (dfs.md section 7).

Reading is strict: unknown or missing keys, wrong types, blank lines, duplicate keys, NaN and
timestamps that go backwards are errors naming the file, the line and what is wrong. Nothing is
dropped or coerced silently (an integer ``width_us`` is read as that float; nothing else changes).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from radio_domain.regulatory import Region

FORMAT = "rrm-pulse-trace"
VERSION = 1
HEADER_KEYS = ("format", "version", "region", "channel_mhz")
PULSE_KEYS = ("ts_us", "freq_mhz", "width_us", "rssi_db", "chirp")
MAX_TS_US = 2**64 - 1  # the kernel's pulse timestamp is a u64


class TraceFormatError(ValueError):
    """A pulse trace that does not follow the format; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Pulse:
    """One pulse report: when, on which channel, how wide, how strong, chirped or not."""

    ts_us: int
    freq_mhz: int
    width_us: float
    rssi_db: int
    chirp: bool


@dataclass(frozen=True, slots=True)
class PulseTrace:
    """A header (the regulatory region whose rules apply, the radio's channel) and its pulses in time order."""

    region: Region
    channel_mhz: int
    pulses: tuple[Pulse, ...]


def read_trace(path: str | Path) -> PulseTrace:
    """Read and check a trace file; any problem is a ``TraceFormatError`` naming the file."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TraceFormatError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFormatError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return parse_trace(text, name)


def parse_trace(text: str, name: str = "<trace>") -> PulseTrace:
    """Parse the text of a trace; ``name`` is used in error messages."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise TraceFormatError(f"{name}: empty file, expected the {FORMAT} header on line 1")
    region, channel = _header(_object(lines[0], name, 1), name)
    pulses: list[Pulse] = []
    for number, line in enumerate(lines[1:], start=2):
        pulse = _pulse(_object(line, name, number), name, number)
        if pulses and pulse.ts_us < pulses[-1].ts_us:
            raise TraceFormatError(
                f"{name}: line {number}: ts_us {pulse.ts_us} is earlier than the previous pulse's {pulses[-1].ts_us}"
            )
        pulses.append(pulse)
    return PulseTrace(region, channel, tuple(pulses))


def dumps_trace(trace: PulseTrace) -> str:
    """The trace as format text; refuses a trace the reader would refuse."""
    check_trace(trace)
    header = {"format": FORMAT, "version": VERSION, "region": trace.region.value, "channel_mhz": trace.channel_mhz}
    lines = [json.dumps(header)]
    lines.extend(
        json.dumps(
            {
                "ts_us": p.ts_us,
                "freq_mhz": p.freq_mhz,
                "width_us": float(p.width_us),
                "rssi_db": p.rssi_db,
                "chirp": p.chirp,
            }
        )
        for p in trace.pulses
    )
    return "\n".join(lines) + "\n"


def write_trace(path: str | Path, trace: PulseTrace) -> None:
    """Write a trace file (the whole file, replacing any old one)."""
    Path(path).write_text(dumps_trace(trace), encoding="utf-8")


def check_trace(trace: PulseTrace) -> None:
    """Raise ``TraceFormatError`` if the in-memory trace could not be written and read back as it is."""
    _header(
        {"format": FORMAT, "version": VERSION, "region": str(trace.region), "channel_mhz": trace.channel_mhz}, "trace"
    )
    previous = 0
    for index, p in enumerate(trace.pulses):
        fields = {
            "ts_us": p.ts_us,
            "freq_mhz": p.freq_mhz,
            "width_us": p.width_us,
            "rssi_db": p.rssi_db,
            "chirp": p.chirp,
        }
        _pulse(fields, "trace", index + 2)
        if p.ts_us < previous:
            raise TraceFormatError(f"trace: pulse {index}: ts_us {p.ts_us} is earlier than the previous pulse's")
        previous = p.ts_us


def _object(line: str, name: str, number: int) -> dict[str, object]:
    where = f"{name}: line {number}"
    if not line.strip():
        raise TraceFormatError(f"{where}: blank line (every line must be one JSON object)")
    try:
        value = json.loads(line, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"{where}: not valid JSON: {exc.msg} at column {exc.colno}") from None
    except _BadJson as exc:
        raise TraceFormatError(f"{where}: {exc}") from None
    if not isinstance(value, dict):
        raise TraceFormatError(f"{where}: expected a JSON object, got {_kind(value)}")
    return value


class _BadJson(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _BadJson(f"key {key!r} appears twice")
        out[key] = value
    return out


def _no_constant(token: str) -> object:
    raise _BadJson(f"{token} is not a number this format allows")


def _keys(obj: Mapping[str, object], expected: Sequence[str], where: str, what: str) -> None:
    unknown = [k for k in obj if k not in expected]
    missing = [k for k in expected if k not in obj]
    if unknown:
        raise TraceFormatError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} in {what}")
    if missing:
        raise TraceFormatError(f"{where}: {what} is missing {', '.join(map(repr, missing))}")


def _header(obj: Mapping[str, object], name: str) -> tuple[Region, int]:
    where = f"{name}: line 1"
    if obj.get("format") != FORMAT:
        raise TraceFormatError(f"{where}: not an {FORMAT} header (format is {obj.get('format')!r})")
    _keys(obj, HEADER_KEYS, where, "the header")
    version = obj["version"]
    if not _is_int(version) or version != VERSION:
        raise TraceFormatError(f"{where}: version {version!r} is not supported (only {VERSION})")
    region = obj["region"]
    if region not in [r.value for r in Region]:
        raise TraceFormatError(f"{where}: region {region!r} is not one of FCC, ETSI, JP")
    channel = _positive_int(obj["channel_mhz"], "channel_mhz", where)
    return Region(str(region)), channel


def _pulse(obj: Mapping[str, object], name: str, number: int) -> Pulse:
    where = f"{name}: line {number}"
    _keys(obj, PULSE_KEYS, where, "the pulse")
    ts = obj["ts_us"]
    if not _is_int(ts) or not 0 <= ts <= MAX_TS_US:
        raise TraceFormatError(f"{where}: ts_us must be an integer from 0 to 2**64-1, not {ts!r}")
    freq = _positive_int(obj["freq_mhz"], "freq_mhz", where)
    width = obj["width_us"]
    if isinstance(width, bool) or not isinstance(width, int | float) or not math.isfinite(width) or width < 0:
        raise TraceFormatError(f"{where}: width_us must be a number of µs at least 0, not {width!r}")
    rssi = obj["rssi_db"]
    if not _is_int(rssi):
        raise TraceFormatError(f"{where}: rssi_db must be an integer, not {rssi!r}")
    chirp = obj["chirp"]
    if not isinstance(chirp, bool):
        raise TraceFormatError(f"{where}: chirp must be true or false, not {chirp!r}")
    return Pulse(ts, freq, float(width), rssi, chirp)


def _positive_int(value: object, key: str, where: str) -> int:
    if not _is_int(value) or value <= 0:
        raise TraceFormatError(f"{where}: {key} must be a positive integer (MHz), not {value!r}")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
