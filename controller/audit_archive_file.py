"""The audit archive file: its format, and verifying archives with the public key alone.

An archive file is canonical JSON lines (controller/audit_chain.py), in this order::

    {"checkpoint_columns":[...],"checkpoints":K,"first_seq":F,"format":"rrm.audit.archive.v1","key_id":"...",
     "last_record_hash":"<hex>","last_seq":L,"newest_record_ms":N,"oldest_record_ms":O,"prev_hash":"<hex>",
     "record_columns":[...],"records":L-F+1}
    {"checkpoint":[seq,head_hash,signed_at_ms,signature,key_id]}     K lines: the checkpoints F..L
    {"record":[seq,record_id,...,prev_hash,record_hash,hmac]}        one line per record: its stored columns

``prev_hash`` is what the first record links to: GENESIS (64 zeros) for the first archive, the one
before's ``last_record_hash`` after it. A checkpoint covers the last record, so the whole file is
signed and verifies with the public key alone (``rrm audit verify --archive FILE``); the header is
not signed, only checked against the records. :func:`verify_archived_trail` checks the listing
(each archive continuing the one before), each file against its listing row (seqs, hashes,
sha256) and its own chain and signatures, then the live store from the last archive's head, and
names the first bad file, line or record. Writing archives is controller/audit_archive.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import takewhile
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.audit_chain import (
    _RECORD_ID,
    CHECKPOINT_COLUMNS,
    GENESIS,
    RECORD_COLUMNS,
)
from controller.audit_reader import (
    READ_BATCH,
    ArchivedSegment,
    AuditTrailError,
    AuditTrailReader,
)
from controller.audit_verify import BadRecord, ChainVerifier, Problem, VerifyReport

ARCHIVE_FORMAT = "rrm.audit.archive.v1"
ARCHIVE_SUBDIR = "archive"
DEFAULT_RETENTION_DAYS = 7 * 365
DAY_MS = 86_400_000
# Records per archive file at most (unless one signed span is longer): deleting them holds the write
# lock for about 0.4 s (about 4 µs a record), well inside the controller's 5 s busy timeout.
MAX_ARCHIVE_RECORDS = 100_000
_CHECKPOINT_PROBLEMS = (Problem.CHECKPOINT_SIGNATURE, Problem.CHECKPOINT_MALFORMED)


class ArchiveError(AuditTrailError):
    """An archive cannot be written, read or pruned as asked; the message names the file."""


class ArchiveRefused(ArchiveError):
    """The segment to archive does not verify: nothing was written or deleted; ``bad`` names the record."""

    def __init__(self, message: str, bad: BadRecord | None = None) -> None:
        super().__init__(message)
        self.bad = bad


class ArchiveProblem(StrEnum):
    MISSING = "archive file missing"
    UNREADABLE = "unreadable"
    MALFORMED = "malformed"
    SWAPPED = "not the archive listed under this name"
    CHAIN = "chain broken"
    UNSIGNED = "not signed through its last record"
    NOT_AS_LISTED = "not the file the live store listed"
    DISCONTINUOUS = "does not continue the chain"


@dataclass(frozen=True, slots=True)
class ArchiveFault:
    """The first thing wrong with an archive file (``line`` 1 is the header; ``bad`` the record, if one)."""

    file_name: str
    problem: ArchiveProblem
    detail: str
    line: int | None = None
    bad: BadRecord | None = None

    def __str__(self) -> str:
        where = f"archive {self.file_name}" + (f" line {self.line}" if self.line is not None else "")
        return f"{where}: {self.problem.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ArchiveHeader:
    """The first line of an archive file: which records it holds and where its chain starts and ends."""

    first_seq: int
    last_seq: int
    records: int
    checkpoints: int
    prev_hash: bytes
    last_record_hash: bytes
    key_id: str
    oldest_record_ms: int
    newest_record_ms: int

    def to_json(self) -> dict[str, object]:
        fields: dict[str, object] = {name: getattr(self, name) for name in self.__dataclass_fields__}
        fields.update(prev_hash=self.prev_hash.hex(), last_record_hash=self.last_record_hash.hex())
        fields.update(format=ARCHIVE_FORMAT, record_columns=RECORD_COLUMNS, checkpoint_columns=CHECKPOINT_COLUMNS)
        return fields

    @classmethod
    def from_json(cls, value: object) -> ArchiveHeader:
        """Decode a header line's value; raises ValueError naming what is wrong."""
        if not isinstance(value, dict) or value.get("format") != ARCHIVE_FORMAT:
            raise ValueError(f"not an audit archive header (format {ARCHIVE_FORMAT})")
        if value.get("record_columns") != list(RECORD_COLUMNS) or value.get("checkpoint_columns") != list(
            CHECKPOINT_COLUMNS
        ):
            raise ValueError("the header's columns are not this format's")
        numbers = ("first_seq", "last_seq", "records", "checkpoints", "oldest_record_ms", "newest_record_ms")
        if any(type(value.get(name)) is not int for name in numbers) or not isinstance(value.get("key_id"), str):
            raise ValueError("a header field is missing or has the wrong type")
        hashes = [value.get("prev_hash"), value.get("last_record_hash")]
        if not all(isinstance(h, str) and len(h) == 64 for h in hashes):
            raise ValueError("prev_hash or last_record_hash is not 64 hex digits")
        prev_hash, last_hash = (bytes.fromhex(str(h)) for h in hashes)
        ints = {name: int(value[name]) for name in numbers}
        return cls(prev_hash=prev_hash, last_record_hash=last_hash, key_id=str(value["key_id"]), **ints)


