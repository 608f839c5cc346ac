"""Opening the embedded SQLite databases the same way everywhere."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StateFileError(Exception):
    """A state database cannot be opened; the message names the file."""


def open_database(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (creating) a SQLite database in WAL mode.

    synchronous=NORMAL in WAL mode survives process crashes and restarts without losing a
    committed transaction; only a power cut can lose the last few commits (never integrity).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=check_same_thread, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
    except (OSError, sqlite3.Error) as exc:
        raise StateFileError(f"{path}: cannot open the database: {exc}") from None
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Several writes committed as one (one commit instead of one each); joins a transaction under way."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
