"""`rrm controller`: run the controller until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError
from rrm.cli.scheduler_options import add_scheduler_options, scheduler_fields
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
    p.add_argument(
        "--audit-db",
        metavar="URL",
        help="keep the signed audit trail in PostgreSQL: postgresql://user@host:port/dbname, an existing database "
        "(the password from PGPASSWORD or the libpq passfile, never in the URL); default: audit.db in --state-dir. "
        "The audit keys stay files in --state-dir; read it with `rrm audit verify --db URL --public-key FILE`",
    )
    p.add_argument(
        "--audit-archive-after",
        type=float,
        metavar="DAYS",
        help="once a day, move signed audit spans older than DAYS to archive files (as `rrm audit archive`); "
        "default: never, an operator or cron archives",
    )
    p.add_argument(
        "--audit-archive-dir",
        type=Path,
        metavar="DIR",
        help="their folder (default: STATE_DIR/archive, where `rrm audit` looks)",
    )
    p.add_argument(
        "--fast-loop",
        choices=("off", "shadow", "on"),
        default="shadow",
        help="the per-AP Bayesian optimiser (issue 7): shadow runs it and audits what it would change without "
        "sending anything (the default: an operator reads its record before trusting it); on sends its changes "
        "through guardrails and approvals; off does not run it (default: %(default)s)",
    )
    add_scheduler_options(p)
    add_tls_options(p)
    p.set_defaults(handler=_run)


def _run(ns: argparse.Namespace) -> int:
    from controller.app import ControllerSettings
    from controller.audit_store import is_database_url

    if ns.audit_db is not None and not is_database_url(ns.audit_db):
        raise UsageError(f"--audit-db takes a postgresql://user@host:port/dbname URL, not {ns.audit_db!r}")
    if ns.audit_archive_after is not None and ns.audit_archive_after < 0:
        raise UsageError(f"--audit-archive-after must not be negative, not {ns.audit_archive_after:g}")
    if ns.audit_archive_dir is not None and ns.audit_archive_after is None:
        raise UsageError("--audit-archive-dir needs --audit-archive-after DAYS")
    settings = ControllerSettings(
        state_dir=ns.state_dir,
        listen=ns.listen,
        tls=resolve_tls(ns, CertKind.CONTROLLER, ns.name),
        controller_id=ns.name,
        site_policy=ns.site_policy,
        audit_db=ns.audit_db,
        audit_archive_after_days=ns.audit_archive_after,
        audit_archive_dir=ns.audit_archive_dir,
        fast_loop=ns.fast_loop,
        **scheduler_fields(ns),
    )
    return asyncio.run(_serve(settings, ns.status_every))


async def _serve(settings: ControllerSettings, status_every: float) -> int:
    from controller.app import ControllerApp
    from controller.audit_store import target_name
    from rrm.clock import WallClock

    app = ControllerApp(settings, WallClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        port = await app.start()
    except BaseException:  # e.g. the audit database is unreachable: stop what did start (the ingest writer)
        await app.stop(grace_s=0)
        raise
    trail = f"; audit trail in {target_name(settings.audit_db)}" if settings.audit_db else ""
    print(
        f"controller {settings.controller_id} serving agents on port {port}; state in {settings.state_dir}{trail}",
        flush=True,
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
