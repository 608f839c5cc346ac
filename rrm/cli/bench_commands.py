"""`rrm bench ...`: speed and memory figures as JSON (never timed assertions in tests)."""

from __future__ import annotations

import argparse

from rrm.cli.errors import UsageError
from rrm.cli.json_figures import emit_figures


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="benchmarks that print JSON figures")
    bench_sub = p.add_subparsers(
        dest="bench_command", required=True, metavar="{ingest,agent-footprint,events,audit,bo}"
    )

    ingest = bench_sub.add_parser(
        "ingest", help="N concurrent mTLS agent streams sending telemetry to a controller process"
    )
    ingest.add_argument("--agents", type=int, default=1000, help="concurrent agent streams (default: %(default)s)")
    ingest.add_argument("--seconds", type=float, default=20.0, help="measured seconds (default: %(default)s)")
    ingest.add_argument(
        "--samples-per-s", type=float, default=60_000.0, help="offered load, all agents together (default: %(default)s)"
    )
    ingest.add_argument("--batch", type=int, default=50, help="samples per telemetry message (default: %(default)s)")
    ingest.add_argument("--clients", type=int, default=10, help="clients per sample (default: %(default)s)")
    ingest.add_argument("--workers", type=int, default=0, help="load-generator processes (default: 1 per 1000 agents)")
    _add_json(ingest)
    ingest.set_defaults(handler=_ingest)

    footprint = bench_sub.add_parser("agent-footprint", help="memory of one idle agent process")
    footprint.add_argument("--seconds", type=float, default=15.0, help="how long to watch it (default: %(default)s)")
    _add_json(footprint)
    footprint.set_defaults(handler=_footprint)

    events = bench_sub.add_parser(
        "events", help="events/s and decision latency of one agent's event loop on the simulated driver"
    )
    events.add_argument("--events", type=int, default=100_000, help="driver events to feed (default: %(default)s)")
    events.add_argument(
        "--radios",
        type=int,
        default=None,
        help="radios the events go to (default: every radio of the dense_floor scenario)",
    )
    _add_json(events)
    events.set_defaults(handler=_events)

    audit = bench_sub.add_parser(
        "audit", help="appends/s of the signed audit trail (group commit, checkpoints) and verified records/s"
    )
    audit.add_argument("--records", type=int, default=200_000, help="records to append (default: %(default)s)")
    audit.add_argument(
        "--commit-every", type=int, default=1000, help="appends per group commit (default: %(default)s, as the trail)"
    )
    audit.add_argument("--hmac", action="store_true", help="also keep the per-record HMAC")
    audit.add_argument(
        "--db", metavar="URL", help="an empty PostgreSQL database (postgresql://...) instead of a SQLite file"
    )
    _add_json(audit)
    audit.set_defaults(handler=_audit)

    from rrm.bench.bo_bench import add_bench_parser

    add_bench_parser(bench_sub)


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )


def _ingest(ns: argparse.Namespace) -> int:
    from rrm.bench.ingest import IngestBenchOptions, run_ingest_bench

    if ns.agents < 1 or ns.seconds <= 0 or ns.batch < 1 or ns.samples_per_s <= 0:
        raise UsageError("--agents, --seconds, --batch and --samples-per-s must be positive")
    options = IngestBenchOptions(
        agents=ns.agents,
        seconds=ns.seconds,
        samples_per_s=ns.samples_per_s,
        batch=ns.batch,
        clients=ns.clients,
        workers=ns.workers,
    )
    emit_figures(run_ingest_bench(options), ns.json)
    return 0


def _footprint(ns: argparse.Namespace) -> int:
    from rrm.bench.footprint import run_agent_footprint

    emit_figures(run_agent_footprint(ns.seconds), ns.json)
    return 0


def _events(ns: argparse.Namespace) -> int:
    from rrm.bench.events import EventsBenchOptions, run_events_bench, scenario_radio_count

    if ns.events < 1:
        raise UsageError(f"--events must be positive, got {ns.events}")
    if ns.radios is not None:
        if ns.radios < 1:
            raise UsageError(f"--radios must be positive, got {ns.radios}")
        if ns.radios > (available := scenario_radio_count()):
            raise UsageError(f"--radios {ns.radios}: the dense_floor scenario has {available} radios")
    emit_figures(run_events_bench(EventsBenchOptions(events=ns.events, radios=ns.radios)), ns.json)
    return 0


def _audit(ns: argparse.Namespace) -> int:
    from rrm.bench.audit import AuditBenchOptions, run_audit_bench

    if ns.records < 1 or ns.commit_every < 1:
        raise UsageError("--records and --commit-every must be positive")
    options = AuditBenchOptions(records=ns.records, commit_every=ns.commit_every, hmac=ns.hmac, db=ns.db)
    emit_figures(run_audit_bench(options), ns.json)
    return 0
