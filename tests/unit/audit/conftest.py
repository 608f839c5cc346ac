"""Fixtures of the audit trail tests: a virtual clock and the trail's file in a fresh state dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from rrm.clock import VirtualClock
from tests.unit.audit.support import EPOCH


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(EPOCH)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "controller" / "audit.db"


@pytest.fixture
def archive_dir(db: Path) -> Path:
    """archive/ beside audit.db (the PostgreSQL run of these cases gives a tmp folder)."""
    return db.parent / "archive"
