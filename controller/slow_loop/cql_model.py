"""The trained conservative Q function of the slow loop, its pessimistic bounds, and its file.

``Q(s, A) = w_s . x(s) + sum over the moves a in A of q(s, a)``, ``q(s, a) = w_m . z(s, a)`` with
``x`` the state features and ``z`` the move features (move_features.py) divided by a fixed
per-column scale; a no-op has ``z = 0``, so ``q`` is a move's value over doing nothing.

Pessimism, two kinds: the weights were fitted with the CQL regulariser (cql_training.py), and
each move's value has an uncertainty ``sigma(z) = residual_std * sqrt(z' P z)`` with ``P`` the
inverse of the regularised Gram matrix of the moves in the data: large for moves unlike any the
data holds (a count-based bonus turned penalty, as in LinUCB/PEVI). ``lower_bounds`` is
``q - pessimism * sigma``: the conservative value the safe policy acts on.

``held_out_check`` is the verdict of the check after training (held_out_check.py): without a
passed one the safe-RL policy makes the heuristic's plans only.

The file is one ``.npz``: weights, scales, ``P``, the residual std, the pessimism, the feature
names and the held-out check, if any; loading refuses a file made for other features or with an
unreadable check (``ModelFileError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from controller.slow_loop.held_out_check import HeldOutCheck, HeldOutCheckError
from controller.slow_loop.move_features import MOVE_FEATURES, N_MOVE_FEATURES, N_STATE_FEATURES, STATE_FEATURES
from controller.slow_loop.npz_with_meta import read_npz_with_meta, write_npz_with_meta

FORMAT = "rrm-slow-loop-cql"
VERSION = 1
FloatArray = npt.NDArray[np.float64]


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class ConservativeQ:
    state_weights: FloatArray  # (N_STATE_FEATURES,)
    move_weights: FloatArray  # (N_MOVE_FEATURES,), on scaled move features
    move_scale: FloatArray  # (N_MOVE_FEATURES,), divides raw move features
    move_precision: FloatArray  # (N_MOVE_FEATURES, N_MOVE_FEATURES), P
    residual_std: float
    pessimism: float
    gamma: float
    trained_on: str = ""
    held_out_check: HeldOutCheck | None = None

    def scaled(self, move_features: FloatArray) -> FloatArray:
        return np.asarray(move_features, dtype=np.float64).reshape(-1, N_MOVE_FEATURES) / self.move_scale

    def values(self, move_features: FloatArray) -> FloatArray:
        """Point estimates of ``q`` for rows of raw move features."""
        return np.asarray(self.scaled(move_features) @ self.move_weights, dtype=np.float64)

    def uncertainties(self, move_features: FloatArray) -> FloatArray:
        """``sigma`` for rows of raw move features (module docstring)."""
        z = self.scaled(move_features)
        spread = np.einsum("ij,jk,ik->i", z, self.move_precision, z)
        return np.asarray(self.residual_std * np.sqrt(np.maximum(spread, 0.0)), dtype=np.float64)

    def lower_bounds(self, move_features: FloatArray) -> FloatArray:
        """Conservative move values: ``q - pessimism * sigma``."""
        return self.values(move_features) - self.pessimism * self.uncertainties(move_features)

    def state_value(self, state_features: FloatArray) -> float:
        return float(np.asarray(state_features, dtype=np.float64).reshape(N_STATE_FEATURES) @ self.state_weights)

    def save(self, path: str | Path) -> None:
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "state_features": list(STATE_FEATURES),
            "move_features": list(MOVE_FEATURES),
            "residual_std": self.residual_std,
            "pessimism": self.pessimism,
            "gamma": self.gamma,
            "trained_on": self.trained_on,
            "held_out_check": None if self.held_out_check is None else self.held_out_check.to_meta(),
        }
        arrays = {
            "state_weights": self.state_weights,
            "move_weights": self.move_weights,
            "move_scale": self.move_scale,
            "move_precision": self.move_precision,
        }
        write_npz_with_meta(path, meta, arrays)

    @staticmethod
    def load(path: str | Path) -> ConservativeQ:
        """Read a model written by ``save``; raises ModelFileError naming the file otherwise."""
        try:
            meta, raw = read_npz_with_meta(path)
            arrays = {k: a.astype(np.float64) for k, a in raw.items()}
        except (OSError, KeyError, ValueError) as exc:
            raise ModelFileError(f"{path}: not a slow-loop model file: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise ModelFileError(f"{path}: not a {FORMAT} version {VERSION} file")
        if meta.get("state_features") != list(STATE_FEATURES) or meta.get("move_features") != list(MOVE_FEATURES):
            raise ModelFileError(f"{path}: trained on other features than this version computes; train it again")
        check = meta.get("held_out_check")
        try:
            held_out_check = None if check is None else HeldOutCheck.from_meta(check)
        except HeldOutCheckError as exc:
            raise ModelFileError(f"{path}: {exc}") from None
        return ConservativeQ(
            state_weights=arrays["state_weights"],
            move_weights=arrays["move_weights"],
            move_scale=arrays["move_scale"],
            move_precision=arrays["move_precision"],
            residual_std=float(meta["residual_std"]),
            pessimism=float(meta["pessimism"]),
            gamma=float(meta["gamma"]),
            trained_on=str(meta.get("trained_on", "")),
            held_out_check=held_out_check,
        )
