"""`rrm controller`'s options for the scheduler and the slow loop (controller/scheduler.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypedDict

from controller.slow_loop.quality_gate import DEFAULT_QUALITY_THRESHOLD, check_threshold
from rrm.cli.errors import UsageError


class SchedulerFields(TypedDict):
    site: str
    slow_loop: str
    slow_loop_model: Path | None
    slow_loop_window: str
    site_timezone: str
    monitoring_window_s: float
    plan_quality_threshold: float | None


def quality_threshold(text: str) -> float | None:
    """``--plan-quality-threshold``: a client QoE in (0, 1], or ``off`` (every scheduled plan runs)."""
    if text.strip().lower() == "off":
        return None
    try:
        value = float(text)
        check_threshold(value)
    except ValueError:  # QualityInputError is one
        raise argparse.ArgumentTypeError(f"{text!r} is not a QoE in (0, 1] or off") from None
    return value


QUALITY_HELP = (
    "a scheduled plan is made only while some radio's client QoE is below this QoE in (0, 1]; "
    "off: always (default: %(default)s)"
)


def add_scheduler_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", default="default", metavar="NAME", help="the site it owns, as `rrm plan --site` names it")
    p.add_argument(
        "--slow-loop",
        default="heuristic",
        metavar="POLICY",
        help="the slow loop's planner: heuristic, safe_rl, tip_unmanaged_aware, static, or off (default: %(default)s)",
    )
    p.add_argument(
        "--slow-loop-model",
        metavar="MODEL",
        help="safe_rl's model file, from `rrm train slow-loop --out MODEL`; needed with --slow-loop safe_rl. "
        "Learned plans are deployed only if its held-out check passed; otherwise it makes the heuristic's plans",
    )
    p.add_argument(
        "--slow-loop-window",
        default="02:00-04:00",
        metavar="HH:MM-HH:MM",
        help="when the slow loop re-plans by itself, daily in --site-timezone; on demand: `rrm plan` "
        "(default: %(default)s)",
    )
    p.add_argument("--site-timezone", default="UTC", metavar="TZ", help="IANA time zone of the site (default: UTC)")
    p.add_argument(
        "--monitoring-window",
        type=float,
        default=300.0,
        metavar="S",
        help="an agent's radar, burst, saturation or failure locks its AP against both loops this long "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--plan-quality-threshold",
        type=quality_threshold,
        default=DEFAULT_QUALITY_THRESHOLD,
        metavar="QOE",
        help=QUALITY_HELP + "; `rrm plan` always runs",
    )


def scheduler_fields(ns: argparse.Namespace) -> SchedulerFields:
    """The ControllerSettings fields, checked once here (UsageError naming the bad value)."""
    from controller.slow_loop.policy_registry import known_policies
    from controller.slow_loop_window import SlowLoopWindow, WindowError

    try:
        SlowLoopWindow.parse(ns.slow_loop_window, ns.site_timezone)
    except WindowError as exc:
        raise UsageError(str(exc)) from None
    if ns.monitoring_window < 0:
        raise UsageError(f"--monitoring-window must not be negative, not {ns.monitoring_window:g}")
    if ns.slow_loop != "off" and ns.slow_loop not in known_policies():
        raise UsageError(f"--slow-loop {ns.slow_loop!r} is not one of off, {', '.join(known_policies())}")
    return {
        "site": str(ns.site),
        "slow_loop": str(ns.slow_loop),
        "slow_loop_model": _slow_loop_model(ns.slow_loop, ns.slow_loop_model),
        "slow_loop_window": str(ns.slow_loop_window),
        "site_timezone": str(ns.site_timezone),
        "monitoring_window_s": float(ns.monitoring_window),
        "plan_quality_threshold": ns.plan_quality_threshold,
    }


def _slow_loop_model(policy: str, path: str | None) -> Path | None:
    """``--slow-loop-model``, read once here: required by safe_rl, refused with any other policy."""
    from controller.slow_loop.cql_model import ConservativeQ, ModelFileError
    from controller.slow_loop.safe_rl_policy import NAME as SAFE_RL

    if path is None:
        if policy == SAFE_RL:
            raise UsageError(
                "--slow-loop safe_rl needs --slow-loop-model MODEL (train one: rrm train slow-loop --out MODEL)"
            )
        return None
    if policy != SAFE_RL:
        raise UsageError(f"--slow-loop-model is safe_rl's model; --slow-loop is {policy!r}")
    try:
        ConservativeQ.load(path)
    except ModelFileError as exc:
        raise UsageError(f"--slow-loop-model {exc}") from None
    return Path(path)
