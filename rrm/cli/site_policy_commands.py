"""`rrm site-policy check|show|example`: the controller's site policy file (controller.site_policy_file)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.site_policy import ApPolicy, PolicyLayer, SitePolicy

EXAMPLE = """\
# rrm site policy: what the controller may change on each AP, layered
#   built-in defaults -> default -> network -> zone -> AP
# each layer overriding only what it names. Check a file with `rrm site-policy check FILE`
# and see what applies to one AP with `rrm site-policy show FILE --ap AP`.
format: rrm-site-policy
version: 1

# Replaces the built-in defaults for everyone. Any subset of a zone's fields may be given.
default:
  safe_zones:
    tx_power_dbm: {min: 5, max: 23, default: 17, step: 1, max_changes_per_hour: 4, requires_approval: false}
    width_mhz: {min: 20, max: 80, default: 40, step: 20}
  limits: {cooldown_s: 60, max_changes_per_ap_per_hour: 6, site_changes_per_hour: 30, max_aps_per_iteration: 3}
  # A list replaces the lower layer's list; [] turns automatic rollbacks off.
  rollback_triggers:
    - {kpi: qoe_mean, threshold: -15, direction: below, window_s: 300, rollback_depth: 1, relative: true}
    - {kpi: packet_error_rate, threshold: 30, direction: above, window_s: 180, relative: true}
  shadow: false

# The whole network: a channel change waits for an operator's approval.
network:
  safe_zones:
    channel: {requires_approval: true}

# Named groups of APs; an AP is in at most one zone.
zones:
  lobby:
    aps: [ap-1, ap-2]
    pins: {channel: 36}          # never changed automatically
    shadow: true                 # the loops record what they would do; nothing is sent
  warehouse:
    aps: [ap-4]
    safe_zones:
      tx_power_dbm: {max: 20}
    limits: {cooldown_s: 300}

# Single APs, applied last.
aps:
  ap-2:
    unpin: [channel]             # the lobby's channel pin does not apply here
  ap-3:
    pins: {tx_power_dbm: 14, width_mhz: current}   # current: keep it as it is now
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("site-policy", help="check a site policy file, show what applies to one AP, print an example")
    site_sub = p.add_subparsers(dest="site_policy_command", required=True, metavar="{check,show,example}")
    check = site_sub.add_parser("check", help="validate a site policy file (YAML or JSON) and summarise it")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_check)
    show = site_sub.add_parser("show", help="the resolved policy of one AP as YAML, and the layer of each value")
    show.add_argument("file", type=Path)
    show.add_argument("--ap", required=True, metavar="AP", help="the AP id")
    show.set_defaults(handler=_show)
    example = site_sub.add_parser("example", help="print a commented example file (passes check)")
    example.set_defaults(handler=_example)


def _load(path: Path) -> SitePolicy:
    """The policy; a SitePolicyError lists every problem (main prints it, exit status 2)."""
    from controller.site_policy_file import load_site_policy

    return load_site_policy(path)


def _check(ns: argparse.Namespace) -> int:
    site = _load(ns.file)
    print(f"{ns.file}: valid site policy; {summary(site)}")
    return 0


def _show(ns: argparse.Namespace) -> int:
    import yaml

    site = _load(ns.file)
    ap_id: str = ns.ap
    layers = [name for name, layer in layers_of(site, ap_id) if not _is_empty(layer)]
    if ap_id not in site.zone_of_ap and ap_id not in site.aps:
        print(f"# {ap_id} is not named in {ns.file} (no zone, no AP layer): only default and network apply")
    print("# set_by: the layer of every value that is not the built-in default")
    data = {
        "ap": ap_id,
        "zone": site.zone_of_ap.get(ap_id),
        "layers": ["built-in", *layers],
        "policy": ap_policy_to_data(site.for_ap(ap_id)),
        "set_by": dict(sorted(policy_sources(site, ap_id).items())),
    }
    print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0


def _example(ns: argparse.Namespace) -> int:
    print(EXAMPLE, end="")
    return 0


