"""Where a radio lands after radar: the agent's emergency selector against hostapd's random rule.

Method, for every 5 GHz radio of a scenario and every DFS channel ``c`` of the region, at the
radio's width or, where ``c`` is not legal at it, the widest narrower width at which it is:

1. Fork the world (``SimWorld.fork``), move the radio onto ``c``, mark its bonding group cleared
   and end its CAC, as if the CAC had completed long ago; step ``settle_s`` so readings settle.
2. Ours, one deterministic trial: rank the radio the way the agent's event loop does ahead of
   time (``edge_agent.decisions.rank``, ``EventPolicy()`` defaults, a ``RadioContext`` built from
   the world's view of the radio), point the AP's fallback list at
   ``edge_agent.decisions.radar_fallback`` (by default its one best channel), fork, trigger radar:
   the simulated AP lands there (drivers/sim/dfs.py), as a real AP does on the agent's ``chanlist``.
3. hostapd, ``trials`` draws: pick the landing with hostapd's rule (below) from the radio's DFS
   memory as radar leaves it, fork, make the simulated AP land there (its fallback list set to
   that one channel; the landing is checked), trigger radar.
4. Every trial then steps its world over ``window_s`` in ``step_s`` steps and records the mean
   network QoE over the window (a radio in a CAC is off air: its clients roam or lose service)
   and whether the landing needed a CAC (a "dark move"). Ours must never be dark when a non-DFS
   or cleared channel was usable ("never dark when avoidable").

hostapd's rule (``src/ap/dfs.c``, read at blocktrron/hostap b25fdea; no background radar chain): on radar,
``hostapd_dfs_start_channel_switch`` picks ``os_get_random() % num_available_chandefs`` among the
chandefs of the current width (``dfs_find_channel``: one per bonding group with the group's
first channel as primary, every channel at 20 MHz) whose channels are not in non-occupancy and,
with ``DFS_AVAILABLE``, are non-DFS or already cleared by a CAC. There is no interference
scoring. In ETSI it uses ``DFS_ANY_CHANNEL`` "to comply with uniform spreading": any legal
chandef not in non-occupancy, cleared or not, so an uncleared DFS landing costs a CAC (60 s
dark, 600 s on the ETSI weather channels 120-128). With nothing found, ``dfs_downgrade_bandwidth``
tries ``DFS_ANY_CHANNEL`` at the same width, then each narrower width, available chandefs first.
One simplification: hostapd stops narrowing at HT (40 MHz with HT40 on), this narrows to 20 MHz;
with the shipped regulatory tables a non-DFS chandef is always left, so it never comes to that.

Randomness: hostapd's draws come from one numpy Generator seeded with the scenario seed (a
separate stream from the world's own), so the same scenario and seed give the same figures.
hostapd trials that draw a landing already tried for the same placement reuse its outcome: the
same calls on the same settled world give identical states, so this changes run time, not figures.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import fmean

import numpy as np

from drivers.protocol import DriverError, RadioInfo
from drivers.sim.dfs import DfsMemory, needs_cac
from drivers.sim.scenario_model import Scenario
from drivers.sim.sim_radio import hardware_tx_limit_dbm
from drivers.sim.world import SimWorld
from edge_agent.decisions import RadioContext, radar_fallback
from edge_agent.event_policy import EventPolicy
from radio_domain import regulatory
from radio_domain.radio import Band, ConfigChange
from radio_domain.regulatory import Region

DEFAULT_TRIALS = 5
DEFAULT_WINDOW_S = 300.0
DEFAULT_STEP_S = 10.0
DEFAULT_SETTLE_S = 30.0
_HOSTAPD_STREAM = 0x686F7374  # keeps hostapd's draws apart from the world's stream of the same seed
_QOE_DIGITS = 4
WORSE_MARGIN = 0.001  # a placement counts as ours-worse when our QoE trails hostapd's mean by more

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DfsEvalOptions:
    """How many hostapd draws per placement, and the simulated times of one trial."""

    trials: int = DEFAULT_TRIALS
    window_s: float = DEFAULT_WINDOW_S
    step_s: float = DEFAULT_STEP_S
    settle_s: float = DEFAULT_SETTLE_S
    policy: EventPolicy = field(default_factory=EventPolicy)

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ValueError(f"trials must be at least 1, not {self.trials}")
        if self.step_s <= 0 or self.window_s < self.step_s or self.settle_s < 0:
            raise ValueError(
                f"need step_s > 0, window_s >= step_s and settle_s >= 0 "
                f"(step_s={self.step_s:g}, window_s={self.window_s:g}, settle_s={self.settle_s:g})"
            )


@dataclass(frozen=True, slots=True)
class Placement:
    """A 5 GHz radio put on a DFS channel before radar hits it."""

    radio_id: str
    channel: int
    width_mhz: int


@dataclass(frozen=True, slots=True)
class Move:
    """One radar move and what the network got over the window after it."""

    channel: int
    width_mhz: int
    cac_s: float  # 0 when the radio was on air at once
    mean_qoe: float

    @property
    def dark(self) -> bool:
        return self.cac_s > 0

    def describe(self) -> str:
        cac = f", CAC {self.cac_s:g} s" if self.dark else ""
        return f"{self.channel}/{self.width_mhz} MHz{cac}"


@dataclass(frozen=True, slots=True)
class PlacementResult:
    placement: Placement
    qoe_at_radar: float
    cac_free_left: bool  # a non-DFS or cleared channel was usable once radar had hit
    ours: Move
    hostapd: tuple[Move, ...]

    @property
    def ours_dark_avoidably(self) -> bool:
        return self.ours.dark and self.cac_free_left

    @property
    def shortfall(self) -> float:
        """How far our QoE trails hostapd's mean on this placement (negative: ours is better)."""
        return fmean(m.mean_qoe for m in self.hostapd) - self.ours.mean_qoe

    def describe(self) -> str:
        p = self.placement
        landings = sorted({m.describe() for m in self.hostapd})
        return (
            f"{p.radio_id} radar on {p.channel}/{p.width_mhz} MHz: ours {self.ours.describe()} "
            f"QoE {self.ours.mean_qoe:.4f}, hostapd {', '.join(landings)} "
            f"QoE {fmean(m.mean_qoe for m in self.hostapd):.4f}"
        )


