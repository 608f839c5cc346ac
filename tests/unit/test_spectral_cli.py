"""`rrm spectral decode|classify` on real and synthetic dumps: output shapes, errors, exit status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from drivers.spectral.ath_encode import encode_ath10k, encode_ht20
from rrm.cli import spectral_commands
from rrm.cli.errors import UsageError

pytestmark = pytest.mark.unit

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "spectral"  # CC0 ath9k/ath10k dumps, LICENSE inside
needs_captures = pytest.mark.skipif(
    not CAPTURES.is_dir(), reason=f"the public spectral captures are not at {CAPTURES} (../shared/captures/spectral)"
)


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="rrm")
    spectral_commands.register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["spectral", *argv])
    result: int = ns.handler(ns)
    return result


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    path = tmp_path / "two.dump"
    path.write_bytes(encode_ht20([3] * 56, tsf=10) + encode_ath10k([0] * 32 + [50] + [0] * 31, tsf=20, freq1=5500))
    return path


def test_decode_json_prints_one_object_per_sample_in_the_issue_shape(
    synthetic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("decode", str(synthetic), "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [sorted(o) for o in doc] == [["bins", "central_freq", "noise", "rssi", "tsf"]] * 2
    assert [(o["tsf"], o["central_freq"], len(o["bins"])) for o in doc] == [(10, 2412, 56), (20, 5500, 64)]
    assert doc[1]["bins"][32] == [5500.0, -75.0]


def test_decode_text_prints_one_line_per_sample(synthetic: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("decode", str(synthetic)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "ath10k" in lines[1] and "peak=5500.00 MHz -75.0 dBm" in lines[1]


def test_decode_of_a_damaged_file_is_a_usage_error_naming_file_offset_and_salvage(
    synthetic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synthetic.write_bytes(synthetic.read_bytes()[:-5])
    with pytest.raises(UsageError) as caught:
        _run("decode", str(synthetic), "--json")
    message = str(caught.value)
    assert str(synthetic) in message and "at byte 76 (0x4c)" in message and "1 good sample(s) before it" in message
    assert capsys.readouterr().out == ""


@needs_captures
def test_decode_of_the_real_crash_dump_names_the_fault(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=r"crash_2\.dump at byte 0 \(0x0\): HT20 sample \(type 1\) has length 4091"):
        _run("decode", str(CAPTURES / "crash_2.dump"))


@needs_captures
def test_decode_json_of_a_real_dump_has_every_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("decode", str(CAPTURES / "ath10k_80mhz.dump"), "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc) == 16 and {len(o["bins"]) for o in doc} == {128, 256}


@needs_captures
def test_classify_reports_good_files_and_fails_on_the_bad_one(capsys: pytest.CaptureFixture[str]) -> None:
    files = [CAPTURES / "ar9223_analog_camera_ch1.dump", CAPTURES / "crash_1.dump", CAPTURES / "ath10k_20mhz.dump"]
    assert _run("classify", *map(str, files)) == 2
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2
    assert "ar9223_analog_camera_ch1.dump: video_camera" in lines[0] and "channel 1 " in lines[0]
    assert "ath10k_20mhz.dump: continuous_wave" in lines[1]
    assert "crash_1.dump at byte 0 (0x0)" in err


@needs_captures
def test_classify_json_with_a_radio_carries_the_event(capsys: pytest.CaptureFixture[str]) -> None:
    camera = CAPTURES / "ar9390_analog_camera_ch1.dump"
    assert _run("classify", str(camera), "--json", "--radio", "ap-1/2g", "--at", "1700000000") == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["verdict"]["kind"] == "video_camera" and report["verdict"]["channel"] == 1
    event = report["event"]
    assert (event["type"], event["radio_id"], event["channel"], event["timestamp"]) == (
        "NON_WIFI_BURST",
        "ap-1/2g",
        1,
        1_700_000_000.0,
    )
    assert event["confidence"] >= 0.8 and event["metadata"]["kind"] == "video_camera"


def test_classify_json_lists_a_damaged_file_with_its_error(synthetic: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = synthetic.with_name("broken.dump")
    broken.write_bytes(b"\x01\x00")
    assert _run("classify", str(synthetic), str(broken), "--json") == 2
    out, err = capsys.readouterr()
    good, bad = json.loads(out)
    assert good["verdict"]["kind"] == "none" and good["samples"] == 2
    assert "truncated TLV header" in bad["error"] and "broken.dump" in err
