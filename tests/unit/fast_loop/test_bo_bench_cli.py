from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rrm.bench.bo_bench import add_bench_parser

pytestmark = pytest.mark.unit


def test_rrm_bench_bo_writes_ask_tell_and_iteration_figures_per_size(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="rrm bench")
    add_bench_parser(parser.add_subparsers(dest="bench_command", required=True))
    out = tmp_path / "bo.json"
    ns = parser.parse_args(["bo", "--iterations", "2", "--no-quality", "--json", str(out)])
    assert ns.handler(ns) == 0
    figures = json.loads(out.read_text())
    for key in ("ask_ms", "tell_ms", "iteration_ms"):
        assert set(figures[key]) == {"10", "50", "200"}
        assert all(v >= 0 for v in figures[key].values())
