from __future__ import annotations

import statistics
from dataclasses import replace

import numpy as np
import pytest

from controller.fast_loop.candidates import SafeValues, candidate_table
from controller.fast_loop.exploration import ChangeBudget, SafetySettings
from controller.fast_loop.history import LearningState, WindowPolicy
from controller.fast_loop.optimizer import FastLoopOptimizer, Keep, OptimizerSettings, Proposal
from controller.fast_loop.reward import load_index, prediction_error
from controller.fast_loop.synthetic import SyntheticLandscape, simulate_loop, telemetry_for
from controller.fast_loop.telemetry import LoopTelemetry, RadioSnapshot
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region, is_legal, max_tx_power_dbm, needs_dfs

pytestmark = pytest.mark.unit

RADIO = "ap-1/5g"
T0 = 1_767_225_600.0
START = RadioConfig(36, 20, 17.0, -82)
EAGER = OptimizerSettings(safety=SafetySettings(explore_per_day=10**6), settle_observations=1)


def _optimizer(
    seed: int = 1, settings: OptimizerSettings = EAGER, budget: ChangeBudget | None = None
) -> FastLoopOptimizer:
    return FastLoopOptimizer(
        RADIO, Region.FCC, Band.G5, seed=seed, settings=settings, budget=budget or ChangeBudget(10**6)
    )


def _snapshot(config: RadioConfig, reward: float, now: float, safe: SafeValues | None = None) -> RadioSnapshot:
    return RadioSnapshot(RADIO, Region.FCC, Band.G5, now, config, telemetry_for(reward, 15), safe or SafeValues())


# A wider margin: the trained model then proposes something; what such tests check is not the safety rule.
WIDE = OptimizerSettings(safety=SafetySettings(explore_per_day=10**6, margin=0.1), settle_observations=1)


def _first_proposal(opt: FastLoopOptimizer, now: float) -> tuple[Proposal, float]:
    """The first proposal from the radio's last config, observing it flat until there is one."""
    config = opt.observations[-1].config
    for k in range(20):
        proposal = opt.propose(_snapshot(config, 0.6, now + k))
        if proposal is not None:
            return proposal, now + k
        opt.observe(config, load_index(15), 0.6, now + k)
    raise AssertionError("no proposal in 20 asks")


def _trained(seed: int = 1, iterations: int = 40, settings: OptimizerSettings = EAGER) -> FastLoopOptimizer:
    opt = _optimizer(seed, settings)
    simulate_loop(SyntheticLandscape(Region.FCC, Band.G5, seed), opt, START, iterations, lambda _: 15, seed)
    return opt


def test_propose_tries_candidates_on_a_copy_and_never_mutates_live_state() -> None:
    opt = _trained()
    before = (opt.observations, opt.state, opt.budget.times)
    snapshot = _snapshot(opt.observations[-1].config, 0.6, T0 + 10**5)
    first = opt.decide(snapshot)
    assert opt.decide(snapshot) == first  # asking twice gives the same answer
    assert (opt.observations, opt.state, opt.budget.times) == before
    what_if = opt.copy()
    what_if.observe(RadioConfig(40, 40, 14.0, -70), 0.5, 0.9, T0 + 10**5)
    if isinstance(first, Proposal):
        what_if.applied(first, T0 + 10**5)
    assert (opt.observations, opt.state, opt.budget.times) == before


def test_proposals_are_legal_and_inside_the_safe_zone_only() -> None:
    safe = SafeValues(channels=(36, 40, 44, 48, 52, 56), widths_mhz=(20, 40), tx_powers_dbm=(11.0, 14.0, 17.0, 20.0))
    seen = 0
    for seed in range(3):
        opt = _optimizer(seed)
        land = SyntheticLandscape(Region.FCC, Band.G5, seed)
        trace = simulate_loop(land, opt, START, 80, lambda i: 5 + i % 20, seed, safe=safe)
        for p in trace.proposals:
            c = p.target
            assert safe.allows(c)
            assert is_legal(Region.FCC, Band.G5, c.channel, c.width_mhz)
            assert not needs_dfs(Region.FCC, Band.G5, c.channel, c.width_mhz)
            assert c.tx_power_dbm <= max_tx_power_dbm(Region.FCC, Band.G5, c.channel, c.width_mhz)
            assert p.baseline != p.target and not p.change.is_empty()
        seen += len(trace.proposals)
    assert seen > 0


