"""The `rrm` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rrm import __version__
from rrm.cli import (
    agent_command,
    approval_commands,
    audit_commands,
    bench_commands,
    change_commands,
    controller_command,
    demo_command,
    eval_commands,
    hil_commands,
    pki_commands,
    plan_command,
    policy_commands,
    privacy_commands,
    probe_command,
    radar_trace_commands,
    scenario_commands,
    sim_ap_command,
    site_policy_commands,
    slow_loop_train_command,
    spectral_commands,
)
from rrm.cli.errors import expected_errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rrm",
        description="Wi-Fi radio resource management: edge agents, a central controller, simulation and benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"rrm {__version__}")
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING or ERROR (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = (
        demo_command,
        controller_command,
        agent_command,
        probe_command,
        sim_ap_command,
        pki_commands,
        scenario_commands,
        policy_commands,
        approval_commands,
        change_commands,
        plan_command,
        site_policy_commands,
        audit_commands,
        privacy_commands,
        spectral_commands,
        radar_trace_commands,
        hil_commands,
        slow_loop_train_command,
    )
    for module in (*commands, bench_commands, eval_commands):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    level = getattr(logging, str(ns.log_level).upper(), None)
    if not isinstance(level, int):
        parser.error(f"--log-level {ns.log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result: int = ns.handler(ns)
    except expected_errors() as exc:
        print(f"rrm {ns.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
