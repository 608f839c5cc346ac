"""802.11v steering in the simulated world: who answers how, the move, the pin, and determinism."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from drivers.protocol import ChangeRejected, DriverUnavailable, SteeringOutcome
from drivers.sim.scenario import parse_scenario
from drivers.sim.steering import BTM_COMPLIANCE, STEERING_PIN_S
from drivers.sim.world import SimWorld
from radio_domain.radio import ConfigChange

pytestmark = pytest.mark.unit

MOVED, REJECTED, IGNORED = SteeringOutcome.MOVED, SteeringOutcome.REJECTED, SteeringOutcome.IGNORED


def _radio(band: str, channel: int, power: float = 20.0) -> dict[str, Any]:
    return {"band": band, "channel": channel, "width_mhz": 20, "tx_power_dbm": power}


def _world(seed: int = 5, **top: Any) -> SimWorld:
    """a (2.4 + 5 GHz) next to the clients, b (5 GHz) 30 m away, far (5 GHz) out of reach."""
    data = {
        "format": "rrm-scenario",
        "version": 1,
        "seed": seed,
        "region": "FCC",
        "area_m": [300, 20],
        "duration_s": 3600,
        "shadowing_db": 0,
        "aps": [
            {"id": "a", "x": 10, "y": 10, "radios": [_radio("2g", 1), _radio("5g", 36)]},
            {"id": "b", "x": 40, "y": 10, "radios": [_radio("5g", 149)]},
            {"id": "far", "x": 295, "y": 10, "radios": [_radio("5g", 44)]},
        ],
        "clients": [
            {"id": "c", "x": 14, "y": 10, "band": "5g", "demand_mbps": 5},
            {"id": "old", "x": 14, "y": 10, "band": "5g", "demand_mbps": 5, "supports_btm": False},
            {"id": "legacy", "x": 14, "y": 10, "band": "5g", "demand_mbps": 5, "supports_dfs": False},
            {"id": "dual", "x": 15, "y": 10, "band": "2g", "demand_mbps": 5, "bands": ["2g", "5g"]},
        ],
        **top,
    }
    return SimWorld(parse_scenario(data, "steering-test"))


def _on(world: SimWorld, client_id: str) -> str | None:
    return world.client_link(client_id).radio_id


def _steer_until_moved(world: SimWorld, client_id: str, source: str, target: str) -> list[SteeringOutcome]:
    answers = [world.steer_client(source, client_id, target)]
    while answers[-1] is not MOVED:
        assert len(answers) < 20, answers
        answers.append(world.steer_client(source, client_id, target))
    return answers


@pytest.mark.parametrize(
    ("radio", "client", "target", "match"),
    [
        ("b/5g", "c", "a/2g", r"b/5g: steer: client 'c' is not associated with this radio"),
        ("a/5g", "nobody", "b/5g", r"a/5g: steer: client 'nobody' is not associated"),
        ("a/5g", "c", "z/5g", r"a/5g: steer: client 'c': target radio 'z/5g' does not exist"),
        ("a/5g", "c", "a/5g", r"client 'c': target radio 'a/5g' is the radio it is on"),
    ],
)
def test_a_request_for_a_client_that_is_not_there_is_rejected_naming_it(
    radio: str, client: str, target: str, match: str
) -> None:
    world = _world()
    with pytest.raises(ChangeRejected, match=match):
        world.steer_client(radio, client, target)


def test_an_unknown_or_failed_source_radio_is_unavailable() -> None:
    world = _world(events=[{"kind": "radio_failure", "ap": "a", "band": "5g", "at_s": 1, "duration_s": 60}])
    with pytest.raises(DriverUnavailable, match="nope/5g"):
        world.steer_client("nope/5g", "c", "b/5g")
    world.step(1.0)
    with pytest.raises(DriverUnavailable, match="a/5g: steer: the radio has failed"):
        world.steer_client("a/5g", "c", "b/5g")


def test_a_client_that_cannot_go_there_ignores_the_request() -> None:
    world = _world()
    assert world.steer_client("a/5g", "old", "b/5g") is IGNORED  # no 802.11v
    assert world.steer_client("a/5g", "c", "a/2g") is IGNORED  # a 5 GHz-only client
    assert world.steer_client("a/5g", "c", "far/5g") is IGNORED  # below sensitivity there
    world.apply("b/5g", ConfigChange(channel=52))  # uncleared DFS: b is in its CAC, off air
    assert world.steer_client("a/5g", "c", "b/5g") is IGNORED
    world.step(61.0)
    assert world.config("b/5g").enabled
    assert world.steer_client("a/5g", "legacy", "b/5g") is IGNORED  # b is on DFS now, legacy has none
    world.step(1.0)
    assert {_on(world, cid) for cid in ("c", "old", "legacy")} == {"a/5g"}


def test_a_compliant_client_moves_at_the_next_step_and_stays_pinned_for_120_s() -> None:
    world = _world()
    _steer_until_moved(world, "c", "a/5g", "b/5g")
    assert _on(world, "c") == "a/5g"  # the roam happens at the next step
    world.step(1.0)
    assert _on(world, "c") == "b/5g"
    assert world.radio_state("a/5g").disassociations_total == 1
    assert "c" in {o.client_id for o in world.radio_state("b/5g").clients}
    world.step(STEERING_PIN_S - 1.0)
    assert world.time == STEERING_PIN_S
    assert _on(world, "c") == "b/5g"  # a is much stronger, but the pin holds
    world.step(1.0)
    assert _on(world, "c") == "a/5g"  # the pin ran out: the usual rule brings it back
    assert world.radio_state("b/5g").disassociations_total == 1


def test_a_pin_ends_when_the_link_to_the_target_is_lost() -> None:
    failure = {"kind": "radio_failure", "ap": "b", "band": "5g", "at_s": 10, "duration_s": 10}
    world = _world(events=[failure])
    _steer_until_moved(world, "c", "a/5g", "b/5g")
    world.step(1.0)
    assert _on(world, "c") == "b/5g"
    world.step(9.0)
    assert _on(world, "c") == "a/5g"
    world.step(15.0)
    assert world.config("b/5g").enabled
    assert _on(world, "c") == "a/5g"  # b is back within the 120 s, but the pin is gone


def test_steering_a_sticky_dual_band_client_back_to_5_ghz() -> None:
    world = _world()
    world.apply("a/5g", ConfigChange(tx_power_dbm=5))
    world.step(1.0)
    assert _on(world, "dual") == "a/2g"
    world.apply("a/5g", ConfigChange(tx_power_dbm=20))
    world.step(1.0)
    assert _on(world, "dual") == "a/2g"  # sticky: 5 GHz scores better, but not by the hysteresis
    _steer_until_moved(world, "dual", "a/2g", "a/5g")
    world.step(STEERING_PIN_S + 10.0)
    assert _on(world, "dual") == "a/5g"  # and stays after the pin: now 2.4 GHz is the one inside the hysteresis


def test_most_but_not_all_requests_are_honoured_and_the_answers_follow_the_seed() -> None:
    def answers(seed: int) -> list[SteeringOutcome]:
        world = _world(seed=seed)
        return [world.steer_client("a/5g", "c", "b/5g") for _ in range(400)]

    first, again, other = answers(5), answers(5), answers(6)
    assert first == again
    assert first != other
    counts = Counter(first)
    assert set(counts) == {MOVED, REJECTED}
    assert counts[MOVED] / len(first) == pytest.approx(BTM_COMPLIANCE, abs=0.06)


def test_a_steer_in_a_fork_leaves_the_original_alone() -> None:
    world = _world()
    trial = world.fork()
    _steer_until_moved(trial, "c", "a/5g", "b/5g")
    trial.step(1.0)
    world.step(1.0)
    assert _on(trial, "c") == "b/5g"
    assert _on(world, "c") == "a/5g"