@dataclass(frozen=True, slots=True)
class ArchiveReport:
    """What verifying one archive file found; ``chain`` is its records' walk (None when not reached)."""

    file: Path
    header: ArchiveHeader | None
    chain: VerifyReport | None
    sha256: str
    fault: ArchiveFault | None

    @property
    def ok(self) -> bool:
        return self.fault is None


@dataclass(frozen=True, slots=True)
class TrailReport:
    """Archives and live store verified as one chain; ``live`` is None when an archive failed first."""

    archives: tuple[ArchiveReport, ...]
    pruned: tuple[ArchivedSegment, ...]
    live: VerifyReport | None
    fault: ArchiveFault | None

    @property
    def ok(self) -> bool:
        return self.fault is None and self.live is not None and self.live.ok

    @property
    def first_seq(self) -> int:
        """The first seq of the kept chain (after the pruned archives)."""
        return self.pruned[-1].last_seq + 1 if self.pruned else 1

    @property
    def archived_records(self) -> int:
        """Records verified in archive files (up to the first bad one)."""
        return sum(a.chain.records for a in self.archives if a.chain is not None)


def archive_file_name(first_seq: int, last_seq: int) -> str:
    return f"audit-{first_seq:012d}-{last_seq:012d}.jsonl"


def default_archive_dir(db_path: Path) -> Path:
    """``archive/`` beside audit.db."""
    return db_path.parent / ARCHIVE_SUBDIR


# ----------------------------------------------------------------------------- verification


def verify_archive_file(
    path: Path,
    public_key: Ed25519PublicKey,
    *,
    hmac_key: bytes | None = None,
    listed: ArchivedSegment | None = None,
    hmac_seen: bool = False,
) -> ArchiveReport:
    """Verify one archive file on its own: its records' chain from the header's prev_hash, its checkpoints.

    With ``listed`` (the live store's row for it), also that it holds those seqs and hashes and has
    that sha256. ``hmac_seen``: the record before the file's first carries an HMAC.
    """
    name = path.name if listed is None else listed.file_name
    try:
        with path.open("rb") as stream:
            return _FileWalk(path, name, listed).run(stream, public_key, hmac_key, hmac_seen)
    except FileNotFoundError:
        where = "" if listed is None else f" (the live store lists it for seq {listed.first_seq}-{listed.last_seq})"
        return ArchiveReport(path, None, None, "", ArchiveFault(name, ArchiveProblem.MISSING, f"no file {path}{where}"))
    except OSError as exc:
        fault = ArchiveFault(name, ArchiveProblem.UNREADABLE, f"{path}: {exc.strerror or exc}")
        return ArchiveReport(path, None, None, "", fault)


class _BadLine(Exception):
    def __init__(self, line: int, detail: str) -> None:
        super().__init__(detail)
        self.line, self.detail = line, detail


_Line = tuple[int, list[object]]
_WIDTH = {"record": len(RECORD_COLUMNS), "checkpoint": len(CHECKPOINT_COLUMNS)}


