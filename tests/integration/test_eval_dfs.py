"""`rrm eval dfs`: the agent's radar landing against hostapd's random one, on a shipped scenario."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from drivers.sim.dfs import DfsMemory
from radio_domain.regulatory import Region
from rrm.cli.errors import UsageError
from rrm.cli.scenario_resolution import resolve_scenario
from rrm.evaluation.dfs_moves import DfsEvalOptions, evaluate_dfs_moves, hostapd_radar_landing

pytestmark = pytest.mark.integration

POLICY_KEYS = {"moves", "mean_qoe_after", "dark_moves"}


def rrm(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rrm.cli.main", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_small_office_compares_both_rules_and_ours_is_never_dark_when_avoidable() -> None:
    """Both rules move on every placement, QoE stays in [0, 1], ours never lands on a CAC it could avoid."""
    scenario, name = resolve_scenario("small_office")
    evaluation = evaluate_dfs_moves(scenario, name, DfsEvalOptions(trials=2, window_s=60.0))
    figures = evaluation.figures()
    tried = figures["dfs_channels_tried"]
    assert isinstance(tried, int) and tried > 0, figures
    for policy, trials in (("ours", 1), ("hostapd_random", 2)):
        tally = figures[policy]
        assert isinstance(tally, dict), f"{policy}: {tally!r}"
        assert set(tally) == POLICY_KEYS, f"{policy} keys: {sorted(tally)}"
        assert tally["moves"] == trials * tried, f"{policy}: {tally}, {tried} placements"
        assert 0.0 <= tally["mean_qoe_after"] <= 1.0, f"{policy} QoE out of range: {tally}"
        assert 0 <= tally["dark_moves"] <= tally["moves"], f"{policy}: {tally}"
    assert (figures["scenario"], figures["trials"], figures["window_s"]) == ("small_office", 2, 60.0)
    assert isinstance(figures["ours_not_worse"], bool)
    for result in evaluation.results:
        assert 0.0 <= result.ours.mean_qoe <= 1.0, result
        assert all(0.0 <= move.mean_qoe <= 1.0 for move in result.hostapd), result
        assert not result.ours_dark_avoidably, f"ours went dark although a CAC-free channel was left: {result}"
    assert figures["never_dark_when_avoidable"] is True, figures["ours_avoidable_dark"]


@pytest.mark.parametrize(
    ("region", "expected"),
    [(Region.FCC, {(36, 80), (149, 80)}), (Region.ETSI, {(36, 80), (52, 80), (116, 80)})],
)
def test_hostapd_rule_spreads_over_available_channels_or_any_in_etsi(
    region: Region, expected: set[tuple[int, int]]
) -> None:
    """After radar on 100/80: FCC picks only CAC-free chandefs, ETSI any chandef out of non-occupancy."""
    memory = DfsMemory()
    memory.mark_cleared([100, 104, 108, 112])
    memory.mark_radar([100, 104, 108, 112], 0.0)
    rng = np.random.default_rng(1)
    landings = {hostapd_radar_landing(region, 80, memory, 1.0, rng) for _ in range(200)}
    assert landings == expected, f"{region.value}: {landings}"


def test_zero_trials_is_refused_in_one_line() -> None:
    """`--trials 0` exits 2 with one error line naming the flag."""
    done = rrm("eval", "dfs", "--trials", "0")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "rrm eval: error: --trials must be at least 1, not 0", done.stderr
    assert done.stdout == ""


def test_an_unknown_scenario_is_refused_in_one_line() -> None:
    """An unknown scenario name gives resolve_scenario's one-line error, as `rrm demo --scenario nope` does."""
    with pytest.raises(UsageError) as expected:
        resolve_scenario("nope")
    done = rrm("eval", "dfs", "--scenario", "nope")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"rrm eval: error: {expected.value}", done.stderr
