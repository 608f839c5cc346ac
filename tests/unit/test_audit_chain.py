"""The controller's signed audit trail: the chain, checkpoints, every kind of tampering, privacy.

Each tampering test edits a real SQLite file with sqlite3, as someone with write access would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller import audit_reader
from controller.audit_chain import (
    GENESIS,
    RECORD_COLUMNS,
    AuditDraft,
    AuditEntry,
    AuditRefused,
    Checkpoint,
    canonical_json,
    chain_hash,
    checkpoint_message,
    looks_like_mac,
    public_key_id,
    seal_draft,
)
from controller.audit_keys import (
    HMAC_KEY_FILE,
    PUBLIC_KEY_FILE,
    SIGNING_KEY_FILE,
    AuditKeyError,
    load_hmac_key,
    load_or_create_hmac_key,
    load_or_create_signing_key,
    load_public_key,
)
from controller.audit_trail import AuditQuery, AuditTrail, AuditTrailError, AuditTrailReader, ExportFormat
from controller.audit_verify import ChainVerifier, Problem, VerifyReport
from rrm.clock import VirtualClock
from rrm.sqlite_files import StateFileError

pytestmark = pytest.mark.unit

EPOCH = 1_767_225_600.0
KEY = Ed25519PrivateKey.generate()
HMAC_KEY = bytes(range(32))


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


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(EPOCH)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "controller" / "audit.db"


def open_trail(path: Path, clock: VirtualClock, **options: object) -> AuditTrail:
    settings: dict[str, object] = {"checkpoint_every": 10, "checkpoint_interval_s": 3600.0, **options}
    return AuditTrail.open(path, KEY, clock=clock, **settings)  # type: ignore[arg-type]


def write(path: Path, clock: VirtualClock, count: int, **options: object) -> list[AuditEntry]:
    """``count`` records, checkpoints every 10 and at close."""
    with open_trail(path, clock, **options) as trail:
        return [trail.append(draft(i)) for i in range(1, count + 1)]


def verify(
    path: Path, *, key: Ed25519PrivateKey = KEY, hmac_key: bytes | None = None, workers: int = 1
) -> VerifyReport:
    with AuditTrailReader.open(path) as reader:
        return reader.verify(key.public_key(), hmac_key=hmac_key, workers=workers)


def tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for sql, params in statements:
            conn.execute(sql, params)
    conn.close()


def stored(path: Path, seq: int) -> tuple[object, ...]:
    conn = sqlite3.connect(path)
    row = conn.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records WHERE seq = ?", (seq,)).fetchone()
    conn.close()
    assert row is not None
    return tuple(row)


def renumber(path: Path, *, above: int, by: int) -> tuple[str, tuple[object, ...]]:
    """Shift the seq of every record above ``above`` (through negative values: no key collides)."""
    return (f"UPDATE audit_records SET seq = -(seq + {by}) WHERE seq > ?", (above,))


UNNEGATE = ("UPDATE audit_records SET seq = -seq WHERE seq < 0", ())


def forged_row(path: Path, after_seq: int, seq: int, record_id: str = "f" * 32) -> tuple[object, ...]:
    """A well-formed record chained after the stored record ``after_seq``: what a forger can compute."""
    prev = bytes.fromhex(str(stored(path, after_seq)[RECORD_COLUMNS.index("record_hash")]))
    _, row = seal_draft(draft(999, outcome="FORGED"), seq=seq, record_id=record_id, prev_hash=prev)
    return row


INSERT = f"INSERT INTO audit_records ({', '.join(RECORD_COLUMNS)}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"


def bad(report: VerifyReport) -> tuple[int, Problem]:
    assert report.first_bad is not None, report
    return report.first_bad.seq, report.first_bad.problem


# ----------------------------------------------------------------------------- the chain


def test_each_record_hashes_its_canonical_json_after_the_previous_hash(db: Path, clock: VirtualClock) -> None:
    """record_hash = SHA-256(prev_hash || canonical JSON of every other field); record 1 follows GENESIS."""
    first, second = write(db, clock, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.record_hash
    row = first.to_row()
    expected = _canonical(list(row))
    assert first.canonical() == expected
    assert first.record_hash == hashlib.sha256(GENESIS + expected).digest() == chain_hash(GENESIS, expected)
    assert first.inputs_digest == hashlib.sha256(canonical_json(first.inputs).encode()).hexdigest()
    assert first.hmac is None
    assert stored(db, 1) == row


def test_canonical_json_sorts_keys_is_compact_ascii_and_refuses_nan() -> None:
    """The canonical text is the same whatever order a mapping was built in."""
    assert canonical_json({"b": 1, "a": {"d": "é", "c": [1, 2.5]}}) == '{"a":{"c":[1,2.5],"d":"\\u00e9"},"b":1}'
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": float("nan")})


def test_a_clean_trail_verifies_and_is_signed_through_its_last_record(db: Path, clock: VirtualClock) -> None:
    """Checkpoints every 10 records and one at close cover all 25."""
    write(db, clock, 25)
    report = verify(db)
    assert report.ok and report.records == 25 and report.head_seq == 25
    assert report.signed_through_seq == 25 and report.chain_only == 0
    assert [cp.seq for cp in AuditTrailReader.open(db).checkpoints()] == [10, 20, 25]
    assert report.checkpoints == 3 and report.key_id == public_key_id(KEY.public_key())


def test_an_empty_trail_verifies(db: Path, clock: VirtualClock) -> None:
    """No records, no checkpoint: nothing to sign at close."""
    open_trail(db, clock).close()
    report = verify(db)
    assert report.ok and report.records == 0 and report.checkpoints == 0


# ----------------------------------------------------------------------------- tampering


def test_an_edited_field_is_named(db: Path, clock: VirtualClock) -> None:
    """Changing one record's outcome breaks its own hash: that record is the first bad one."""
    entries = write(db, clock, 25)
    tamper(db, ("UPDATE audit_records SET outcome = 'REFUSED' WHERE seq = 7", ()))
    report = verify(db)
    assert bad(report) == (7, Problem.EDITED)
    assert report.first_bad is not None and report.first_bad.record_id == entries[6].record_id
    assert report.records == 6 and report.signed_through_seq == 0


