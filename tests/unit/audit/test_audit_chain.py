"""The controller's signed audit chain: hashing, checkpoints, and every kind of tampering detected.

Each tampering test edits the real database with its own driver (sqlite3 here; psycopg when
tests/integration/test_audit_postgres.py runs the same cases on PostgreSQL), as someone with write
access would.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller import audit_reader
from controller.audit_chain import (
    GENESIS,
    RECORD_COLUMNS,
    canonical_json,
    chain_hash,
    public_key_id,
)
from controller.audit_trail import AuditTrailError, AuditTrailReader
from controller.audit_verify import Problem
from rrm.clock import VirtualClock
from tests.unit.audit.support import (
    HMAC_KEY,
    INSERT,
    KEY,
    UNNEGATE,
    Target,
    bad,
    forged_row,
    open_trail,
    renumber,
    rows,
    stored,
    tamper,
    verify,
    write,
)

pytestmark = pytest.mark.unit

# ----------------------------------------------------------------------------- the chain


def test_each_record_hashes_its_canonical_json_after_the_previous_hash(db: Target, clock: VirtualClock) -> None:
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


def test_a_clean_trail_verifies_and_is_signed_through_its_last_record(db: Target, clock: VirtualClock) -> None:
    """Checkpoints every 10 records and one at close cover all 25."""
    write(db, clock, 25)
    report = verify(db)
    assert report.ok and report.records == 25 and report.head_seq == 25
    assert report.signed_through_seq == 25 and report.chain_only == 0
    assert [cp.seq for cp in AuditTrailReader.open(db).checkpoints()] == [10, 20, 25]
    assert report.checkpoints == 3 and report.key_id == public_key_id(KEY.public_key())


def test_an_empty_trail_verifies(db: Target, clock: VirtualClock) -> None:
    """No records, no checkpoint: nothing to sign at close."""
    open_trail(db, clock).close()
    report = verify(db)
    assert report.ok and report.records == 0 and report.checkpoints == 0


# ----------------------------------------------------------------------------- tampering


def test_an_edited_field_is_named(db: Target, clock: VirtualClock) -> None:
    """Changing one record's outcome breaks its own hash: that record is the first bad one."""
    entries = write(db, clock, 25)
    tamper(db, ("UPDATE audit_records SET outcome = 'REFUSED' WHERE seq = 7", ()))
    report = verify(db)
    assert bad(report) == (7, Problem.EDITED)
    assert report.first_bad is not None and report.first_bad.record_id == entries[6].record_id
    assert report.records == 6 and report.signed_through_seq == 0


def test_a_json_field_rewritten_with_the_same_meaning_is_an_edit(db: Target, clock: VirtualClock) -> None:
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
def test_editing_a_chain_column_is_detected(db: Target, clock: VirtualClock, column: str, value: str) -> None:
    """The hashes and the digest are covered too, and a timestamp made fractional is an edit."""
    write(db, clock, 12)
    tamper(db, (f"UPDATE audit_records SET {column} = {value} WHERE seq = 4", ()))
    assert bad(verify(db)) == (4, Problem.EDITED)


def test_a_column_of_the_wrong_type_is_malformed_not_a_crash(db: Target, clock: VirtualClock) -> None:
    """A NULL where text belongs is reported, naming the record."""
    write(db, clock, 5)
    tamper(
        db,
        ("CREATE TABLE t AS SELECT * FROM audit_records", ()),  # a copy without NOT NULL
        ("DROP TABLE audit_records", ()),
        ("ALTER TABLE t RENAME TO audit_records", ()),
        ("UPDATE audit_records SET actor = NULL WHERE seq = 2", ()),
    )
    assert bad(verify(db)) == (2, Problem.MALFORMED)


def test_a_deleted_record_is_named_as_missing(db: Target, clock: VirtualClock) -> None:
    """A gap in seq: the first missing seq is named."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq = 13", ()))
    report = verify(db)
    assert bad(report) == (13, Problem.MISSING)
    assert report.signed_through_seq == 10


def test_a_deleted_record_with_the_rest_renumbered_is_detected(db: Target, clock: VirtualClock) -> None:
    """Closing the gap moves every later record off the seq it was sealed with."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq = 13", ()), renumber(db, above=13, by=-1), UNNEGATE)
    report = verify(db)
    assert bad(report) == (13, Problem.MOVED)
    assert report.first_bad is not None and "written as seq 14" in report.first_bad.detail


def test_an_inserted_forged_record_is_named(db: Target, clock: VirtualClock) -> None:
    """A forged record chained correctly after seq 12, the rest shifted up: the forgery is named."""
    write(db, clock, 25)
    forged = forged_row(db, 12, 13)
    tamper(db, renumber(db, above=12, by=1), UNNEGATE, (INSERT, forged))
    report = verify(db)
    assert bad(report) == (13, Problem.INSERTED)
    assert report.first_bad is not None and report.first_bad.record_id == "f" * 32


