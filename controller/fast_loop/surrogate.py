"""The GP surrogate: skopt's GaussianProcessRegressor, Matern nu=2.5 with one length scale per group.

Kernel: ``amplitude * GroupedMatern(nu=2.5) + WhiteKernel(noise)``. ``GroupedMatern`` is skopt's
Matern applied with the length scale of each column's group (encoding.ConfigEncoder.groups): the
channel's one-hot columns share one length scale, so the fit searches 7 hyperparameters instead
of skopt's default 35 ARD ones (../shared/facts/performance.md: 0.42 s at 200 points with grouped
scales against 10 s for default skopt).

Two fits, because hyperparameter search is what made default skopt's ``tell`` cost 1-13 s:

- ``fit_hyperparameters`` (marginal-likelihood L-BFGS from the previous optimum, no restarts) runs
  only when the optimiser's schedule says so (history.HyperSchedule: the window has grown by half
  since the last fit, or 50 tells have passed);
- ``Posterior.fit`` refits with the hyperparameters fixed (``optimizer=None``): a 200x200 kernel
  and its Cholesky factor, ~2-3 ms.

Bounds keep the model honest where data is thin. Length scales are at most 2 on the normalised
ordinal inputs (5 for the channel): marginal likelihood on a handful of configs readily says
"reward does not depend on power at all", which made moves look safe that were not. The
amplitude is at least 0.1^2 reward units^2:
a radio whose window holds only its current config (every reward alike) would otherwise conclude
that nothing else could be different and pass every candidate as safe. The targets are centred on
the window's mean reward (the prior mean), not scaled by their spread, for the same reason.

``Posterior.predict`` returns the latent mean and standard deviation (observation noise removed,
as skopt does after fitting) and the covariance with a reference row, so the optimiser can judge
the gain over the current config with its exact uncertainty.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

FloatArray = npt.NDArray[np.float64]
AMPLITUDE_BOUNDS = (0.01, 1.0)
NOISE_BOUNDS = (1e-5, 0.05)
LENGTH_SCALE_BOUNDS = ((0.3, 5.0), (0.05, 2.0), (0.05, 2.0), (0.05, 2.0), (0.05, 2.0))
JITTER = 1e-8
REWARD_MAX = 1.0  # reward = QoE (at most 1) - penalties (at least 0)


class GroupedMatern(Matern):  # type: ignore[misc]  # skopt ships no type information
    """Matern kernel whose length scales are shared within groups of input columns."""

    def __init__(
        self,
        length_scale: tuple[float, ...] = (1.0,),
        length_scale_bounds: Any = (1e-2, 1e2),
        nu: float = 2.5,
        groups: tuple[int, ...] = (0,),
    ) -> None:
        super().__init__(length_scale=length_scale, length_scale_bounds=length_scale_bounds, nu=nu)
        self.groups = groups

    @property
    def anisotropic(self) -> bool:
        return True

    def _columns(self) -> Matern:
        scales = np.asarray(self.length_scale, dtype=np.float64)[np.asarray(self.groups)]
        return Matern(length_scale=scales, nu=self.nu)

    def __call__(self, x: Any, y: Any = None, eval_gradient: bool = False) -> Any:
        inner = self._columns()
        if not eval_gradient:
            return inner(x, y)
        k, gradient = inner(x, y, eval_gradient=True)
        if self.hyperparameter_length_scale.fixed:
            return k, np.empty((k.shape[0], k.shape[1], 0))
        member = np.zeros((len(self.groups), len(self.length_scale)))
        member[np.arange(len(self.groups)), np.asarray(self.groups)] = 1.0
        return k, gradient @ member  # d/dlog(l_g) sums the columns of the group


@dataclass(frozen=True, slots=True)
class Hyperparameters:
    """Kernel hyperparameters in reward units; plain numbers, persisted as JSON."""

    amplitude: float = 0.01  # prior sd 0.1 reward units, the lower bound
    # channel, power, width, obss, load; on inputs normalised to [0, 1]. The prior, until the first
    # fit: one 3 dB power step moves the reward little, a channel change a lot, and so may one width
    # level (0.5: dips of 0.2-0.28 measured from 40 -> 20 MHz) and a few dB of OBSS-PD (0.2 = 4 dB:
    # dips of 0.17 from one 4 dB step), until observations show otherwise.
    length_scales: tuple[float, ...] = (2.0, 0.5, 0.5, 0.2, 1.0)
    noise: float = 1e-3

    def kernel(self, groups: tuple[int, ...], fixed: bool) -> Any:
        bounds: Any = "fixed" if fixed else np.asarray(LENGTH_SCALE_BOUNDS[: len(self.length_scales)])
        signal = ConstantKernel(self.amplitude, "fixed" if fixed else AMPLITUDE_BOUNDS) * GroupedMatern(
            length_scale=self.length_scales, length_scale_bounds=bounds, nu=2.5, groups=groups
        )
        return signal + WhiteKernel(self.noise, "fixed" if fixed else NOISE_BOUNDS)

    def to_json(self) -> dict[str, Any]:
        return {"amplitude": self.amplitude, "length_scales": list(self.length_scales), "noise": self.noise}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Hyperparameters:
        return Hyperparameters(
            amplitude=float(data["amplitude"]),
            length_scales=tuple(float(v) for v in data["length_scales"]),
            noise=float(data["noise"]),
        )


def _regressor(kernel: Any, optimizer: str | None, seed: int) -> Any:
    return GaussianProcessRegressor(
        kernel=kernel, alpha=JITTER, optimizer=optimizer, n_restarts_optimizer=0, noise="gaussian", random_state=seed
    )


def fit_hyperparameters(
    features: FloatArray, rewards: FloatArray, groups: tuple[int, ...], start: Hyperparameters, seed: int
) -> Hyperparameters:
    """Marginal-likelihood hyperparameters for the window, searched from ``start``."""
    gp = _regressor(start.kernel(groups, fixed=False), "fmin_l_bfgs_b", seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "close to the bound" and L-BFGS convergence notes
        gp.fit(features, rewards - rewards.mean())
    signal = gp.kernel_.k1
    return Hyperparameters(
        amplitude=float(signal.k1.constant_value),
        length_scales=tuple(float(v) for v in np.atleast_1d(signal.k2.length_scale)),
        noise=float(gp.noise_),
    )


@dataclass(frozen=True, slots=True)
class Prediction:
    """Latent mean and standard deviation per row, and each row's covariance with the reference."""

    mean: FloatArray
    std: FloatArray
    cov_with_reference: FloatArray
    reference_mean: float
    reference_std: float

    def shifted(self, prior: FloatArray, reference_prior: float) -> Prediction:
        """The posterior over residuals with a prior mean added back (channel_evidence.py).

        The means are capped at ``REWARD_MAX``: no config earns more than full QoE without
        penalties, however clean the prior says its channel is.
        """
        return replace(
            self,
            mean=np.minimum(self.mean + prior, REWARD_MAX),
            reference_mean=min(self.reference_mean + reference_prior, REWARD_MAX),
        )