def test_a_json_field_rewritten_with_the_same_meaning_is_an_edit(db: Path, clock: VirtualClock) -> None:
    """The stored text is what is hashed: even a space added to the inputs is detected."""
    write(db, clock, 12)
    tamper(db, ("UPDATE audit_records SET inputs_json = replace(inputs_json, ':', ': ') WHERE seq = 3", ()))
    assert bad(verify(db)) == (3, Problem.EDITED)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("prev_hash", "'" + "0" * 64 + "'"),
        ("record_hash", "'" + "0" * 64 + "'"),
        ("inputs_digest", "'" + "0" * 64 + "'"),
        ("timestamp_ms", "timestamp_ms + 0.5"),
    ],
)
def test_editing_a_chain_column_is_detected(db: Path, clock: VirtualClock, column: str, value: str) -> None:
    """The hashes and the digest are covered too, and a timestamp made fractional is an edit."""
    write(db, clock, 12)
    tamper(db, (f"UPDATE audit_records SET {column} = {value} WHERE seq = 4", ()))
    assert bad(verify(db)) == (4, Problem.EDITED)


def test_a_column_of_the_wrong_type_is_malformed_not_a_crash(db: Path, clock: VirtualClock) -> None:
    """A NULL where text belongs is reported, naming the record."""
    write(db, clock, 5)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t AS SELECT * FROM audit_records")  # a copy without NOT NULL
    conn.execute("DROP TABLE audit_records")
    conn.execute("ALTER TABLE t RENAME TO audit_records")
    conn.execute("UPDATE audit_records SET actor = NULL WHERE seq = 2")
    conn.commit()
    conn.close()
    assert bad(verify(db)) == (2, Problem.MALFORMED)


def test_a_deleted_record_is_named_as_missing(db: Path, clock: VirtualClock) -> None:
    """A gap in seq: the first missing seq is named."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq = 13", ()))
    report = verify(db)
    assert bad(report) == (13, Problem.MISSING)
    assert report.signed_through_seq == 10


def test_a_deleted_record_with_the_rest_renumbered_is_detected(db: Path, clock: VirtualClock) -> None:
    """Closing the gap moves every later record off the seq it was sealed with."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq = 13", ()), renumber(db, above=13, by=-1), UNNEGATE)
    report = verify(db)
    assert bad(report) == (13, Problem.MOVED)
    assert report.first_bad is not None and "written as seq 14" in report.first_bad.detail


