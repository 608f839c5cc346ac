"""Retention: archiving the oldest signed spans, verifying archives and live store as one chain, pruning."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller import audit_reader
from controller.audit_archive import (
    DAY_MS,
    ArchiveProblem,
    ArchiveRefused,
    TrailReport,
    archive_older_than,
    prune_archives,
    verify_archive_file,
    verify_archived_trail,
)
from controller.audit_chain import GENESIS
from controller.audit_reader import ArchivedSegment
from controller.audit_trail import AuditTrailError, AuditTrailReader
from controller.audit_verify import Problem
from rrm.clock import VirtualClock
from tests.unit.audit.support import EPOCH, HMAC_KEY, KEY, Target, bad, draft, open_trail, rows, tamper, verify, write

pytestmark = pytest.mark.unit

T0 = int(EPOCH * 1000)  # draft(i) is at T0 + i * 1000
NOW = T0 + 3_600_000


def archive(
    db: Target, archive_dir: Path, *, before_record: int, hmac_key: bytes | None = None
) -> ArchivedSegment | None:
    """Archive what is older than draft(before_record)'s time."""
    return archive_older_than(
        db, archive_dir, KEY.public_key(), older_than_ms=T0 + before_record * 1000, now_ms=NOW,
        hmac_key=hmac_key,
    )  # fmt: skip


def verify_all(db: Target, archive_dir: Path, *, hmac_key: bytes | None = None, workers: int = 1) -> TrailReport:
    with AuditTrailReader.open(db) as reader:
        return verify_archived_trail(reader, archive_dir, KEY.public_key(), hmac_key=hmac_key, workers=workers)


def live_seqs(db: Target) -> list[int]:
    return [int(seq) for (seq,) in rows(db, "SELECT seq FROM audit_records ORDER BY seq")]


def three_archives(db: Target, archive_dir: Path, clock: VirtualClock) -> list[ArchivedSegment]:
    """25 records (checkpoints at 10, 20, 25) archived as 1-10, 11-20 and 21-25."""
    write(db, clock, 25)
    segments = [archive(db, archive_dir, before_record=n) for n in (15, 23, 100)]
    assert all(s is not None for s in segments)
    return [s for s in segments if s is not None]


# ----------------------------------------------------------------------------- archiving


