"""The controller's audit trail: append-only, hash-chained, signed at checkpoints, on SQLite or PostgreSQL.

The trail lives in ``audit.db`` in the controller's state directory (``rrm audit`` reads
``<state-dir>/controller/audit.db``), or in a PostgreSQL database given by URL (``rrm controller
--audit-db URL``, ``rrm audit ... --db URL``; controller/audit_store.py), with the same schema
(controller/audit_store_schema.py). Its keys are files in the state directory either way
(controller/audit_keys.py). The chain, the canonical form are in controller/audit_chain.py,
verification in audit_verify.py, reading and querying in audit_reader.py; this module writes.

Writes use group commit: :meth:`AuditTrail.append` chains a record at once and buffers it; the
buffer is committed every ``commit_every`` appends, whenever a checkpoint is due, and on
:meth:`AuditTrail.flush`. A checkpoint (an Ed25519 signature over the chain head) is signed every
``checkpoint_every`` records or ``checkpoint_interval_s`` seconds (checked on each commit and
flush), and always at :meth:`AuditTrail.close`. The owner calls ``flush()`` on a timer
(:meth:`AuditTrail.flush_periodically` does that on the injected clock), so a quiet trail still
commits and gets signed. Records still in the buffer when the process dies are lost; committed
ones survive it (SQLite: WAL with synchronous=NORMAL, only a power cut can lose the last commits,
rrm/sqlite_files.py; PostgreSQL: its own commit durability). Callers that must not go on before
a record is durable call ``flush()``.

Reopening resumes the chain head and seq, and first re-walks the records after the last
checkpoint (verifying that checkpoint with the signing key's public half): the controller never
signs a head over records someone changed while it was down. When the oldest records were moved
to archive files (controller/audit_archive.py, ``rrm audit archive``), the live chain starts after
the last archived segment that ``audit_archives`` lists, and resuming starts there.

Queries use three indexes (time, AP, change id; a radio's records are found through its AP's).
Verification reads rows in batches of 8192 and, for ``rrm audit verify``, splits a long trail
into seq ranges verified in parallel processes (:meth:`AuditTrailReader.verify`).

The schema is portable SQL, the same on both: BIGINT, TEXT, CHAR/VARCHAR, plain indexes, hashes
and signatures as hex text. Nothing here updates or deletes a record; tampering is what verification detects. The one
exception is audit_archive.py's, which deletes the oldest records once a verified archive file
holds them (in one transaction that lists the archive), while this writer keeps appending.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import TracebackType
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from controller.audit_chain import (
    RECORD_COLUMNS,
    AuditDraft,
    AuditEntry,
    AuditRefused,
    Checkpoint,
    StoredRow,
    seal_draft,
)
from controller.audit_reader import (
    ALL_RECORDS,
    AuditQuery,
    AuditTrailError,
    AuditTrailReader,
    ChainHead,
    ExportFormat,
    _walk,
    verify_workers,
)
from controller.audit_store import AuditStore, AuditStoreError, AuditTarget, open_audit_store, target_name
from controller.audit_store_schema import (
    CHECKPOINT_SELECT,
    INSERT_CHECKPOINT,
    _Range,
    chain_start,
    create_schema,
)
from controller.audit_verify import VerifyReport
from rrm.clock import Clock

__all__ = [
    "AUDIT_DB_FILE",
    "AuditQuery",
    "AuditRefused",
    "AuditTarget",
    "AuditTrail",
    "AuditTrailError",
    "AuditTrailReader",
    "ChainHead",
    "ExportFormat",
    "verify_workers",
]

AUDIT_DB_FILE = "audit.db"


class AuditTrail:
    """The writing side, owned by one controller process. Open it with :meth:`AuditTrail.open`."""

    def __init__(
        self,
        store: AuditStore,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_every: int,
        checkpoint_interval_s: float,
        commit_every: int,
        hmac_key: bytes | None,
        clock: Clock,
    ) -> None:
        self._store = store
        self.name = store.name
        self.target = store.target
        self._reader = AuditTrailReader(store)
        if checkpoint_every < 1 or commit_every < 1 or checkpoint_interval_s <= 0:
            raise ValueError("checkpoint_every, commit_every and checkpoint_interval_s must be positive")
        self._key = signing_key
        self._checkpoint_every = checkpoint_every
        self._checkpoint_interval_s = checkpoint_interval_s
        self._commit_every = commit_every
        self._hmac_key = hmac_key
        self._clock = clock
        self._pending: list[tuple[object, ...]] = []
        self._closed = False
        self._seq, self._head, self._signed_seq = self._resume()
        self._last_checkpoint_at = clock.now()

    @classmethod
    def open(
        cls,
        target: AuditTarget,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_every: int = 1000,
        checkpoint_interval_s: float = 10.0,
        commit_every: int = 1000,  # one commit per checkpoint under load; the owner flushes on its tick
        hmac_key: bytes | None = None,
        clock: Clock,
    ) -> AuditTrail:
        """Open (creating) the trail at ``target`` (a SQLite file, or a PostgreSQL URL) and resume its chain.

        Raises AuditTrailError when the records after the last checkpoint do not verify, or the
        trail has per-record HMACs and no ``hmac_key`` was given, or the database cannot be opened.
        """
        try:
            store = open_audit_store(target, create=True)
        except AuditStoreError as exc:
            raise AuditTrailError(f"{target_name(target)}: cannot open the audit trail: {exc.detail}") from None
        try:
            store.tune_for_writing()
            create_schema(store)
            return cls(
                store,
                signing_key,
                checkpoint_every=checkpoint_every,
                checkpoint_interval_s=checkpoint_interval_s,
                commit_every=commit_every,
                hmac_key=hmac_key,
                clock=clock,
            )
        except AuditTrailError:
            store.close()
            raise
        except AuditStoreError as exc:
            store.close()
            raise AuditTrailError(f"{store.name}: cannot open the audit trail: {exc.detail}") from None
        except BaseException:
            store.close()
            raise

    def append(self, draft: AuditDraft) -> AuditEntry:
        """Chain a record at once and buffer it for the next group commit.

        Raises AuditRefused (a ValueError naming the field) for a draft that is malformed or holds
        anything that looks like a MAC address; nothing is written then.
        """
        if self._closed:
            self._check_open()
        seq = self._seq + 1
        entry, row = seal_draft(
            draft, seq=seq, record_id=os.urandom(16).hex(), prev_hash=self._head, hmac_key=self._hmac_key
        )
        self._pending.append(row)
        self._seq, self._head = seq, entry.record_hash
        if len(self._pending) >= self._commit_every or seq - self._signed_seq >= self._checkpoint_every:
            self.flush()
        return entry

    def flush(self) -> Checkpoint | None:
        """Commit the buffered records, with a checkpoint when one is due; returns that checkpoint."""
        self._check_open()
        return self._commit(force_checkpoint=False)

    def checkpoint(self) -> Checkpoint | None:
        """Commit and sign the head now (None when it is signed already)."""
        self._check_open()
        return self._commit(force_checkpoint=True)

    async def flush_periodically(self, every_s: float = 1.0) -> None:
        """Flush every ``every_s`` seconds of the trail's clock, until cancelled (run it as a task)."""
        while True:
            await self._clock.sleep(every_s)
            if self._closed:
                return
            self.flush()

    def head(self) -> ChainHead:
        return ChainHead(self._seq, self._head, self._signed_seq)

    @property
    def pending(self) -> int:
        """Records chained but not committed yet."""
        return len(self._pending)

    def iter_query(self, query: AuditQuery = ALL_RECORDS) -> Iterator[AuditEntry]:
        """The matching committed records (the buffer is flushed first), in seq order."""
        self.flush()
        return self._reader.iter_query(query)

    def query(
        self,
        *,
        ap_id: str | None = None,
        radio_id: str | None = None,
        record_type: str | None = None,
        change_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """As :meth:`AuditTrailReader.query`, after flushing the buffer."""
        return list(self.iter_query(AuditQuery(ap_id, radio_id, record_type, change_id, since_ms, until_ms, limit)))

    def export(self, fmt: ExportFormat | str, out: TextIO, query: AuditQuery = ALL_RECORDS) -> int:
        """As :meth:`AuditTrailReader.export`, after flushing the buffer."""
        self.flush()
        return self._reader.export(fmt, out, query)

    def checkpoints(self) -> list[Checkpoint]:
        self.flush()
        return self._reader.checkpoints()

    def verify(self, public_key: Ed25519PublicKey | None = None, *, hmac_key: bytes | None = None) -> VerifyReport:
        """Verify the live trail from the last archive's head (with the signing key's public half by default).

        audit_archive.verify_archived_trail verifies the archive files before it as well.
        """
        self.flush()
        return self._reader.verify(public_key or self._key.public_key(), hmac_key=hmac_key)

    def close(self) -> None:
        """Commit what is buffered, sign a final checkpoint over the head, close the database."""
        if self._closed:
            return
        try:
            self._commit(force_checkpoint=True)
        finally:
            self._closed = True
            self._store.close()

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise AuditTrailError(f"{self.name}: the audit trail is closed")

    def _commit(self, *, force_checkpoint: bool) -> Checkpoint | None:
        now = self._clock.now()
        checkpoint = None
        if self._seq > self._signed_seq and (
            force_checkpoint
            or self._seq - self._signed_seq >= self._checkpoint_every
            or now - self._last_checkpoint_at >= self._checkpoint_interval_s
        ):
            checkpoint = Checkpoint.sign(self._key, self._seq, self._head, int(now * 1000))
        if not self._pending and checkpoint is None:
            return None
        try:
            with self._store.transaction():
                self._store.insert_rows("audit_records", RECORD_COLUMNS, self._pending)
                if checkpoint is not None:
                    self._store.execute(INSERT_CHECKPOINT, checkpoint.to_row())
        except AuditStoreError as exc:
            raise AuditTrailError(
                f"{self.name}: cannot write {len(self._pending)} audit records (kept in memory, retried "
                f"on the next flush): {exc.detail}"
            ) from None
        self._pending.clear()
        if checkpoint is not None:
            self._signed_seq, self._last_checkpoint_at = checkpoint.seq, now
        return checkpoint

    def _resume(self) -> tuple[int, bytes, int]:
        """(seq, head hash, signed seq) from the database, after checking the unsigned tail."""
        base = self._chain_start()
        last = self._store.query_one(
            "SELECT seq, record_hash, hmac FROM audit_records WHERE seq > ? ORDER BY seq DESC LIMIT 1",
            (base.after_seq,),
        )
        has_hmac = base.hmac_seen if last is None else last[2] is not None
        if has_hmac and self._hmac_key is None:
            raise AuditTrailError(f"{self.name}: this trail has per-record HMACs; open it with its HMAC key")
        if last is None:  # empty, or every record archived: the chain goes on from the last archive's head
            return base.after_seq, base.start_hash, base.after_seq
        start = self._last_good_checkpoint(base)
        report = self._reader.named(_walk(self._store, self._key.public_key(), self._hmac_key, start))
        if report.first_bad is not None:
            raise AuditTrailError(
                f"{self.name}: the audit chain after its last checkpoint (seq {start.after_seq}) is broken at "
                f"{report.first_bad}; refusing to sign over it (see rrm audit verify)"
            )
        return report.head_seq, bytes.fromhex(last[1]), start.after_seq

    def _chain_start(self) -> _Range:
        """Where the live chain starts: after the last archived segment (signed), or at GENESIS."""
        try:
            return chain_start(self._store)
        except ValueError as exc:
            raise AuditTrailError(f"{self.name}: a malformed audit_archives row: {exc}") from None

    def _last_good_checkpoint(self, base: _Range) -> _Range:
        """Where the tail to check starts: after the last checkpoint, once it verifies (or at the chain's start)."""
        row = self._store.query_one(CHECKPOINT_SELECT + " WHERE seq > ? ORDER BY seq DESC LIMIT 1", (base.after_seq,))
        if row is None:
            return base
        try:
            checkpoint = Checkpoint.from_row(row)
        except ValueError as exc:
            raise AuditTrailError(f"{self.name}: the last checkpoint is malformed: {exc}") from None
        if not checkpoint.verify(self._key.public_key()):
            raise AuditTrailError(
                f"{self.name}: the last checkpoint (seq {checkpoint.seq}) does not verify with this signing key"
            )
        signed: StoredRow | None = self._store.query_one(
            "SELECT record_hash, hmac FROM audit_records WHERE seq = ?", (checkpoint.seq,)
        )
        if signed is None or signed[0] != checkpoint.head_hash.hex():
            raise AuditTrailError(
                f"{self.name}: record seq {checkpoint.seq} is not the head its checkpoint signed (truncated or "
                "rewritten; see rrm audit verify)"
            )
        return _Range(checkpoint.seq, None, checkpoint.head_hash, signed[1] is not None)
