"""Turning decoded scenario data into a validated Scenario, collecting every problem.

Checks, each reported with the field path: unknown keys, missing keys, wrong types; format and
version; region; channel, width and tx power legal for the band and region (asked of
radio_domain.regulatory; tx power also within 1..23 dBm, the simulated hardware); OBSS-PD within
−82..−62; positions inside area_m and floors within ``floors``; demand ≥ 0; unique ids; one radio
per band per AP; a client band some AP serves; client ``bands`` distinct and including ``band``,
capability flags booleans. Interferers and events: scenario_timeline.
"""

from __future__ import annotations

from collections.abc import Mapping

from drivers.sim.scenario_context import (
    ParseContext,
    read_client_bands,
    read_floor,
    read_position,
    read_served_band,
)
from drivers.sim.scenario_model import (
    SCENARIO_FORMAT,
    SCENARIO_VERSION,
    AccessPoint,
    Client,
    RadioSetup,
    Scenario,
    ScenarioError,
    Wall,
)
from drivers.sim.scenario_timeline import check_spike_ids, parse_event, parse_interferer
from drivers.sim.sim_radio import HARDWARE_MAX_TX_DBM, HARDWARE_MIN_TX_DBM
from radio_domain import regulatory
from radio_domain.radio import OBSS_PD_MAX_DBM, OBSS_PD_OFF_DBM, Band
from radio_domain.regulatory import Region
from radio_domain.slo_catalog import TrafficClass
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
)

_TOP_REQUIRED = ("format", "version", "seed", "region", "area_m", "aps", "clients", "duration_s")
_TOP_OPTIONAL = (
    "walls", "interferers", "events", "name", "description", "floors", "floor_height_m", "shadowing_db",
    "demand_variation",
)  # fmt: skip


def parse_scenario_data(data: object, source: str) -> Scenario:
    """Validate decoded data; raise ScenarioError listing every problem."""
    problems = Problems(source)
    top = read_object(data, "", problems, _TOP_REQUIRED, _TOP_OPTIONAL)
    if top is None:
        raise ScenarioError(problems.lines)
    ctx = ParseContext(problems)
    fmt = read_string(top, "format", "", problems)
    if fmt is not None and fmt != SCENARIO_FORMAT:
        problems.add("format", f"expected {SCENARIO_FORMAT!r}, got {fmt!r}")
    version = read_int(top, "version", "", problems)
    if version is not None and version != SCENARIO_VERSION:
        problems.add("version", f"version {version} is not supported; this simulator reads version {SCENARIO_VERSION}")
    seed = read_int(top, "seed", "", problems, minimum=0)
    ctx.region = read_choice(top, "region", "", problems, Region)
    ctx.area = _read_area(top, problems)
    ctx.floors = read_int(top, "floors", "", problems, 1, minimum=1) or 1
    floor_height = read_number(top, "floor_height_m", "", problems, 3.5, above=0.0)
    shadowing = read_number(top, "shadowing_db", "", problems, 5.0, minimum=0.0, maximum=30.0)
    variation = read_number(top, "demand_variation", "", problems, 0.1, minimum=0.0, maximum=1.0)
    duration = read_number(top, "duration_s", "", problems, above=0.0)
    name = read_string(top, "name", "", problems, "")
    description = read_string(top, "description", "", problems, "")
    walls = [_wall(v, join("walls", i), ctx) for i, v in enumerate(read_list(top, "walls", "", problems))]
    aps = _access_points(read_list(top, "aps", "", problems), ctx)
    clients = [_client(v, join("clients", i), ctx) for i, v in enumerate(read_list(top, "clients", "", problems))]
    _check_unique([c.id if c else None for c in clients], "clients", "client", problems)
    interferers = [
        parse_interferer(v, join("interferers", i), ctx)
        for i, v in enumerate(read_list(top, "interferers", "", problems))
    ]
    events = [parse_event(v, join("events", i), ctx) for i, v in enumerate(read_list(top, "events", "", problems))]
    check_spike_ids(events, {c.id for c in clients if c}, problems)
    if problems.lines:
        raise ScenarioError(problems.lines)
    # Every reader that returned None recorded a problem, so none of these is None here.
    assert seed is not None
    assert ctx.region is not None
    assert ctx.area is not None
    assert duration is not None
    assert floor_height is not None
    assert shadowing is not None
    assert variation is not None
    return Scenario(
        seed=seed,
        region=ctx.region,
        area_m=ctx.area,
        aps=tuple(a for a in aps if a),
        clients=tuple(c for c in clients if c),
        duration_s=duration,
        walls=tuple(w for w in walls if w),
        interferers=tuple(i for i in interferers if i),
        events=tuple(e for e in events if e),
        name=name or "",
        description=description or "",
        floors=ctx.floors,
        floor_height_m=floor_height,
        shadowing_db=shadowing,
        demand_variation=variation,
    )


