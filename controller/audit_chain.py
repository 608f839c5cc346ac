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
``audit_verify.VerifyReport`` says. The optional per-record HMAC (the seed's mode) is
HMAC-SHA256(hmac_key, record_hash); it protects those records too, against anyone without that key.

Verification needs only the public key (and the HMAC key to check HMACs; without it they are
reported as unchecked, not failed; with it, every record after the first one carrying an HMAC must
carry a valid one). ``audit_verify.ChainVerifier`` walks stored rows in seq order, batch by batch, and
names the first bad record: edited (its fields do not hash to its record_hash), missing (a gap),
moved or inserted (its hash holds only with another seq: renumbered, reordered, or pushed along by
a forged record, which is then named), a broken link, a bad or missing HMAC, a checkpoint whose
signature fails or whose head is not the chain's (rewritten and re-chained), or a tail truncated
below a signed checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac as hmac_lib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any, cast

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
            if isinstance(key, str) and looks_like_mac(key):
                return f"{path} (one of its keys)"
            where = f"{path}[{json.dumps(key) if isinstance(key, str) else key}]"
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
    """Raise AuditRefused naming the first malformed field (seal_draft calls it when one is)."""
    ts = draft.timestamp_ms
    if type(ts) is not int or ts < 0:
        raise AuditRefused("timestamp_ms", f"audit draft refused: timestamp_ms must be a non-negative int, got {ts!r}")
    for name in TEXT_FIELDS:
        if not isinstance(value := getattr(draft, name), str):
            raise AuditRefused(name, f"audit draft refused: {name} must be a string")
        if "\x00" in value or value.encode(errors="replace").decode() != value:  # storable on both backends
            raise AuditRefused(name, f"audit draft refused: {name} holds a NUL or a lone surrogate (not UTF-8 text)")
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
    ts = draft.timestamp_ms
    if type(ts) is not int or ts < 0 or not (draft.actor and draft.record_type and draft.reason_code):
        _check_draft(draft)
    if draft.ap_id and draft.radio_id and radio_ap_id(draft.radio_id) not in (None, draft.ap_id):
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
    try:
        canonical = _canonical_of_row(row).encode()
    except TypeError:  # a text field is not a string: say which
        _check_draft(draft)
        raise
    if looks_like_mac(canonical):
        _refuse_mac(draft)
    text = "".join(cast(list[str], row[_ACTOR:_INPUTS]))  # the text fields (the JSON ones are escaped)
    if "\x00" in text or not text.isascii():  # maybe a NUL, or a lone surrogate: look closer
        _check_draft(draft)
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
