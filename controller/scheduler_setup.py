"""Building the controller's scheduler from its settings (controller/app.py ``ControllerSettings``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from controller.change_pipeline import AuditSink, ChangePipeline
from controller.network_graph import network_graph
from controller.network_view import NetworkView
from controller.scheduler import LoopScheduler, SchedulerSettings
from controller.scheduler_shim import SchedulerShim
from controller.site_policy import SitePolicy
from controller.slow_loop.cql_model import ModelFileError
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.history_transitions import HISTORY_DB_FILE
from controller.slow_loop.history_transitions_recorder import open_stage_recorder
from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop.policy_registry import PolicyUnavailable, build_policy
from controller.slow_loop.safe_rl_policy import NAME as SAFE_RL
from controller.slow_loop.safe_rl_policy import SafeRlPolicy
from controller.slow_loop.site_plan import SlowLoopPolicy
from controller.slow_loop_runner import SlowLoopRunner
from controller.slow_loop_window import SlowLoopWindow
from controller.telemetry_window import TelemetryWindows
from rrm.v1 import agent_link_pb2 as pb

OFF = "off"
log = logging.getLogger(__name__)


class SchedulerOptions(Protocol):
    """The fields of ControllerSettings the scheduler reads."""

    @property
    def state_dir(self) -> Path: ...
    @property
    def site(self) -> str: ...
    @property
    def slow_loop(self) -> str: ...
    @property
    def slow_loop_model(self) -> Path | None: ...
    @property
    def slow_loop_window(self) -> str: ...
    @property
    def site_timezone(self) -> str: ...
    @property
    def monitoring_window_s(self) -> float: ...
    @property
    def plan_approval_above_aps(self) -> int: ...
    @property
    def plan_observation_s(self) -> float: ...
    @property
    def plan_deviation_gain(self) -> float: ...
    @property
    def plan_quality_threshold(self) -> float | None: ...


def scheduler_settings(options: SchedulerOptions) -> SchedulerSettings:
    """Raises WindowError or ValueError naming a bad window, time zone or figure."""
    return SchedulerSettings(
        monitoring_window_s=options.monitoring_window_s,
        plan_deviation_gain=options.plan_deviation_gain,
        slow_window=SlowLoopWindow.parse(options.slow_loop_window, options.site_timezone),
    )


def slow_loop_runner(options: SchedulerOptions, seed: int = 0) -> SlowLoopRunner | None:
    """The configured policy and plan execution, or None with ``slow_loop = "off"``; raises PolicyUnavailable."""
    if options.slow_loop == OFF:
        return None
    execution = ExecutionSettings(
        approval_above_aps=options.plan_approval_above_aps,
        observation_s=options.plan_observation_s,
        quality_threshold=options.plan_quality_threshold,
    )
    return SlowLoopRunner(slow_loop_policy(options, seed), execution)


def slow_loop_policy(options: SchedulerOptions, seed: int = 0) -> SlowLoopPolicy:
    """The configured policy: safe_rl from its model file, falling back to the heuristic; raises PolicyUnavailable.

    A safe_rl model that has not passed its held-out check (held_out_check.py) still runs, making
    the heuristic's plans; a warning at start and every plan's reason say so.
    """
    if options.slow_loop != SAFE_RL or options.slow_loop_model is None:
        return build_policy(options.slow_loop, seed)
    try:
        policy = SafeRlPolicy.from_file(options.slow_loop_model, HeuristicPlanner(seed=seed))
    except ModelFileError as exc:
        raise PolicyUnavailable(f"safe_rl: {exc}") from None
    if not policy.cleared:
        log.warning("slow loop safe_rl: %s; it makes the heuristic's plans only", policy.check_note())
    return policy


def build_scheduler(
    options: SchedulerOptions,
    pipeline: ChangePipeline,
    view: NetworkView,
    telemetry: TelemetryWindows | None,
    audit: AuditSink,
    site: Callable[[], SitePolicy],
    hellos: Callable[[], Mapping[str, pb.Hello]],
) -> SchedulerShim:
    slow = slow_loop_runner(options)
    if slow is not None:  # the executed stages become the offline agent's history (history_transitions.py)
        slow.history = open_stage_recorder(
            options.state_dir / HISTORY_DB_FILE, lambda now: network_graph(view, hellos(), now)
        )
    scheduler = LoopScheduler(scheduler_settings(options), slow=slow)
    return SchedulerShim(
        scheduler,
        pipeline=pipeline,
        view=view,
        telemetry=telemetry,
        audit=audit,
        site=site,
        hellos=hellos,
        site_name=options.site,
    )
