"""Verifying the stored audit chain with the public key only (the walk the audit_chain docstring describes).

:class:`ChainVerifier` walks stored rows in seq order, batch by batch, and names the first bad
record; :func:`merge_reports` joins the reports of consecutive ranges verified in parallel. The
row layout and the canonical form are audit_chain's.
"""

from __future__ import annotations

import hashlib
import hmac as hmac_lib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.audit_chain import (
    _HMAC,
    _PREV_HASH,
    _RECORD_HASH,
    _RECORD_ID,
    _SEQ,
    GENESIS,
    Checkpoint,
    StoredRow,
    _canonical_of_row,
    chain_hash,
    public_key_id,
    record_hmac,
)


class Problem(StrEnum):
    EDITED = "edited"
    MOVED = "moved"
    INSERTED = "inserted"
    MISSING = "missing"
    BROKEN_LINK = "broken link"
    OUT_OF_ORDER = "out of order"
    MALFORMED = "malformed"
    HMAC_MISMATCH = "HMAC mismatch"
    HMAC_MISSING = "HMAC missing"
    CHECKPOINT_SIGNATURE = "checkpoint signature invalid"
    CHECKPOINT_MISMATCH = "checkpoint does not match the chain"
    CHECKPOINT_MALFORMED = "checkpoint malformed"
    TRUNCATED = "truncated"


