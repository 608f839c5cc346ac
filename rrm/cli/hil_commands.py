"""`rrm hil run` and `rrm hil build`: the hardware-in-the-loop suite (QEMU + mac80211_hwsim, or lab APs).

`rrm hil build` builds (or finds cached) the guest kernel and initramfs from Debian packages.
`rrm hil run --target hwsim [--json REPORT]` runs `pytest hil_tests` and writes the report
{"tests": [{"name", "outcome", "figures"}], "figures": {"radar_to_agent_channel_ms": [...],
"channel_move_time_ms": [...], "closing_airtime_ms": [...], "frames_on_nop_channel": N}}; the tests
append their figures and outcomes to a results file the report is built from (hil_tests/rig/figures.py).
`--target lab:FILE [--lab-ap NAME]` runs the `lab_compatible` tests on a lab AP over SSH; the inventory
is checked first, so a bad one is a usage error naming the file and key (hil_tests/rig/lab_inventory.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rrm.cli.errors import UsageError


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add `rrm hil` with `run` and `build`; returns its subparsers so other `rrm hil ...` commands can join."""
    hil = sub.add_parser("hil", help="hardware-in-the-loop suite: build the QEMU guest, run the HIL tests")
    hil_sub = hil.add_subparsers(dest="hil_command", required=True, metavar="HIL_COMMAND")
    run = hil_sub.add_parser("run", help="run the HIL tests (pytest hil_tests) and report their figures")
    run.add_argument("--target", default="hwsim", help="hwsim (default: QEMU + mac80211_hwsim) or lab:FILE")
    run.add_argument("--lab-ap", metavar="NAME", help="with --target lab:FILE: the inventory's AP to use")
    run.add_argument("--json", metavar="REPORT", type=Path, help="write the JSON report to this file")
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests matching this pytest -k expression")
    run.add_argument("--pytest-arg", action="append", default=[], metavar="ARG", help="extra pytest argument")
    run.set_defaults(handler=_run)
    from rrm.cli.radar_trace_commands import add_detect_parser

    add_detect_parser(hil_sub)
    build = hil_sub.add_parser("build", help="build (or reuse the cached) HIL guest kernel and initramfs")
    build.add_argument("--cache", type=Path, help="cache folder (default: hil_tests/.build in the repository)")
    build.set_defaults(handler=_build)
    return hil_sub


def _repo_root() -> Path:
    import hil_tests

    return Path(hil_tests.__file__).resolve().parent.parent


def _run(ns: argparse.Namespace) -> int:
    from hil_tests.rig.figures import RESULTS_ENV, build_report, read_records
    from hil_tests.rig.target import TargetSpec, TargetUnavailable, check_lab_target, parse_target

    try:
        target = parse_target(ns.target)
        if target.lab_file is not None:  # pytest runs in the repository: pass the inventory's full path
            target = TargetSpec("lab", target.lab_file.resolve())
            check_lab_target(target).ap(ns.lab_ap)
    except (ValueError, TargetUnavailable) as exc:  # LabInventoryError is a ValueError
        raise UsageError(str(exc)) from None
    repo = _repo_root()
    argv = [sys.executable, "-m", "pytest", "hil_tests", "--target", str(target), *ns.pytest_arg]
    if ns.lab_ap:
        argv += ["--lab-ap", ns.lab_ap]
    if ns.keyword:
        argv += ["-k", ns.keyword]
    with tempfile.TemporaryDirectory(prefix="rrm-hil-") as tmp:
        results = Path(tmp) / "results.jsonl"
        started = time.monotonic()
        rc = subprocess.run(argv, cwd=repo, env={**os.environ, RESULTS_ENV: str(results)}, check=False).returncode
        wall_s = time.monotonic() - started
        report = build_report(read_records(results))
    report = {"target": str(target), "wall_time_s": round(wall_s, 1), "pytest_exit_status": rc, **report}
    if ns.json:
        ns.json.write_text(json.dumps(report, indent=2) + "\n")
    print(_summary(report))
    return 0 if rc == 0 else 1


def _summary(report: dict[str, object]) -> str:
    tests = report["tests"]
    assert isinstance(tests, list)
    outcomes: dict[str, int] = {}
    for test in tests:
        outcomes[test["outcome"]] = outcomes.get(test["outcome"], 0) + 1
    counted = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "no tests"
    lines = [f"rrm hil run --target {report['target']}: {counted} in {report['wall_time_s']} s"]
    figures = report["figures"]
    assert isinstance(figures, dict)
    lines += [f"  {name}: {value}" for name, value in figures.items()]
    return "\n".join(lines)


def _build(ns: argparse.Namespace) -> int:
    from hil_tests.rig.guest_build import DEFAULT_CACHE, GuestBuildError, build_guest

    started = time.monotonic()
    try:
        image = build_guest(ns.cache or DEFAULT_CACHE)
    except GuestBuildError as exc:
        raise UsageError(str(exc)) from None
    print(f"HIL guest {image.kernel_release} ready in {time.monotonic() - started:.1f} s")
    print(f"  kernel    {image.vmlinux}")
    print(f"  initramfs {image.initramfs} (modules: {' '.join(image.modules_loaded)})")
    print(f"  modules   {image.modules_dir}")
    return 0