def test_the_optimiser_never_proposes_a_neighbour_it_has_seen_to_be_bad() -> None:
    opt = _optimizer()
    bad = RadioConfig(36, 20, 20.0, -82)  # one power step up: the most inviting neighbour
    for i in range(4):
        opt.observe(START, 0.5, 0.60 + 0.005 * (i % 2), T0 + 600 * i)
        opt.observe(bad, 0.5, 0.30, T0 + 600 * i + 300)
    (bad_mean, bad_std), (current_mean, _) = opt.predict([bad, START], 0.5)
    assert bad_mean - 2 * bad_std < current_mean - 0.05  # the model finds it unsafe...
    decision = opt.decide(_snapshot(START, 0.6, T0 + 5000))
    assert not (isinstance(decision, Proposal) and decision.target == bad)  # ...and so it is never proposed


def test_a_rolled_back_target_is_held_off_for_a_day_then_allowed_again() -> None:
    opt = _trained(settings=WIDE)
    first, now = _first_proposal(opt, T0 + 10**5)
    config = first.baseline
    opt.rolled_back(first.target, now)
    held = opt.decide(_snapshot(config, 0.6, now + 60))
    assert not (isinstance(held, Proposal) and held.target == first.target)
    again = opt.decide(_snapshot(config, 0.6, now + opt.settings.rollback_hold_s + 1))
    assert isinstance(again, Proposal) and again.target == first.target  # the hold has lapsed
    restored = LearningState.from_json(opt.state.to_json())
    assert restored.held_off == opt.state.held_off  # survives a controller restart


def test_a_change_that_fell_short_of_its_prediction_makes_the_radio_distrust_its_model_for_a_day() -> None:
    opt = _trained(settings=WIDE)
    proposal, now = _first_proposal(opt, T0 + 10**5)
    opt.applied(proposal, now + 100)
    assert opt.state.distrust(now + 100, opt.settings.distrust_s) == 0.0
    shortfall = 0.3
    opt.observe(proposal.target, proposal.load, proposal.predicted_mean - shortfall, now + 400)
    assert opt.state.distrust(now + 400, opt.settings.distrust_s) == pytest.approx(shortfall)
    assert opt.state.distrust(now + 400 + opt.settings.distrust_s, opt.settings.distrust_s) == 0.0
    restored = LearningState.from_json(opt.state.to_json())
    assert restored.overestimates == opt.state.overestimates  # survives a controller restart
    # a change that lands within the margin of its prediction leaves no distrust
    calm = _trained(settings=WIDE)
    before = calm.state.overestimates  # its training run may have left some
    calm.applied(proposal, now + 100)
    calm.observe(proposal.target, proposal.load, proposal.predicted_mean - 0.05, now + 400)
    assert calm.state.overestimates == before
    # nor does one that helped, if by much less than predicted (no loss against the reward before it)
    hopeful = replace(proposal, predicted_mean=proposal.current_mean + 0.5)
    calm.applied(hopeful, now + 1000)
    calm.observe(hopeful.target, hopeful.load, hopeful.current_mean + 0.1, now + 1300)
    assert calm.state.overestimates == before


def test_daily_budget_settling_and_no_clients_keep_the_current_config() -> None:
    budget = ChangeBudget(max_per_day=1)
    opt = _trained()
    opt.budget = budget
    config = opt.observations[-1].config
    quiet = LoopTelemetry(None, None, None, None, 0.0, 0.0, 0.0, 0.0, 0, None)
    no_clients = opt.decide(RadioSnapshot(RADIO, Region.FCC, Band.G5, T0 + 10**5, config, quiet))
    assert isinstance(no_clients, Keep) and no_clients.code == "no_clients"
    budget.record(T0 + 10**5 - 60)
    spent = opt.decide(_snapshot(config, 0.6, T0 + 10**5))
    assert isinstance(spent, Keep) and spent.code == "daily_budget"
    assert opt.propose(_snapshot(config, 0.6, T0 + 10**5)) is None
    assert opt.last_keep is not None and opt.last_keep.code == "daily_budget"


