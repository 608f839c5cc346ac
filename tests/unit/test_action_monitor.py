"""Post-action monitoring: each of the seed's rollback triggers, confirmed readings, the window, and radar moves."""

from __future__ import annotations

import pytest

from drivers.protocol import ClientObservation, RadioState
from edge_agent.action_monitor import Baseline, Judgement, Verdict, WatchedAction, judge, judge_critical_event
from edge_agent.event_policy import RollbackTriggers
from radio_domain.radio import RadioConfig

pytestmark = pytest.mark.unit

TRIGGERS = RollbackTriggers()


def _state(per: float = 0.05, retry: float = 0.05, throughput: float = 10.0, gone: int = 0) -> RadioState:
    clients = (ClientObservation("a", -60, 30, 100, throughput, retry, 0.9),)
    return RadioState("ap-1/5g", 0.0, RadioConfig(44, 20, 17.0), -94, 0.3, 0.1, 0.2, retry, per, clients,
                      disassociations_total=gone)  # fmt: skip


def _watched(eligible: bool = True, baseline: RadioState | None = None) -> WatchedAction:
    base = Baseline.of(baseline or _state())
    return WatchedAction("a1", "ap-1/5g", "t1", 1000.0, base, eligible, "NON_WIFI_BURST_AVOIDANCE")


def _twice(action: WatchedAction, state: RadioState, now: float = 1060.0) -> tuple[Judgement, Judgement]:
    first = judge(action, state, now, TRIGGERS)
    return first, judge(first.action, state, now + 10.0, TRIGGERS)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (_state(per=0.08), "packet error rate 0.050 -> 0.080"),
        (_state(retry=0.09), "retry rate 0.050 -> 0.090"),
        (_state(gone=25), "client disconnections a minute"),
        (_state(throughput=5.0), "client throughput 10.0 -> 5.0 Mb/s"),
    ],
)
def test_each_trigger_rolls_back_once_two_readings_in_a_row_show_it(state: RadioState, reason: str) -> None:
    first, second = _twice(_watched(), state)
    assert first.verdict is Verdict.KEEP_WATCHING and reason in first.why  # one reading: noted, not acted on
    assert second.verdict is Verdict.ROLL_BACK
    assert reason in second.why and "2 readings in a row" in second.why


def test_one_bad_reading_between_good_ones_is_noise() -> None:
    """A collision burst, or clients re-associating after a move, shows on one reading only."""
    bad = judge(_watched(), _state(per=0.5), 1060.0, TRIGGERS)
    good = judge(bad.action, _state(), 1070.0, TRIGGERS)
    again = judge(good.action, _state(per=0.5), 1080.0, TRIGGERS)
    assert (bad.verdict, good.verdict, again.verdict) == (Verdict.KEEP_WATCHING,) * 3
    assert again.action.degraded_readings == 1  # the count starts afresh after a good reading


def test_a_loss_rise_while_the_clients_get_more_throughput_is_not_worse() -> None:
    """Rate control trading a little loss for a faster rate: PER 0.05 -> 0.12 with throughput 10 -> 14 Mb/s."""
    assert _twice(_watched(), _state(per=0.12, retry=0.12, throughput=14.0))[1].verdict is Verdict.KEEP_WATCHING
    assert _twice(_watched(), _state(per=0.12, retry=0.12, throughput=10.0))[1].verdict is Verdict.ROLL_BACK


def test_a_radio_jammed_to_no_throughput_is_no_baseline_for_loss() -> None:
    """Jammed: no traffic, PER 0. On the new channel PER 0.06 with traffic again is not a rise from it."""
    jammed = _watched(baseline=_state(per=0.0, retry=0.0, throughput=0.0))
    assert _twice(jammed, _state(per=0.06, retry=0.06, throughput=0.5))[1].verdict is Verdict.KEEP_WATCHING
    assert _twice(jammed, _state(gone=25))[1].verdict is Verdict.ROLL_BACK  # clients leaving still counts


def test_small_or_tolerable_changes_keep_the_action() -> None:
    for judged in _twice(_watched(), _state(per=0.06, throughput=7.0)):
        assert (judged.verdict, judged.why) == (Verdict.KEEP_WATCHING, "")


def test_the_window_ends_the_watch() -> None:
    assert judge(_watched(), _state(per=0.5), 1000.0 + 301.0, TRIGGERS).verdict is Verdict.KEPT


def test_a_radar_move_is_watched_but_never_rolled_back() -> None:
    for judged in _twice(_watched(eligible=False), _state(per=0.5, throughput=5.0)):
        assert judged.verdict is Verdict.KEEP_WATCHING
        assert "packet error rate" in judged.why
    assert judge_critical_event(_watched(eligible=False), 1060.0, TRIGGERS) is Verdict.KEEP_WATCHING


def test_a_new_critical_event_in_the_window_rolls_back() -> None:
    assert judge_critical_event(_watched(), 1060.0, TRIGGERS) is Verdict.ROLL_BACK
    assert judge_critical_event(_watched(), 1400.0, TRIGGERS) is Verdict.KEEP_WATCHING
