"""The controller's audit chain, pure: records, their canonical form, signed checkpoints, verification.

Every record is hash-chained to the one before it (architecture invariant 6)::

    record_hash = SHA-256(prev_hash || canonical)      prev_hash of record 1 = GENESIS (32 zero bytes)

``canonical`` is ``json.dumps(fields, sort_keys=True, separators=(",", ":"))`` (ASCII) of every
field of the record except ``record_hash`` and ``hmac``: seq, record_id, timestamp_ms, actor,
record_type, reason_code, reason, ap_id, radio_id, change_id, rollback_token_id, approver, outcome,
inputs_digest, prev_hash (hex) and the five JSON fields inputs, before, after, predicted_effect and
observed_effect. A JSON field enters ``fields`` as its own canonical JSON *text* (a string, the text
stored in the database; ``null`` when absent), so the canonical form is rebuilt from the stored
columns without parsing them, and no stored column can shift text into another one unnoticed.

Signing every record would cap appends near 14k/s and verification at 7k/s
(../shared/facts/performance.md, section 3), so the chain head is signed instead: a
:class:`Checkpoint` is an Ed25519 signature over ``{"head_hash", "seq", "signed_at_ms", "type"}``
(canonical JSON), written every N records, every T seconds and at shutdown. A checkpoint at seq S
vouches for records 1..S through the chain; records after the last checkpoint are covered only by
the chain until the next one (anyone who can write the database could rewrite them), which
:class:`VerifyReport` says. The optional per-record HMAC (the seed's mode) is
HMAC-SHA256(hmac_key, record_hash); it protects those records too, against anyone without that key.

Verification needs only the public key (and the HMAC key to check HMACs; without it they are
reported as unchecked, not failed). :class:`ChainVerifier` walks stored rows in seq order, batch by
batch, and names the first bad record.
"""

from __future__ import annotations

import hashlib
import hmac as hmac_lib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from json.encoder import encode_basestring_ascii
from typing import Any

try:
    from _json import make_encoder as _c_make_encoder
except ImportError:  # pragma: no cover - other Python implementations
    _c_make_encoder = None  # type: ignore[assignment, misc]

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from radio_domain.radio import Band

GENESIS = bytes(32)
CHECKPOINT_TYPE = "rrm.audit.checkpoint.v1"

JsonObject = Mapping[str, object]

# The stored row, in this column order everywhere (the SQL schema, the verifier, CSV exports).
# fmt: off
RECORD_COLUMNS: tuple[str, ...] = (
    "seq", "record_id", "timestamp_ms", "actor", "record_type", "reason_code", "reason", "ap_id", "radio_id",
    "change_id", "rollback_token_id", "approver", "outcome", "inputs_json", "inputs_digest", "before_json",
    "after_json", "predicted_effect_json", "observed_effect_json", "prev_hash", "record_hash", "hmac",
)
TEXT_FIELDS: tuple[str, ...] = (
    "actor", "record_type", "reason_code", "reason", "ap_id", "radio_id", "change_id", "rollback_token_id",
    "approver", "outcome",
)
# fmt: on
CHECKPOINT_COLUMNS: tuple[str, ...] = ("seq", "head_hash", "signed_at_ms", "signature", "key_id")
JSON_FIELDS: tuple[str, ...] = ("inputs", "before", "after", "predicted_effect", "observed_effect")
REQUIRED_TEXT_FIELDS: tuple[str, ...] = ("actor", "record_type", "reason_code")
_BANDS = frozenset(band.value for band in Band)
_SEQ, _RECORD_ID, _TIMESTAMP_MS, _ACTOR, _RECORD_TYPE, _REASON_CODE, _REASON, _AP_ID = range(8)
_RADIO_ID, _CHANGE_ID, _ROLLBACK_TOKEN_ID, _APPROVER, _OUTCOME, _INPUTS, _INPUTS_DIGEST = range(8, 15)
_BEFORE, _AFTER, _PREDICTED, _OBSERVED, _PREV_HASH, _RECORD_HASH, _HMAC = range(15, 22)

