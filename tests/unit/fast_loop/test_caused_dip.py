"""The dip a change caused, on forks of the simulated world: the change's effect alone."""

from __future__ import annotations

import pytest

from drivers.sim.world import SimWorld
from radio_domain.radio import ConfigChange
from rrm.cli.scenario_resolution import resolve_scenario
from rrm.evaluation.fast_loop_counterfactual import caused_dip

pytestmark = pytest.mark.unit


def _world() -> SimWorld:
    scenario, _ = resolve_scenario("small_office")
    world = SimWorld(scenario)
    world.step(60.0)
    return world


def test_a_change_to_nothing_causes_no_dip_and_the_world_is_untouched() -> None:
    world = _world()
    before = (world.time, world.config("ap-1/5g"), world.network_qoe())
    dip = caused_dip(world, "ap-1/5g", ConfigChange(), window_s=120.0, step_s=10.0)
    assert dip.reward == pytest.approx(0.0, abs=1e-12)
    assert dip.network_qoe == pytest.approx(0.0, abs=1e-12)
    assert (world.time, world.config("ap-1/5g"), world.network_qoe()) == before


def test_a_harmful_change_shows_as_a_caused_loss() -> None:
    """ap-3/5g from 80 to 20 MHz: its clients lose three quarters of their rate, so does the network."""
    world = _world()
    dip = caused_dip(world, "ap-3/5g", ConfigChange(width_mhz=20), window_s=120.0, step_s=10.0)
    assert dip.reward > 0.05, dip
    assert dip.network_qoe > 0.0, dip
