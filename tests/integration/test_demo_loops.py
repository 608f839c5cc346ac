"""`rrm demo` runs all three loops: the report says what the event, fast and slow loops did."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sim.scenario import load_scenario, shipped_scenario
from rrm.demo.fleet import DemoFleet, DemoOptions, with_seed

pytestmark = pytest.mark.integration


async def test_the_demo_report_shows_each_loop(tmp_path: Path) -> None:
    """A plan asked for at the start is carried out through the scheduler; every loop has its section."""
    scenario = with_seed(load_scenario(shipped_scenario("small_office")), 5)
    options = DemoOptions(
        scenario=scenario,
        scenario_name="small_office",
        minutes=12.0,
        state_dir=tmp_path,
        speed=None,
        show_progress=False,
    )
    report = await DemoFleet(options).run()
    loops = report.loops
    assert set(loops) == {"event", "fast", "slow", "scheduler", "operator_approvals"}
    slow = loops["slow"]
    assert isinstance(slow, dict) and slow["plans"] == 1 and slow["policy"] == "heuristic"
    assert isinstance(slow["changes"], dict) and sum(slow["changes"].values()) == slow["moves"]
    scheduler = loops["scheduler"]
    assert isinstance(scheduler, dict) and scheduler["ticks"] >= 12 * 60 // 10 - 2
    fast = loops["fast"]
    assert isinstance(fast, dict) and fast["mode"] == "on"
    lines = report.summary_lines()
    assert any(line.startswith("slow loop (heuristic): plans 1") for line in lines)
    assert any(line.startswith("scheduler: ticks") for line in lines)
