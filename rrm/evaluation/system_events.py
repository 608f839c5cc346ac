"""The emergencies the system evaluation injects over its days: radar hits and non-Wi-Fi interference.

Drawn once from the scenario seed (a stream apart from the world's), so a run is repeatable:

- Radar: one hit every ``radar_every_s`` on average (uniform within each period), on a 5 GHz
  radio that is on a DFS channel at that moment (``SimWorld.trigger_radar``, as hwsim's
  ``dfs_simulate_radar``); when no radio is on a DFS channel the hit is counted as not possible.
- Interference: one burst every ``burst_every_s`` on average, next to an AP picked at random,
  lasting ``burst_s``: a microwave oven on 2.4 GHz or, every other burst, an analogue video
  camera on the AP's initial 5 GHz channel (duty cycle 1), added to the scenario's timeline as
  interferers (drivers/sim/scenario_timeline.py kinds), so the simulator's own detection and
  the agents' event loops see them like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from drivers.sim.scenario_model import Interferer, InterfererKind, Scenario
from drivers.sim.world import SimWorld
from radio_domain import regulatory
from radio_domain.radio import Band

_EVENT_STREAM = 0x73797374


@dataclass(frozen=True, slots=True)
class InjectionPlan:
    radar_at_s: tuple[float, ...]  # simulated seconds since the start
    radar_picks: tuple[float, ...]  # one uniform draw per hit: which of the DFS radios it hits
    bursts: tuple[Interferer, ...]


def injection_plan(
    scenario: Scenario, total_s: float, radar_every_s: float, burst_every_s: float, burst_s: float
) -> InjectionPlan:
    rng = np.random.default_rng([scenario.seed, _EVENT_STREAM])
    radar = _times(rng, total_s, radar_every_s)
    picks = tuple(float(p) for p in rng.random(len(radar)))
    bursts = []
    for k, start in enumerate(_times(rng, total_s, burst_every_s)):
        ap = scenario.aps[int(rng.integers(len(scenario.aps)))]
        five = [r for r in ap.radios if r.band is Band.G5]
        if k % 2 == 1 and five:
            freq, kind, duty, bandwidth = (
                regulatory.center_mhz(Band.G5, five[0].channel),
                InterfererKind.VIDEO_CAMERA,
                1.0,
                18.0,
            )
        else:
            freq, kind, duty, bandwidth = 2450.0, InterfererKind.MICROWAVE, 0.5, 20.0
        bursts.append(
            Interferer(kind, ap.x + 1.0, ap.y + 1.0, freq, duty, start, start + burst_s, 15.0, bandwidth, ap.floor)
        )
    return InjectionPlan(radar, picks, tuple(bursts))


def _times(rng: np.random.Generator, total_s: float, every_s: float) -> tuple[float, ...]:
    if every_s <= 0:
        return ()
    periods = int(total_s // every_s)
    return tuple(float(k * every_s + rng.uniform(0.1, 0.9) * every_s) for k in range(periods))


def with_bursts(scenario: Scenario, plan: InjectionPlan) -> Scenario:
    return replace(scenario, interferers=scenario.interferers + plan.bursts)


def radar_target(world: SimWorld, pick: float) -> str | None:
    """The radio a radar hit lands on: one of those on a DFS channel now, by ``pick`` in [0, 1)."""
    on_dfs = sorted(
        info.radio_id
        for info in world.radios()
        if info.band is Band.G5
        and regulatory.needs_dfs(
            world.region, info.band, world.config(info.radio_id).channel, world.config(info.radio_id).width_mhz
        )
        and world.config(info.radio_id).enabled
    )
    if not on_dfs:
        return None
    return on_dfs[min(len(on_dfs) - 1, int(pick * len(on_dfs)))]
