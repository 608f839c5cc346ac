"""HIL suite fixtures: `--target`, one QEMU guest per session, a bench reset for every test, figures.

`bench` gives fresh hwsim radios in the labelled short-CAC test mode (most tests, seconds each);
`bench_real_regdb` gives them under the real signed regulatory.db (60 s CAC). After each test that used
either, an autouse fixture checks the rig's invariants (guest answering, no daemon died by itself) and
stops everything the test started. Tests that cannot run here skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil_tests.rig.figures import Figure, Figures, append_record
from hil_tests.rig.guest import Guest, RigSession
from hil_tests.rig.guest_build import GuestBuildError, build_guest
from hil_tests.rig.hwsim_ap import HwsimBench, short_cac
from hil_tests.rig.lab_bench import LabBench
from hil_tests.rig.lab_inventory import LabInventoryError
from hil_tests.rig.regulatory import Regulatory, RegulatoryMode
from hil_tests.rig.rrm_stack import HostController
from hil_tests.rig.target import DfsBench, TargetSpec, TargetUnavailable, check_lab_target, parse_target

_TARGET = pytest.StashKey[TargetSpec]()
_BENCH_USED = pytest.StashKey[DfsBench]()  # set by the bench fixtures, read after the test by the autouse one


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hardware-in-the-loop suite")
    group.addoption("--target", default="hwsim", help="hwsim (default: QEMU + mac80211_hwsim) or lab:FILE")
    group.addoption("--hil-cac-ms", type=int, default=2000, help="CAC of the short-CAC test mode (default 2000)")
    group.addoption("--hil-keep", action="store_true", help="keep the guest's work folder (logs, pcaps)")
    group.addoption("--lab-ap", metavar="NAME", help="with --target lab:FILE: the AP to use (default: the first)")


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[_TARGET] = spec = parse_target(config.getoption("--target"))
        if spec.kind == "lab":
            check_lab_target(spec)  # a bad inventory stops the run, naming the file and key
    except TargetUnavailable:
        pass  # no inventory file: the tests skip with that reason
    except (ValueError, LabInventoryError) as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A target's refusal inside a test (e.g. a lab AP without a monitor radio) skips it with the reason."""
    try:
        return (yield)
    except TargetUnavailable as exc:
        pytest.skip(f"{item.config.stash[_TARGET]}: {exc}")


@pytest.fixture(scope="session")
def hil_target(pytestconfig: pytest.Config) -> TargetSpec:
    spec = pytestconfig.stash[_TARGET]
    if spec.kind == "lab":
        try:
            check_lab_target(spec)
        except TargetUnavailable as exc:
            pytest.skip(str(exc))
    return spec


