"""The change planner's state survives a controller restart: a watched change is still judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.fast_loop.intents import RollBack
from controller.fast_loop.planner import ChangePlanner, PlannerSettings
from controller.fast_loop.store import FastLoopStore
from radio_domain.regulatory import Region
from tests.unit.fast_loop.test_planner import (
    BASELINE,
    RADIO,
    T0,
    TARGET,
    ScriptedOptimiser,
    iterate,
    only,
    send_first_change,
)


def fresh_planner(optimiser: ScriptedOptimiser) -> ChangePlanner:
    planner = ChangePlanner(Region.FCC, PlannerSettings(observation_s=120.0, rollback_margin=0.02), start_s=T0)
    planner.add_radio(RADIO, optimiser)
    return planner


def test_a_change_watched_before_a_restart_is_rolled_back_after_it(tmp_path: Path) -> None:
    """Send, persist, restart (new planner, new store connection), then a worse reward rolls it back."""
    optimiser = ScriptedOptimiser()
    before = fresh_planner(optimiser)
    sent = send_first_change(before)
    store = FastLoopStore.open(tmp_path / "fast_loop.db")
    store.save_plan(RADIO, before.plan_state(RADIO))
    store.save_serial("site", before.serial)
    store.close()

    store = FastLoopStore.open(tmp_path / "fast_loop.db")
    after = fresh_planner(ScriptedOptimiser(applied_at=[T0]))
    saved = store.load_plan(RADIO)
    assert saved is not None
    after.restore(RADIO, saved)
    after.restore_serial(store.load_serial("site"))
    store.close()

    assert after.watching(RADIO)
    assert after.window_start(RADIO) == before.window_start(RADIO) == T0
    assert after.next_due(RADIO) == before.next_due(RADIO)
    back = only(iterate(after, T0 + 120.0, TARGET, 0.70), RollBack)
    assert isinstance(back, RollBack)
    assert back.change_id == sent.change_id
    assert back.change.apply_to(TARGET) == BASELINE
    assert back.record.baseline_reward == pytest.approx(0.80)  # measured before the restart
    assert after.serial == before.serial  # the next change id is new, not a reuse


def test_a_restored_planner_without_saved_state_starts_fresh(tmp_path: Path) -> None:
    """No saved row: nothing is watched and the radio is due at the planner's start."""
    store = FastLoopStore.open(tmp_path / "fast_loop.db")
    assert store.load_plan(RADIO) is None
    assert store.load_serial("site") == 0
    planner = fresh_planner(ScriptedOptimiser())
    assert not planner.watching(RADIO)
    assert planner.due(T0) == [RADIO]
    store.close()
