"""Rollback triggers as data, on virtual time: when they fire, and what goes back."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from controller.rollback_watch import AppliedChange, KpiSource, due_triggers, judge, rollback_set, settled
from controller.site_policy import Direction, Kpi, RollbackTrigger

pytestmark = pytest.mark.unit

T0 = 1_767_225_600.0
QOE_DROP = RollbackTrigger(Kpi.QOE_MEAN, -15.0, Direction.BELOW, window_s=300.0, relative=True)
PER_HIGH = RollbackTrigger(Kpi.PACKET_ERROR_RATE, 0.2, Direction.ABOVE, window_s=120.0)
CHANGE = AppliedChange("c1", "ap-1/5g", "ap-1", T0, "rt-c1")


def _observed(values: Mapping[Kpi, float]) -> KpiSource:
    return lambda since, until: values


def test_a_trigger_is_judged_only_once_its_window_has_passed() -> None:
    triggers = (QOE_DROP, PER_HIGH)
    assert due_triggers(CHANGE, triggers, frozenset(), T0 + 60) == []
    assert due_triggers(CHANGE, triggers, frozenset(), T0 + 130) == [1]
    assert due_triggers(CHANGE, triggers, frozenset({1}), T0 + 301) == [0]
    assert not settled(CHANGE, triggers, T0 + 299) and settled(CHANGE, triggers, T0 + 300)


def test_a_relative_drop_past_the_threshold_fires_and_a_small_one_does_not() -> None:
    """QoE 0.80 -> 0.60 is -25 %: fires; 0.80 -> 0.75 is -6 %: kept."""
    fired = judge(CHANGE, (QOE_DROP,), [0], {Kpi.QOE_MEAN: 0.8}, _observed({Kpi.QOE_MEAN: 0.6}))
    assert fired is not None and fired.trigger is QOE_DROP and "0.800 -> 0.600" in fired.describe()
    assert judge(CHANGE, (QOE_DROP,), [0], {Kpi.QOE_MEAN: 0.8}, _observed({Kpi.QOE_MEAN: 0.75})) is None


def test_an_absolute_threshold_and_silence() -> None:
    """PER above 0.2 fires whatever it was before; no data after the change never fires."""
    assert judge(CHANGE, (PER_HIGH,), [0], {}, _observed({Kpi.PACKET_ERROR_RATE: 0.3})) is not None
    assert judge(CHANGE, (PER_HIGH,), [0], {}, _observed({})) is None
    assert judge(CHANGE, (QOE_DROP,), [0], {}, _observed({Kpi.QOE_MEAN: 0.1})) is None  # relative needs a before


def test_the_rollback_depth_and_plans_decide_what_goes_back() -> None:
    """Depth 2 undoes the AP's two latest changes; a change of the same plan on another AP goes too."""
    older = AppliedChange("c0", "ap-1/2g", "ap-1", T0 - 600, "rt-c0")
    oldest = AppliedChange("c-1", "ap-1/5g", "ap-1", T0 - 1200, "rt-c-1")
    planned = AppliedChange("c1", "ap-1/5g", "ap-1", T0, "rt-c1", plan_id="plan-9")
    partner = AppliedChange("c2", "ap-2/5g", "ap-2", T0 + 1, "rt-c2", plan_id="plan-9")
    other_ap = AppliedChange("c3", "ap-3/5g", "ap-3", T0 + 2, "rt-c3")
    applied = [oldest, older, planned, partner, other_ap]
    assert [c.change_id for c in rollback_set(planned, applied, depth=2)] == ["c2", "c1", "c0"]
    assert [c.change_id for c in rollback_set(older, applied, depth=1)] == ["c0"]
