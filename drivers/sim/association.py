"""Which radio each client joins: the best radio it can use over all its bands, with hysteresis.

A client hears a radio when the radio's beacon reaches it at the 20 MHz MCS 0 sensitivity
(−82 dBm, rf-model.md section 3) or more; it can use the radio when the radio is on air on one of
the client's bands and, for a client without DFS support, on channels that need no DFS. Among
those it joins the one with the best score, and stays with its current radio while that radio is
still heard and usable and no other scores at least ``hysteresis_db`` more (a simple model of
client roaming thresholds). A client whose radio stops operating moves at once.

The score is the beacon RSSI, plus a band preference for a client that can use several bands:
+8 dB for a 5 GHz and +10 dB for a 6 GHz radio heard at ≥ −70 dBm (our model). At equal EIRP the
5 GHz beacon arrives about 7 dB weaker than the 2.4 GHz one (the frequency term, rf-model 1.1)
while the wider, cleaner channel carries far more, so real dual-band clients prefer the higher
band while its link is good, and fall back to 2.4 GHz below about −70 dBm (the "move a 2G client
to 5/6G above −67 dBm" kind of threshold band steering uses, rrm-landscape.md). Single-band
clients compare plain RSSI. At equal EIRP and a good link the 5 GHz radio thus scores ~1 dB
above the 2.4 GHz one: a fresh client picks 5 GHz, but one that fell back to 2.4 GHz stays
there (inside the hysteresis), as sticky real clients do; that is what band steering is for.

A steered client is pinned to its target radio (drivers.sim.steering): it stays there while the
target is heard and usable, whatever the scores.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from drivers.sim.phy import ASSOCIATION_SENSITIVITY_DBM

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

ROAMING_HYSTERESIS_DB = 3.0
BAND_PREFERENCE_DB = np.array([0.0, 8.0, 10.0])
"""Score bonus of a 2.4, 5 and 6 GHz radio (band codes 0, 1, 2) for a client with several bands."""
BAND_PREFERENCE_MIN_RSSI_DBM = -70.0
"""The bonus applies only while the beacon is at least this strong."""


def band_preference_db(rssi_dbm: FloatArray, radio_band: IntArray, multi_band: BoolArray) -> FloatArray:
    """(clients, radios) score bonus: BAND_PREFERENCE_DB of the radio's band where it applies."""
    good = multi_band[:, None] & (rssi_dbm >= BAND_PREFERENCE_MIN_RSSI_DBM)
    return np.asarray(np.where(good, BAND_PREFERENCE_DB[radio_band][None, :], 0.0), dtype=np.float64)


def associate(
    rssi_dbm: FloatArray,
    usable: BoolArray,
    current: IntArray,
    bonus_db: FloatArray | None = None,
    pinned: IntArray | None = None,
    hysteresis_db: float = ROAMING_HYSTERESIS_DB,
) -> IntArray:
    """The radio each client uses next, or −1.

    Args:
        rssi_dbm: (clients, radios) beacon level of each radio at each client.
        usable: (clients, radios) the client is present and may use the radio (band, DFS, on air).
        current: each client's radio now, −1 for none.
        bonus_db: (clients, radios) added to the RSSI for the comparison (band_preference_db).
        pinned: each client's steering target, −1 for none; kept while heard and usable.
        hysteresis_db: how much better another radio must score before a client roams.
    """
    n_clients, n_radios = rssi_dbm.shape
    if n_radios == 0:
        return np.full(n_clients, -1, dtype=np.int64)
    heard = usable & (rssi_dbm >= ASSOCIATION_SENSITIVITY_DBM)
    score = np.where(heard, rssi_dbm if bonus_db is None else rssi_dbm + bonus_db, -np.inf)
    best = np.argmax(score, axis=1)
    rows = np.arange(n_clients)
    best_score = score[rows, best]
    has_current = current >= 0
    cur = np.where(has_current, current, 0)
    current_score = np.where(has_current, score[rows, cur], -np.inf)
    keep = np.isfinite(current_score) & (best_score < current_score + hysteresis_db)
    chosen = np.where(keep, cur, best)
    if pinned is not None:
        pin = np.where(pinned >= 0, pinned, 0)
        chosen = np.where((pinned >= 0) & heard[rows, pin], pin, chosen)
    return np.asarray(np.where(np.isfinite(score[rows, chosen]), chosen, -1), dtype=np.int64)


def departures(before: IntArray, after: IntArray, n_radios: int) -> IntArray:
    """Per radio, how many clients left it from one association to the next: moved to another
    radio, lost their link, or went away (RadioState.disassociations_total counts these)."""
    left = (before >= 0) & (after != before)
    return np.asarray(np.bincount(before[left], minlength=n_radios), dtype=np.int64)