def test_an_inserted_forged_record_is_named(db: Path, clock: VirtualClock) -> None:
    """A forged record chained correctly after seq 12, the rest shifted up: the forgery is named."""
    write(db, clock, 25)
    forged = forged_row(db, 12, 13)
    tamper(db, renumber(db, above=12, by=1), UNNEGATE, (INSERT, forged))
    report = verify(db)
    assert bad(report) == (13, Problem.INSERTED)
    assert report.first_bad is not None and report.first_bad.record_id == "f" * 32


def test_a_record_with_a_fractional_seq_slipped_between_two_is_detected(db: Path, clock: VirtualClock) -> None:
    """BIGINT takes 12.5 in SQLite: the chain names it right after seq 12."""
    write(db, clock, 25)
    forged = list(forged_row(db, 12, 13))
    forged[0] = 12.5
    tamper(db, (INSERT, tuple(forged)))
    assert bad(verify(db)) == (13, Problem.MALFORMED)


def test_two_reordered_records_are_detected(db: Path, clock: VirtualClock) -> None:
    """Swapping the seq of records 8 and 9 moves both off the seq they were sealed with."""
    write(db, clock, 25)
    tamper(
        db,
        ("UPDATE audit_records SET seq = -9 WHERE seq = 8", ()),
        ("UPDATE audit_records SET seq = -8 WHERE seq = 9", ()),
        UNNEGATE,
    )
    report = verify(db)
    assert bad(report) == (8, Problem.MOVED)
    assert report.first_bad is not None and "written as seq 9" in report.first_bad.detail


def test_a_tail_truncated_after_a_checkpoint_is_detected(db: Path, clock: VirtualClock) -> None:
    """Records a checkpoint signed are gone: the first missing one is named."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq > 15", ()))
    report = verify(db)
    assert bad(report) == (16, Problem.TRUNCATED)
    assert report.signed_through_seq == 10


def test_a_tail_truncated_with_its_checkpoints_shows_as_covered_only_by_the_chain(
    db: Path, clock: VirtualClock
) -> None:
    """Nothing signed says more records existed: verify passes, and says what no signature covers."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq > 15", ()), ("DELETE FROM audit_checkpoints WHERE seq > 15", ()))
    report = verify(db)
    assert report.ok and report.records == 15
    assert report.signed_through_seq == 10 and report.chain_only == 5


def test_a_forged_record_appended_after_the_last_checkpoint_is_only_chain_covered(
    db: Path, clock: VirtualClock
) -> None:
    """The chain cannot tell; the report says record 26 is covered by no signature."""
    write(db, clock, 25)
    tamper(db, (INSERT, forged_row(db, 25, 26)))
    report = verify(db)
    assert report.ok and report.records == 26
    assert report.signed_through_seq == 25 and report.chain_only == 1


def test_a_rewritten_and_rechained_trail_fails_at_the_next_checkpoint(db: Path, clock: VirtualClock) -> None:
    """Whoever recomputes every hash after an edit cannot sign the new head."""
    write(db, clock, 25)
    conn = sqlite3.connect(db)
    rows = conn.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records WHERE seq >= 12 ORDER BY seq")
    prev = bytes.fromhex(str(stored(db, 11)[RECORD_COLUMNS.index("record_hash")]))
    rewritten = []
    for row in rows.fetchall():
        fields = list(row)
        if fields[0] == 12:
            fields[RECORD_COLUMNS.index("outcome")] = "REFUSED"
        fields[RECORD_COLUMNS.index("prev_hash")] = prev.hex()
        record = chain_hash(prev, _canonical(fields))
        fields[RECORD_COLUMNS.index("record_hash")] = record.hex()
        rewritten.append(fields)
        prev = record
    conn.executemany(
        "UPDATE audit_records SET outcome = ?, prev_hash = ?, record_hash = ? WHERE seq = ?",
        [(f[12], f[19], f[20], f[0]) for f in rewritten],
    )
    conn.commit()
    conn.close()
    report = verify(db)
    assert bad(report) == (20, Problem.CHECKPOINT_MISMATCH)
    assert report.signed_through_seq == 10


def _canonical(fields: list[object]) -> bytes:
    """The canonical form as the module docstring documents it, from a stored row."""
    named = {
        name.removesuffix("_json"): value
        for name, value in zip(RECORD_COLUMNS, fields, strict=True)
        if name not in ("record_hash", "hmac")
    }
    return json.dumps(named, sort_keys=True, separators=(",", ":")).encode()


