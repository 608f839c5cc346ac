"""What scenario parsing carries from section to section, and the readers that check against it.

Positions are checked against ``area_m``, floors against ``floors``, bands against the bands the
APs serve; like the readers in rrm.strict_fields, each records its problem with the field path and
returns None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from radio_domain.radio import Band
from radio_domain.regulatory import Region
from rrm.strict_fields import Problems, join, read_choice, read_int, read_number, type_name


@dataclass
class ParseContext:
    """Scenario-wide facts that later sections are checked against."""

    problems: Problems
    region: Region | None = None
    area: tuple[float, float] | None = None
    floors: int = 1
    served_bands: set[Band] = field(default_factory=set)
    radio_bands: dict[str, set[Band]] = field(default_factory=dict)


def read_position(
    obj: Mapping[str, object], path: str, ctx: ParseContext, keys: tuple[str, str] = ("x", "y")
) -> tuple[float, float] | None:
    xmax, ymax = ctx.area if ctx.area else (None, None)
    x = read_number(obj, keys[0], path, ctx.problems, minimum=0.0, maximum=xmax)
    y = read_number(obj, keys[1], path, ctx.problems, minimum=0.0, maximum=ymax)
    return None if x is None or y is None else (x, y)


def read_floor(obj: Mapping[str, object], path: str, ctx: ParseContext) -> int | None:
    return read_int(obj, "floor", path, ctx.problems, 0, minimum=0, maximum=ctx.floors - 1)


def read_served_band(obj: Mapping[str, object], path: str, ctx: ParseContext) -> Band | None:
    band = read_choice(obj, "band", path, ctx.problems, Band)
    if band is not None and ctx.served_bands and band not in ctx.served_bands:
        served = ", ".join(sorted(b.value for b in ctx.served_bands))
        ctx.problems.add(join(path, "band"), f"no AP has a {band.value} radio (served bands: {served})")
        return None
    return band


def read_client_bands(
    obj: Mapping[str, object], path: str, ctx: ParseContext, band: Band | None
) -> tuple[Band, ...] | None:
    """``bands``: distinct bands, at least one, including the client's ``band``; (band,) when absent.

    A band no AP serves is allowed (a 6 GHz phone in a building without 6 GHz radios).
    """
    if "bands" not in obj:
        return None if band is None else (band,)
    value = obj["bands"]
    where = join(path, "bands")
    allowed = ", ".join(b.value for b in Band)
    if not isinstance(value, list):
        ctx.problems.add(where, f"expected a list of bands ({allowed}), got {type_name(value)}")
        return None
    if not value:
        ctx.problems.add(where, "a client needs at least one band")
        return None
    bands: list[Band] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or item not in {b.value for b in Band}:
            ctx.problems.add(join(where, i), f"{item!r} is not one of {allowed}")
            return None
        if Band(item) in bands:
            ctx.problems.add(join(where, i), f"{item} is listed twice")
            return None
        bands.append(Band(item))
    if band is not None and band not in bands:
        listed = ", ".join(b.value for b in bands)
        ctx.problems.add(where, f"the client's band {band.value} must be one of its bands ({listed})")
        return None
    return tuple(bands)


def read_times(obj: Mapping[str, object], path: str, ctx: ParseContext, required: bool) -> tuple[float, float] | None:
    """(start_s, stop_s); when not required they default to 0 and never."""
    if required:
        start = read_number(obj, "start_s", path, ctx.problems, minimum=0.0)
        stop = read_number(obj, "stop_s", path, ctx.problems, minimum=0.0)
    else:
        start = read_number(obj, "start_s", path, ctx.problems, 0.0, minimum=0.0)
        stop = read_number(obj, "stop_s", path, ctx.problems, float("inf"), minimum=0.0)
    if start is None or stop is None:
        return None
    if stop < start:
        ctx.problems.add(join(path, "stop_s"), f"stop_s {stop:g} is before start_s {start:g}")
        return None
    return start, stop
