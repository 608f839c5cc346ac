"""Random search, the fast-loop evaluation's baseline behind the planner's optimiser interface.

At each of its radio's iterations it proposes one uniformly random legal, safe-zone
configuration other than the current one (``candidate_table``: the same space the BO searches,
without a trust region), under the same daily change budget per AP, the same guardrails and the
same rollback rule (the planner applies both), and like the BO it does not propose a target it
was rolled back from in the last 24 h. It claims the site's minimum gain (it has no
model), so the hysteresis guardrail does not single it out. All draws come from one seeded
generator.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from controller.fast_loop.candidates import candidate_table
from controller.fast_loop.channel_evidence import ChannelEvidence
from controller.fast_loop.exploration import ChangeBudget, SafetySettings
from controller.fast_loop.optimizer import Keep, Proposal
from controller.fast_loop.planner import config_change
from controller.fast_loop.reward import load_index, radio_reward
from controller.fast_loop.telemetry import RadioSnapshot
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

RECENT_S = 600.0
HOLD_S = 86_400.0


class RandomSearch:
    """A random legal, safe config per iteration (module docstring)."""

    def __init__(self, radio_id: str, region: Region, band: Band, *, seed: int, budget: ChangeBudget) -> None:
        self.radio_id = radio_id
        self.region = region
        self.band = band
        self.budget = budget
        self._rng = np.random.default_rng(seed)
        self._claimed_gain = SafetySettings().min_gain
        self._last_change_s: float | None = None
        self._held: dict[RadioConfig, float] = {}  # rolled-back target -> barred until

    def observe(
        self, config: RadioConfig, load: float, reward: float, now_s: float, evidence: ChannelEvidence | None = None
    ) -> None:
        """Random search learns nothing."""

    def decide(self, snapshot: RadioSnapshot) -> Proposal | Keep:
        breakdown = radio_reward(snapshot.telemetry)
        if breakdown is None:
            return Keep(self.radio_id, "no_clients", "no client in the window")
        if not self.budget.allows(snapshot.now_s):
            return Keep(
                self.radio_id, "daily_budget", f"AP used its {self.budget.max_per_day} changes of the last 24 h"
            )
        table = candidate_table(self.region, self.band, snapshot.safe)
        current = table.index_of(snapshot.config)
        held = [c for c, until in self._held.items() if until > snapshot.now_s]
        barred = table.keys_in((c.channel, c.width_mhz, c.tx_power_dbm, c.obss_pd_dbm) for c in held)
        rows = [i for i in range(len(table)) if i != current and not barred[i]]
        if not rows:
            return Keep(self.radio_id, "no_candidates", "no other legal, safe config")
        target = table.config(int(rows[int(self._rng.integers(len(rows)))]), enabled=snapshot.config.enabled)
        return Proposal(
            radio_id=self.radio_id,
            kind="random",
            baseline=snapshot.config,
            target=target,
            change=config_change(snapshot.config, target),
            load=load_index(snapshot.telemetry.station_count),
            measured_reward=breakdown.reward,
            current_mean=breakdown.reward,
            predicted_mean=breakdown.reward + self._claimed_gain,
            predicted_std=0.0,
            predicted_lcb=breakdown.reward,
            predicted_gain=self._claimed_gain,
            gain_confidence=0.5,
            expected_improvement=0.0,
            trust_radius=0,
            observations=0,
            candidates_scored=len(rows),
        )

    def applied(self, proposal: Proposal, now_s: float) -> None:
        self.budget.record(now_s)
        self._last_change_s = now_s

    def rolled_back(self, target: RadioConfig, now_s: float) -> None:
        self._held = {c: until for c, until in self._held.items() if until > now_s}
        self._held[replace(target, enabled=True)] = now_s + HOLD_S

    def changed_recently(self, now_s: float, within_s: float = RECENT_S) -> bool:
        return self._last_change_s is not None and now_s - self._last_change_s < within_s
