"""The `rrm` command as operators run it: real processes, real files, clear errors."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DEMO_KEYS = {
    "aps",
    "clients",
    "agents_connected",
    "telemetry_samples",
    "events_by_type",
    "actions",
    "rollbacks",
    "qoe_start",
    "qoe_end",
}


def rrm(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rrm.cli.main", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_pki_init_and_issue_then_refuse_to_overwrite(tmp_path: Path) -> None:
    assert rrm("pki", "init", "--dir", str(tmp_path)).returncode == 0
    issued = rrm("pki", "issue", "agent", "edge-1", "--ap", "ap-1", "--ap", "ap-2", "--dir", str(tmp_path))
    assert issued.returncode == 0, issued.stderr
    assert "APs ap-1, ap-2" in issued.stdout
    again = rrm("pki", "init", "--dir", str(tmp_path))
    assert again.returncode == 2
    assert "already exists; pass --force" in again.stderr
    wrong = rrm("pki", "issue", "controller", "c1", "--ap", "ap-1", "--dir", str(tmp_path))
    assert (wrong.returncode, wrong.stderr.strip()) == (2, "rrm pki: error: --ap applies to agent certificates only")


def test_a_bad_scenario_file_is_explained_field_by_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format": "rrm-scenario",
                "version": 1,
                "seed": 1,
                "region": "FCC",
                "area_m": [20, 20],
                "duration_s": 60,
                "colour": "blue",
                "aps": [
                    {
                        "id": "a",
                        "x": 1,
                        "y": 1,
                        "radios": [{"band": "2g", "channel": 14, "width_mhz": 20, "tx_power_dbm": 17}],
                    }
                ],
                "clients": [{"id": "c", "x": 2, "y": 2, "band": "2g", "demand_mbps": -1}],
            }
        )
    )
    result = rrm("scenario", "check", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "colour" in result.stderr
    assert "aps[0].radios[0].channel" in result.stderr
    assert "clients[0].demand_mbps" in result.stderr


def test_headless_demo_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = rrm(
        "demo", "--headless", "--minutes", "3", "--seed", "5", "--json", str(out), "--state-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report) >= DEMO_KEYS
    assert report["agents_connected"] == report["aps"] == 6
    assert report["telemetry_samples"] == 6 * 2 * 18  # six dual-band APs, a sample every 10 s for 3 minutes
    assert 0.0 <= report["qoe_end"] <= 1.0
    assert (tmp_path / "pki" / "ca.crt").exists()
    assert (tmp_path / "controller" / "ingest.db").exists()


def test_an_agent_without_transport_security_options_is_told_what_to_pass() -> None:
    result = rrm("agent", "--ap", "ap-1", "--driver", "sim")
    assert result.returncode == 2
    assert "mutual TLS needs --pki DIR, or all of --cert, --key and --ca; pass --insecure" in result.stderr


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _spawn(processes: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rrm.cli.main", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    processes.append(proc)
    return proc


def test_controller_simulated_aps_and_an_agent_as_separate_processes(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """The README's 'run it for real' recipe: three processes, mutual TLS, telemetry arrives."""
    pki = tmp_path / "pki"
    assert rrm("pki", "init", "--dir", str(pki)).returncode == 0
    assert rrm("pki", "issue", "controller", "controller", "--dir", str(pki)).returncode == 0
    assert rrm("pki", "issue", "agent", "ap-1", "--dir", str(pki)).returncode == 0
    controller = _spawn(
        processes, "controller", "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "ctl"), "--pki", str(pki)
    )
    assert controller.stdout is not None
    port = re.search(r"on port (\d+)", controller.stdout.readline())
    assert port is not None
    sim_ap = _spawn(processes, "sim-ap", "--scenario", "small_office", "--socket", str(tmp_path / "ap.sock"))
    assert sim_ap.stdout is not None
    assert "simulated APs of small_office" in sim_ap.stdout.readline()
    _spawn(
        processes,
        "agent",
        "--controller",
        f"localhost:{port.group(1)}",
        "--pki",
        str(pki),
        "--driver",
        "sim-ap",
        "--ap-socket",
        str(tmp_path / "ap.sock"),
        "--region",
        "FCC",
        "--ap",
        "ap-1",
        "--telemetry-interval",
        "0.5",
        "--state-dir",
        str(tmp_path / "agent"),
    )
    deadline = time.monotonic() + 60
    samples = 0
    while samples < 4 and time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            with sqlite3.connect(tmp_path / "ctl" / "ingest.db") as db:
                samples = db.execute("SELECT COALESCE(SUM(samples), 0) FROM telemetry_batches").fetchone()[0]
        except sqlite3.OperationalError:
            continue
    assert samples >= 4, f"only {samples} samples reached the controller"
    for proc in reversed(processes):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
