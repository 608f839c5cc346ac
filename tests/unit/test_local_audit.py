from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.local_audit import LocalAuditLog
from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb

pytestmark = pytest.mark.unit


def test_records_are_chained_and_the_chain_survives_a_restart(tmp_path: Path) -> None:
    log = LocalAuditLog(open_database(tmp_path / "a.db"))
    first = log.append(pb.AuditRecord(record_type="config_command", outcome="APPLIED"))
    second = log.append(pb.AuditRecord(record_type="rollback_command", outcome="ROLLED_BACK"))
    assert second.prev_hash == first.record_hash
    reopened = LocalAuditLog(open_database(tmp_path / "a.db"))
    third = reopened.append(pb.AuditRecord(record_type="x"))
    assert third.prev_hash == second.record_hash
    assert reopened.verify() == 3


def test_an_edited_record_breaks_the_chain(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "a.db")
    log = LocalAuditLog(conn)
    rec = log.append(pb.AuditRecord(record_type="config_command", outcome="REFUSED"))
    log.append(pb.AuditRecord(record_type="config_command", outcome="APPLIED"))
    forged = pb.AuditRecord()
    forged.CopyFrom(rec)
    forged.outcome = "APPLIED"
    conn.execute("UPDATE local_audit SET record = ? WHERE record_id = ?", (forged.SerializeToString(), rec.record_id))
    with pytest.raises(ValueError, match=rec.record_id):
        log.verify()