def test_a_replaced_checkpoint_signature_is_named(db: Path, clock: VirtualClock) -> None:
    """Another checkpoint's signature (well-formed, wrong) on checkpoint 20."""
    write(db, clock, 25)
    conn = sqlite3.connect(db)
    (other,) = conn.execute("SELECT signature FROM audit_checkpoints WHERE seq = 10").fetchone()
    conn.close()
    tamper(db, ("UPDATE audit_checkpoints SET signature = ? WHERE seq = 20", (other,)))
    report = verify(db)
    assert bad(report) == (20, Problem.CHECKPOINT_SIGNATURE)
    assert report.signed_through_seq == 10


def test_a_checkpoint_that_is_not_even_hex_is_malformed(db: Path, clock: VirtualClock) -> None:
    """A broken checkpoint row is reported, not a crash."""
    write(db, clock, 25)
    tamper(db, ("UPDATE audit_checkpoints SET head_hash = 'zz' WHERE seq = 20", ()))
    assert bad(verify(db)) == (20, Problem.CHECKPOINT_MALFORMED)


def test_the_wrong_public_key_fails_at_the_first_checkpoint(db: Path, clock: VirtualClock) -> None:
    """Signatures by another key never verify; the detail names both key ids."""
    write(db, clock, 25)
    other = Ed25519PrivateKey.generate()
    report = verify(db, key=other)
    assert bad(report) == (10, Problem.CHECKPOINT_SIGNATURE)
    assert report.first_bad is not None
    assert public_key_id(other.public_key()) in report.first_bad.detail
    assert public_key_id(KEY.public_key()) in report.first_bad.detail


@pytest.mark.parametrize(
    "statements",
    [
        [("UPDATE audit_records SET reason = 'x' WHERE seq = 17", ())],
        [("DELETE FROM audit_records WHERE seq = 3", ())],
        [("DELETE FROM audit_records WHERE seq > 22", ())],
        [("UPDATE audit_checkpoints SET signed_at_ms = signed_at_ms + 1 WHERE seq = 20", ())],
    ],
)
def test_parallel_verification_finds_what_one_walk_finds(
    db: Path, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch, statements: list[tuple[str, tuple[object, ...]]]
) -> None:
    """Split into seq ranges verified in forked processes, the verdict is the same."""
    write(db, clock, 25)
    monkeypatch.setattr(audit_reader, "PARALLEL_MIN_RECORDS", 5)
    assert verify(db, workers=3) == verify(db)
    tamper(db, *statements)
    single, parallel = verify(db), verify(db, workers=3)
    assert not single.ok
    assert parallel == single


# ----------------------------------------------------------------------------- HMAC mode


def test_hmac_mode_keeps_an_hmac_per_record_checked_only_with_the_key(db: Path, clock: VirtualClock) -> None:
    """HMAC-SHA256(key, record_hash) on every record; without the key they are unchecked, not failed."""
    entries = write(db, clock, 12, hmac_key=HMAC_KEY)
    assert entries[0].hmac == hmac.digest(HMAC_KEY, entries[0].record_hash, "sha256")
    with_key, without = verify(db, hmac_key=HMAC_KEY), verify(db)
    assert with_key.ok and with_key.hmac_checked == 12 and with_key.hmac_unchecked == 0
    assert without.ok and without.hmac_checked == 0 and without.hmac_unchecked == 12


def test_hmac_mode_catches_a_rechained_tail_that_no_checkpoint_covers(db: Path, clock: VirtualClock) -> None:
    """A forger without the HMAC key can chain a record but not HMAC it."""
    write(db, clock, 12, hmac_key=HMAC_KEY)
    forged = list(forged_row(db, 12, 13))
    forged[-1] = "00" * 32
    tamper(db, (INSERT, tuple(forged)))
    assert bad(verify(db, hmac_key=HMAC_KEY)) == (13, Problem.HMAC_MISMATCH)
    forged[-1] = None
    tamper(db, ("DELETE FROM audit_records WHERE seq = 13", ()), (INSERT, tuple(forged)))
    assert bad(verify(db, hmac_key=HMAC_KEY)) == (13, Problem.HMAC_MISSING)
    assert verify(db).ok  # without the key only the chain speaks for record 13
    assert verify(db).chain_only == 1


