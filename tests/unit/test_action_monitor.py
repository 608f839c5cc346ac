"""Post-action monitoring: each of the seed's rollback triggers, the window, and radar moves."""

from __future__ import annotations

import pytest

from drivers.protocol import ClientObservation, RadioState
from edge_agent.action_monitor import Baseline, Verdict, WatchedAction, judge, judge_critical_event
from edge_agent.event_policy import RollbackTriggers
from radio_domain.radio import RadioConfig

pytestmark = pytest.mark.unit

TRIGGERS = RollbackTriggers()


def _state(per: float = 0.05, retry: float = 0.05, throughput: float = 10.0, gone: int = 0) -> RadioState:
    clients = (ClientObservation("a", -60, 30, 100, throughput, retry, 0.9),)
    return RadioState("ap-1/5g", 0.0, RadioConfig(44, 20, 17.0), -94, 0.3, 0.1, 0.2, retry, per, clients,
                      disassociations_total=gone)  # fmt: skip


def _watched(eligible: bool = True) -> WatchedAction:
    return WatchedAction("a1", "ap-1/5g", "t1", 1000.0, Baseline.of(_state()), eligible, "NON_WIFI_BURST_AVOIDANCE")


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (_state(per=0.08), "packet error rate 0.050 -> 0.080"),
        (_state(retry=0.09), "retry rate 0.050 -> 0.090"),
        (_state(gone=25), "client disconnections a minute"),
        (_state(throughput=5.0), "client throughput 10.0 -> 5.0 Mb/s"),
    ],
)
def test_each_trigger_rolls_back(state: RadioState, reason: str) -> None:
    verdict, why = judge(_watched(), state, 1060.0, TRIGGERS)
    assert verdict is Verdict.ROLL_BACK
    assert reason in why


def test_small_or_tolerable_changes_keep_the_action() -> None:
    assert judge(_watched(), _state(per=0.06, throughput=7.0), 1060.0, TRIGGERS) == (Verdict.KEEP_WATCHING, "")


def test_the_window_ends_the_watch() -> None:
    assert judge(_watched(), _state(per=0.5), 1000.0 + 301.0, TRIGGERS)[0] is Verdict.KEPT


def test_a_radar_move_is_watched_but_never_rolled_back() -> None:
    verdict, why = judge(_watched(eligible=False), _state(per=0.5), 1060.0, TRIGGERS)
    assert verdict is Verdict.KEEP_WATCHING
    assert "packet error rate" in why
    assert judge_critical_event(_watched(eligible=False), 1060.0, TRIGGERS) is Verdict.KEEP_WATCHING


def test_a_new_critical_event_in_the_window_rolls_back() -> None:
    assert judge_critical_event(_watched(), 1060.0, TRIGGERS) is Verdict.ROLL_BACK
    assert judge_critical_event(_watched(), 1400.0, TRIGGERS) is Verdict.KEEP_WATCHING
