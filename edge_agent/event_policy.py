"""The event loop's policy as data: the decision matrix, detection thresholds, rollback triggers.

Everything the seeds give as numbers (interference moves at >= 0.8 confidence and >= 70 % duty,
seed 003; QoE is a radio problem when more than 30 % of its clients are below 0.5, seed 002;
rollback on PER or retry rate +30 %, more than 10 disconnects a minute, throughput -40 % or a new
critical event within 5 minutes, seed 003; 10 s cooldown per radio, seed 003), and the emergency
selector's weights and the event queue's limits, are defaults here, not constants in code.
``load_event_policy`` reads a YAML or JSON file strictly: unknown keys and impossible values are
errors naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from edge_agent.emergency_channels import SelectionWeights
from edge_agent.event_queue import QueueLimits
from radio_domain.events import EventType


class ActionKind(StrEnum):
    CHANNEL_CHANGE = "channel_change"
    WIDTH_REDUCTION = "width_reduction"
    TX_POWER_ADJUST = "tx_power_adjust"
    OBSS_PD_ADJUST = "obss_pd_adjust"
    STEER_CLIENTS = "steer_clients"
    RESTART_RADIO = "restart_radio"
    REPORT_ONLY = "report_only"


@dataclass(frozen=True, slots=True)
class MatrixRule:
    """One row of EVENT_ACTION_MATRIX: for this event type, at or above this confidence, do this.

    Rules of one event type are tried in order; the first whose conditions hold decides.
    ``min_duty_cycle`` applies to interference (the event's ``duty_cycle`` metadata).
    """

    event_type: EventType
    action: ActionKind
    min_confidence: float = 0.0
    min_duty_cycle: float = 0.0
    step_db: float = 3.0  # for power and OBSS-PD adjustments (sign comes from the action's purpose)


def _rules(*rules: MatrixRule) -> tuple[MatrixRule, ...]:
    return rules


DEFAULT_MATRIX: tuple[MatrixRule, ...] = _rules(
    MatrixRule(EventType.DFS_RADAR, ActionKind.CHANNEL_CHANGE),
    MatrixRule(EventType.NON_WIFI_BURST, ActionKind.CHANNEL_CHANGE, min_confidence=0.8, min_duty_cycle=0.7),
    MatrixRule(EventType.NON_WIFI_BURST, ActionKind.WIDTH_REDUCTION, min_confidence=0.8, min_duty_cycle=0.3),
    MatrixRule(EventType.NON_WIFI_BURST, ActionKind.REPORT_ONLY),
    MatrixRule(EventType.SPECTRUM_SAT, ActionKind.OBSS_PD_ADJUST, min_confidence=0.7),
    MatrixRule(EventType.SPECTRUM_SAT, ActionKind.REPORT_ONLY),
    MatrixRule(EventType.HW_FAILURE, ActionKind.RESTART_RADIO),
    MatrixRule(EventType.EMERGENCY_QOE, ActionKind.STEER_CLIENTS, min_confidence=0.5),
    MatrixRule(EventType.EMERGENCY_QOE, ActionKind.REPORT_ONLY),
    MatrixRule(EventType.DENSITY_SPIKE, ActionKind.STEER_CLIENTS, min_confidence=0.6),
    MatrixRule(EventType.DENSITY_SPIKE, ActionKind.REPORT_ONLY),
    MatrixRule(EventType.LOAD_IMBALANCE, ActionKind.STEER_CLIENTS, min_confidence=0.6),
    MatrixRule(EventType.LOAD_IMBALANCE, ActionKind.REPORT_ONLY),
    MatrixRule(EventType.POWER_BUDGET_EXCEEDED, ActionKind.TX_POWER_ADJUST),
    MatrixRule(EventType.SECURITY, ActionKind.REPORT_ONLY),
)


@dataclass(frozen=True, slots=True)
class DetectionThresholds:
    """When telemetry alone raises an event (seed 002 auto-detection)."""

    non_wifi_duty: float = 0.3
    cca_busy: float = 0.7
    poor_qoe: float = 0.5
    poor_client_share: float = 0.2
    poor_client_min: int = 3
    density_jump_clients: int = 5
    density_jump_ratio: float = 0.5
    imbalance_min_clients: int = 8
    imbalance_ratio: float = 3.0


@dataclass(frozen=True, slots=True)
class RollbackTriggers:
    """Post-action monitoring (seed 003): any one of these within the window rolls the action back."""

    window_s: float = 300.0
    per_increase: float = 0.30
    retry_increase: float = 0.30
    min_absolute_increase: float = 0.02  # ignore 0.001 -> 0.002 "increases"
    disconnects_per_min: float = 10.0
    throughput_drop: float = 0.40
    min_baseline_throughput_mbps: float = 1.0
    on_new_critical_event: bool = True
    confirm_readings: int = 2  # consecutive readings a trigger must hold on (action_monitor.py)

    def __post_init__(self) -> None:
        if self.confirm_readings < 1:
            raise ValueError(
                f"confirm_readings must be at least 1 (1: one reading rolls back), not {self.confirm_readings}"
            )


@dataclass(frozen=True, slots=True)
class EventPolicy:
    matrix: tuple[MatrixRule, ...] = DEFAULT_MATRIX
    detection: DetectionThresholds = field(default_factory=DetectionThresholds)
    rollback: RollbackTriggers = field(default_factory=RollbackTriggers)
    selection: SelectionWeights = field(default_factory=SelectionWeights)
    queue: QueueLimits = field(default_factory=QueueLimits)
    cooldown_s: float = 10.0
    radar_follow_up_margin: float = 0.15  # a second move after the AP's radar landing must score this much better
    radar_fallback_channels: int = 1  # listed for the AP's own radar move; hostapd picks among them at random
    radar_ap_grace_s: float = 2.0  # an AP that moves by itself on radar gets this long before the agent moves it
    move_hysteresis: float = 0.1  # a channel change must score this much better than staying (when staying is possible)
    rollback_holddown_s: float = 600.0  # after a rollback the same kind of action waits, doubling each time
    rollback_holddown_max_s: float = 4 * 3600.0
    max_local_changes_per_hour: int = 6  # per radio, radar moves not counted; 0 = no budget
    alarm_repeat_s: float = 600.0  # an alarm (no legal channel left) is raised again only after this long
    radio_problem_share: float = 0.30  # share of clients below poor_qoe that makes it the radio's problem
    weak_client_rssi_dbm: float = -75.0  # poor clients this weak point at coverage (power), not the channel
    steer_backoff_s: float = 300.0
    steer_backoff_max_s: float = 7200.0
    max_steers_per_event: int = 5

    def rules_for(self, event_type: EventType) -> tuple[MatrixRule, ...]:
        return _rules_by_type(self.matrix).get(event_type, ())


@lru_cache(maxsize=16)
def _rules_by_type(matrix: tuple[MatrixRule, ...]) -> dict[EventType, tuple[MatrixRule, ...]]:
    """The matrix indexed by event type, in order (asked for every event)."""
    index: dict[EventType, list[MatrixRule]] = {}
    for rule in matrix:
        index.setdefault(rule.event_type, []).append(rule)
    return {kind: tuple(rules) for kind, rules in index.items()}


class PolicyFileError(ValueError):
    """An event policy file is unreadable or wrong; the message names the file and the field."""


def _number(where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyFileError(f"{where}: expected a number, got {value!r}")
    if not low <= float(value) <= high:
        raise PolicyFileError(f"{where}: {value} is outside [{low:g}, {high:g}]")
    return float(value)


def _bounds(key: str) -> tuple[float, float]:
    """Levels in dBm are negative; every other figure (seconds, shares, counts, weights) is not."""
    return (-120.0, 0.0) if key.endswith("_dbm") else (0.0, 1e9)


def _section(where: str, data: Any, defaults: Any) -> Any:
    if not isinstance(data, Mapping):
        raise PolicyFileError(f"{where}: expected a mapping")
    known = {f.name: f for f in fields(defaults)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise PolicyFileError(f"{where}: unknown keys {unknown}; expected some of {sorted(known)}")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        default = getattr(defaults, key)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise PolicyFileError(f"{where}.{key}: expected true or false")
            changes[key] = value
        else:
            number = _number(f"{where}.{key}", value, *_bounds(key))
            changes[key] = int(number) if isinstance(default, int) else number
    try:
        return replace(defaults, **changes)
    except ValueError as exc:  # a section's own consistency check (e.g. the queue's limits)
        raise PolicyFileError(f"{where}: {exc}") from None


def _matrix(where: str, data: Any) -> tuple[MatrixRule, ...]:
    if not isinstance(data, list) or not data:
        raise PolicyFileError(f"{where}: expected a non-empty list of rules")
    rules = []
    for i, row in enumerate(data):
        here = f"{where}[{i}]"
        if not isinstance(row, Mapping):
            raise PolicyFileError(f"{here}: expected a mapping")
        unknown = sorted(set(row) - {"event", "action", "min_confidence", "min_duty_cycle", "step_db"})
        if unknown:
            raise PolicyFileError(f"{here}: unknown keys {unknown}")
        try:
            event_type = EventType(row["event"])
            action = ActionKind(row["action"])
        except KeyError as exc:
            raise PolicyFileError(f"{here}: missing {exc.args[0]!r}") from None
        except ValueError as exc:
            raise PolicyFileError(f"{here}: {exc}") from None
        rules.append(
            MatrixRule(
                event_type,
                action,
                _number(f"{here}.min_confidence", row.get("min_confidence", 0.0), 0.0, 1.0),
                _number(f"{here}.min_duty_cycle", row.get("min_duty_cycle", 0.0), 0.0, 1.0),
                _number(f"{here}.step_db", row.get("step_db", 3.0), 0.5, 20.0),
            )
        )
    return tuple(rules)


def parse_event_policy(data: Any, source: str) -> EventPolicy:
    """An EventPolicy from parsed YAML/JSON; defaults for what is absent."""
    if not isinstance(data, Mapping):
        raise PolicyFileError(f"{source}: expected a mapping at the top")
    base = EventPolicy()
    top = {f.name for f in fields(base)}
    unknown = sorted(set(data) - top)
    if unknown:
        raise PolicyFileError(f"{source}: unknown keys {unknown}; expected some of {sorted(top)}")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{source}: {key}"
        if key == "matrix":
            changes[key] = _matrix(where, value)
        elif key in ("detection", "rollback", "selection", "queue"):
            changes[key] = _section(where, value, getattr(base, key))
        else:
            default = getattr(base, key)
            number = _number(where, value, *_bounds(key))
            changes[key] = int(number) if isinstance(default, int) else number
    policy = replace(base, **changes)
    radar = policy.rules_for(EventType.DFS_RADAR)
    if not radar or any(r.action is not ActionKind.CHANNEL_CHANGE or r.min_confidence > 0 for r in radar):
        raise PolicyFileError(
            f"{source}: matrix: DFS_RADAR must map to channel_change at any confidence (the radio must leave)"
        )
    return policy


def policy_to_data(policy: EventPolicy) -> dict[str, Any]:
    """The policy as plain data, in the file format ``parse_event_policy`` reads back."""
    data: dict[str, Any] = {}
    for f in fields(policy):
        value = getattr(policy, f.name)
        if f.name == "matrix":
            data[f.name] = [
                {
                    "event": rule.event_type.value,
                    "action": rule.action.value,
                    "min_confidence": rule.min_confidence,
                    "min_duty_cycle": rule.min_duty_cycle,
                    "step_db": rule.step_db,
                }
                for rule in value
            ]
        elif hasattr(value, "__dataclass_fields__"):
            data[f.name] = {s.name: getattr(value, s.name) for s in fields(value)}
        else:
            data[f.name] = value
    return data


def load_event_policy(path: Path) -> EventPolicy:
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise PolicyFileError(f"{path}: not valid {'YAML' if path.suffix != '.json' else 'JSON'}: {exc}") from None
    return parse_event_policy(data, str(path))
