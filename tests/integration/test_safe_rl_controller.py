"""`rrm controller --slow-loop safe_rl --slow-loop-model MODEL`: a running controller plans with a trained model.

The model file's held-out check decides whether its learned plans may go out at all
(controller/slow_loop/held_out_check.py); `rrm plan --dry-run` shows the decision and why.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from controller.operator_requests import OperatorRequests, RequestKind, RequestState
from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.held_out_check import HeldOutCheck
from controller.slow_loop.move_features import MOVE_FEATURES, N_MOVE_FEATURES, N_STATE_FEATURES
from rrm.cli.main import main
from rrm.sqlite_files import open_database
from tests.integration.conftest import Site

pytestmark = pytest.mark.integration

PASSED = HeldOutCheck((63.3, 80.1, 40.3, 96.5), deployed=4)
FAILED = HeldOutCheck((-42.1, -51.1, 8.4, 15.8), deployed=4)


def _width_lover(path: Path, check: HeldOutCheck | None) -> Path:
    """A model that values each doubling of a width at +20, which the heuristic's plans here never make."""
    weights = np.zeros(N_MOVE_FEATURES)
    weights[MOVE_FEATURES.index("width_log2_ratio")] = 20.0
    ConservativeQ(
        state_weights=np.zeros(N_STATE_FEATURES),
        move_weights=weights,
        move_scale=np.ones(N_MOVE_FEATURES),
        move_precision=np.eye(N_MOVE_FEATURES),
        residual_std=0.0,
        pessimism=1.0,
        gamma=0.5,
        trained_on="test",
        held_out_check=check,
    ).save(path)
    return path


async def _dry_run(site: Site, model: Path) -> dict[str, object]:
    controller = await site.start_connected(
        replace(site.controller_settings(), slow_loop="safe_rl", slow_loop_model=model)
    )
    await site.advance(21)
    conn = open_database(site.state / "controller" / "controller.db")
    try:
        requests = OperatorRequests(conn)
        request_id = requests.submit(RequestKind.PLAN, {"site": "default", "dry_run": True}, "alice", site.clock.now())
    finally:
        conn.close()
    assert controller.pipeline is not None
    for _ in range(30):
        answer = controller.pipeline.requests.get(request_id)
        if answer is not None and answer.state in (RequestState.DONE, RequestState.FAILED):
            assert answer.state is RequestState.DONE, answer.result
            plan = answer.result["plan"]
            assert isinstance(plan, dict)
            return plan
        await site.advance(1)
    raise AssertionError("the dry run was not answered within 30 simulated seconds")


async def test_a_model_that_passed_its_check_deploys_learned_moves(site: Site, tmp_path: Path) -> None:
    plan = await _dry_run(site, _width_lover(tmp_path / "m.npz", PASSED))
    assert plan["source"] == "safe_rl"
    assert str(plan["reason"]).startswith("learned plan deployed"), plan["reason"]


@pytest.mark.parametrize("check", [FAILED, None])
async def test_a_model_without_a_passed_check_makes_the_heuristic_plan_and_says_why(
    site: Site, tmp_path: Path, check: HeldOutCheck | None
) -> None:
    plan = await _dry_run(site, _width_lover(tmp_path / "m.npz", check))
    reason = str(plan["reason"])
    assert plan["source"] == "safe_rl"
    assert reason.startswith("kept the heuristic plan") and "held-out check" in reason, reason


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--slow-loop", "safe_rl"], "--slow-loop safe_rl needs --slow-loop-model MODEL"),
        (["--slow-loop-model", "{model}"], "--slow-loop-model is safe_rl's model; --slow-loop is 'heuristic'"),
        (["--slow-loop", "safe_rl", "--slow-loop-model", "{missing}"], "not a slow-loop model file"),
        (["--slow-loop", "safe_rl", "--slow-loop-model", "{junk}"], "not a slow-loop model file"),
    ],
)
def test_the_controller_refuses_a_missing_or_unusable_model_before_it_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    model = _width_lover(tmp_path / "m.npz", PASSED)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model")
    paths = {"model": str(model), "missing": str(tmp_path / "none.npz"), "junk": str(junk)}
    argv = ["controller", "--insecure", "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "s")]
    assert main(argv + [a.format(**paths) for a in extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not (tmp_path / "s" / "controller.db").exists()
