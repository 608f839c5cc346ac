"""`rrm audit verify|query|export` and `rrm bench audit` on a real state directory, as operators run them."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from controller.audit_chain import AuditDraft
from controller.audit_keys import PUBLIC_KEY_FILE, load_or_create_hmac_key, load_or_create_signing_key
from controller.audit_trail import AUDIT_DB_FILE, AuditTrail
from rrm.cli.main import main
from rrm.clock import VirtualClock

pytestmark = pytest.mark.integration

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _draft(i: int) -> AuditDraft:
    ap = f"ap-{i % 2}"
    return AuditDraft(
        timestamp_ms=int(EPOCH * 1000) + i * 60_000,
        actor="controller:pipeline",
        record_type="change_sent" if i % 3 else "change_refused",
        reason_code="SLOW_LOOP_CHANNEL",
        reason=f"decision {i}",
        ap_id=ap,
        radio_id=f"{ap}/5g",
        change_id=f"c{i}",
        inputs={"snapshot": f"s{i}"},
        before={"channel": 52, "tx_power_dbm": 17},
        after={"channel": 36, "tx_power_dbm": 17},
        approver="operator:alice" if i == 4 else "",
        outcome="SENT",
    )


def make_trail(state: Path, count: int = 12, *, close: bool = True, hmac: bool = False) -> Path:
    """``count`` records in DIR/controller/audit.db, checkpoints every 5 (and at close)."""
    controller = state / "controller"
    trail = AuditTrail.open(
        controller / AUDIT_DB_FILE,
        load_or_create_signing_key(controller),
        checkpoint_every=5,
        hmac_key=load_or_create_hmac_key(controller) if hmac else None,
        clock=VirtualClock(EPOCH),
    )
    for i in range(1, count + 1):
        trail.append(_draft(i))
    if close:
        trail.close()
    else:
        trail.flush()
    return controller / AUDIT_DB_FILE


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_verify_passes_a_whole_chain_and_says_what_is_signed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 0; records verified, covered by checkpoints, none only by the chain."""
    make_trail(tmp_path)
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 0, out
    assert "12 records verified, chain intact (seq 1-12)" in out
    assert "signed: records 1-12 by 3 checkpoints" in out
    assert "only the chain: none" in out
    assert "HMAC: not used" in out


def test_verify_names_the_first_bad_record_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An edited record: exit 1 and one line naming it."""
    db = make_trail(tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE audit_records SET outcome = 'APPLIED' WHERE seq = 8")
    conn.close()
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 1
    assert out.count("\n") == 1
    assert "FAILED at record seq 8 (id " in out and ": edited:" in out and "7 records before it verified" in out


def test_verify_with_another_public_key_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An auditor's key that did not sign the trail: the first checkpoint does not verify."""
    make_trail(tmp_path)
    load_or_create_signing_key(tmp_path / "other")
    code, out, _ = run(
        capsys,
        "audit",
        "verify",
        "--state-dir",
        str(tmp_path),
        "--public-key",
        str(tmp_path / "other" / PUBLIC_KEY_FILE),
    )
    assert code == 1
    assert "FAILED at the checkpoint at record seq 5 (id " in out and ": checkpoint signature invalid: " in out


def test_verify_reports_records_covered_only_by_the_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A controller that stopped without closing: 2 records wait for a signature; --require-signed fails."""
    make_trail(tmp_path, 12, close=False)
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 0
    assert "signed: records 1-10" in out and "only the chain: records 11-12 (2;" in out
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path), "--require-signed")
    assert code == 1 and "2 records are not covered by a signature" in out


def test_verify_checks_hmacs_with_the_key_file_and_says_so_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The HMAC key in the state directory is used; an auditor without it sees them unchecked."""
    make_trail(tmp_path, 6, hmac=True)
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 0 and "HMAC: checked on 6 records" in out
    (tmp_path / "controller" / "audit-hmac.key").unlink()
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 0 and "HMAC: present on 6 records, not checked" in out


