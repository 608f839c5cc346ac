"""Shared helpers of the audit trail tests: drafts, a trail in a real database, tampering by SQL.

A trail is a SQLite file (a Path) or, in tests/integration/test_audit_postgres.py, which runs the
same cases, a PostgreSQL database (a URL). Tampering goes through the database's own driver
(sqlite3 or psycopg), as someone with write access would, not through the audit code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.audit_chain import (
    RECORD_COLUMNS,
    AuditDraft,
    AuditEntry,
    seal_draft,
)
from controller.audit_store import AuditTarget, is_database_url
from controller.audit_trail import AuditTrail, AuditTrailReader
from controller.audit_verify import Problem, VerifyReport
from rrm.clock import VirtualClock

EPOCH = 1_767_225_600.0
KEY = Ed25519PrivateKey.generate()
HMAC_KEY = bytes(range(32))

Target = AuditTarget
"""A trail: a SQLite file, or a postgresql:// URL."""
Statement = tuple[str, tuple[object, ...]]


def draft(i: int, **fields: object) -> AuditDraft:
    """A config change on ap-<i % 3>, with inputs, before/after and a predicted effect."""
    ap = f"ap-{i % 3}"
    base: dict[str, object] = {
        "timestamp_ms": int(EPOCH * 1000) + i * 1000,
        "actor": "controller:slow-loop",
        "record_type": "config_change" if i % 2 else "refusal",
        "reason_code": "SLOW_LOOP_CHANNEL",
        "reason": f"decision {i}",
        "ap_id": ap,
        "radio_id": f"{ap}/5g",
        "change_id": f"change-{i}",
        "rollback_token_id": f"token-{i}",
        "inputs": {"snapshot": f"s{i}", "scores": [0.5, 0.25], "neighbours": ["0123456789abcdef0123"]},
        "before": {"channel": 52, "width_mhz": 80},
        "after": {"channel": 36, "width_mhz": 80},
        "predicted_effect": {"qoe_gain": 0.04},
        "approver": "operator:alice" if i % 5 == 0 else "",
        "outcome": "APPLIED",
    }
    base.update(fields)
    return AuditDraft(**base)  # type: ignore[arg-type]


def open_trail(path: Target, clock: VirtualClock, **options: object) -> AuditTrail:
    settings: dict[str, object] = {"checkpoint_every": 10, "checkpoint_interval_s": 3600.0, **options}
    return AuditTrail.open(path, KEY, clock=clock, **settings)  # type: ignore[arg-type]


def write(path: Target, clock: VirtualClock, count: int, **options: object) -> list[AuditEntry]:
    """``count`` records, checkpoints every 10 and at close."""
    with open_trail(path, clock, **options) as trail:
        return [trail.append(draft(i)) for i in range(1, count + 1)]


def verify(
    path: Target, *, key: Ed25519PrivateKey = KEY, hmac_key: bytes | None = None, workers: int = 1
) -> VerifyReport:
    with AuditTrailReader.open(path) as reader:
        return reader.verify(key.public_key(), hmac_key=hmac_key, workers=workers)


def tamper(path: Target, *statements: Statement) -> None:
    """Run SQL statements (``?`` placeholders) on the trail's database in one transaction, with its own driver."""
    if is_database_url(path):
        import psycopg

        with psycopg.connect(str(path)) as pg:  # one transaction, committed at the end of the block
            for sql, params in statements:
                pg.execute(sql.replace("?", "%s").encode(), params)
        return
    conn = sqlite3.connect(path)
    with conn:
        for sql, params in statements:
            conn.execute(sql, params)
    conn.close()


def rows(path: Target, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """What a SELECT (``?`` placeholders) returns, read with the database's own driver."""
    if is_database_url(path):
        import psycopg

        with psycopg.connect(str(path), autocommit=True) as pg:
            return pg.execute(sql.replace("?", "%s").encode(), params).fetchall()
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored(path: Target, seq: int) -> tuple[object, ...]:
    found = rows(path, f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records WHERE seq = ?", (seq,))
    assert found, f"no record seq {seq}"
    return tuple(found[0])


def renumber(path: Target, *, above: int, by: int) -> Statement:
    """Shift the seq of every record above ``above`` (through negative values: no key collides)."""
    return (f"UPDATE audit_records SET seq = -(seq + {by}) WHERE seq > ?", (above,))


UNNEGATE = ("UPDATE audit_records SET seq = -seq WHERE seq < 0", ())


def forged_row(path: Target, after_seq: int, seq: int, record_id: str = "f" * 32) -> tuple[object, ...]:
    """A well-formed record chained after the stored record ``after_seq``: what a forger can compute."""
    prev = bytes.fromhex(str(stored(path, after_seq)[RECORD_COLUMNS.index("record_hash")]))
    _, row = seal_draft(draft(999, outcome="FORGED"), seq=seq, record_id=record_id, prev_hash=prev)
    return row


INSERT = f"INSERT INTO audit_records ({', '.join(RECORD_COLUMNS)}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"


def bad(report: VerifyReport) -> tuple[int, Problem]:
    assert report.first_bad is not None, report
    return report.first_bad.seq, report.first_bad.problem
