"""Radar pulse traces on the command line: write them, detect radar in them, evaluate the detector.

- ``rrm radar-trace generate --family F --seed S [impairments] -o FILE`` and ``rrm radar-trace families``
  (``register``);
- ``rrm hil detect [--json] FILE...`` (``add_detect_parser``, hooked under ``rrm hil`` by its owner):
  one line per file, JSON ``{"file", "radar", "radar_type", "detected_at_us"}`` with ``--json``;
  a file that cannot be read gets one error line on stderr, the others are still reported, and the
  exit status is then 2;
- ``rrm eval radar-detector --trials N --seed S --json`` (``add_eval_parser``, hooked under ``rrm eval``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError
from rrm.cli.json_figures import emit_figures

if TYPE_CHECKING:
    from hil_tests.pulses.generator import Impairments


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("radar-trace", help="write radar pulse traces (rrm-pulse-trace v1) from test waveforms")
    trace_sub = p.add_subparsers(dest="radar_trace_command", required=True, metavar="{generate,families}")
    gen = trace_sub.add_parser(
        "generate",
        help="write one seeded instance of a radar waveform or non-radar negative",
        description="Draws one instance of FCC type 0-6, ETSI signal or JP type waveform (or a negative) "
        "from its parameter ranges (../shared/facts/dfs.md), applies impairments and writes the trace.",
    )
    gen.add_argument("--family", required=True, help="waveform family (see `rrm radar-trace families`)")
    gen.add_argument("--seed", type=int, required=True, help="seed of every random draw (>= 0)")
    _add_impairments(gen, lost=0.0, jitter=0)
    gen.add_argument("--region", choices=("FCC", "ETSI", "JP"), help="header region (default: the family's)")
    gen.add_argument("--channel-mhz", type=int, help="header and pulse channel (default: the family's)")
    gen.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="trace file to write")
    gen.set_defaults(handler=_generate)
    fams = trace_sub.add_parser("families", help="list the waveform families and negatives")
    fams.add_argument("--json", action="store_true", help="print JSON instead of text")
    fams.set_defaults(handler=_families)


def add_detect_parser(hil_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``detect`` to the subparsers of ``rrm hil``."""
    p = hil_sub.add_parser(
        "detect",
        help="run the emulated radio's radar detector over pulse traces",
        description="Replays each rrm-pulse-trace file through the region's PRI pattern detector "
        "(in virtual time) and reports whether, as what and at which pulse timestamp radar was detected.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="rrm-pulse-trace v1 files")
    p.add_argument("--json", action="store_true", help="one JSON object per file instead of text")
    p.set_defaults(handler=_detect)


def add_eval_parser(eval_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``radar-detector`` to the subparsers of ``rrm eval``."""
    p = eval_sub.add_parser(
        "radar-detector",
        help="detection rate per radar waveform family and false-alarm rate on negatives",
        description="Seeded trials of every waveform family with impairments (default 20 %% lost pulses, "
        "±8 µs jitter) through the region's detector, and of every non-radar negative; JSON figures.",
    )
    p.add_argument("--trials", type=int, default=200, help="trials per family (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default: %(default)s)")
    _add_impairments(p, lost=0.2, jitter=8)
    p.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )
    p.set_defaults(handler=_eval)


def _add_impairments(p: argparse.ArgumentParser, *, lost: float, jitter: int) -> None:
    p.add_argument("--lost", type=float, default=lost, help="fraction of pulses lost (default: %(default)s)")
    p.add_argument("--jitter-us", type=int, default=jitter, help="timestamp jitter ±N µs (default: %(default)s)")
    p.add_argument("--width-error", type=float, default=0.0, help="relative width error ±F (default: %(default)s)")
    p.add_argument("--stray-rate", type=float, default=0.0, help="stray pulses per second (default: %(default)s)")
    p.add_argument("--rssi-db", type=int, default=20, help="mean pulse RSSI (default: %(default)s)")


def _impairments(ns: argparse.Namespace) -> Impairments:
    from hil_tests.pulses.generator import Impairments

    try:
        return Impairments(ns.lost, ns.jitter_us, ns.width_error, ns.stray_rate, ns.rssi_db)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _generate(ns: argparse.Namespace) -> int:
    from hil_tests.pulses.generator import find_family, generate
    from hil_tests.pulses.trace_format import write_trace
    from radio_domain.regulatory import Region

    if ns.seed < 0:
        raise UsageError(f"--seed must not be negative, not {ns.seed}")
    if ns.channel_mhz is not None and ns.channel_mhz <= 0:
        raise UsageError(f"--channel-mhz must be positive, not {ns.channel_mhz}")
    try:
        family = find_family(ns.family)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    region = Region(ns.region) if ns.region else None
    try:
        trace = generate(family, ns.seed, _impairments(ns), region=region, channel_mhz=ns.channel_mhz)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        write_trace(ns.output, trace)
    except OSError as exc:
        raise UsageError(f"cannot write {ns.output}: {exc.strerror or exc}") from None
    print(f"{ns.output}: {ns.family}, {len(trace.pulses)} pulses, region {trace.region}, {trace.channel_mhz} MHz")
    return 0


def _families(ns: argparse.Namespace) -> int:
    from hil_tests.pulses.negatives import NEGATIVE_FAMILIES
    from hil_tests.pulses.waveforms import RADAR_FAMILIES

    rows: list[dict[str, str | None]] = [
        {"name": f.name, "kind": "radar", "region": f.region.value, "source": f.source} for f in RADAR_FAMILIES
    ]
    rows += [{"name": f.name, "kind": "negative", "region": None, "source": f.description} for f in NEGATIVE_FAMILIES]
    if ns.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['name']:<20} {row['region'] or '-':<5} {row['source']}")
    return 0


def detect_file(path: Path) -> dict[str, object]:
    """The detect report of one trace file; ``TraceFormatError`` if it cannot be read."""
    from hil_tests.pulses.pattern_detector import PatternDetector
    from hil_tests.pulses.replay import replay
    from hil_tests.pulses.trace_format import read_trace

    trace = read_trace(path)
    found = replay(trace, PatternDetector(trace.region), stop_at_first=True)
    first = found[0] if found else None
    return {
        "file": str(path),
        "radar": first is not None,
        "radar_type": first.radar_type if first else None,
        "detected_at_us": first.ts_us if first else None,
    }


def _detect(ns: argparse.Namespace) -> int:
    from hil_tests.pulses.trace_format import TraceFormatError

    bad = 0
    for path in ns.files:
        try:
            report = detect_file(path)
        except TraceFormatError as exc:
            bad += 1
            print(f"rrm hil detect: error: {exc}", file=sys.stderr, flush=True)
            continue
        if ns.json:
            print(json.dumps(report), flush=True)
        elif report["radar"]:
            print(f"{path}: radar {report['radar_type']} at {report['detected_at_us']} us", flush=True)
        else:
            print(f"{path}: no radar", flush=True)
    if bad:
        raise UsageError(f"{bad} of {len(ns.files)} trace file(s) could not be read (see above)")
    return 0


def _eval(ns: argparse.Namespace) -> int:
    from rrm.evaluation.radar_detector_eval import RadarDetectorEvalOptions, evaluate_radar_detector

    if ns.trials < 1:
        raise UsageError(f"--trials must be at least 1, not {ns.trials}")
    if ns.seed < 0:
        raise UsageError(f"--seed must not be negative, not {ns.seed}")
    options = RadarDetectorEvalOptions(trials=ns.trials, seed=ns.seed, impairments=_impairments(ns))
    emit_figures(evaluate_radar_detector(options).figures(), ns.json)
    return 0
