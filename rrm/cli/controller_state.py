"""Where a controller keeps its state, for the commands that read it from another process.

``DIR/controller.db`` is where `rrm controller --state-dir DIR` keeps it (its state dir is DIR);
``DIR/controller/controller.db`` is where `rrm demo --state-dir DIR` does (the demo gives its
controller ``DIR/controller``). The audit trail, its keys and the databases sit beside it, unless
the controller writes its trail to PostgreSQL (`rrm controller --audit-db URL`); `rrm audit` then
reads it with ``--db URL`` and takes the keys as files (:func:`audit_location`, :func:`audit_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from controller.audit_reader import AuditTrailReader


def controller_state_dir(state_dir: Path) -> Path:
    """The folder holding controller.db under ``state_dir``, in the controller's or the demo's layout."""
    return controller_database(state_dir).parent


def controller_database(state_dir: Path) -> Path:
    """The controller database under ``state_dir``, in the controller's or the demo's layout."""
    candidates = [state_dir / "controller.db", state_dir / "controller" / "controller.db"]
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise UsageError(
            f"no controller database in {state_dir} (looked for {candidates[0]}, as `rrm controller` keeps it, "
            f"and {candidates[1]}, as `rrm demo` does)"
        )
    if len(found) > 1:
        raise UsageError(f"{state_dir} holds two controller databases; pass --state-dir {state_dir / 'controller'}")
    return found[0]


# ----------------------------------------------------------------------------- the audit trail (rrm audit)

AUDIT_SUBDIR = "controller"
DB_URL_FORM = "postgresql://user@host:port/dbname"


@dataclass(frozen=True, slots=True)
class AuditLocation:
    """Where `rrm audit` finds a trail: its database, and with --state-dir the folder of its keys and archives.

    ``folder`` holds audit-signing.pub, audit-hmac.key and archive/ beside audit.db; with --db URL
    there is none (keys and the archive directory are given as files and folders).
    """

    target: Path | str
    name: str
    folder: Path | None


def audit_location(state_dir: Path | None, db: str | None) -> AuditLocation:
    """The trail named by exactly one of --state-dir DIR and --db URL; UsageError otherwise."""
    from controller.audit_store import is_database_url, target_name
    from controller.audit_trail import AUDIT_DB_FILE

    if state_dir is not None and db is not None:
        raise UsageError("give --state-dir DIR or --db URL, not both (the trail is in one of them)")
    if db is not None:
        if not is_database_url(db):
            raise UsageError(f"--db takes a {DB_URL_FORM} URL (a SQLite trail is found with --state-dir DIR)")
        return AuditLocation(db, target_name(db), None)
    if state_dir is None:
        raise UsageError(f"give --state-dir DIR (the trail in a state directory) or --db URL ({DB_URL_FORM})")
    folder = audit_dir(state_dir)
    return AuditLocation(folder / AUDIT_DB_FILE, str(folder / AUDIT_DB_FILE), folder)


def audit_dir(state_dir: Path) -> Path:
    """Where the trail and its keys are for ``--state-dir``; UsageError when there is no trail."""
    from controller.audit_trail import AUDIT_DB_FILE

    for candidate in (state_dir / AUDIT_SUBDIR, state_dir):
        if (candidate / AUDIT_DB_FILE).is_file():
            return candidate
    raise UsageError(f"no audit trail in {state_dir}: {state_dir / AUDIT_SUBDIR / AUDIT_DB_FILE} does not exist")


def audit_archive_dir(location: AuditLocation, given: Path | None) -> Path | None:
    """--archive-dir, or archive/ beside audit.db; None with --db and no --archive-dir."""
    from controller.audit_archive import default_archive_dir

    if given is not None:
        return given
    return None if location.folder is None else default_archive_dir(location.folder / "audit.db")


def audit_keys(
    location: AuditLocation, public_key: Path | None, hmac_key: Path | None, *, folder: Path | None = None
) -> tuple[Ed25519PublicKey, bytes | None, Path | None]:
    """The public key, the HMAC key (when given or beside the trail) and its file.

    Keys are files whichever database holds the trail: with --db, --public-key is required.
    """
    from controller.audit_keys import HMAC_KEY_FILE, PUBLIC_KEY_FILE, load_hmac_key, load_public_key

    where = folder or location.folder
    if public_key is None and where is None:
        raise UsageError("with --db, give --public-key FILE (the audit-signing.pub of the controller that signs it)")
    public = load_public_key(public_key or cast(Path, where) / PUBLIC_KEY_FILE)
    beside = None if where is None else where / HMAC_KEY_FILE
    hmac_path = hmac_key or (beside if beside is not None and beside.is_file() else None)
    return public, load_hmac_key(hmac_path) if hmac_path is not None else None, hmac_path


def existing_archive_dir(location: AuditLocation, given: Path | None, reader: AuditTrailReader) -> Path:
    """Where the archive files are; UsageError for a trail in PostgreSQL listing kept ones but no --archive-dir."""
    archive_dir = audit_archive_dir(location, given)
    if archive_dir is not None:
        return archive_dir
    if any(not segment.pruned for segment in reader.archived_segments()):
        raise UsageError(f"{location.name} lists archive files: give --archive-dir DIR (where they are)")
    return Path()  # never read: no archive file is kept


def required_archive_dir(location: AuditLocation, given: Path | None) -> Path:
    """--archive-dir, or archive/ beside audit.db; UsageError with --db and no --archive-dir (archive, prune)."""
    archive_dir = audit_archive_dir(location, given)
    if archive_dir is None:
        raise UsageError("with --db, give --archive-dir DIR (where the archive files are kept)")
    return archive_dir
