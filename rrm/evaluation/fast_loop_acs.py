"""A one-shot ACS-like channel pick: hostapd's survey interference factor (src/ap/acs.c).

hostapd scores each channel from passive-scan surveys:
``factor = 10^(nf/5) + (busy - tx) / (active - tx) * 2^(10^(nf/10) - 10^(min_nf/10))``,
averaged over surveys; on 2.4 GHz channels 1, 6 and 11 get the bias x0.8
(``acs_chan_bias``); the lowest score wins; ACS runs at start-up only.

Here, for each radio in turn (APs boot one after another, each seeing the picks before it), every
legal non-DFS channel at the radio's current width is surveyed on a fork of the world: the radio
is put there, the world steps one ``survey_s``, and the radio's noise floor, CCA busy and own tx
airtime give the factor (``active`` is the whole interval, 1). Two simplifications, both noted in
the report: a chandef is scored by the survey of its whole bonded width rather than by summing
member 20 MHz factors, and the 2.4 GHz adjacent-channel weights are not added (the simulated CCA
already hears adjacent-channel energy). DFS channels are excluded (``acs_exclude_dfs``), as the
fast loop excludes them. Width and power stay as configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.sim.world import SimWorld
from radio_domain import regulatory
from radio_domain.radio import Band, ConfigChange

CHANNEL_BIAS_2G = {1: 0.8, 6: 0.8, 11: 0.8}
DEFAULT_SURVEY_S = 10.0


@dataclass(frozen=True, slots=True)
class AcsPick:
    radio_id: str
    channel: int
    width_mhz: int
    factor: float
    surveyed: dict[int, float]


def interference_factor(noise_floor_dbm: float, busy: float, tx: float, min_noise_floor_dbm: float) -> float:
    """hostapd's per-survey factor, with ``active`` = 1 (fractions of the interval)."""
    active = 1.0
    share = 0.0 if active - tx <= 0 else max(0.0, busy - tx) / (active - tx)
    return float(
        10.0 ** (noise_floor_dbm / 5.0)
        + share * 2.0 ** (10.0 ** (noise_floor_dbm / 10.0) - 10.0 ** (min_noise_floor_dbm / 10.0))
    )


def _survey(world: SimWorld, radio_id: str, survey_s: float) -> dict[int, tuple[float, float, float]]:
    """Channel -> (noise floor, busy, tx) of the radio on that channel, each on its own fork."""
    config = world.config(radio_id)
    band = world.radio(radio_id).band
    found: dict[int, tuple[float, float, float]] = {}
    for channel in regulatory.channels(world.region, band):
        width = config.width_mhz
        if not regulatory.is_legal(world.region, band, channel, width):
            continue
        if regulatory.needs_dfs(world.region, band, channel, width):
            continue
        fork = world.fork()
        if channel != config.channel:
            fork.apply(radio_id, ConfigChange(channel=channel))
        fork.step(survey_s)
        state = fork.radio_state(radio_id)
        found[channel] = (state.noise_floor_dbm, state.cca_busy, state.tx_airtime)
    return found


def acs_pick(world: SimWorld, radio_id: str, survey_s: float = DEFAULT_SURVEY_S) -> AcsPick | None:
    """The channel hostapd's ACS would pick for the radio in the world as it is; None without any."""
    survey = _survey(world, radio_id, survey_s)
    if not survey:
        return None
    band = world.radio(radio_id).band
    min_nf = min(nf for nf, _, _ in survey.values())
    scores = {}
    for channel, (nf, busy, tx) in survey.items():
        factor = interference_factor(nf, busy, tx, min_nf)
        if band is Band.G2:
            factor *= CHANNEL_BIAS_2G.get(channel, 1.0)
        scores[channel] = factor
    best = min(sorted(scores), key=lambda c: scores[c])
    return AcsPick(radio_id, best, world.config(radio_id).width_mhz, scores[best], scores)
