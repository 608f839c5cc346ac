"""The site policy file: strict parsing into a SitePolicy (re-reading it: site_policy_reloader.py).

A YAML (``.yaml``/``.yml``) or JSON file. Four layers, each overriding only what it names
(STYLE.md point 9): ``default`` (replaces the built-in defaults for everyone), ``network``, one
per named ``zones`` entry (a group of APs) and one per AP under ``aps``. Every layer takes the
same keys:

- ``safe_zones``: per parameter (``channel``, ``width_mhz``, ``tx_power_dbm``, ``obss_pd_dbm``:
  site_policy.PARAMETERS) any of ``min``, ``max``, ``default``, ``step``,
  ``max_changes_per_hour`` (0: no limit), ``requires_approval``;
- ``limits``: any field of site_policy.ChangeLimits (``cooldown_s``, ``max_aps_per_iteration``...);
- ``rollback_triggers``: a list that replaces the lower layer's list (``[]``: none), each with
  ``kpi`` (site_policy.Kpi), ``threshold``, ``direction`` (``below``/``above``) and optionally
  ``window_s``, ``rollback_depth`` (>= 1) and ``relative`` (threshold in percent change);
- ``shadow``: true to record what the loops would do without sending anything;
- ``pins``: parameter -> a value, or ``current`` (keep it as it is now); never changed automatically;
- ``unpin``: parameters whose pin from a lower layer no longer applies.

A zone also takes ``aps``, the list of its APs (at least one; an AP is in at most one zone).

Example::

    format: rrm-site-policy
    version: 1
    default:
      safe_zones:
        tx_power_dbm: {min: 5, max: 23, default: 17, step: 1, max_changes_per_hour: 4}
      limits: {cooldown_s: 60, max_changes_per_ap_per_hour: 6, site_changes_per_hour: 30}
      rollback_triggers:
        - {kpi: qoe_mean, threshold: -15, direction: below, window_s: 300, rollback_depth: 1, relative: true}
    network:
      safe_zones:
        channel: {requires_approval: true}
    zones:
      lobby:
        aps: [ap-1, ap-2]
        pins: {channel: 36}
        shadow: true
    aps:
      ap-3:
        pins: {tx_power_dbm: 14, width_mhz: current}
      ap-2:
        unpin: [channel]

Every problem is reported at once, each naming the file and the field path
(``site.yaml: zones.lobby.safe_zones.tx_power_dbm.min: expected a number, got 'x'``). What
only layering can reveal (a default outside its zone once a higher layer moved ``max``, a pin
outside the zone that applies to it) is checked by resolving every named zone and AP once, and
reported at the layer that introduces it. ``rrm site-policy example`` prints a commented file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from controller.site_policy import (
    PARAMETERS,
    ApPolicy,
    ChangeLimits,
    Direction,
    Kpi,
    PolicyLayer,
    RollbackTrigger,
    SafeZone,
    SitePolicy,
)
from radio_domain.slo_catalog import DEFAULT_SLO, SloError, TrafficClass, TrafficSlo
from rrm.strict_fields import (
    Problems,
    join,
    read_bool,
    read_choice,
    read_int,
    read_list,
    read_number,
    read_object,
    read_string,
    type_name,
)

SITE_POLICY_FORMAT = "rrm-site-policy"
SITE_POLICY_VERSION = 1
CURRENT = "current"  # a pin to the value the parameter has now

LAYER_KEYS = ("safe_zones", "limits", "rollback_triggers", "shadow", "pins", "unpin", "slo")
# File key -> SafeZone field.
ZONE_FIELDS = {
    "min": "minimum",
    "max": "maximum",
    "default": "default",
    "step": "step",
    "max_changes_per_hour": "max_changes_per_hour",
    "requires_approval": "requires_approval",
}
_LIMIT_DEFAULTS: Mapping[str, Any] = {f.name: f.default for f in fields(ChangeLimits)}
_TRIGGER_DEFAULTS = RollbackTrigger(Kpi.QOE_MEAN, 0.0, Direction.BELOW)
_MAX_CHANGES_PER_HOUR = 3600  # one a second; the wire field is a uint32


class SitePolicyError(ValueError):
    """A site policy that cannot be used; the message has one line per problem, each naming the
    source and the field path (``site.yaml: aps.ap-3.pins.channel: ...``)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = tuple(errors)