@dataclass(frozen=True, slots=True)
class BadRecord:
    """The first place where the stored trail is not what was written."""

    seq: int
    record_id: str
    problem: Problem
    detail: str

    def __str__(self) -> str:
        named = f"record seq {self.seq}" + (f" (id {self.record_id})" if self.record_id else "")
        if self.problem in (Problem.CHECKPOINT_SIGNATURE, Problem.CHECKPOINT_MALFORMED):
            named = f"the checkpoint at {named}"
        return f"{named}: {self.problem.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What verification found.

    ``records`` records verified through the chain (up to the first bad one); records 1 to
    ``signed_through_seq`` are covered by a valid signed checkpoint, the rest only by the chain.
    """

    records: int
    signed_through_seq: int
    first_bad: BadRecord | None
    head_seq: int = 0
    checkpoints: int = 0
    last_signed_at_ms: int | None = None
    key_id: str = ""
    hmac_checked: int = 0
    hmac_unchecked: int = 0

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    @property
    def chain_only(self) -> int:
        """Records covered only by the chain so far (after the last valid checkpoint)."""
        return max(0, self.head_seq - self.signed_through_seq)


_MOVE_WINDOW = 64  # how far a moved record's original seq is looked for (on the failure path only)


class ChainVerifier:
    """Walks stored rows in seq order, batch by batch, and finds the first bad record.

    Only the checkpoint signatures are verified with Ed25519 (one per thousand records or so); each
    record costs one SHA-256 and, with the HMAC key, one HMAC. ``feed`` returns False once a bad
    record is found (read no further); ``finish`` gives the report.

    ``start_seq`` and ``start_hash`` start the walk after record ``start_seq``: the controller
    checks the tail after its last checkpoint this way when it reopens the trail
    (``start_signed``), and parallel verification walks consecutive seq ranges, one verifier each,
    joined by :func:`merge_reports`. ``hmac_seen`` says the record before the start had an HMAC.
    """

    def __init__(
        self,
        public_key: Ed25519PublicKey,
        checkpoint_rows: Iterable[StoredRow] = (),
        *,
        hmac_key: bytes | None = None,
        start_seq: int = 0,
        start_hash: bytes = GENESIS,
        start_signed: bool = False,
        hmac_seen: bool = False,
    ) -> None:
        self._hmac_key = hmac_key
        self._start_seq = start_seq
        self._start_signed = start_signed
        self._expected = start_seq + 1
        self._prev = start_hash
        self._prev_hex = start_hash.hex()
        self._bad: BadRecord | None = None
        self._hmac_seen = hmac_seen
        self._with_hmac = 0
        self._key_id = public_key_id(public_key)
        self._valid: dict[int, Checkpoint] = {}
        self._checkpoint_bad: BadRecord | None = None
        self._check_signatures(public_key, checkpoint_rows)

    def _check_signatures(self, public_key: Ed25519PublicKey, rows: Iterable[StoredRow]) -> None:
        for row in sorted(rows, key=lambda r: _as_int(r[0])):
            try:
                cp = Checkpoint.from_row(row)
            except ValueError as exc:
                bad = BadRecord(_as_int(row[0]), "", Problem.CHECKPOINT_MALFORMED, f"checkpoint row: {exc}")
            else:
                if cp.verify(public_key):
                    self._valid[cp.seq] = cp
                    continue
                bad = BadRecord(cp.seq, "", Problem.CHECKPOINT_SIGNATURE, _signature_detail(cp, self._key_id))
            if self._checkpoint_bad is None:
                self._checkpoint_bad = bad

    def feed(self, rows: Sequence[StoredRow]) -> bool:
        """Check the next rows (in seq order); False once a bad record has been found."""
        if self._bad is not None:
            return False
        expected, prev, prev_hex = self._expected, self._prev, self._prev_hex
        hmac_key, valid, sha256, canonical_of = self._hmac_key, self._valid, hashlib.sha256, _canonical_of_row
        hmac_seen, with_hmac = self._hmac_seen, self._with_hmac
        failed_at: int | None = None
        index = 0
        try:
            for index, row in enumerate(rows):
                if row[0] != expected or row[_PREV_HASH] != prev_hex:
                    failed_at = index
                    break
                digest = sha256(prev + canonical_of(row).encode())
                record_hex = digest.hexdigest()
                if record_hex != row[_RECORD_HASH]:
                    failed_at = index
                    break
                record = digest.digest()
                mac = row[_HMAC]
                if mac is None:
                    if hmac_seen and hmac_key is not None:
                        failed_at = index
                        break
                elif hmac_key is not None and hmac_lib.digest(hmac_key, record, "sha256").hex() != mac:
                    failed_at = index
                    break
                if expected in valid and valid[expected].head_hash != record:
                    failed_at = index
                    break
                if mac is not None:
                    hmac_seen = True
                    with_hmac += 1
                prev, prev_hex = record, record_hex
                expected += 1
        except (TypeError, ValueError, IndexError):
            failed_at = index
        self._expected, self._prev, self._prev_hex = expected, prev, prev_hex
        self._hmac_seen, self._with_hmac = hmac_seen, with_hmac
        if failed_at is not None:
            self._bad = self._diagnose(rows, failed_at)
            return False
        return True

    def finish(self) -> VerifyReport:
        """The report once every row was fed (or a bad record was found)."""
        last_seq = self._expected - 1
        bad = self._bad
        beyond = [seq for seq in self._valid if seq > last_seq]
        if bad is None and beyond:
            bad = BadRecord(
                last_seq + 1,
                "",
                Problem.TRUNCATED,
                f"the chain ends at seq {last_seq} but a signed checkpoint covers records through seq "
                f"{max(beyond)}: records {last_seq + 1}..{max(beyond)} were deleted",
            )
        if self._checkpoint_bad is not None and (bad is None or self._checkpoint_bad.seq < bad.seq):
            bad = self._checkpoint_bad
        good_through = last_seq if bad is None else min(last_seq, bad.seq - 1)
        signed = [cp for seq, cp in self._valid.items() if seq <= good_through]
        with_hmac = self._with_hmac
        return VerifyReport(
            records=max(0, good_through - self._start_seq),
            signed_through_seq=max([self._start_seq if self._start_signed else 0, *(cp.seq for cp in signed)]),
            first_bad=bad,
            head_seq=good_through,
            checkpoints=len(signed),
            last_signed_at_ms=max((cp.signed_at_ms for cp in signed), default=None),
            key_id=self._key_id,
            hmac_checked=with_hmac if self._hmac_key is not None else 0,
            hmac_unchecked=0 if self._hmac_key is not None else with_hmac,
        )

    def _diagnose(self, rows: Sequence[StoredRow], index: int) -> BadRecord:
        """Name what is wrong with rows[index], the first row that failed (failure path only)."""
        row, expected = rows[index], self._expected
        seq, record_id = row[_SEQ], str(row[_RECORD_ID])
        if type(seq) is not int:
            return BadRecord(
                expected, record_id, Problem.MALFORMED, f"seq {seq!r} after seq {expected - 1} is not an integer"
            )
        if seq > expected:
            return BadRecord(
                expected,
                record_id,
                Problem.MISSING,
                f"records {expected}..{seq - 1} are missing (deleted): the chain goes from seq {expected - 1} "
                f"to seq {seq}",
            )
        if seq < expected:
            return BadRecord(seq, record_id, Problem.OUT_OF_ORDER, f"seq {seq} comes after seq {expected - 1}")
        try:
            written = _written_seq(row)
        except (TypeError, ValueError):
            return BadRecord(seq, record_id, Problem.MALFORMED, "a column holds a value of the wrong type")
        if written is None:
            return BadRecord(seq, record_id, Problem.EDITED, "its fields do not hash to its record_hash")
        if written > seq:
            return BadRecord(
                seq,
                record_id,
                Problem.MOVED,
                f"it was written as seq {written}: records before it were deleted or reordered",
            )
        if written < seq:
            first = index - (seq - written)
            return BadRecord(
                written,
                str(rows[first][_RECORD_ID]) if first >= 0 else "",
                Problem.INSERTED,
                f"not written by the trail: the record now at seq {seq} (id {record_id}) was written as seq "
                f"{written} and links to seq {written - 1}",
            )
        if row[_PREV_HASH] != self._prev_hex:
            return BadRecord(
                seq,
                record_id,
                Problem.BROKEN_LINK,
                f"its prev_hash is not the hash of record {seq - 1}: record {seq - 1} was replaced, or this "
                "record was forged",
            )
        record_hash = bytes.fromhex(row[_RECORD_HASH])
        if row[_HMAC] is None and self._hmac_seen and self._hmac_key is not None:
            return BadRecord(seq, record_id, Problem.HMAC_MISSING, "it has no HMAC although records before it have one")
        if (
            row[_HMAC] is not None
            and self._hmac_key is not None
            and record_hmac(self._hmac_key, record_hash).hex() != row[_HMAC]
        ):
            return BadRecord(seq, record_id, Problem.HMAC_MISMATCH, "its HMAC does not match its record_hash")
        return BadRecord(
            seq,
            record_id,
            Problem.CHECKPOINT_MISMATCH,
            f"the checkpoint signed at seq {seq} holds another chain head: records up to seq {seq} were "
            "rewritten and re-chained",
        )


def merge_reports(parts: Sequence[VerifyReport]) -> VerifyReport:
    """Join the reports of consecutive seq ranges, each walked from the last record of the one before.

    A range counts only when every range before it verified, since its start is taken on trust.
    """
    used: list[VerifyReport] = []
    for part in parts:
        used.append(part)
        if part.first_bad is not None:
            break
    last = used[-1]
    return VerifyReport(
        records=sum(part.records for part in used),
        signed_through_seq=max(part.signed_through_seq for part in used),
        first_bad=last.first_bad,
        head_seq=last.head_seq,
        checkpoints=sum(part.checkpoints for part in used),
        last_signed_at_ms=max((p.last_signed_at_ms for p in used if p.last_signed_at_ms is not None), default=None),
        key_id=last.key_id,
        hmac_checked=sum(part.hmac_checked for part in used),
        hmac_unchecked=sum(part.hmac_unchecked for part in used),
    )


def _written_seq(row: StoredRow) -> int | None:
    """The seq the row was sealed with, found by its own hash (it may have been moved); None if edited.

    Raises TypeError or ValueError when a column holds a value of the wrong type.
    """
    prev = bytes.fromhex(row[_PREV_HASH])
    seq: int = int(row[_SEQ])
    moved = list(row)
    candidates: list[int] = [seq, *range(seq - _MOVE_WINDOW, seq + _MOVE_WINDOW + 1)]
    for candidate in candidates:
        moved[_SEQ] = candidate
        if chain_hash(prev, _canonical_of_row(moved).encode()).hex() == row[_RECORD_HASH]:
            return candidate
    return None


def _as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _signature_detail(cp: Checkpoint, key_id: str) -> str:
    if cp.key_id != key_id:
        return f"it does not verify with public key {key_id} (the checkpoint names key {cp.key_id})"
    return f"its signature over the head at seq {cp.seq} does not verify with public key {key_id}"