def test_verify_without_a_trail_or_a_key_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input is an error line naming the file, never a traceback."""
    code, _, err = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 2
    assert (
        err.strip() == f"rrm audit: error: no audit trail in {tmp_path}: {tmp_path}/controller/audit.db does not exist"
    )
    make_trail(tmp_path)
    (tmp_path / "controller" / PUBLIC_KEY_FILE).unlink()
    code, _, err = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 2 and err.count("\n") == 1
    assert f"{tmp_path}/controller/{PUBLIC_KEY_FILE}: no audit public key here" in err
    (tmp_path / "bad.pub").write_text("junk")
    code, _, err = run(
        capsys, "audit", "verify", "--state-dir", str(tmp_path), "--public-key", str(tmp_path / "bad.pub")
    )
    assert code == 2 and "bad.pub: not a PEM public key" in err


def test_query_filters_and_prints_one_readable_line_per_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By AP, radio, type, change and time; lines show where, who, outcome and what changed."""
    make_trail(tmp_path)
    base = ("audit", "query", "--state-dir", str(tmp_path))
    code, out, _ = run(capsys, *base, "--change", "c4")
    assert code == 0
    assert out.splitlines() == [
        "#4  2026-01-01T00:04:00.000Z  change_sent  SLOW_LOOP_CHANNEL  ap=ap-0  radio=ap-0/5g  change=c4  "
        "by=controller:pipeline  approved-by=operator:alice  outcome=SENT  channel 52->36  - decision 4"
    ]
    _, out, _ = run(capsys, *base, "--ap", "ap-1", "--type", "change_refused")
    assert [line.split()[0] for line in out.splitlines()] == ["#3", "#9"]
    _, out, _ = run(
        capsys, *base, "--radio", "ap-0/5g", "--since", "2026-01-01T00:05:00Z", "--until", "2026-01-01T00:09"
    )
    assert [line.split()[0] for line in out.splitlines()] == ["#6", "#8"]
    _, out, _ = run(capsys, *base, "--limit", "2")
    assert len(out.splitlines()) == 2
    code, out, err = run(capsys, *base, "--ap", "ap-9")
    assert (code, out, err) == (0, "", "no matching records\n")