def load_site_policy(path: Path) -> SitePolicy:
    """Read and validate a site policy file: YAML if it ends in .yaml/.yml, JSON otherwise."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SitePolicyError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise SitePolicyError([f"{path}: not a text file: {exc}"]) from None
    is_yaml = path.suffix in (".yaml", ".yml")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader) if is_yaml else json.loads(text, object_pairs_hook=_unique)
    except (yaml.YAMLError, ValueError) as exc:
        raise SitePolicyError(
            [f"{path}: not valid {'YAML' if is_yaml else 'JSON'}: {_decoding_problem(exc)}"]
        ) from None
    return parse_site_policy(data, str(path))


def _decoding_problem(exc: Exception) -> str:
    """One line: where and what, without PyYAML's multi-line excerpt of the text."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return str(exc)


def parse_site_policy(data: object, source: str) -> SitePolicy:
    """Validate decoded data; raise SitePolicyError listing every problem."""
    problems = Problems(source)
    top = read_object(data, "", problems, ("format", "version"), ("default", "network", "zones", "aps"))
    if top is None:
        raise SitePolicyError(problems.lines)
    fmt = read_string(top, "format", "", problems)
    if fmt is not None and fmt != SITE_POLICY_FORMAT:
        problems.add("format", f"expected {SITE_POLICY_FORMAT!r}, got {fmt!r}")
    version = _int(top, "version", "", problems)
    if version is not None and version != SITE_POLICY_VERSION:
        problems.add("version", f"version {version} is not supported; this controller reads {SITE_POLICY_VERSION}")
    default = _top_layer(top, "default", problems)
    network = _top_layer(top, "network", problems)
    zones, zone_of_ap = _zones(top.get("zones", {}), problems)
    aps = _aps(top.get("aps", {}), problems)
    site = SitePolicy(network, zones, zone_of_ap, aps, _apply(default, ApPolicy(), "default", problems))
    _check_layering(site, default, problems)
    if problems.lines:
        raise SitePolicyError(problems.lines)
    return site


# --- parsing one layer -------------------------------------------------------------------------


def _top_layer(top: Mapping[str, object], key: str, problems: Problems) -> PolicyLayer:
    if key not in top:
        return PolicyLayer()
    obj = read_object(top[key], key, problems, (), LAYER_KEYS)
    return _layer(obj, key, problems) if obj is not None else PolicyLayer()


def _layer(obj: Mapping[str, object], path: str, problems: Problems) -> PolicyLayer:
    """The overrides of one layer; a field with a problem is left out (the problem is recorded)."""
    pins = _pins(obj["pins"], join(path, "pins"), problems) if "pins" in obj else {}
    return PolicyLayer(
        zones=_safe_zones(obj["safe_zones"], join(path, "safe_zones"), problems) if "safe_zones" in obj else {},
        pins=pins,
        unpins=_unpins(obj, path, pins, problems),
        limits=_limits(obj["limits"], join(path, "limits"), problems) if "limits" in obj else {},
        rollback_triggers=_triggers(obj, path, problems) if "rollback_triggers" in obj else None,
        shadow=_bool(obj, "shadow", path, problems, False) if "shadow" in obj else None,
        slo=_slo(obj["slo"], join(path, "slo"), problems) if "slo" in obj else {},
    )


