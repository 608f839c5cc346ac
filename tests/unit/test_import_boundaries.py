"""The controller and the edge agent run on live networks: they never import the simulator or the evaluations.

The simulator (drivers/sim) stands in for hardware in the demo, evaluations and tests; the
evaluations (rrm/evaluation) train and score the loops on it. A controller module that imports
either would ship the simulator into a production decision path (the slow loop's gymnasium env
once lived in controller/slow_loop and pulled drivers.sim in with it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("drivers.sim", "rrm.evaluation", "rrm.demo")
GUARDED = ("controller", "edge_agent")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.append(node.module)
    return names


def test_live_packages_never_import_the_simulator_or_the_evaluations() -> None:
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in GUARDED
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offending == []
    assert any((ROOT / p).is_dir() for p in GUARDED)  # the walk saw the packages
