"""`rrm agent`: run one edge agent until SIGINT or SIGTERM.

Real APs are named by URL (``--ap-url``, repeatable: hostapd, NETCONF and SNMP; see
drivers/by_url.py); the agent opens one driver per URL and serves them together, so one AP that
stops answering does not stop the others. Simulated APs: ``--driver sim-ap`` talks to APs served by
``rrm sim-ap`` over a control socket (the agent process stays small, as it would next to a real
AP); ``--driver sim`` runs the scenario's building inside the agent process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO
from rrm.cli.tls_options import add_tls_options, resolve_tls
from rrm.tls_files import CertKind, CertPaths

if TYPE_CHECKING:
    from drivers.protocol import RadioDriver
    from radio_domain.regulatory import Region


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("agent", help="run an edge agent for one or more APs")
    p.add_argument("--id", help="agent id, also its certificate name in --pki (default: the first --ap)")
    p.add_argument("--controller", default="localhost:50051", help="controller host:port (default: %(default)s)")
    p.add_argument("--server-name", help="expected name in the controller's certificate, if not the host")
    p.add_argument("--state-dir", type=Path, help="outbox and local state (default: rrm-agent-<id>)")
    p.add_argument("--region", choices=["FCC", "ETSI", "JP"], help="regulatory domain (sim: the scenario's)")
    p.add_argument(
        "--driver", choices=["sim-ap", "sim"], default="sim-ap", help="southbound driver (default: %(default)s)"
    )
    p.add_argument(
        "--ap-url",
        action="append",
        default=[],
        metavar="URL",
        help="a real AP by driver URL (repeat): hostapd:///var/run/hostapd/wlan0, netconf://USER@HOST:PORT, "
        "snmp://COMMUNITY@HOST:PORT, snmpv3://USER@HOST:PORT (see `rrm probe --help`); replaces --driver. "
        "hostapd URLs take ?spectral=PATH: read ath9k/ath10k spectral samples from PATH (the debugfs "
        "spectral_scan0 relay file, or a FIFO) and raise NON_WIFI_BURST from them",
    )
    p.add_argument("--ap-socket", type=Path, help="sim-ap driver: the control socket of `rrm sim-ap`")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, help="sim driver: scenario file or shipped name")
    p.add_argument("--ap", action="append", default=[], metavar="AP_ID", help="an AP this agent manages (repeat)")
    p.add_argument("--telemetry-interval", type=float, default=10.0, metavar="S", help="seconds between samples")
    p.add_argument("--identifier-key", type=Path, metavar="FILE", help="key for hashing client ids (shared per site)")
    p.add_argument(
        "--hash-ap-ids",
        action="store_true",
        help="AP ids leave the driver as keyed hashes, anon-ap-<hash> keyed by --identifier-key (`rrm privacy ap-id`)",
    )
    p.add_argument("--opt-out", action="append", default=[], metavar="MAC", help="a client never reported (repeat)")
    p.add_argument(
        "--event-policy",
        type=Path,
        metavar="FILE",
        help="event policy (decision matrix, thresholds, rollback triggers), YAML or JSON (default: built-in)",
    )
    add_tls_options(p)
    p.set_defaults(handler=_run)


def _run(ns: argparse.Namespace) -> int:
    if ns.ap_url:
        _check_url_options(ns)
    elif not ns.ap:
        raise UsageError("give at least one --ap AP_ID (simulated APs) or --ap-url URL (real APs) to manage")
    if ns.telemetry_interval <= 0:
        raise UsageError(f"--telemetry-interval must be positive, not {ns.telemetry_interval:g}")
    if not ns.ap_url and ns.driver == "sim-ap" and ns.ap_socket is None:
        raise UsageError("--driver sim-ap needs --ap-socket PATH (the socket `rrm sim-ap --socket` serves)")
    if not ns.ap_url and ns.driver == "sim-ap" and ns.region is None:
        raise UsageError("--driver sim-ap needs --region FCC|ETSI|JP (the site's regulatory domain)")
    if ns.id is None and ns.hash_ap_ids:
        raise UsageError("with --hash-ap-ids, give the agent an --id (the default would be an AP's real name)")
    if ns.id is None and not ns.ap:
        raise UsageError("with --ap-url, give the agent an --id (its certificate name in --pki)")
    agent_id = ns.id or ns.ap[0]
    if ns.event_policy is not None:
        from edge_agent.event_policy import load_event_policy

        ns.event_policy = load_event_policy(ns.event_policy)  # checked before anything starts
    tls = resolve_tls(ns, CertKind.AGENT, agent_id)
    state_dir: Path = ns.state_dir or Path(f"rrm-agent-{agent_id}")
    asyncio.run(_serve(ns, agent_id, tls, state_dir))
    return 0


def _check_url_options(ns: argparse.Namespace) -> None:
    from drivers.by_url import url_scheme

    if ns.ap:
        raise UsageError("--ap names simulated APs; with --ap-url each URL names its AP (?ap=ID)")
    if ns.region is None:
        raise UsageError("--ap-url needs --region FCC|ETSI|JP (the site's regulatory domain)")
    for url in ns.ap_url:
        try:
            url_scheme(url)
        except ValueError as exc:
            raise UsageError(str(exc)) from None


def _identifier_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(32))
    return path.read_bytes()


async def _open_driver(ns: argparse.Namespace) -> tuple[RadioDriver, Region, asyncio.Task[None] | None]:
    """The driver, the regulatory region, and (sim only) the task stepping the in-process world."""
    from radio_domain.regulatory import parse_region

    if ns.ap_url:
        return await _open_url_drivers(ns.ap_url), parse_region(ns.region), None

    if ns.driver == "sim-ap":
        from drivers.sim.remote_driver import SimRemoteDriver

        return await SimRemoteDriver.connect(ns.ap_socket, ns.ap), parse_region(ns.region), None

    from drivers.sim.driver import SimDriver
    from drivers.sim.runner import WorldRunner
    from drivers.sim.world import SimWorld
    from rrm.cli.scenario_resolution import resolve_scenario
    from rrm.clock import WallClock

    scenario, _ = resolve_scenario(ns.scenario)
    world = SimWorld(scenario, epoch=WallClock().now())
    unknown = sorted(set(ns.ap) - set(world.ap_ids()))
    if unknown:
        raise UsageError(f"APs {unknown} are not in the scenario; it has {world.ap_ids()}")
    if ns.region is not None and parse_region(ns.region) is not world.region:
        raise UsageError(f"--region {ns.region} contradicts the scenario's region {world.region.value}")
    driver = SimDriver(world, ns.ap)
    stepping = asyncio.create_task(WorldRunner(world, [driver], WallClock(), step_s=1.0).run(None))
    return driver, world.region, stepping


async def _open_url_drivers(urls: list[str]) -> RadioDriver:
    """One driver per URL under a fleet driver; an AP that cannot be opened stops the start, named."""
    from drivers.by_url import open_driver_by_url
    from drivers.fleet import FleetDriver
    from rrm.clock import WallClock

    opened: list[RadioDriver] = []
    try:
        for url in urls:
            try:
                opened.append(await open_driver_by_url(url, clock=WallClock(), env=os.environ))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        return FleetDriver(opened)
    except BaseException:
        for driver in opened:
            await driver.close()
        raise


async def _serve(ns: argparse.Namespace, agent_id: str, tls: CertPaths | None, state_dir: Path) -> None:
    from edge_agent.event_policy import EventPolicy
    from edge_agent.link import LinkSettings, tls_channel_credentials
    from edge_agent.runtime import AgentRuntime, AgentSettings
    from radio_domain.identifiers import IdentifierHasher
    from rrm.clock import WallClock
    from rrm.sqlite_files import open_database

    driver, region, stepping = await _open_driver(ns)
    hasher = IdentifierHasher(_identifier_key(ns.identifier_key or state_dir / "identifier.key"))
    if ns.hash_ap_ids:
        from drivers.pseudonymous import PseudonymousApDriver

        driver = PseudonymousApDriver(driver, hasher)
    managed = sorted({info.ap_id for info in driver.radios()})
    runtime = AgentRuntime(
        AgentSettings(
            agent_id=agent_id,
            region=region,
            telemetry_interval_s=ns.telemetry_interval,
            opted_out_clients=tuple(ns.opt_out),
            event_policy=ns.event_policy or EventPolicy(),
        ),
        driver,
        open_database(state_dir / "agent.db"),
        hasher,
        WallClock(),
        LinkSettings(
            target=ns.controller,
            credentials=tls_channel_credentials(tls) if tls is not None else None,
            server_name_override=ns.server_name,
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    print(f"agent {agent_id} managing {', '.join(managed)} via {driver.name}; controller {ns.controller}", flush=True)
    try:
        await stop.wait()
    finally:
        if stepping is not None:
            stepping.cancel()
        await runtime.stop()