def _slo(value: object, path: str, problems: Problems) -> dict[str, dict[str, float]]:
    """Per traffic class, the SLO fields a layer sets; checked against the built-in catalog."""
    classes = [t.value for t in TrafficClass]
    obj = read_object(value, path, problems, (), classes)
    if obj is None:
        return {}
    known = [f.name for f in fields(TrafficSlo)]
    out: dict[str, dict[str, float]] = {}
    for name, entry in obj.items():
        where = join(path, name)
        values = read_object(entry, where, problems, (), known)
        if values is None:
            continue
        numbers = {k: _number(values, k, where, problems, minimum=0.0) for k in values}
        if any(v is None for v in numbers.values()):
            continue
        chosen = {k: float(v) for k, v in numbers.items() if v is not None}
        try:
            DEFAULT_SLO.with_overrides({name: chosen})
        except SloError as exc:
            problems.add(where, str(exc).split(": ", 1)[-1])
            continue
        out[name] = chosen
    return out


def _parameters(value: object, path: str, problems: Problems) -> list[tuple[str, object, str]]:
    """(parameter, value, path) for each entry of an object keyed by parameter."""
    if not isinstance(value, dict):
        problems.add(path, f"expected an object, got {type_name(value)}")
        return []
    entries = []
    for key, entry in value.items():
        where = join(path, str(key))
        if key not in PARAMETERS:
            problems.add(where, f"unknown parameter; expected one of {', '.join(PARAMETERS)}")
        else:
            entries.append((key, entry, where))
    return entries


def _safe_zones(value: object, path: str, problems: Problems) -> dict[str, dict[str, Any]]:
    zones = {}
    for parameter, entry, where in _parameters(value, path, problems):
        seen = len(problems.lines)
        obj = read_object(entry, where, problems, (), ZONE_FIELDS)
        if obj is None:
            continue
        overrides = {ZONE_FIELDS[k]: _zone_field(obj, k, where, problems) for k in ZONE_FIELDS if k in obj}
        if len(problems.lines) == seen:  # a half-valid entry would only cause follow-on problems
            zones[parameter] = overrides
    return zones


def _zone_field(obj: Mapping[str, object], key: str, path: str, problems: Problems) -> float | int | bool | None:
    if key == "step":
        return _number(obj, key, path, problems, minimum=0.0)
    if key == "max_changes_per_hour":
        return _int(obj, key, path, problems, minimum=0, maximum=_MAX_CHANGES_PER_HOUR)
    if key == "requires_approval":
        return _bool(obj, key, path, problems, False)
    return _number(obj, key, path, problems)


def _pins(value: object, path: str, problems: Problems) -> dict[str, float | None]:
    pins: dict[str, float | None] = {}
    for parameter, pin, where in _parameters(value, path, problems):
        if pin == CURRENT:
            pins[parameter] = None
        elif isinstance(pin, bool) or not isinstance(pin, int | float) or not math.isfinite(pin):
            shown = type_name(pin) if not isinstance(pin, str) else repr(pin)
            problems.add(where, f"expected a number or {CURRENT!r}, got {shown}")
        else:
            pins[parameter] = float(pin)
    return pins


def _unpins(obj: Mapping[str, object], path: str, pins: Mapping[str, object], problems: Problems) -> frozenset[str]:
    unpins = set()
    for i, parameter in enumerate(read_list(obj, "unpin", path, problems)):
        where = join(join(path, "unpin"), i)
        if not isinstance(parameter, str) or parameter not in PARAMETERS:
            problems.add(where, f"{parameter!r} is not a parameter; expected one of {', '.join(PARAMETERS)}")
        elif parameter in pins:
            problems.add(where, f"{parameter} is also pinned in this layer's pins; pin it or unpin it, not both")
        else:
            unpins.add(parameter)
    return frozenset(unpins)


def _limits(value: object, path: str, problems: Problems) -> dict[str, float | int]:
    obj = read_object(value, path, problems, (), _LIMIT_DEFAULTS)
    if obj is None:
        return {}
    limits: dict[str, float | int | None] = {}
    for key in (k for k in obj if k in _LIMIT_DEFAULTS):
        if isinstance(_LIMIT_DEFAULTS[key], int):
            limits[key] = _int(obj, key, path, problems, minimum=0)
        elif key.endswith("_dbm"):
            limits[key] = _number(obj, key, path, problems, minimum=-120.0, maximum=0.0)
        else:
            limits[key] = _number(obj, key, path, problems, minimum=0.0)
    return {key: number for key, number in limits.items() if number is not None}