def _read_area(top: Mapping[str, object], problems: Problems) -> tuple[float, float] | None:
    if "area_m" not in top:
        return None
    value = top["area_m"]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int | float) or v <= 0 for v in value)
    ):
        problems.add("area_m", f"expected [width, height] in metres, both positive, got {value!r}")
        return None
    return float(value[0]), float(value[1])


def _wall(value: object, path: str, ctx: ParseContext) -> Wall | None:
    obj = read_object(value, path, ctx.problems, ("x1", "y1", "x2", "y2", "loss_db"), ("floor",))
    if obj is None:
        return None
    p1 = read_position(obj, path, ctx, ("x1", "y1"))
    p2 = read_position(obj, path, ctx, ("x2", "y2"))
    loss = read_number(obj, "loss_db", path, ctx.problems, minimum=0.0, maximum=100.0)
    floor = read_floor(obj, path, ctx)
    if p1 is None or p2 is None or loss is None or floor is None:
        return None
    return Wall(p1[0], p1[1], p2[0], p2[1], loss, floor)


def _access_points(values: list[object], ctx: ParseContext) -> list[AccessPoint | None]:
    aps = [_access_point(v, join("aps", i), ctx) for i, v in enumerate(values)]
    _check_unique([a.id if a else None for a in aps], "aps", "AP", ctx.problems)
    for ap in aps:
        if ap is not None:
            bands = {r.band for r in ap.radios}
            ctx.served_bands |= bands
            ctx.radio_bands.setdefault(ap.id, set()).update(bands)
    if not values:
        ctx.problems.add("aps", "a scenario needs at least one AP")
    return aps


def _access_point(value: object, path: str, ctx: ParseContext) -> AccessPoint | None:
    obj = read_object(value, path, ctx.problems, ("id", "x", "y", "radios"), ("floor",))
    if obj is None:
        return None
    ap_id = read_string(obj, "id", path, ctx.problems)
    if ap_id is not None and "/" in ap_id:
        ctx.problems.add(join(path, "id"), f"AP id {ap_id!r} must not contain '/' (radio ids are '<ap>/<band>')")
        ap_id = None
    pos = read_position(obj, path, ctx)
    floor = read_floor(obj, path, ctx)
    radio_values = read_list(obj, "radios", path, ctx.problems)
    if "radios" in obj and not radio_values:
        ctx.problems.add(join(path, "radios"), "an AP needs at least one radio")
    radios: list[RadioSetup] = []
    bands: set[Band] = set()
    for i, rv in enumerate(radio_values):
        radio = _radio(rv, join(join(path, "radios"), i), ctx)
        if radio is not None and radio.band in bands:
            ctx.problems.add(
                join(join(join(path, "radios"), i), "band"), f"this AP already has a {radio.band.value} radio"
            )
        elif radio is not None:
            bands.add(radio.band)
            radios.append(radio)
    if ap_id is None or pos is None or floor is None or len(radios) != len(radio_values):
        return None
    return AccessPoint(ap_id, pos[0], pos[1], tuple(radios), floor)


