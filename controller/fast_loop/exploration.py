"""Safe exploration: trust region, daily change budget, safety threshold, hysteresis, acquisition.

All pure or time-as-a-parameter (STYLE.md 4). The optimiser applies them in this order:

1. **Trust region** (``TrustRegionRule.mask``): candidates within ``radius`` of the current config.
   Radius 1 changes one parameter: power by at most one 3 dB step, OBSS-PD by at most 4 dB, width
   by one level, or the channel. Radius r allows two parameters at once, power within 3r dB,
   OBSS-PD within 4r dB; width always moves by one level at most (a 20 -> 80 MHz jump was the
   largest dip measured on the simulator, -0.23). Distances are taken from the current config
   with its power snapped to the ladder (candidates.on_ladder). The radius widens only with evidence: +1
   after an applied change whose first observed reward was at least the reward before it, -1
   after one that did not help (operators fear changes that did not help: the region shrinks back
   toward small moves), between 1 and 4. The current config is never a candidate: keeping it is
   the safe baseline, always available.
2. **Safety threshold**: a candidate is safe when, pessimistically, it is no worse than the
   current config minus ``margin`` (0.05): ``gain - beta * std_gain >= -margin`` with beta = 2,
   i.e. P(f(candidate) < f(current) - margin) <= 2.3 %. Both values are the model's, at the
   current config and load and including the window just observed; the gain's uncertainty takes
   their covariance into account, so what the model does not know about the radio's level as a
   whole (it shifts both) does not block every move, while what it does not know about the
   candidate does. ``predicted_lcb`` (``mean - beta * std``) is reported beside it for the audit.
   The model predicts the reward, QoE minus penalties, so the threshold holds QoE net of
   penalties. Under the kernel's prior (sd >= 0.1; surrogate.Hyperparameters), before the first
   fit, the nearest move, a 3 dB power step, has a gain sd of 0.025: its pessimistic gain is
   -0.050 plus its mean gain, on the margin itself. So a cold radio explores a power step only
   when its observations tilt the mean gain above zero, and nothing else (OBSS-PD, width and
   channel need evidence or a fit); the safe set grows as observations show how smooth the
   reward is. A prior that made every cold power step safe (power length scale 0.6) was
   measured and not kept: small_office seed 1 fell 0.985 -> 0.958 mean QoE, with caused dips
   up to 0.52 (a 3 dB step is no small move for a 2.4 GHz radio with neighbours on the simulator).
   The margin (0.05) is a third of the default rollback trigger (QoE -15 %), which stays the
   backstop: on the synthetic landscape ~3-6 % of applied changes still lost more than the
   margin in true value, mostly right after the first hyperparameter fits (rrm bench bo).
3. **Hysteresis**: an *improvement* needs ``P(gain > min_gain) >= gain_confidence`` (0.02 reward
   units, as ChangeLimits.min_predicted_gain, with 80 % confidence), where the gain is
   ``f(candidate) - f(current)`` at the current load and its uncertainty includes the covariance
   between the two, so a model that is unsure about both is not fooled into a confident gain.
4. **Exploration**: with nothing confidently better, a model that has only seen the current config
   would never move (its prior mean is the mean of what it saw). So at most ``explore_per_day``
   (2) changes per radio per rolling 24 h may be exploratory: safe, and optimistic
   (``gain + beta * std_gain >= min_gain``). They are marked ``kind="explore"`` for the audit;
   set ``explore_per_day=0`` for a loop that only ever changes on a confident predicted gain.
   The optimiser allows none on a radio serving fewer than 3 stations
   (``OptimizerSettings.min_explore_stations``: one client's window is too noisy to judge by).
   A radio at its reward ceiling (1.0) may explore too, though it cannot gain for itself.
   Holding such radios was measured and not kept. On dense_floor it removed seed 8's 0.188
   dip (a +3 dB step raised the MCS, and PER under adjacent-channel interference cost
   penalties while QoE stayed 1.0), but mean QoE on seeds 1 / 3 / 4 / 8 went 0.956 / 0.885 /
   0.953 / 0.880 -> 0.922 / 0.902 / 0.935 / 0.873. Why is not established; one candidate is
   that such a radio's changes (a power cut costs it nothing) help neighbours its reward
   cannot see. Holding back only its exploratory power *raises* (QoE >= 0.99) was measured
   too and not kept: the dips went 0.056 / 0.118 / 0.072 / 0.188 -> 0.006 / 0.046 / 0.002 /
   0.0 on seeds 1 / 3 / 5 / 8, but mean QoE went 0.956 / 0.885 / 0.919 / 0.880 -> 0.906 /
   0.845 / 0.894 / 0.873: holding those raises cost the network more than their dips cost
   their own radio (why is not established; one candidate: a louder radio's higher MCS frees
   airtime its co-channel neighbours use).
5. **Acquisition**: exact expected improvement of the gain over ``min_gain``, scored for every
   candidate in the trust region (a few to ~1,000 rows), not on a random sample.
6. **Distrust after a surprise**: when an applied change lost more than the margin against the
   reward before it and fell short of its prediction by more than the margin, the radio's model
   has shown it can be that wrong here (dense_floor: a 2.4 GHz radio beside a video camera lost
   0.27-0.35 on power steps the model rated neutral, after a channel move had already lost 0.26).
   For ``distrust_s`` (24 h) the radio explores only candidates that stay within the margin even
   if the model is off by the largest such shortfall (``gain - shortfall >= -margin``);
   confident improvements are judged as before (on factory defaults, unplanned_office, a
   distrust that also held those back left radios on bad configs: mean QoE 0.996 -> 0.970). A
   change that helped, if less than predicted, is no such surprise.
7. **Budget** (``ChangeBudget``): at most ``max_per_day`` changes per AP in any rolling 24 h,
   shared by the AP's radios.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from controller.fast_loop.candidates import CandidateTable
from controller.fast_loop.surrogate import Prediction
from radio_domain.radio import RadioConfig

DAY_S = 86_400.0
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TrustRegionRule:
    max_radius: int = 4
    power_db_per_radius: float = 3.0
    obss_db_per_radius: int = 4
    bounded: bool = True  # False: every candidate (benchmarks of the model alone, never the live loop)

    def mask(self, table: CandidateTable, current: RadioConfig, radius: int) -> BoolArray:
        """Candidates inside the trust region of ``radius`` around ``current`` (never ``current``)."""
        r = max(1, min(radius, self.max_radius))
        d_channel = table.channel != current.channel
        d_width = table.width_mhz != current.width_mhz
        d_power = np.abs(table.tx_power_dbm - current.tx_power_dbm) > 1e-9
        d_obss = table.obss_pd_dbm != current.obss_pd_dbm
        changed = d_channel.astype(np.int64) + d_width + d_power + d_obss
        if not self.bounded:
            anything: BoolArray = changed >= 1
            return anything
        levels = np.abs(np.log2(table.width_mhz / 20.0) - np.log2(current.width_mhz / 20.0))
        inside: BoolArray = (
            (changed >= 1)
            & (changed <= (1 if r == 1 else 2))
            & (np.abs(table.tx_power_dbm - current.tx_power_dbm) <= self.power_db_per_radius * r + 1e-9)
            & (np.abs(table.obss_pd_dbm - current.obss_pd_dbm) <= self.obss_db_per_radius * r)
            & (levels <= 1.0 + 1e-9)
        )
        return inside

    def after(self, radius: int, helped: bool) -> int:
        return min(self.max_radius, radius + 1) if helped else max(1, radius - 1)


class ChangeBudget:
    """At most ``max_per_day`` changes per AP in any rolling 24 h; share one per AP between its radios."""

    def __init__(self, max_per_day: int = 8, times: Iterable[float] = ()) -> None:
        self.max_per_day = max_per_day
        self._times = sorted(times)

    @property
    def times(self) -> tuple[float, ...]:
        return tuple(self._times)

    def used(self, now_s: float) -> int:
        return sum(1 for t in self._times if now_s - DAY_S < t <= now_s)

    def allows(self, now_s: float) -> bool:
        return self.used(now_s) < self.max_per_day

    def record(self, now_s: float) -> None:
        self._times = [t for t in self._times if t > now_s - DAY_S] + [now_s]


@dataclass(frozen=True, slots=True)
class SafetySettings:
    margin: float = 0.05
    beta: float = 2.0
    min_gain: float = 0.02
    gain_confidence: float = 0.8
    explore_per_day: int = 2


@dataclass(frozen=True, slots=True)
class Choice:
    """The candidate picked (row of the scored subset) and the figures the audit records."""

    row: int
    kind: str  # "improve" or "explore"
    lcb: float
    gain: float
    gain_std: float
    confidence: float
    expected_improvement: float


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    text: str


def seen_unsafe(
    candidates: Sequence[tuple[int, int, float, int]],
    observations: Iterable[tuple[tuple[int, int, float, int], float]],
    current: tuple[int, int, float, int],
    margin: float,
) -> BoolArray:
    """Candidates whose mean observed reward is below the current config's by more than ``margin``.

    The model's own safety rule is not enough on its own: where the prior mean (channel evidence)
    or a smooth fit says a config is good, one bad observation there is shrunk toward the prior
    and the same move is proposed again (dense_floor: a 2.4 GHz radio moved onto a partly
    overlapping channel, lost 0.25, was rolled back and was sent there again, losing 0.23).
    Measured rewards are the evidence safe exploration must not overrule (SafeOpt keeps only
    points its observations support). Both means are over the model's window, so a load swing
    in one window does not condemn a config; without observations of the current config
    nothing is marked.
    """
    sums: dict[tuple[int, int, float, int], list[float]] = {}
    for key, reward in observations:
        sums.setdefault(key, []).append(reward)
    here = sums.get(current)
    out = np.zeros(len(candidates), dtype=np.bool_)
    if not here:
        return out
    floor = float(np.mean(here)) - margin
    for i, key in enumerate(candidates):
        seen = sums.get(key)
        out[i] = seen is not None and float(np.mean(seen)) < floor
    return out


def normal_cdf(z: FloatArray) -> FloatArray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7; numpy only)."""
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    out: FloatArray = 0.5 * (1.0 + np.sign(z) * erf)
    return out