StoredRow = Sequence[Any]
"""One row of ``audit_records`` in RECORD_COLUMNS order, as the database returns it (untrusted)."""

# Every field but record_hash and hmac, sorted: the keys of the canonical text, which
# _canonical_of_row fills in this order.
_CANONICAL_KEYS = tuple(sorted(c.removesuffix("_json") for c in RECORD_COLUMNS[:_RECORD_HASH]))
_TEMPLATE = "{" + ",".join(f'"{key}":%s' for key in _CANONICAL_KEYS) + "}"
# json.dumps's own C string encoder (ensure_ascii): the same output as json.dumps(str), 20x cheaper.
_quote = encode_basestring_ascii


def _json_default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"a {type(value).__name__} is not JSON-able")


def _json_encoder() -> Callable[[object], str]:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)``, built once.

    CPython's C encoder is made once here: JSONEncoder.encode rebuilds it on every call, which
    costs about 5 µs per record (five JSON fields), a tenth of the append budget. Without
    circular-reference markers a cycle raises RecursionError instead of ValueError.
    """
    if _c_make_encoder is None:  # pragma: no cover - other Python implementations
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default).encode
    encode = _c_make_encoder(None, _json_default, encode_basestring_ascii, None, ":", ",", True, False, False)

    def encode_text(value: object) -> str:
        return "".join(encode(value, 0))

    return encode_text


_encode_json = _json_encoder()


def _canonical_of_row(row: StoredRow) -> str:
    """The canonical text of a stored row (raises TypeError when a text column is not text)."""
    return _TEMPLATE % (
        _quote(row[_ACTOR]),
        _quote(row[_AFTER]),
        _quote(row[_AP_ID]),
        _quote(row[_APPROVER]),
        _quote(row[_BEFORE]),
        _quote(row[_CHANGE_ID]),
        _quote(row[_INPUTS]),
        _quote(row[_INPUTS_DIGEST]),
        _quote(row[_OBSERVED]),
        _quote(row[_OUTCOME]),
        _quote(row[_PREDICTED]),
        _quote(row[_PREV_HASH]),
        _quote(row[_RADIO_ID]),
        _quote(row[_REASON]),
        _quote(row[_REASON_CODE]),
        _quote(row[_RECORD_ID]),
        _quote(row[_RECORD_TYPE]),
        _quote(row[_ROLLBACK_TOKEN_ID]),
        row[_SEQ],
        row[_TIMESTAMP_MS],
    )


def canonical_json(value: object) -> str:
    """Canonical JSON text: sorted keys, no spaces, ASCII; NaN and infinities are refused."""
    return _encode_json(value)


def chain_hash(prev: bytes, canonical: bytes) -> bytes:
    """SHA-256(prev || canonical): the record hash that links a record to the one before it."""
    return hashlib.sha256(prev + canonical).digest()


def record_hmac(hmac_key: bytes, record_hash: bytes) -> bytes:
    """The seed's per-record HMAC-SHA256, taken over the record hash (which covers every field)."""
    return hmac_lib.digest(hmac_key, record_hash, "sha256")


# ----------------------------------------------------------------------------- records