def _radio(value: object, path: str, ctx: ParseContext) -> RadioSetup | None:
    p = ctx.problems
    obj = read_object(value, path, p, ("band", "channel", "width_mhz", "tx_power_dbm"), ("obss_pd_dbm",))
    if obj is None:
        return None
    band = read_choice(obj, "band", path, p, Band)
    channel = read_int(obj, "channel", path, p)
    width = read_int(obj, "width_mhz", path, p)
    tx = read_number(obj, "tx_power_dbm", path, p)
    obss = read_int(obj, "obss_pd_dbm", path, p, OBSS_PD_OFF_DBM, minimum=OBSS_PD_OFF_DBM, maximum=OBSS_PD_MAX_DBM)
    if band is None or channel is None or width is None or tx is None or obss is None:
        return None
    if ctx.region is None:
        return RadioSetup(band, channel, width, tx, obss)
    if not _radio_is_legal(band, channel, width, tx, path, ctx):
        return None
    return RadioSetup(band, channel, width, tx, obss)


def _radio_is_legal(band: Band, channel: int, width: int, tx: float, path: str, ctx: ParseContext) -> bool:
    assert ctx.region is not None
    region = ctx.region
    if channel not in regulatory.channels(region, band):
        ctx.problems.add(
            join(path, "channel"), f"channel {channel} is not a legal {band.value} channel in {region.value}"
        )
        return False
    if width not in regulatory.widths(band):
        ctx.problems.add(
            join(path, "width_mhz"),
            f"width {width} MHz is not supported on {band.value}; expected one of {list(regulatory.widths(band))}",
        )
        return False
    try:
        regulatory.bonding_group(region, band, channel, width)
    except regulatory.RegulatoryError as exc:
        ctx.problems.add(join(path, "channel"), str(exc))
        return False
    limit = min(HARDWARE_MAX_TX_DBM, regulatory.max_tx_power_dbm(region, band, channel, width))
    if not HARDWARE_MIN_TX_DBM <= tx <= limit:
        ctx.problems.add(
            join(path, "tx_power_dbm"),
            f"tx power {tx:g} dBm is outside {HARDWARE_MIN_TX_DBM:g}..{limit:g} dBm "
            f"(the {region.value} limit for {band.value} channel {channel} at {width} MHz, "
            f"and the radio's {HARDWARE_MAX_TX_DBM:g} dBm)",
        )
        return False
    return True


def _client(value: object, path: str, ctx: ParseContext) -> Client | None:
    p = ctx.problems
    optional = ("floor", "traffic", "bands", "supports_dfs", "supports_btm")
    obj = read_object(value, path, p, ("id", "x", "y", "band", "demand_mbps"), optional)
    if obj is None:
        return None
    client_id = read_string(obj, "id", path, p)
    pos = read_position(obj, path, ctx)
    floor = read_floor(obj, path, ctx)
    band = read_served_band(obj, path, ctx)
    bands = read_client_bands(obj, path, ctx, band)
    demand = read_number(obj, "demand_mbps", path, p, minimum=0.0)
    traffic = read_choice(obj, "traffic", path, p, TrafficClass, TrafficClass.BEST_EFFORT)
    dfs = read_bool(obj, "supports_dfs", path, p, True)
    btm = read_bool(obj, "supports_btm", path, p, True)
    if client_id is None or pos is None or floor is None or band is None or bands is None or demand is None:
        return None
    if traffic is None or dfs is None or btm is None:
        return None
    return Client(client_id, pos[0], pos[1], band, demand, floor, traffic, bands, dfs, btm)


def _check_unique(ids: list[str | None], path: str, what: str, problems: Problems) -> None:
    seen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if ident is None:
            continue
        if ident in seen:
            problems.add(join(join(path, i), "id"), f"duplicate {what} id {ident!r} (first at {path}[{seen[ident]}])")
        else:
            seen[ident] = i
