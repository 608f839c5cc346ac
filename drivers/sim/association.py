"""Which radio each client joins: the strongest operating radio on its band, with hysteresis.

A client hears a radio when the radio's beacon reaches it at the 20 MHz MCS 0 sensitivity
(−82 dBm, rf-model.md section 3) or more. It joins the strongest one, and stays with its current
radio while that radio is still heard and no other is at least ``hysteresis_db`` stronger (a
simple model of client roaming thresholds). A client whose radio stops operating moves at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from drivers.sim.phy import ASSOCIATION_SENSITIVITY_DBM

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

ROAMING_HYSTERESIS_DB = 3.0


def associate(
    rssi_dbm: FloatArray,
    eligible: BoolArray,
    current: IntArray,
    hysteresis_db: float = ROAMING_HYSTERESIS_DB,
) -> IntArray:
    """The radio each client uses next, or −1.

    Args:
        rssi_dbm: (clients, radios) beacon level of each radio at each client.
        eligible: (clients, radios) the radio operates on the client's band and the client is present.
        current: each client's radio now, −1 for none.
        hysteresis_db: how much stronger another radio must be before a client roams.
    """
    if rssi_dbm.shape[1] == 0:
        return np.full(rssi_dbm.shape[0], -1, dtype=np.int64)
    heard = eligible & (rssi_dbm >= ASSOCIATION_SENSITIVITY_DBM)
    level = np.where(heard, rssi_dbm, -np.inf)
    best = np.argmax(level, axis=1)
    rows = np.arange(level.shape[0])
    best_level = level[rows, best]
    has_current = current >= 0
    cur = np.where(has_current, current, 0)
    current_level = np.where(has_current, level[rows, cur], -np.inf)
    keep = np.isfinite(current_level) & (best_level < current_level + hysteresis_db)
    chosen = np.where(keep, cur, best)
    return np.asarray(np.where(np.isfinite(level[rows, chosen]), chosen, -1), dtype=np.int64)
