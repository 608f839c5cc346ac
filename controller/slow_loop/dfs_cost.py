"""What a (channel, width) choice costs a radio in DFS terms, as the slow loop's cost counts it.

- A channel group with any 20 MHz channel inside its non-occupancy period is forbidden
  (infinite cost; invariant 1), as is a combination the region does not allow.
- Moving onto a DFS group the radio has not cleared costs the CAC: the radio is dark for 60 s
  (600 s on ETSI weather channels) and its clients leave, so the cost grows with the minutes
  dark and the clients that lose service.
- Radar seen recently on a channel of the group makes another radar hit, hence a forced move,
  likely: a fixed cost per such channel.
- Clients that announced no DFS support cannot follow the radio onto a DFS group: a cost per
  client.
"""

from __future__ import annotations

import math

from controller.slow_loop.interference_graph import RadioNode
from radio_domain import regulatory
from radio_domain.regulatory import Region

CAC_COST_PER_MINUTE = 2.0
CAC_COST_PER_CLIENT_MINUTE = 0.2
RADAR_HISTORY_COST = 20.0
NO_DFS_CLIENT_COST = 5.0


def in_non_occupancy(node: RadioNode, group: tuple[int, ...], now: float | None) -> bool:
    """Whether a channel of ``group`` is in its NOP at ``now`` (any recorded NOP when ``now`` is None)."""
    return any(c in node.non_occupancy and (now is None or node.non_occupancy[c] > now) for c in group)


def dfs_cost(region: Region, node: RadioNode, channel: int, width_mhz: int, now: float | None = None) -> float:
    """The DFS cost of ``node`` on (channel, width) (module docstring); ``math.inf`` when forbidden."""
    try:
        group = regulatory.bonding_group(region, node.band, channel, width_mhz)
    except regulatory.RegulatoryError:
        return math.inf
    if in_non_occupancy(node, group, now):
        return math.inf
    if not regulatory.needs_dfs(region, node.band, channel, width_mhz):
        return 0.0
    cost = NO_DFS_CLIENT_COST * node.clients_without_dfs
    cost += RADAR_HISTORY_COST * sum(1 for c in group if c in node.radar_channels)
    current = _current_group(region, node)
    cleared = node.cleared_channels | frozenset(current)
    if not all(c in cleared for c in group):
        minutes = regulatory.cac_seconds(region, node.band, channel, width_mhz) / 60.0
        cost += minutes * (CAC_COST_PER_MINUTE + CAC_COST_PER_CLIENT_MINUTE * node.clients)
    return cost


def _current_group(region: Region, node: RadioNode) -> tuple[int, ...]:
    """The group the radio is on now (in service, so cleared); empty when off air or illegal."""
    if not node.config.enabled:
        return ()
    try:
        return regulatory.bonding_group(region, node.band, node.config.channel, node.config.width_mhz)
    except regulatory.RegulatoryError:
        return ()
