"""Applied configs checked against the rules, independently of the guardrails that let them through.

The evaluation's ``violations`` figure: for every config a policy wrote (a change, a rollback, an
ACS pick), the target must be a legal channel of the band in the region, at a width whose bonding
group is legal, with tx power within the region's limit (radio_domain.regulatory); each parameter
a change (not a rollback, which restores a config that was already on air) moves must lie in its
safe zone and must not be pinned (controller.site_policy); and no AP may take more loop changes
in any hour than its ``max_changes_per_ap_per_hour``. The code is deliberately separate from
controller/guardrails.py: a bug there must show here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from controller.site_policy import SitePolicy
from radio_domain import regulatory
from radio_domain.radio import RadioConfig, split_radio_id
from radio_domain.regulatory import Region

HOUR_S = 3600.0
PARAMETERS = ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")


@dataclass(frozen=True, slots=True)
class AppliedConfig:
    radio_id: str
    change_id: str
    before: RadioConfig
    after: RadioConfig
    at: float
    rollback: bool = False


def _config_violations(region: Region, applied: AppliedConfig, site: SitePolicy) -> list[str]:
    ap_id, band = split_radio_id(applied.radio_id)
    target = applied.after
    where = f"{applied.change_id} on {applied.radio_id}"
    if target.channel not in regulatory.channels(region, band):
        return [f"{where}: channel {target.channel} is not legal"]
    if not regulatory.is_legal(region, band, target.channel, target.width_mhz):
        return [f"{where}: {target.channel}/{target.width_mhz} MHz is not legal"]
    found = []
    if target.tx_power_dbm > regulatory.max_tx_power_dbm(region, band, target.channel, target.width_mhz):
        found.append(f"{where}: tx power {target.tx_power_dbm:g} dBm is above the limit")
    if applied.rollback:
        return found
    policy = site.for_ap(ap_id)
    for parameter in PARAMETERS:
        value = getattr(target, parameter)
        if value == getattr(applied.before, parameter):
            continue
        if parameter in policy.pins:
            found.append(f"{where}: {parameter} is pinned")
        if (why := policy.zone(parameter).violation(float(value))) is not None:
            found.append(f"{where}: {why}")
    return found


def _rate_violations(applied: Sequence[AppliedConfig], site: SitePolicy) -> list[str]:
    times: dict[str, list[float]] = defaultdict(list)
    for a in applied:
        if not a.rollback and not a.change_id.startswith("acs-"):
            times[split_radio_id(a.radio_id)[0]].append(a.at)
    found = []
    for ap_id, at in sorted(times.items()):
        limit = site.for_ap(ap_id).limits.max_changes_per_ap_per_hour
        at.sort()
        for i, t in enumerate(at):
            in_hour = sum(1 for u in at[: i + 1] if t - u < HOUR_S)
            if limit and in_hour > limit:
                found.append(f"AP {ap_id}: {in_hour} changes in the hour up to {t:.0f} (limit {limit})")
    return found


def independent_violations(region: Region, applied: Sequence[AppliedConfig], site: SitePolicy) -> list[str]:
    """Every rule an applied config breaks (module docstring); empty when all is well."""
    found = [v for a in applied for v in _config_violations(region, a, site)]
    return found + _rate_violations(applied, site)
