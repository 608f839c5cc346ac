"""On the simulator, the slow loop's plan keeps radios off the channel of the camera they reported.

dense_floor has an analog video camera on 2.4 GHz channel 1 from 120 s, at (10, 40) m; the radios
near it report NON_WIFI_BURST events. The evaluation's PlanDriver keeps them (NonWifiMemory) and
the heuristic plans with them: no radio that heard the camera loudly is moved onto its spectrum.
"""

from __future__ import annotations

from controller.slow_loop.heuristic_planner import HeuristicPlanner
from drivers.sim.scenario import load_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from radio_domain.regulatory import span_mhz
from rrm.evaluation.slow_loop_eval import SlowLoopEvalOptions
from rrm.evaluation.slow_loop_plans import PlanDriver

LOUD_DBM = -65.0


def test_the_heuristic_moves_no_radio_that_heard_the_camera_loudly_onto_its_channel() -> None:
    world = SimWorld(load_scenario(shipped_scenario("dense_floor")))
    options = SlowLoopEvalOptions()
    driver = PlanDriver(world, HeuristicPlanner(seed=7), options.site, options.execution, options.schedule)
    for _ in range(60):  # one hour: the first plan starts at 600 s and is carried out in steps
        driver.after_step(world.step(60.0))
    loud = {s.radio_id: s for s in driver.non_wifi.sightings if s.level_dbm >= LOUD_DBM and s.kind == "video_camera"}
    assert {"ap-13/2g", "ap-14/2g", "ap-19/2g"} <= set(loud), sorted(loud)
    assert driver.tally.changes > 0
    for change in driver.tally.applied:
        camera = loud.get(change.radio_id)
        if camera is None:
            continue
        span = span_mhz(world.region, change.band, change.after.channel, change.after.width_mhz)
        assert not camera.overlaps(span), (change.radio_id, change.after, camera)
