"""The controller archives its own audit trail once a day when configured (issue 4 item 10)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from controller.app import ControllerApp, ControllerSettings
from controller.audit_chain import AuditDraft
from rrm.clock import VirtualClock
from tests.integration.conftest import EPOCH, eventually

pytestmark = pytest.mark.integration

DAY_S = 24 * 3600.0


async def test_the_controller_archives_old_signed_spans_and_the_whole_chain_still_verifies(tmp_path: Path) -> None:
    clock = VirtualClock(start=EPOCH)
    settings = ControllerSettings(
        state_dir=tmp_path / "controller",
        listen="127.0.0.1:0",
        tick_interval_s=60.0,
        audit_archive_after_days=1.0,
    )
    app = ControllerApp(settings, clock)
    await app.start()
    try:
        assert app.audit is not None and app.retention is not None
        for k in range(25):
            app.audit.append(
                AuditDraft(timestamp_ms=round(EPOCH * 1000) + k, actor="test", record_type="note", reason_code="OLD")
            )
        app.audit.flush()  # a signed checkpoint over the old records
        await asyncio.sleep(0.05)  # the tick loop is asleep on the virtual clock
        clock.advance(60)  # the first tick archives nothing: nothing is a day old yet
        await eventually(lambda: app.retention is not None and app.retention.last_run_s is not None, "first run")
        assert app.retention.archived == []
        app.audit.append(AuditDraft(timestamp_ms=round((EPOCH + 2 * DAY_S) * 1000), actor="test",
                                    record_type="note", reason_code="NEW"))  # fmt: skip
        await asyncio.sleep(0.05)
        clock.advance(2 * DAY_S)
        await eventually(lambda: app.retention is not None and bool(app.retention.archived), "the daily archive run")
        (segment,) = app.retention.archived
        assert segment.first_seq == 1
        assert segment.last_seq >= 25
        assert (settings.state_dir / "archive" / segment.file_name).is_file()
    finally:
        await app.stop(grace_s=0.1)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "rrm.cli.main", "audit", "verify", "--state-dir", str(settings.state_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "archive" in done.stdout
