"""`rrm sim-ap`: serve a scenario's simulated APs on a local control socket, in real time."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from rrm.cli.scenario_resolution import DEFAULT_SCENARIO


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sim-ap",
        help="run a scenario's simulated APs behind a control socket that `rrm agent --driver sim-ap` uses",
    )
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario file or shipped name (default: %(default)s)")
    p.add_argument("--socket", type=Path, required=True, help="Unix socket path to serve on")
    p.set_defaults(handler=_run)


def _run(ns: argparse.Namespace) -> int:
    asyncio.run(_serve(ns))
    return 0


async def _serve(ns: argparse.Namespace) -> None:
    from drivers.sim.ap_server import SimApServer
    from drivers.sim.runner import WorldRunner
    from drivers.sim.world import SimWorld
    from rrm.cli.scenario_resolution import resolve_scenario
    from rrm.clock import WallClock

    scenario, name = resolve_scenario(ns.scenario)
    clock = WallClock()
    world = SimWorld(scenario, epoch=clock.now())
    runner = WorldRunner(world, [], clock, step_s=1.0)
    server = SimApServer(world, runner)
    await server.start(ns.socket)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    world_task = asyncio.create_task(runner.run(None))
    print(f"simulated APs of {name} ({', '.join(world.ap_ids())}) on {ns.socket}", flush=True)
    try:
        await stop.wait()
    finally:
        world_task.cancel()
        await server.stop()
