"""Violations of the slow loop's constraints, checked after the run and apart from the code that kept them.

Per applied config (not rollbacks' own correctness, which restore a config that was legal):
the regulatory table (legal channel group, tx power within the legal limit), the radio's
capabilities, no channel in its non-occupancy period at the time it was applied. Per plan: at
most ``max_aps_per_step`` APs in one step, no two neighbouring APs in one step, no AP changed in
two steps of one plan (clients see at most one move per AP per plan). Zero by construction; the
evaluation reports the count so a regression shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drivers.protocol import RadioCapabilities
from radio_domain import regulatory
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region


@dataclass(frozen=True, slots=True)
class AppliedPlanChange:
    plan_id: str
    step: int
    radio_id: str
    ap_id: str
    band: Band
    capabilities: RadioCapabilities
    before: RadioConfig
    after: RadioConfig
    at: float
    non_occupancy: Mapping[int, float]  # the radio's NOP timers when the change was applied


def config_violations(region: Region, change: AppliedPlanChange) -> list[str]:
    after, caps, rid = change.after, change.capabilities, change.radio_id
    try:
        regulatory.check_config(region, change.band, after.channel, after.width_mhz, after.tx_power_dbm)
    except regulatory.RegulatoryError as exc:
        return [f"{rid} at {change.at:.0f}: {exc}"]
    found = []
    group = regulatory.bonding_group(region, change.band, after.channel, after.width_mhz)
    closed = [c for c in group if change.non_occupancy.get(c, 0.0) > change.at]
    if closed:
        found.append(f"{rid} at {change.at:.0f}: channels {closed} in non-occupancy")
    if after.channel not in caps.channels or after.width_mhz not in caps.widths_mhz:
        found.append(f"{rid} at {change.at:.0f}: channel {after.channel}/{after.width_mhz} MHz beyond its capabilities")
    if not caps.min_tx_power_dbm <= after.tx_power_dbm <= caps.max_tx_power_dbm:
        found.append(f"{rid} at {change.at:.0f}: tx power {after.tx_power_dbm:g} dBm beyond its capabilities")
    return found


def staging_violations(
    changes: Sequence[AppliedPlanChange],
    neighbours: Mapping[str, Mapping[str, frozenset[str]]],
    max_aps_per_step: int,
) -> list[str]:
    """Blast radius, neighbours in one step, one move per AP per plan; ``neighbours``: plan -> AP -> APs."""
    steps: dict[tuple[str, int], set[str]] = {}
    ap_steps: dict[tuple[str, str], set[int]] = {}
    for c in changes:
        steps.setdefault((c.plan_id, c.step), set()).add(c.ap_id)
        ap_steps.setdefault((c.plan_id, c.ap_id), set()).add(c.step)
    found = []
    for (plan, step), aps in sorted(steps.items()):
        if len(aps) > max_aps_per_step:
            found.append(f"plan {plan} step {step}: {len(aps)} APs changed (at most {max_aps_per_step})")
        near = neighbours.get(plan, {})
        clashes = sorted((a, b) for a in aps for b in aps if a < b and b in near.get(a, frozenset()))
        if clashes:
            found.append(f"plan {plan} step {step}: neighbouring APs changed together {clashes}")
    for (plan, ap), in_steps in sorted(ap_steps.items()):
        if len(in_steps) > 1:
            found.append(f"plan {plan}: AP {ap} moved in {len(in_steps)} steps")
    return found


def independent_violations(
    region: Region,
    changes: Sequence[AppliedPlanChange],
    neighbours: Mapping[str, Mapping[str, frozenset[str]]],
    max_aps_per_step: int,
) -> list[str]:
    found = [v for c in changes for v in config_violations(region, c)]
    return found + staging_violations(changes, neighbours, max_aps_per_step)
