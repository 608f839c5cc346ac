"""Neighbour-RSSI transmit power control: the nth loudest neighbour should hear us at about -70 dBm.

Cisco TPCv1 sets ``Tx = Tx_max + (threshold - RSSI of the 3rd-loudest neighbour)`` with the
threshold at -70 dBm, lowering power only for a change of at least 6 dB and raising it for at
least 3 dB; TIP OpenWiFi's ``measure_ap_ap`` computes ``new = current + (threshold - RSSI_n)``
from the RSSIs at which other managed APs hear the radio, uses maximum power when no neighbour
hears it, and clamps to the allowed range (rrm-landscape.md section 1 and 3). Here: the RSSIs at
which the radio's managed neighbours hear it (path loss from the graph, so it is our power that
counts, not theirs), the ``nth``-loudest of them, ``new = current + (threshold - RSSI_n)``,
Cisco's hysteresis, whole dBm, clamped to the radio's capability and to a coverage floor; with
fewer than ``nth`` neighbours the radio goes to its maximum. The regulatory limit of the channel
the plan picks is applied afterwards (``clamp_to_channel``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.slow_loop.interference_graph import InterferenceGraph, RadioNode
from radio_domain import regulatory
from radio_domain.regulatory import Region


@dataclass(frozen=True, slots=True)
class PowerSettings:
    threshold_dbm: float = -70.0
    nth: int = 3  # Cisco: the 3rd-loudest neighbour
    lower_hysteresis_db: float = 6.0
    raise_hysteresis_db: float = 3.0
    floor_dbm: float = 8.0  # never below this for coverage (and never below the radio's minimum)

    def __post_init__(self) -> None:
        if self.nth < 1:
            raise ValueError(f"nth must be at least 1, not {self.nth}")


def heard_at_dbm(graph: InterferenceGraph, radio_id: str) -> list[float]:
    """The RSSIs at which the radio's managed neighbours hear it at its current power, loudest first."""
    node = graph.nodes[radio_id]
    found = []
    for other, rssi in graph.neighbours(radio_id):
        loss = graph.path_loss_db(radio_id, other)
        found.append(rssi if loss is None else node.config.tx_power_dbm - loss)
    return sorted(found, reverse=True)


def target_power_dbm(graph: InterferenceGraph, radio_id: str, settings: PowerSettings = PowerSettings()) -> float:
    """The power the radio should use (module docstring), before the channel's legal limit."""
    node = graph.nodes[radio_id]
    caps = node.capabilities
    current = float(node.config.tx_power_dbm)
    if not caps.can_change_tx_power:
        return current
    low = max(caps.min_tx_power_dbm, min(settings.floor_dbm, caps.max_tx_power_dbm))
    heard = heard_at_dbm(graph, radio_id)
    if len(heard) < settings.nth:
        wanted = caps.max_tx_power_dbm
    else:
        wanted = current + (settings.threshold_dbm - heard[settings.nth - 1])
    step = wanted - current
    if -settings.lower_hysteresis_db < step < settings.raise_hysteresis_db:
        return current
    return float(min(caps.max_tx_power_dbm, max(low, math.floor(wanted + 0.5))))


def clamp_to_channel(region: Region, node: RadioNode, power_dbm: float, channel: int, width_mhz: int) -> float:
    """``power_dbm`` lowered to the legal limit of (channel, width) and the radio's maximum, whole dBm."""
    limit = min(node.capabilities.max_tx_power_dbm, regulatory.max_tx_power_dbm(region, node.band, channel, width_mhz))
    return float(min(power_dbm, math.floor(limit)))
