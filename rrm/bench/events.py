"""`rrm bench events`: events/s and decision latency of the agent's event loop, in one process.

What is measured: an edge agent (``AgentRuntime`` on the simulated driver, no controller link) with
the default event policy. Driver events go straight to ``runtime.event_loop.observe_driver_event``
(the runtime's ``handle_event`` also writes every event to the SQLite outbox, which is not what is
measured here) and ``process_pending`` runs the queue drain, the decision matrix, the emergency
channel selection and the guarded radio changes (admission, rollback token, driver apply, ledger).
Wall time (``time.perf_counter``) covers making the events, feeding them and processing them,
including the loop's wake-ups during quiet spells (``seconds.total``). ``events_per_s`` is events
fed / the agent's share of it (``total - workload``: making the events is the bench's own cost,
timed apart, batch by batch); ``events_per_s_wall`` is events fed / ``seconds.total``.

The decision latency is the loop's own figure (``EventLoopStats.decision_latency_s``, one sample
per change the loop tries, taken at the driver's apply call): from the arrival of the first event
of a queue entry; ``radar_decision_latency_us`` has the radar moves among them (drained first).
``decision_latency_us`` has the samples of entries released during a burst: the first entry of
their key in that burst, so they waited for the rest of their batch to be fed and for the entries
drained ahead of them, never for a coalescing window. ``held_latency_us`` has those released at a
quiet spell's wake-ups: they did wait out a window, and their figure counts that wait in wall time
of a compressed virtual clock, which means little.

The workload, a stream over the first ``radios`` radios of the scenario (dense_floor: 24 dual-band
APs, 48 radios), drawn from one seeded generator:

- Bursts of ``burst`` events, ``event_spacing_s`` of virtual time apart (1,024 events over about a
  second), with ``process_pending`` after every ``batch`` events (16) and at once after a critical
  event (radar), as the agent's event pump does. A burst is shorter than the queue's coalescing
  window (5 s), so each (radio, type, channel) key is released at most once per burst and its
  duplicates coalesce.
- Between bursts a quiet spell of ``quiet_s`` virtual seconds (20 s) with no new events, in which
  the loop wakes up whenever a held-back entry becomes ready (``queue.next_ready_at``, as
  ``EventLoop.run`` does). Cooldowns, coalescing windows and token buckets run their course, so
  each burst starts with fresh keys and actions really happen; the 300 s post-action soak and the
  hourly change budget still hold many back (counted in ``loop.deferred_by_*``).
- The mix, on each radio's current channel: 40 % NON_WIFI_BURST (weak: confidence < 0.8, duty
  cycle < 0.3, report only), 30 % SPECTRUM_SAT (confidence < 0.7, report only), 15 % EMERGENCY_QOE
  (steering without subjects: nothing to do, or a power or channel change on a radio with more
  than 30 % poor clients), 15 % DENSITY_SPIKE (steering without subjects: nothing to do).
- Interference: in each burst one radio in 12 has a strong interferer on its channel (a radio
  at most once per the agent's 600 s interference memory); its NON_WIFI_BURST events are then
  strong (confidence >= 0.85, duty cycle >= 0.72: the matrix says change channel) until it leaves
  that channel.
- Radar: about one event in 1,000 is a DFS_RADAR on a 5 GHz radio on a DFS channel (its config
  from ``world.config``), naming its bonding group in ``nop_channels`` like the simulator's radar
  hit; the agent moves it at once. Radios leave DFS channels for good (the agent knows no cleared
  DFS channel to go back to), so radar becomes rarer as the run goes on.

Telemetry is read once before the run, so every radio has readings and a ranking; what that first
reading raises is handled before the clock starts and left out of the figures. Timings are
figures, never assertions: the targets are reported beside them.
"""

from __future__ import annotations

import asyncio
import math
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from drivers.protocol import DriverEvent, RadioInfo
from drivers.sim.driver import SimDriver
from drivers.sim.scenario import load_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from edge_agent.event_loop import EventLoop
from edge_agent.event_policy import EventPolicy
from edge_agent.radio_knowledge import INTERFERENCE_MEMORY_S
from edge_agent.runtime import PUMP_YIELD_EVERY, AgentRuntime, AgentSettings
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import Band, RadioConfig
from rrm.clock import VirtualClock
from rrm.sqlite_files import open_database

SCENARIO = "dense_floor"
TARGET_EVENTS_PER_S = 50_000
TARGET_P99_US = 1_000
EPISODE_SHARE = 1 / 12  # radios under a strong interferer during a burst
RADAR_SHARE = 1 / 1_000  # events that are radar on a radio on a DFS channel
_MIX = (  # cumulative shares of the ordinary stream
    (0.40, EventType.NON_WIFI_BURST),
    (0.70, EventType.SPECTRUM_SAT),
    (0.85, EventType.EMERGENCY_QOE),
    (1.00, EventType.DENSITY_SPIKE),
)


