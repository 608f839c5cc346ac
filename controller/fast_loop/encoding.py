"""GP inputs: configuration plus load, encoded through a skopt ``Space``.

Dimensions, per (region, band):

- ``channel``: ``Categorical`` over every legal channel of the band, one-hot (skopt's encoder). The
  encoding covers the whole legal set, not only the safe zone, so observations made before a zone
  changed still encode;
- ``tx_power_dbm``: ``Real(0, 30)`` normalised. The candidates are categorical steps (the ladder),
  but power is an ordered quantity: encoded ordinally the GP can learn that 17 dBm lies between
  14 and 20, and an off-ladder power an operator set still encodes;
- ``width_level``: ``Integer(0, 3)`` normalised, log2(width / 20): 20, 40, 80, 160 MHz are
  0, 1, 2, 3, again ordered;
- ``obss_pd_dbm``: ``Integer(-82, -62)`` normalised;
- ``load``: ``Real(0, 1)`` normalised, the context (reward.load_index).

``groups`` names the original dimension of each encoded column; the kernel has one length scale
per group (surrogate.GroupedMatern), 5 instead of 29 for 5 GHz FCC. Encoding is vectorised:
each dimension transforms its distinct values once through skopt and the rows are gathered, so a
thousand candidates encode in well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from skopt.space import Categorical, Integer, Real, Space

from radio_domain.radio import OBSS_PD_MAX_DBM, OBSS_PD_OFF_DBM, Band, RadioConfig
from radio_domain.regulatory import Region, channels

TX_POWER_RANGE_DBM = (0.0, 30.0)
WIDTH_LEVELS = {20: 0, 40: 1, 80: 2, 160: 3}
FloatArray = npt.NDArray[np.float64]


class EncodingError(ValueError):
    """A configuration the space cannot encode (a channel not legal in the region, a bad width)."""


@dataclass(frozen=True, slots=True)
class ConfigEncoder:
    space: Space
    channel_index: dict[int, int]
    channel_onehot: FloatArray
    groups: tuple[int, ...]

    @property
    def n_columns(self) -> int:
        return len(self.groups)

    def encode(
        self,
        channel: npt.ArrayLike,
        width_mhz: npt.ArrayLike,
        tx_power_dbm: npt.ArrayLike,
        obss_pd_dbm: npt.ArrayLike,
        load: npt.ArrayLike,
    ) -> FloatArray:
        """Rows of GP inputs; ``load`` may be one value for every row."""
        ch = np.asarray(channel, dtype=np.int64).ravel()
        n = ch.size
        try:
            ch_rows = np.fromiter((self.channel_index[int(c)] for c in ch), dtype=np.int64, count=n)
            levels = np.fromiter((WIDTH_LEVELS[int(w)] for w in np.asarray(width_mhz).ravel()), np.int64, count=n)
        except KeyError as exc:
            raise EncodingError(f"cannot encode channel or width {exc.args[0]} on this band") from None
        _, d_power, d_width, d_obss, d_load = self.space.dimensions
        power = np.clip(np.asarray(tx_power_dbm, dtype=np.float64).ravel(), *TX_POWER_RANGE_DBM)
        obss = np.clip(np.asarray(obss_pd_dbm, dtype=np.int64).ravel(), OBSS_PD_OFF_DBM, OBSS_PD_MAX_DBM)
        ld = np.broadcast_to(np.clip(np.asarray(load, dtype=np.float64).ravel(), 0.0, 1.0), (n,))
        out = np.empty((n, self.n_columns), dtype=np.float64)
        k = self.channel_onehot.shape[1]
        out[:, :k] = self.channel_onehot[ch_rows]
        out[:, k] = np.asarray(d_power.transform(power), dtype=np.float64)
        out[:, k + 1] = np.asarray(d_width.transform(levels), dtype=np.float64)
        out[:, k + 2] = np.asarray(d_obss.transform(obss), dtype=np.float64)
        out[:, k + 3] = np.asarray(d_load.transform(ld), dtype=np.float64)
        return out

    def encode_configs(self, configs: list[RadioConfig], loads: npt.ArrayLike) -> FloatArray:
        return self.encode(
            [c.channel for c in configs],
            [c.width_mhz for c in configs],
            [c.tx_power_dbm for c in configs],
            [c.obss_pd_dbm for c in configs],
            loads,
        )


@lru_cache(maxsize=16)
def config_encoder(region: Region, band: Band) -> ConfigEncoder:
    """The encoder of a band's configurations in a region (cached, shared by every radio)."""
    legal = list(channels(region, band))
    d_channel = Categorical(legal, name="channel")
    space = Space(
        [
            d_channel,
            Real(*TX_POWER_RANGE_DBM, transform="normalize", name="tx_power_dbm"),
            Integer(0, 3, transform="normalize", name="width_level"),
            Integer(OBSS_PD_OFF_DBM, OBSS_PD_MAX_DBM, transform="normalize", name="obss_pd_dbm"),
            Real(0.0, 1.0, transform="normalize", name="load"),
        ]
    )
    onehot = np.asarray(d_channel.transform(legal), dtype=np.float64).reshape(len(legal), -1)
    onehot.setflags(write=False)
    groups = (0,) * onehot.shape[1] + (1, 2, 3, 4)
    return ConfigEncoder(space, {c: i for i, c in enumerate(legal)}, onehot, groups)
