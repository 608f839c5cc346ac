"""The (channel, width) choices a radio may take, and what is wrong with an assignment.

A choice is legal when the region allows the channel at the width (radio_domain.regulatory:
the bonding group exists and all its channels are legal), the radio's capabilities list the
channel and the width, and no channel of the group is in its non-occupancy period. A radio whose
driver cannot change its channel (or width) keeps the current one. ``assignment_problems`` is
the independent check every plan passes before any of it is staged (invariant 1).
"""

from __future__ import annotations

from controller.slow_loop.dfs_cost import in_non_occupancy
from controller.slow_loop.interference_graph import RadioNode
from controller.slow_loop.site_plan import RadioAssignment
from radio_domain import regulatory
from radio_domain.regulatory import Region

MAX_PLANNED_WIDTH_MHZ = 80  # wider only where the radio already is (160 MHz leaves too few groups)


def candidate_choices(
    region: Region, node: RadioNode, now: float | None = None, max_width_mhz: int = MAX_PLANNED_WIDTH_MHZ
) -> tuple[tuple[int, int], ...]:
    """Every legal (channel, width) for ``node``, current first, then by width and channel."""
    caps = node.capabilities
    current = (node.config.channel, node.config.width_mhz)
    widths = [w for w in regulatory.widths(node.band) if w in caps.widths_mhz and w <= max_width_mhz]
    if not caps.can_change_width or current[1] > max_width_mhz:
        widths = [current[1]]
    channels = regulatory.channels(region, node.band) if caps.can_change_channel else (current[0],)
    found: list[tuple[int, int]] = []
    for width in sorted(set(widths)):
        for channel in channels:
            if channel not in caps.channels or not regulatory.is_legal(region, node.band, channel, width):
                continue
            if in_non_occupancy(node, regulatory.bonding_group(region, node.band, channel, width), now):
                continue
            found.append((channel, width))
    if current in found:
        found.remove(current)
        found.insert(0, current)
    return tuple(found)


def assignment_problems(region: Region, node: RadioNode, assignment: RadioAssignment, now: float) -> list[str]:
    """Why ``assignment`` may not be given to ``node`` (empty when it may), one reason per item."""
    rid = node.radio_id
    caps = node.capabilities
    try:
        regulatory.check_config(region, node.band, assignment.channel, assignment.width_mhz, assignment.tx_power_dbm)
    except regulatory.RegulatoryError as exc:
        return [f"{rid}: {exc}"]
    problems = []
    group = regulatory.bonding_group(region, node.band, assignment.channel, assignment.width_mhz)
    if in_non_occupancy(node, group, now):
        problems.append(f"{rid}: channel group {list(group)} is in its non-occupancy period after radar")
    if assignment.channel != node.config.channel and (
        not caps.can_change_channel or assignment.channel not in caps.channels
    ):
        problems.append(f"{rid}: the radio cannot use channel {assignment.channel}")
    if assignment.width_mhz != node.config.width_mhz and (
        not caps.can_change_width or assignment.width_mhz not in caps.widths_mhz
    ):
        problems.append(f"{rid}: the radio cannot use {assignment.width_mhz} MHz")
    if assignment.tx_power_dbm != node.config.tx_power_dbm and (
        not caps.can_change_tx_power or not caps.min_tx_power_dbm <= assignment.tx_power_dbm <= caps.max_tx_power_dbm
    ):
        problems.append(
            f"{rid}: tx power {assignment.tx_power_dbm:g} dBm is outside the radio's "
            f"{caps.min_tx_power_dbm:g}..{caps.max_tx_power_dbm:g} dBm"
        )
    return problems
