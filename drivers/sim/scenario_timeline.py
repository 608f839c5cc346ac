"""Parsing what happens over time in a scenario: interferers and scheduled events.

Checks: kind, position, floor, duty cycle in [0, 1], stop_s ≥ start_s, a frequency in a Wi-Fi band
(radar between 5250 and 5725 MHz; a neighbour BSS on the centre of a legal channel), failures
naming an existing AP radio, spikes on a band some AP serves, spike client ids that clash with none.
"""

from __future__ import annotations

from drivers.sim.scenario_context import ParseContext, read_floor, read_position, read_served_band, read_times
from drivers.sim.scenario_model import (
    DensitySpike,
    Interferer,
    InterfererKind,
    RadioFailure,
    ScenarioEvent,
    spike_client_id,
)
from drivers.sim.spectrum import band_of_frequency, channel_at_frequency
from radio_domain import regulatory
from radio_domain.radio import Band
from rrm.strict_fields import Problems, join, read_choice, read_int, read_number, read_object, read_string

RADAR_RANGE_MHZ = (5250.0, 5725.0)

# Per kind: (default freq_mhz or None when required, duty_cycle, power_dbm EIRP, bandwidth_mhz) (rf-model 7).
INTERFERER_DEFAULTS: dict[InterfererKind, tuple[float | None, float, float, float]] = {
    InterfererKind.MICROWAVE: (2450.0, 0.5, 15.0, 20.0),
    InterfererKind.VIDEO_CAMERA: (None, 1.0, 15.0, 18.0),
    InterfererKind.RADAR: (None, 0.001, 40.0, 1.0),
    InterfererKind.NEIGHBOR_BSS: (None, 0.3, 20.0, 20.0),
}


def parse_interferer(value: object, path: str, ctx: ParseContext) -> Interferer | None:
    p = ctx.problems
    optional = ("freq_mhz", "duty_cycle", "start_s", "stop_s", "floor", "power_dbm", "bandwidth_mhz")
    obj = read_object(value, path, p, ("kind", "x", "y"), optional)
    if obj is None:
        return None
    kind = read_choice(obj, "kind", path, p, InterfererKind)
    pos = read_position(obj, path, ctx)
    floor = read_floor(obj, path, ctx)
    times = read_times(obj, path, ctx, required=False)
    if kind is None:
        return None
    default_freq, default_duty, default_power, default_bw = INTERFERER_DEFAULTS[kind]
    freq: float | None = default_freq
    if "freq_mhz" in obj:
        freq = read_number(obj, "freq_mhz", path, p)
    elif default_freq is None:
        p.add(join(path, "freq_mhz"), f"required key is missing for a {kind.value}")
    duty = read_number(obj, "duty_cycle", path, p, default_duty, minimum=0.0, maximum=1.0)
    power = read_number(obj, "power_dbm", path, p, default_power, minimum=-30.0, maximum=100.0)
    bandwidth = read_number(obj, "bandwidth_mhz", path, p, default_bw, above=0.0, maximum=160.0)
    if freq is not None and not _frequency_fits(kind, freq, bandwidth, join(path, "freq_mhz"), ctx):
        freq = None
    if (
        pos is None
        or floor is None
        or times is None
        or freq is None
        or duty is None
        or power is None
        or bandwidth is None
    ):
        return None
    return Interferer(kind, pos[0], pos[1], freq, duty, times[0], times[1], power, bandwidth, floor)


def _frequency_fits(kind: InterfererKind, freq: float, bandwidth: float | None, path: str, ctx: ParseContext) -> bool:
    if kind is InterfererKind.RADAR:
        if not RADAR_RANGE_MHZ[0] <= freq <= RADAR_RANGE_MHZ[1]:
            ctx.problems.add(
                path,
                f"radar at {freq:g} MHz is outside the DFS range {RADAR_RANGE_MHZ[0]:g}-{RADAR_RANGE_MHZ[1]:g} MHz",
            )
            return False
        return True
    band = band_of_frequency(freq)
    if band is None:
        ctx.problems.add(path, f"{freq:g} MHz is in no Wi-Fi band")
        return False
    if kind is not InterfererKind.NEIGHBOR_BSS or ctx.region is None or bandwidth is None:
        return True
    channel = channel_at_frequency(band, freq)
    width = int(bandwidth)
    if channel is None or width != bandwidth or not regulatory.is_legal(ctx.region, band, channel, width):
        ctx.problems.add(
            path,
            f"a neighbour BSS needs the centre of a legal {band.value} channel in {ctx.region.value} "
            f"at {bandwidth:g} MHz; {freq:g} MHz is not",
        )
        return False
    return True


def parse_event(value: object, path: str, ctx: ParseContext) -> ScenarioEvent | None:
    p = ctx.problems
    if not isinstance(value, dict) or value.get("kind") not in ("radio_failure", "density_spike"):
        kind = value.get("kind") if isinstance(value, dict) else None
        p.add(join(path, "kind"), f"expected 'radio_failure' or 'density_spike', got {kind!r}")
        return None
    if value["kind"] == "radio_failure":
        obj = read_object(value, path, p, ("kind", "ap", "band", "at_s", "duration_s"))
        assert obj is not None
        ap = read_string(obj, "ap", path, p)
        band = read_choice(obj, "band", path, p, Band)
        at = read_number(obj, "at_s", path, p, minimum=0.0)
        duration = read_number(obj, "duration_s", path, p, above=0.0)
        if ap is not None and ap not in ctx.radio_bands:
            p.add(join(path, "ap"), f"no AP has id {ap!r}")
            return None
        if ap is not None and band is not None and band not in ctx.radio_bands[ap]:
            p.add(join(path, "band"), f"AP {ap!r} has no {band.value} radio")
            return None
        if ap is None or band is None or at is None or duration is None:
            return None
        return RadioFailure(ap, band, at, duration)
    obj = read_object(
        value, path, p, ("kind", "x", "y", "band", "clients", "demand_mbps", "start_s", "stop_s"), ("floor",)
    )
    assert obj is not None
    pos = read_position(obj, path, ctx)
    floor = read_floor(obj, path, ctx)
    band = read_served_band(obj, path, ctx)
    count = read_int(obj, "clients", path, p, minimum=1, maximum=10_000)
    demand = read_number(obj, "demand_mbps", path, p, minimum=0.0)
    times = read_times(obj, path, ctx, required=True)
    if pos is None or floor is None or band is None or count is None or demand is None or times is None:
        return None
    return DensitySpike(pos[0], pos[1], band, count, demand, times[0], times[1], floor)


def check_spike_ids(events: list[ScenarioEvent | None], client_ids: set[str], problems: Problems) -> None:
    for i, event in enumerate(events):
        if isinstance(event, DensitySpike):
            clash = sorted(client_ids & {spike_client_id(i, n) for n in range(event.clients)})
            if clash:
                problems.add(join("events", i), f"the spike's generated client ids clash with clients {clash[:3]}")
