"""Retention of the audit trail: the oldest signed spans move to archive files that verify on their own.

Records are kept 7 years by default (seed 001). :func:`archive_older_than` (``rrm audit archive``)
moves every record with seq <= S out of the live store, S being the newest signed checkpoint whose
records are all older than the cut-off: only whole signed spans leave. The segment is verified
(ChainVerifier over exactly those rows and checkpoints) while it is written, the file is fsynced
and read back; only then, in one transaction, are its records and checkpoints deleted and the file
listed in ``audit_archives``: the one exception to append-only, and only for records already in a
verified archive. :func:`prune_archives` deletes archives past retention, whole and oldest first;
their rows stay listed (``pruned_at_ms``), so verification knows where the kept chain begins. The
file format and its verification are controller/audit_archive_file.py; the bytes depend only on
the records, so writing a segment again gives the same file.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import closing
from dataclasses import replace
from itertools import takewhile
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.audit_archive_file import (
    ARCHIVE_FORMAT,
    ARCHIVE_SUBDIR,
    DAY_MS,
    DEFAULT_RETENTION_DAYS,
    MAX_ARCHIVE_RECORDS,
    ArchiveError,
    ArchiveFault,
    ArchiveHeader,
    ArchiveProblem,
    ArchiveRefused,
    ArchiveReport,
    TrailReport,
    archive_file_name,
    default_archive_dir,
    verify_archive_file,
    verify_archived_trail,
)
from controller.audit_chain import (
    _HMAC,
    Checkpoint,
    canonical_json,
    public_key_id,
)
from controller.audit_reader import READ_BATCH, AuditTrailReader
from controller.audit_store import AuditStore, AuditStoreError, AuditTarget, open_audit_store
from controller.audit_store_schema import (
    ARCHIVES_SCHEMA,
    CHECKPOINT_SELECT,
    INSERT_ARCHIVE,
    RECORD_SELECT,
    ArchivedSegment,
    _Range,
    archived_segments,
    chain_start,
)
from controller.audit_verify import ChainVerifier, VerifyReport

__all__ = [  # the archive file's names too: callers need one module
    "ARCHIVE_FORMAT",
    "ARCHIVE_SUBDIR",
    "DAY_MS",
    "DEFAULT_RETENTION_DAYS",
    "MAX_ARCHIVE_RECORDS",
    "ArchiveError",
    "ArchiveFault",
    "ArchiveHeader",
    "ArchiveProblem",
    "ArchiveRefused",
    "ArchiveReport",
    "TrailReport",
    "archive_file_name",
    "archive_older_than",
    "default_archive_dir",
    "prune_archives",
    "verify_archive_file",
    "verify_archived_trail",
]

# ----------------------------------------------------------------------------- archiving


def archive_older_than(
    db: AuditTarget,
    archive_dir: Path,
    public_key: Ed25519PublicKey,
    *,
    older_than_ms: int,
    now_ms: int,
    hmac_key: bytes | None = None,
    max_records: int = MAX_ARCHIVE_RECORDS,
) -> ArchivedSegment | None:
    """Move the oldest records, through the newest checkpoint older than ``older_than_ms``, to an archive file.

    Returns the archived segment, or None when no signed span is old enough. At most ``max_records``
    go to one file (more only when the first signed span is longer): call it again until it returns
    None. Raises ArchiveRefused (naming the record) when the segment does not verify, ArchiveError
    when it cannot be done; nothing is deleted then. Safe beside a running controller: the reading
    is one snapshot, the deletion one short write transaction (``begin(write=True)``: BEGIN IMMEDIATE
    on SQLite, an advisory lock on PostgreSQL), the writer's head untouched. ``db`` is the trail's
    SQLite file or PostgreSQL URL.
    """
    store = _open_live(db)
    try:
        with store.snapshot():  # one read snapshot: what is chosen is what is written
            base = chain_start(store)
            header = _segment_header(store, base, public_key, older_than_ms, max_records)
            written = None if header is None else _write_segment(store, archive_dir, public_key, hmac_key, base, header)
        if written is None:
            return None
        path, header, sha256, last_hmac = written
        segment = _listing(path.name, header, last_hmac=last_hmac, sha256=sha256, archived_at_ms=now_ms)
        check = verify_archive_file(path, public_key, hmac_key=hmac_key, listed=segment, hmac_seen=base.hmac_seen)
        if check.fault is not None:
            path.unlink(missing_ok=True)
            raise ArchiveError(f"{path}: the archive does not read back as written ({check.fault}); nothing deleted")
        _commit_archive(store, segment, base)
        return segment
    except ArchiveError:
        raise
    except AuditStoreError as exc:
        raise ArchiveError(f"{store.name}: cannot archive the audit trail: {exc.detail}") from None
    except ValueError as exc:
        raise ArchiveError(f"{store.name}: a malformed audit_archives row: {exc}") from None
    finally:
        store.close()


def _open_live(db: AuditTarget) -> AuditStore:
    reader = AuditTrailReader.open(db)  # checks it is a trail
    reader.close()
    try:
        store = open_audit_store(db)
    except AuditStoreError as exc:
        raise ArchiveError(str(exc)) from None
    try:
        if "audit_archives" not in store.tables():  # a trail from before archiving existed
            store.execute(ARCHIVES_SCHEMA)
    except AuditStoreError as exc:
        store.close()
        raise ArchiveError(f"{store.name}: cannot create the audit_archives table: {exc.detail}") from None
    return store


def _segment_header(
    store: AuditStore, base: _Range, public_key: Ed25519PublicKey, older_than_ms: int, max_records: int
) -> ArchiveHeader | None:
    """The segment to archive: through the newest checkpoint whose records are all old enough.

    At most ``max_records`` after ``base``, unless the first such checkpoint is further.
    """
    (young,) = store.query(
        "SELECT MIN(seq) FROM audit_records WHERE seq > ? AND timestamp_ms >= ?", (base.after_seq, older_than_ms)
    )[0]
    bound, params = ("", [base.after_seq]) if young is None else (" AND seq < ?", [base.after_seq, young])
    select = f"{CHECKPOINT_SELECT} WHERE seq > ?{bound}"
    row = store.query_one(f"{select} AND seq <= ? ORDER BY seq DESC LIMIT 1", [*params, base.after_seq + max_records])
    row = row or store.query_one(f"{select} ORDER BY seq LIMIT 1", params)
    if row is None:
        return None
    try:
        checkpoint = Checkpoint.from_row(row)
    except ValueError as exc:
        raise ArchiveRefused(f"the checkpoint at seq {row[0]} is malformed ({exc}); nothing archived") from None
    span = (base.after_seq, checkpoint.seq)
    (checkpoints,) = store.query("SELECT COUNT(*) FROM audit_checkpoints WHERE seq > ? AND seq <= ?", span)[0]
    oldest, newest = store.query(
        "SELECT MIN(timestamp_ms), MAX(timestamp_ms) FROM audit_records WHERE seq > ? AND seq <= ?", span
    )[0]
    return ArchiveHeader(
        first_seq=base.after_seq + 1,
        last_seq=checkpoint.seq,
        records=checkpoint.seq - base.after_seq,
        checkpoints=int(checkpoints),
        prev_hash=base.start_hash,
        last_record_hash=checkpoint.head_hash,
        key_id=public_key_id(public_key),
        oldest_record_ms=oldest if type(oldest) is int else 0,
        newest_record_ms=newest if type(newest) is int else 0,
    )


def _write_segment(
    store: AuditStore,
    archive_dir: Path,
    public_key: Ed25519PublicKey,
    hmac_key: bytes | None,
    base: _Range,
    header: ArchiveHeader,
) -> tuple[Path, ArchiveHeader, str, bool]:
    """Verify the segment while writing it to its file, fsynced: (path, header, sha256, last has HMAC)."""
    span = (base.after_seq, header.last_seq)
    checkpoint_rows = store.query(f"{CHECKPOINT_SELECT} WHERE seq > ? AND seq <= ? ORDER BY seq", span)
    verifier = ChainVerifier(
        public_key,
        checkpoint_rows,
        hmac_key=hmac_key,
        start_seq=base.after_seq,
        start_hash=base.start_hash,
        start_signed=base.start_signed,
        hmac_seen=base.hmac_seen,
    )
    path = archive_dir / archive_file_name(header.first_seq, header.last_seq)
    tmp = archive_dir / f".{path.name}.{os.getpid()}.tmp"
    digest = hashlib.sha256()
    last_hmac = base.hmac_seen
    try:
        archive_dir.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as out:
            _emit(out, digest, header.to_json())
            for checkpoint in checkpoint_rows:
                _emit(out, digest, {"checkpoint": checkpoint})
            with closing(
                store.batches(f"{RECORD_SELECT} WHERE seq > ? AND seq <= ? ORDER BY seq", span, READ_BATCH)
            ) as batches:
                for rows in batches:
                    if not verifier.feed(rows):
                        break
                    for row in rows:
                        _emit(out, digest, {"record": row})
                    last_hmac = rows[-1][_HMAC] is not None
            _refuse_unless_whole(verifier.finish(), header)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        _fsync_dir(archive_dir)
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot write the archive: {exc.strerror or exc}; nothing deleted") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path, header, digest.hexdigest(), last_hmac


def _emit(out: BinaryIO, digest: hashlib._Hash, value: object) -> None:
    data = (canonical_json(value) + "\n").encode()
    digest.update(data)
    out.write(data)


def _refuse_unless_whole(report: VerifyReport, header: ArchiveHeader) -> None:
    span = f"records {header.first_seq}-{header.last_seq}"
    if report.first_bad is not None:
        raise ArchiveRefused(
            f"refusing to archive {span}: the segment does not verify: {report.first_bad}; nothing archived or "
            "deleted (see rrm audit verify)",
            report.first_bad,
        )
    if report.head_seq != header.last_seq or report.signed_through_seq != header.last_seq:
        raise ArchiveRefused(
            f"refusing to archive {span}: verified through seq {report.head_seq}, signed through seq "
            f"{report.signed_through_seq}; nothing archived or deleted"
        )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit_archive(store: AuditStore, segment: ArchivedSegment, base: _Range) -> None:
    """List the archive and delete its records and checkpoints from the live store, in one transaction."""
    span = (base.after_seq, segment.last_seq)
    with store.transaction(write=True):
        moved = chain_start(store).after_seq
        if moved != base.after_seq:
            raise ArchiveError(
                f"{store.name}: another archive run moved the chain's start to seq {moved} meanwhile; nothing "
                "deleted (run it again)"
            )
        store.execute(INSERT_ARCHIVE, segment.to_row())
        store.execute("DELETE FROM audit_checkpoints WHERE seq > ? AND seq <= ?", span)
        store.execute("DELETE FROM audit_records WHERE seq > ? AND seq <= ?", span)


def prune_archives(
    db: AuditTarget, archive_dir: Path, *, now_ms: int, retention_days: int = DEFAULT_RETENTION_DAYS
) -> list[ArchivedSegment]:
    """Delete the archives whose newest record is older than ``retention_days``: whole, oldest first.

    Only ever the oldest archives go (a later archive stays while an earlier one is kept), so the
    chain's start just moves forward; their rows stay listed as pruned. Returns what was pruned.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    cutoff = now_ms - retention_days * DAY_MS
    store = _open_live(db)
    try:
        with store.transaction(write=True):
            segments = archived_segments(store)
            kept = [s for s in segments if not s.pruned]
            expired = list(takewhile(lambda s: s.newest_record_ms < cutoff, kept))
            for segment in expired:
                store.execute(
                    "UPDATE audit_archives SET pruned_at_ms = ? WHERE last_seq = ?", (now_ms, segment.last_seq)
                )
    except AuditStoreError as exc:
        raise ArchiveError(f"{store.name}: cannot prune the audit archives: {exc.detail}") from None
    except ValueError as exc:
        raise ArchiveError(f"{store.name}: a malformed audit_archives row: {exc}") from None
    finally:
        store.close()
    for segment in (*(s for s in segments if s.pruned), *expired):  # files an interrupted prune left too
        try:
            (archive_dir / segment.file_name).unlink(missing_ok=True)
        except OSError as exc:
            raise ArchiveError(f"{archive_dir / segment.file_name}: cannot delete: {exc.strerror or exc}") from None
    return [replace(segment, pruned_at_ms=now_ms) for segment in expired]


def _listing(name: str, header: ArchiveHeader, *, last_hmac: bool, sha256: str, archived_at_ms: int) -> ArchivedSegment:
    return ArchivedSegment(
        file_name=name,
        first_seq=header.first_seq,
        last_seq=header.last_seq,
        prev_hash=header.prev_hash,
        last_record_hash=header.last_record_hash,
        last_hmac=last_hmac,
        records=header.records,
        checkpoints=header.checkpoints,
        oldest_record_ms=header.oldest_record_ms,
        newest_record_ms=header.newest_record_ms,
        sha256=sha256,
        archived_at_ms=archived_at_ms,
    )
