"""Real controllers and agents on loopback, with a real PKI, for the integration tier."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from controller.app import ControllerApp, ControllerSettings
from drivers.sim.driver import SimDriver
from drivers.sim.runner import WorldRunner
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from edge_agent.backoff import ExponentialBackoff
from edge_agent.link import CONNECT_METHOD, LinkSettings, tls_channel_credentials
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain.identifiers import IdentifierHasher
from rrm.clock import VirtualClock
from rrm.pki import CertKind, init_pki, issue_to_folder
from rrm.sqlite_files import open_database
from rrm.tls_files import CertPaths, leaf_paths
from rrm.v1 import agent_link_pb2 as pb

EPOCH = 1_767_225_600.0
AP_IDS = ("ap-1", "ap-2", "ap-3")


def two_ap_scenario() -> dict[str, object]:
    """Three dual-band APs on a small floor, a radar burst on ap-2's DFS channel at t=120 s."""
    return {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 7,
        "region": "FCC",
        "area_m": [60, 30],
        "duration_s": 3600,
        "aps": [
            {
                "id": ap_id,
                "x": 10 + 20 * i,
                "y": 15,
                "radios": [
                    {"band": "2g", "channel": (1, 6, 11)[i], "width_mhz": 20, "tx_power_dbm": 17},
                    {"band": "5g", "channel": (36, 52, 149)[i], "width_mhz": 40, "tx_power_dbm": 20},
                ],
            }
            for i, ap_id in enumerate(AP_IDS)
        ],
        "clients": [
            {"id": f"c{k}", "x": 5 + 5 * k, "y": 10 + (k % 3) * 5, "band": ("2g", "5g")[k % 2], "demand_mbps": 4}
            for k in range(10)
        ],
        "interferers": [
            {"kind": "radar", "x": 30, "y": 1, "freq_mhz": 5270, "duty_cycle": 0.001, "start_s": 120, "stop_s": 125}
        ],
    }


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    init_pki(folder)
    issue_to_folder(folder, CertKind.CONTROLLER, "controller", hosts=["localhost", "127.0.0.1"])
    for ap_id in AP_IDS:
        issue_to_folder(folder, CertKind.AGENT, ap_id)
    return folder


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, unrelated CA with an agent certificate for ap-1."""
    folder = tmp_path_factory.mktemp("foreign-pki")
    init_pki(folder)
    issue_to_folder(folder, CertKind.AGENT, "ap-1")
    return folder


@dataclass
class Site:
    """A world, a controller on loopback and the agents, all on one virtual clock for the radios."""

    pki: Path
    state: Path
    clock: VirtualClock = field(default_factory=lambda: VirtualClock(start=EPOCH))
    world: SimWorld = field(init=False)
    controller: ControllerApp | None = None
    port: int = 0
    agents: dict[str, AgentRuntime] = field(default_factory=dict)
    drivers: dict[str, SimDriver] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.world = SimWorld(parse_scenario(two_ap_scenario(), "test"), epoch=EPOCH)

    def controller_settings(self, port: int = 0, site_policy: Path | None = None) -> ControllerSettings:
        """The loopback controller's settings the tests start from; ``dataclasses.replace`` for the rest."""
        return ControllerSettings(
            state_dir=self.state / "controller",
            listen=f"localhost:{port or self.port}",
            tls=leaf_paths(self.pki, CertKind.CONTROLLER, "controller"),
            heartbeat_interval_s=1,
            site_policy=site_policy,
        )

    async def start_controller(
        self, port: int = 0, site_policy: Path | None = None, settings: ControllerSettings | None = None
    ) -> ControllerApp:
        self.controller = ControllerApp(settings or self.controller_settings(port, site_policy), self.clock)
        self.port = await self.controller.start()
        return self.controller

    async def start_connected(self, settings: ControllerSettings | None = None) -> ControllerApp:
        """The controller and every agent of AP_IDS, once all of them are connected."""
        controller = await self.start_controller(settings=settings)
        for ap_id in AP_IDS:
            await self.start_agent(ap_id)
        await eventually(lambda: controller.registry.connected_count() == len(AP_IDS), "the agents connected")
        return controller

    async def stop_controller(self) -> None:
        assert self.controller is not None
        await self.controller.stop(grace_s=0.1)
        self.controller = None

    async def start_agent(self, ap_id: str) -> AgentRuntime:
        driver = self.drivers.get(ap_id) or SimDriver(self.world, [ap_id])
        self.drivers[ap_id] = driver
        agent = AgentRuntime(
            AgentSettings(agent_id=ap_id, region=self.world.region, telemetry_interval_s=10.0),
            driver,
            open_database(self.state / "agents" / f"{ap_id}.db"),
            IdentifierHasher(b"k" * 32),
            self.clock,
            LinkSettings(
                target=f"localhost:{self.port}",
                credentials=tls_channel_credentials(leaf_paths(self.pki, CertKind.AGENT, ap_id)),
                heartbeat_interval_s=1.0,
            ),
            backoff=ExponentialBackoff(base_s=0.05, cap_s=0.3, rng=random.Random(1)),
        )
        await agent.start()
        self.agents[ap_id] = agent
        return agent

    async def stop_agent(self, ap_id: str) -> None:
        """Stop an agent process; its AP (the driver) keeps running."""
        await self.agents.pop(ap_id).stop(close_driver=False)

    async def advance(self, seconds: float, step_s: float = 1.0) -> None:
        """Run the radios for ``seconds`` of simulated time, letting agents react after each step."""
        runner = WorldRunner(self.world, list(self.drivers.values()), self.clock, step_s=step_s)
        for _ in range(round(seconds / step_s)):
            runner.step_once()
            self.clock.advance(step_s)
            for _ in range(3):
                await asyncio.sleep(0)

    def ingest_db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.state / "controller" / "ingest.db")

    async def close(self) -> None:
        for ap_id in list(self.agents):
            await self.agents[ap_id].stop()
        self.agents.clear()
        if self.controller is not None:
            await self.stop_controller()