def test_query_refuses_a_time_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad --since is one line and exit 2."""
    make_trail(tmp_path)
    code, _, err = run(capsys, "audit", "query", "--state-dir", str(tmp_path), "--since", "last tuesday")
    assert code == 2
    assert err.startswith("rrm audit: error: --since 'last tuesday' is not an ISO 8601 time")


def test_export_writes_jsonl_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every record, with every field; to a file or to stdout."""
    make_trail(tmp_path)
    out_file = tmp_path / "audit.jsonl"
    code, _, err = run(
        capsys, "audit", "export", "--state-dir", str(tmp_path), "--format", "jsonl", "--output", str(out_file)
    )
    assert code == 0 and err == f"exported 12 records to {out_file}\n"
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["seq"] for r in records] == list(range(1, 13))
    assert records[3]["approver"] == "operator:alice" and records[3]["after"] == {"channel": 36, "tx_power_dbm": 17}
    code, out, _ = run(capsys, "audit", "export", "--state-dir", str(tmp_path), "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("seq,record_id,timestamp_ms,actor,") and len(lines) == 13


def test_the_controllers_own_state_directory_works_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rrm controller --state-dir DIR` keeps audit.db in DIR itself."""
    make_trail(tmp_path)
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path / "controller"))
    assert code == 0 and "12 records verified" in out


def test_bench_audit_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A small run: the keys the targets are judged by, and a trail that verified."""
    out_file = tmp_path / "bench.json"
    assert main(["bench", "audit", "--records", "3000", "--json", str(out_file)]) == 0
    figures = json.loads(out_file.read_text())
    assert {"appends_per_s", "verify_records_per_s", "records", "checkpoints", "db_bytes", "targets"} <= set(figures)
    assert figures["records"] == 3000 and figures["checkpoints"] == 3 and figures["verified"] is True
    assert figures["targets"] == {"appends_per_s": 20_000, "verify_records_per_s": 100_000}
    assert figures["appends_per_s"] > 0 and figures["verify_records_per_s"] > 0 and figures["db_bytes"] > 0


# ----------------------------------------------------------------------------- retention: archive, prune


def _days_before_record(i: float) -> str:
    """--older-than DAYS putting the cut-off at _draft(i)'s time (records are a minute apart)."""
    return str((time.time() - (EPOCH + i * 60)) / 86_400)


def _archives(state: Path) -> list[Path]:
    return sorted((state / "controller" / "archive").glob("*.jsonl"))


def test_archive_then_verify_reads_archives_and_live_store_as_one_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Records 1-7 are old, the newest checkpoint among them is at 5: 1-5 go to a file, verify says where each is."""
    make_trail(tmp_path)  # 12 records, checkpoints at 5, 10 and 12
    code, out, _ = run(
        capsys, "audit", "archive", "--state-dir", str(tmp_path), "--older-than", _days_before_record(7.5)
    )
    assert code == 0, out
    assert out.startswith("archived records 1-5 (5 records, 1 checkpoint, from 2026-01-01T00:01:00.000Z to ")
    assert "the live store now starts at seq 6" in out
    assert [p.name for p in _archives(tmp_path)] == ["audit-000000000001-000000000005.jsonl"]
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 0, out
    assert "audit-000000000001-000000000005.jsonl: seq 1-5 verified (5 records, 1 checkpoint" in out
    assert "12 records verified, chain intact (seq 1-12; seq 1-5 in 1 archive, seq 6-12 live)" in out
    assert "signed: records 1-12 by 3 checkpoints" in out and "only the chain: none" in out
    code, out, _ = run(capsys, "audit", "archive", "--state-dir", str(tmp_path), "--older-than", "0")
    assert code == 0 and out.startswith("archived records 6-12 (7 records, 2 checkpoints,")
    code, out, _ = run(capsys, "audit", "archive", "--state-dir", str(tmp_path), "--older-than", "0")
    assert code == 0 and out.startswith("nothing to archive: no signed span of ")
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 0 and "(seq 1-12; seq 1-12 in 2 archives, none live)" in out
    code, out, _ = run(capsys, "audit", "query", "--state-dir", str(tmp_path))
    assert (code, out) == (0, "")


def test_verify_names_an_edited_or_missing_archive_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One line, exit 1: the file, the line and the record; or the file that is gone."""
    make_trail(tmp_path)
    run(capsys, "audit", "archive", "--state-dir", str(tmp_path), "--older-than", _days_before_record(7.5))
    (archive,) = _archives(tmp_path)
    archive.write_text(archive.read_text().replace("decision 3", "decision 30"))
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 1 and out.count("\n") == 1
    assert f"FAILED at archive {archive.name} line 5: chain broken: record seq 3 (id " in out and ": edited:" in out
    assert "(2 records before it verified)" in out
    archive.unlink()
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 1 and f"FAILED at archive {archive.name}: archive file missing: no file {archive}" in out


def test_verify_archive_checks_one_file_on_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An auditor's copy with the public key; a tampered copy fails naming the line."""
    make_trail(tmp_path)
    run(capsys, "audit", "archive", "--state-dir", str(tmp_path), "--older-than", "0")
    (archive,) = _archives(tmp_path)
    code, out, _ = run(capsys, "audit", "verify", "--archive", str(archive))  # the key beside archive/
    assert code == 0, out
    assert f"archive {archive}: 12 records verified, chain intact (seq 1-12), signed through seq 12 by 3" in out
    assert "starts from prev_hash GENESIS" in out
    code, out, _ = run(capsys, "audit", "verify", "--archive", str(archive), "--state-dir", str(tmp_path))
    assert code == 0 and f"(as {tmp_path} lists it)" in out
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    copy = auditor / archive.name
    lines = archive.read_text().splitlines(keepends=True)
    copy.write_text("".join(lines[:6] + lines[7:]))  # header, 3 checkpoints, records 1, 2: record 3 deleted
    public = str(tmp_path / "controller" / PUBLIC_KEY_FILE)
    code, out, _ = run(capsys, "audit", "verify", "--archive", str(copy), "--public-key", public)
    assert code == 1 and f"archive {copy}: FAILED at line 7: chain broken: record seq 3 (id " in out
    assert "missing" in out


def test_archive_refuses_a_segment_that_does_not_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 naming the record; nothing is deleted."""
    db = make_trail(tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE audit_records SET outcome = 'APPLIED' WHERE seq = 2")
    conn.close()
    code, out, _ = run(capsys, "audit", "archive", "--state-dir", str(tmp_path), "--older-than", "0")
    assert code == 1 and "archive REFUSED: refusing to archive records 1-12: " in out and "record seq 2" in out
    assert _archives(tmp_path) == []


def test_prune_deletes_only_archives_past_retention_and_verify_starts_after_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Within the default 7 years nothing goes; with 1 day the archive goes and the kept chain starts at 6."""
    make_trail(tmp_path)
    run(capsys, "audit", "archive", "--state-dir", str(tmp_path), "--older-than", _days_before_record(7.5))
    code, out, _ = run(capsys, "audit", "prune", "--state-dir", str(tmp_path))
    assert code == 0 and out.startswith("nothing to prune: the oldest archive, audit-000000000001-000000000005.jsonl")
    assert "kept for 2555 days" in out
    code, out, _ = run(capsys, "audit", "prune", "--state-dir", str(tmp_path), "--retention-days", "1")
    assert code == 0 and "pruned " in out and "(records 1-5, newest 2026-01-01T00:05:00.000Z" in out
    assert "the kept chain now starts at seq 6" in out and _archives(tmp_path) == []
    code, out, _ = run(capsys, "audit", "verify", "--state-dir", str(tmp_path))
    assert code == 0, out
    assert "pruned: records 1-5 (1 archive past retention" in out
    assert "7 records verified, chain intact (seq 6-12; none live)" not in out
    assert "7 records verified, chain intact (seq 6-12; seq 6-12 live)" in out
    assert "signed: records 6-12 by 2 checkpoints" in out


def test_verify_needs_a_state_dir_or_an_archive_and_query_help_points_to_the_archives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input is exit 2; --help of query and export says where archived records are."""
    code, _, err = run(capsys, "audit", "verify")
    assert code == 2 and "give --state-dir DIR" in err
    for command in ("query", "export"):
        with pytest.raises(SystemExit):
            main(["audit", command, "--help"])
        assert "archive files" in capsys.readouterr().out


def test_every_audit_command_takes_a_state_dir_or_a_postgresql_url_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--help names --db URL; giving both, or a --db that is not a URL, is one line and exit 2."""
    make_trail(tmp_path)
    for command in ("verify", "query", "export", "archive", "prune"):
        with pytest.raises(SystemExit):
            main(["audit", command, "--help"])
        assert "postgresql://user@host:port/dbname" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["controller", "--help"])
    assert "--audit-db URL" in capsys.readouterr().out
    url = "postgresql://rrm@127.0.0.1:1/audit"
    code, _, err = run(capsys, "audit", "query", "--state-dir", str(tmp_path), "--db", url)
    assert code == 2 and err.count("\n") == 1 and "give --state-dir DIR or --db URL, not both" in err
    code, _, err = run(
        capsys, "audit", "export", "--db", str(tmp_path / "controller" / AUDIT_DB_FILE), "--format", "csv"
    )
    assert code == 2 and "--db takes a postgresql://user@host:port/dbname URL" in err
