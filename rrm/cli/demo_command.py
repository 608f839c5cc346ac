"""`rrm demo`: a controller and one agent per AP on a simulated building, with live progress."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from drivers.sim.scenario import Scenario

DEFAULT_SPEED = 120.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run a controller and a fleet of agents on a simulated building (SQLite, mTLS on loopback)",
        description="Starts a controller and one edge agent per AP of a simulated building, with a fresh PKI, "
        "and shows events, actions and QoE as they happen, then a summary.",
    )
    p.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="scenario file, or a shipped one's name (default: %(default)s)"
    )
    p.add_argument("--minutes", type=float, default=30.0, help="simulated minutes to run (default: %(default)s)")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--headless", action="store_true", help="no live progress, run as fast as possible")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report to FILE ('-' for stdout)")
    p.add_argument("--state-dir", type=Path, metavar="DIR", help="keep databases and PKI in DIR (default: temporary)")
    p.add_argument(
        "--event-policy",
        type=Path,
        metavar="FILE",
        help="the agents' event policy (decision matrix, thresholds, rollback triggers), YAML or JSON "
        "(default: the built-in one; see `rrm policy show`)",
    )
    p.add_argument(
        "--site-policy",
        type=Path,
        metavar="FILE",
        help="the controller's site policy (see `rrm site-policy example`); its network SLO is also what the "
        "simulated clients' QoE is computed against",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help="simulated seconds per real second when not headless (default: %(default)s)",
    )
    p.set_defaults(handler=_run)


def _run(ns: argparse.Namespace) -> int:
    from rrm.cli.scenario_resolution import resolve_scenario
    from rrm.demo.fleet import with_seed

    if ns.minutes <= 0:
        raise UsageError(f"--minutes must be positive, not {ns.minutes:g}")
    if ns.speed <= 0:
        raise UsageError(f"--speed must be positive, not {ns.speed:g}")
    scenario, name = resolve_scenario(ns.scenario)
    scenario = with_seed(scenario, ns.seed)
    if ns.state_dir is not None:
        return _run_in(ns, scenario, name, ns.state_dir)
    with tempfile.TemporaryDirectory(prefix="rrm-demo-") as tmp:
        return _run_in(ns, scenario, name, Path(tmp))


def _run_in(ns: argparse.Namespace, scenario: Scenario, name: str, state_dir: Path) -> int:
    from edge_agent.event_policy import EventPolicy, load_event_policy
    from rrm.demo.fleet import DemoFleet, DemoOptions

    options = DemoOptions(
        event_policy=load_event_policy(ns.event_policy) if ns.event_policy else EventPolicy(),
        site_policy=ns.site_policy,
        scenario=scenario,
        scenario_name=name,
        minutes=ns.minutes,
        state_dir=state_dir,
        speed=None if ns.headless else ns.speed,
        show_progress=not ns.headless,
    )
    if not ns.headless:
        print(f"rrm demo: scenario {name}, {ns.minutes:g} simulated minutes at {ns.speed:g}x, state in {state_dir}")
    report = asyncio.run(DemoFleet(options).run())
    if ns.json is not None:
        if str(ns.json) == "-":
            print(report.to_json())
        else:
            report.write(ns.json)
    if not ns.headless or ns.json is None:
        print("\n".join(["summary:", *("  " + line for line in report.summary_lines())]))
    return 0