def _triggers(obj: Mapping[str, object], path: str, problems: Problems) -> tuple[RollbackTrigger, ...] | None:
    """The layer's trigger list, or None (the lower layer's list) when any trigger has a problem."""
    seen = len(problems.lines)
    values = read_list(obj, "rollback_triggers", path, problems)
    triggers = [_trigger(v, join(join(path, "rollback_triggers"), i), problems) for i, v in enumerate(values)]
    return tuple(t for t in triggers if t is not None) if len(problems.lines) == seen else None


def _trigger(value: object, path: str, problems: Problems) -> RollbackTrigger | None:
    obj = read_object(
        value, path, problems, ("kpi", "threshold", "direction"), ("window_s", "rollback_depth", "relative")
    )
    if obj is None:
        return None
    d = _TRIGGER_DEFAULTS
    kpi = read_choice(obj, "kpi", path, problems, Kpi)
    threshold = _number(obj, "threshold", path, problems)
    direction = read_choice(obj, "direction", path, problems, Direction)
    window = _number(obj, "window_s", path, problems, default=d.window_s, above=0.0)
    depth = _int(obj, "rollback_depth", path, problems, default=d.rollback_depth, minimum=1)
    relative = _bool(obj, "relative", path, problems, d.relative)
    if kpi is None or threshold is None or direction is None or window is None or depth is None or relative is None:
        return None
    return RollbackTrigger(kpi, threshold, direction, window, depth, relative)


def _quoted(obj: Mapping[str, object], key: str, path: str, problems: Problems, expected: str) -> bool:
    """Whether the field is a string where ``expected`` is needed (reported with the text, e.g. '17')."""
    value = obj.get(key)
    if isinstance(value, str):
        problems.add(join(path, key), f"expected {expected}, got {value!r}")
        return True
    return False


def _number(obj: Mapping[str, object], key: str, path: str, problems: Problems, **bounds: Any) -> float | None:
    return None if _quoted(obj, key, path, problems, "a number") else read_number(obj, key, path, problems, **bounds)


def _int(obj: Mapping[str, object], key: str, path: str, problems: Problems, **bounds: Any) -> int | None:
    return None if _quoted(obj, key, path, problems, "an integer") else read_int(obj, key, path, problems, **bounds)


def _bool(obj: Mapping[str, object], key: str, path: str, problems: Problems, default: bool) -> bool | None:
    return None if _quoted(obj, key, path, problems, "true or false") else read_bool(obj, key, path, problems, default)


# --- zones and APs -----------------------------------------------------------------------------


def _named(value: object, path: str, what: str, problems: Problems) -> list[tuple[str, object, str]]:
    """(name, entry, path) for each entry of an object keyed by zone or AP name."""
    if not isinstance(value, dict):
        problems.add(path, f"expected an object, got {type_name(value)}")
        return []
    entries = []
    for name, entry in value.items():
        where = join(path, str(name))
        if (why := _name_problem(name, what)) is not None:
            problems.add(where, why)
        else:
            entries.append((name, entry, where))
    return entries


def _name_problem(name: object, what: str) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return f"{'an AP id' if what == 'AP' else 'a zone name'} must be a non-empty string, got {name!r}"
    if what == "AP" and "/" in name:
        return f"AP id {name!r} must not contain '/' (radio ids are '<ap>/<band>')"
    return None


def _zones(value: object, problems: Problems) -> tuple[dict[str, PolicyLayer], dict[str, str]]:
    zones: dict[str, PolicyLayer] = {}
    zone_of_ap: dict[str, str] = {}
    for name, entry, path in _named(value, "zones", "zone", problems):
        obj = read_object(entry, path, problems, ("aps",), LAYER_KEYS)
        if obj is None:
            continue
        zones[name] = _layer(obj, path, problems)
        members = read_list(obj, "aps", path, problems)
        if isinstance(obj.get("aps"), list) and not members:
            problems.add(join(path, "aps"), "a zone needs at least one AP")
        for i, ap in enumerate(members):
            where = join(join(path, "aps"), i)
            if (why := _name_problem(ap, "AP")) is not None:
                problems.add(where, why)
            elif (other := zone_of_ap.get(str(ap))) is not None:
                problems.add(where, f"AP {ap!r} is already in zone {other!r}; an AP belongs to at most one zone")
            else:
                zone_of_ap[str(ap)] = name
    return zones, zone_of_ap


