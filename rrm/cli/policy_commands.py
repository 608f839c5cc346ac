"""`rrm policy show|check`: the agents' event policy, as the built-in default or from a file."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("policy", help="show the built-in event policy, or check an event policy file")
    policy_sub = p.add_subparsers(dest="policy_command", required=True, metavar="{show,check}")
    show = policy_sub.add_parser(
        "show", help="print the built-in event policy as YAML (a starting point for --event-policy FILE)"
    )
    show.set_defaults(handler=_show)
    check = policy_sub.add_parser("check", help="validate an event policy file (YAML or JSON) and summarise it")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_check)


def _show(ns: argparse.Namespace) -> int:
    import yaml

    from edge_agent.event_policy import EventPolicy, policy_to_data

    print("# rrm event policy (the built-in default); give a changed copy to `rrm agent --event-policy FILE`")
    print(yaml.safe_dump(policy_to_data(EventPolicy()), sort_keys=False), end="")
    return 0


def _check(ns: argparse.Namespace) -> int:
    from edge_agent.event_policy import load_event_policy

    policy = load_event_policy(ns.file)
    kinds = sorted({rule.event_type.value for rule in policy.matrix})
    print(
        f"{ns.file}: valid event policy; {len(policy.matrix)} matrix rules over {len(kinds)} event types, "
        f"cooldown {policy.cooldown_s:g} s, rollback window {policy.rollback.window_s:g} s"
    )
    return 0
