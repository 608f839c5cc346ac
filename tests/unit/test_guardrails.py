"""Every guardrail blocks what it should, names itself, and lets the rest through."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.guardrails import (
    NetworkSnapshot,
    PastChange,
    PastRollback,
    Proposal,
    RadioView,
    Rule,
    Verdict,
    check_iteration,
    check_proposal,
)
from controller.site_policy import ApPolicy, ChangeLimits, PolicyLayer, SafeZone, SitePolicy
from drivers.protocol import RadioCapabilities
from radio_domain import regulatory
from radio_domain.radio import Band, ConfigChange, RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

NOW = 1_767_225_600.0
CAPS = RadioCapabilities(
    channels=regulatory.channels(Region.FCC, Band.G5),
    widths_mhz=(20, 40, 80),
    min_tx_power_dbm=1.0,
    max_tx_power_dbm=23.0,
)


def _radio(ap: str, neighbours: frozenset[str] = frozenset(), **config: float) -> RadioView:
    base = {"channel": 36, "width_mhz": 40, "tx_power_dbm": 17.0} | config
    return RadioView(f"{ap}/5g", ap, Band.G5, CAPS, RadioConfig(**base), neighbours)  # type: ignore[arg-type]


SNAPSHOT = NetworkSnapshot(
    taken_at=NOW,
    region=Region.FCC,
    radios={
        "ap-1/5g": _radio("ap-1", frozenset({"ap-2"})),
        "ap-2/5g": _radio("ap-2", frozenset({"ap-1"})),
        "ap-3/5g": _radio("ap-3"),
        "ap-4/5g": _radio("ap-4"),
        "ap-5/5g": _radio("ap-5"),
    },
)


def _proposal(radio: str = "ap-1/5g", gain: float = 0.1, loop: str = "FAST", **change: float) -> Proposal:
    return Proposal(f"c-{radio}-{sorted(change.items())}", radio, ConfigChange(**change), loop, "test", gain)  # type: ignore[arg-type]


def _rules(verdict: Verdict) -> set[Rule]:
    return {v.rule for v in verdict.violations}


def test_a_sound_proposal_is_allowed() -> None:
    verdict = check_proposal(_proposal(channel=149), SNAPSHOT, ApPolicy(), NOW)
    assert verdict.allowed and verdict.explain() == "allowed"


@pytest.mark.parametrize(
    ("proposal", "rule", "words"),
    [
        (_proposal("ap-9/5g", channel=149), Rule.UNKNOWN_RADIO, "ap-9/5g"),
        (_proposal(channel=36), Rule.NO_CHANGE, "already"),
        (_proposal(tx_power_dbm=17.5), Rule.SAFE_ZONE, "not on the safe zone's 1 grid"),
        (_proposal(channel=14), Rule.REGULATORY, "channel 14 is not a legal 5g channel"),
        (_proposal(channel=165, width_mhz=80), Rule.DEPENDENCY, "channel 165 at 80 MHz"),
        (_proposal(width_mhz=160), Rule.CAPABILITY, "width 160 MHz is not supported"),
        (_proposal(gain=0.001, channel=149), Rule.HYSTERESIS, "below the 0.02"),
        (_proposal(tx_power_dbm=30), Rule.CAPABILITY, "outside the radio's 1..23 dBm"),
    ],
)
def test_each_rule_refuses_and_names_itself(proposal: Proposal, rule: Rule, words: str) -> None:
    verdict = check_proposal(proposal, SNAPSHOT, ApPolicy(), NOW)
    assert rule in _rules(verdict)
    assert any(words in str(v) for v in verdict.violations), verdict.explain()
    assert verdict.explain().startswith("refused: ") and rule.value in verdict.explain()


def test_power_legal_on_one_channel_group_is_a_dependency_on_another() -> None:
    """23 dBm is fine on 36; moving to UNII-2 (24 dBm limit) with 25 dBm is caught with the channel."""
    snapshot = replace(SNAPSHOT, radios={"ap-1/5g": _radio("ap-1", tx_power_dbm=25.0)})
    verdict = check_proposal(_proposal(channel=52), snapshot, ApPolicy(), NOW)
    assert Rule.DEPENDENCY in _rules(verdict)


def test_a_channel_in_non_occupancy_is_refused() -> None:
    snapshot = replace(SNAPSHOT, non_occupancy={"ap-1/5g": {52: NOW + 600, 56: NOW + 600}})
    verdict = check_proposal(_proposal(channel=52), snapshot, ApPolicy(), NOW)
    assert Rule.NON_OCCUPANCY in _rules(verdict)


def test_pins_bind_the_loops_not_the_operator() -> None:
    """A pinned channel is never changed automatically; the operator's own change goes through."""
    pinned = ApPolicy(pins={"channel": None})
    assert Rule.PIN in _rules(check_proposal(_proposal(channel=149), SNAPSHOT, pinned, NOW))
    assert check_proposal(_proposal(channel=149, loop="OPERATOR"), SNAPSHOT, pinned, NOW).allowed
    assert check_proposal(_proposal(tx_power_dbm=20), SNAPSHOT, pinned, NOW).allowed


