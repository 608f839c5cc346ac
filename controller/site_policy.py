"""What the operator allows the controller to do, per AP: safe zones, pins, limits, rollback triggers.

The model of seed 004 (ADR-106) for Wi-Fi radios, resolved per AP from layers (STYLE.md point 9):
built-in default -> network -> zone -> AP, each layer overriding only what it names. Pure data:
the file format and its strict parsing live in site_policy_file.py; the guardrails read a
``ApPolicy`` (guardrails.py); agents get the safe zones as a PolicyUpdate and enforce them again.

- SafeZone: min, max, default, step, max changes per hour, requires approval, per parameter.
- Pins: a pinned parameter is never changed automatically (a value, or "as it is now").
- ChangeLimits: cooldown per parameter, changes per AP and per site per hour, the blast radius
  (APs changed per iteration, neighbours of a changing AP), minimum predicted gain (hysteresis)
  and the hold-down after a rollback (exponential dampening).
- RollbackTrigger: a KPI, a threshold, a direction, an observation window and a rollback depth.
- shadow: the loops run and record what they would have done; nothing is sent to radios.
- slo: what each traffic class needs (radio_domain/slo_catalog.py); QoE is computed against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from edge_agent.change_admission import SafeZoneLimit
from radio_domain.slo_catalog import DEFAULT_SLO, SloCatalog

PARAMETERS = ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")


class Kpi(StrEnum):
    """What a rollback trigger watches, per radio, from the controller's telemetry windows."""

    QOE_MEAN = "qoe_mean"  # mean client QoE in [0, 1]
    QOE_P5 = "qoe_p5"  # the worst-off clients
    PACKET_ERROR_RATE = "packet_error_rate"
    RETRY_RATE = "retry_rate"
    CCA_BUSY = "cca_busy"
    THROUGHPUT_MBPS = "throughput_mbps"  # sum over the radio's clients
    STATIONS = "stations"


class Direction(StrEnum):
    BELOW = "below"
    ABOVE = "above"


@dataclass(frozen=True, slots=True)
class SafeZone:
    parameter: str
    minimum: float
    maximum: float
    default: float
    step: float = 0.0
    max_changes_per_hour: int = 0  # 0: no limit
    requires_approval: bool = False

    def violation(self, value: float) -> str | None:
        """Why ``value`` is outside the zone, or None."""
        return self.as_limit().violation(value)

    def as_limit(self) -> SafeZoneLimit:
        """The part the agent enforces too (sent in every PolicyUpdate)."""
        return SafeZoneLimit(self.parameter, self.minimum, self.maximum, self.step, self.max_changes_per_hour)


@dataclass(frozen=True, slots=True)
class ChangeLimits:
    cooldown_s: float = 60.0  # between two changes of one parameter of one radio (seed 004)
    max_changes_per_ap_per_hour: int = 6
    site_changes_per_hour: int = 30
    max_aps_per_iteration: int = 3  # blast radius (invariant 5)
    neighbour_rssi_dbm: float = -75.0  # APs heard this loud are neighbours, not changed in the same step
    min_predicted_gain: float = 0.02  # QoE units a proposal must predict (hysteresis)
    rollback_holddown_s: float = 900.0  # after a rollback, doubling per further rollback
    rollback_holddown_max_s: float = 4 * 3600.0
    approval_window_s: float = 1800.0  # pending approvals are rejected after this (seed 004: 30 min)


@dataclass(frozen=True, slots=True)
class RollbackTrigger:
    kpi: Kpi
    threshold: float
    direction: Direction
    window_s: float = 300.0
    rollback_depth: int = 1  # how many of the AP's latest changes to undo
    relative: bool = False  # threshold in percent change from the value before the change

    def fires(self, before: float, after: float) -> bool:
        """Whether the KPI, ``before`` the change and ``after`` it, crosses the threshold."""
        value = after
        if self.relative:
            if before == 0:
                return False
            value = (after - before) / abs(before) * 100.0
        return value < self.threshold if self.direction is Direction.BELOW else value > self.threshold

    def describe(self) -> str:
        unit = " % change" if self.relative else ""
        return f"{self.kpi.value}{unit} {self.direction.value} {self.threshold:g} within {self.window_s:g} s"


