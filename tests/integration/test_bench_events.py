"""`rrm bench events`: the figures' shape and sanity on a small workload, never their speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rrm.bench.events import EventsBenchOptions, run_events_bench

pytestmark = pytest.mark.integration


def rrm(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rrm.cli.main", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_small_run_reports_throughput_latency_and_real_actions() -> None:
    """2,000 events over every radio: the keys are there and the figures hang together."""
    figures = run_events_bench(EventsBenchOptions(events=2_000))
    for key in ("events_per_s", "decision_latency_us", "latency_samples", "processed", "coalesced", "actions"):
        assert key in figures, f"no {key!r} in {sorted(figures)}"
    assert figures["events"] == 2_000
    assert figures["radios"] == figures["managed_radios"] == 48
    assert isinstance(figures["events_per_s"], float)
    assert figures["events_per_s"] > 0
    latency = figures["decision_latency_us"]
    assert isinstance(latency, dict)
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"], latency
    samples, actions = figures["latency_samples"], figures["actions"]
    assert isinstance(samples, int)
    assert isinstance(actions, int)
    assert samples > 0
    assert actions > 0
    queue = figures["queue"]
    assert isinstance(queue, dict)
    assert queue["received"] == 2_000, "every event fed reaches the queue (the warm-up's are left out)"
    assert queue["coalesced"] > 0
    assert figures["processed"] == queue["released"]
    assert figures["targets"] == {"events_per_s": 50_000, "decision_latency_p99_us": 1_000}


def test_the_same_seed_feeds_the_same_events() -> None:
    """The workload is seeded: two runs feed the same mix and take the same decisions."""
    options = EventsBenchOptions(events=1_500, radios=6, seed=3)
    first, second = run_events_bench(options), run_events_bench(options)
    assert first["radios"] == 6
    for key in ("events_by_type", "processed", "coalesced", "actions", "queue"):
        assert first[key] == second[key], key


def test_the_cli_writes_the_figures_to_a_file(tmp_path: Path) -> None:
    """`rrm bench events --json FILE` on a few radios writes JSON with the headline figures."""
    out = tmp_path / "events.json"
    result = rrm("bench", "events", "--events", "800", "--radios", "4", "--json", str(out))
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert figures["events"] == 800
    assert figures["radios"] == 4
    assert figures["managed_radios"] == 4
    assert {"p50", "p99"} <= set(figures["decision_latency_us"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--events", "0"), "rrm bench: error: --events must be positive, got 0"),
        (("--radios", "0"), "rrm bench: error: --radios must be positive, got 0"),
        (("--radios", "49"), "rrm bench: error: --radios 49: the dense_floor scenario has 48 radios"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_naming_the_flag(args: tuple[str, ...], message: str) -> None:
    """Non-positive or impossible sizes are usage errors, not tracebacks."""
    result = rrm("bench", "events", *args)
    assert (result.returncode, result.stderr.strip()) == (2, message)
    assert result.stdout == ""
