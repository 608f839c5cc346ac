"""Replay a spectral-scan capture into a FIFO or file in real time, as a radio's debugfs relay file would fill.

mac80211_hwsim has no spectral scan, so in the HIL guest this stands in for the chip: it writes a real
ath9k/ath10k capture's records, byte for byte, into the path the agent's driver reads (``?spectral=``),
each at the time the capture says. Timing: within one dwell (same tuning, TSF not going backwards, gap
under ``MAX_GAP_US``) a record follows the previous one by its TSF difference; where the TSF restarts
(the radio retuned) the next record follows after ``RETUNE_GAP_S``, because the capture does not say.
``--freq`` keeps only the records tuned to one frequency: what a radio scanning in the background on
its own channel (ath9k ``background`` mode) would have produced.

Run in the guest as ``python -m hil_tests.rig.spectral_replay --to PATH [--freq MHZ] CAPTURE``. It prints
JSON lines: ``{"phase": "ready", "records", "duration_s"}`` once the capture is decoded, then (after
opening PATH, which for a FIFO waits for its reader) ``{"phase": "started", "t"}`` with the guest's
``time.time()`` just before the first write, and ``{"phase": "done", "t", "records", "late_ms_max"}``;
``{"phase": "error", "error"}`` if anything fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from drivers.spectral import SpectralCaptureError, decode_capture
from drivers.spectral.tlv import TLV_HEADER, iter_tlvs

MAX_GAP_US = 1_000_000
RETUNE_GAP_S = 0.01


@dataclass(frozen=True)
class ScheduledRecord:
    at_s: float  # when to write it, from the first record
    data: bytes  # the record as captured (TLV header included)
    central_freq: int


def replay_schedule(data: bytes, source: str, freq_mhz: int | None = None) -> list[ScheduledRecord]:
    """The capture's records (those tuned to ``freq_mhz``, when given) with their write times.

    Raises SpectralCaptureError for a damaged capture (replaying half of one would test nothing).
    """
    samples = decode_capture(data, source)
    records = [bytes(data[t.offset : t.offset + TLV_HEADER.size + len(t.payload)]) for t in iter_tlvs(data, source)]
    chosen = [(s, r) for s, r in zip(samples, records, strict=True) if freq_mhz is None or s.central_freq == freq_mhz]
    out: list[ScheduledRecord] = []
    at = 0.0
    for index, (sample, record) in enumerate(chosen):
        if index:
            previous = chosen[index - 1][0]
            gap_us = sample.tsf - previous.tsf
            same_dwell = previous.central_freq == sample.central_freq and 0 <= gap_us <= MAX_GAP_US
            at += gap_us / 1e6 if same_dwell else RETUNE_GAP_S
        out.append(ScheduledRecord(at, record, sample.central_freq))
    return out


def _say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def replay(schedule: list[ScheduledRecord], target: Path) -> None:
    """Open ``target`` for writing (a FIFO: waits for its reader) and write each record at its time."""
    late_max = 0.0
    with open(target, "ab", buffering=0) as out:
        _say(phase="started", t=time.time())
        start = time.monotonic()
        for record in schedule:
            wait = start + record.at_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            late_max = max(late_max, -wait)
            out.write(record.data)
    _say(phase="done", t=time.time(), records=len(schedule), late_ms_max=round(late_max * 1000, 3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spectral_replay", description=__doc__.splitlines()[0])
    parser.add_argument("capture", type=Path, help="an ath9k/ath10k spectral_scan0 dump")
    parser.add_argument("--to", type=Path, required=True, help="the FIFO or file the agent's driver reads")
    parser.add_argument("--freq", type=int, help="only the records tuned to this frequency, MHz")
    ns = parser.parse_args(argv)
    try:
        schedule = replay_schedule(ns.capture.read_bytes(), str(ns.capture), ns.freq)
        if not schedule:
            raise ValueError(f"{ns.capture}: no records tuned to {ns.freq} MHz")
        _say(phase="ready", records=len(schedule), duration_s=round(schedule[-1].at_s, 6), pid=os.getpid())
        replay(schedule, ns.to)
    except (OSError, ValueError, SpectralCaptureError) as exc:
        _say(phase="error", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