class Posterior:
    """The GP conditioned on one window with fixed hyperparameters (transient: not kept per radio)."""

    def __init__(self, features: FloatArray, rewards: FloatArray, groups: tuple[int, ...], hp: Hyperparameters) -> None:
        self._y_mean = float(rewards.mean())
        gp = _regressor(hp.kernel(groups, fixed=True), None, 0)
        gp.fit(features, rewards - self._y_mean)
        self._gp = gp
        self._amplitude = hp.amplitude

    def predict(self, candidates: FloatArray, reference: FloatArray) -> Prediction:
        """Posterior at the rows of ``candidates`` and at the single row ``reference``."""
        gp = self._gp
        rows = np.vstack([reference.reshape(1, -1), candidates])
        k_star = gp.kernel_(rows, gp.X_train_)  # the fitted WhiteKernel is zeroed: latent covariances
        mean = k_star @ gp.alpha_ + self._y_mean
        projected = k_star @ gp.K_inv_
        var = np.maximum(self._amplitude - np.einsum("ij,ij->i", projected, k_star), 1e-12)
        prior_cov = gp.kernel_(candidates, reference.reshape(1, -1))[:, 0]
        cov = prior_cov - projected[1:] @ k_star[0]
        std = np.sqrt(var)
        return Prediction(
            mean=mean[1:],
            std=std[1:],
            cov_with_reference=cov,
            reference_mean=float(mean[0]),
            reference_std=float(std[0]),
        )
