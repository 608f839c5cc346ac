"""The site policy file: layering, strict errors with field paths, hot reload, the agents' zones."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller import site_policy_file
from controller.site_policy import DEFAULT_TRIGGERS, DEFAULT_ZONES, ApPolicy, ChangeLimits, Direction, Kpi, SafeZone
from controller.site_policy_file import SitePolicyError, load_site_policy, parse_site_policy
from controller.site_policy_reloader import SitePolicyReloader
from controller.site_policy_wire import zones_update
from edge_agent.policy_book import PolicyBook
from rrm.cli.site_policy_commands import EXAMPLE, ap_policy_to_data, policy_sources
from rrm.v1 import agent_link_pb2 as pb

pytestmark = pytest.mark.unit


def doc(**layers: Any) -> dict[str, Any]:
    return {"format": "rrm-site-policy", "version": 1, **layers}


def problems_of(data: object) -> list[str]:
    with pytest.raises(SitePolicyError) as caught:
        parse_site_policy(data, "site.yaml")
    assert str(caught.value).splitlines() == list(caught.value.errors)
    return list(caught.value.errors)


LAYERED = doc(
    default={"safe_zones": {"tx_power_dbm": {"max": 23}}, "limits": {"cooldown_s": 90}},
    network={"safe_zones": {"tx_power_dbm": {"min": 5}}, "shadow": True},
    zones={
        "lobby": {
            "aps": ["ap-1", "ap-2"],
            "safe_zones": {"tx_power_dbm": {"default": 12}},
            "pins": {"channel": 36, "width_mhz": "current"},
        }
    },
    aps={"ap-1": {"safe_zones": {"tx_power_dbm": {"max_changes_per_hour": 1}}, "shadow": False, "unpin": ["channel"]}},
)


def test_each_layer_overrides_only_what_it_names() -> None:
    site = parse_site_policy(LAYERED, "site.yaml")
    ap1 = site.for_ap("ap-1")
    assert ap1.zone("tx_power_dbm") == SafeZone("tx_power_dbm", 5, 23, 12, step=1, max_changes_per_hour=1)
    assert {p: ap1.zone(p) for p in ("channel", "width_mhz", "obss_pd_dbm")} == {
        p: DEFAULT_ZONES[p] for p in ("channel", "width_mhz", "obss_pd_dbm")
    }
    assert ap1.limits == ChangeLimits(cooldown_s=90)
    assert ap1.rollback_triggers == DEFAULT_TRIGGERS
    assert (ap1.shadow, site.for_ap("ap-2").shadow) == (False, True)
    assert site.for_ap("ap-2").zone("tx_power_dbm") == SafeZone(
        "tx_power_dbm", 5, 23, 12, step=1, max_changes_per_hour=4
    )


def test_an_ap_outside_every_zone_gets_default_and_network() -> None:
    site = parse_site_policy(LAYERED, "site.yaml")
    elsewhere = site.for_ap("ap-9")
    assert elsewhere.zone("tx_power_dbm") == SafeZone("tx_power_dbm", 5, 23, 17, step=1, max_changes_per_hour=4)
    assert (elsewhere.pins, elsewhere.shadow) == ({}, True)


def test_the_default_layer_replaces_the_built_in_defaults() -> None:
    site = parse_site_policy(LAYERED, "site.yaml")
    assert site.default == ApPolicy(
        zones={**DEFAULT_ZONES, "tx_power_dbm": SafeZone("tx_power_dbm", 1, 23, 17, step=1, max_changes_per_hour=4)},
        limits=ChangeLimits(cooldown_s=90),
    )


def test_pins_merge_per_parameter_and_unpin_lifts_a_lower_layers_pin() -> None:
    site = parse_site_policy(LAYERED, "site.yaml")
    assert site.for_ap("ap-2").pins == {"channel": 36.0, "width_mhz": None}  # None: as it is now
    assert site.for_ap("ap-1").pins == {"width_mhz": None}
    repinned = parse_site_policy(
        {**LAYERED, "aps": {"ap-2": {"pins": {"channel": 44}}}},
        "site.yaml",
    )
    assert repinned.for_ap("ap-2").pins == {"channel": 44.0, "width_mhz": None}


def test_rollback_triggers_replace_the_lower_list_and_an_empty_list_means_none() -> None:
    trigger = {"kpi": "retry_rate", "threshold": 40, "direction": "above", "window_s": 120, "rollback_depth": 2}
    site = parse_site_policy(
        doc(network={"rollback_triggers": [trigger]}, aps={"ap-1": {"rollback_triggers": []}}), "site.yaml"
    )
    (only,) = site.for_ap("ap-2").rollback_triggers
    assert (only.kpi, only.threshold, only.direction, only.window_s, only.rollback_depth, only.relative) == (
        Kpi.RETRY_RATE,
        40.0,
        Direction.ABOVE,
        120.0,
        2,
        False,
    )
    assert site.for_ap("ap-1").rollback_triggers == ()


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    bad = {
        "format": "rrm-policy",
        "version": 2,
        "colour": "blue",
        "network": {
            "safe_zones": {
                "tx_power_dbm": {"min": "x", "maximum": 3},
                "beamforming": {"min": 1},
                "width_mhz": {"step": -20},
            },
            "limits": {"cooldown_s": -1, "site_changes_per_hour": 2.5},
            "shadow": "yes",
            "rollback_triggers": [
                {"kpi": "happiness", "threshold": 1, "direction": "sideways", "window_s": -5, "rollback_depth": 0}
            ],
        },
        "zones": {
            "lobby": {"aps": ["ap-1", "ap-2"]},
            "hall": {"aps": ["ap-2"], "pins": {"channel": "36"}},
            "empty": {"aps": []},
            "nameless": {"pins": {}},
        },
        "aps": {"ap/1": {}, "ap-3": {"unpin": ["power"], "speed": 1}},
    }
    assert problems_of(bad) == [
        "site.yaml: colour: unknown key; expected one of aps, default, format, network, version, zones",
        "site.yaml: format: expected 'rrm-site-policy', got 'rrm-policy'",
        "site.yaml: version: version 2 is not supported; this controller reads 1",
        "site.yaml: network.safe_zones.beamforming: unknown parameter; expected one of channel, width_mhz, "
        "tx_power_dbm, obss_pd_dbm",
        "site.yaml: network.safe_zones.tx_power_dbm.maximum: unknown key; expected one of default, max, "
        "max_changes_per_hour, min, requires_approval, step",
        "site.yaml: network.safe_zones.tx_power_dbm.min: expected a number, got 'x'",
        "site.yaml: network.safe_zones.width_mhz.step: must be at least 0, got -20",
        "site.yaml: network.limits.cooldown_s: must be at least 0, got -1",
        "site.yaml: network.limits.site_changes_per_hour: expected an integer, got a number",
        "site.yaml: network.rollback_triggers[0].kpi: 'happiness' is not one of qoe_mean, qoe_p5, "
        "packet_error_rate, retry_rate, cca_busy, throughput_mbps, stations",
        "site.yaml: network.rollback_triggers[0].direction: 'sideways' is not one of below, above",
        "site.yaml: network.rollback_triggers[0].window_s: must be greater than 0, got -5",
        "site.yaml: network.rollback_triggers[0].rollback_depth: must be at least 1, got 0",
        "site.yaml: network.shadow: expected true or false, got 'yes'",
        "site.yaml: zones.hall.pins.channel: expected a number or 'current', got '36'",
        "site.yaml: zones.hall.aps[0]: AP 'ap-2' is already in zone 'lobby'; an AP belongs to at most one zone",
        "site.yaml: zones.empty.aps: a zone needs at least one AP",
        "site.yaml: zones.nameless.aps: required key is missing",
        "site.yaml: aps.ap/1: AP id 'ap/1' must not contain '/' (radio ids are '<ap>/<band>')",
        "site.yaml: aps.ap-3.speed: unknown key; expected one of limits, pins, rollback_triggers, safe_zones, "
        "shadow, slo, unpin",
        "site.yaml: aps.ap-3.unpin[0]: 'power' is not a parameter; expected one of channel, width_mhz, "
        "tx_power_dbm, obss_pd_dbm",
    ]


def test_what_only_layering_reveals_is_reported_once_where_it_is_introduced() -> None:
    bad = doc(
        default={"pins": {"channel": 36}},
        network={"safe_zones": {"tx_power_dbm": {"max": 10}, "obss_pd_dbm": {"min": -60}}},  # default 17; min > max
        zones={
            "lobby": {
                "aps": ["ap-1"],
                "safe_zones": {"channel": {"max": 11, "default": 6}},
            },  # the pin to 36 no longer fits
            "hall": {"aps": ["ap-2"], "safe_zones": {"width_mhz": {"default": 50}}},  # off the 20 MHz grid
        },
        aps={
            "ap-1": {"pins": {"width_mhz": 200}},
            "ap-2": {"safe_zones": {"tx_power_dbm": {"default": 9}}},  # fixes what the network broke
            "ap-3": {},  # inherits the network's problems: not reported again
        },
    )
    assert problems_of(bad) == [
        "site.yaml: network.safe_zones.tx_power_dbm: default 17 is outside the safe zone [1, 10]",
        "site.yaml: network.safe_zones.obss_pd_dbm: min -60 is above max -62",
        "site.yaml: zones.lobby.safe_zones.channel: the pin from a lower layer, 36 is outside the safe zone [1, 11]",
        "site.yaml: zones.hall.safe_zones.width_mhz: default 50 is not on the safe zone's step grid (20 from min 20)",
        "site.yaml: aps.ap-1.pins.width_mhz: pin 200 is outside the safe zone [20, 160]",
    ]


def test_a_default_moved_by_an_ap_outside_its_zone_names_the_ap() -> None:
    bad = doc(aps={"ap-1": {"safe_zones": {"tx_power_dbm": {"default": 31}}}})
    assert problems_of(bad) == [
        "site.yaml: aps.ap-1.safe_zones.tx_power_dbm: default 31 is outside the safe zone [1, 30]"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "site.yaml: expected an object, got a list"),
        (None, "site.yaml: expected an object, got null"),
        (doc(zones=[]), "site.yaml: zones: expected an object, got a list"),
        (doc(zones={"lobby": {"aps": "ap-1"}}), "site.yaml: zones.lobby.aps: expected a list, got a string"),
        (doc(zones={"lobby": {"aps": [7]}}),
         "site.yaml: zones.lobby.aps[0]: an AP id must be a non-empty string, got 7"),
        (doc(zones={"": {"aps": ["ap-1"]}}), "site.yaml: zones.: a zone name must be a non-empty string, got ''"),
        (doc(network={"pins": {"channel": True}}),
         "site.yaml: network.pins.channel: expected a number or 'current', got a boolean"),
        (doc(network={"unpin": ["channel"], "pins": {"channel": 1}}),
         "site.yaml: network.unpin[0]: channel is also pinned in this layer's pins; pin it or unpin it, not both"),
        (doc(network={"safe_zones": {"channel": {"max_changes_per_hour": 4000}}}),
         "site.yaml: network.safe_zones.channel.max_changes_per_hour: must be at most 3600, got 4000"),
        (doc(network={"limits": {"neighbour_rssi_dbm": 10}}),
         "site.yaml: network.limits.neighbour_rssi_dbm: must be at most 0, got 10"),
        (doc(network={"rollback_triggers": [{"kpi": "qoe_mean", "direction": "below"}]}),
         "site.yaml: network.rollback_triggers[0].threshold: required key is missing"),
    ],
)  # fmt: skip
def test_one_problem_one_line(data: object, expected: str) -> None:
    assert problems_of(data) == [expected]


def test_a_broken_field_does_not_cause_follow_on_problems() -> None:
    """A zone entry with a bad field is left out whole, so its default is not checked against half of it."""
    assert problems_of(doc(network={"safe_zones": {"tx_power_dbm": {"max": "ten", "default": 25}}})) == [
        "site.yaml: network.safe_zones.tx_power_dbm.max: expected a number, got 'ten'"
    ]


def write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(mtime_ns, mtime_ns))  # distinct stamps even on a coarse-mtime file system


GOOD = "format: rrm-site-policy\nversion: 1\nnetwork: {shadow: true}\n"
BROKEN = "format: rrm-site-policy\nversion: 1\nnetwork: {shadow: maybe}\n"
FIXED = "format: rrm-site-policy\nversion: 1\nnetwork: {shadow: false}\n"


def test_the_reloader_keeps_the_last_good_policy_on_a_broken_edit_and_takes_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    write(path, GOOD, 1_000_000_000)
    reloader = SitePolicyReloader(path)
    good = reloader.current
    assert good.for_ap("ap-1").shadow is True
    assert not reloader.changed()

    write(path, BROKEN, 2_000_000_000)
    assert reloader.changed()
    error = reloader.reload()
    assert error == f"{path}: network.shadow: expected true or false, got 'maybe'"
    assert reloader.current is good
    assert not reloader.changed()  # the broken file is not re-read on every poll

    write(path, FIXED, 3_000_000_000)
    assert reloader.changed()
    assert reloader.reload() is None
    assert reloader.current.for_ap("ap-1").shadow is False
    assert not reloader.changed()


def test_the_reloader_keeps_the_policy_when_the_file_disappears(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    write(path, GOOD, 1_000_000_000)
    reloader = SitePolicyReloader(path)
    path.unlink()
    assert reloader.changed()
    error = reloader.reload()
    assert error is not None
    assert error.startswith(f"{path}: cannot read")
    assert reloader.current.for_ap("ap-1").shadow is True


def test_the_reloader_keeps_the_policy_when_the_file_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    write(path, GOOD, 1_000_000_000)
    reloader = SitePolicyReloader(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    error = reloader.reload()
    assert error is not None
    assert error.startswith(f"{path}: not a text file")
    assert reloader.current.for_ap("ap-1").shadow is True


def test_the_reloader_refuses_a_bad_first_file(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(BROKEN)
    with pytest.raises(SitePolicyError, match=r"network\.shadow"):
        SitePolicyReloader(path)


def test_json_and_yaml_read_the_same_and_a_key_given_twice_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "site.json").write_text(json.dumps(LAYERED))
    (tmp_path / "site.yml").write_text(yaml.safe_dump(LAYERED))
    assert load_site_policy(tmp_path / "site.json") == load_site_policy(tmp_path / "site.yml")
    (tmp_path / "twice.yaml").write_text("format: rrm-site-policy\nversion: 1\naps:\n  ap-1: {}\n  ap-1: {}\n")
    with pytest.raises(SitePolicyError) as caught:
        load_site_policy(tmp_path / "twice.yaml")
    assert (
        str(caught.value) == f"{tmp_path / 'twice.yaml'}: not valid YAML: line 5, column 3: found the key 'ap-1' twice"
    )
    (tmp_path / "twice.json").write_text('{"format": "rrm-site-policy", "version": 1, "aps": {}, "aps": {}}')
    with pytest.raises(SitePolicyError, match="found the key 'aps' twice"):
        load_site_policy(tmp_path / "twice.json")


def test_zones_update_round_trips_through_the_agents_policy_book() -> None:
    site = parse_site_policy(LAYERED, "site.yaml")
    policy = site.for_ap("ap-1")
    update = zones_update(policy, ["ap-1/5g", "ap-1/2g"])
    book = PolicyBook(sqlite3.connect(":memory:"))
    book.update(update)
    expected = [zone.as_limit() for _, zone in sorted(policy.zones.items())]
    assert book.zones_for("ap-1/5g") == book.zones_for("ap-1/2g") == expected
    assert book.zones_for("ap-2/5g") == []


def test_zones_update_carries_approval_and_names_the_update_by_its_radios_and_zones() -> None:
    approval = parse_site_policy(doc(network={"safe_zones": {"channel": {"requires_approval": True}}}), "s")
    update = pb.PolicyUpdate.FromString(zones_update(approval.for_ap("ap-1"), []).SerializeToString())
    assert [z.parameter for z in update.safe_zones if z.requires_approval] == ["channel"]
    assert list(update.radio_ids) == []
    assert zones_update(approval.for_ap("ap-2"), []).policy_id == update.policy_id
    assert zones_update(approval.for_ap("ap-2"), ["ap-2/5g"]).policy_id != update.policy_id  # its own command id
    assert zones_update(ApPolicy(), []).policy_id != update.policy_id


def test_the_documented_examples_are_valid() -> None:
    assert site_policy_file.__doc__ is not None
    block = site_policy_file.__doc__.split("Example::\n")[1].split("\n\n")[0]
    documented = parse_site_policy(yaml.safe_load(textwrap.dedent(block)), "docstring")
    assert documented.for_ap("ap-3").pins == {"tx_power_dbm": 14.0, "width_mhz": None}
    example = parse_site_policy(yaml.safe_load(EXAMPLE), "example")
    assert example.for_ap("ap-2").pins == {}
    assert example.for_ap("ap-1").pins == {"channel": 36.0}


def test_a_resolved_policy_reads_back_as_the_default_layer() -> None:
    site = parse_site_policy(yaml.safe_load(EXAMPLE), "example")
    for ap in ("ap-1", "ap-2", "ap-3", "ap-4", "ap-9"):
        policy = site.for_ap(ap)
        assert parse_site_policy(doc(default=ap_policy_to_data(policy)), "back").default == policy


def test_sources_name_the_layer_that_set_each_value() -> None:
    site = parse_site_policy(LAYERED, "site.yaml")
    assert policy_sources(site, "ap-1") == {
        "safe_zones.tx_power_dbm.max": "default",
        "limits.cooldown_s": "default",
        "safe_zones.tx_power_dbm.min": "network",
        "shadow": "aps.ap-1",
        "safe_zones.tx_power_dbm.default": "zones.lobby",
        "pins.width_mhz": "zones.lobby",
        "safe_zones.tx_power_dbm.max_changes_per_hour": "aps.ap-1",
    }
