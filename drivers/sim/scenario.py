"""Scenario files: a floor or building with APs, clients, walls, interferers and events.

Format (JSON, or YAML for .yaml/.yml), ``"format": "rrm-scenario", "version": 1``::

    {"format": "rrm-scenario", "version": 1, "seed": 7, "region": "FCC"|"ETSI"|"JP",
     "area_m": [w, h], "duration_s": 1800,
     "walls": [{"x1", "y1", "x2", "y2", "loss_db"}],
     "aps": [{"id", "x", "y", "radios": [{"band": "2g"|"5g"|"6g", "channel", "width_mhz", "tx_power_dbm"}]}],
     "clients": [{"id", "x", "y", "band", "demand_mbps", "bands"?, "supports_dfs"?, "supports_btm"?}],
     "interferers": [{"kind": "microwave"|"video_camera"|"radar"|"neighbor_bss", "x", "y", "freq_mhz",
                      "duty_cycle", "start_s", "stop_s"}]}

Required: format, version, seed (integer ≥ 0), region, area_m, aps (at least one), clients,
duration_s; per wall x1, y1, x2, y2, loss_db; per AP id, x, y, radios; per radio band, channel,
width_mhz, tx_power_dbm; per client id, x, y, band, demand_mbps; per interferer kind, x, y and
freq_mhz (except a microwave oven, which defaults to 2450 MHz).

Optional keys and their defaults:
    top level: ``name`` (""), ``description`` (""), ``walls`` ([]), ``interferers`` ([]),
        ``floors`` (1), ``floor_height_m`` (3.5), ``shadowing_db`` (log-normal σ, 5; 0 disables
        shadowing), ``demand_variation`` (σ of the per-step log-normal demand noise, 0.1; 0 keeps
        demands fixed), ``events`` ([]), a list of
        ``{"kind": "radio_failure", "ap", "band", "at_s", "duration_s"}`` and
        ``{"kind": "density_spike", "x", "y", "floor"?, "band", "clients", "demand_mbps", "start_s", "stop_s"}``
        (all keys but ``floor`` required).
    per AP, client, wall, interferer: ``floor`` (0; 0 ≤ floor < floors).
    per radio: ``obss_pd_dbm`` (−82, i.e. spatial reuse off; −82..−62).
    per client: ``traffic``: ``best_effort`` | ``video`` | ``voice`` (best_effort);
        ``bands``: every band the client can use, e.g. ``["2g", "5g"]`` ([its ``band``]; ``band``
        must be one of them, the others need not be served). The client joins the best radio
        over all its bands (drivers.sim.association: strongest beacon, 3 dB hysteresis, a
        preference for 5 and 6 GHz while the link there is good);
        ``supports_dfs`` (true): false for a legacy client that cannot use DFS channels, which
        never joins a radio whose occupied channels need DFS (it goes elsewhere or is unserved);
        ``supports_btm`` (true): whether it answers 802.11v BSS transition management requests
        (steering; drivers.sim.steering).
    per interferer: ``duty_cycle``, ``power_dbm`` (EIRP) and ``bandwidth_mhz`` with defaults per
        kind (microwave 0.5 / 15 dBm / 20 MHz; video_camera 1.0 / 15 dBm / 18 MHz; radar
        0.001 / 40 dBm / 1 MHz; neighbor_bss 0.3 / 20 dBm / 20 MHz, rf-model.md section 7);
        ``start_s`` (0) and ``stop_s`` (never).

Validation is strict and reports every problem at once, one per line, each naming the source and
the field path: ``office.json: aps[2].radios[0].channel: channel 14 is not a legal 2g channel in FCC``
(the full list of checks is in drivers.sim.scenario_parsing and drivers.sim.scenario_timeline).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from drivers.sim.scenario_model import (
    AccessPoint,
    Client,
    DensitySpike,
    Interferer,
    InterfererKind,
    RadioFailure,
    RadioSetup,
    Scenario,
    ScenarioError,
    ScenarioEvent,
    Wall,
)
from drivers.sim.scenario_parsing import parse_scenario_data
from radio_domain.slo_catalog import TrafficClass

__all__ = [
    "AccessPoint",
    "Client",
    "DensitySpike",
    "Interferer",
    "InterfererKind",
    "RadioFailure",
    "RadioSetup",
    "Scenario",
    "ScenarioError",
    "ScenarioEvent",
    "TrafficClass",
    "Wall",
    "list_shipped_scenarios",
    "load_scenario",
    "parse_scenario",
    "shipped_scenario",
]

SHIPPED_DIR = Path(__file__).resolve().parent / "scenarios"


def parse_scenario(data: object, source: str) -> Scenario:
    """Validate decoded JSON/YAML data; ``source`` names it in error messages.

    Raises:
        ScenarioError: listing every problem, one per line.
    """
    return parse_scenario_data(data, source)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (.json, or .yaml/.yml).

    Raises:
        ScenarioError: the file cannot be read or decoded, or its content is invalid.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{source}: cannot read the file: {exc}"]) from None
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            raise ScenarioError([f"{source}: {where}not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                [f"{source}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"]
            ) from None
    return parse_scenario(data, source)


def list_shipped_scenarios() -> dict[str, Path]:
    """The scenarios shipped with the simulator, by name (file stem)."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.json"))}


def shipped_scenario(name: str) -> Path:
    """The path of a shipped scenario; raises ScenarioError naming the choices when unknown."""
    shipped = list_shipped_scenarios()
    if name not in shipped:
        raise ScenarioError([f"{name}: no shipped scenario has this name; shipped: {', '.join(sorted(shipped))}"])
    return shipped[name]
