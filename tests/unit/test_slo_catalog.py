"""The SLO catalog: QoE is computed against it, so a tighter SLO is felt everywhere QoE is read."""

from __future__ import annotations

import numpy as np
import pytest

from controller.site_policy_file import SitePolicyError, parse_site_policy
from drivers.sim.qoe import voice_mos, voice_qoe
from drivers.sim.scenario import load_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from edge_agent.event_detection import client_is_poor
from radio_domain.slo_catalog import DEFAULT_SLO, SloError, TrafficClass

pytestmark = pytest.mark.unit


def test_an_operator_who_tightens_the_voice_slo_scores_the_same_calls_lower() -> None:
    """MOS 3.6 is "fair": 0.74 by default, 0 when the operator says calls below MOS 3.6 are failures."""
    loss, latency = np.array([0.02]), np.array([120.0])
    mos = float(voice_mos(loss, latency)[0])
    tight = DEFAULT_SLO.with_overrides({"voice": {"mos_bad": mos, "mos_good": 4.3}})
    assert voice_qoe(loss, latency)[0] == pytest.approx((mos - 1.0) / 3.5)
    assert voice_qoe(loss, latency, tight.voice)[0] == 0.0


def test_a_latency_budget_for_voice_applies_on_top_of_the_e_model() -> None:
    budget = DEFAULT_SLO.with_overrides({"voice": {"latency_good_ms": 50, "latency_bad_ms": 150}})
    loose, strict = (
        voice_qoe(np.array([0.0]), np.array([100.0])),
        voice_qoe(np.array([0.0]), np.array([100.0]), budget.voice),
    )
    assert strict[0] == pytest.approx(loose[0] * 0.5)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"telepathy": {"mos_good": 4}}, "unknown traffic class 'telepathy'"),
        ({"video": {"frame_rate": 30}}, "slo.video: unknown fields ['frame_rate']"),
        ({"video": {"loss_good": 0.2, "loss_bad": 0.1}}, "slo.video: loss_good <= loss_bad"),
        ({"voice": {"mos_bad": 4.4, "mos_good": 4.0}}, "slo.voice: 1 <= mos_bad < mos_good <= 4.5"),
    ],
)
def test_contradictory_slos_are_refused_naming_the_class_and_field(
    overrides: dict[str, dict[str, float]], message: str
) -> None:
    with pytest.raises(SloError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DEFAULT_SLO.with_overrides(overrides)


def test_the_site_policy_carries_slos_per_layer_and_names_bad_ones() -> None:
    doc = {
        "format": "rrm-site-policy",
        "version": 1,
        "network": {"slo": {"voice": {"mos_bad": 3.1}}},
        "zones": {"lobby": {"aps": ["ap-1"], "slo": {"voice": {"mos_good": 4.0}}}},
    }
    site = parse_site_policy(doc, "site.yaml")
    assert site.network_wide().slo.voice.mos_bad == 3.1 and site.network_wide().slo.voice.mos_good == 4.5
    lobby = site.for_ap("ap-1").slo.voice
    assert (lobby.mos_bad, lobby.mos_good) == (3.1, 4.0)
    doc["zones"] = {"lobby": {"aps": ["ap-1"], "slo": {"voice": {"mos_good": 3.0}}}}  # below the network's 3.1
    with pytest.raises(SitePolicyError, match=r"zones\.lobby\.slo: voice: 1 <= mos_bad < mos_good"):
        parse_site_policy(doc, "site.yaml")


def test_with_a_tighter_voice_slo_the_agents_see_more_clients_in_trouble() -> None:
    """The dense floor's voice clients, one world forked in two: only the SLO differs, and QoE drops."""
    world = SimWorld(load_scenario(shipped_scenario("dense_floor")))
    world.step(1.0)
    voice = [c.id for c in world.scenario.clients if c.traffic is TrafficClass.VOICE]
    assert voice, "the dense floor has voice clients"
    strict = world.fork()
    strict.slo = DEFAULT_SLO.with_overrides({"voice": {"mos_bad": 4.3}})  # calls near MOS 4.38 now score ~0.4
    world.step(1.0)
    strict.step(1.0)
    assert sum(strict.client_qoe()[c] for c in voice) < sum(world.client_qoe()[c] for c in voice)

    def poor(w: SimWorld) -> int:
        return sum(client_is_poor(c, 0.5) for rid in w.radio_ids() for c in w.radio_state(rid).clients)

    assert poor(strict) > poor(world)
