"""`rrm radar-trace generate|families`, `rrm hil detect` and `rrm eval radar-detector` on files in tmp_path."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from hil_tests.pulses.trace_format import read_trace
from rrm.cli import radar_trace_commands
from rrm.cli.errors import UsageError

pytestmark = pytest.mark.unit


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Parse and run as `rrm` would once the commands are hooked in: a UsageError is one line and exit 2."""
    parser = argparse.ArgumentParser(prog="rrm")
    sub = parser.add_subparsers(dest="command", required=True)
    radar_trace_commands.register(sub)
    hil_sub = sub.add_parser("hil").add_subparsers(dest="hil_command", required=True)
    radar_trace_commands.add_detect_parser(hil_sub)
    eval_sub = sub.add_parser("eval").add_subparsers(dest="eval_command", required=True)
    radar_trace_commands.add_eval_parser(eval_sub)
    ns = parser.parse_args(argv)
    try:
        code: int = ns.handler(ns)
    except UsageError as exc:
        print(f"rrm {ns.command}: error: {exc}", file=sys.stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


def _generate(tmp_path: Path, capsys: pytest.CaptureFixture[str], family: str, *extra: str) -> Path:
    path = tmp_path / f"{family}.jsonl"
    code, out, _ = _run(["radar-trace", "generate", "--family", family, "--seed", "3", "-o", str(path), *extra], capsys)
    assert code == 0 and out.startswith(f"{path}: {family}")
    return path


def test_generate_writes_a_readable_trace_with_the_asked_impairments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = read_trace(_generate(tmp_path, capsys, "fcc-1"))
    lossy = read_trace(_generate(tmp_path, capsys, "fcc-1", "--lost", "0.2", "--jitter-us", "4", "--region", "JP"))
    assert clean.region.value == "FCC" and lossy.region.value == "JP"
    assert len(lossy.pulses) == len(clean.pulses) - round(0.2 * len(clean.pulses))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--family", "fcc-9", "--seed", "1"], "no waveform family 'fcc-9'"),
        (["--family", "fcc-0", "--seed", "-1"], "--seed must not be negative"),
        (["--family", "fcc-0", "--seed", "1", "--lost", "1.5"], "lost fraction must be in [0, 1)"),
        (["--family", "fcc-6", "--seed", "1", "--channel-mhz", "5180"], "outside the hopping range"),
    ],
)
def test_generate_refuses_bad_arguments_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = _run(["radar-trace", "generate", *argv, "-o", str(tmp_path / "x.jsonl")], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.jsonl").exists()


def test_families_lists_radar_waveforms_and_negatives(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["radar-trace", "families", "--json"], capsys)
    rows = json.loads(out)
    assert code == 0
    assert {"fcc-5", "etsi-6", "jp-w56-chirp", "neg-wifi-traffic"} <= {r["name"] for r in rows}


def test_detect_reports_every_file_and_names_the_bad_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    radar = _generate(tmp_path, capsys, "fcc-4", "--lost", "0.2", "--jitter-us", "8")
    quiet = _generate(tmp_path, capsys, "neg-wide-bursts")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(radar.read_text().splitlines()[0] + '\n{"ts_us": 1, "freq_mhz": 5260}\n')
    code, out, err = _run(["hil", "detect", "--json", str(radar), str(bad), str(quiet)], capsys)
    reports = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert [r["file"] for r in reports] == [str(radar), str(quiet)]
    assert reports[0]["radar"] is True and reports[0]["radar_type"] == "FCC-4"
    assert reports[0]["detected_at_us"] in {p.ts_us for p in read_trace(radar).pulses}
    assert reports[1] == {"file": str(quiet), "radar": False, "radar_type": None, "detected_at_us": None}
    assert f"{bad}: line 2: the pulse is missing 'width_us', 'rssi_db', 'chirp'" in err
    assert "1 of 3 trace file(s) could not be read" in err and "Traceback" not in err


def test_detect_text_prints_one_line_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    radar = _generate(tmp_path, capsys, "etsi-5")
    quiet = _generate(tmp_path, capsys, "neg-single-pulses")
    code, out, _ = _run(["hil", "detect", str(radar), str(quiet), str(tmp_path / "missing.jsonl")], capsys)
    lines = out.splitlines()
    assert code == 2 and len(lines) == 2
    assert lines[0].startswith(f"{radar}: radar ETSI-") and lines[0].endswith(" us")
    assert lines[1] == f"{quiet}: no radar"


def test_eval_prints_figures_per_family_and_for_negatives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "eval.json"
    code, out, _ = _run(["eval", "radar-detector", "--trials", "2", "--seed", "5", "--json", str(target)], capsys)
    figures = json.loads(target.read_text())
    assert code == 0 and out == ""
    assert figures["families"]["fcc-0"] == {"trials": 2, "detected": 2, "rate": 1.0, "radar_types": {"FCC-0": 2}}
    assert set(figures["negatives"]) >= {"trials", "false_alarms", "rate", "by_family"}
    assert figures["negatives"]["trials"] == 2 * len(figures["negatives"]["by_family"])
    assert figures["impairments"]["lost_fraction"] == 0.2 and isinstance(figures["targets_met"], bool)
    code, _, err = _run(["eval", "radar-detector", "--trials", "0"], capsys)
    assert code == 2 and "--trials must be at least 1" in err
