"""The ACS-like channel evidence: busy estimates from a neighbour scan, and a cold model that trusts it."""

from __future__ import annotations

import pytest

from controller.fast_loop.candidates import SafeValues, on_ladder
from controller.fast_loop.channel_evidence import ChannelEvidence, HeardBss
from controller.fast_loop.exploration import ChangeBudget, SafetySettings
from controller.fast_loop.optimizer import FastLoopOptimizer, OptimizerSettings, Proposal
from controller.fast_loop.synthetic import telemetry_for
from controller.fast_loop.telemetry import RadioSnapshot
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

RADIO = "ap-1/2g"
T0 = 1_767_225_600.0
CROWDED = RadioConfig(1, 20, 20.0, -82)
# Two of our BSSs share channel 1 with the radio, loud; channel 11 holds one quiet unmanaged BSS.
SCAN = (HeardBss(1, 20, -60.0, 0.35), HeardBss(1, 20, -65.0, 0.30), HeardBss(11, 20, -80.0, None))
NO_EXPLORING = OptimizerSettings(safety=SafetySettings(explore_per_day=0), settle_observations=1)


def evidence(measured_busy: float = 0.7) -> ChannelEvidence:
    return ChannelEvidence(Region.FCC, Band.G2, 1, 20, measured_busy, SCAN)


def test_busy_counts_co_channel_airtime_partial_overlap_and_what_only_the_radio_measured() -> None:
    """Co-channel BSSs take their airtime, an adjacent one part of it, the unexplained busy stays put."""
    ev = evidence(measured_busy=0.8)
    assert ev.busy(1, 20) == pytest.approx(0.8)  # 0.65 heard + 0.15 only measured there
    assert ev.busy(6, 20) == pytest.approx(0.0)  # nothing heard overlaps channel 6
    assert ev.busy(11, 20) == pytest.approx(0.3)  # an unmanaged BSS: unknown airtime, taken as 0.3
    assert 0.0 < ev.busy(3, 20) < ev.busy(1, 20)  # half overlapping channel 1
    assert ev.prior_reward([6, 1], [20, 20])[0] > ev.prior_reward([6, 1], [20, 20])[1]


def _cold(evidence: ChannelEvidence | None) -> FastLoopOptimizer:
    opt = FastLoopOptimizer(RADIO, Region.FCC, Band.G2, seed=1, settings=NO_EXPLORING, budget=ChangeBudget(10**6))
    for k in range(4):
        opt.observe(CROWDED, 0.5, 0.55, T0 + 60.0 * k, evidence)
    return opt


def _snapshot(evidence: ChannelEvidence | None, config: RadioConfig = CROWDED) -> RadioSnapshot:
    return RadioSnapshot(
        RADIO, Region.FCC, Band.G2, T0 + 300.0, config, telemetry_for(0.55, 15), SafeValues(), evidence
    )


def test_a_cold_model_moves_to_a_clearly_cleaner_channel_only_with_evidence() -> None:
    """Without evidence nothing is confidently better; with the scan the clean channel is a safe gain."""
    assert _cold(None).propose(_snapshot(None)) is None
    opt = _cold(evidence())
    proposal = opt.propose(_snapshot(evidence()))
    assert isinstance(proposal, Proposal)
    assert proposal.kind == "improve"
    assert proposal.target.channel != 1
    assert evidence().busy(proposal.target.channel, 20) < 0.2
    assert proposal.predicted_gain > 0.1 and proposal.predicted_mean <= 1.0


def test_an_off_ladder_power_does_not_turn_a_channel_move_into_two_parameters() -> None:
    """18 dBm snaps to 17 for the trust region: a cold radio can still move its channel."""
    off_ladder = RadioConfig(1, 20, 18.0, -82)
    assert on_ladder(off_ladder, SafeValues()).tx_power_dbm == 17.0
    opt = FastLoopOptimizer(RADIO, Region.FCC, Band.G2, seed=1, settings=NO_EXPLORING, budget=ChangeBudget(10**6))
    for k in range(4):
        opt.observe(off_ladder, 0.5, 0.55, T0 + 60.0 * k, evidence())
    proposal = opt.propose(_snapshot(evidence(), off_ladder))
    assert isinstance(proposal, Proposal)
    assert proposal.target.channel != 1
    assert proposal.target.tx_power_dbm in SafeValues().tx_powers_dbm