def normal_pdf(z: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return out


def choose(
    pred: Prediction,
    settings: SafetySettings,
    may_explore: bool,
    seen_bad: BoolArray | None = None,
    distrust: float = 0.0,
) -> Choice | Refusal:
    """Pick a safe candidate by expected improvement, or say why the current config stays.

    ``seen_bad`` marks candidates the radio was already measured to lose more than the margin at
    (``seen_unsafe``): never safe, whatever the model says. ``distrust`` is how far the model has
    recently overestimated a change on this radio (``OptimizerSettings.distrust_s``): an
    exploratory candidate must then stay within the margin even when the model is that wrong
    (``gain - distrust >= -margin``), beside the usual ``gain - beta * std_gain >= -margin``.
    """
    lcb = pred.mean - settings.beta * pred.std
    gain = pred.mean - pred.reference_mean
    gain_var = pred.std**2 + pred.reference_std**2 - 2.0 * pred.cov_with_reference
    gain_std = np.sqrt(np.maximum(gain_var, 1e-12))
    pessimistic_gain = gain - settings.beta * gain_std
    safe = pessimistic_gain >= -settings.margin
    if seen_bad is not None:
        safe &= ~seen_bad
    if not safe.any():
        best = float(pessimistic_gain.max()) if gain.size else float("nan")
        return Refusal(
            "nothing_safe",
            f"every candidate may lose more than {settings.margin:g} (best pessimistic gain {best:.3f})",
        )
    z = (gain - settings.min_gain) / gain_std
    confidence = normal_cdf(z)
    ei = gain_std * (z * confidence + normal_pdf(z))
    confident = safe & (confidence >= settings.gain_confidence)
    kind = "improve"
    eligible = confident
    if not confident.any():
        if not may_explore:
            return Refusal(
                "no_confident_gain",
                f"no safe candidate gains {settings.min_gain:g} with {settings.gain_confidence:.0%} confidence",
            )
        eligible = safe & (gain + settings.beta * gain_std >= settings.min_gain)
        kind = "explore"
        if not eligible.any():
            return Refusal("no_plausible_gain", f"no safe candidate could plausibly gain {settings.min_gain:g}")
        if distrust > 0.0:
            eligible &= gain - distrust >= -settings.margin
            if not eligible.any():
                return Refusal(
                    "distrusted",
                    f"no confident gain, and the model overestimated a recent change here by {distrust:.3f}: "
                    "it explores only what stays within the margin even if it is that wrong",
                )
    row = int(np.argmax(np.where(eligible, ei, -np.inf)))
    return Choice(
        row=row,
        kind=kind,
        lcb=float(lcb[row]),
        gain=float(gain[row]),
        gain_std=float(gain_std[row]),
        confidence=float(confidence[row]),
        expected_improvement=float(ei[row]),
    )
