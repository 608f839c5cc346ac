"""The agent's DFS memory survives restarts: non-occupancy, CAC clearance, radar history."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.dfs_state import RADAR_HISTORY_S, DfsState
from radio_domain.regulatory import NOP_SECONDS
from rrm.sqlite_files import open_database

pytestmark = pytest.mark.unit

T0 = 1_767_225_600.0


def test_non_occupancy_clearance_and_history_survive_a_restart(tmp_path: Path) -> None:
    """What one agent process learned, the next one knows."""
    state = DfsState(open_database(tmp_path / "a.db"), T0)
    state.record_cac_completed("ap-1/5g", [100, 104], T0)
    state.record_radar("ap-1/5g", [52, 56], T0 + 10, T0 + 10 + NOP_SECONDS)
    reopened = DfsState(open_database(tmp_path / "a.db"), T0 + 60)
    assert reopened.blocked("ap-1/5g", T0 + 60) == {52: T0 + 10 + NOP_SECONDS, 56: T0 + 10 + NOP_SECONDS}
    assert reopened.cleared("ap-1/5g") == {100, 104}
    assert reopened.radar_hits("ap-1/5g", since=T0) == {52: 1, 56: 1}
    assert reopened.blocked("ap-2/5g", T0 + 60) == {}


def test_the_block_ends_after_the_non_occupancy_period_and_never_earlier(tmp_path: Path) -> None:
    """30 minutes after the hit the channel is free again; a second hit extends the block."""
    state = DfsState(open_database(tmp_path / "a.db"), T0)
    state.record_radar("ap-1/5g", [52], T0, T0 + NOP_SECONDS)
    state.record_radar("ap-1/5g", [52], T0 + 5, T0 + 100)  # a short claim never shortens a block
    assert 52 in state.blocked("ap-1/5g", T0 + NOP_SECONDS - 1)
    assert state.blocked("ap-1/5g", T0 + NOP_SECONDS) == {}


def test_radar_takes_a_channels_clearance_away(tmp_path: Path) -> None:
    """A cleared channel hit by radar needs a new CAC after its non-occupancy period."""
    state = DfsState(open_database(tmp_path / "a.db"), T0)
    state.record_cac_completed("ap-1/5g", [100, 104], T0)
    state.record_radar("ap-1/5g", [100, 104], T0 + 1, T0 + 1 + NOP_SECONDS)
    assert state.cleared("ap-1/5g") == frozenset()
    assert DfsState(open_database(tmp_path / "a.db"), T0 + 2).cleared("ap-1/5g") == frozenset()


def test_radar_history_is_bounded_in_age(tmp_path: Path) -> None:
    """Hits older than the history window are forgotten, in memory and on disk."""
    state = DfsState(open_database(tmp_path / "a.db"), T0)
    state.record_radar("ap-1/5g", [52], T0, T0 + NOP_SECONDS)
    later = T0 + RADAR_HISTORY_S + 10
    state.record_radar("ap-1/5g", [100], later, later + NOP_SECONDS)
    assert state.radar_hits("ap-1/5g", since=0.0) == {100: 1}
    assert DfsState(open_database(tmp_path / "a.db"), later).radar_hits("ap-1/5g", since=0.0) == {100: 1}
