"""The audit trail's life: resuming, checkpoints on time, group commit, privacy, queries, exports."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.audit_chain import (
    GENESIS,
    RECORD_COLUMNS,
    AuditRefused,
    Checkpoint,
    checkpoint_message,
    looks_like_mac,
    seal_draft,
)
from controller.audit_trail import AuditQuery, AuditTrailError, AuditTrailReader, ExportFormat
from controller.audit_verify import ChainVerifier
from rrm.clock import VirtualClock
from tests.unit.audit.support import (
    EPOCH,
    KEY,
    Target,
    draft,
    open_trail,
    rows,
    tamper,
    verify,
    write,
)

pytestmark = pytest.mark.unit


# ----------------------------------------------------------------------------- writing


def test_reopening_resumes_the_chain_and_signs_each_session(db: Target, clock: VirtualClock) -> None:
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


def test_close_signs_a_final_checkpoint_once(db: Target, clock: VirtualClock) -> None:
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


def test_checkpoints_are_signed_every_n_records_and_every_interval(db: Target, clock: VirtualClock) -> None:
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
    db: Target, clock: VirtualClock
) -> None:
    """Another connection sees nothing until 4 appends (commit_every) or a flush."""
    trail = open_trail(db, clock, checkpoint_every=1000, commit_every=4)

    def visible() -> int:
        return int(rows(db, "SELECT COUNT(*) FROM audit_records")[0][0])

    for i in range(3):
        trail.append(draft(i + 1))
    assert (visible(), trail.pending) == (0, 3)
    trail.append(draft(4))
    assert (visible(), trail.pending) == (4, 0)
    trail.append(draft(5))
    trail.flush()
    assert visible() == 5
    trail.close()


async def test_flush_periodically_commits_a_quiet_trail_on_its_clock(db: Target, clock: VirtualClock) -> None:
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


def test_a_crash_leaves_unsigned_records_that_the_next_session_checks_and_signs(
    db: Target, clock: VirtualClock
) -> None:
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
    db: Target, clock: VirtualClock
) -> None:
    """An edit after the last checkpoint stops the trail from opening, naming the record."""
    trail = open_trail(db, clock, checkpoint_every=1000)
    for i in range(5):
        trail.append(draft(i + 1))
    trail.flush()
    tamper(db, ("UPDATE audit_records SET outcome = 'REFUSED' WHERE seq = 4", ()))
    with pytest.raises(AuditTrailError, match=r"record seq 4 .*edited"):
        open_trail(db, clock)


def test_reopening_refuses_a_truncated_signed_head(db: Target, clock: VirtualClock) -> None:
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
    db: Target, clock: VirtualClock, fields: dict[str, object], field_name: str
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
        ({"reason": "a\x00b"}, "reason"),  # PostgreSQL text cannot hold NUL: refused on both backends
        ({"actor": "x\udc80"}, "actor"),  # a lone surrogate is not UTF-8 text
    ],
)
def test_a_malformed_draft_is_refused_naming_the_field(fields: dict[str, object], field_name: str) -> None:
    """Who and why are required; the JSON fields must be JSON; a radio must be on its AP."""
    with pytest.raises(AuditRefused) as refused:
        seal_draft(draft(1, **fields), seq=1, record_id="r", prev_hash=GENESIS)
    assert refused.value.field == field_name


# ----------------------------------------------------------------------------- reading


def test_queries_filter_by_ap_radio_type_change_and_time(db: Target, clock: VirtualClock) -> None:
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


def test_a_jsonl_export_lets_an_auditor_recompute_every_hash(db: Target, clock: VirtualClock, tmp_path: Path) -> None:
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


def test_a_csv_export_has_the_stored_columns(db: Target, clock: VirtualClock, tmp_path: Path) -> None:
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


def test_the_verifier_takes_rows_in_batches_of_any_size(db: Target, clock: VirtualClock) -> None:
    """Feeding one row at a time or all at once gives the same report."""
    write(db, clock, 12)
    records = rows(db, f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records ORDER BY seq")
    checkpoints = rows(db, "SELECT seq, head_hash, signed_at_ms, signature, key_id FROM audit_checkpoints")
    one, many = ChainVerifier(KEY.public_key(), checkpoints), ChainVerifier(KEY.public_key(), checkpoints)
    for row in records:
        assert one.feed([row])
    assert many.feed(records)
    assert one.finish() == many.finish() == verify(db)
