"""`rrm bench audit`: appends/s and verified records/s of the controller's audit trail.

What is measured, in one process on a fresh SQLite file in a temporary directory (or, with
``db``, ``rrm bench audit --db URL``, in an empty PostgreSQL database: the bench creates the
trail's tables there and drops them afterwards; it refuses a database that holds a trail):

- ``appends_per_s``: ``records`` drafts through :meth:`AuditTrail.append` (each chained at once;
  group commit every ``commit_every`` appends; an Ed25519 checkpoint every ``checkpoint_every``
  records and at close), divided by the wall time of the appends plus the final ``close()``. The
  drafts are made beforehand, in chunks, outside the timed part: making them is the caller's cost.
- ``verify_records_per_s``: the whole trail verified as ``rrm audit verify`` does (consecutive seq
  ranges in one forked process per core, at most 4; ``settings.verify_workers``) with the public
  key read from ``audit-signing.pub`` only (no secret), divided by the wall time from opening the
  file to the report. The page cache is warm (the file was just written), as it is when an auditor
  verifies twice.

The drafts look like what the controller audits (about 1 KB of canonical JSON each, drawn from one
seeded generator): slow-loop channel and power changes with their inputs (snapshot, model,
candidate scores, keyed neighbour hashes) and predicted gain, agent radar moves, rollbacks with
observed effects, refusals by the safe zones, and operator approvals, over ``aps`` APs with two
radios each. Timings are figures, never assertions: the targets are reported beside them.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.audit_chain import GENESIS, AuditDraft, seal_draft
from controller.audit_keys import PUBLIC_KEY_FILE, load_or_create_hmac_key, load_or_create_signing_key, load_public_key
from controller.audit_store import AuditStore, AuditTarget, open_audit_store
from controller.audit_trail import AUDIT_DB_FILE, AuditTrail, AuditTrailReader, verify_workers
from rrm.clock import WallClock
from rrm.sqlite_files import StateFileError

TARGETS = {"appends_per_s": 20_000, "verify_records_per_s": 100_000}
CHUNK = 4096
EPOCH_MS = 1_767_225_600_000


@dataclass(frozen=True, slots=True)
class AuditBenchOptions:
    records: int = 200_000
    aps: int = 500
    commit_every: int = 1000
    checkpoint_every: int = 1000
    hmac: bool = False
    seed: int = 1
    verify_workers: int = 0  # 0: as many as rrm audit verify uses
    db: str | None = None  # a PostgreSQL URL; None: a SQLite file in a temporary directory


def run_audit_bench(options: AuditBenchOptions) -> dict[str, object]:
    """Append ``options.records`` drafts, then verify the trail; the figures as a JSON-able dict."""
    with tempfile.TemporaryDirectory(prefix="rrm-bench-audit-") as tmp:
        state = Path(tmp)
        key = load_or_create_signing_key(state)
        hmac_key = load_or_create_hmac_key(state) if options.hmac else None
        target: AuditTarget = options.db or state / AUDIT_DB_FILE
        if options.db is not None:
            _refuse_a_trail(options.db)
        try:
            append_s, record_bytes = _append_all(target, key, hmac_key, options)
            public_key = load_public_key(state / PUBLIC_KEY_FILE)
            started = time.perf_counter()
            with AuditTrailReader.open(target) as reader:
                report = reader.verify(public_key, workers=options.verify_workers or verify_workers())
            verify_s = time.perf_counter() - started
            if options.db is None:
                db_bytes = sum(p.stat().st_size for p in state.glob(AUDIT_DB_FILE + "*"))
                server = {"sqlite": sqlite3.sqlite_version}
            else:
                db_bytes, server = _postgres_size_and_version(options.db)
        finally:
            if options.db is not None:
                _drop_tables(options.db)
    return {
        "appends_per_s": round(options.records / append_s),
        "verify_records_per_s": round(report.records / verify_s) if report.ok else 0,
        "records": options.records,
        "checkpoints": report.checkpoints,
        "db_bytes": db_bytes,
        "targets": TARGETS,
        "verified": report.ok,
        "signed_records": report.signed_through_seq,
        "chain_only_records": report.chain_only,
        "record_bytes_mean": round(record_bytes),
        "seconds": {"append": round(append_s, 3), "verify": round(verify_s, 3)},
        "settings": {
            "commit_every": options.commit_every,
            "checkpoint_every": options.checkpoint_every,
            "hmac": options.hmac,
            "aps": options.aps,
            "verify_workers": options.verify_workers or verify_workers(),
            "backend": "sqlite" if options.db is None else "postgresql",
            **server,
        },
    }


_TABLES = ("audit_records", "audit_checkpoints", "audit_archives")


def _refuse_a_trail(url: str) -> None:
    with open_audit_store(url) as store:
        if store.tables() & set(_TABLES):
            raise StateFileError(f"{store.name}: holds audit tables already; the bench needs an empty database")


def _postgres_size_and_version(url: str) -> tuple[int, dict[str, str]]:
    with open_audit_store(url) as store:
        total = 0
        for table in _TABLES:
            (size,) = store.query("SELECT pg_total_relation_size(?)", (table,))[0]
            total += int(size)
        return total, {"postgresql": _one_text(store, "SHOW server_version")}


def _one_text(store: AuditStore, sql: str) -> str:
    row = store.query_one(sql)
    return "" if row is None else str(row[0])


def _drop_tables(url: str) -> None:
    with open_audit_store(url) as store:
        for table in _TABLES:
            store.execute(f"DROP TABLE IF EXISTS {table}")


def _append_all(
    target: AuditTarget, key: Ed25519PrivateKey, hmac_key: bytes | None, options: AuditBenchOptions
) -> tuple[float, float]:
    """(seconds spent in append and close, mean canonical bytes per record)."""
    trail = AuditTrail.open(
        target,
        key,
        checkpoint_every=options.checkpoint_every,
        commit_every=options.commit_every,
        hmac_key=hmac_key,
        clock=WallClock(),
    )
    spent = 0.0
    sizes: list[int] = []
    for drafts in _draft_chunks(options):
        started = time.perf_counter()
        for draft in drafts:
            trail.append(draft)
        spent += time.perf_counter() - started
        sizes.extend(
            len(seal_draft(d, seq=1, record_id="0" * 32, prev_hash=GENESIS)[0].canonical()) for d in drafts[:64]
        )
    started = time.perf_counter()
    trail.close()
    spent += time.perf_counter() - started
    return spent, sum(sizes) / max(1, len(sizes))


def _draft_chunks(options: AuditBenchOptions) -> Iterator[list[AuditDraft]]:
    rng = random.Random(options.seed)
    left = options.records
    now_ms = EPOCH_MS
    while left > 0:
        size = min(CHUNK, left)
        chunk = []
        for _ in range(size):
            now_ms += rng.randint(0, 40)
            chunk.append(_draft(rng, now_ms, options.aps))
        left -= size
        yield chunk


def _hash_id(rng: random.Random) -> str:
    """A keyed identifier hash as the agents send them (HASH_BYTES = 10, hex)."""
    return rng.randbytes(10).hex()


def _radio_config(rng: random.Random, band: str) -> dict[str, object]:
    channel = rng.choice((1, 6, 11) if band == "2g" else (36, 40, 44, 48, 52, 56, 60, 64, 100, 104, 149, 153))
    return {
        "channel": channel,
        "width_mhz": 20 if band == "2g" else rng.choice((40, 80)),
        "tx_power_dbm": float(rng.randint(8, 23)),
        "obss_pd_dbm": -82,
        "enabled": True,
    }


def _draft(rng: random.Random, now_ms: int, aps: int) -> AuditDraft:
    ap_id = f"ap-{rng.randrange(aps):04d}"
    band = rng.choice(("2g", "5g"))
    before = _radio_config(rng, band)
    base = AuditDraft(
        timestamp_ms=now_ms,
        actor="controller:slow-loop",
        record_type="config_change",
        reason_code="SLOW_LOOP_CHANNEL",
        ap_id=ap_id,
        radio_id=f"{ap_id}/{band}",
        change_id=rng.randbytes(16).hex(),
        rollback_token_id=rng.randbytes(16).hex(),
        before=before,
        after=dict(before, channel=_radio_config(rng, band)["channel"]),
    )
    kind = rng.random()
    if kind < 0.55:
        return replace(
            base,
            reason_code=rng.choice(("SLOW_LOOP_CHANNEL", "SLOW_LOOP_POWER")),
            reason="slow loop: co-channel interference above target; best candidate by expected improvement",
            inputs={
                "snapshot_id": rng.randbytes(12).hex(),
                "model": "gp-ei-v1",
                "iteration": rng.randrange(10_000),
                "utilisation": round(rng.random(), 3),
                "noise_floor_dbm": round(rng.uniform(-98, -85), 1),
                "candidates": [
                    {"channel": c, "score": round(rng.random(), 4)} for c in rng.sample((36, 40, 44, 48, 149, 153), 4)
                ],
                "neighbour_hashes": [_hash_id(rng) for _ in range(4)],
                "safe_zone": {"min": 8, "max": 23, "step": 1, "max_changes_per_hour": 4},
            },
            predicted_effect={"qoe_gain": round(rng.uniform(0, 0.1), 4), "airtime_gain": round(rng.random() / 10, 4)},
            approver=rng.choice(("", "", "", f"operator:{_hash_id(rng)}")),
            outcome="APPLIED",
        )
    if kind < 0.7:
        return replace(
            base,
            actor=f"agent:edge-{rng.randrange(aps):04d}",
            record_type="radar_move",
            reason_code="DFS_RADAR",
            reason="radar detected on the operating channel; moved at once (NOP 30 min)",
            inputs={
                "event_id": rng.randbytes(16).hex(),
                "radar_channel": before["channel"],
                "nop_channels": [52, 56, 60, 64],
                "confidence": round(rng.uniform(0.8, 1), 3),
                "selection": {"scores": {str(c): round(rng.random(), 3) for c in (36, 40, 44, 48)}},
            },
            outcome="APPLIED",
        )
    if kind < 0.8:
        return replace(
            base,
            actor="controller:rollback-monitor",
            record_type="rollback",
            reason_code="QOE_DEGRADED",
            reason="QoE fell below the pre-change baseline within the 5-minute window",
            inputs={"window_s": 300, "baseline_qoe": round(rng.random(), 3), "clients": rng.randrange(80)},
            observed_effect={"qoe_delta": round(-rng.random() / 10, 4), "retry_rate_delta": round(rng.random(), 3)},
            outcome="ROLLED_BACK",
        )
    if kind < 0.93:
        return replace(
            base,
            record_type="refusal",
            reason_code=rng.choice(("SAFE_ZONE", "CHANGE_BUDGET", "COOLDOWN")),
            reason="proposal outside the safe zone for this parameter; not sent",
            inputs={"parameter": "tx_power_dbm", "proposed": 26, "zone": {"min": 8, "max": 23}},
            outcome="REFUSED",
        )
    return replace(
        base,
        actor=f"operator:{_hash_id(rng)}",
        record_type="approval",
        reason_code="APPROVED",
        reason="approved in the change window",
        inputs={"request_id": rng.randbytes(16).hex(), "window_s": 1800},
        approver=f"operator:{_hash_id(rng)}",
        outcome="APPROVED",
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m rrm.bench.audit [--db URL] [--records N] [--hmac]``: the figures as JSON on stdout."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m rrm.bench.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--db", metavar="URL", help="an empty PostgreSQL database (default: a SQLite file)")
    defaults = AuditBenchOptions()
    parser.add_argument("--records", type=int, default=defaults.records)
    parser.add_argument("--commit-every", type=int, default=defaults.commit_every)
    parser.add_argument("--hmac", action="store_true")
    ns = parser.parse_args(argv)
    options = AuditBenchOptions(records=ns.records, commit_every=ns.commit_every, hmac=ns.hmac, db=ns.db)
    try:
        figures = run_audit_bench(options)
    except StateFileError as exc:
        print(f"rrm bench audit: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(figures, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