def test_archiving_moves_the_oldest_signed_span_and_the_chain_verifies_as_one(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """Records 1-14 are old, the newest checkpoint among them is at 10: 1-10 go to a file, 11-25 stay live."""
    entries = write(db, clock, 25)
    segment = archive(db, archive_dir, before_record=15)
    assert segment is not None
    assert (segment.first_seq, segment.last_seq, segment.records, segment.checkpoints) == (1, 10, 10, 1)
    assert segment.prev_hash == GENESIS and segment.last_record_hash == entries[9].record_hash
    assert segment.newest_record_ms == T0 + 10_000 and segment.archived_at_ms == NOW
    assert live_seqs(db) == list(range(11, 26))
    assert AuditTrailReader.open(db).archived_segments() == [segment]
    file = archive_dir / segment.file_name
    assert hashlib.sha256(file.read_bytes()).hexdigest() == segment.sha256
    lines = file.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "rrm.audit.archive.v1" and (header["first_seq"], header["last_seq"]) == (1, 10)
    assert header["prev_hash"] == GENESIS.hex() and header["last_record_hash"] == entries[9].record_hash.hex()
    assert [next(iter(json.loads(line))) for line in lines[1:]] == ["checkpoint"] + ["record"] * 10
    report = verify_all(db, archive_dir)
    assert report.ok and report.first_seq == 1
    assert [(a.header.first_seq, a.header.last_seq) for a in report.archives if a.header] == [(1, 10)]
    assert report.live is not None and report.live.records == 15 and report.live.head_seq == 25
    assert verify(db).ok and verify(db).records == 15  # the live store alone, from the archive's head


def test_several_archives_in_a_row_continue_one_another(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """Each archive starts from the last record_hash of the one before; the live store from the last one."""
    first, second, third = three_archives(db, archive_dir, clock)
    assert (second.first_seq, second.last_seq, third.first_seq, third.last_seq) == (11, 20, 21, 25)
    assert second.prev_hash == first.last_record_hash and third.prev_hash == second.last_record_hash
    assert live_seqs(db) == []
    report = verify_all(db, archive_dir)
    assert report.ok and report.archived_records == 25
    assert report.live is not None and report.live.records == 0


def test_one_archive_file_holds_at_most_max_records(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """Checkpoints at 10, 20 and 25: 12 at most gives 1-10, 11-20, 21-25."""
    write(db, clock, 25)
    spans = []
    while segment := archive_older_than(
        db, archive_dir, KEY.public_key(), older_than_ms=NOW, now_ms=NOW, max_records=12
    ):
        spans.append((segment.first_seq, segment.last_seq))
    assert spans == [(1, 10), (11, 20), (21, 25)]


def test_one_archive_file_holds_more_when_the_first_signed_span_is_longer(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """5 at most still takes the whole first signed span, 1-10."""
    write(db, clock, 25)
    first = archive_older_than(db, archive_dir, KEY.public_key(), older_than_ms=NOW, now_ms=NOW, max_records=5)
    assert first is not None and (first.first_seq, first.last_seq) == (1, 10)


def test_nothing_is_archived_without_a_signed_span_old_enough(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """Records 1-9 are old but the first checkpoint is at 10: only whole signed spans leave."""
    write(db, clock, 25)
    assert archive(db, archive_dir, before_record=1) is None
    assert archive(db, archive_dir, before_record=10) is None
    assert live_seqs(db) == list(range(1, 26)) and not (archive_dir).exists()


def test_archiving_refuses_a_segment_that_does_not_verify_and_deletes_nothing(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """An edited record in the span: a typed refusal naming it; no file, no listing, every record still there."""
    write(db, clock, 25)
    tamper(db, ("UPDATE audit_records SET reason = 'rewritten' WHERE seq = 5", ()))
    with pytest.raises(ArchiveRefused, match=r"refusing to archive records 1-10: .*record seq 5 .*edited") as refused:
        archive(db, archive_dir, before_record=15)
    assert refused.value.bad is not None and refused.value.bad.problem is Problem.EDITED
    assert live_seqs(db) == list(range(1, 26))
    assert list((archive_dir).iterdir()) == []
    assert AuditTrailReader.open(db).archived_segments() == []


def test_archiving_refuses_a_span_whose_checkpoint_does_not_verify(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """A forged checkpoint at the span's end is not a signed span."""
    write(db, clock, 25)
    tamper(db, ("UPDATE audit_checkpoints SET signed_at_ms = signed_at_ms + 1 WHERE seq = 10", ()))
    with pytest.raises(ArchiveRefused, match="checkpoint signature invalid"):
        archive(db, archive_dir, before_record=15)
    assert live_seqs(db) == list(range(1, 26))


# ----------------------------------------------------------------------------- the live trail goes on


def test_the_live_trail_keeps_appending_while_it_is_archived_and_reopens_after(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """An open writer is not disturbed; reopening resumes from the live head."""
    trail = open_trail(db, clock)
    for i in range(1, 21):
        trail.append(draft(i))
    trail.flush()
    assert archive(db, archive_dir, before_record=15) is not None
    for i in range(21, 31):
        trail.append(draft(i))
    trail.close()
    assert live_seqs(db) == list(range(11, 31))
    with open_trail(db, clock) as resumed:
        assert resumed.head().seq == 30
        assert resumed.append(draft(31)).seq == 31
    assert verify_all(db, archive_dir).ok


def test_a_trail_whose_every_record_was_archived_resumes_from_the_last_archive(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """No record is left live: seq and prev_hash continue from the archive's head, which is signed."""
    *_, last = three_archives(db, archive_dir, clock)
    with open_trail(db, clock) as trail:
        head = trail.head()
        assert (head.seq, head.record_hash, head.signed_through_seq) == (25, last.last_record_hash, 25)
        entry = trail.append(draft(26))
    assert entry.seq == 26 and entry.prev_hash == last.last_record_hash
    assert verify_all(db, archive_dir).ok and verify(db).records == 1


def test_a_trail_with_hmacs_still_needs_its_key_once_every_record_is_archived(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """The listing remembers the HMACs; the live store checks them from the archive on."""
    write(db, clock, 20, hmac_key=HMAC_KEY)
    assert archive(db, archive_dir, before_record=100, hmac_key=HMAC_KEY) is not None
    with pytest.raises(AuditTrailError, match="per-record HMACs"):
        open_trail(db, clock)
    with open_trail(db, clock, hmac_key=HMAC_KEY) as trail:
        trail.append(draft(21))
    report = verify_all(db, archive_dir, hmac_key=HMAC_KEY)
    assert report.ok and report.live is not None and report.live.hmac_checked == 1


def test_the_live_store_must_continue_the_last_archive(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """A live record deleted right after the archive is named."""
    write(db, clock, 25)
    archive(db, archive_dir, before_record=15)
    tamper(db, ("DELETE FROM audit_records WHERE seq = 11", ()))
    report = verify_all(db, archive_dir)
    assert report.fault is None and report.live is not None and bad(report.live) == (11, Problem.MISSING)


def test_parallel_verification_after_archiving_finds_what_one_walk_finds(
    db: Target, archive_dir: Path, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges split from the archive's head; the same verdict, intact or not."""
    write(db, clock, 40)
    archive(db, archive_dir, before_record=15)
    monkeypatch.setattr(audit_reader, "PARALLEL_MIN_RECORDS", 5)
    assert verify(db, workers=3) == verify(db) and verify(db).ok
    tamper(db, ("UPDATE audit_records SET reason = 'x' WHERE seq = 33", ()))
    assert verify(db, workers=3) == verify(db) and bad(verify(db)) == (33, Problem.EDITED)


# ----------------------------------------------------------------------------- tampering with archives


def _edit_line(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    path.write_text("".join(lines))


def _delete_line(path: Path, line: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: line - 1] + lines[line:]))


def test_an_edited_line_is_named_by_file_line_and_record(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """Line 5 of the first archive holds record 3 (header, one checkpoint, records 1, 2, 3)."""
    first, *_ = three_archives(db, archive_dir, clock)
    _edit_line(archive_dir / first.file_name, 5, "decision 3", "decision 33")
    report = verify_all(db, archive_dir)
    assert report.fault is not None and report.fault.file_name == first.file_name
    assert report.fault.problem is ArchiveProblem.CHAIN and report.fault.line == 5
    assert report.fault.bad is not None and (report.fault.bad.seq, report.fault.bad.problem) == (3, Problem.EDITED)
    assert report.live is None and report.archived_records == 2
    assert str(report.fault).startswith(f"archive {first.file_name} line 5: chain broken: record seq 3 (id ")


def test_a_deleted_line_is_named(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """Record 14 gone from the second archive: missing, at the line where record 15 now is."""
    _, second, _ = three_archives(db, archive_dir, clock)
    _delete_line(archive_dir / second.file_name, 6)  # header, checkpoint, 11, 12, 13, 14
    report = verify_all(db, archive_dir)
    assert report.fault is not None and report.fault.file_name == second.file_name and report.fault.line == 6
    assert report.fault.bad is not None and (report.fault.bad.seq, report.fault.bad.problem) == (14, Problem.MISSING)
    assert report.archived_records == 10 + 3


def test_swapped_archive_files_are_named(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """Each file's content under the other's name: the first one is not the archive listed."""
    first, second, _ = three_archives(db, archive_dir, clock)
    a, b = archive_dir / first.file_name, archive_dir / second.file_name
    a_text, b_text = a.read_text(), b.read_text()
    a.write_text(b_text)
    b.write_text(a_text)
    fault = verify_all(db, archive_dir).fault
    assert fault is not None and fault.file_name == first.file_name and fault.problem is ArchiveProblem.SWAPPED
    assert "holds seq 11-20, but the live store lists" in fault.detail


def test_a_deleted_archive_file_is_named(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """The second archive's file is gone: named with the seqs it held."""
    _, second, _ = three_archives(db, archive_dir, clock)
    (archive_dir / second.file_name).unlink()
    fault = verify_all(db, archive_dir).fault
    assert fault is not None and fault.file_name == second.file_name and fault.problem is ArchiveProblem.MISSING
    assert "seq 11-20" in fault.detail


def test_a_changed_file_whose_records_still_verify_fails_on_its_sha256(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """A re-serialised line hashes the same records but is not the file that was archived."""
    first, *_ = three_archives(db, archive_dir, clock)
    path = archive_dir / first.file_name
    lines = path.read_text().splitlines()
    lines[3] = json.dumps(json.loads(lines[3]), indent=None)  # spaces after the separators
    path.write_text("\n".join(lines) + "\n")
    assert verify_archive_file(path, KEY.public_key()).ok  # on its own it verifies
    fault = verify_all(db, archive_dir).fault
    assert fault is not None and fault.problem is ArchiveProblem.NOT_AS_LISTED and "sha256" in fault.detail


def test_an_archive_without_its_last_checkpoint_is_not_signed(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """The one checkpoint line removed: its records are covered by the chain only."""
    first, *_ = three_archives(db, archive_dir, clock)
    path = archive_dir / first.file_name
    _delete_line(path, 2)
    result = verify_archive_file(path, KEY.public_key())
    assert result.fault is not None and result.fault.problem is ArchiveProblem.UNSIGNED


def test_an_archive_file_verifies_on_its_own_with_the_public_key(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """What an auditor gets: the file and the public key; another key fails at the checkpoint's line."""
    first, second, _ = three_archives(db, archive_dir, clock)
    path = archive_dir / second.file_name
    result = verify_archive_file(path, KEY.public_key())
    assert result.ok and result.header is not None and result.chain is not None
    assert result.header.prev_hash == first.last_record_hash and result.chain.signed_through_seq == 20
    assert result.sha256 == second.sha256
    other = verify_archive_file(path, Ed25519PrivateKey.generate().public_key())
    assert other.fault is not None and other.fault.line == 2
    assert other.fault.bad is not None and other.fault.bad.problem is Problem.CHECKPOINT_SIGNATURE


# ----------------------------------------------------------------------------- retention


def _aged(db: Target, archive_dir: Path, clock: VirtualClock, days_old: list[int]) -> list[ArchivedSegment]:
    """One archive of 10 records per entry, its records ``days_old`` days before NOW (written, then archived)."""
    segments = []
    for k, days in enumerate(days_old):
        with open_trail(db, clock) as trail:
            for i in range(10 * k + 1, 10 * k + 11):
                trail.append(draft(i, timestamp_ms=NOW - days * DAY_MS + i))
        segment = archive_older_than(db, archive_dir, KEY.public_key(), older_than_ms=NOW, now_ms=NOW)
        assert segment is not None and segment.last_seq == 10 * k + 10
        segments.append(segment)
    return segments


def test_prune_removes_only_the_oldest_archives_past_retention(
    db: Target, archive_dir: Path, clock: VirtualClock
) -> None:
    """7 years by default: the 8-year-old archive goes, then with 5 years the 6-year-old; verification agrees."""
    first, second, third = _aged(db, archive_dir, clock, [8 * 365, 6 * 365, 365])
    pruned = prune_archives(db, archive_dir, now_ms=NOW)
    assert [(s.file_name, s.pruned_at_ms) for s in pruned] == [(first.file_name, NOW)]
    assert verify_all(db, archive_dir).ok and verify_all(db, archive_dir).first_seq == 11
    pruned = prune_archives(db, archive_dir, now_ms=NOW, retention_days=5 * 365)
    assert [s.file_name for s in pruned] == [second.file_name]
    assert sorted(p.name for p in (archive_dir).iterdir()) == [third.file_name]
    report = verify_all(db, archive_dir)
    assert report.ok and report.first_seq == 21 and [s.last_seq for s in report.pruned] == [10, 20]
    assert [a.file.name for a in report.archives] == [third.file_name]
    with open_trail(db, clock) as trail:
        assert trail.append(draft(31)).seq == 31
    assert verify_all(db, archive_dir).ok


def test_prune_never_skips_over_a_kept_archive(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """The second archive is past retention but the first is not: nothing goes, the chain's start stays."""
    _aged(db, archive_dir, clock, [2 * 365, 9 * 365, 365])
    assert prune_archives(db, archive_dir, now_ms=NOW) == []
    assert len(list((archive_dir).iterdir())) == 3 and verify_all(db, archive_dir).first_seq == 1


def test_a_listing_changed_after_pruning_is_named(db: Target, archive_dir: Path, clock: VirtualClock) -> None:
    """Forgetting the pruned archive's row leaves the kept chain starting from nowhere."""
    first, second, _ = _aged(db, archive_dir, clock, [8 * 365, 365, 365])
    prune_archives(db, archive_dir, now_ms=NOW)
    tamper(db, ("DELETE FROM audit_archives WHERE last_seq = ?", (first.last_seq,)))
    fault = verify_all(db, archive_dir).fault
    assert fault is not None and fault.file_name == second.file_name
    assert fault.problem is ArchiveProblem.DISCONTINUOUS
