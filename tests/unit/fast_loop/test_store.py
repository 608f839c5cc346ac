from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from controller.fast_loop.exploration import ChangeBudget
from controller.fast_loop.optimizer import FastLoopOptimizer, Proposal
from controller.fast_loop.store import FastLoopStore
from controller.fast_loop.synthetic import SyntheticLandscape, telemetry_for
from controller.fast_loop.telemetry import RadioSnapshot
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region
from tests.unit.fast_loop.test_optimizer import EAGER, START, T0

pytestmark = pytest.mark.unit


def test_observations_state_and_budget_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fast_loop.db"
    store = FastLoopStore.open(path)
    land = SyntheticLandscape(Region.FCC, Band.G5, 5)
    live = FastLoopOptimizer("ap-9/5g", Region.FCC, Band.G5, seed=4, settings=EAGER, budget=ChangeBudget(10))
    config = START
    rng = np.random.default_rng(5)
    for i in range(30):
        now = T0 + 300 * i
        reward = land.sample(config, 0.5, rng)
        store.append("ap-9/5g", live.observe(config, 0.5, reward, now))
        proposal = live.propose(RadioSnapshot("ap-9/5g", Region.FCC, Band.G5, now, config, telemetry_for(reward, 15)))
        if isinstance(proposal, Proposal):
            live.applied(proposal, now)
            store.record_change("ap-9", "ap-9/5g", now)
            config = proposal.target
        store.save_state("ap-9/5g", live.state)
    store.close()

    reopened = FastLoopStore(sqlite3.connect(path))
    now = T0 + 300 * 30
    restored = reopened.load_optimizer(
        "ap-9/5g", Region.FCC, Band.G5, seed=4, settings=EAGER, budget=reopened.load_budget("ap-9", now, 10)
    )
    assert restored.observations == live.observations
    assert restored.state == live.state
    assert restored.budget.times == live.budget.times
    snapshot = RadioSnapshot("ap-9/5g", Region.FCC, Band.G5, now, config, telemetry_for(0.6, 15))
    assert restored.decide(snapshot) == live.decide(snapshot)
    configs = [START, RadioConfig(40, 40, 14.0, -72)]
    assert restored.predict(configs, 0.5) == live.predict(configs, 0.5)
