"""The fast loop's adaptive period (issue 7, part 5): 60 s while QoE moves or after a change, 300 s when stable.

``next_period_s`` looks at the spread (max - min) of the radio's recent QoE figures: at or above
``moving`` (0.05) the radio is watched every 60 s, at or below ``stable`` (0.01) every 300 s, and
linearly in between. Fewer than two figures, or a change within the caller's "recently"
(``FastLoopOptimizer.changed_recently``), mean 60 s: a new config is watched closely, which is
also when rollback triggers need fresh windows.
"""

from __future__ import annotations

from collections.abc import Sequence

FAST_S = 60.0
SLOW_S = 300.0
MOVING_SPREAD = 0.05
STABLE_SPREAD = 0.01


def next_period_s(recent_qoe: Sequence[float], changed_recently: bool) -> float:
    """Seconds until the radio's next loop iteration."""
    if changed_recently or len(recent_qoe) < 2:
        return FAST_S
    spread = max(recent_qoe) - min(recent_qoe)
    if spread >= MOVING_SPREAD:
        return FAST_S
    if spread <= STABLE_SPREAD:
        return SLOW_S
    share = (MOVING_SPREAD - spread) / (MOVING_SPREAD - STABLE_SPREAD)
    return FAST_S + share * (SLOW_S - FAST_S)
