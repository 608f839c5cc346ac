"""TIP OpenWiFi RRM's default channel optimizer, ``unmanaged_aware``, as a slow-loop baseline.

As ``UnmanagedApAwareChannelOptimizer`` in Telecominfraproject/wlan-cloud-rrm does it
(rrm-landscape.md section 1), per band:

- Each radio's view of a channel is the weight ``W = D * N_unmanaged + M_managed`` (D = 2) over
  the BSSs its scan lists on that channel; a wide BSS is copied onto every 20 MHz channel it
  covers. On 2.4 GHz the BSSs within +-4 channels count (``OVERLAP_WINDOW = 4``).
- Managed neighbours count where they are assigned: radios already visited at their new
  channel, the others at their current one (TIP tracks the assignments it has made).
- Radios are visited in descending order of their scan-entry count (managed plus unmanaged
  BSSs heard), ties by radio id.
- A radio keeps its channel if nobody else is on it (W = 0 there); otherwise it takes a random
  (seeded) channel with W = 0, or, if there is none, the channel with the lowest W (ties: the
  lowest channel).
- Candidates are the fixed primary-channel tables for the radio's width (40 MHz
  {36, 44, ..., 157}; 80 MHz {36, 52, 100, 116, 132, 149}; 160 MHz {36, 100}; on 2.4 GHz the
  priority channels 1, 6, 11; 6 GHz, which TIP's tables do not cover, the first channel of each
  group), legal in the region and the radio's capabilities, and never a DFS channel: TIP removes
  DFS channels from the candidate list, so a radio on a DFS channel is moved off it.
- Width and power are kept (TIP's channel optimizer sets channels only).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from controller.slow_loop.interference_graph import InterferenceGraph, RadioNode
from controller.slow_loop.power_control import clamp_to_channel
from controller.slow_loop.site_plan import RadioAssignment, SitePlan, assignment_of
from radio_domain import regulatory
from radio_domain.radio import Band
from radio_domain.regulatory import Region

UNMANAGED_WEIGHT = 2  # DEFAULT_WEIGHT D
OVERLAP_WINDOW = 4
PRIORITY_CHANNELS_2G = (1, 6, 11)
PRIMARY_CHANNELS_5G: Mapping[int, tuple[int, ...]] = {
    40: (36, 44, 52, 60, 100, 108, 116, 124, 132, 140, 149, 157),
    80: (36, 52, 100, 116, 132, 149),
    160: (36, 100),
}


def tip_candidates(region: Region, node: RadioNode) -> tuple[int, ...]:
    """The primary channels TIP would consider for the radio at its current width."""
    width = node.config.width_mhz
    if node.band is Band.G2:
        table: tuple[int, ...] = PRIORITY_CHANNELS_2G
    elif node.band is Band.G5 and width in PRIMARY_CHANNELS_5G:
        table = PRIMARY_CHANNELS_5G[width]
    else:
        legal = regulatory.channels(region, node.band)
        table = tuple(c for c in legal if regulatory.is_legal(region, node.band, c, width))
        if node.band is Band.G6:
            table = tuple(c for c in table if regulatory.bonding_group(region, node.band, c, width)[0] == c)
    return tuple(
        c
        for c in table
        if c in node.capabilities.channels
        and regulatory.is_legal(region, node.band, c, width)
        and not regulatory.needs_dfs(region, node.band, c, width)
    )


def _covered(region: Region, band: Band, channel: int, width_mhz: int) -> tuple[int, ...]:
    try:
        return regulatory.bonding_group(region, band, channel, width_mhz)
    except regulatory.RegulatoryError:
        return (channel,)


def channel_weights(graph: InterferenceGraph, radio_id: str, placed: Mapping[str, RadioAssignment]) -> dict[int, int]:
    """W per 20 MHz channel as the radio's scan sees it (managed neighbours where ``placed`` puts them)."""
    node = graph.nodes[radio_id]
    weights: dict[int, int] = {}

    def add(channel: int, width_mhz: int, weight: int) -> None:
        for c in _covered(graph.region, node.band, channel, width_mhz):
            weights[c] = weights.get(c, 0) + weight

    for other, _ in graph.neighbours(radio_id):
        where = placed[other]
        add(where.channel, where.width_mhz, 1)
    for bss in graph.external_for(radio_id):
        add(bss.channel, bss.width_mhz, UNMANAGED_WEIGHT)
    return weights


def occupancy(node: RadioNode, weights: Mapping[int, int], channel: int) -> int:
    if node.band is Band.G2:
        return sum(w for c, w in weights.items() if abs(c - channel) <= OVERLAP_WINDOW)
    return weights.get(channel, 0)


class TipUnmanagedAware:
    """``SlowLoopPolicy`` "tip_unmanaged_aware" (module docstring)."""

    name = "tip_unmanaged_aware"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def propose(self, graph: InterferenceGraph, now: float) -> SitePlan:
        rng = np.random.default_rng(self.seed)
        placed = {r: assignment_of(n) for r, n in graph.nodes.items()}
        order = sorted(graph.nodes, key=lambda r: (-len(graph.neighbours(r)) - len(graph.external_for(r)), r))
        for radio_id in order:
            node = graph.nodes[radio_id]
            candidates = tip_candidates(graph.region, node) if node.capabilities.can_change_channel else ()
            if not candidates:
                continue
            weights = channel_weights(graph, radio_id, placed)
            current = node.config.channel
            if current in candidates and occupancy(node, weights, current) == 0:
                continue
            free = [c for c in candidates if occupancy(node, weights, c) == 0]
            if free:
                channel = free[int(rng.integers(len(free)))]
            else:
                channel = min(candidates, key=lambda c: (occupancy(node, weights, c), c))
            power = clamp_to_channel(graph.region, node, node.config.tx_power_dbm, channel, node.config.width_mhz)
            placed[radio_id] = RadioAssignment(channel, node.config.width_mhz, power)
        changed = sum(1 for r, a in placed.items() if a != assignment_of(graph.nodes[r]))
        return SitePlan(placed, self.name, f"TIP unmanaged_aware: {changed} radios change channel")