def test_rate_limit_cooldown_and_ap_limit_come_from_history() -> None:
    """4 power changes in the hour reach the zone's limit; one 30 s ago is in the 60 s cooldown."""
    changes = tuple(PastChange("ap-1/5g", "ap-1", "tx_power_dbm", NOW - t, f"p{t}") for t in (3000, 2000, 1000, 30))
    snapshot = replace(SNAPSHOT, changes=changes)
    verdict = check_proposal(_proposal(tx_power_dbm=20), snapshot, ApPolicy(), NOW)
    assert {Rule.RATE_LIMIT, Rule.COOLDOWN} <= _rules(verdict)
    tight = ApPolicy(limits=ChangeLimits(max_changes_per_ap_per_hour=4))
    assert Rule.AP_RATE_LIMIT in _rules(check_proposal(_proposal(channel=149), snapshot, tight, NOW))
    assert Rule.COOLDOWN not in _rules(check_proposal(_proposal(tx_power_dbm=20), snapshot, ApPolicy(), NOW + 60))


def test_rollbacks_hold_the_radio_down_longer_each_time() -> None:
    """One rollback: 900 s; two in a day: 1800 s from the latest."""
    one = replace(SNAPSHOT, rollbacks=(PastRollback("ap-1/5g", NOW - 600),))
    assert Rule.HOLD_DOWN in _rules(check_proposal(_proposal(channel=149), one, ApPolicy(), NOW))
    assert check_proposal(_proposal(channel=149), one, ApPolicy(), NOW + 301).allowed
    two = replace(SNAPSHOT, rollbacks=(PastRollback("ap-1/5g", NOW - 5000), PastRollback("ap-1/5g", NOW - 1000)))
    assert Rule.HOLD_DOWN in _rules(check_proposal(_proposal(channel=149), two, ApPolicy(), NOW))
    assert check_proposal(_proposal(channel=149), two, ApPolicy(), NOW + 801).allowed


def test_a_zone_that_requires_approval_makes_the_verdict_wait() -> None:
    zones = dict(ApPolicy().zones) | {"channel": SafeZone("channel", 1, 233, 36, requires_approval=True)}
    verdict = check_proposal(_proposal(channel=149), SNAPSHOT, ApPolicy(zones=zones), NOW)
    assert verdict.allowed and verdict.needs_approval and verdict.approval_needed_for == ("channel",)


def test_shadow_mode_is_carried_in_the_verdict() -> None:
    verdict = check_proposal(_proposal(channel=149), SNAPSHOT, ApPolicy(shadow=True), NOW)
    assert verdict.allowed and verdict.shadow and "shadow" in verdict.explain()


def test_the_blast_radius_caps_the_aps_changed_per_iteration_best_gain_first() -> None:
    """Four APs proposed, three allowed: the least promising one is refused by the blast radius."""
    proposals = [_proposal(f"ap-{i}/5g", gain=0.1 * i, channel=149) for i in (2, 3, 4, 5)]
    verdicts = check_iteration(proposals, SNAPSHOT, SitePolicy(), NOW)
    refused = [v for v in verdicts if not v.allowed]
    assert [v.proposal.radio_id for v in refused] == ["ap-2/5g"]
    assert _rules(refused[0]) == {Rule.BLAST_RADIUS}


def test_neighbours_do_not_change_in_the_same_step_unless_one_plan_says_so() -> None:
    a, b = _proposal("ap-1/5g", gain=0.3, channel=149), _proposal("ap-2/5g", gain=0.2, channel=44)
    verdicts = check_iteration([a, b], SNAPSHOT, SitePolicy(), NOW)
    assert verdicts[0].allowed and Rule.NEIGHBOURS in _rules(verdicts[1])
    planned = [replace(a, plan_id="plan-7"), replace(b, plan_id="plan-7")]
    assert all(v.allowed for v in check_iteration(planned, SNAPSHOT, SitePolicy(), NOW))


def test_the_site_budget_counts_the_last_hours_changes() -> None:
    site = SitePolicy(network=PolicyLayer(limits={"site_changes_per_hour": 2}))
    history = tuple(PastChange(f"ap-{i}/5g", f"ap-{i}", "channel", NOW - 100 * i, f"old{i}") for i in (3, 4))
    verdicts = check_iteration([_proposal(channel=149)], replace(SNAPSHOT, changes=history), site, NOW)
    assert _rules(verdicts[0]) == {Rule.SITE_BUDGET}


def test_layers_reach_the_guardrails_per_ap() -> None:
    """A zone layer that shadows ap-3 leaves ap-4 live."""
    site = SitePolicy(zones={"lobby": PolicyLayer(shadow=True)}, zone_of_ap={"ap-3": "lobby"})
    verdicts = check_iteration(
        [_proposal("ap-3/5g", channel=149), _proposal("ap-4/5g", channel=149)], SNAPSHOT, site, NOW
    )
    assert [v.shadow for v in verdicts] == [True, False]
