"""The signed audit trail on a real PostgreSQL server: the SQLite cases again, the CLI, the controller.

One server for the module (tests/peers/postgres_peer.py), a fresh database per test. Every case of
tests/unit/audit that takes a trail (``db``) runs here again, unchanged, against a PostgreSQL URL:
append, checkpoints, HMAC mode, resuming, group commit, queries, exports, archive and prune, and
every kind of tampering (edited, deleted, inserted, reordered records, forged or replaced
checkpoints, truncated tails) named at the first bad record. Tampering uses psycopg directly, as
someone with write access to the database would. The password reaches libpq through a passfile
(``PGPASSFILE``), never through a URL, and no message shows it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from itertools import count
from pathlib import Path

import pytest

from controller.app import ControllerSettings
from controller.audit_chain import CHECKPOINT_COLUMNS, RECORD_COLUMNS
from controller.audit_keys import PUBLIC_KEY_FILE, load_or_create_signing_key
from controller.audit_trail import AUDIT_DB_FILE, AuditTrailError, AuditTrailReader
from controller.audit_verify import Problem
from controller.guardrails import Proposal
from radio_domain.radio import ConfigChange
from rrm.cli.main import main
from rrm.clock import VirtualClock
from tests.integration.conftest import Site, eventually
from tests.peers.postgres_peer import PostgresServer, PostgresUnavailable, running_postgres
from tests.unit.audit import test_audit_archive, test_audit_chain, test_audit_trail
from tests.unit.audit.support import EPOCH, INSERT, KEY, UNNEGATE, bad, draft, open_trail, rows, tamper, verify, write

pytestmark = pytest.mark.integration

# The shared cases that only make sense on SQLite (each says why in its own module).
SQLITE_ONLY = frozenset(
    {
        "test_a_record_with_a_fractional_seq_slipped_between_two_is_detected",  # a PostgreSQL BIGINT refuses 12.5
        "test_the_radio_query_uses_the_ap_index",  # reads SQLite's EXPLAIN QUERY PLAN
        "test_opening_a_missing_or_foreign_file_is_a_clear_error",  # files; the URL cases are below
    }
)


def _shared_cases() -> dict[str, Callable[..., object]]:
    """Every test of tests/unit/audit that takes the ``db`` fixture, to be collected here too."""
    cases: dict[str, Callable[..., object]] = {}
    for module in (test_audit_chain, test_audit_trail, test_audit_archive):
        for name, case in vars(module).items():
            shared = name.startswith("test_") and callable(case) and name not in SQLITE_ONLY
            if shared and "db" in inspect.signature(case).parameters:
                cases[name] = case
    return cases


globals().update(_shared_cases())


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One server for the module; the client finds its password in the server's passfile."""
    pytest.importorskip("psycopg", reason="psycopg (the controller extra) is not installed")
    try:
        with running_postgres() as server, pytest.MonkeyPatch.context() as env:
            env.setenv("PGPASSFILE", str(server.passfile))
            env.delenv("PGPASSWORD", raising=False)
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL is not available here: {exc}")


_databases = count(1)


