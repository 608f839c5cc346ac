"""Figures the HIL tests measure, and the `rrm hil run` report built from them.

Tests record figures through the `figures` fixture; with RRM_HIL_RESULTS set, each test's figures and
its outcome are appended to that file as JSON lines, and `build_report` turns the lines into
{"tests": [{"name", "outcome", "figures"}], "figures": {...}} with the on-air figures the HIL issue
defines gathered over all tests. Figures are reported, never asserted on for speed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

RESULTS_ENV = "RRM_HIL_RESULTS"
LIST_FIGURES = ("radar_to_agent_channel_ms", "channel_move_time_ms", "closing_airtime_ms", "detection_to_csa_ms")
COUNT_FIGURES = ("frames_on_nop_channel",)

Figure = float | int | str


class Figures:
    """One test's measured figures: `add` appends to a list (repeatable measurements), `set` a single value."""

    def __init__(self) -> None:
        self.values: dict[str, Figure | list[Figure]] = {}

    def add(self, name: str, value: float) -> None:
        current = self.values.setdefault(name, [])
        assert isinstance(current, list), f"figure {name} was set as a single value"
        current.append(round(value, 3))

    def set(self, name: str, value: Figure) -> None:
        self.values[name] = round(value, 3) if isinstance(value, float) else value


def append_record(record: dict[str, object], path: str | None = None) -> None:
    """Append one JSON line to the results file named by RRM_HIL_RESULTS (no-op when unset)."""
    target = path or os.environ.get(RESULTS_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def read_records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_report(records: Iterable[dict[str, object]]) -> dict[str, object]:
    """The HIL report: one entry per test (in run order) and the issue's figures over all tests."""
    tests: dict[str, dict[str, object]] = {}
    for record in records:
        name = str(record["name"])
        entry = tests.setdefault(name, {"name": name, "outcome": "unknown", "figures": {}})
        if "outcome" in record:
            entry["outcome"] = record["outcome"]
        if isinstance(record.get("figures"), dict):
            entry["figures"] = record["figures"]
    totals: dict[str, object] = {name: [] for name in LIST_FIGURES}
    totals.update(dict.fromkeys(COUNT_FIGURES, 0))
    for entry in tests.values():
        figures = entry["figures"]
        assert isinstance(figures, dict)
        for name in LIST_FIGURES:
            value = figures.get(name, [])
            bucket = totals[name]
            assert isinstance(bucket, list)
            bucket.extend(value if isinstance(value, list) else [value])
        for name in COUNT_FIGURES:
            value = figures.get(name, 0)
            count = totals[name]
            assert isinstance(count, int)
            totals[name] = count + (sum(value) if isinstance(value, list) else int(value))
    return {"tests": list(tests.values()), "figures": totals}