@dataclass(frozen=True, slots=True)
class DfsEvaluation:
    """Every placement's outcome; ``figures()`` is the JSON report."""

    scenario: str
    region: Region
    seed: int
    options: DfsEvalOptions
    results: tuple[PlacementResult, ...]
    skipped: tuple[Placement, ...]  # the radio was not on air on the channel when radar was due

    def figures(self) -> dict[str, object]:
        ours = [r.ours for r in self.results]
        theirs = [m for r in self.results for m in r.hostapd]
        ours_qoe, theirs_qoe = _mean_qoe(ours), _mean_qoe(theirs)
        avoidable = [r for r in self.results if r.ours_dark_avoidably]
        worst = max(self.results, key=lambda r: r.shortfall, default=None)
        return {
            "scenario": self.scenario,
            "region": self.region.value,
            "seed": self.seed,
            "radios": sorted({r.placement.radio_id for r in self.results}),
            "dfs_channels_tried": len(self.results),
            "placements_skipped": len(self.skipped),
            "trials": self.options.trials,
            "window_s": self.options.window_s,
            "step_s": self.options.step_s,
            "settle_s": self.options.settle_s,
            "qoe_at_radar": _rounded(fmean(r.qoe_at_radar for r in self.results)) if self.results else None,
            "ours": _tally(ours),
            "hostapd_random": _tally(theirs),
            "never_dark_when_avoidable": not avoidable,
            "ours_avoidable_dark": [r.describe() for r in avoidable],
            "ours_not_worse": ours_qoe is None or theirs_qoe is None or ours_qoe >= theirs_qoe,
            "worse_margin": WORSE_MARGIN,
            "placements_ours_worse": sum(r.shortfall > WORSE_MARGIN for r in self.results),
            "largest_shortfall": worst.describe() if worst is not None and worst.shortfall > 0 else None,
        }


def evaluate_dfs_moves(
    scenario: Scenario, name: str, options: DfsEvalOptions | None = None, progress: Progress | None = None
) -> DfsEvaluation:
    """Radar on every DFS channel of every 5 GHz radio: our landing against hostapd's (module docstring).

    ``progress`` hears one line per radio as it starts.
    """
    options = options or DfsEvalOptions()
    base = SimWorld(scenario)
    rng = np.random.default_rng([scenario.seed, _HOSTAPD_STREAM])
    infos = {info.radio_id: info for info in base.radios()}
    todo = list(placements(base))
    results: list[PlacementResult] = []
    skipped: list[Placement] = []
    started: set[str] = set()
    for placement in todo:
        if progress is not None and placement.radio_id not in started:
            started.add(placement.radio_id)
            progress(f"{placement.radio_id} ({len(results) + len(skipped)}/{len(todo)} placements done)")
        result = evaluate_placement(base, infos[placement.radio_id], placement, options, rng)
        if result is None:
            skipped.append(placement)
        else:
            results.append(result)
    return DfsEvaluation(name, base.region, scenario.seed, options, tuple(results), tuple(skipped))