DEFAULT_ZONES: Mapping[str, SafeZone] = {
    "channel": SafeZone("channel", 1, 233, 36),
    "width_mhz": SafeZone("width_mhz", 20, 160, 40, step=20, max_changes_per_hour=2),
    "tx_power_dbm": SafeZone("tx_power_dbm", 1, 30, 17, step=1, max_changes_per_hour=4),
    "obss_pd_dbm": SafeZone("obss_pd_dbm", -82, -62, -82, step=1, max_changes_per_hour=4),
}

DEFAULT_TRIGGERS: tuple[RollbackTrigger, ...] = (
    RollbackTrigger(Kpi.QOE_MEAN, -15.0, Direction.BELOW, window_s=300.0, relative=True),
    RollbackTrigger(Kpi.PACKET_ERROR_RATE, 30.0, Direction.ABOVE, window_s=180.0, relative=True),
    RollbackTrigger(Kpi.THROUGHPUT_MBPS, -40.0, Direction.BELOW, window_s=120.0, relative=True),
)


@dataclass(frozen=True, slots=True)
class ApPolicy:
    """Everything that governs changes to one AP's radios, resolved from the layers."""

    zones: Mapping[str, SafeZone] = field(default_factory=lambda: dict(DEFAULT_ZONES))
    pins: Mapping[str, float | None] = field(default_factory=dict)  # parameter -> pinned value (None: as it is)
    limits: ChangeLimits = field(default_factory=ChangeLimits)
    rollback_triggers: tuple[RollbackTrigger, ...] = DEFAULT_TRIGGERS
    shadow: bool = False
    slo: SloCatalog = DEFAULT_SLO  # what each traffic class needs: QoE is computed against it

    def zone(self, parameter: str) -> SafeZone:
        return self.zones[parameter]


@dataclass(frozen=True, slots=True)
class PolicyLayer:
    """One layer's overrides: only what it names replaces what is below it.

    ``zones`` holds per parameter only the zone fields the layer sets (validated by the parser);
    ``limits`` the ChangeLimits fields it sets; ``pins`` and ``rollback_triggers`` replace the lower
    layer's whole value when present (pins merge per parameter; ``unpins``, the file's ``unpin``
    list, lifts a lower layer's pin).
    """

    zones: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pins: Mapping[str, float | None] = field(default_factory=dict)
    unpins: frozenset[str] = frozenset()
    limits: Mapping[str, Any] = field(default_factory=dict)
    rollback_triggers: tuple[RollbackTrigger, ...] | None = None
    shadow: bool | None = None
    slo: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # traffic class -> SLO fields set

    def apply_to(self, policy: ApPolicy) -> ApPolicy:
        zones = dict(policy.zones)
        for parameter, fields_set in self.zones.items():
            zones[parameter] = replace(zones[parameter], **fields_set)
        pins = {p: v for p, v in policy.pins.items() if p not in self.unpins} | dict(self.pins)
        return ApPolicy(
            zones=zones,
            pins=pins,
            limits=replace(policy.limits, **self.limits) if self.limits else policy.limits,
            rollback_triggers=policy.rollback_triggers if self.rollback_triggers is None else self.rollback_triggers,
            shadow=policy.shadow if self.shadow is None else self.shadow,
            slo=policy.slo.with_overrides(self.slo) if self.slo else policy.slo,
        )


@dataclass(frozen=True, slots=True)
class SitePolicy:
    """The layers of a site: network-wide, per named zone of APs, per AP."""

    network: PolicyLayer = field(default_factory=PolicyLayer)
    zones: Mapping[str, PolicyLayer] = field(default_factory=dict)
    zone_of_ap: Mapping[str, str] = field(default_factory=dict)
    aps: Mapping[str, PolicyLayer] = field(default_factory=dict)
    default: ApPolicy = field(default_factory=ApPolicy)

    def network_wide(self) -> ApPolicy:
        """default -> network: what holds for the whole site (its budgets, its SLO)."""
        return self.network.apply_to(self.default)

    def for_ap(self, ap_id: str) -> ApPolicy:
        """default -> network -> the AP's zone -> the AP."""
        policy = self.network.apply_to(self.default)
        zone = self.zone_of_ap.get(ap_id)
        if zone is not None:
            policy = self.zones[zone].apply_to(policy)
        layer = self.aps.get(ap_id)
        return layer.apply_to(policy) if layer is not None else policy