def test_a_trail_with_hmacs_does_not_reopen_without_its_key(db: Path, clock: VirtualClock) -> None:
    """Appending without HMACs would make the trail fail verification later."""
    write(db, clock, 3, hmac_key=HMAC_KEY)
    with pytest.raises(AuditTrailError, match="per-record HMACs"):
        open_trail(db, clock)


# ----------------------------------------------------------------------------- writing


def test_reopening_resumes_the_chain_and_signs_each_session(db: Path, clock: VirtualClock) -> None:
    """Seq and the head continue across restarts; every close signs a checkpoint."""
    first = write(db, clock, 4)
    with open_trail(db, clock) as trail:
        assert trail.head().seq == 4 and trail.head().record_hash == first[-1].record_hash
        assert trail.head().signed_through_seq == 4
        fifth = trail.append(draft(5))
    assert fifth.seq == 5 and fifth.prev_hash == first[-1].record_hash
    report = verify(db)
    assert report.ok and report.records == 5 and report.signed_through_seq == 5
    assert [cp.seq for cp in AuditTrailReader.open(db).checkpoints()] == [4, 5]


def test_close_signs_a_final_checkpoint_once(db: Path, clock: VirtualClock) -> None:
    """A head already signed is not signed again; closing twice is harmless."""
    trail = open_trail(db, clock, checkpoint_every=1000)
    trail.append(draft(1))
    assert trail.checkpoint() is not None
    assert trail.checkpoint() is None
    trail.close()
    trail.close()
    assert [cp.seq for cp in AuditTrailReader.open(db).checkpoints()] == [1]
    with pytest.raises(AuditTrailError, match="closed"):
        trail.append(draft(2))


def test_checkpoints_are_signed_every_n_records_and_every_interval(db: Path, clock: VirtualClock) -> None:
    """On the trail's clock: 3 records, nothing due; 10 s later the next flush signs them."""
    trail = open_trail(db, clock, checkpoint_every=1000, checkpoint_interval_s=10.0)
    for i in range(3):
        trail.append(draft(i + 1))
    assert trail.flush() is None
    clock.advance(10)
    checkpoint = trail.flush()
    assert checkpoint is not None and checkpoint.seq == 3
    assert checkpoint.signed_at_ms == int((EPOCH + 10) * 1000)
    assert checkpoint.verify(KEY.public_key())
    clock.advance(60)
    assert trail.flush() is None  # nothing new to sign
    trail.close()


def test_group_commit_makes_records_visible_every_commit_every_appends_and_on_flush(
    db: Path, clock: VirtualClock
) -> None:
    """Another connection sees nothing until 4 appends (commit_every) or a flush."""
    trail = open_trail(db, clock, checkpoint_every=1000, commit_every=4)

    def visible() -> int:
        conn = sqlite3.connect(db)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM audit_records").fetchone()[0])
        finally:
            conn.close()

    for i in range(3):
        trail.append(draft(i + 1))
    assert (visible(), trail.pending) == (0, 3)
    trail.append(draft(4))
    assert (visible(), trail.pending) == (4, 0)
    trail.append(draft(5))
    trail.flush()
    assert visible() == 5
    trail.close()


async def test_flush_periodically_commits_a_quiet_trail_on_its_clock(db: Path, clock: VirtualClock) -> None:
    """The owner's flush task: a record appended between ticks is committed at the next one."""
    import asyncio

    trail = open_trail(db, clock, checkpoint_every=1000)
    task = asyncio.create_task(trail.flush_periodically(1.0))
    await asyncio.sleep(0)
    trail.append(draft(1))
    assert trail.pending == 1
    clock.advance(1.0)
    await asyncio.sleep(0)
    assert trail.pending == 0
    task.cancel()
    trail.close()


def test_a_crash_leaves_unsigned_records_that_the_next_session_checks_and_signs(db: Path, clock: VirtualClock) -> None:
    """Committed but never checkpointed (no close): reopening verifies them, then signs them."""
    trail = open_trail(db, clock, checkpoint_every=1000)
    for i in range(5):
        trail.append(draft(i + 1))
    trail.flush()  # committed, not signed; the process dies here
    assert verify(db).chain_only == 5
    with open_trail(db, clock) as resumed:
        assert resumed.head().seq == 5 and resumed.head().signed_through_seq == 0
    assert verify(db).chain_only == 0


