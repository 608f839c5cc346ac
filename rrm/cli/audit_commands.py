"""`rrm audit verify|query|export|archive|prune`: the controller's signed audit trail, for operators and auditors.

Where things are, for ``--state-dir DIR`` (the layout ``rrm demo --state-dir DIR`` writes)::

    DIR/controller/audit.db             the trail (audit_records, audit_checkpoints, audit_archives)
    DIR/controller/archive/             the archive files holding the oldest records (rrm audit archive)
    DIR/controller/audit-signing.pub    the public key verification needs (auditors get this file)
    DIR/controller/audit-hmac.key       the per-record HMAC key, only when that mode is on (a secret)

When DIR/controller/audit.db does not exist but DIR/audit.db does, DIR itself is taken as the
controller's state directory (``rrm controller --state-dir DIR``). A trail the controller writes to
PostgreSQL (``rrm controller --audit-db URL``) is read with ``--db postgresql://user@host:port/dbname``
instead of ``--state-dir`` (exactly one of them; the password comes from PGPASSWORD or the libpq
passfile, never from the command line); the keys are files then (``--public-key``, ``--hmac-key``)
and the archive files are in ``--archive-dir``. ``verify`` needs no secret:
HMACs are checked only with an HMAC key (``--hmac-key``, or the key file when it is there).
``verify`` checks the archive files and the live store as one chain; ``query`` and ``export``
read the live store only (archived records are in the archive files, JSON lines).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.controller_state import (
    AuditLocation,
    audit_keys,
    audit_location,
    existing_archive_dir,
    required_archive_dir,
)
from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from controller.audit_archive import ArchiveFault, TrailReport

RETENTION_DAYS = 7 * 365  # controller/audit_archive.py's DEFAULT_RETENTION_DAYS (seed 001: 7 years)
_ARCHIVED = (
    "Reads the live store only: archived records are in the archive files (JSON lines, one record a line; see "
    "rrm audit archive and rrm audit verify --archive)."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="verify, query, export, archive and prune the controller's signed audit trail")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="{verify,query,export,archive,prune}")

    verify = audit_sub.add_parser(
        "verify",
        help="check the whole chain (archives and live store) and its signed checkpoints (exit 0 only if it verifies)",
        description="Exit 0 when every record verifies, in the archive files and the live store as one chain; 1 naming "
        "the first bad record or archive file; 2 on bad input. --archive FILE checks one archive file on its own.",
    )
    _add_trail(verify)
    verify.add_argument(
        "--archive",
        type=Path,
        metavar="FILE",
        help="verify this one archive file on its own (its chain and checkpoint signatures; the public key: "
        "--public-key, or audit-signing.pub beside FILE or its folder); with --state-dir, also against the live "
        "store's listing",
    )
    _add_archive_dir(verify)
    _add_keys(verify, "the trail")
    verify.add_argument(
        "--require-signed",
        action="store_true",
        help="also fail (exit 1) when records are covered only by the chain, not yet by a signed checkpoint",
    )
    verify.set_defaults(handler=_verify)

    query = audit_sub.add_parser(
        "query", help="print matching records of the live store, one line each, in chain order", description=_ARCHIVED
    )
    _add_trail(query)
    query.add_argument("--ap", metavar="AP_ID", help="records of this AP")
    query.add_argument("--radio", metavar="RADIO_ID", help="records of this radio (e.g. ap-3/5g)")
    query.add_argument("--type", dest="record_type", metavar="TYPE", help="records of this type (e.g. change_sent)")
    query.add_argument("--change", metavar="CHANGE_ID", help="records of this change")
    query.add_argument("--since", metavar="ISO8601", help="records at or after this time (UTC unless it says)")
    query.add_argument("--until", metavar="ISO8601", help="records before this time (UTC unless it says)")
    query.add_argument("--limit", type=int, metavar="N", help="at most N records")
    query.set_defaults(handler=_query)

    export = audit_sub.add_parser(
        "export", help="write every record of the live store as JSONL or CSV, for compliance", description=_ARCHIVED
    )
    _add_trail(export)
    export.add_argument("--format", required=True, choices=("jsonl", "csv"), help="JSON lines or CSV")
    export.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (default: stdout)")
    export.set_defaults(handler=_export)

    archive = audit_sub.add_parser(
        "archive",
        help="move the oldest signed records to an archive file that verifies on its own",
        description="Moves every record up to the newest signed checkpoint whose records are all older than DAYS "
        "to JSON lines files in the archive directory (at most 100,000 records a file, unless one signed span is "
        "longer), each verified and fsynced before its records are deleted from the live store. Safe while the "
        "controller runs.",
    )
    _add_trail(archive)
    archive.add_argument(
        "--older-than", type=float, required=True, metavar="DAYS", help="archive records older than DAYS days"
    )
    _add_archive_dir(archive)
    _add_keys(archive, "the trail")
    archive.set_defaults(handler=_archive)

    prune = audit_sub.add_parser(
        "prune",
        help="delete archive files past retention, whole and oldest first",
        description="Deletes the oldest archive files whose newest record is older than the retention; the live "
        "store keeps their listing, so verification starts where the kept chain begins.",
    )
    _add_trail(prune)
    prune.add_argument(
        "--retention-days",
        type=int,
        default=RETENTION_DAYS,
        metavar="N",
        help="keep records N days (default: %(default)s, 7 years)",
    )
    _add_archive_dir(prune)
    prune.set_defaults(handler=_prune)


def _add_trail(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="the controller's state dir (trail: DIR/audit.db) or a demo's (DIR/controller/audit.db); "
        "or give --db instead",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="the trail in PostgreSQL instead: postgresql://user@host:port/dbname, as `rrm controller --audit-db` "
        "writes it (password from PGPASSWORD or the libpq passfile, never in the URL); keys and archives are then "
        "--public-key, --hmac-key and --archive-dir",
    )


def _add_archive_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archive-dir",
        type=Path,
        metavar="DIR",
        help="where the archive files are (default: archive/ beside audit.db; with --db, required once there are "
        "archives)",
    )


def _add_keys(parser: argparse.ArgumentParser, beside: str) -> None:
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help=f"the Ed25519 public key (default: audit-signing.pub beside {beside}; required with --db)",
    )
    parser.add_argument(
        "--hmac-key",
        type=Path,
        metavar="FILE",
        help=f"check per-record HMACs with this key (default: audit-hmac.key beside {beside}, when present)",
    )


def _verify(ns: argparse.Namespace) -> int:
    from controller.audit_archive import verify_archived_trail
    from controller.audit_trail import AuditTrailReader, verify_workers
    from controller.audit_verify import merge_reports

    if ns.archive is not None:
        return _verify_archive_file(ns)
    if ns.state_dir is None and ns.db is None:
        raise UsageError(
            "give --state-dir DIR or --db URL (the trail and its archives) or --archive FILE (one archive file)"
        )
    location = audit_location(ns.state_dir, ns.db)
    path = location.name
    public_key, hmac_key, hmac_path = audit_keys(location, ns.public_key, ns.hmac_key)
    with AuditTrailReader.open(location.target) as reader:
        archive_dir = existing_archive_dir(location, ns.archive_dir, reader)
        trail = verify_archived_trail(reader, archive_dir, public_key, hmac_key=hmac_key, workers=verify_workers())
    if trail.fault is not None or trail.live is None or trail.live.first_bad is not None:
        first_bad = trail.fault or (trail.live.first_bad if trail.live is not None else None)
        verified = trail.archived_records + (trail.live.records if trail.live is not None else 0)
        print(f"audit trail {path}: FAILED at {first_bad} ({verified} records before it verified)")
        return 1
    report = merge_reports([*(a.chain for a in trail.archives if a.chain is not None), trail.live])
    _print_archives(trail, archive_dir)
    first = report.head_seq - report.records + 1
    span = f"seq {first}-{report.head_seq}" if report.records else "empty"
    print(f"audit trail {path}: {report.records} records verified, chain intact ({span}{_where(trail)})")
    if report.signed_through_seq:
        signed_at = _iso(report.last_signed_at_ms) if report.last_signed_at_ms is not None else "?"
        print(
            f"signed: records {trail.first_seq}-{report.signed_through_seq} by {report.checkpoints} checkpoints "
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


def _print_archives(trail: TrailReport, archive_dir: Path) -> None:
    if trail.pruned:
        last = trail.pruned[-1]
        print(
            f"pruned: records 1-{last.last_seq} ({_count(len(trail.pruned), 'archive')} past retention, the last "
            f"pruned on {_iso(last.pruned_at_ms or 0)}); the kept chain starts at seq {last.last_seq + 1}"
        )
    for archive in trail.archives:
        header, chain = archive.header, archive.chain
        if header is not None and chain is not None:
            counts = f"{_count(chain.records, 'record')}, {_count(chain.checkpoints, 'checkpoint')}"
            print(
                f"archive {archive_dir / archive.file.name}: seq {header.first_seq}-{header.last_seq} verified "
                f"({counts}, signed through seq {chain.signed_through_seq}, sha256 as listed)"
            )


def _where(trail: TrailReport) -> str:
    """``; seq 1-20 in 2 archives, seq 21-25 live``: which seqs are where (nothing when never archived)."""
    if not trail.archives and not trail.pruned:
        return ""
    headers = [a.header for a in trail.archives if a.header is not None]
    archived = (
        f"seq {headers[0].first_seq}-{headers[-1].last_seq} in {_count(len(headers), 'archive')}" if headers else ""
    )
    live = trail.live
    in_live = f"seq {live.head_seq - live.records + 1}-{live.head_seq} live" if live and live.records else "none live"
    return "; " + ", ".join(part for part in (archived, in_live) if part)


def _verify_archive_file(ns: argparse.Namespace) -> int:
    from controller.audit_archive import verify_archive_file
    from controller.audit_chain import GENESIS
    from controller.audit_keys import PUBLIC_KEY_FILE
    from controller.audit_trail import AuditTrailReader

    path: Path = ns.archive
    if not path.is_file():
        raise UsageError(f"{path}: no such archive file")
    listed = None
    location = None
    if ns.state_dir is not None or ns.db is not None:
        location = audit_location(ns.state_dir, ns.db)
        with AuditTrailReader.open(location.target) as reader:
            listed = next((s for s in reader.archived_segments() if s.file_name == path.name), None)
        if listed is None:
            raise UsageError(f"{location.name} lists no archive named {path.name}")
    # the key beside the trail, or (an auditor's copy) beside the file or beside the archive/ folder
    beside = next((d for d in (path.parent, path.parent.parent) if (d / PUBLIC_KEY_FILE).is_file()), path.parent)
    where = location.folder if location is not None and location.folder is not None else beside
    public_key, hmac_key, hmac_path = audit_keys(AuditLocation(path, str(path), where), ns.public_key, ns.hmac_key)
    result = verify_archive_file(path, public_key, hmac_key=hmac_key, listed=listed)
    header, chain = result.header, result.chain
    if result.fault is not None or header is None or chain is None:
        print(f"archive {path}: FAILED{_in_file(result.fault)}")
        return 1
    signed_at = _iso(chain.last_signed_at_ms) if chain.last_signed_at_ms is not None else "?"
    print(
        f"archive {path}: {chain.records} records verified, chain intact (seq {header.first_seq}-{header.last_seq}), "
        f"signed through seq {chain.signed_through_seq} by {_count(chain.checkpoints, 'checkpoint')} (last signed "
        f"{signed_at}, "
        f"key {chain.key_id})"
    )
    start = "GENESIS (it starts the trail)" if header.prev_hash == GENESIS else header.prev_hash.hex()
    print(f"starts from prev_hash {start}; ends at record_hash {header.last_record_hash.hex()}")
    lister = ns.state_dir if ns.state_dir is not None else location.name if location is not None else None
    print(f"sha256 {result.sha256}" + (f" (as {lister} lists it)" if listed is not None else ""))
    print(_hmac_line(chain.hmac_checked, chain.hmac_unchecked, hmac_path))
    return 0


def _in_file(fault: ArchiveFault | None) -> str:
    if fault is None:
        return ""
    return (f" at line {fault.line}" if fault.line is not None else "") + f": {fault.problem.value}: {fault.detail}"


def _archive(ns: argparse.Namespace) -> int:
    from controller.audit_archive import DAY_MS, ArchiveRefused, archive_older_than

    if ns.older_than < 0:
        raise UsageError(f"--older-than must not be negative, got {ns.older_than}")
    location = audit_location(ns.state_dir, ns.db)
    path = location.name
    public_key, hmac_key, _ = audit_keys(location, ns.public_key, ns.hmac_key)
    archive_dir = required_archive_dir(location, ns.archive_dir)
    now_ms = _now_ms()
    cutoff_ms = now_ms - round(ns.older_than * DAY_MS)
    archived = 0
    while True:  # one file per call, each at most MAX_ARCHIVE_RECORDS: the write lock is held briefly
        try:
            segment = archive_older_than(
                location.target, archive_dir, public_key, older_than_ms=cutoff_ms, now_ms=now_ms, hmac_key=hmac_key
            )
        except ArchiveRefused as exc:
            print(f"audit trail {path}: archive REFUSED: {exc}")
            return 1
        if segment is None:
            break
        archived += 1
        print(
            f"archived records {segment.first_seq}-{segment.last_seq} ({_count(segment.records, 'record')}, "
            f"{_count(segment.checkpoints, 'checkpoint')}, from {_iso(segment.oldest_record_ms)} to "
            f"{_iso(segment.newest_record_ms)}) to {archive_dir / segment.file_name} (sha256 {segment.sha256})"
        )
        print(f"removed them from {path}: the live store now starts at seq {segment.last_seq + 1}")
    if not archived:
        print(
            f"nothing to archive: no signed span of {path} holds only records older than {ns.older_than:g} days "
            f"(before {_iso(cutoff_ms)})"
        )
    return 0


def _prune(ns: argparse.Namespace) -> int:
    from controller.audit_archive import DAY_MS, prune_archives
    from controller.audit_trail import AuditTrailReader

    if ns.retention_days < 1:
        raise UsageError(f"--retention-days must be at least 1, got {ns.retention_days}")
    location = audit_location(ns.state_dir, ns.db)
    path = location.name
    archive_dir = required_archive_dir(location, ns.archive_dir)
    pruned = prune_archives(location.target, archive_dir, now_ms=_now_ms(), retention_days=ns.retention_days)
    for segment in pruned:
        print(
            f"pruned {archive_dir / segment.file_name} (records {segment.first_seq}-{segment.last_seq}, newest "
            f"{_iso(segment.newest_record_ms)}, past the {ns.retention_days}-day retention)"
        )
    if pruned:
        print(f"the kept chain now starts at seq {pruned[-1].last_seq + 1}")
        return 0
    with AuditTrailReader.open(location.target) as reader:
        kept = [s for s in reader.archived_segments() if not s.pruned]
    if not kept:
        print(f"nothing to prune: {path} lists no archive files")
    else:
        until = _iso(kept[0].newest_record_ms + ns.retention_days * DAY_MS)
        print(
            f"nothing to prune: the oldest archive, {kept[0].file_name}, holds records until "
            f"{_iso(kept[0].newest_record_ms)}, kept for {ns.retention_days} days (until {until})"
        )
    return 0


def _hmac_line(checked: int, unchecked: int, key_path: Path | None) -> str:
    if checked:
        return f"HMAC: checked on {checked} records with {key_path}"
    if unchecked:
        return f"HMAC: present on {unchecked} records, not checked (no HMAC key; pass --hmac-key)"
    return "HMAC: not used"


def _query(ns: argparse.Namespace) -> int:
    from controller.audit_reader import describe_entry
    from controller.audit_trail import AuditQuery, AuditTrailReader

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
    with AuditTrailReader.open(audit_location(ns.state_dir, ns.db).target) as reader:
        try:
            for entry in reader.iter_query(query):
                print(describe_entry(entry))
                count += 1
        except BrokenPipeError:
            return _reader_went_away()
    if not count:
        print("no matching records", file=sys.stderr)
    return 0


def _export(ns: argparse.Namespace) -> int:
    from controller.audit_trail import AuditTrailReader

    with AuditTrailReader.open(audit_location(ns.state_dir, ns.db).target) as reader:
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


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _now_ms() -> int:
    """The wall clock, picked here at the entry point (the archive functions take ``now_ms``)."""
    from rrm.clock import WallClock

    return int(WallClock().now() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
