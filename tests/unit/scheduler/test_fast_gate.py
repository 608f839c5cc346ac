"""The fast gate in front of a judge: held APs and off-plan channel changes refused, order kept."""

from __future__ import annotations

from collections.abc import Sequence

from controller.fast_gate import FastGate, Hold
from controller.guardrails import Proposal, Rule, Verdict, check_iteration
from controller.plan_adherence import PlanDeviation, plan_deviation
from controller.site_policy import SitePolicy
from controller.slow_loop.site_plan import RadioAssignment
from radio_domain.radio import ConfigChange, RadioConfig
from tests.unit.scheduler.site import T0, SiteSources

PLAN = {"ap-2/5g": RadioAssignment(149, 80, 20.0)}


def gate(held: dict[str, Hold], seen: list[str]) -> FastGate:
    network = SiteSources(T0).network()

    def deviated(deviation: PlanDeviation, change_id: str) -> None:
        seen.append(f"{change_id}:{deviation.allowed}")

    return FastGate(T0, network, held, PLAN, 0.05, seen.append, deviated)


def proposal(change_id: str, radio_id: str, change: ConfigChange, gain: float) -> Proposal:
    return Proposal(change_id, radio_id, change, "FAST", "test", gain)


def test_the_judge_sees_only_what_the_gate_lets_through_and_verdicts_keep_their_order() -> None:
    seen: list[str] = []
    judged: list[str] = []

    def judge(proposals: Sequence[Proposal]) -> Sequence[Verdict]:
        judged.extend(p.change_id for p in proposals)
        return check_iteration(proposals, SiteSources(T0).network(), SitePolicy(), T0)

    held = {"ap-1": Hold(Rule.HOLD_DOWN, "AP ap-1 locked by DFS_RADAR")}
    proposals = [
        proposal("a", "ap-1/5g", ConfigChange(tx_power_dbm=17.0), 0.1),  # held: locked AP
        proposal("b", "ap-2/5g", ConfigChange(channel=44), 0.03),  # off the plan, too little gain
        proposal("c", "ap-2/5g", ConfigChange(tx_power_dbm=17.0), 0.03),  # power: within the plan
    ]
    verdicts = gate(held, seen).wrap(judge)(proposals)
    assert [v.proposal.change_id for v in verdicts] == ["a", "b", "c"]
    assert [v.allowed for v in verdicts] == [False, False, True]
    assert verdicts[0].violations[0].rule is Rule.HOLD_DOWN
    assert verdicts[1].violations[0].rule is Rule.HYSTERESIS
    assert judged == ["c"]
    assert seen == ["ap-1/5g", "b:False"]


def test_plan_deviation_rules() -> None:
    """No plan for the radio, power only, or back onto the plan: no deviation; anything else needs the gain."""
    on_36 = RadioConfig(36, 80, 20.0, -82)
    assert plan_deviation({}, "ap-2/5g", on_36, RadioConfig(44, 80, 20.0, -82), 0.0) is None
    assert plan_deviation(PLAN, "ap-2/5g", on_36, RadioConfig(36, 80, 14.0, -82), 0.0) is None
    assert plan_deviation(PLAN, "ap-2/5g", on_36, RadioConfig(149, 80, 20.0, -82), 0.0) is None
    narrower = plan_deviation(PLAN, "ap-2/5g", on_36, RadioConfig(36, 40, 20.0, -82), 0.049, 0.05)
    assert narrower is not None and not narrower.allowed
    wider_gain = plan_deviation(PLAN, "ap-2/5g", on_36, RadioConfig(44, 80, 20.0, -82), 0.05, 0.05)
    assert wider_gain is not None and wider_gain.allowed


def test_leaving_the_plan_asks_for_the_expected_gain_not_the_optimistic_one() -> None:
    """An exploratory move off the plan: optimistic gain 0.09, expected 0.02: held."""
    seen: list[str] = []
    explore = Proposal(
        "e",
        "ap-2/5g",
        ConfigChange(channel=44),
        "FAST",
        "explore",
        0.09,
        inputs={"predicted_mean": 0.82, "current_mean": 0.80},
    )
    verdict = gate({}, seen).screen(explore)
    assert verdict is not None and verdict.violations[0].rule is Rule.HYSTERESIS
    assert seen == ["e:False"]