def test_reopening_refuses_to_sign_over_a_tail_changed_while_the_controller_was_down(
    db: Path, clock: VirtualClock
) -> None:
    """An edit after the last checkpoint stops the trail from opening, naming the record."""
    trail = open_trail(db, clock, checkpoint_every=1000)
    for i in range(5):
        trail.append(draft(i + 1))
    trail.flush()
    tamper(db, ("UPDATE audit_records SET outcome = 'REFUSED' WHERE seq = 4", ()))
    with pytest.raises(AuditTrailError, match=r"record seq 4 .*edited"):
        open_trail(db, clock)


def test_reopening_refuses_a_truncated_signed_head(db: Path, clock: VirtualClock) -> None:
    """The last checkpoint's record must still be there."""
    write(db, clock, 12)
    tamper(db, ("DELETE FROM audit_records WHERE seq = 12", ()))
    with pytest.raises(AuditTrailError, match="record seq 12 is not the head its checkpoint signed"):
        open_trail(db, clock)


# ----------------------------------------------------------------------------- privacy and drafts


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"inputs": {"clients": [{"mac": "aa:bb:cc:dd:ee:ff"}]}}, "inputs"),
        ({"inputs": {"AA-BB-CC-DD-EE-0F": 1}}, "inputs"),
        ({"reason": "client 02:00:5E:10:00:01 roamed"}, "reason"),
        ({"after": {"bssid": "bssid:0a:1b:2c:3d:4e:5f"}}, "after"),
        ({"observed_effect": {"worst": ["x", "de-ad-be-ef-00-01"]}}, "observed_effect"),
        ({"approver": "operator:aa:bb:cc:dd:ee:ff"}, "approver"),
    ],
)
def test_a_draft_holding_a_mac_address_is_refused_naming_the_field(
    db: Path, clock: VirtualClock, fields: dict[str, object], field_name: str
) -> None:
    """Privacy invariant 7: identifiers reach the audit as keyed hashes, never raw; nothing is written."""
    with open_trail(db, clock) as trail:
        trail.append(draft(1))
        with pytest.raises(AuditRefused, match="privacy invariant 7") as refused:
            trail.append(draft(2, **fields))
        assert refused.value.field == field_name
        assert isinstance(refused.value, ValueError)
        assert "ee:ff" not in str(refused.value) and "EE-0F" not in str(refused.value)
        assert trail.head().seq == 1
        assert trail.append(draft(3)).seq == 2
    assert verify(db).ok


def test_the_refusal_says_where_in_the_inputs_the_mac_is() -> None:
    """The key path, not the value."""
    with pytest.raises(AuditRefused, match=r'inputs\["clients"\]\[1\]\["mac"\]'):
        seal_draft(
            draft(1, inputs={"clients": [{"mac": "ok"}, {"mac": "aa:bb:cc:dd:ee:ff"}]}),
            seq=1,
            record_id="r",
            prev_hash=GENESIS,
        )


def test_keyed_hashes_times_and_uuids_are_not_mistaken_for_macs() -> None:
    """Only six hex pairs joined by ':' or '-' look like a MAC."""
    for text in ("0123456789abcdef0123", "12:34:56", "2026-01-31T12:00:00Z", "123e4567-e89b-12d3-a456-426614174000"):
        assert not looks_like_mac(text), text
    for text in ("aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "x=00:11:22:33:44:55;", "aa:bb-cc:dd-ee:ff"):
        assert looks_like_mac(text), text


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"actor": ""}, "actor"),
        ({"reason_code": ""}, "reason_code"),
        ({"timestamp_ms": 1.5}, "timestamp_ms"),
        ({"reason": 7}, "reason"),
        ({"inputs": {"s": {1, 2}}}, "inputs"),
        ({"predicted_effect": {"gain": float("inf")}}, "predicted_effect"),
        ({"before": [52]}, "before"),
        ({"ap_id": "ap-1", "radio_id": "ap-2/5g"}, "radio_id"),
    ],
)
def test_a_malformed_draft_is_refused_naming_the_field(fields: dict[str, object], field_name: str) -> None:
    """Who and why are required; the JSON fields must be JSON; a radio must be on its AP."""
    with pytest.raises(AuditRefused) as refused:
        seal_draft(draft(1, **fields), seq=1, record_id="r", prev_hash=GENESIS)
    assert refused.value.field == field_name


