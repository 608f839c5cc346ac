"""Fixed-size numbers for a site (state features) and for one radio's move (move features).

The safe-RL agent's Q function is linear in these (cql_agent.py), so each feature is a quantity
whose effect on client QoE is roughly proportional: the change of each term of the slow loop's
objective (site_plan.plan_cost) that the move causes, plus what the objective does not see:
the clients that follow a channel move, the minutes of CAC darkness weighted by clients, the
width and power steps, co-channel neighbours gained or lost. A no-op has every move feature 0,
so its value is the state's alone. The state features summarise the whole graph (the objective
per radio, load, how many radios are dark or share a channel with a strong neighbour).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from controller.slow_loop.dfs_cost import dfs_cost
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_candidates import Move, local_cost
from controller.slow_loop.site_plan import RadioAssignment, assignment_of, plan_cost, radio_cost
from controller.slow_loop.spectral_overlap import victim_fraction
from radio_domain import regulatory

FloatArray = npt.NDArray[np.float64]

MOVE_FEATURES = (
    "d_coupling_cost",  # change of the objective's coupling terms with the radio's neighbours, /10
    "d_radio_cost",  # change of the radio's own non-DFS terms (unmanaged BSSs, capacity, coverage), /10
    "d_dfs_cost",  # change of the DFS term (CAC, radar history, clients without DFS), /10
    "d_log_local_cost",  # log of the local objective after over before
    "channel_move",  # 1 when channel or width changes (clients see a switch)
    "clients_moved",  # clients on the radio when it switches, /10
    "cac_client_minutes",  # minutes dark in a CAC times (clients + 1), /10
    "width_log2_ratio",
    "power_step",  # dB / 3
    "power_step_clients",  # dB / 3 times clients / 10
    "d_strong_cochannel",  # co-channel neighbours heard above -82 dBm, after minus before
    "d_on_dfs",  # 1 onto a DFS group, -1 off one
    "busy_channel_move",  # the radio's utilisation when it switches
)
STATE_FEATURES = (
    "bias",
    "cost_per_radio",  # plan_cost / radios / 10
    "utilisation",  # mean over radios
    "clients_per_radio",  # / 10
    "dark_fraction",  # radios not on air (CAC, failed)
    "shared_fraction",  # radios with a strong co-channel neighbour
)
N_MOVE_FEATURES = len(MOVE_FEATURES)
N_STATE_FEATURES = len(STATE_FEATURES)
STRONG_DBM = -82.0
_COST_SCALE = 10.0
_CLIENT_SCALE = 10.0
_POWER_SCALE = 3.0


def move_features(graph: InterferenceGraph, move: Move, now: float) -> FloatArray:
    """The move features of ``move`` on ``graph`` (module docstring), finite."""
    node = graph.nodes[move.radio_id]
    region, band = graph.region, node.band
    before, after = assignment_of(node), move.assignment
    d_dfs = _finite(dfs_cost(region, node, after.channel, after.width_mhz, now)) - _finite(
        dfs_cost(region, node, before.channel, before.width_mhz, now)
    )
    own_before = _finite(radio_cost(graph, move.radio_id, before, now))
    own_after = _finite(radio_cost(graph, move.radio_id, after, now))
    local_before = _finite(local_cost(graph, move.radio_id, before, now))
    local_after = _finite(local_cost(graph, move.radio_id, after, now))
    d_own = own_after - own_before
    d_coupling = (local_after - own_after) - (local_before - own_before)
    switch = float((after.channel, after.width_mhz) != (before.channel, before.width_mhz))
    cac_minutes = _cac_minutes(graph, move) if switch else 0.0
    power_step = (after.tx_power_dbm - before.tx_power_dbm) / _POWER_SCALE
    clients = node.clients / _CLIENT_SCALE
    dfs_after = regulatory.needs_dfs(region, band, after.channel, after.width_mhz)
    dfs_before = regulatory.needs_dfs(region, band, before.channel, before.width_mhz)
    values = (
        d_coupling / _COST_SCALE,
        (d_own - d_dfs) / _COST_SCALE,
        d_dfs / _COST_SCALE,
        math.log1p(local_after) - math.log1p(local_before),
        switch,
        switch * clients,
        cac_minutes * (node.clients + 1) / _CLIENT_SCALE,
        math.log2(after.width_mhz / before.width_mhz),
        power_step,
        power_step * clients,
        float(_strong_cochannel(graph, move.radio_id, after) - _strong_cochannel(graph, move.radio_id, before)),
        float(dfs_after) - float(dfs_before),
        switch * node.utilisation,
    )
    return np.asarray(values, dtype=np.float64)


def state_features(graph: InterferenceGraph, now: float) -> FloatArray:
    """The state features of the whole graph (module docstring)."""
    nodes = list(graph.nodes.values())
    n = max(1, len(nodes))
    cost = _finite(plan_cost(graph, {}, now))
    shared = sum(1 for r in graph.nodes if _strong_cochannel(graph, r, assignment_of(graph.nodes[r])) > 0)
    values = (
        1.0,
        cost / n / _COST_SCALE,
        sum(x.utilisation for x in nodes) / n,
        sum(x.clients for x in nodes) / n / _CLIENT_SCALE,
        sum(1 for x in nodes if not x.config.enabled) / n,
        shared / n,
    )
    return np.asarray(values, dtype=np.float64)


def _strong_cochannel(graph: InterferenceGraph, radio_id: str, assignment: RadioAssignment) -> int:
    node = graph.nodes[radio_id]
    mine = (assignment.channel, assignment.width_mhz)
    count = 0
    for other, rssi in graph.neighbours(radio_id):
        theirs = graph.nodes[other].config
        if (
            rssi >= STRONG_DBM
            and victim_fraction(graph.region, node.band, mine, (theirs.channel, theirs.width_mhz)) >= 0.5
        ):
            count += 1
    return count


def _cac_minutes(graph: InterferenceGraph, move: Move) -> float:
    node = graph.nodes[move.radio_id]
    a = move.assignment
    seconds = regulatory.cac_seconds(graph.region, node.band, a.channel, a.width_mhz)
    if seconds <= 0.0:
        return 0.0
    group = regulatory.bonding_group(graph.region, node.band, a.channel, a.width_mhz)
    return 0.0 if all(c in node.cleared_channels for c in group) else seconds / 60.0


def _finite(value: float, cap: float = 1e6) -> float:
    return cap if math.isinf(value) else value
