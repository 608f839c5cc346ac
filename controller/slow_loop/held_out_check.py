"""Whether a trained safe-RL model may deploy learned plans at all: its held-out check.

The model's own conservative estimates decide between a learned plan and the heuristic's at
each plan (safe_rl_policy.py), but those estimates can be wrong in a world the training did not
see: on small_office with world seed 1, a learned first plan estimated +3.89 over the
heuristic's left QoE at 0.88-0.93 for 6 h, and safe RL ended 0.0105 below the heuristic. So,
as in high-confidence policy improvement (Thomas et al., 2015), the policy as a whole is tested
once, after training, on held-out episodes (world seeds the training never saw,
rrm/evaluation/slow_loop_training.py): each episode is run with the heuristic's plan and with
the safe-RL policy's on the same seed, and ``differences`` are the safe-RL returns less the
heuristic's.

The check passes when the one-sided Student-t lower confidence bound of the mean difference at
``confidence`` is above 0: the policy has shown an improvement that is unlikely to be noise. A
policy that never deviated on the held-out episodes (every difference 0) has shown nothing and
does not pass; neither does a check with fewer than two episodes. A model without a passed check
makes the heuristic's plans only, and its reason says why.

Pure: figures in, a verdict out. ``to_meta`` / ``from_meta`` are the model file's form of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy.stats import t as student_t

DEFAULT_CONFIDENCE = 0.95
MIN_EPISODES = 2


class HeldOutCheckError(ValueError):
    """A held-out check that cannot be read; the message names the field and the value."""


@dataclass(frozen=True, slots=True)
class HeldOutCheck:
    differences: tuple[float, ...]  # safe-RL return less the heuristic's, per held-out episode
    confidence: float = DEFAULT_CONFIDENCE
    deployed: int = 0  # held-out episodes where the policy chose a learned plan

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1.0:
            raise HeldOutCheckError(f"confidence must be in [0.5, 1), not {self.confidence!r}")
        bad = [d for d in self.differences if not math.isfinite(d)]
        if bad:
            raise HeldOutCheckError(f"differences must be finite numbers, not {bad[0]!r}")
        if not 0 <= self.deployed <= len(self.differences):
            raise HeldOutCheckError(f"deployed must be 0..{len(self.differences)}, not {self.deployed!r}")

    @property
    def episodes(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return sum(self.differences) / self.episodes if self.differences else 0.0

    @property
    def lower_bound(self) -> float:
        """One-sided lower confidence bound of the mean difference (-inf below MIN_EPISODES)."""
        n = self.episodes
        if n < MIN_EPISODES:
            return -math.inf
        spread = math.sqrt(sum((d - self.mean) ** 2 for d in self.differences) / (n - 1))
        quantile = float(student_t.ppf(self.confidence, n - 1))
        return self.mean - quantile * spread / math.sqrt(n)

    @property
    def passed(self) -> bool:
        return self.lower_bound > 0.0

    def describe(self) -> str:
        verdict = "passed" if self.passed else "failed"
        if self.episodes < MIN_EPISODES:
            return f"held-out check {verdict}: {self.episodes} episode(s), at least {MIN_EPISODES} needed"
        return (
            f"held-out check {verdict}: over {self.episodes} episodes the safe-RL policy returned "
            f"{self.mean:+.1f} on the heuristic's (lower bound {self.lower_bound:+.1f} at "
            f"{self.confidence:.0%}; learned plan chosen in {self.deployed})"
        )

    def figures(self) -> dict[str, object]:
        """The check for JSON figures (`rrm train slow-loop`, `rrm eval slow-loop`)."""
        return {
            "passed": self.passed,
            "episodes": self.episodes,
            "mean_difference": round(self.mean, 3),
            "lower_bound": round(self.lower_bound, 3) if self.episodes >= MIN_EPISODES else None,
            "confidence": self.confidence,
            "learned_plan_chosen": self.deployed,
        }

    def to_meta(self) -> dict[str, object]:
        return {"differences": list(self.differences), "confidence": self.confidence, "deployed": self.deployed}

    @staticmethod
    def from_meta(meta: object) -> HeldOutCheck:
        """The check ``to_meta`` wrote; raises HeldOutCheckError naming what is wrong."""
        if not isinstance(meta, Mapping):
            raise HeldOutCheckError(f"held_out_check must be a mapping, not {type(meta).__name__}")
        differences = meta.get("differences")
        if not isinstance(differences, list) or not all(_is_number(d) for d in differences):
            raise HeldOutCheckError(f"held_out_check.differences must be a list of numbers, not {differences!r}")
        confidence, deployed = meta.get("confidence"), meta.get("deployed")
        if not isinstance(confidence, int | float) or isinstance(confidence, bool):
            raise HeldOutCheckError(f"held_out_check.confidence must be a number, not {confidence!r}")
        if not isinstance(deployed, int) or isinstance(deployed, bool):
            raise HeldOutCheckError(f"held_out_check.deployed must be an integer, not {deployed!r}")
        return HeldOutCheck(tuple(float(d) for d in differences), float(confidence), deployed)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
