"""`rrm spectral decode|classify`: ath9k/ath10k spectral-scan dumps, decoded and classified.

``decode FILE`` prints every sample of a debugfs ``spectral_scan0`` dump: with ``--json`` a JSON list,
one object per sample, ``{"tsf", "central_freq", "rssi", "noise", "bins": [[MHz, dBm], ...]}`` (the
shape FFT_eval prints, with ``bins`` for its ``data``); without, one summary line per sample.
``classify FILE...`` prints the interference verdict for each file (kind, confidence, duty cycle,
persistence, bandwidth, centre, channel); ``--radio ID`` adds the NON_WIFI_BURST event a non-Wi-Fi
verdict raises for that radio (``--at`` sets its timestamp, default now).

A damaged file is one clear line naming the file, the byte offset and the fault, and the exit status
is 2; with several files the good ones are still reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from drivers.spectral.interference import Classification
    from drivers.spectral.sample import SpectralSample


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("spectral", help="decode and classify ath9k/ath10k spectral-scan dumps")
    spectral_sub = p.add_subparsers(dest="spectral_command", required=True, metavar="{decode,classify}")

    decode = spectral_sub.add_parser(
        "decode",
        help="print every sample of a spectral-scan dump",
        description="Decode an ath9k (HT20, HT20/40) or ath10k spectral_scan0 dump. Exit 2 naming the byte "
        "offset when the file is damaged (nothing is printed on stdout then).",
    )
    decode.add_argument("file", type=Path, help="the dump (cat /sys/kernel/debug/ieee80211/phyN/ath*/spectral_scan0)")
    decode.add_argument("--json", action="store_true", help="a JSON list, one object per sample")
    decode.set_defaults(handler=_run_decode)

    classify = spectral_sub.add_parser(
        "classify",
        help="classify the interference in spectral-scan dumps (video camera, tone, microwave, hopper, Wi-Fi)",
        description="One verdict per file. Exit 2 when any file is damaged; the others are still reported.",
    )
    classify.add_argument("files", type=Path, nargs="+", metavar="FILE", help="spectral-scan dumps")
    classify.add_argument("--json", action="store_true", help="a JSON list, one object per file")
    classify.add_argument("--radio", metavar="ID", help="also show the NON_WIFI_BURST event for this radio id")
    classify.add_argument("--at", type=float, metavar="SECONDS", help="the event's timestamp (default: now)")
    classify.set_defaults(handler=_run_classify)


def _read(path: Path) -> list[SpectralSample]:
    from drivers.spectral import SpectralCaptureError, read_capture

    try:
        return read_capture(path)
    except SpectralCaptureError as exc:
        raise UsageError(str(exc)) from None


def sample_document(sample: SpectralSample) -> dict[str, object]:
    """The JSON object for one sample (the issue's shape)."""
    return {
        "tsf": sample.tsf,
        "central_freq": sample.central_freq,
        "rssi": sample.rssi,
        "noise": sample.noise,
        "bins": [[round(f, 6), round(p, 3)] for f, p in zip(sample.freqs_mhz, sample.power_dbm, strict=True)],
    }


def _sample_line(index: int, sample: SpectralSample) -> str:
    peak = max(range(len(sample.power_dbm)), key=sample.power_dbm.__getitem__)
    return (
        f"{index:5d} @{sample.offset:<7d} {sample.format.value:<7s} tsf={sample.tsf:<12d} "
        f"freq={sample.central_freq} rssi={sample.rssi} noise={sample.noise} bins={len(sample.freqs_mhz)} "
        f"span={sample.freqs_mhz[0]:.2f}-{sample.freqs_mhz[-1]:.2f} MHz "
        f"peak={sample.freqs_mhz[peak]:.2f} MHz {sample.power_dbm[peak]:.1f} dBm"
    )


def _run_decode(ns: argparse.Namespace) -> int:
    samples = _read(ns.file)
    if ns.json:
        rows = [json.dumps(sample_document(s)) for s in samples]
        print("[\n" + ",\n".join(rows) + "\n]" if rows else "[]")
    else:
        for index, sample in enumerate(samples):
            print(_sample_line(index, sample))
    return 0


def classification_document(c: Classification) -> dict[str, object]:
    return {
        "kind": c.kind.value,
        "non_wifi": c.non_wifi,
        "confidence": round(c.confidence, 3),
        "duty": round(c.duty, 3),
        "persistence": round(c.persistence, 3),
        "bandwidth_mhz": round(c.bandwidth_mhz, 3),
        "centre_mhz": round(c.centre_mhz, 3),
        "channel": c.channel,
    }


def classify_report(path: Path, samples: list[SpectralSample], radio: str | None, at: float) -> dict[str, object]:
    """One file's verdict, its other candidates and, for ``radio``, the event it raises."""
    from drivers.spectral.interference import classify_all, non_wifi_event, verdict

    candidates = classify_all(samples)
    chosen = verdict(candidates)
    report: dict[str, object] = {
        "file": str(path),
        "samples": len(samples),
        "verdict": classification_document(chosen),
        "candidates": [classification_document(c) for c in candidates],
    }
    if radio is not None:
        event = non_wifi_event(chosen, radio, at)
        report["event"] = (
            None
            if event is None
            else {
                "radio_id": event.radio_id,
                "type": event.type.value,
                "timestamp": event.timestamp,
                "confidence": event.confidence,
                "channel": event.channel,
                "metadata": dict(event.metadata),
            }
        )
    return report


def _verdict_line(report: dict[str, object]) -> str:
    v = report["verdict"]
    assert isinstance(v, dict)
    line = (
        f"{report['file']}: {v['kind']} confidence {v['confidence']:.2f} channel {v['channel']} "
        f"centre {v['centre_mhz']:.2f} MHz bandwidth {v['bandwidth_mhz']:.2f} MHz duty {v['duty']:.2f} "
        f"persistence {v['persistence']:.2f} ({report['samples']} samples)"
    )
    if "event" in report:
        event = report["event"]
        line += "; no event" if event is None else f"; event {json.dumps(event, sort_keys=True)}"
    return line


def _run_classify(ns: argparse.Namespace) -> int:
    at = time.time() if ns.at is None else ns.at
    reports: list[dict[str, object]] = []
    failed = False
    for path in ns.files:
        try:
            samples = _read(path)
        except UsageError as exc:
            failed = True
            print(f"rrm spectral classify: error: {exc}", file=sys.stderr)
            reports.append({"file": str(path), "error": str(exc)})
            continue
        reports.append(classify_report(path, samples, ns.radio, at))
    if ns.json:
        print(json.dumps(reports, indent=2))
    else:
        for report in reports:
            if "error" not in report:
                print(_verdict_line(report))
    return 2 if failed else 0