def _aps(value: object, problems: Problems) -> dict[str, PolicyLayer]:
    aps: dict[str, PolicyLayer] = {}
    for ap_id, entry, path in _named(value, "aps", "AP", problems):
        obj = read_object(entry, path, problems, (), LAYER_KEYS)
        if obj is not None:
            aps[ap_id] = _layer(obj, path, problems)
    return aps


# --- what only layering reveals ----------------------------------------------------------------


def _check_layering(site: SitePolicy, default: PolicyLayer, problems: Problems) -> None:
    """Resolve every layer once; report each problem at the layer that introduces it."""
    _report_new("default", default, ApPolicy(), site.default, problems)
    network = _apply(site.network, site.default, "network", problems)
    _report_new("network", site.network, site.default, network, problems)
    resolved_zones = {}
    for name, layer in site.zones.items():
        resolved_zones[name] = _apply(layer, network, join("zones", name), problems)
        _report_new(join("zones", name), layer, network, resolved_zones[name], problems)
    for ap_id, layer in site.aps.items():
        zone = site.zone_of_ap.get(ap_id)
        below = resolved_zones[zone] if zone is not None else network
        resolved = _apply(layer, below, join("aps", ap_id), problems)
        _report_new(join("aps", ap_id), layer, below, resolved, problems)


def _apply(layer: PolicyLayer, below: ApPolicy, path: str, problems: Problems) -> ApPolicy:
    """``layer`` over ``below``; an SLO that contradicts the one below is a problem of this layer."""
    try:
        return layer.apply_to(below)
    except SloError as exc:
        problems.add(join(path, "slo"), str(exc).removeprefix("slo.").removeprefix("slo: "))
        return replace(layer, slo={}).apply_to(below)


def _report_new(path: str, layer: PolicyLayer, below: ApPolicy, policy: ApPolicy, problems: Problems) -> None:
    inherited = set(_policy_problems(below).items())
    for (kind, parameter), message in _policy_problems(policy).items():
        if ((kind, parameter), message) in inherited:
            continue  # reported where it came from
        if kind == "pin" and parameter in layer.pins:
            problems.add(join(join(path, "pins"), parameter), f"pin {message}")
        elif kind == "pin":
            problems.add(join(join(path, "safe_zones"), parameter), f"the pin from a lower layer, {message}")
        else:
            problems.add(join(join(path, "safe_zones"), parameter), message)


def _policy_problems(policy: ApPolicy) -> dict[tuple[str, str], str]:
    """("zone" | "pin", parameter) -> what is wrong with the resolved policy."""
    found = {}
    for parameter, zone in policy.zones.items():
        if zone.minimum > zone.maximum:
            found["zone", parameter] = f"min {zone.minimum:g} is above max {zone.maximum:g}"
        elif (why := _outside(zone, zone.default)) is not None:
            found["zone", parameter] = f"default {why}"
    for parameter, pin in policy.pins.items():
        if pin is not None and ("zone", parameter) not in found and (why := _outside(policy.zone(parameter), pin)):
            found["pin", parameter] = why
    return found


def _outside(zone: SafeZone, value: float) -> str | None:
    if not zone.minimum <= value <= zone.maximum:
        return f"{value:g} is outside the safe zone [{zone.minimum:g}, {zone.maximum:g}]"
    if zone.violation(value) is not None:
        return f"{value:g} is not on the safe zone's step grid ({zone.step:g} from min {zone.minimum:g})"
    return None


# --- strict decoding: a key given twice is an error, not "the last one wins" ---------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"found the key {key!r} twice in one object")
        out[key] = value
    return out