# ----------------------------------------------------------------------------- reading


def test_queries_filter_by_ap_radio_type_change_and_time(db: Path, clock: VirtualClock) -> None:
    """Every filter, alone and together, in seq order; a radio query also finds records with no AP."""
    write(db, clock, 12)
    with open_trail(db, clock) as trail:
        trail.append(draft(13, ap_id="", radio_id="ap-1/5g", change_id="lone"))
    reader = AuditTrailReader.open(db)
    assert [e.seq for e in reader.query(ap_id="ap-1")] == [1, 4, 7, 10]
    assert [e.seq for e in reader.query(radio_id="ap-1/5g")] == [1, 4, 7, 10, 13]
    assert [e.seq for e in reader.query(record_type="refusal", ap_id="ap-1")] == [4, 10]
    assert [e.change_id for e in reader.query(change_id="change-7")] == ["change-7"]
    start = int(EPOCH * 1000)
    assert [e.seq for e in reader.query(since_ms=start + 3000, until_ms=start + 6000)] == [3, 4, 5]
    assert [e.seq for e in reader.query(limit=2)] == [1, 2]
    entry = reader.query(change_id="change-5")[0]
    assert entry.inputs == draft(5).inputs and entry.after == {"channel": 36, "width_mhz": 80}
    assert entry.approver == "operator:alice" and entry.predicted_effect == {"qoe_gain": 0.04}
    reader.close()


def test_the_radio_query_uses_the_ap_index(db: Path, clock: VirtualClock) -> None:
    """SQLite's plan for a radio query searches audit_records_by_ap, not the whole table."""
    write(db, clock, 3)
    sql, params = AuditQuery(radio_id="ap-1/5g").sql()
    conn = sqlite3.connect(db)
    plan = " ".join(str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
    conn.close()
    assert "audit_records_by_ap" in plan


def test_a_jsonl_export_lets_an_auditor_recompute_every_hash(db: Path, clock: VirtualClock, tmp_path: Path) -> None:
    """Each line holds every field; the documented canonical form rebuilds the chain from the lines."""
    entries = write(db, clock, 6)
    out = tmp_path / "audit.jsonl"
    with AuditTrailReader.open(db) as reader, out.open("w") as stream:
        assert reader.export(ExportFormat.JSONL, stream) == 6
    prev = GENESIS
    for line, entry in zip(out.read_text().splitlines(), entries, strict=True):
        record = json.loads(line)
        fields = {k: v for k, v in record.items() if k not in ("record_hash", "hmac")}
        for name in ("inputs", "before", "after", "predicted_effect", "observed_effect"):
            fields[name] = json.dumps(fields[name], sort_keys=True, separators=(",", ":"))
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
        assert record["prev_hash"] == prev.hex()
        prev = hashlib.sha256(prev + canonical).digest()
        assert record["record_hash"] == prev.hex() == entry.record_hash.hex()


def test_a_csv_export_has_the_stored_columns(db: Path, clock: VirtualClock, tmp_path: Path) -> None:
    """A header of the column names, then one row per record."""
    write(db, clock, 4)
    out = tmp_path / "audit.csv"
    with AuditTrailReader.open(db) as reader, out.open("w", newline="") as stream:
        assert reader.export("csv", stream) == 4
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == list(RECORD_COLUMNS) and len(lines) == 5


def test_opening_a_missing_or_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    """No trail, or a database without the audit tables: one message naming the file."""
    with pytest.raises(AuditTrailError, match="no audit trail here"):
        AuditTrailReader.open(tmp_path / "nothing.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(AuditTrailError, match="not an audit trail"):
        AuditTrailReader.open(other)


# ----------------------------------------------------------------------------- checkpoints and verifier


def test_a_checkpoint_signs_seq_head_and_time_only_for_its_key() -> None:
    """The message is canonical JSON; any change to it, or another key, fails."""
    head = hashlib.sha256(b"x").digest()
    checkpoint = Checkpoint.sign(KEY, 42, head, 1_000)
    assert json.loads(checkpoint_message(42, head, 1_000)) == {
        "head_hash": head.hex(),
        "seq": 42,
        "signed_at_ms": 1_000,
        "type": "rrm.audit.checkpoint.v1",
    }
    assert checkpoint.verify(KEY.public_key())
    assert not Checkpoint(43, head, 1_000, checkpoint.signature, checkpoint.key_id).verify(KEY.public_key())
    assert not checkpoint.verify(Ed25519PrivateKey.generate().public_key())
    assert Checkpoint.from_row(checkpoint.to_row()) == checkpoint


def test_the_verifier_takes_rows_in_batches_of_any_size(db: Path, clock: VirtualClock) -> None:
    """Feeding one row at a time or all at once gives the same report."""
    write(db, clock, 12)
    conn = sqlite3.connect(db)
    rows = conn.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records ORDER BY seq").fetchall()
    checkpoints = conn.execute(
        "SELECT seq, head_hash, signed_at_ms, signature, key_id FROM audit_checkpoints"
    ).fetchall()
    conn.close()
    one, many = ChainVerifier(KEY.public_key(), checkpoints), ChainVerifier(KEY.public_key(), checkpoints)
    for row in rows:
        assert one.feed([row])
    assert many.feed(rows)
    assert one.finish() == many.finish() == verify(db)


# ----------------------------------------------------------------------------- keys


def test_the_signing_key_is_created_private_with_its_public_key_beside_it(tmp_path: Path) -> None:
    """0600 PEM, reloaded as the same key; the .pub is what verification reads."""
    key = load_or_create_signing_key(tmp_path)
    assert stat.S_IMODE((tmp_path / SIGNING_KEY_FILE).stat().st_mode) == 0o600
    again = load_or_create_signing_key(tmp_path)
    assert public_key_id(again.public_key()) == public_key_id(key.public_key())
    public = load_public_key(tmp_path / PUBLIC_KEY_FILE)
    assert public_key_id(public) == public_key_id(key.public_key())


def test_the_hmac_key_is_32_private_bytes(tmp_path: Path) -> None:
    """Created on demand, 0600, and refused when it has another length."""
    key = load_or_create_hmac_key(tmp_path)
    assert len(key) == 32 and load_or_create_hmac_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / HMAC_KEY_FILE).stat().st_mode) == 0o600
    (tmp_path / HMAC_KEY_FILE).write_bytes(b"short")
    with pytest.raises(AuditKeyError, match=f"{HMAC_KEY_FILE}.*32 bytes"):
        load_hmac_key(tmp_path / HMAC_KEY_FILE)