@pytest.fixture
async def site(pki: Path, tmp_path: Path) -> AsyncIterator[Site]:
    s = Site(pki=pki, state=tmp_path)
    yield s
    await s.close()


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    """Wait (real time) until ``condition()`` holds; fail naming ``what`` if it does not."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.02)


def raw_channel(paths: CertPaths, port: int) -> grpc.aio.Channel:
    return grpc.aio.secure_channel(
        f"localhost:{port}", tls_channel_credentials(paths), options=[("grpc.use_local_subchannel_pool", 1)]
    )


def open_stream(channel: grpc.aio.Channel) -> grpc.aio.StreamStreamCall:
    """A raw AgentLink stream that sends bytes as given (to send anything, malformed included)."""
    return channel.stream_stream(CONNECT_METHOD, request_serializer=None, response_deserializer=None)()


def hello(ap_id: str, *, claim: str | None = None) -> bytes:
    """A Hello from agent ``ap_id`` claiming the radios of AP ``claim`` (default: its own)."""
    owner = claim or ap_id
    radios = [
        pb.RadioDescriptor(radio_id=f"{owner}/2g", ap_id=owner, band=pb.BAND_2G),
        pb.RadioDescriptor(radio_id=f"{owner}/5g", ap_id=owner, band=pb.BAND_5G),
    ]
    msg = pb.AgentMessage(
        hello=pb.Hello(
            agent_id=ap_id, software_version="test", protocol_version=1, regulatory_domain="FCC", radios=radios
        )
    )
    return msg.SerializeToString()


def telemetry(message_id: str, radio_id: str, ts_ms: int = 1_767_225_600_000, cca_busy: float = 0.2) -> bytes:
    sample = pb.RadioSample(
        radio_id=radio_id,
        timestamp_ms=ts_ms,
        config=pb.RadioConfig(channel=36, width_mhz=20, tx_power_dbm=17, enabled=True),
        cca_busy=cca_busy,
    )
    return pb.AgentMessage(message_id=message_id, telemetry=pb.TelemetryBatch(samples=[sample])).SerializeToString()


async def read_until(call: grpc.aio.StreamStreamCall, body: str, timeout_s: float = 10.0) -> pb.ControllerMessage:
    """The next controller message with this body (skipping others), or fail naming what was seen."""
    seen: list[str] = []
    while True:
        raw = await asyncio.wait_for(call.read(), timeout_s)
        if raw is grpc.aio.EOF:
            raise AssertionError(f"stream ended before {body}; saw {seen}")
        msg = pb.ControllerMessage.FromString(raw)
        kind = msg.WhichOneof("body") or "?"
        if kind == body:
            return msg
        seen.append(kind)
