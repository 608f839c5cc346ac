"""`rrm audit verify|query|export`: the controller's signed audit trail, for operators and auditors.

Where things are, for ``--state-dir DIR`` (the layout ``rrm demo --state-dir DIR`` writes)::

    DIR/controller/audit.db             the trail (audit_records, audit_checkpoints)
    DIR/controller/audit-signing.pub    the public key verification needs (auditors get this file)
    DIR/controller/audit-hmac.key       the per-record HMAC key, only when that mode is on (a secret)

When DIR/controller/audit.db does not exist but DIR/audit.db does, DIR itself is taken as the
controller's state directory (``rrm controller --state-dir DIR``). ``verify`` needs no secret:
HMACs are checked only with an HMAC key (``--hmac-key``, or the key file when it is there).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from controller.audit_chain import AuditEntry

CONTROLLER_SUBDIR = "controller"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="verify, query and export the controller's signed audit trail")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="{verify,query,export}")

    verify = audit_sub.add_parser(
        "verify",
        help="check the whole chain and its signed checkpoints (exit 0 only when it verifies)",
        description="Exit 0 when every record verifies; 1 naming the first bad record; 2 on bad input.",
    )
    _add_state_dir(verify)
    verify.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="the Ed25519 public key (default: audit-signing.pub beside the trail)",
    )
    verify.add_argument(
        "--hmac-key",
        type=Path,
        metavar="FILE",
        help="check per-record HMACs with this key (default: audit-hmac.key beside the trail, when present)",
    )
    verify.add_argument(
        "--require-signed",
        action="store_true",
        help="also fail (exit 1) when records are covered only by the chain, not yet by a signed checkpoint",
    )
    verify.set_defaults(handler=_verify)

    query = audit_sub.add_parser("query", help="print matching records, one line each, in chain order")
    _add_state_dir(query)
    query.add_argument("--ap", metavar="AP_ID", help="records of this AP")
    query.add_argument("--radio", metavar="RADIO_ID", help="records of this radio (e.g. ap-3/5g)")
    query.add_argument("--type", dest="record_type", metavar="TYPE", help="records of this type (e.g. change_sent)")
    query.add_argument("--change", metavar="CHANGE_ID", help="records of this change")
    query.add_argument("--since", metavar="ISO8601", help="records at or after this time (UTC unless it says)")
    query.add_argument("--until", metavar="ISO8601", help="records before this time (UTC unless it says)")
    query.add_argument("--limit", type=int, metavar="N", help="at most N records")
    query.set_defaults(handler=_query)

    export = audit_sub.add_parser("export", help="write every record as JSONL or CSV, for compliance")
    _add_state_dir(export)
    export.add_argument("--format", required=True, choices=("jsonl", "csv"), help="JSON lines or CSV")
    export.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (default: stdout)")
    export.set_defaults(handler=_export)


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="the controller's state dir (trail: DIR/audit.db) or a demo's (DIR/controller/audit.db)",
    )


def controller_dir(state_dir: Path) -> Path:
    """Where the trail and its keys are for ``--state-dir``; UsageError when there is no trail."""
    from controller.audit_trail import AUDIT_DB_FILE

    for candidate in (state_dir / CONTROLLER_SUBDIR, state_dir):
        if (candidate / AUDIT_DB_FILE).is_file():
            return candidate
    raise UsageError(f"no audit trail in {state_dir}: {state_dir / CONTROLLER_SUBDIR / AUDIT_DB_FILE} does not exist")


def _verify(ns: argparse.Namespace) -> int:
    from controller.audit_keys import HMAC_KEY_FILE, PUBLIC_KEY_FILE, load_hmac_key, load_public_key
    from controller.audit_trail import AUDIT_DB_FILE, AuditTrailReader, verify_workers

    where = controller_dir(ns.state_dir)
    path = where / AUDIT_DB_FILE
    public_key = load_public_key(ns.public_key or where / PUBLIC_KEY_FILE)
    hmac_path: Path | None = ns.hmac_key or (where / HMAC_KEY_FILE if (where / HMAC_KEY_FILE).is_file() else None)
    hmac_key = load_hmac_key(hmac_path) if hmac_path is not None else None
    with AuditTrailReader.open(path) as reader:
        report = reader.verify(public_key, hmac_key=hmac_key, workers=verify_workers())
    if report.first_bad is not None:
        print(f"audit trail {path}: FAILED at {report.first_bad} ({report.records} records before it verified)")
        return 1
    first = report.head_seq - report.records + 1
    span = f"seq {first}-{report.head_seq}" if report.records else "empty"
    print(f"audit trail {path}: {report.records} records verified, chain intact ({span})")
    if report.signed_through_seq:
        signed_at = _iso(report.last_signed_at_ms) if report.last_signed_at_ms is not None else "?"
        print(
            f"signed: records 1-{report.signed_through_seq} by {report.checkpoints} checkpoints "
            f"(last signed {signed_at}, key {report.key_id})"
        )
    else:
        print(f"signed: none (no checkpoint signed with key {report.key_id} covers a record yet)")
    if report.chain_only:
        print(
            f"only the chain: records {report.signed_through_seq + 1}-{report.head_seq} ({report.chain_only}; "
            "no signature covers them yet: anyone able to write the file could have rewritten them)"
        )
    else:
        print("only the chain: none")
    print(_hmac_line(report.hmac_checked, report.hmac_unchecked, hmac_path))
    if ns.require_signed and report.chain_only:
        print(
            f"audit trail {path}: FAILED: {report.chain_only} records are not covered by a signature (--require-signed)"
        )
        return 1
    return 0


def _hmac_line(checked: int, unchecked: int, key_path: Path | None) -> str:
    if checked:
        return f"HMAC: checked on {checked} records with {key_path}"
    if unchecked:
        return f"HMAC: present on {unchecked} records, not checked (no HMAC key; pass --hmac-key)"
    return "HMAC: not used"


def _query(ns: argparse.Namespace) -> int:
    from controller.audit_trail import AUDIT_DB_FILE, AuditQuery, AuditTrailReader

    if ns.limit is not None and ns.limit < 1:
        raise UsageError(f"--limit must be positive, got {ns.limit}")
    query = AuditQuery(
        ap_id=ns.ap,
        radio_id=ns.radio,
        record_type=ns.record_type,
        change_id=ns.change,
        since_ms=_time_ms(ns.since, "--since"),
        until_ms=_time_ms(ns.until, "--until"),
        limit=ns.limit,
    )
    count = 0
    with AuditTrailReader.open(controller_dir(ns.state_dir) / AUDIT_DB_FILE) as reader:
        try:
            for entry in reader.iter_query(query):
                print(_describe(entry))
                count += 1
        except BrokenPipeError:
            return _reader_went_away()
    if not count:
        print("no matching records", file=sys.stderr)
    return 0


def _export(ns: argparse.Namespace) -> int:
    from controller.audit_trail import AUDIT_DB_FILE, AuditTrailReader

    with AuditTrailReader.open(controller_dir(ns.state_dir) / AUDIT_DB_FILE) as reader:
        if ns.output is None:
            try:
                reader.export(ns.format, sys.stdout)
            except BrokenPipeError:
                return _reader_went_away()
            return 0
        try:
            with ns.output.open("w", encoding="utf-8", newline="") as out:
                count = reader.export(ns.format, out)
        except OSError as exc:
            raise UsageError(f"cannot write {ns.output}: {exc.strerror or exc}") from None
    print(f"exported {count} records to {ns.output}", file=sys.stderr)
    return 0


def _reader_went_away() -> int:
    """Whoever read stdout stopped (``| head``): stop quietly, as other command-line tools do."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _time_ms(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not an ISO 8601 time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _describe(entry: AuditEntry) -> str:
    """One readable line: seq, time, type and reason code, where, who, the outcome, what changed, why."""
    parts = [f"#{entry.seq}", _iso(entry.timestamp_ms), entry.record_type, entry.reason_code]
    for label, value in (
        ("ap", entry.ap_id),
        ("radio", entry.radio_id),
        ("change", entry.change_id),
        ("by", entry.actor),
        ("approved-by", entry.approver),
        ("outcome", entry.outcome),
    ):
        if value:
            parts.append(f"{label}={value}")
    if (changed := _changes(entry.before, entry.after)) is not None:
        parts.append(changed)
    line = "  ".join(parts)
    return f"{line}  - {entry.reason}" if entry.reason else line


def _changes(before: Mapping[str, object] | None, after: Mapping[str, object] | None) -> str | None:
    """``channel 52->36, width_mhz 80->40``: the parameters that differ, or None."""
    if before is None and after is None:
        return None
    before, after = before or {}, after or {}
    keys = [k for k in sorted({*before, *after}) if before.get(k) != after.get(k)]
    if not keys:
        return "no config change"
    return ", ".join(f"{k} {before.get(k, '-')}->{after.get(k, '-')}" for k in keys)
