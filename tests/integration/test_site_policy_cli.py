"""`rrm site-policy check|show|example` as an operator runs them: real files, clear output and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.site_policy_file import load_site_policy
from rrm.cli.main import main

pytestmark = pytest.mark.integration


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, out, err = run(capsys, "site-policy", "example")
    assert (code, err) == (0, "")
    path = tmp_path / "site.yaml"
    path.write_text(out)
    return path


def test_the_example_passes_check_with_a_one_line_summary(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The printed example is commented, and check summarises zones, APs, pins and triggers."""
    assert example.read_text().startswith("# rrm site policy")
    code, out, err = run(capsys, "site-policy", "check", str(example))
    assert (code, err) == (0, "")
    assert out == (
        f"{example}: valid site policy; 2 zones, 4 APs named (2 in shadow mode), 3 pins, "
        "2 distinct rollback triggers in force\n"
    )


def test_check_lists_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text(
        "format: rrm-site-policy\n"
        "version: 1\n"
        "network:\n"
        "  safe_zones:\n"
        "    tx_power_dbm: {min: x}\n"
        "zones:\n"
        "  lobby: {aps: [ap-1], pins: {channel: 300}}\n"
        "  hall: {aps: [ap-1]}\n"
        "aps:\n"
        "  ap-2: {shadow: on, colour: blue}\n"
    )
    code, out, err = run(capsys, "site-policy", "check", str(bad))
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"rrm site-policy: error: {bad}: network.safe_zones.tx_power_dbm.min: expected a number, got 'x'",
        f"{bad}: zones.hall.aps[0]: AP 'ap-1' is already in zone 'lobby'; an AP belongs to at most one zone",
        f"{bad}: aps.ap-2.colour: unknown key; expected one of limits, pins, rollback_triggers, safe_zones, shadow, "
        "slo, unpin",
        f"{bad}: zones.lobby.pins.channel: pin 300 is outside the safe zone [1, 233]",
    ]


def test_check_of_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "site-policy", "check", str(tmp_path / "nowhere.yaml"))
    assert code == 2
    assert f"{tmp_path / 'nowhere.yaml'}: cannot read" in err


def test_show_prints_the_resolved_policy_and_the_layer_of_each_value(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "site-policy", "show", str(example), "--ap", "ap-3")
    assert (code, err) == (0, "")
    shown = yaml.safe_load(out)
    assert (shown["ap"], shown["zone"], shown["layers"]) == (
        "ap-3",
        None,
        ["built-in", "default", "network", "aps.ap-3"],
    )
    assert shown["policy"]["pins"] == {"tx_power_dbm": 14, "width_mhz": "current"}
    assert shown["policy"]["safe_zones"]["tx_power_dbm"] == {
        "min": 5,
        "max": 23,
        "default": 17,
        "step": 1,
        "max_changes_per_hour": 4,
        "requires_approval": False,
    }
    assert shown["set_by"]["safe_zones.channel.requires_approval"] == "network"
    assert shown["set_by"]["pins.width_mhz"] == "aps.ap-3"
    resolved = load_site_policy(example).for_ap("ap-3")
    assert shown["policy"]["limits"]["cooldown_s"] == resolved.limits.cooldown_s
    assert len(shown["policy"]["rollback_triggers"]) == len(resolved.rollback_triggers)


def test_show_of_a_zone_member_names_its_zone(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "site-policy", "show", str(example), "--ap", "ap-4")
    assert code == 0
    shown = yaml.safe_load(out)
    assert (shown["zone"], shown["layers"][-1]) == ("warehouse", "zones.warehouse")
    assert shown["policy"]["safe_zones"]["tx_power_dbm"]["max"] == 20
    assert shown["set_by"]["safe_zones.tx_power_dbm.max"] == "zones.warehouse"
    assert shown["set_by"]["limits.cooldown_s"] == "zones.warehouse"


def test_show_says_when_the_ap_is_not_named_in_the_file(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "site-policy", "show", str(example), "--ap", "ap-99")
    assert code == 0
    assert (
        out.splitlines()[0]
        == f"# ap-99 is not named in {example} (no zone, no AP layer): only default and network apply"
    )
    assert yaml.safe_load(out)["layers"] == ["built-in", "default", "network"]


def test_show_of_a_broken_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "site.json"
    bad.write_text('{"format": "rrm-site-policy", "version": 1, "aps": {"ap-1": {"pins": {"channel": "x"}}}}')
    code, out, err = run(capsys, "site-policy", "show", str(bad), "--ap", "ap-1")
    assert (code, out) == (2, "")
    assert err == f"rrm site-policy: error: {bad}: aps.ap-1.pins.channel: expected a number or 'current', got 'x'\n"


def test_show_needs_an_ap(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["site-policy", "show", str(example)])
    assert exited.value.code == 2
    assert "--ap" in capsys.readouterr().err