@dataclass(frozen=True, slots=True)
class EventsBenchOptions:
    events: int = 100_000
    radios: int | None = None  # the first N radios of the scenario; None = all of them
    scenario: str = SCENARIO
    batch: int = PUMP_YIELD_EVERY  # events between two process_pending calls, as the agent's event pump
    burst: int = 1_024  # events between two quiet spells
    quiet_s: float = 20.0
    event_spacing_s: float = 0.001
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("events", "batch", "burst"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.radios is not None and self.radios < 1:
            raise ValueError(f"radios must be positive, got {self.radios}")
        if self.quiet_s <= 0 or self.event_spacing_s <= 0:
            raise ValueError("quiet_s and event_spacing_s must be positive")


def scenario_radio_count(scenario: str = SCENARIO) -> int:
    """How many radios a shipped scenario has (the most ``--radios`` can ask for)."""
    return sum(len(ap.radios) for ap in load_scenario(shipped_scenario(scenario)).aps)


class EventStream:
    """The bench's driver events (module docstring): seeded, on the radios' current channels."""

    def __init__(self, world: SimWorld, radios: Sequence[RadioInfo], seed: int) -> None:
        self._world = world
        self._radios = list(radios)
        self._rng = random.Random(seed)
        self._region = world.region
        self._episodes: dict[str, int] = {}  # radio id -> channel under strong interference
        self._hit_at: dict[str, float] = {}  # radio id -> when its last interferer came
        self.by_type: dict[str, int] = {}
        self.episodes = 0

    def start_burst(self, now: float) -> None:
        """A new burst after a quiet spell: the last burst's interferers are gone, new ones are on.

        A radio meets a new interferer only once the agent has forgotten its last one: interferers
        chasing one radio from channel to channel would soon leave it none (an alarm per event).
        """
        free = [r for r in self._radios if now - self._hit_at.get(r.radio_id, -math.inf) >= INTERFERENCE_MEMORY_S]
        wanted = max(1, round(len(self._radios) * EPISODE_SHARE))
        hit = self._rng.sample(free, min(wanted, len(free)))
        self._episodes = {radio.radio_id: self._world.config(radio.radio_id).channel for radio in hit}
        self._hit_at.update((radio.radio_id, now) for radio in hit)
        self.episodes += len(hit)

    def batch(self, start: float, spacing_s: float, count: int) -> list[DriverEvent]:
        """``count`` events, the first at ``start + spacing_s``, each ``spacing_s`` after the last."""
        configs = {r.radio_id: self._world.config(r.radio_id) for r in self._radios}
        events = [self._next(configs, start + (k + 1) * spacing_s) for k in range(count)]
        for event in events:
            self.by_type[event.type.value] = self.by_type.get(event.type.value, 0) + 1
        return events

    def _next(self, configs: dict[str, RadioConfig], at: float) -> DriverEvent:
        rng = self._rng
        if rng.random() < RADAR_SHARE and (radar := self._radar(configs, at)) is not None:
            return radar
        radio = rng.choice(self._radios).radio_id
        config = configs[radio]
        draw = rng.random()
        kind = next(kind for share, kind in _MIX if draw < share)
        if kind is EventType.NON_WIFI_BURST:
            return self._interference(radio, config, at)
        if kind is EventType.SPECTRUM_SAT:
            return self._event(
                radio, kind, at, config, rng.uniform(0.40, 0.68), cca_busy=f"{rng.uniform(0.7, 0.9):.2f}"
            )
        if kind is EventType.EMERGENCY_QOE:
            poor = rng.randint(3, 8)
            return self._event(radio, kind, at, config, rng.uniform(0.5, 0.9), poor_clients=str(poor))
        return self._event(radio, kind, at, config, rng.uniform(0.6, 0.9), clients_now=str(rng.randint(10, 40)))

    def _interference(self, radio: str, config: RadioConfig, at: float) -> DriverEvent:
        rng = self._rng
        if self._episodes.get(radio) == config.channel:
            confidence, duty = rng.uniform(0.85, 0.97), rng.uniform(0.72, 0.95)
        else:
            self._episodes.pop(radio, None)  # the radio left the interferer's channel
            confidence, duty = rng.uniform(0.50, 0.78), rng.uniform(0.05, 0.28)
        return self._event(radio, EventType.NON_WIFI_BURST, at, config, confidence, duty_cycle=f"{duty:.2f}")

    def _radar(self, configs: dict[str, RadioConfig], at: float) -> DriverEvent | None:
        on_dfs = [
            r
            for r in self._radios
            if r.band is Band.G5
            and regulatory.needs_dfs(self._region, r.band, configs[r.radio_id].channel, configs[r.radio_id].width_mhz)
        ]
        if not on_dfs:
            return None
        radio = self._rng.choice(on_dfs)
        config = configs[radio.radio_id]
        group = regulatory.bonding_group(self._region, radio.band, config.channel, config.width_mhz)
        dfs = [c for c in group if regulatory.needs_dfs(self._region, radio.band, c, 20)]
        return self._event(
            radio.radio_id,
            EventType.DFS_RADAR,
            at,
            config,
            1.0,
            freq_mhz=f"{regulatory.center_mhz(radio.band, dfs[0]):g}",
            nop_channels=",".join(str(c) for c in group),
            nop_s=f"{regulatory.NOP_SECONDS:g}",
        )

    @staticmethod
    def _event(
        radio: str, kind: EventType, at: float, config: RadioConfig, confidence: float, **metadata: str
    ) -> DriverEvent:
        return DriverEvent(radio, kind, at, round(confidence, 3), config.channel, config, metadata)


@dataclass
class _Measured:
    """What the timed run collects, beside the loop's own counters."""

    workload_s: float = 0.0  # making the events (the bench's own cost)
    feed_s: float = 0.0  # observe_driver_event
    process_s: float = 0.0  # process_pending during bursts
    quiet_s: float = 0.0  # process_pending at the quiet spells' wake-ups
    fresh: list[float] = field(default_factory=list)  # latencies of entries acted on as they arrived
    held: list[float] = field(default_factory=list)  # latencies of entries released in a quiet spell
    radar: list[float] = field(default_factory=list)  # the radar moves among ``fresh``


def run_events_bench(options: EventsBenchOptions) -> dict[str, object]:
    """Run the bench (module docstring) in a temporary state directory; returns the JSON figures."""
    with tempfile.TemporaryDirectory(prefix="rrm-bench-events-") as tmp:
        return asyncio.run(_bench(options, Path(tmp)))


async def _bench(options: EventsBenchOptions, work: Path) -> dict[str, object]:
    began = time.perf_counter()
    world = SimWorld(load_scenario(shipped_scenario(options.scenario)))
    radios = world.radios()
    if options.radios is not None and options.radios > len(radios):
        raise ValueError(f"radios: the {options.scenario} scenario has {len(radios)} radios, not {options.radios}")
    streamed = radios[: options.radios or len(radios)]
    clock = VirtualClock(world.timestamp)
    driver = SimDriver(world, list(dict.fromkeys(r.ap_id for r in streamed)))
    db = open_database(work / "agent.db")
    try:
        runtime = AgentRuntime(
            # No radar grace: nothing here plays the AP's own CSA, so the agent moves the radio itself.
            AgentSettings(agent_id="bench-events", region=world.region, event_policy=EventPolicy(radar_ap_grace_s=0.0)),
            driver,
            db,
            IdentifierHasher(b"k" * 32),
            clock,
            None,
        )
        loop = runtime.event_loop
        await runtime.sample_telemetry()
        await loop.process_pending()  # the first rankings (and what telemetry raised), before the clock starts
        loop.stats.decision_latency_s.clear()
        loop.stats.radar_latency_s.clear()
        before = _counters(loop)
        stream = EventStream(world, streamed, options.seed)
        measured = _Measured()
        setup_s = time.perf_counter() - began
        virtual_start = clock.now()
        start = time.perf_counter()
        await _feed(options, stream, loop, clock, measured)
        total_s = time.perf_counter() - start
    finally:
        db.close()
    figures = _figures(options, stream, len(driver.radios()), measured, total_s, _delta(before, _counters(loop)))
    figures["seconds"] = {
        "total": round(total_s, 3),
        "workload": round(measured.workload_s, 3),
        "feed": round(measured.feed_s, 3),
        "process": round(measured.process_s, 3),
        "quiet_spell_wakeups": round(measured.quiet_s, 3),
        "setup": round(setup_s, 3),
    }
    figures["virtual_seconds"] = round(clock.now() - virtual_start, 1)
    return figures


async def _feed(
    options: EventsBenchOptions, stream: EventStream, loop: EventLoop, clock: VirtualClock, measured: _Measured
) -> None:
    fed = 0
    while fed < options.events:
        stream.start_burst(clock.now())
        in_burst = 0
        while in_burst < options.burst and fed < options.events:
            count = min(options.batch, options.burst - in_burst, options.events - fed)
            t0 = time.perf_counter()
            events = stream.batch(clock.now(), options.event_spacing_s, count)
            t1 = time.perf_counter()
            for event in events:
                clock.advance_to(event.timestamp)
                fed += 1
                if loop.observe_driver_event(event, f"bench-{fed}"):
                    await loop.process_pending()  # as the agent's event pump does for critical events
            t2 = time.perf_counter()
            await loop.process_pending()
            t3 = time.perf_counter()
            measured.workload_s += t1 - t0
            measured.feed_s += t2 - t1
            measured.process_s += t3 - t2
            measured.fresh += _take_latencies(loop)
            measured.radar += _take_radar_latencies(loop)
            in_burst += count
        t4 = time.perf_counter()
        await _quiet_spell(loop, clock, options.quiet_s)
        measured.quiet_s += time.perf_counter() - t4
        measured.held += _take_latencies(loop)


async def _quiet_spell(loop: EventLoop, clock: VirtualClock, quiet_s: float) -> None:
    """No new events for ``quiet_s``; the loop wakes up whenever a held-back entry becomes ready."""
    end = clock.now() + quiet_s
    while (ready := loop.queue.next_ready_at(clock.now())) is not None and ready <= end:
        clock.advance_to(max(ready, clock.now() + 1e-3))  # never spin on an entry the drain keeps
        await loop.process_pending()
    clock.advance_to(end)
    await loop.process_pending()


def _take_latencies(loop: EventLoop) -> list[float]:
    """The loop's latency samples since the last call (taken out, so its bounded buffer never overflows)."""
    samples = list(loop.stats.decision_latency_s)
    loop.stats.decision_latency_s.clear()
    return samples


def _take_radar_latencies(loop: EventLoop) -> list[float]:
    samples = list(loop.stats.radar_latency_s)
    loop.stats.radar_latency_s.clear()
    return samples


def _counters(loop: EventLoop) -> dict[str, dict[str, int]]:
    stats = {f.name: getattr(loop.stats, f.name) for f in fields(loop.stats) if not f.name.endswith("latency_s")}
    return {"loop": stats, "queue": asdict(loop.queue.stats)}


def _delta(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The counters' growth during the timed run (the warm-up's detections and rankings left out)."""
    return {part: {k: v - before[part].get(k, 0) for k, v in after[part].items()} for part in after}


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty sequence."""
    return ordered[max(0, math.ceil(q / 100.0 * len(ordered)) - 1)]


def _latency_us(samples: Sequence[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max in microseconds (None without samples)."""
    ordered = sorted(samples)
    figures: dict[str, float | None] = {}
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
        figures[name] = round(_percentile(ordered, q) * 1e6, 1) if ordered else None
    return figures


def _figures(
    options: EventsBenchOptions,
    stream: EventStream,
    managed: int,
    measured: _Measured,
    total_s: float,
    counters: dict[str, dict[str, int]],
) -> dict[str, object]:
    latency = _latency_us(measured.fresh)
    agent_s = total_s - measured.workload_s
    events_per_s = options.events / agent_s if agent_s > 0 else 0.0
    p99 = latency["p99"]
    return {
        "scenario": options.scenario,
        "events": options.events,
        "radios": options.radios or managed,
        "managed_radios": managed,
        "events_per_s": round(events_per_s, 1),
        "events_per_s_wall": round(options.events / total_s, 1) if total_s > 0 else 0.0,
        "decision_latency_us": latency,
        "latency_samples": len(measured.fresh),
        "radar_decision_latency_us": _latency_us(measured.radar),
        "radar_latency_samples": len(measured.radar),
        "held_latency_us": _latency_us(measured.held),
        "held_latency_samples": len(measured.held),
        "processed": counters["loop"]["processed"],
        "coalesced": counters["queue"]["coalesced"],
        "actions": counters["loop"]["actions"],
        "interference_episodes": stream.episodes,
        "events_by_type": dict(sorted(stream.by_type.items())),
        "loop": counters["loop"],
        "queue": counters["queue"],
        "workload": {
            "batch": options.batch,
            "burst": options.burst,
            "quiet_s": options.quiet_s,
            "event_spacing_s": options.event_spacing_s,
            "seed": options.seed,
        },
        "targets": {"events_per_s": TARGET_EVENTS_PER_S, "decision_latency_p99_us": TARGET_P99_US},
        "meets_targets": {
            "events_per_s": events_per_s >= TARGET_EVENTS_PER_S,
            "decision_latency_p99_us": p99 is not None and p99 <= TARGET_P99_US,
        },
    }