class AuditRefused(ValueError):
    """A draft that must not enter the audit trail; ``field`` names the offending field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """What a caller audits: who decided what, why, with which inputs, and what came of it.

    Identifiers must already be keyed hashes (privacy invariant 7): a draft holding anything that
    looks like a MAC address is refused. The JSON fields hold JSON-able values only.
    """

    timestamp_ms: int
    actor: str
    record_type: str
    reason_code: str
    reason: str = ""
    ap_id: str = ""
    radio_id: str = ""
    change_id: str = ""
    rollback_token_id: str = ""
    inputs: JsonObject = field(default_factory=dict)
    before: JsonObject | None = None
    after: JsonObject | None = None
    predicted_effect: JsonObject | None = None
    observed_effect: JsonObject | None = None
    approver: str = ""
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A stored record: the draft's fields plus its place in the chain."""

    seq: int
    record_id: str
    timestamp_ms: int
    actor: str
    record_type: str
    reason_code: str
    reason: str
    ap_id: str
    radio_id: str
    change_id: str
    rollback_token_id: str
    inputs: JsonObject
    inputs_digest: str
    before: JsonObject | None
    after: JsonObject | None
    predicted_effect: JsonObject | None
    observed_effect: JsonObject | None
    approver: str
    outcome: str
    prev_hash: bytes
    record_hash: bytes
    hmac: bytes | None

    def to_row(self) -> tuple[object, ...]:
        """The stored row (RECORD_COLUMNS order)."""
        row: list[object] = [getattr(self, name) for name in _ENTRY_FIELDS]
        for index in _JSON_COLUMNS:
            row[index] = canonical_json(row[index])
        row[_PREV_HASH], row[_RECORD_HASH] = self.prev_hash.hex(), self.record_hash.hex()
        row[_HMAC] = None if self.hmac is None else self.hmac.hex()
        return tuple(row)

    def canonical(self) -> bytes:
        """The bytes hashed after prev_hash."""
        return _canonical_of_row(self.to_row()).encode()

    def to_json(self) -> dict[str, object]:
        """The export form: every field, JSON fields as objects, hashes and HMAC as hex."""
        fields = {name: getattr(self, name) for name in _ENTRY_FIELDS}
        fields["prev_hash"], fields["record_hash"] = self.prev_hash.hex(), self.record_hash.hex()
        fields["hmac"] = None if self.hmac is None else self.hmac.hex()
        return fields


_ENTRY_FIELDS = tuple(column.removesuffix("_json") for column in RECORD_COLUMNS)
_JSON_COLUMNS = (_INPUTS, _BEFORE, _AFTER, _PREDICTED, _OBSERVED)


def entry_from_row(row: StoredRow) -> AuditEntry:
    """Decode a stored row (for queries and exports; verification never decodes)."""
    fields: dict[str, Any] = dict(zip(_ENTRY_FIELDS, row, strict=True))
    for name in JSON_FIELDS:
        fields[name] = json.loads(fields[name])
    fields["prev_hash"], fields["record_hash"] = bytes.fromhex(row[_PREV_HASH]), bytes.fromhex(row[_RECORD_HASH])
    fields["hmac"] = None if row[_HMAC] is None else bytes.fromhex(row[_HMAC])
    return AuditEntry(**fields)


# What a MAC address looks like once every hex digit is mapped to "h" and "-" to ":".
_SHAPE = bytes(
    ord("h") if chr(c) in "0123456789abcdefABCDEF" else ord(":") if chr(c) in ":-" else ord(".") for c in range(256)
)
_MAC_SHAPE = b"hh:hh:hh:hh:hh:hh"


def looks_like_mac(text: str | bytes) -> bool:
    """True when the text holds six pairs of hex digits joined by ":" or "-" (xx:xx:xx:xx:xx:xx), anywhere."""
    return _MAC_SHAPE in (text.encode() if isinstance(text, str) else text).translate(_SHAPE)


