"""`rrm agent`: run one edge agent until SIGINT or SIGTERM.

Today's driver is the simulated radio world (``--driver sim``): the agent runs the scenario's
building in real time and manages the APs given with --ap. Drivers for hostapd/nl80211, NETCONF
and SNMP access points plug in behind the same driver Protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from rrm.cli.errors import UsageError
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO
from rrm.cli.tls_options import add_tls_options, resolve_tls
from rrm.tls_files import CertKind


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("agent", help="run an edge agent for one or more APs")
    p.add_argument("--id", help="agent id, also its certificate name in --pki (default: the first --ap)")
    p.add_argument("--controller", default="localhost:50051", help="controller host:port (default: %(default)s)")
    p.add_argument("--server-name", help="expected name in the controller's certificate, if not the host")
    p.add_argument("--state-dir", type=Path, help="outbox and local state (default: rrm-agent-<id>)")
    p.add_argument("--driver", choices=["sim"], default="sim", help="southbound driver (default: %(default)s)")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, help="sim driver: scenario file or shipped name")
    p.add_argument("--ap", action="append", default=[], metavar="AP_ID", help="an AP this agent manages (repeat)")
    p.add_argument("--telemetry-interval", type=float, default=10.0, metavar="S", help="seconds between samples")
    p.add_argument("--identifier-key", type=Path, metavar="FILE", help="key for hashing client ids (shared per site)")
    p.add_argument("--opt-out", action="append", default=[], metavar="MAC", help="a client never reported (repeat)")
    add_tls_options(p)
    p.set_defaults(handler=_run)


def _run(ns: argparse.Namespace) -> int:
    if not ns.ap:
        raise UsageError("give at least one --ap AP_ID for the agent to manage")
    if ns.telemetry_interval <= 0:
        raise UsageError(f"--telemetry-interval must be positive, not {ns.telemetry_interval:g}")
    agent_id = ns.id or ns.ap[0]
    tls = resolve_tls(ns, CertKind.AGENT, agent_id)
    state_dir: Path = ns.state_dir or Path(f"rrm-agent-{agent_id}")
    asyncio.run(_serve(ns, agent_id, tls, state_dir))
    return 0


def _identifier_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(32))
    return path.read_bytes()


async def _serve(ns: argparse.Namespace, agent_id: str, tls: object, state_dir: Path) -> None:
    from drivers.sim.driver import SimDriver
    from drivers.sim.runner import WorldRunner
    from drivers.sim.world import SimWorld
    from edge_agent.link import LinkSettings, tls_channel_credentials
    from edge_agent.runtime import AgentRuntime, AgentSettings
    from radio_domain.identifiers import IdentifierHasher
    from rrm.cli.scenario_resolution import resolve_scenario
    from rrm.clock import WallClock
    from rrm.sqlite_files import open_database
    from rrm.tls_files import CertPaths

    scenario, _ = resolve_scenario(ns.scenario)
    clock = WallClock()
    world = SimWorld(scenario, epoch=clock.now())
    unknown = sorted(set(ns.ap) - set(world.ap_ids()))
    if unknown:
        raise UsageError(f"APs {unknown} are not in the scenario; it has {world.ap_ids()}")
    driver = SimDriver(world, ns.ap)
    runner = WorldRunner(world, [driver], clock, step_s=1.0)
    credentials = tls_channel_credentials(tls) if isinstance(tls, CertPaths) else None
    runtime = AgentRuntime(
        AgentSettings(
            agent_id=agent_id,
            region=world.region,
            telemetry_interval_s=ns.telemetry_interval,
            opted_out_clients=tuple(ns.opt_out),
        ),
        driver,
        open_database(state_dir / "agent.db"),
        IdentifierHasher(_identifier_key(ns.identifier_key or state_dir / "identifier.key")),
        clock,
        LinkSettings(target=ns.controller, credentials=credentials, server_name_override=ns.server_name),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    world_task = asyncio.create_task(runner.run(None))
    print(f"agent {agent_id} managing {', '.join(ns.ap)}; controller {ns.controller}; state in {state_dir}")
    try:
        await stop.wait()
    finally:
        world_task.cancel()
        await runtime.stop()
