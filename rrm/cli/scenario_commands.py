"""`rrm scenario list|check`: the shipped scenarios, and validation of a scenario file."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scenario", help="list shipped simulation scenarios, or check a scenario file")
    scenario_sub = p.add_subparsers(dest="scenario_command", required=True, metavar="{list,check}")
    listing = scenario_sub.add_parser("list", help="the shipped scenarios")
    listing.set_defaults(handler=_list)
    check = scenario_sub.add_parser("check", help="validate a scenario file and print what it holds")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_check)


def _list(ns: argparse.Namespace) -> int:
    from drivers.sim.scenario import list_shipped_scenarios, load_scenario

    for name, path in sorted(list_shipped_scenarios().items()):
        scenario = load_scenario(path)
        size = f"{len(scenario.aps):>3} APs {len(scenario.clients):>4} clients"
        print(f"{name:<16} {scenario.region.value:<5} {size}  {path}")
    return 0


def _check(ns: argparse.Namespace) -> int:
    from drivers.sim.scenario import load_scenario

    scenario = load_scenario(ns.file)
    radios = sum(len(ap.radios) for ap in scenario.aps)
    print(
        f"{ns.file}: valid rrm-scenario v1; region {scenario.region.value}, {len(scenario.aps)} APs, "
        f"{radios} radios, {len(scenario.clients)} clients, {len(scenario.interferers)} interferers, "
        f"{scenario.duration_s:g} s"
    )
    return 0