def _parsed_lines(stream: BinaryIO, digest: hashlib._Hash) -> Iterator[tuple[int, str, list[object]]]:
    """(line number, kind, row) of each line after the header; raises _BadLine for one that is not a row."""
    for number, raw in enumerate(stream, start=2):
        digest.update(raw)
        try:
            value = json.loads(raw)
        except ValueError:
            raise _BadLine(number, "not a JSON line") from None
        if not isinstance(value, dict) or len(value) != 1:
            raise _BadLine(number, 'not one {"record": [...]} or {"checkpoint": [...]}')
        ((kind, row),) = value.items()
        if kind not in _WIDTH or not isinstance(row, list) or len(row) != _WIDTH[kind]:
            raise _BadLine(number, f"not a {kind} row of {_WIDTH.get(kind, '?')} columns")
        yield number, kind, row


class _FileWalk:
    """One pass over an archive file: header, checkpoints, records in batches; the first fault wins."""

    def __init__(self, path: Path, name: str, listed: ArchivedSegment | None) -> None:
        self.path, self.name, self.listed = path, name, listed
        self.header: ArchiveHeader | None = None
        self.digest = hashlib.sha256()

    def fail(
        self, problem: ArchiveProblem, detail: str, line: int | None = None, *, chain: VerifyReport | None = None
    ) -> ArchiveReport:
        bad = chain.first_bad if chain is not None else None
        fault = ArchiveFault(self.name, problem, detail, line, bad)
        return ArchiveReport(self.path, self.header, chain, self.digest.hexdigest(), fault)

    def run(
        self, stream: BinaryIO, public_key: Ed25519PublicKey, hmac_key: bytes | None, hmac_seen: bool
    ) -> ArchiveReport:
        first = stream.readline()
        self.digest.update(first)
        try:
            self.header = header = ArchiveHeader.from_json(json.loads(first))
        except ValueError as exc:
            return self.fail(ArchiveProblem.MALFORMED, f"the header: {exc}", 1)
        listed = self.listed
        if listed is not None and (header.first_seq, header.last_seq) != (listed.first_seq, listed.last_seq):
            return self.fail(
                ArchiveProblem.SWAPPED,
                f"it holds seq {header.first_seq}-{header.last_seq}, but the live store lists {self.name} as seq "
                f"{listed.first_seq}-{listed.last_seq} (archive files swapped or renamed)",
                1,
            )
        checkpoints: list[list[object]] = []
        checkpoint_lines: dict[object, int] = {}
        batch: list[_Line] = []
        last: list[object] | None = None
        verifier: ChainVerifier | None = None
        try:
            for number, kind, row in _parsed_lines(stream, self.digest):
                if kind == "checkpoint":
                    if verifier is not None:
                        raise _BadLine(number, "a checkpoint after the records")
                    checkpoints.append(row)
                    checkpoint_lines[row[0]] = number
                    continue
                if verifier is None:
                    verifier = ChainVerifier(
                        public_key,
                        checkpoints,
                        hmac_key=hmac_key,
                        start_seq=header.first_seq - 1,
                        start_hash=header.prev_hash,
                        hmac_seen=hmac_seen,
                    )
                batch.append((number, row))
                if len(batch) >= READ_BATCH:
                    if not verifier.feed([r for _, r in batch]):
                        break
                    last, batch = batch[-1][1], []
            else:
                if verifier is not None and batch and verifier.feed([r for _, r in batch]):
                    last, batch = batch[-1][1], []
        except _BadLine as exc:
            return self.fail(ArchiveProblem.MALFORMED, exc.detail, exc.line)
        if verifier is None:
            return self.fail(ArchiveProblem.MALFORMED, "it holds no records")
        return self.check(verifier.finish(), batch, checkpoint_lines, len(checkpoints), last)

    def check(
        self,
        chain: VerifyReport,
        failed: list[_Line],
        checkpoint_lines: dict[object, int],
        checkpoints: int,
        last: list[object] | None,
    ) -> ArchiveReport:
        """The verdict once the records were walked: the chain, then the header, then the live store's listing."""
        header, listed = self.header, self.listed
        assert header is not None
        if chain.first_bad is not None:
            line = _line_of(chain.first_bad, failed, checkpoint_lines)
            return self.fail(ArchiveProblem.CHAIN, str(chain.first_bad), line, chain=chain)
        if chain.signed_through_seq != chain.head_seq:
            detail = f"records {chain.signed_through_seq + 1}-{chain.head_seq} are covered by no checkpoint in it"
            return self.fail(ArchiveProblem.UNSIGNED, detail, chain=chain)
        last_hash = None if last is None else last[RECORD_COLUMNS.index("record_hash")]
        if chain.head_seq != header.last_seq or last_hash != header.last_record_hash.hex():
            detail = (
                f"the header says seq {header.first_seq}-{header.last_seq}, the records end at seq {chain.head_seq}"
            )
            return self.fail(ArchiveProblem.MALFORMED, detail + " or with another record_hash", 1, chain=chain)
        if checkpoints != header.checkpoints or header.key_id != chain.key_id:
            detail = f"the header says {header.checkpoints} checkpoints by key {header.key_id}; the file holds "
            return self.fail(ArchiveProblem.MALFORMED, detail + f"{checkpoints} by key {chain.key_id}", 1, chain=chain)
        sha256 = self.digest.hexdigest()
        if listed is not None and (header.prev_hash, header.last_record_hash) != (
            listed.prev_hash,
            listed.last_record_hash,
        ):
            detail = "its first prev_hash or last record_hash is not the one the live store listed"
            return self.fail(ArchiveProblem.NOT_AS_LISTED, detail, chain=chain)
        if listed is not None and sha256 != listed.sha256:
            detail = f"its sha256 is {sha256}, the live store listed {listed.sha256} (the file changed)"
            return self.fail(ArchiveProblem.NOT_AS_LISTED, detail, chain=chain)
        return ArchiveReport(self.path, header, chain, sha256, None)