def placements(world: SimWorld) -> Iterator[Placement]:
    """Each 5 GHz radio on each DFS channel, at its width or the widest narrower legal one."""
    region = world.region
    dfs_channels = [c for c in regulatory.channels(region, Band.G5) if regulatory.needs_dfs(region, Band.G5, c, 20)]
    for info in world.radios():
        if info.band is not Band.G5:
            continue
        width = world.config(info.radio_id).width_mhz
        for channel in dfs_channels:
            fitting = _widest_legal(region, channel, width)
            if fitting is not None:
                yield Placement(info.radio_id, channel, fitting)


def evaluate_placement(
    base: SimWorld, info: RadioInfo, placement: Placement, options: DfsEvalOptions, rng: np.random.Generator
) -> PlacementResult | None:
    """Our move and ``options.trials`` hostapd moves after radar on one placement (None: not on air there)."""
    settled = _settle(base, placement, options)
    if settled is None:
        return None
    rid = placement.radio_id
    region = settled.region
    after_radar = _memory_after_radar(settled, rid)
    width = placement.width_mhz
    ours_world = settled.fork()
    fallback = agent_fallback(settled, info, options.policy)
    if fallback:  # the event loop leaves the AP's list alone when the ranking offers nothing
        ours_world.set_fallback_channels(rid, fallback)
    ours = _window_after(ours_world, rid, _radar_landing(ours_world, rid), options)
    tried: dict[tuple[int, int], Move] = {}
    theirs: list[Move] = []
    for _ in range(options.trials):
        landing = hostapd_radar_landing(region, width, after_radar, settled.time, rng)
        if landing is None:
            raise regulatory.RegulatoryError(f"no 5g chandef left for {rid} in {region.value}, even at 20 MHz")
        if landing not in tried:
            tried[landing] = _hostapd_move(settled, rid, landing, options)
        theirs.append(tried[landing])
    return PlacementResult(
        placement=placement,
        qoe_at_radar=settled.network_qoe(),
        cac_free_left=cac_free_channel_left(region, width, after_radar, settled.time),
        ours=ours,
        hostapd=tuple(theirs),
    )


def agent_fallback(world: SimWorld, info: RadioInfo, policy: EventPolicy) -> tuple[int, ...]:
    """The fallback list the agent's event loop would give the AP now (its ``_refresh_rankings``)."""
    rid = info.radio_id
    radio = world.radio(rid)
    context = RadioContext(
        info=info,
        region=world.region,
        config=world.config(rid),
        state=world.radio_state(rid),
        blocked=world.non_occupancy(rid),
        cleared=frozenset(radio.dfs.cleared),
    )
    return radar_fallback(context, policy)


def hostapd_radar_landing(
    region: Region, width_mhz: int, memory: DfsMemory, now: float, rng: np.random.Generator
) -> tuple[int, int] | None:
    """(channel, width) hostapd moves to after radar, ``memory`` already marked (module docstring)."""
    first_any = region is Region.ETSI  # hostapd's DFS_ANY_CHANNEL for ETSI uniform spreading
    attempts = [(width_mhz, first_any), (width_mhz, True)]
    attempts += [(w, any_channel) for w in _narrower_widths(width_mhz) for any_channel in (False, True)]
    for width, any_channel in attempts:
        candidates = [
            c for c in _chandefs(region, width) if _chandef_usable(region, c, width, memory, now, any_channel)
        ]
        if candidates:
            return candidates[int(rng.integers(len(candidates)))], width
    return None


def cac_free_channel_left(region: Region, width_mhz: int, memory: DfsMemory, now: float) -> bool:
    """Whether some legal channel at a width up to ``width_mhz`` is out of non-occupancy and needs no CAC."""
    widths = [width_mhz, *_narrower_widths(width_mhz)]
    return any(
        _chandef_usable(region, c, w, memory, now, any_channel=False)
        for w in widths
        for c in regulatory.channels(region, Band.G5)
        if regulatory.is_legal(region, Band.G5, c, w)
    )


# ----- one trial ---------------------------------------------------------------------------


