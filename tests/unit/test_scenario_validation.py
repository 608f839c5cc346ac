"""Scenario files are validated strictly; every problem is reported at once with its field path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from drivers.sim.scenario import (
    DensitySpike,
    InterfererKind,
    RadioFailure,
    ScenarioError,
    TrafficClass,
    load_scenario,
    parse_scenario,
)
from radio_domain.radio import Band
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit


def _valid() -> dict[str, Any]:
    return {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 7,
        "region": "FCC",
        "area_m": [100, 50],
        "duration_s": 600,
        "walls": [{"x1": 50, "y1": 0, "x2": 50, "y2": 50, "loss_db": 4}],
        "aps": [
            {
                "id": "ap-1",
                "x": 10,
                "y": 10,
                "radios": [
                    {"band": "2g", "channel": 1, "width_mhz": 20, "tx_power_dbm": 17},
                    {"band": "5g", "channel": 52, "width_mhz": 80, "tx_power_dbm": 20},
                ],
            },
            {
                "id": "ap-2",
                "x": 60,
                "y": 10,
                "radios": [{"band": "5g", "channel": 149, "width_mhz": 40, "tx_power_dbm": 20}],
            },
            {
                "id": "ap-3",
                "x": 90,
                "y": 40,
                "radios": [{"band": "2g", "channel": 6, "width_mhz": 20, "tx_power_dbm": 17}],
            },
        ],
        "clients": [
            {"id": "c1", "x": 12, "y": 12, "band": "5g", "demand_mbps": 10},
            {"id": "c2", "x": 62, "y": 12, "band": "2g", "demand_mbps": 2, "traffic": "voice"},
        ],
        "interferers": [
            {"kind": "microwave", "x": 40, "y": 40, "freq_mhz": 2450, "duty_cycle": 0.5, "start_s": 10, "stop_s": 50},
            {"kind": "radar", "x": 20, "y": 20, "freq_mhz": 5290, "duty_cycle": 0.001, "start_s": 100, "stop_s": 101},
        ],
    }


def _errors(data: object) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "office.json")
    lines = str(caught.value).splitlines()
    assert lines == list(caught.value.errors)
    assert all(line.startswith("office.json: ") for line in lines)
    return lines


def test_a_valid_scenario_parses_with_documented_defaults() -> None:
    scenario = parse_scenario(_valid(), "office.json")
    assert scenario.region is Region.FCC
    assert scenario.area_m == (100.0, 50.0)
    assert scenario.floors == 1
    assert scenario.floor_height_m == 3.5
    assert scenario.shadowing_db == 5.0
    ap = scenario.aps[0]
    assert ap.floor == 0
    assert ap.radios[1].band is Band.G5
    assert ap.radios[1].obss_pd_dbm == -82
    assert scenario.clients[0].traffic is TrafficClass.BEST_EFFORT
    assert scenario.clients[1].traffic is TrafficClass.VOICE
    oven, radar = scenario.interferers
    assert oven.kind is InterfererKind.MICROWAVE
    assert oven.power_dbm == 15.0
    assert oven.bandwidth_mhz == 20.0
    assert radar.kind is InterfererKind.RADAR
    assert radar.active_at(100.5)
    assert not radar.active_at(101.0)


def test_optional_keys_are_read() -> None:
    data = _valid() | {
        "name": "office",
        "description": "two floors",
        "floors": 2,
        "floor_height_m": 4.0,
        "shadowing_db": 0,
        "demand_variation": 0,
        "events": [
            {"kind": "radio_failure", "ap": "ap-1", "band": "5g", "at_s": 30, "duration_s": 60},
            {
                "kind": "density_spike",
                "x": 5,
                "y": 5,
                "floor": 1,
                "band": "2g",
                "clients": 8,
                "demand_mbps": 1,
                "start_s": 0,
                "stop_s": 9,
            },
        ],
    }
    data["aps"][0]["floor"] = 1
    data["aps"][0]["radios"][1]["obss_pd_dbm"] = -72
    data["interferers"].append({"kind": "video_camera", "x": 1, "y": 1, "freq_mhz": 2412, "floor": 1, "power_dbm": 10})
    scenario = parse_scenario(data, "office.json")
    assert scenario.name == "office"
    assert scenario.floors == 2
    assert scenario.shadowing_db == 0.0
    assert scenario.aps[0].floor == 1
    assert scenario.aps[0].radios[1].obss_pd_dbm == -72
    assert scenario.radio_failures == (RadioFailure("ap-1", Band.G5, 30.0, 60.0),)
    assert scenario.density_spikes == (DensitySpike(5.0, 5.0, Band.G2, 8, 1.0, 0.0, 9.0, 1),)
    camera = scenario.interferers[-1]
    assert camera.duty_cycle == 1.0
    assert camera.bandwidth_mhz == 18.0
    assert camera.power_dbm == 10.0
    assert camera.stop_s == float("inf")


def test_client_capabilities_default_to_a_modern_single_band_client_and_are_read() -> None:
    data = _valid()
    data["clients"][1] |= {"bands": ["2g", "5g", "6g"], "supports_dfs": False, "supports_btm": False}
    plain, legacy = parse_scenario(data, "office.json").clients
    assert (plain.bands, plain.supports_dfs, plain.supports_btm) == ((Band.G5,), True, True)
    assert legacy.band is Band.G2
    assert legacy.bands == (Band.G2, Band.G5, Band.G6)  # 6g need not be served: a 6 GHz phone in a 5 GHz building
    assert (legacy.supports_dfs, legacy.supports_btm) == (False, False)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set("colour", "blue"), "colour: unknown key"),
        (_set("aps.0.radios.0.power", 3), "aps[0].radios[0].power: unknown key"),
        (_delete("aps.1.x"), "aps[1].x: required key is missing"),
        (_delete("duration_s"), "duration_s: required key is missing"),
        (_set("seed", "7"), "seed: expected an integer, got a string"),
        (_set("aps.0.x", True), "aps[0].x: expected a number, got a boolean"),
        (_set("aps.0.radios", {}), "aps[0].radios: expected a list, got an object"),
        (_set("format", "other"), "format: expected 'rrm-scenario'"),
        (_set("version", 2), "version: version 2 is not supported"),
        (_set("region", "US"), "region: 'US' is not one of FCC, ETSI, JP"),
        (_set("area_m", [100]), "area_m: expected [width, height]"),
        (_set("aps.0.radios.0.channel", 14), "aps[0].radios[0].channel: channel 14 is not a legal 2g channel in FCC"),
        (_set("aps.1.radios.0.channel", 165), "aps[1].radios[0].channel: channel 165"),
        (_set("aps.0.radios.0.width_mhz", 80), "aps[0].radios[0].width_mhz: width 80 MHz is not supported on 2g"),
        (
            _set("aps.0.radios.1.tx_power_dbm", 24),
            "aps[0].radios[1].tx_power_dbm: tx power 24 dBm is outside 1..23 dBm",
        ),
        (_set("aps.0.radios.1.tx_power_dbm", 0), "aps[0].radios[1].tx_power_dbm: tx power 0 dBm is outside"),
        (_set("aps.0.radios.1.obss_pd_dbm", -90), "aps[0].radios[1].obss_pd_dbm: must be at least -82"),
        (
            _set("aps.0.radios.1", {"band": "2g", "channel": 6, "width_mhz": 20, "tx_power_dbm": 10}),
            "aps[0].radios[1].band: this AP already has a 2g radio",
        ),
        (_set("clients.0.demand_mbps", -1), "clients[0].demand_mbps: must be at least 0, got -1"),
        (_set("clients.0.traffic", "gaming"), "clients[0].traffic: 'gaming' is not one of"),
        (_set("interferers.0.duty_cycle", 1.5), "interferers[0].duty_cycle: must be at most 1, got 1.5"),
        (_set("aps.2.x", 101), "aps[2].x: must be at most 100, got 101"),
        (_set("clients.1.y", -2), "clients[1].y: must be at least 0, got -2"),
        (_set("walls.0.x2", 500), "walls[0].x2: must be at most 100"),
        (_set("interferers.0.stop_s", 5), "interferers[0].stop_s: stop_s 5 is before start_s 10"),
        (_set("aps.1.id", "ap-1"), "aps[1].id: duplicate AP id 'ap-1' (first at aps[0])"),
        (_set("clients.1.id", "c1"), "clients[1].id: duplicate client id 'c1'"),
        (_set("clients.0.band", "6g"), "clients[0].band: no AP has a 6g radio"),
        (_set("interferers.1.freq_mhz", 5100), "interferers[1].freq_mhz: radar at 5100 MHz is outside the DFS range"),
        (_set("interferers.0.freq_mhz", 3000), "interferers[0].freq_mhz: 3000 MHz is in no Wi-Fi band"),
        (_set("interferers.0.kind", "bluetooth"), "interferers[0].kind: 'bluetooth' is not one of"),
        (_set("clients.0.floor", 1), "clients[0].floor: must be at most 0, got 1"),
        (_set("clients.0.supports_dfs", "no"), "clients[0].supports_dfs: expected true or false, got a string"),
        (_set("clients.0.supports_btm", 1), "clients[0].supports_btm: expected true or false, got an integer"),
        (_set("clients.0.bands", "5g"), "clients[0].bands: expected a list of bands (2g, 5g, 6g), got a string"),
        (_set("clients.0.bands", []), "clients[0].bands: a client needs at least one band"),
        (_set("clients.0.bands", ["5g", "7g"]), "clients[0].bands[1]: '7g' is not one of 2g, 5g, 6g"),
        (_set("clients.0.bands", ["5g", "5g"]), "clients[0].bands[1]: 5g is listed twice"),
        (_set("clients.0.bands", ["2g"]), "clients[0].bands: the client's band 5g must be one of its bands (2g)"),
        (_set("clients.0.supports_11v", True), "clients[0].supports_11v: unknown key"),
        (_set("aps.0.id", "ap/1"), "aps[0].id: AP id 'ap/1' must not contain '/'"),
        (_set("duration_s", 0), "duration_s: must be greater than 0"),
        (_set("events", [{"kind": "earthquake"}]), "events[0].kind: expected 'radio_failure' or 'density_spike'"),
        (
            _set("events", [{"kind": "radio_failure", "ap": "ap-9", "band": "5g", "at_s": 1, "duration_s": 1}]),
            "events[0].ap: no AP has id 'ap-9'",
        ),
        (
            _set("events", [{"kind": "radio_failure", "ap": "ap-2", "band": "2g", "at_s": 1, "duration_s": 1}]),
            "events[0].band: AP 'ap-2' has no 2g radio",
        ),
        (
            _set("interferers", [{"kind": "neighbor_bss", "x": 1, "y": 1, "freq_mhz": 5750}]),
            "interferers[0].freq_mhz: a neighbour BSS needs the centre of a legal 5g channel",
        ),
        (
            _set("interferers", [{"kind": "video_camera", "x": 1, "y": 1}]),
            "interferers[0].freq_mhz: required key is missing",
        ),
    ],
)
def test_each_rule_names_the_field_path(mutate: Mutation, expected: str) -> None:
    data = copy.deepcopy(_valid())
    mutate(data)
    errors = _errors(data)
    assert any(f"office.json: {expected}" in line for line in errors), errors


def test_tx_power_is_checked_against_the_regions_limit() -> None:
    data = _valid() | {"region": "ETSI"}
    data["aps"][1]["radios"][0]["channel"] = 36  # 149 is not an ETSI channel
    data["aps"][0]["radios"][0]["tx_power_dbm"] = 21
    errors = _errors(data)
    assert errors == [
        "office.json: aps[0].radios[0].tx_power_dbm: tx power 21 dBm is outside 1..20 dBm "
        "(the ETSI limit for 2g channel 1 at 20 MHz, and the radio's 23 dBm)"
    ]


def test_all_problems_are_reported_together_one_per_line() -> None:
    data = _valid()
    data["aps"][0]["radios"][0]["channel"] = 14
    data["clients"][0]["demand_mbps"] = -3
    data["interferers"][1]["freq_mhz"] = 2400
    data["extra"] = 1
    errors = _errors(data)
    assert len(errors) == 4
    assert [e.split(": ")[1] for e in errors] == [
        "extra",
        "aps[0].radios[0].channel",
        "clients[0].demand_mbps",
        "interferers[1].freq_mhz",
    ]


@pytest.mark.parametrize("data", [None, [], "scenario", 3])
def test_data_that_is_not_an_object_is_an_error_not_a_traceback(data: object) -> None:
    assert _errors(data)[0].startswith("office.json: expected an object")


def test_files_load_as_json_or_yaml_and_bad_files_say_where(tmp_path: Path) -> None:
    as_json = tmp_path / "office.json"
    as_json.write_text(json.dumps(_valid()))
    as_yaml = tmp_path / "office.yaml"
    as_yaml.write_text(yaml.safe_dump(_valid()))
    assert load_scenario(as_json) == load_scenario(as_yaml)
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "rrm-scenario",\n "version": }')
    with pytest.raises(ScenarioError, match=r"broken.json: line 2, column 13: not valid JSON"):
        load_scenario(broken)
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("aps: [1, 2\nclients: {")
    with pytest.raises(ScenarioError, match=r"bad.yml: line \d+, column \d+: not valid YAML"):
        load_scenario(bad_yaml)
    with pytest.raises(ScenarioError, match=r"missing\.json: cannot read the file"):
        load_scenario(tmp_path / "missing.json")
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(_valid() | {"seed": -1}))
    with pytest.raises(ScenarioError, match=r"invalid.json: seed: must be at least 0, got -1"):
        load_scenario(invalid)
