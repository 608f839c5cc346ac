"""The guest's replay program refuses a bad capture with one JSON error line naming it, before touching a radio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hil_tests.rig.guest_pcap_replay import run

pytestmark = pytest.mark.unit


def test_bad_capture_is_one_error_line_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a capture")
    assert run([str(bad), "wlan9", "--channel", "36"]) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["phase"] for line in lines] == ["error"]
    assert str(bad) in lines[0]["error"]
    assert "not a pcap or pcapng capture" in lines[0]["error"]


def test_channel_outside_the_bands_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    capture = Path(__file__).resolve().parents[1] / "data" / "pcap" / "neighbour_ch44.pcap"
    assert run([str(capture), "wlan9", "--channel", "15"]) == 2
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert "channel 15" in line["error"]