def _settle(base: SimWorld, placement: Placement, options: DfsEvalOptions) -> SimWorld | None:
    """A fork of ``base`` with the radio on air on the placement's channel for ``settle_s``."""
    world = base.fork()
    rid, channel, width = placement.radio_id, placement.channel, placement.width_mhz
    radio = world.radio(rid)
    power = min(radio.setting.tx_power_dbm, hardware_tx_limit_dbm(world.region, Band.G5, channel, width))
    try:
        world.apply(rid, ConfigChange(channel=channel, width_mhz=width, tx_power_dbm=power))
    except DriverError:  # failed, or the channel in non-occupancy after a scenario radar
        return None
    radio.dfs.mark_cleared(radio.group(world.region))  # its CAC completed long ago
    radio.cac_until = None
    _qoe_over(world, options.settle_s, options.step_s)
    config = world.config(rid)
    if not config.enabled or (config.channel, config.width_mhz) != (channel, width):
        return None  # a scenario failure or radar moved it meanwhile
    return world


def _memory_after_radar(world: SimWorld, radio_id: str) -> DfsMemory:
    """The radio's DFS memory as radar on its current group will leave it."""
    radio = world.radio(radio_id)
    memory = copy.deepcopy(radio.dfs)
    memory.mark_radar(radio.group(world.region), world.time)
    return memory


def _radar_landing(world: SimWorld, radio_id: str) -> tuple[int, int, float]:
    """Radar now; (channel, width, CAC seconds) where the simulated AP went by itself."""
    world.trigger_radar(radio_id)
    radio = world.radio(radio_id)
    cac_s = 0.0 if radio.cac_until is None else radio.cac_until - world.time
    return radio.setting.channel, radio.setting.width_mhz, cac_s


def _hostapd_move(settled: SimWorld, radio_id: str, landing: tuple[int, int], options: DfsEvalOptions) -> Move:
    world = settled.fork()
    world.set_fallback_channels(radio_id, [landing[0]])
    landed = _radar_landing(world, radio_id)
    if landed[:2] != landing:
        raise RuntimeError(
            f"{radio_id}: the simulated AP landed on {landed[0]}/{landed[1]} MHz, "
            f"not on hostapd's choice {landing[0]}/{landing[1]} MHz"
        )
    return _window_after(world, radio_id, landed, options)


def _window_after(world: SimWorld, radio_id: str, landed: tuple[int, int, float], options: DfsEvalOptions) -> Move:
    channel, width, cac_s = landed
    return Move(channel, width, cac_s, fmean(_qoe_over(world, options.window_s, options.step_s)))


def _qoe_over(world: SimWorld, seconds: float, step_s: float) -> list[float]:
    """Network QoE after each ``step_s`` step over ``seconds`` (at least one step when seconds > 0)."""
    steps = max(1, round(seconds / step_s)) if seconds > 0 else 0
    readings = []
    for _ in range(steps):
        world.step(step_s)
        readings.append(world.network_qoe())
    return readings


# ----- channel tables ------------------------------------------------------------------------


def _narrower_widths(width_mhz: int) -> list[int]:
    return sorted((w for w in regulatory.widths(Band.G5) if w < width_mhz), reverse=True)


def _widest_legal(region: Region, channel: int, width_mhz: int) -> int | None:
    for width in [width_mhz, *_narrower_widths(width_mhz)]:
        if regulatory.is_legal(region, Band.G5, channel, width):
            return width
    return None


@lru_cache(maxsize=16)
def _chandefs(region: Region, width_mhz: int) -> tuple[int, ...]:
    """hostapd's chandefs at a width: the first channel of each legal bonding group (all at 20 MHz)."""
    return tuple(
        c
        for c in regulatory.channels(region, Band.G5)
        if regulatory.is_legal(region, Band.G5, c, width_mhz)
        and regulatory.bonding_group(region, Band.G5, c, width_mhz)[0] == c
    )


def _chandef_usable(
    region: Region, channel: int, width_mhz: int, memory: DfsMemory, now: float, any_channel: bool
) -> bool:
    """hostapd's ``dfs_chan_range_available``: no channel in non-occupancy, and unless ``any_channel``
    (DFS_ANY_CHANNEL) every DFS channel already cleared (DFS_AVAILABLE)."""
    group = regulatory.bonding_group(region, Band.G5, channel, width_mhz)
    if memory.blocked(group, now):
        return False
    return any_channel or needs_cac(region, Band.G5, channel, width_mhz, memory) <= 0.0


# ----- figures -----------------------------------------------------------------------------


def _rounded(value: float) -> float:
    return round(value, _QOE_DIGITS)


def _mean_qoe(moves: Sequence[Move]) -> float | None:
    return fmean(m.mean_qoe for m in moves) if moves else None


def _tally(moves: Sequence[Move]) -> dict[str, object]:
    mean = _mean_qoe(moves)
    return {
        "moves": len(moves),
        "mean_qoe_after": None if mean is None else _rounded(mean),
        "dark_moves": sum(m.dark for m in moves),
    }