def _line_of(bad: BadRecord, failed: list[_Line], checkpoint_lines: dict[object, int]) -> int | None:
    """The line the first bad record is on (or, for a gap, the line after it); None when no line holds it."""
    if bad.problem in _CHECKPOINT_PROBLEMS:
        return checkpoint_lines.get(bad.seq)
    for number, row in failed:
        if bad.record_id and row[_RECORD_ID] == bad.record_id:
            return number
    for number, row in failed:
        if type(row[0]) is int and row[0] >= bad.seq:
            return number
    return None


def verify_archived_trail(
    reader: AuditTrailReader,
    archive_dir: Path,
    public_key: Ed25519PublicKey,
    *,
    hmac_key: bytes | None = None,
    workers: int = 1,
) -> TrailReport:
    """Verify the listed archives in seq order, then the live store from the last one's head: one chain.

    An archive run that commits meanwhile moves the chain's start: the verification is then repeated.
    """
    for _ in range(3):
        segments = reader.archived_segments()
        report = _verify_trail(reader, segments, archive_dir, public_key, hmac_key, workers)
        if reader.archived_segments() == segments:
            break
    return report


def _verify_trail(
    reader: AuditTrailReader,
    segments: list[ArchivedSegment],
    archive_dir: Path,
    public_key: Ed25519PublicKey,
    hmac_key: bytes | None,
    workers: int,
) -> TrailReport:
    """Continuity holds through the listing: each file must match its row, each row continue the one before."""
    pruned = tuple(takewhile(lambda s: s.pruned, segments))
    fault = _listing_fault(segments, len(pruned))
    hmac_seen = bool(pruned) and pruned[-1].last_hmac
    reports: list[ArchiveReport] = []
    for segment in segments[len(pruned) :] if fault is None else ():
        path = archive_dir / segment.file_name
        result = verify_archive_file(path, public_key, hmac_key=hmac_key, listed=segment, hmac_seen=hmac_seen)
        reports.append(result)
        if result.fault is not None:
            fault = result.fault
            break
        hmac_seen = segment.last_hmac
    live = None if fault is not None else reader.verify(public_key, hmac_key=hmac_key, workers=workers)
    return TrailReport(tuple(reports), pruned, live, fault)


def _listing_fault(segments: list[ArchivedSegment], pruned: int) -> ArchiveFault | None:
    """The first archive listed out of line: a gap or overlap, a broken link, or pruned after a kept one."""
    end_seq, end_hash = 0, GENESIS
    for index, segment in enumerate(segments):
        if segment.pruned and index >= pruned:
            detail = "it is listed as pruned, but an earlier archive is kept (prune only ever removes the oldest)"
            return ArchiveFault(segment.file_name, ArchiveProblem.DISCONTINUOUS, detail)
        if segment.first_seq != end_seq + 1 or segment.prev_hash != end_hash:
            detail = (
                f"the live store lists it as seq {segment.first_seq}-{segment.last_seq} from prev_hash "
                f"{segment.prev_hash.hex()[:16]}..., but the archives before it end at seq {end_seq} "
                f"({end_hash.hex()[:16]}...)"
            )
            return ArchiveFault(segment.file_name, ArchiveProblem.DISCONTINUOUS, detail)
        end_seq, end_hash = segment.last_seq, segment.last_record_hash
    return None