@pytest.fixture(scope="session")
def guest_session(hil_target: TargetSpec, pytestconfig: pytest.Config) -> Iterator[tuple[Guest, RigSession]]:
    if hil_target.kind == "lab":
        pytest.skip(f"needs the hwsim guest (QEMU); --target {hil_target} runs the lab_compatible tests only")
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("the HIL guest needs Linux and root (it shares the host root and runs hostapd as guest root)")
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    started = time.monotonic()
    try:
        image = build_guest()
    except GuestBuildError as exc:
        pytest.skip(f"the HIL guest cannot be built here: {exc}")
    build_s = time.monotonic() - started
    workdir = Path(tempfile.mkdtemp(prefix="hil-guest-"))
    guest = Guest(image, workdir)
    try:
        guest.start()
        yield guest, RigSession(build_s, guest.boot_seconds, image.kernel_release)
    finally:
        guest.close()
        if pytestconfig.getoption("--hil-keep"):
            print(f"\nHIL guest work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def guest(guest_session: tuple[Guest, RigSession]) -> Guest:
    return guest_session[0]


@pytest.fixture(scope="session")
def rig_session(guest_session: tuple[Guest, RigSession]) -> RigSession:
    return guest_session[1]


@pytest.fixture(scope="session")
def _hwsim_bench(guest: Guest) -> HwsimBench:
    return HwsimBench(guest)


@pytest.fixture(scope="session")
def _lab_bench(
    hil_target: TargetSpec, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabBench]:
    inventory = check_lab_target(hil_target)
    lab = LabBench(inventory, inventory.ap(pytestconfig.getoption("--lab-ap")), tmp_path_factory.mktemp("lab"))
    lab.open()
    try:
        yield lab
    finally:
        lab.close()


def _lab_bench_for(request: pytest.FixtureRequest) -> LabBench:
    """The lab bench, for tests marked `lab_compatible` (hostap's @remote_compatible); others skip."""
    if request.node.get_closest_marker("lab_compatible") is None:
        pytest.skip("not marked lab_compatible: it uses parts only the hwsim guest has")
    lab: LabBench = request.getfixturevalue("_lab_bench")
    return lab


@pytest.fixture
def bench(hil_target: TargetSpec, pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> DfsBench:
    """Fresh radios. hwsim: the TEST MODE short-CAC regulatory domain (CRDA stand-in, not regulatory.db).
    Lab: the AP's own regulatory domain, reset as far as its inventory allows."""
    chosen: DfsBench
    if hil_target.kind == "lab":
        chosen = _lab_bench_for(request)
        chosen.reset(chosen.regulatory)
    else:
        chosen = request.getfixturevalue("_hwsim_bench")
        chosen.reset(short_cac(pytestconfig.getoption("--hil-cac-ms")))
    request.node.stash[_BENCH_USED] = chosen
    return chosen


@pytest.fixture
def bench_real_regdb(hil_target: TargetSpec, request: pytest.FixtureRequest) -> DfsBench:
    """Fresh radios under the real signed regulatory.db (the kernel's 60 s CAC); a lab AP must run it too."""
    chosen: DfsBench
    if hil_target.kind == "lab":
        chosen = _lab_bench_for(request)
        if chosen.regulatory.mode is not RegulatoryMode.REAL_DB:
            pytest.skip(f"the lab AP runs {chosen.regulatory.label}, not the real signed regulatory.db")
        chosen.reset(chosen.regulatory)
    else:
        chosen = request.getfixturevalue("_hwsim_bench")
        chosen.reset(Regulatory())
    request.node.stash[_BENCH_USED] = chosen
    return chosen


@pytest.fixture(autouse=True)
def _check_and_reset_radios(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used a bench: check the rig's invariants, then stop what the test started."""
    yield
    bench = request.node.stash.get(_BENCH_USED, None)
    if bench is None:
        return
    problems = bench.problems()
    if bench.alive():
        bench.stop_all()
    if problems:
        pytest.fail("rig invariants broken after the test: " + "; ".join(problems))


@pytest.fixture
def controller(guest: Guest, tmp_path: Path) -> Iterator[HostController]:
    """`rrm controller` on the host, its state in the test's tmp_path, reachable from the guest by the relay."""
    started = HostController(tmp_path / "controller")
    guest.enable_network()
    started.reachable_from(guest)
    try:
        yield started
    finally:
        guest.partition()  # nothing left listening behind the relay
        started.stop()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """Measured figures of this test, written to the report (RRM_HIL_RESULTS) and the terminal summary."""
    recorded = Figures()
    yield recorded
    _figures_by_test[request.node.nodeid] = recorded.values
    append_record({"name": request.node.nodeid, "figures": recorded.values})


_outcomes: dict[str, str] = {}
_figures_by_test: dict[str, dict[str, Figure | list[Figure]]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each test's outcome for the report: failed/error/skipped/passed, written once its teardown is done."""
    name = report.nodeid
    if report.skipped and report.when != "teardown":
        _outcomes[name] = "skipped"
    elif report.failed and _outcomes.get(name) != "failed":  # a failed test stays failed if teardown errs too
        _outcomes[name] = "failed" if report.when == "call" else "error"
    elif report.when == "call":
        _outcomes.setdefault(name, "passed")
    if report.when == "teardown":
        append_record({"name": name, "outcome": _outcomes.pop(name, "passed")})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    shown = {name: values for name, values in _figures_by_test.items() if values}
    if shown:
        terminalreporter.section("HIL figures (measured, not asserted)")
        for name, values in shown.items():
            terminalreporter.write_line(f"{name}: {values}")
