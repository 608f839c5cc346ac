"""The controller archives its own audit trail: old signed spans leave the live store once a day.

Without it an operator or cron runs `rrm audit archive`. With ``audit_archive_after_days`` set
(`rrm controller --audit-archive-after DAYS`), the controller moves every signed span older than
that into archive files under its archive folder, the same files and checks as the command (each
segment verified before it is written, read back before anything is deleted), off the event loop
in a worker thread. Archive files are never deleted here: pruning past the 7-year retention stays
an operator's decision (`rrm audit prune`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.audit_archive import DAY_MS, ArchiveError, ArchiveRefused, archive_older_than
from controller.audit_store import AuditTarget
from controller.audit_store_schema import ArchivedSegment

log = logging.getLogger(__name__)

ARCHIVE_EVERY_S = 24 * 3600.0


@dataclass
class AuditRetention:
    """Decides when to archive and does it; ``due`` and ``run`` take the time as a parameter."""

    target: AuditTarget
    archive_dir: Path
    public_key: Ed25519PublicKey
    archive_after_days: float
    hmac_key: bytes | None = None
    every_s: float = ARCHIVE_EVERY_S
    last_run_s: float | None = None
    archived: list[ArchivedSegment] = field(default_factory=list)

    def due(self, now_s: float) -> bool:
        return self.last_run_s is None or now_s - self.last_run_s >= self.every_s

    def run(self, now_s: float) -> list[ArchivedSegment]:
        """Archive every signed span old enough; returns the new segments (none is not an error).

        Raises ArchiveRefused when a span does not verify (the trail was tampered with: an operator
        must look) and ArchiveError when archiving cannot be done; nothing is deleted then.
        """
        self.last_run_s = now_s
        now_ms = round(now_s * 1000)
        cutoff_ms = now_ms - round(self.archive_after_days * DAY_MS)
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        done: list[ArchivedSegment] = []
        while True:
            segment = archive_older_than(
                self.target,
                self.archive_dir,
                self.public_key,
                older_than_ms=cutoff_ms,
                now_ms=now_ms,
                hmac_key=self.hmac_key,
            )
            if segment is None:
                break
            done.append(segment)
            log.info("archived audit records %d-%d to %s", segment.first_seq, segment.last_seq, segment.file_name)
        self.archived.extend(done)
        return done


__all__ = ["ARCHIVE_EVERY_S", "ArchiveError", "ArchiveRefused", "AuditRetention"]
