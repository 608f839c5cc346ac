"""Whether the agent may apply a change to a radio: the agent's own last check (invariants 1 and 2).

Pure: (radio, region, current config, change, safe zones, recent change counts) -> the list of
violations, each naming the parameter. The controller checks the same rules first; the agent
checks again because it is the last thing between a command and the air.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drivers.protocol import RadioInfo
from radio_domain import regulatory
from radio_domain.radio import OBSS_PD_MAX_DBM, OBSS_PD_OFF_DBM, ConfigChange, RadioConfig

PARAMETERS = ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")


@dataclass(frozen=True, slots=True)
class SafeZoneLimit:
    parameter: str
    minimum: float
    maximum: float
    step: float = 0.0
    max_changes_per_hour: int = 0  # 0 = no limit

    def violation(self, value: float) -> str | None:
        if not self.minimum <= value <= self.maximum:
            return f"{self.parameter} {value:g} is outside the safe zone [{self.minimum:g}, {self.maximum:g}]"
        if self.step > 0:
            steps = (value - self.minimum) / self.step
            if abs(steps - round(steps)) > 1e-6:
                return f"{self.parameter} {value:g} is not on the safe zone's {self.step:g} grid from {self.minimum:g}"
        return None


def changed_parameters(current: RadioConfig, change: ConfigChange) -> dict[str, float]:
    """The parameters whose value would actually change, with their new values."""
    out: dict[str, float] = {}
    for name in PARAMETERS:
        new = getattr(change, name)
        if new is not None and new != getattr(current, name):
            out[name] = float(new)
    return out


def admission_violations(
    radio: RadioInfo,
    region: regulatory.Region,
    current: RadioConfig,
    change: ConfigChange,
    zones: Sequence[SafeZoneLimit] = (),
    changes_last_hour: Mapping[str, int] | None = None,
    non_occupancy: Mapping[int, float] | None = None,
) -> list[str]:
    """Every reason the change may not be applied; empty when it may.

    ``non_occupancy`` maps channels in their post-radar non-occupancy period to its end (unix s).
    """
    caps = radio.capabilities
    target = change.apply_to(current)
    changed = changed_parameters(current, change)
    problems: list[str] = []
    allowed = {
        "channel": caps.can_change_channel,
        "width_mhz": caps.can_change_width,
        "tx_power_dbm": caps.can_change_tx_power,
        "obss_pd_dbm": caps.can_change_obss_pd,
    }
    problems += [f"{name}: this radio's driver cannot change it" for name in changed if not allowed[name]]
    if target.channel not in caps.channels:
        problems.append(f"channel {target.channel} is not supported by radio {radio.radio_id}")
    if target.width_mhz not in caps.widths_mhz:
        problems.append(f"width_mhz {target.width_mhz} is not supported by radio {radio.radio_id}")
    if not caps.min_tx_power_dbm <= target.tx_power_dbm <= caps.max_tx_power_dbm:
        problems.append(
            f"tx_power_dbm {target.tx_power_dbm:g} is outside the radio's range "
            f"[{caps.min_tx_power_dbm:g}, {caps.max_tx_power_dbm:g}]"
        )
    if not OBSS_PD_OFF_DBM <= target.obss_pd_dbm <= OBSS_PD_MAX_DBM:
        problems.append(f"obss_pd_dbm {target.obss_pd_dbm} is outside [{OBSS_PD_OFF_DBM}, {OBSS_PD_MAX_DBM}]")
    try:
        regulatory.check_config(region, radio.band, target.channel, target.width_mhz, target.tx_power_dbm)
    except regulatory.RegulatoryError as exc:
        problems.append(f"regulatory: {exc}")
    else:
        group = regulatory.bonding_group(region, radio.band, target.channel, target.width_mhz)
        blocked = sorted(c for c in group if c in (non_occupancy or {}))
        if blocked:
            problems.append(
                f"regulatory: channels {blocked} are in their non-occupancy period after radar "
                f"(until unix time {max((non_occupancy or {})[c] for c in blocked):.0f})"
            )
    counts = changes_last_hour or {}
    for zone in zones:
        if zone.parameter not in changed:
            continue
        if (why := zone.violation(changed[zone.parameter])) is not None:
            problems.append(why)
        used = counts.get(zone.parameter, 0)
        if zone.max_changes_per_hour and used >= zone.max_changes_per_hour:
            problems.append(
                f"{zone.parameter}: {used} changes in the last hour reach the safe zone's limit of "
                f"{zone.max_changes_per_hour} per hour"
            )
    return problems
