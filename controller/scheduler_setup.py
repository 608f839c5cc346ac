"""Building the controller's scheduler from its settings (controller/app.py ``ControllerSettings``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from controller.change_pipeline import AuditSink, ChangePipeline
from controller.network_graph import network_graph
from controller.network_view import NetworkView
from controller.scheduler import LoopScheduler, SchedulerSettings
from controller.scheduler_shim import SchedulerShim
from controller.site_policy import SitePolicy
from controller.slow_loop.history_transitions import HISTORY_DB_FILE
from controller.slow_loop.history_transitions_recorder import open_stage_recorder
from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop.policy_registry import build_policy
from controller.slow_loop_runner import SlowLoopRunner
from controller.slow_loop_window import SlowLoopWindow
from controller.telemetry_window import TelemetryWindows
from rrm.v1 import agent_link_pb2 as pb

OFF = "off"


class SchedulerOptions(Protocol):
    """The fields of ControllerSettings the scheduler reads."""

    @property
    def state_dir(self) -> Path: ...
    @property
    def site(self) -> str: ...
    @property
    def slow_loop(self) -> str: ...
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
    return SlowLoopRunner(build_policy(options.slow_loop, seed), execution)


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