@pytest.fixture
def db(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database: its URL (no password in it)."""
    name = f"audit_{next(_databases)}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(EPOCH)


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    return tmp_path / "archive"


# ----------------------------------------------------------------------------- the store


def test_the_schema_is_the_same_on_both_backends(db: str, clock: VirtualClock, tmp_path: Path) -> None:
    """The same tables with the same columns in the same order, on PostgreSQL and on SQLite."""
    write(db, clock, 1)
    sqlite_db = tmp_path / AUDIT_DB_FILE
    write(sqlite_db, clock, 1)
    for table, columns in (("audit_records", RECORD_COLUMNS), ("audit_checkpoints", CHECKPOINT_COLUMNS)):
        in_pg = rows(
            db,
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        in_sqlite = rows(sqlite_db, f"SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
        assert [c for (c,) in in_pg] == [c for (c,) in in_sqlite] == list(columns)


def test_a_trail_copied_from_sqlite_to_postgresql_verifies_there(db: str, clock: VirtualClock, tmp_path: Path) -> None:
    """Same schema, same stored text: the rows of a SQLite trail verify on PostgreSQL, tampering included."""
    sqlite_db = tmp_path / AUDIT_DB_FILE
    write(sqlite_db, clock, 25)
    open_trail(db, clock).close()  # the tables, empty
    records = rows(sqlite_db, f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records ORDER BY seq")
    checkpoints = rows(sqlite_db, f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM audit_checkpoints")
    insert_checkpoint = f"INSERT INTO audit_checkpoints VALUES ({', '.join('?' * len(CHECKPOINT_COLUMNS))})"
    tamper(db, *((INSERT, tuple(r)) for r in records), *((insert_checkpoint, tuple(c)) for c in checkpoints))
    assert verify(db) == verify(sqlite_db) and verify(db).records == 25
    tamper(db, ("UPDATE audit_records SET approver = 'mallory' WHERE seq = 9", ()))
    assert bad(verify(db)) == (9, Problem.EDITED)


def test_text_that_copy_must_escape_is_stored_as_written(db: str, clock: VirtualClock) -> None:
    """Tabs, newlines, backslashes and non-ASCII go through COPY unchanged, so the chain still verifies."""
    odd = "tab\there\nnew line \\N back\\slash \\. é 한"
    with open_trail(db, clock) as trail:
        trail.append(draft(1, reason=odd, inputs={"note": odd}))
    with AuditTrailReader.open(db) as reader:
        (entry,) = reader.query()
    assert entry.reason == odd and entry.inputs == {"note": odd}
    assert verify(db).ok


def test_an_unknown_database_is_one_error_naming_the_url_without_its_password(
    postgres: PostgresServer, clock: VirtualClock
) -> None:
    """psycopg's error becomes AuditTrailError; a password written into the URL is never shown."""
    url = postgres.url("no_such_database")
    with pytest.raises(AuditTrailError, match=r'cannot open the audit database: .*"no_such_database" does not exist'):
        AuditTrailReader.open(url)
    secret = "hunter2-not-shown"
    with_password = url.replace("rrm@", f"rrm:{secret}@") + f"?password={secret}&sslmode=disable"
    with pytest.raises(AuditTrailError) as refused:
        open_trail(with_password, clock)
    message = str(refused.value)
    assert secret not in message and message.startswith(f"{url}?sslmode=disable: cannot open the audit trail: ")


def test_a_database_without_the_audit_tables_is_not_a_trail(db: str) -> None:
    """An empty database is not mistaken for an empty trail by the readers."""
    with pytest.raises(AuditTrailError, match="not an audit trail"):
        AuditTrailReader.open(db)


def test_a_server_that_is_gone_is_an_error_not_a_hang(postgres: PostgresServer) -> None:
    """A closed port: connection refused, at once (connect_timeout bounds a silent one)."""
    url = postgres.url("postgres").replace(f":{postgres.port}/", ":1/")
    with pytest.raises(AuditTrailError, match="cannot open the audit database"):
        AuditTrailReader.open(url)


# ----------------------------------------------------------------------------- rrm audit --db


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _keys(tmp_path: Path) -> str:
    """The public key file beside a signing key the tests sign with (KEY)."""
    from controller.audit_keys import public_key_pem

    path = tmp_path / PUBLIC_KEY_FILE
    path.write_bytes(public_key_pem(KEY.public_key()))
    return str(path)


def test_cli_verify_db_exits_0_for_a_whole_chain_and_1_naming_the_first_bad_record(
    db: str, clock: VirtualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rrm audit verify --db URL --public-key FILE`, as an auditor runs it."""
    entries = write(db, clock, 25)
    public = _keys(tmp_path)
    code, out, _ = _run(capsys, "audit", "verify", "--db", db, "--public-key", public)
    assert code == 0, out
    assert f"audit trail {db}: 25 records verified, chain intact (seq 1-25)" in out
    assert "signed: records 1-25 by 3 checkpoints" in out and "only the chain: none" in out
    tamper(
        db,
        ("UPDATE audit_records SET seq = -9 WHERE seq = 8", ()),
        ("UPDATE audit_records SET seq = -8 WHERE seq = 9", ()),
        UNNEGATE,
    )
    code, out, _ = _run(capsys, "audit", "verify", "--db", db, "--public-key", public)
    assert code == 1 and out.count("\n") == 1
    assert f"FAILED at record seq 8 (id {entries[8].record_id}): moved:" in out
    assert "7 records before it verified" in out


def test_cli_db_usage_errors_are_one_line_and_exit_2(
    db: str, clock: VirtualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exactly one of --state-dir and --db; --db needs a URL and the public key file."""
    write(db, clock, 3)
    public = _keys(tmp_path)
    cases = [
        (("verify", "--db", db), "with --db, give --public-key FILE"),
        (("verify", "--db", db, "--state-dir", str(tmp_path), "--public-key", public), "not both"),
        (("query", "--db", str(tmp_path / "audit.db")), "--db takes a postgresql://user@host:port/dbname URL"),
        (("query",), "give --state-dir DIR (the trail in a state directory) or --db URL"),
        (("archive", "--db", db, "--older-than", "0", "--public-key", public), "give --archive-dir DIR"),
    ]
    for args, message in cases:
        code, _, err = _run(capsys, "audit", *args)
        assert code == 2 and err.count("\n") == 1 and message in err, (args, err)
    gone = db.rsplit("/", 1)[0] + "/no_such_database"
    code, _, err = _run(capsys, "audit", "verify", "--db", gone, "--public-key", public)
    assert code == 2 and err.count("\n") == 1 and "no_such_database" in err and "does not exist" in err


def test_cli_query_and_export_read_the_database(
    db: str, clock: VirtualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same lines and files as from a state directory."""
    write(db, clock, 12)
    code, out, _ = _run(capsys, "audit", "query", "--db", db, "--ap", "ap-1", "--type", "refusal")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == ["#4", "#10"]
    out_file = tmp_path / "audit.jsonl"
    code, _, err = _run(capsys, "audit", "export", "--db", db, "--format", "jsonl", "--output", str(out_file))
    assert code == 0 and err == f"exported 12 records to {out_file}\n"
    assert [json.loads(line)["seq"] for line in out_file.read_text().splitlines()] == list(range(1, 13))
    code, out, _ = _run(capsys, "audit", "export", "--db", db, "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("seq,record_id,") and len(out.splitlines()) == 13


def test_cli_archive_prune_and_verify_with_an_archive_dir(
    db: str, clock: VirtualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Archives of a PostgreSQL trail are files in --archive-dir; verify needs it once there are some."""
    write(db, clock, 25)
    public, archives = _keys(tmp_path), str(tmp_path / "archive")
    code, out, _ = _run(
        capsys, "audit", "archive", "--db", db, "--older-than", "0", "--public-key", public, "--archive-dir", archives
    )
    assert code == 0 and out.startswith("archived records 1-25 (25 records, 3 checkpoints,"), out
    code, _, err = _run(capsys, "audit", "verify", "--db", db, "--public-key", public)
    assert code == 2 and "lists archive files: give --archive-dir DIR" in err
    code, out, _ = _run(capsys, "audit", "verify", "--db", db, "--public-key", public, "--archive-dir", archives)
    assert code == 0 and "(seq 1-25; seq 1-25 in 1 archive, none live)" in out, out
    code, out, _ = _run(capsys, "audit", "prune", "--db", db, "--archive-dir", archives, "--retention-days", "1")
    assert code == 0 and "the kept chain now starts at seq 26" in out, out
    code, out, _ = _run(capsys, "audit", "verify", "--db", db, "--public-key", public)
    assert code == 0 and "pruned: records 1-25" in out, out


# ----------------------------------------------------------------------------- the controller


@dataclass
class PostgresSite(Site):
    """The integration site, its controller writing the audit trail to PostgreSQL."""

    audit_db: str = ""

    def controller_settings(self, port: int = 0, site_policy: Path | None = None) -> ControllerSettings:
        return replace(super().controller_settings(port, site_policy), audit_db=self.audit_db)


@pytest.fixture
async def pg_site(pki: Path, tmp_path: Path, db: str) -> AsyncIterator[PostgresSite]:
    site = PostgresSite(pki=pki, state=tmp_path, audit_db=db)
    yield site
    await site.close()


async def test_the_controller_writes_its_trail_to_postgresql(
    pg_site: PostgresSite, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two lifetimes of `rrm controller --audit-db URL`: one chain in the database, none in the state dir."""
    site = pg_site
    controller = await site.start_controller()
    await site.start_agent("ap-1")
    await eventually(lambda: controller.registry.connected_count() == 1, "the agent connected")
    await site.advance(11)
    assert controller.pipeline is not None
    [verdict] = controller.pipeline.propose([Proposal("c1", "ap-1/5g", ConfigChange(channel=149), "FAST", "t", 0.1)])
    assert verdict.allowed
    await site.advance(3)
    await site.stop_agent("ap-1")
    await site.stop_controller()
    controller = await site.start_controller()
    assert controller.pipeline is not None
    controller.pipeline.propose([Proposal("c2", "ap-1/5g", ConfigChange(tx_power_dbm=14), "FAST", "t", 0.1)])
    await site.stop_controller()
    state = site.state / "controller"
    assert not (state / AUDIT_DB_FILE).exists()
    public = str(state / PUBLIC_KEY_FILE)
    load_or_create_signing_key(state)  # the key the controller made, unchanged
    code, out, _ = _run(capsys, "audit", "verify", "--db", site.audit_db, "--public-key", public)
    assert code == 0 and "chain intact" in out and "only the chain: none" in out, out
    code, out, _ = _run(capsys, "audit", "query", "--db", site.audit_db, "--change", "c1")
    assert code == 0 and "change_sent" in out, out