def _mac_path(value: object, path: str) -> str | None:
    """Where in a JSON value the first MAC-looking key or string sits (``["clients"][2]``), or None."""
    if isinstance(value, str):
        return path if looks_like_mac(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}[{json.dumps(key) if isinstance(key, str) else key}]"
            if isinstance(key, str) and looks_like_mac(key):
                return where + " (a key)"
            if (found := _mac_path(item, where)) is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := _mac_path(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _refuse_mac(draft: AuditDraft) -> None:
    for name in TEXT_FIELDS:
        if looks_like_mac(getattr(draft, name)):
            _raise_mac(name, "")
    for name in JSON_FIELDS:
        where = _mac_path(getattr(draft, name), "")
        if where is not None:
            _raise_mac(name, where)


def _raise_mac(name: str, where: str) -> None:
    raise AuditRefused(
        name,
        f"audit draft refused: {name}{where} holds what looks like a MAC address (xx:xx:xx:xx:xx:xx); "
        "identifiers must be keyed hashes before they reach the audit (privacy invariant 7)",
    )


def _json_text(draft: AuditDraft, name: str) -> str:
    value = getattr(draft, name)
    if value is None and name != "inputs":
        return "null"
    if not isinstance(value, Mapping):
        raise AuditRefused(name, f"audit draft refused: {name} must be a mapping, not {type(value).__name__}")
    try:
        return _encode_json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise AuditRefused(name, f"audit draft refused: {name} is not JSON-able: {exc}") from None


def _check_draft(draft: AuditDraft) -> None:
    ts = draft.timestamp_ms
    if type(ts) is not int or ts < 0:
        raise AuditRefused("timestamp_ms", f"audit draft refused: timestamp_ms must be a non-negative int, got {ts!r}")
    for name in TEXT_FIELDS:
        if not isinstance(getattr(draft, name), str):
            raise AuditRefused(name, f"audit draft refused: {name} must be a string")
    for name in REQUIRED_TEXT_FIELDS:
        if not getattr(draft, name):
            raise AuditRefused(name, f"audit draft refused: {name} must not be empty (invariant 6: who and why)")
    if draft.ap_id and draft.radio_id and radio_ap_id(draft.radio_id) not in (None, draft.ap_id):
        raise AuditRefused(
            "radio_id", f"audit draft refused: radio {draft.radio_id} is not a radio of AP {draft.ap_id}"
        )


def radio_ap_id(radio_id: str) -> str | None:
    """The AP a radio id names (``ap-3/5g`` -> ``ap-3``, radio_domain.radio), or None for another form."""
    ap_id, sep, band = radio_id.rpartition("/")
    return ap_id if sep and ap_id and band in _BANDS else None


def seal_draft(
    draft: AuditDraft, *, seq: int, record_id: str, prev_hash: bytes, hmac_key: bytes | None = None
) -> tuple[AuditEntry, tuple[object, ...]]:
    """Chain a draft after ``prev_hash`` as record ``seq``: the entry and its stored row.

    Raises AuditRefused (naming the field) for a draft that is malformed, not JSON-able, or holds
    anything that looks like a MAC address.
    """
    _check_draft(draft)
    inputs = _json_text(draft, "inputs")
    inputs_digest = hashlib.sha256(inputs.encode()).hexdigest()
    row: list[object] = [
        seq,
        record_id,
        draft.timestamp_ms,
        draft.actor,
        draft.record_type,
        draft.reason_code,
        draft.reason,
        draft.ap_id,
        draft.radio_id,
        draft.change_id,
        draft.rollback_token_id,
        draft.approver,
        draft.outcome,
        inputs,
        inputs_digest,
        _json_text(draft, "before"),
        _json_text(draft, "after"),
        _json_text(draft, "predicted_effect"),
        _json_text(draft, "observed_effect"),
        prev_hash.hex(),
        "",
        None,
    ]
    canonical = _canonical_of_row(row).encode()
    if looks_like_mac(canonical):
        _refuse_mac(draft)
    record_hash = hashlib.sha256(prev_hash + canonical).digest()
    mac = None if hmac_key is None else record_hmac(hmac_key, record_hash)
    row[_RECORD_HASH] = record_hash.hex()
    row[_HMAC] = None if mac is None else mac.hex()
    entry = AuditEntry(  # positional, in field order: 2 µs cheaper than keywords on this hot path
        seq,
        record_id,
        draft.timestamp_ms,
        draft.actor,
        draft.record_type,
        draft.reason_code,
        draft.reason,
        draft.ap_id,
        draft.radio_id,
        draft.change_id,
        draft.rollback_token_id,
        draft.inputs,
        inputs_digest,
        draft.before,
        draft.after,
        draft.predicted_effect,
        draft.observed_effect,
        draft.approver,
        draft.outcome,
        prev_hash,
        record_hash,
        mac,
    )
    return entry, tuple(row)


# ----------------------------------------------------------------------------- checkpoints


def public_key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(seq: int, head_hash: bytes, signed_at_ms: int) -> bytes:
    """What a checkpoint signature covers (canonical JSON, so auditors can rebuild it anywhere)."""
    body = {"head_hash": head_hash.hex(), "seq": seq, "signed_at_ms": signed_at_ms, "type": CHECKPOINT_TYPE}
    return canonical_json(body).encode()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """An Ed25519 signature over the chain head at ``seq``: records 1..seq are covered by it."""

    seq: int
    head_hash: bytes
    signed_at_ms: int
    signature: bytes
    key_id: str

    @classmethod
    def sign(cls, key: Ed25519PrivateKey, seq: int, head_hash: bytes, signed_at_ms: int) -> Checkpoint:
        signature = key.sign(checkpoint_message(seq, head_hash, signed_at_ms))
        return cls(seq, head_hash, signed_at_ms, signature, public_key_id(key.public_key()))

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(self.signature, checkpoint_message(self.seq, self.head_hash, self.signed_at_ms))
        except InvalidSignature:
            return False
        return True

    def to_row(self) -> tuple[object, ...]:
        """The stored row (CHECKPOINT_COLUMNS order)."""
        return (self.seq, self.head_hash.hex(), self.signed_at_ms, self.signature.hex(), self.key_id)

    @classmethod
    def from_row(cls, row: StoredRow) -> Checkpoint:
        """Decode a stored checkpoint; raises ValueError when it is malformed."""
        seq, head, signed_at_ms, signature, key_id = row
        if type(seq) is not int or type(signed_at_ms) is not int or not isinstance(key_id, str):
            raise ValueError("a column has the wrong type")
        try:
            head_hash, sig = bytes.fromhex(head), bytes.fromhex(signature)
        except (TypeError, ValueError):
            raise ValueError("head_hash or signature is not hex") from None
        if len(head_hash) != 32 or len(sig) != 64:
            raise ValueError("head_hash or signature has the wrong length")
        return cls(seq, head_hash, signed_at_ms, sig, key_id)


# ----------------------------------------------------------------------------- verification


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
    record is found (read no further); ``finish`` gives the report. ``start_seq`` and
    ``start_hash`` start the walk after a record already trusted (the controller checks the tail
    after its last checkpoint this way when it reopens the trail).
    """

    def __init__(
        self,
        public_key: Ed25519PublicKey,
        checkpoint_rows: Iterable[StoredRow] = (),
        *,
        hmac_key: bytes | None = None,
        start_seq: int = 0,
        start_hash: bytes = GENESIS,
    ) -> None:
        self._hmac_key = hmac_key
        self._start_seq = start_seq
        self._expected = start_seq + 1
        self._prev = start_hash
        self._prev_hex = start_hash.hex()
        self._bad: BadRecord | None = None
        self._hmac_seen = False
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
            signed_through_seq=max([self._start_seq, *(cp.seq for cp in signed)]),
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
        if row[_HMAC] is None:
            return BadRecord(seq, record_id, Problem.HMAC_MISSING, "it has no HMAC although records before it have one")
        if self._hmac_key is not None and record_hmac(self._hmac_key, record_hash).hex() != row[_HMAC]:
            return BadRecord(seq, record_id, Problem.HMAC_MISMATCH, "its HMAC does not match its record_hash")
        return BadRecord(
            seq,
            record_id,
            Problem.CHECKPOINT_MISMATCH,
            f"the checkpoint signed at seq {seq} holds another chain head: records up to seq {seq} were "
            "rewritten and re-chained",
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
