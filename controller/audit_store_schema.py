"""The audit trail's schema, the same on SQLite and PostgreSQL, and the archive listing it keeps.

Three tables, portable SQL (BIGINT, SMALLINT, TEXT, CHAR/VARCHAR, plain indexes; hashes and
signatures as hex text): ``audit_records`` (RECORD_COLUMNS, controller/audit_chain.py),
``audit_checkpoints`` (CHECKPOINT_COLUMNS) and ``audit_archives``, which lists the archive files
holding the oldest records (controller/audit_archive.py), one row each, kept after the file is
pruned (``pruned_at_ms`` set) so that the live chain's start stays known: :func:`chain_start`.
Statements use ``?`` placeholders (controller/audit_store.py translates them for PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.audit_chain import CHECKPOINT_COLUMNS, GENESIS, RECORD_COLUMNS, StoredRow
from controller.audit_store import AuditStore

RECORDS_SCHEMA = """CREATE TABLE IF NOT EXISTS audit_records (
    seq BIGINT NOT NULL PRIMARY KEY,
    record_id VARCHAR(64) NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    record_type TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    ap_id TEXT NOT NULL,
    radio_id TEXT NOT NULL,
    change_id TEXT NOT NULL,
    rollback_token_id TEXT NOT NULL,
    approver TEXT NOT NULL,
    outcome TEXT NOT NULL,
    inputs_json TEXT NOT NULL,
    inputs_digest CHAR(64) NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL,
    predicted_effect_json TEXT NOT NULL,
    observed_effect_json TEXT NOT NULL,
    prev_hash CHAR(64) NOT NULL,
    record_hash CHAR(64) NOT NULL,
    hmac CHAR(64)
)"""
CHECKPOINTS_SCHEMA = """CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq BIGINT NOT NULL PRIMARY KEY,
    head_hash CHAR(64) NOT NULL,
    signed_at_ms BIGINT NOT NULL,
    signature CHAR(128) NOT NULL,
    key_id VARCHAR(32) NOT NULL
)"""
ARCHIVES_SCHEMA = """CREATE TABLE IF NOT EXISTS audit_archives (
    last_seq BIGINT NOT NULL PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    file_name VARCHAR(255) NOT NULL UNIQUE,
    prev_hash CHAR(64) NOT NULL,
    last_record_hash CHAR(64) NOT NULL,
    last_hmac SMALLINT NOT NULL,
    records BIGINT NOT NULL,
    checkpoints BIGINT NOT NULL,
    oldest_record_ms BIGINT NOT NULL,
    newest_record_ms BIGINT NOT NULL,
    sha256 CHAR(64) NOT NULL,
    archived_at_ms BIGINT NOT NULL,
    pruned_at_ms BIGINT
)"""
SCHEMA = (
    RECORDS_SCHEMA,
    CHECKPOINTS_SCHEMA,
    # Three indexes: each one costs appends (a random-order index dirties a page per record per
    # group commit). Radio queries use the AP index (a radio id names its AP, see AuditQuery);
    # record-type queries filter whatever the other terms select.
    "CREATE INDEX IF NOT EXISTS audit_records_by_time ON audit_records (timestamp_ms)",
    "CREATE INDEX IF NOT EXISTS audit_records_by_ap ON audit_records (ap_id)",
    "CREATE INDEX IF NOT EXISTS audit_records_by_change ON audit_records (change_id)",
    ARCHIVES_SCHEMA,
)
TRAIL_TABLES = frozenset({"audit_records", "audit_checkpoints"})

# fmt: off
ARCHIVE_COLUMNS: tuple[str, ...] = (
    "file_name", "first_seq", "last_seq", "prev_hash", "last_record_hash", "last_hmac", "records", "checkpoints",
    "oldest_record_ms", "newest_record_ms", "sha256", "archived_at_ms", "pruned_at_ms",
)
# fmt: on


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


RECORD_SELECT = f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records"
CHECKPOINT_SELECT = f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM audit_checkpoints"
ARCHIVE_SELECT = f"SELECT {', '.join(ARCHIVE_COLUMNS)} FROM audit_archives"
INSERT_RECORD = _insert("audit_records", RECORD_COLUMNS)
INSERT_CHECKPOINT = _insert("audit_checkpoints", CHECKPOINT_COLUMNS)
INSERT_ARCHIVE = _insert("audit_archives", ARCHIVE_COLUMNS)


def create_schema(store: AuditStore) -> None:
    """Create whatever tables and indexes are missing (in one transaction); AuditStoreError when it cannot."""
    with store.transaction():
        for statement in SCHEMA:
            store.execute(statement)


@dataclass(frozen=True, slots=True)
class ArchivedSegment:
    """A row of ``audit_archives``: records first_seq..last_seq, moved to the archive file ``file_name``.

    ``prev_hash`` is the hash the segment's first record links to, ``last_record_hash`` its last
    record's hash (where the next segment, or the live store, continues), ``last_hmac`` whether
    that record carries an HMAC; ``sha256`` is the file's, taken when it was written. A pruned
    segment (``pruned_at_ms``) has no file any more: the kept chain starts after it.
    """

    file_name: str
    first_seq: int
    last_seq: int
    prev_hash: bytes
    last_record_hash: bytes
    last_hmac: bool
    records: int
    checkpoints: int
    oldest_record_ms: int
    newest_record_ms: int
    sha256: str
    archived_at_ms: int
    pruned_at_ms: int | None = None

    @property
    def pruned(self) -> bool:
        return self.pruned_at_ms is not None

    def to_row(self) -> tuple[object, ...]:
        """The stored row (ARCHIVE_COLUMNS order)."""
        return (
            self.file_name,
            self.first_seq,
            self.last_seq,
            self.prev_hash.hex(),
            self.last_record_hash.hex(),
            int(self.last_hmac),
            self.records,
            self.checkpoints,
            self.oldest_record_ms,
            self.newest_record_ms,
            self.sha256,
            self.archived_at_ms,
            self.pruned_at_ms,
        )

    @classmethod
    def from_row(cls, row: StoredRow) -> ArchivedSegment:
        """Decode a stored row; raises ValueError when it is malformed."""
        name, first, last, prev, last_hash, last_hmac, records, checkpoints, oldest, newest, sha, at, pruned = row
        numbers = (first, last, last_hmac, records, checkpoints, oldest, newest, at)
        if not isinstance(name, str) or not isinstance(sha, str) or any(type(n) is not int for n in numbers):
            raise ValueError("a column has the wrong type")
        if pruned is not None and type(pruned) is not int:
            raise ValueError("pruned_at_ms is not an integer")
        try:
            prev_hash, record_hash = bytes.fromhex(prev), bytes.fromhex(last_hash)
        except (TypeError, ValueError):
            raise ValueError("prev_hash or last_record_hash is not hex") from None
        if len(prev_hash) != 32 or len(record_hash) != 32:
            raise ValueError("prev_hash or last_record_hash has the wrong length")
        return cls(
            name, first, last, prev_hash, record_hash, bool(last_hmac), records, checkpoints, oldest, newest,
            sha, at, pruned,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Range:
    """Records after_seq < seq <= through_seq (None: to the end), walked from after_seq's stored hash.

    ``start_signed``: record after_seq is covered by a signed checkpoint (the end of an archive).
    """

    after_seq: int
    through_seq: int | None
    start_hash: bytes
    hmac_seen: bool
    start_signed: bool = False


def archived_segments(store: AuditStore) -> list[ArchivedSegment]:
    """Every row of ``audit_archives`` in seq order (none when the table is not there).

    Raises AuditStoreError when it cannot be read and ValueError on a malformed row.
    """
    if "audit_archives" not in store.tables():
        return []
    return [ArchivedSegment.from_row(row) for row in store.query(ARCHIVE_SELECT + " ORDER BY last_seq")]


def chain_start(store: AuditStore) -> _Range:
    """Where the live chain starts: after the last archived segment, or at GENESIS.

    Raises AuditStoreError when it cannot be read and ValueError on a malformed row.
    """
    has_table = "audit_archives" in store.tables()
    row = store.query_one(ARCHIVE_SELECT + " ORDER BY last_seq DESC LIMIT 1") if has_table else None
    if row is None:
        return _Range(0, None, GENESIS, False)
    last = ArchivedSegment.from_row(row)
    return _Range(last.last_seq, None, last.last_record_hash, last.last_hmac, start_signed=True)