def test_a_record_with_a_fractional_seq_slipped_between_two_is_detected(db: Target, clock: VirtualClock) -> None:
    """BIGINT takes 12.5 in SQLite: the chain names it right after seq 12."""
    write(db, clock, 25)  # SQLite only: a PostgreSQL BIGINT refuses 12.5
    forged = list(forged_row(db, 12, 13))
    forged[0] = 12.5
    tamper(db, (INSERT, tuple(forged)))
    assert bad(verify(db)) == (13, Problem.MALFORMED)


def test_two_reordered_records_are_detected(db: Target, clock: VirtualClock) -> None:
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


def test_a_tail_truncated_after_a_checkpoint_is_detected(db: Target, clock: VirtualClock) -> None:
    """Records a checkpoint signed are gone: the first missing one is named."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq > 15", ()))
    report = verify(db)
    assert bad(report) == (16, Problem.TRUNCATED)
    assert report.signed_through_seq == 10


def test_a_tail_truncated_with_its_checkpoints_shows_as_covered_only_by_the_chain(
    db: Target, clock: VirtualClock
) -> None:
    """Nothing signed says more records existed: verify passes, and says what no signature covers."""
    write(db, clock, 25)
    tamper(db, ("DELETE FROM audit_records WHERE seq > 15", ()), ("DELETE FROM audit_checkpoints WHERE seq > 15", ()))
    report = verify(db)
    assert report.ok and report.records == 15
    assert report.signed_through_seq == 10 and report.chain_only == 5


def test_a_forged_record_appended_after_the_last_checkpoint_is_only_chain_covered(
    db: Target, clock: VirtualClock
) -> None:
    """The chain cannot tell; the report says record 26 is covered by no signature."""
    write(db, clock, 25)
    tamper(db, (INSERT, forged_row(db, 25, 26)))
    report = verify(db)
    assert report.ok and report.records == 26
    assert report.signed_through_seq == 25 and report.chain_only == 1


def test_a_rewritten_and_rechained_trail_fails_at_the_next_checkpoint(db: Target, clock: VirtualClock) -> None:
    """Whoever recomputes every hash after an edit cannot sign the new head."""
    write(db, clock, 25)
    tail = rows(db, f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records WHERE seq >= 12 ORDER BY seq")
    prev = bytes.fromhex(str(stored(db, 11)[RECORD_COLUMNS.index("record_hash")]))
    rewritten = []
    for row in tail:
        fields = list(row)
        if fields[0] == 12:
            fields[RECORD_COLUMNS.index("outcome")] = "REFUSED"
        fields[RECORD_COLUMNS.index("prev_hash")] = prev.hex()
        record = chain_hash(prev, _canonical(fields))
        fields[RECORD_COLUMNS.index("record_hash")] = record.hex()
        rewritten.append(fields)
        prev = record
    update = "UPDATE audit_records SET outcome = ?, prev_hash = ?, record_hash = ? WHERE seq = ?"
    tamper(db, *((update, (f[12], f[19], f[20], f[0])) for f in rewritten))
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


def test_a_replaced_checkpoint_signature_is_named(db: Target, clock: VirtualClock) -> None:
    """Another checkpoint's signature (well-formed, wrong) on checkpoint 20."""
    write(db, clock, 25)
    ((other,),) = rows(db, "SELECT signature FROM audit_checkpoints WHERE seq = 10")
    tamper(db, ("UPDATE audit_checkpoints SET signature = ? WHERE seq = 20", (other,)))
    report = verify(db)
    assert bad(report) == (20, Problem.CHECKPOINT_SIGNATURE)
    assert report.signed_through_seq == 10


def test_a_checkpoint_that_is_not_even_hex_is_malformed(db: Target, clock: VirtualClock) -> None:
    """A broken checkpoint row is reported, not a crash."""
    write(db, clock, 25)
    tamper(db, ("UPDATE audit_checkpoints SET head_hash = 'zz' WHERE seq = 20", ()))
    assert bad(verify(db)) == (20, Problem.CHECKPOINT_MALFORMED)


def test_the_wrong_public_key_fails_at_the_first_checkpoint(db: Target, clock: VirtualClock) -> None:
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
    db: Target, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch, statements: list[tuple[str, tuple[object, ...]]]
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


def test_hmac_mode_keeps_an_hmac_per_record_checked_only_with_the_key(db: Target, clock: VirtualClock) -> None:
    """HMAC-SHA256(key, record_hash) on every record; without the key they are unchecked, not failed."""
    entries = write(db, clock, 12, hmac_key=HMAC_KEY)
    assert entries[0].hmac == hmac.digest(HMAC_KEY, entries[0].record_hash, "sha256")
    with_key, without = verify(db, hmac_key=HMAC_KEY), verify(db)
    assert with_key.ok and with_key.hmac_checked == 12 and with_key.hmac_unchecked == 0
    assert without.ok and without.hmac_checked == 0 and without.hmac_unchecked == 12


def test_hmac_mode_catches_a_rechained_tail_that_no_checkpoint_covers(db: Target, clock: VirtualClock) -> None:
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


def test_a_trail_with_hmacs_does_not_reopen_without_its_key(db: Target, clock: VirtualClock) -> None:
    """Appending without HMACs would make the trail fail verification later."""
    write(db, clock, 3, hmac_key=HMAC_KEY)
    with pytest.raises(AuditTrailError, match="per-record HMACs"):
        open_trail(db, clock)
