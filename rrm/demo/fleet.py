"""Running the demo: PKI, a controller and one agent per AP over one simulated building.

Everything is real but the radios: real gRPC with mutual TLS on loopback, real SQLite state, real
agents with their outboxes. The building runs on a virtual clock that the demo advances one
simulation step at a time, as fast as the machine allows (headless) or at ``speed`` x real time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from controller.app import ControllerApp, ControllerSettings
from controller.site_policy import SitePolicy
from controller.site_policy_file import load_site_policy
from drivers.sim.driver import SimDriver
from drivers.sim.runner import WorldRunner
from drivers.sim.scenario import Scenario
from drivers.sim.world import SimWorld
from edge_agent.event_policy import EventPolicy
from edge_agent.link import LinkSettings, tls_channel_credentials
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain.identifiers import IdentifierHasher
from rrm.clock import VirtualClock
from rrm.demo.loop_activity import DemoOperator, EventLoopTally, loop_activity
from rrm.demo.progress import ProgressPrinter
from rrm.demo.report import DemoReport
from rrm.pki import CertificateAuthority, CertKind, init_pki, issue_to_folder, leaf_paths
from rrm.sqlite_files import open_database

log = logging.getLogger(__name__)

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: simulated time starts here
STEP_S = 1.0
STATUS_EVERY_S = 300.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    scenario: Scenario
    scenario_name: str
    minutes: float
    state_dir: Path
    speed: float | None  # simulated seconds per real second; None = as fast as possible
    telemetry_interval_s: float = 10.0
    event_policy: EventPolicy = field(default_factory=EventPolicy)
    site_policy: Path | None = None  # the controller's site policy; its network SLO is what the world's QoE uses
    show_progress: bool = True
    connect_timeout_s: float = 60.0
    drain_timeout_s: float = 60.0
    fast_loop: str = "on"  # the controller's fast loop: on, shadow or off
    plan_after_s: float | None = 60.0  # the demo's operator asks for a slow-loop plan this long after the start


def _ensure_pki(folder: Path, ap_ids: list[str]) -> None:
    if not (folder / "ca.key").exists():
        init_pki(folder)
    ca = CertificateAuthority.load(folder)
    del ca
    if not leaf_paths(folder, CertKind.CONTROLLER, "controller").cert.exists():
        issue_to_folder(folder, CertKind.CONTROLLER, "controller", hosts=["localhost", "127.0.0.1"])
    for ap_id in ap_ids:
        if not leaf_paths(folder, CertKind.AGENT, ap_id).cert.exists():
            issue_to_folder(folder, CertKind.AGENT, ap_id, ap_ids=[ap_id])


def _site_key(state_dir: Path) -> bytes:
    path = state_dir / "identifier.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(32))
    return path.read_bytes()


class DemoFleet:
    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.clock = VirtualClock(start=EPOCH)
        site = load_site_policy(options.site_policy) if options.site_policy else SitePolicy()
        self.world = SimWorld(options.scenario, epoch=EPOCH, slo=site.network_wide().slo)
        self.ap_ids = list(self.world.ap_ids())
        pki_dir = options.state_dir / "pki"
        options.state_dir.mkdir(parents=True, exist_ok=True)
        _ensure_pki(pki_dir, self.ap_ids)
        self.pki_dir = pki_dir
        self.controller = ControllerApp(
            ControllerSettings(
                state_dir=options.state_dir / "controller",
                listen="localhost:0",
                tls=leaf_paths(pki_dir, CertKind.CONTROLLER, "controller"),
                site_policy=options.site_policy,
                site=options.scenario_name,
                fast_loop=options.fast_loop,
            ),
            self.clock,
        )
        self.printer = ProgressPrinter(self.clock, EPOCH, print if options.show_progress else _discard)
        self.controller.listeners.append(self.printer)
        self.event_tally = EventLoopTally()
        self.controller.listeners.append(self.event_tally)
        self.operator = DemoOperator(options.plan_after_s)
        self.agents: list[AgentRuntime] = []
        self.drivers: list[SimDriver] = []

    def _agent(self, ap_id: str, port: int, hasher: IdentifierHasher) -> AgentRuntime:
        driver = SimDriver(self.world, [ap_id])
        self.drivers.append(driver)
        credentials = tls_channel_credentials(leaf_paths(self.pki_dir, CertKind.AGENT, ap_id))
        return AgentRuntime(
            AgentSettings(
                agent_id=ap_id,
                region=self.world.region,
                telemetry_interval_s=self.options.telemetry_interval_s,
                event_policy=self.options.event_policy,
            ),
            driver,
            open_database(self.options.state_dir / "agents" / f"{ap_id}.db"),
            hasher,
            self.clock,
            LinkSettings(target=f"localhost:{port}", credentials=credentials),
        )

    async def run(self) -> DemoReport:
        started = time.monotonic()
        port = await self.controller.start()
        hasher = IdentifierHasher(_site_key(self.options.state_dir))
        self.agents = [self._agent(ap_id, port, hasher) for ap_id in self.ap_ids]
        try:
            for agent in self.agents:
                await agent.start()
            await self._wait_connected()
            qoe_start = self.world.network_qoe()
            await self._simulate()
            await self._drain()
            report = self._report(qoe_start)
        finally:
            for agent in self.agents:
                await agent.stop()
            await self.controller.stop()
        report.wall_seconds = round(time.monotonic() - started, 2)
        return report

    async def _wait_connected(self) -> None:
        deadline = time.monotonic() + self.options.connect_timeout_s
        while self.controller.registry.connected_count() < len(self.agents):
            if time.monotonic() > deadline:
                missing = [
                    a.settings.agent_id for a in self.agents if a.link is not None and not a.link.connected.is_set()
                ]
                raise TimeoutError(f"agents did not connect within {self.options.connect_timeout_s:g} s: {missing}")
            await asyncio.sleep(0.05)
        self.printer.status(f"{len(self.agents)} agents connected over mutual TLS")

    async def _simulate(self) -> None:
        runner = WorldRunner(self.world, self.drivers, self.clock, step_s=STEP_S)
        steps = round(self.options.minutes * 60.0 / STEP_S)
        wall_start = time.monotonic()
        for step in range(1, steps + 1):
            self.world.slo = self.controller.site_policy().network_wide().slo  # follows the operator's edits
            runner.step_once()
            self.clock.advance(STEP_S)
            self.operator.act(self.controller, step * STEP_S, self.clock.now())
            for _ in range(3):
                await asyncio.sleep(0)
            if self.options.speed:
                lag = step * STEP_S / self.options.speed - (time.monotonic() - wall_start)
                if lag > 0:
                    await asyncio.sleep(lag)
            if step * STEP_S % STATUS_EVERY_S == 0:
                self._status()

    def _status(self) -> None:
        c = self.controller.counters
        self.printer.status(
            f"status agents {self.controller.registry.connected_count()}/{len(self.agents)}  "
            f"samples {c.telemetry_samples}  events {sum(c.events_by_type.values())}  actions {c.actions}  "
            f"QoE {self.world.network_qoe():.3f}"
        )

    def undelivered(self) -> int:
        return sum(a.outbox.counters().depth for a in self.agents)

    async def _drain(self) -> None:
        deadline = time.monotonic() + self.options.drain_timeout_s
        while self.undelivered() and time.monotonic() < deadline:  # noqa: ASYNC110 - many outboxes, no one event
            await asyncio.sleep(0.05)

    def _report(self, qoe_start: float) -> DemoReport:
        c = self.controller.counters
        return DemoReport(
            scenario=self.options.scenario_name,
            seed=self.options.scenario.seed,
            minutes=self.options.minutes,
            aps=len(self.ap_ids),
            clients=len(self.options.scenario.clients),
            agents_connected=self.controller.registry.connected_count(),
            telemetry_samples=c.telemetry_samples,
            events_by_type=dict(sorted(c.events_by_type.items())),
            actions=c.actions,
            rollbacks=c.rollbacks,
            qoe_start=round(qoe_start, 4),
            qoe_end=round(self.world.network_qoe(), 4),
            qoe_p5_end=round(self.world.qoe_percentile(5), 4),
            undelivered_messages=self.undelivered(),
            duplicates_ignored=c.duplicates,
            final_configs={radio.radio_id: _config_dict(self.world, radio.radio_id) for radio in self.world.radios()},
            loops=loop_activity(self.controller, self.event_tally, self.operator),
        )


def _config_dict(world: SimWorld, radio_id: str) -> dict[str, float | int | bool]:
    c = world.config(radio_id)
    return {
        "channel": c.channel,
        "width_mhz": c.width_mhz,
        "tx_power_dbm": c.tx_power_dbm,
        "obss_pd_dbm": c.obss_pd_dbm,
        "enabled": c.enabled,
    }


def _discard(_: str) -> None:
    return None


def with_seed(scenario: Scenario, seed: int | None) -> Scenario:
    return scenario if seed is None else replace(scenario, seed=seed)