def _ec_pem() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (SIGNING_KEY_FILE, b"not a key", "not a PEM private key"),
        (SIGNING_KEY_FILE, _ec_pem()[0], "must be Ed25519"),
    ],
)
def test_a_bad_signing_key_file_is_named(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    """Malformed or the wrong kind of key: an error naming the file, a StateFileError for the CLI."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(AuditKeyError, match=message) as error:
        load_or_create_signing_key(tmp_path)
    assert str(tmp_path / name) in str(error.value) and isinstance(error.value, StateFileError)


def test_a_bad_or_missing_public_key_file_is_named(tmp_path: Path) -> None:
    """Missing, not PEM, or not Ed25519."""
    path = tmp_path / PUBLIC_KEY_FILE
    with pytest.raises(AuditKeyError, match="no audit public key here"):
        load_public_key(path)
    path.write_bytes(b"junk")
    with pytest.raises(AuditKeyError, match="not a PEM public key"):
        load_public_key(path)
    path.write_bytes(_ec_pem()[1])
    with pytest.raises(AuditKeyError, match="must be Ed25519"):
        load_public_key(path)


def test_a_public_key_of_another_signing_key_is_refused(tmp_path: Path) -> None:
    """audit-signing.pub must belong to audit-signing.key."""
    load_or_create_signing_key(tmp_path)
    other = tmp_path / "other"
    load_or_create_signing_key(other)
    os.replace(other / PUBLIC_KEY_FILE, tmp_path / PUBLIC_KEY_FILE)
    with pytest.raises(AuditKeyError, match="does not belong to"):
        load_or_create_signing_key(tmp_path)


def test_no_temporary_key_files_are_left_behind(tmp_path: Path) -> None:
    """Keys are written through a temporary file and a link."""
    load_or_create_signing_key(tmp_path)
    load_or_create_hmac_key(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([SIGNING_KEY_FILE, PUBLIC_KEY_FILE, HMAC_KEY_FILE])
