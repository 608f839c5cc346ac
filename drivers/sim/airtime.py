"""Carrier sense and airtime: who defers to whom, and how the medium is shared.

Contention graph (rf-model.md section 4 rule of thumb): receiver i defers to transmitter j when
the power of j at i's AP after the spectral overlap, P_j(i)·α_ij, reaches the CCA threshold:

    * j occupies i's primary 20 MHz channel: preamble detect at −82 dBm; when i runs OBSS-PD
      (obss_pd_dbm > −82) its OBSS-PD level instead, +3 dB per doubling of j's width (inter-BSS
      frames from other APs are what spatial reuse may ignore);
    * otherwise (partial overlap, adjacent leakage, secondary channels): energy detect at −62 dBm.

The graph is directed: i may defer to j while j does not hear i.

Airtime sharing (our model, after rf-model 6 "multi-BSS airtime sharing"): radio i needs
need_i = Σ demand/(rate·MAC efficiency·(1 − PER)) of the medium. Its medium has avail_i left after
non-Wi-Fi sources it senses (each removes its duty cycle, rf-model 7) and unmanaged neighbour
BSSs it defers to (they take their duty cycle). Within i's contention neighbourhood the medium is
shared max-min fairly, as CSMA/CA gives every contender the same access: in i's neighbourhood
({i} and every j that i defers to) the level L_i solves Σ_k min(need_k, L_i) = avail_i, and
share_i = min(need_i, L_i), so a light user gets all it needs and saturated ones split the rest
equally. A radio then takes at least that share and at most its need, plus whatever its neighbours leave
unused: a_i = min(need_i, c_i) with capacity c_i = max(share_i, avail_i − Σ_j D_ij·a_j), solved by
a few damped fixed-point iterations and a final undamped pass (so a_i ≤ c_i always holds). The
sum over neighbours makes a radio that hears two BSSs which do not hear each other the loser
(the "flow in the middle" starvation of CSMA, rf-model 6 item 3). Inside one BSS, the radio's
airtime is water-filled over its clients (equal airtime, no client above its own need; rf-model 6,
item 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.sim.spectrum import to_db
from radio_domain.radio import OBSS_PD_OFF_DBM

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

PREAMBLE_DETECT_DBM = -82.0
ENERGY_DETECT_DBM = -62.0
OBSS_PD_TX_POWER_REF_DBM = 21.0
MAC_EFFICIENCY = 0.7
"""Saturated single-BSS MAC throughput / PHY rate with aggregation (rf-model 6 rule of thumb)."""
BEACON_AIRTIME = 0.01
"""Management overhead of an operating radio (beacons), our estimate."""
_ITERATIONS = 12


def obss_pd_tx_power_cap_dbm(obss_pd_dbm: FloatArray) -> FloatArray:
    """TX_PWRmax = 21 − (OBSS_PD + 82) dBm when OBSS-PD is above its minimum, else no cap (rf-model 4)."""
    cap = OBSS_PD_TX_POWER_REF_DBM - (obss_pd_dbm - OBSS_PD_OFF_DBM)
    return np.asarray(np.where(obss_pd_dbm > OBSS_PD_OFF_DBM, cap, np.inf), dtype=np.float64)


def defer_matrix(
    power_dbm: FloatArray,
    alpha: FloatArray,
    shares_primary: BoolArray,
    rx_obss_pd_dbm: FloatArray,
    tx_width_mhz: FloatArray,
    tx_active: BoolArray,
) -> BoolArray:
    """D[i, j]: receiver i defers to transmitter j (rf-model 4).

    Args:
        power_dbm: P_j(i), power of transmitter j at receiver i, shape (receivers, transmitters).
        alpha: spectral overlap α_ij (rf-model 5), same shape.
        shares_primary: whether j's occupied channels contain i's primary 20 MHz channel.
        rx_obss_pd_dbm: each receiver's OBSS-PD level (−82 = off).
        tx_width_mhz: each transmitter's width.
        tx_active: whether each transmitter is on air at all.
    """
    sensed = power_dbm + to_db(alpha)
    width_steps = np.log2(tx_width_mhz / 20.0)[None, :]
    obss = rx_obss_pd_dbm[:, None]
    pd = np.where(obss > OBSS_PD_OFF_DBM, obss + 3.0 * width_steps, PREAMBLE_DETECT_DBM)
    threshold = np.where(shares_primary, pd, ENERGY_DETECT_DBM)
    return np.asarray((sensed >= threshold) & tx_active[None, :] & (alpha > 0), dtype=np.bool_)


def _fair_level(need: FloatArray, avail: FloatArray, d: FloatArray) -> FloatArray:
    """Per radio, the max-min fair level L_i of its neighbourhood: Σ_{k ∈ {i} ∪ N(i)} min(need_k, L_i) = avail_i."""
    members = d + np.eye(need.size)
    low = np.zeros(need.size)
    high = np.maximum(avail, 0.0)
    for _ in range(30):
        level = 0.5 * (low + high)
        used = (members * np.minimum(need[None, :], level[:, None])).sum(axis=1)
        too_much = used > avail
        high = np.where(too_much, level, high)
        low = np.where(too_much, low, level)
    return np.asarray(np.where((members * need[None, :]).sum(axis=1) <= avail, np.inf, low), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class AirtimeShares:
    airtime: FloatArray
    """Airtime each transmitter uses."""
    capacity: FloatArray
    """Airtime each could get if it needed more: max(its share, what its neighbours leave)."""


def share_airtime(need: FloatArray, avail: FloatArray, defers: BoolArray, fixed: FloatArray) -> AirtimeShares:
    """Airtime per transmitter from needs, available medium and the defer graph (module docstring).

    Args:
        need: airtime each transmitter would use if alone, any non-negative value.
        avail: fraction of the medium each has after non-Wi-Fi sources.
        defers: D[i, j], i defers to j.
        fixed: NaN for transmitters that share; otherwise the airtime they take regardless
            (unmanaged neighbour BSSs, their duty cycle).
    """
    is_fixed = ~np.isnan(fixed)
    fixed_value = np.where(is_fixed, np.nan_to_num(fixed), 0.0)
    d = defers.astype(np.float64)
    np.fill_diagonal(d, 0.0)
    avail = np.clip(avail - d @ fixed_value, 0.0, None)  # unmanaged BSSs take their duty regardless
    d = d * (~is_fixed)[None, :]
    need = np.where(is_fixed, 0.0, np.minimum(need, avail))
    share = np.minimum(need, _fair_level(need, avail, d))
    airtime = share.copy()
    for _ in range(_ITERATIONS):
        leftover = avail - d @ airtime
        target = np.minimum(need, np.maximum(share, leftover))
        airtime = 0.5 * airtime + 0.5 * target
    capacity = np.where(is_fixed, fixed_value, np.maximum(share, avail - d @ airtime))
    airtime = np.where(is_fixed, fixed_value, np.minimum(need, capacity))
    return AirtimeShares(
        airtime=np.asarray(np.clip(airtime, 0.0, 1.0), dtype=np.float64),
        capacity=np.asarray(np.clip(capacity, 0.0, 1.0), dtype=np.float64),
    )


@dataclass(frozen=True, slots=True)
class WaterFill:
    allocation: FloatArray
    """Each member's share (0 for members of group −1)."""
    level: FloatArray
    """Each group's water level: the most any member gets; inf when every need is met."""


def water_fill(group: IntArray, need: FloatArray, budget: FloatArray) -> WaterFill:
    """Split each group's budget over its members: equal shares, none above its need.

    Args:
        group: group index of each member (e.g. the serving radio of each client), −1 for none.
        need: each member's need.
        budget: each group's budget, indexed by group.
    """
    alloc = np.zeros(need.size)
    member = group >= 0
    if not member.any():
        return WaterFill(alloc, np.full(budget.size, np.inf))
    g = group[member]
    n = need[member]
    total_need = np.bincount(g, weights=n, minlength=budget.size)
    low = np.zeros(budget.size)
    high = np.maximum(budget, 0.0)
    for _ in range(40):  # bisection on each group's water level
        level = 0.5 * (low + high)
        used = np.bincount(g, weights=np.minimum(n, level[g]), minlength=budget.size)
        too_much = used > budget
        high = np.where(too_much, level, high)
        low = np.where(too_much, low, level)
    level = np.where(total_need <= budget, np.inf, low)
    alloc[member] = np.minimum(n, level[g])
    return WaterFill(alloc, level)
