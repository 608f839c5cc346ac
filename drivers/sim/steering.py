"""802.11v BSS transition management in the simulated world, like hostapd's ``BSS_TM_REQ``.

An AP asks one of its clients to roam to a target radio. The client answers:
    * IGNORED when it does not support BTM, or the target is off air (failed, in a CAC), not on a
      band it can use (or on DFS channels and the client has no DFS), or the target's beacon
      reaches it below the association sensitivity (−82 dBm);
    * otherwise MOVED with probability BTM_COMPLIANCE, drawn per request from the world's one
      generator (so the same seed and the same calls give the same answers), else REJECTED.
      Real clients honour most but not all BTM requests (rrm-landscape.md: "802.11v ignored",
      BSS-TM rejections); 85 % is our figure.

A client that accepts roams at the next world step, and is pinned to the target for
STEERING_PIN_S of world time from the request: every step that starts before the pin runs out
keeps it on the target while the link there stays heard and usable, instead of moving it back by
the usual rule (so a long step right after the request still carries out the roam). The pin ends
when it runs out, or as soon as the client is not on the target after a step (the link there was
lost); from then on the normal association rule applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.protocol import SteeringOutcome
from drivers.sim.airtime import obss_pd_tx_power_cap_dbm
from drivers.sim.phy import ASSOCIATION_SENSITIVITY_DBM
from drivers.sim.propagation import frequency_term_db
from drivers.sim.sim_radio import SimRadio
from drivers.sim.transmitter_table import radio_spectrum, radios_on_dfs
from drivers.sim.world_layout import BAND_CODES, ClientTable
from radio_domain.regulatory import Region

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

STEERING_PIN_S = 120.0
BTM_COMPLIANCE = 0.85


@dataclass
class SteeringPins:
    """Per client: the radio it was steered to (−1 for none) and until when it stays there."""

    radio: IntArray
    until: FloatArray

    @staticmethod
    def none(n_clients: int) -> SteeringPins:
        return SteeringPins(np.full(n_clients, -1, dtype=np.int64), np.zeros(n_clients))

    def pin(self, client: int, radio: int, until: float) -> None:
        self.radio[client] = radio
        self.until[client] = until

    def active(self, now: float) -> IntArray:
        """Each client's target while its pin holds at ``now``, else −1."""
        return np.asarray(np.where(self.until > now, self.radio, -1), dtype=np.int64)

    def settle(self, serving: IntArray, now: float) -> None:
        """After a step: drop pins that expired or whose client is not on its target."""
        stale = (self.radio >= 0) & ((self.until <= now) | (serving != self.radio))
        self.radio[stale] = -1


def beacon_level_dbm(region: Region, radio: SimRadio, loss_db: float) -> float:
    """The radio's beacon at a client ``loss_db`` away (geometric loss plus shadowing), as the
    evaluation computes it (rf-model.md 1.1, OBSS-PD power cap included)."""
    s = radio.setting
    _, low, high = radio_spectrum(region, radio.band, s.channel, s.width_mhz)
    cap = float(obss_pd_tx_power_cap_dbm(np.array([float(s.obss_pd_dbm)]))[0])
    return min(s.tx_power_dbm, cap) - float(frequency_term_db((low + high) / 2.0)) - loss_db


def answer_btm_request(
    region: Region,
    client: int,
    clients: ClientTable,
    target: SimRadio,
    loss_db: float,
    rng: np.random.Generator,
) -> SteeringOutcome:
    """The client's answer to a request to roam to ``target`` (module docstring); draws only
    when the request could be honoured."""
    if not clients.supports_btm[client] or not target.operating:
        return SteeringOutcome.IGNORED
    if not clients.bands[client, BAND_CODES[target.band]]:
        return SteeringOutcome.IGNORED
    if not clients.supports_dfs[client] and radios_on_dfs(region, [target])[0]:
        return SteeringOutcome.IGNORED
    if beacon_level_dbm(region, target, loss_db) < ASSOCIATION_SENSITIVITY_DBM:
        return SteeringOutcome.IGNORED
    return SteeringOutcome.MOVED if rng.random() < BTM_COMPLIANCE else SteeringOutcome.REJECTED
