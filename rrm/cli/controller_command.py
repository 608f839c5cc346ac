"""`rrm controller`: run the controller until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.tls_options import add_tls_options, resolve_tls
from rrm.tls_files import CertKind

if TYPE_CHECKING:
    from controller.app import ControllerSettings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("controller", help="run the central controller (agent link server, stores)")
    p.add_argument("--listen", default="127.0.0.1:50051", help="address:port to serve agents on (default: %(default)s)")
    p.add_argument(
        "--state-dir", type=Path, default=Path("rrm-controller-state"), help="databases (default: %(default)s)"
    )
    p.add_argument("--name", default="controller", help="controller id, and its certificate name in --pki")
    p.add_argument("--status-every", type=float, default=60.0, metavar="S", help="log a status line every S seconds")
    p.add_argument(
        "--site-policy",
        type=Path,
        metavar="FILE",
        help="safe zones, pins, limits, rollback triggers, shadow mode (see `rrm site-policy example`); "
        "re-read when it changes, keeping the last good one on error",
    )
    add_tls_options(p)
    p.set_defaults(handler=_run)


def _run(ns: argparse.Namespace) -> int:
    from controller.app import ControllerSettings

    settings = ControllerSettings(
        state_dir=ns.state_dir,
        listen=ns.listen,
        tls=resolve_tls(ns, CertKind.CONTROLLER, ns.name),
        controller_id=ns.name,
        site_policy=ns.site_policy,
    )
    return asyncio.run(_serve(settings, ns.status_every))


async def _serve(settings: ControllerSettings, status_every: float) -> int:
    from controller.app import ControllerApp
    from rrm.clock import WallClock

    app = ControllerApp(settings, WallClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    port = await app.start()
    print(
        f"controller {settings.controller_id} serving agents on port {port}; state in {settings.state_dir}", flush=True
    )
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(app.failed.wait())]
    try:
        while not (stop.is_set() or app.failed.is_set()):
            await asyncio.wait(waiters, timeout=status_every, return_when=asyncio.FIRST_COMPLETED)
            c = app.counters
            log.info(
                "agents connected %d; samples %d; events %d; actions %d; rollbacks %d",
                app.registry.connected_count(),
                c.telemetry_samples,
                sum(c.events_by_type.values()),
                c.actions,
                c.rollbacks,
            )
    finally:
        for waiter in waiters:
            waiter.cancel()
        await app.stop()
    if app.fatal:
        print(f"rrm controller: stopping: {app.fatal}", file=sys.stderr)
        return 1
    return 0