def test_an_applied_change_awaits_its_outcome_then_moves_the_trust_region() -> None:
    opt = _trained(settings=WIDE)
    proposal, _ = _first_proposal(opt, T0 + 10**5)
    now = T0 + 10**5
    radius = opt.state.radius
    opt.applied(proposal, now + 100)
    waiting = opt.decide(_snapshot(proposal.target, 0.6, now + 150))
    assert isinstance(waiting, Keep) and waiting.code == "awaiting_outcome"
    opt.observe(proposal.target, proposal.load, proposal.current_mean + 0.1, now + 400)
    assert opt.state.pending is None and opt.state.radius == min(4, radius + 1)
    assert opt.last_outcome is not None and opt.last_outcome.helped
    assert opt.changed_recently(now + 400) and not opt.changed_recently(now + 10_000)


def test_same_seed_and_same_calls_give_the_same_decisions() -> None:
    a, b = _trained(seed=3), _trained(seed=3)
    assert a.observations == b.observations and a.state == b.state


def test_the_model_is_honest_on_held_out_configs() -> None:
    land = SyntheticLandscape(Region.FCC, Band.G5, 7)
    table = candidate_table(Region.FCC, Band.G5, SafeValues(allow_dfs=True))
    rng = np.random.default_rng(7)
    opt = _optimizer(settings=OptimizerSettings(window=WindowPolicy(100, 100)))
    for i in range(100):
        config = table.config(int(rng.integers(len(table))))
        load = float(rng.uniform(0.1, 0.9))
        opt.observe(config, load, land.sample(config, load, rng), T0 + i)
    assert opt.state.hyperparameters is not None
    errors = []
    for _ in range(100):
        config = table.config(int(rng.integers(len(table))))
        load = float(rng.uniform(0.1, 0.9))
        ((mean, _),) = opt.predict([config], load)
        errors.append(prediction_error(mean, land.sample(config, load, rng)))
    assert statistics.median(errors) < 0.2


def test_a_radio_with_too_few_stations_does_not_explore() -> None:
    """One or two clients make one window too noisy to judge an exploratory change by."""
    opt = _optimizer(settings=WIDE)
    for k in range(6):
        opt.observe(START, load_index(15), 0.6, T0 + 60 * k)
    now = T0 + 600
    busy = opt.decide(_snapshot(START, 0.6, now))
    assert isinstance(busy, Proposal) and busy.kind == "explore"
    few = RadioSnapshot(RADIO, Region.FCC, Band.G5, now, START, telemetry_for(0.6, 2))
    kept = opt.decide(few)
    assert isinstance(kept, Keep) and kept.code == "no_confident_gain"
    assert "2 station(s) are too few to explore" in kept.reason
    bold = _optimizer(settings=replace(WIDE, min_explore_stations=1))
    for k in range(6):
        bold.observe(START, load_index(15), 0.6, T0 + 60 * k)
    explored = bold.decide(few)
    assert isinstance(explored, Proposal) and explored.kind == "explore"


def test_a_cold_radio_whose_observations_are_all_alike_explores_nothing() -> None:
    """Under the prior a 3 dB power step sits on the margin (exploration.py point 2): kept, not explored.

    Measured on small_office: a prior that made such steps safe cost mean QoE (0.985 -> 0.958), with
    exploratory dips up to 0.52. A change to the prior or the margin that flips this is a decision to
    re-measure, not a side effect.
    """
    opt = _optimizer(settings=OptimizerSettings())
    for k in range(10):
        opt.observe(START, load_index(15), 0.8, T0 + 60 * k)
    kept = opt.decide(_snapshot(START, 0.8, T0 + 700))
    assert isinstance(kept, Keep) and kept.code == "nothing_safe"
    assert "best pessimistic gain -0.050" in kept.reason
    wider = _optimizer(settings=OptimizerSettings(safety=SafetySettings(margin=0.06)))
    for k in range(10):
        wider.observe(START, load_index(15), 0.8, T0 + 60 * k)
    explored = wider.decide(_snapshot(START, 0.8, T0 + 700))
    assert isinstance(explored, Proposal) and explored.kind == "explore"
    assert explored.change.tx_power_dbm is not None  # the power step is the nearest move