def summary(site: SitePolicy) -> str:
    """Counts of zones, named APs, pins set in the file, and distinct rollback triggers in force."""
    aps = sorted(set(site.zone_of_ap) | set(site.aps))
    layers = [site.network, *site.zones.values(), *site.aps.values()]
    pins = len(site.default.pins) + sum(len(layer.pins) for layer in layers)
    network = site.network.apply_to(site.default)
    resolved = [network, *(site.for_ap(ap) for ap in aps)]
    triggers = {t for policy in resolved for t in policy.rollback_triggers}
    shadowed = sum(site.for_ap(ap).shadow for ap in aps)
    return (
        f"{len(site.zones)} zones, {len(aps)} APs named ({shadowed} in shadow mode), {pins} pins, "
        f"{len(triggers)} distinct rollback triggers in force"
        + ("; shadow mode network-wide" if network.shadow else "")
    )


# --- the resolved policy of one AP, and which layer set what ------------------------------------


def ap_policy_to_data(policy: ApPolicy) -> dict[str, Any]:
    """A resolved policy as one layer of the file format (``parse_site_policy`` reads it back)."""
    from controller.site_policy_file import CURRENT, ZONE_FIELDS

    names = {model: key for key, model in ZONE_FIELDS.items()}
    return {
        "safe_zones": {
            p: {names[f.name]: _plain(getattr(z, f.name)) for f in fields(z) if f.name in names}
            for p, z in policy.zones.items()
        },
        "limits": {f.name: _plain(getattr(policy.limits, f.name)) for f in fields(policy.limits)},
        "rollback_triggers": [
            {f.name: _plain(getattr(t, f.name)) for f in fields(t)} for t in policy.rollback_triggers
        ],
        "shadow": policy.shadow,
        "pins": {p: CURRENT if v is None else _plain(v) for p, v in policy.pins.items()},
    }


def layers_of(site: SitePolicy, ap_id: str) -> list[tuple[str, PolicyLayer]]:
    """The file's layers that apply to one AP, lowest first, named by their path in the file."""
    layers = [("default", _as_layer(site.default)), ("network", site.network)]
    if (zone := site.zone_of_ap.get(ap_id)) is not None:
        layers.append((f"zones.{zone}", site.zones[zone]))
    if ap_id in site.aps:
        layers.append((f"aps.{ap_id}", site.aps[ap_id]))
    return layers


def policy_sources(site: SitePolicy, ap_id: str) -> dict[str, str]:
    """Field path (as in ``ap_policy_to_data``) -> the layer that set it; built-in values are left out."""
    from controller.site_policy_file import ZONE_FIELDS

    names = {model: key for key, model in ZONE_FIELDS.items()}
    sources: dict[str, str] = {}
    for layer_name, layer in layers_of(site, ap_id):
        for parameter, overrides in layer.zones.items():
            sources.update({f"safe_zones.{parameter}.{names[k]}": layer_name for k in overrides})
        sources.update({f"limits.{k}": layer_name for k in layer.limits})
        if layer.rollback_triggers is not None:
            sources["rollback_triggers"] = layer_name
        if layer.shadow is not None:
            sources["shadow"] = layer_name
        for parameter in layer.unpins:
            sources.pop(f"pins.{parameter}", None)
        sources.update({f"pins.{p}": layer_name for p in layer.pins})
    return sources


def _as_layer(policy: ApPolicy) -> PolicyLayer:
    """What ``policy`` changes from the built-in defaults, as a layer (the file's ``default`` layer)."""
    from controller.site_policy import ApPolicy, PolicyLayer

    builtin = ApPolicy()
    zones = {}
    for parameter, zone in policy.zones.items():
        base = builtin.zones.get(parameter)
        changed = {f.name: getattr(zone, f.name) for f in fields(zone) if f.name != "parameter"}
        zones[parameter] = {k: v for k, v in changed.items() if base is None or v != getattr(base, k)}
    limits = {f.name: getattr(policy.limits, f.name) for f in fields(policy.limits)}
    return PolicyLayer(
        zones={p: changed for p, changed in zones.items() if changed},
        pins=dict(policy.pins),
        limits={k: v for k, v in limits.items() if v != getattr(builtin.limits, k)},
        rollback_triggers=policy.rollback_triggers if policy.rollback_triggers != builtin.rollback_triggers else None,
        shadow=policy.shadow if policy.shadow != builtin.shadow else None,
    )


def _is_empty(layer: PolicyLayer) -> bool:
    return not (layer.zones or layer.pins or layer.unpins or layer.limits) and (
        layer.rollback_triggers is None and layer.shadow is None
    )


def _plain(value: object) -> object:
    """Enums as their value, whole floats as ints: what an operator would have written."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
