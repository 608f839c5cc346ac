"""The fast loop keeps within the slow loop's plan (issue 8 item 6).

The slow loop's plan gives each radio a channel and width (and a power). Between plans the fast
loop may tune a radio's power and OBSS-PD freely (within the guardrails); a change of channel or
width that leaves the plan's channel and width needs a larger predicted gain than the site's
hysteresis asks of any change: the plan was chosen for the whole site, a local gain must be clear
to be worth the site-wide cost. A change back onto the plan's channel is never held. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.slow_loop.site_plan import RadioAssignment
from radio_domain.radio import RadioConfig

DEFAULT_DEVIATION_GAIN = 0.05  # QoE units; the site's default hysteresis asks 0.02 of any change


@dataclass(frozen=True, slots=True)
class PlanDeviation:
    """A fast-loop change that leaves the plan, and whether its predicted gain is large enough."""

    radio_id: str
    planned: RadioAssignment
    target: RadioConfig
    predicted_gain: float
    needed_gain: float

    @property
    def allowed(self) -> bool:
        return self.predicted_gain >= self.needed_gain

    def explain(self) -> str:
        verdict = "allowed" if self.allowed else "held"
        return (
            f"{verdict}: channel {self.target.channel}/{self.target.width_mhz} MHz leaves the slow loop's plan "
            f"({self.planned.channel}/{self.planned.width_mhz} MHz); predicted gain {self.predicted_gain:.3f}, "
            f"a change away from the plan needs {self.needed_gain:g}"
        )


def plan_deviation(
    plan: Mapping[str, RadioAssignment],
    radio_id: str,
    current: RadioConfig,
    target: RadioConfig,
    predicted_gain: float,
    needed_gain: float = DEFAULT_DEVIATION_GAIN,
) -> PlanDeviation | None:
    """The deviation ``target`` makes from the plan, or None when it keeps within it (module docstring)."""
    planned = plan.get(radio_id)
    if planned is None:
        return None
    if (target.channel, target.width_mhz) == (current.channel, current.width_mhz):
        return None  # power and OBSS-PD are the fast loop's to tune
    if (target.channel, target.width_mhz) == (planned.channel, planned.width_mhz):
        return None  # back onto the plan
    return PlanDeviation(radio_id, planned, target, predicted_gain, needed_gain)
