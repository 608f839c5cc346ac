"""The slow-loop gymnasium environment: determinism, legal candidates, the blast radius."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from controller.slow_loop.candidate_channels import assignment_problems
from controller.slow_loop.dfs_cost import in_non_occupancy
from controller.slow_loop.move_candidates import CandidateSettings, Move
from controller.slow_loop.site_plan import RadioAssignment
from drivers.sim.scenario import load_scenario, shipped_scenario
from drivers.sim.scenario_model import Scenario
from radio_domain import regulatory
from radio_domain.radio import RadioConfig
from rrm.evaluation.site_env import EnvSettings, SiteEnv

SHORT = EnvSettings(steps_per_episode=3, window_s=120.0, tick_s=60.0, warmup_s=60.0)


@pytest.fixture(scope="module")
def office() -> Scenario:
    return load_scenario(shipped_scenario("small_office"))


def _run(env: SiteEnv, seed: int, steps: int) -> tuple[list[float], list[np.ndarray]]:
    observation, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    rewards: list[float] = []
    seen = [observation["candidates"]]
    for _ in range(steps):
        observation, reward, _, _, _ = env.step(env.action_space.sample())
        rewards.append(reward)
        seen.append(observation["candidates"])
    return rewards, seen


def test_same_seed_same_episode(office: Scenario) -> None:
    """Two environments reset with one seed and given the same actions give the same episode."""
    first_rewards, first_seen = _run(SiteEnv(office, SHORT), 7, 3)
    second_rewards, second_seen = _run(SiteEnv(office, SHORT), 7, 3)
    assert first_rewards == second_rewards
    assert all(np.array_equal(a, b) for a, b in zip(first_seen, second_seen, strict=True))


def test_other_seed_other_world(office: Scenario) -> None:
    """A different seed draws a different world (shadowing, demand), so the episode differs."""
    first, _ = _run(SiteEnv(office, SHORT), 7, 2)
    other, _ = _run(SiteEnv(office, SHORT), 8, 2)
    assert first != other


def test_every_candidate_is_legal(office: Scenario) -> None:
    """Each offered move passes the plans' independent check: region, width, power, capability, NOP."""
    env = SiteEnv(office, SHORT)
    _, info = env.reset(seed=3, options={"scramble": 4})
    view = info["view"]
    offered = [m for m in view.rows if m is not None]
    assert offered
    for move in offered:
        node = view.graph.nodes[move.radio_id]
        assert assignment_problems(view.graph.region, node, move.assignment, view.now) == []


def test_no_candidate_on_a_channel_in_non_occupancy(office: Scenario) -> None:
    """After radar on ap-2's DFS channel, none of that radio's candidates touches its NOP channels."""
    env = SiteEnv(office, SHORT)
    env.reset(seed=3)
    radar_group = env.world.radio("ap-2/5g").group(office.region)
    env.world.trigger_radar("ap-2/5g")
    _, _, _, _, info = env.step(np.zeros(3, dtype=np.int64))
    view = info["view"]
    node = view.graph.nodes["ap-2/5g"]
    assert node.non_occupancy, "the radar should have started a non-occupancy period"
    moves = [m for m in view.rows if m is not None and m.radio_id == "ap-2/5g"]
    assert moves
    for move in moves:
        group = regulatory.bonding_group(office.region, node.band, move.assignment.channel, move.assignment.width_mhz)
        assert not in_non_occupancy(node, group, view.now)
        assert not set(group) & set(radar_group)


def test_a_step_changes_at_most_three_aps(office: Scenario) -> None:
    """Over random actions, no step changes more than three APs, and each change is legal."""
    env = SiteEnv(office, EnvSettings(steps_per_episode=6, window_s=60.0, tick_s=60.0))
    env.reset(seed=5, options={"scramble": 3})
    env.action_space.seed(5)
    for _ in range(6):
        before = {r: env.world.config(r) for r in env.world.radio_ids()}
        _, _, _, _, info = env.step(env.action_space.sample())
        changed = {r for r in before if env.world.radio(r).setting != _setting(before[r])}
        changed_aps = {r.split("/")[0] for r in changed}
        assert len(changed_aps) <= 3
        assert {m.radio_id for m in info["applied"]} >= changed - _radar_moved(env)
        for radio_id in changed:
            c = env.world.config(radio_id)
            band = env.world.radio(radio_id).band
            regulatory.check_config(office.region, band, c.channel, c.width_mhz, c.tx_power_dbm)


def test_an_empty_row_is_refused_and_penalised(office: Scenario) -> None:
    """A slot naming a row without a move is a violation: nothing is applied, the reward pays for it."""
    settings = EnvSettings(steps_per_episode=2, window_s=60.0, tick_s=60.0, candidates=CandidateSettings(1, ()))
    env = SiteEnv(office, settings)
    _, info = env.reset(seed=2)
    empty = next(k for k, m in enumerate(info["view"].rows) if m is None)
    _, reward, _, _, info = env.step(np.array([empty + 1, 0, 0]))
    assert info["applied"] == ()
    assert info["outcome"].violations == 1
    assert reward == pytest.approx(100.0 * info["outcome"].mean_qoe - settings.reward.violation)


def test_step_moves_refuses_a_fourth_ap(office: Scenario) -> None:
    """Moves given directly may not touch more than three APs: the fourth is a violation."""
    env = SiteEnv(office, SHORT)
    _, info = env.reset(seed=2)
    graph = info["view"].graph
    moves = [
        Move(r, graph.nodes[r].ap_id, RadioAssignment(graph.nodes[r].config.channel, 20, 10.0))
        for r in ("ap-1/2g", "ap-2/2g", "ap-3/2g", "ap-4/2g")
    ]
    _, _, _, _, info = env.step_moves(moves)
    assert len({m.ap_id for m in info["applied"]}) == 3
    assert info["outcome"].violations == 1


def _setting(config: RadioConfig) -> RadioConfig:
    return replace(config, enabled=True)


def _radar_moved(env: SiteEnv) -> set[str]:
    """Radios the scenario's radar moved (the AP's own move, not the environment's)."""
    return {r for r in env.world.radio_ids() if env.world.non_occupancy(r)}
