"""The lab target, proven against the hwsim guest over real SSH (sshd in the guest, QEMU hostfwd).

The inventory points the lab bench at the guest's hwsim radios as if they were a lab AP's; the first
test runs `rrm hil run --target lab:FILE` on test_dfs_csa.py, so the same DFS assertions (AP up on a
DFS channel after its CAC, debugfs radar makes it leave with a CSA, no frames on the NOP channel) run
through `LabBench` and SSH. The second checks what a thinner inventory refuses, with the reasons.
Figures: lab_* are the inner run's (radar to CSA over the lab path, in the AP host's clock),
ssh_connect_s, lab_open_s and ssh_round_trip_ms (one rig-agent ping over SSH, median of 10).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from hil_tests.rig.figures import RESULTS_ENV, Figures
from hil_tests.rig.guest_build import REPO_ROOT
from hil_tests.rig.guest_python import PRODUCT_PYTHON
from hil_tests.rig.guest_sshd import GuestSshd, proof_inventory, start_guest_sshd, write_inventory
from hil_tests.rig.hwsim_ap import HwsimBench
from hil_tests.rig.lab_bench import BenchRefusal, LabBench
from hil_tests.rig.lab_inventory import load_inventory
from hil_tests.rig.lab_ssh import LabUnreachable
from hil_tests.rig.regulatory import Regulatory

pytestmark = pytest.mark.hil

DFS_TESTS = "hil_tests/test_dfs_csa.py::"
LAB_PASSES = ("test_radar_csa_lands_on_chanlist_channel", "test_chan_switch_fails_during_csa_then_works_after")
LAB_SKIPS = ("test_real_60s_cac_with_signed_regulatory_db",)  # the guest runs the short-CAC test mode


@pytest.fixture
def sshd(bench: HwsimBench, tmp_path: Path) -> GuestSshd:
    return start_guest_sshd(bench, tmp_path)


@pytest.mark.timeout(900)
def test_dfs_suite_runs_on_lab_target_over_ssh(
    bench: HwsimBench, sshd: GuestSshd, pytestconfig: pytest.Config, tmp_path: Path, figures: Figures
) -> None:
    """`rrm hil run --target lab:FILE` runs test_dfs_csa's assertions on the guest's radios through SSH."""
    lab_file = write_inventory(tmp_path / "lab.yaml", proof_inventory(sshd, bench.regulatory.cac_ms, bench.radio_count))
    report_file, log = tmp_path / "report.json", tmp_path / "inner.log"
    argv = [PRODUCT_PYTHON, "-m", "rrm.cli.main", "hil", "run", "--target", f"lab:{lab_file}", "--json",
            str(report_file), "-k", "test_dfs_csa", "--pytest-arg=-p", "--pytest-arg=no:cacheprovider"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in (RESULTS_ENV, "PYTEST_ADDOPTS")}
    with log.open("wb") as out:
        rc = subprocess.run(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
    assert report_file.exists(), f"rrm hil run wrote no report (exit {rc}):\n{tail}"
    report = json.loads(report_file.read_text())
    outcomes = {t["name"].removeprefix(DFS_TESTS): t["outcome"] for t in report["tests"]}
    assert report["target"] == f"lab:{lab_file}", report["target"]
    assert {name: outcomes.get(name) for name in LAB_PASSES} == dict.fromkeys(LAB_PASSES, "passed"), (outcomes, tail)
    assert {name: outcomes.get(name) for name in LAB_SKIPS} == dict.fromkeys(LAB_SKIPS, "skipped"), (outcomes, tail)
    assert rc == 0, f"the inner run failed (exit {rc}):\n{tail}"
    for name, values in report["figures"].items():
        if isinstance(values, list):
            for value in values:
                figures.add(f"lab_{name}", value)
        else:
            figures.set(f"lab_{name}", values)


def test_lab_bench_refuses_what_its_inventory_lacks(bench: HwsimBench, sshd: GuestSshd, figures: Figures) -> None:
    """No station, monitor, radar, agent or reset_command: each use is a BenchRefusal naming what is missing."""
    thin = proof_inventory(sshd, bench.regulatory.cac_ms, bench.radio_count, reset_command=None, station=None,
                           monitor=None, radio={"iface": "wlan0"})  # fmt: skip
    inventory = load_inventory(write_inventory(sshd.key_file.parent / "thin.yaml", thin))
    lab = LabBench(inventory, inventory.ap(None), sshd.key_file.parent)
    started = time.monotonic()
    lab.open()
    try:
        figures.set("lab_open_s", time.monotonic() - started)
        figures.set("ssh_connect_s", lab.link.connect_s)
        figures.set("ssh_round_trip_ms", statistics.median(lab.link.round_trip_ms() for _ in range(10)))
        ap_radio, sta_radio, mon_radio = lab.radios
        assert ap_radio.phy == bench.radios[0].phy, (lab.radios, bench.radios)
        with pytest.raises(BenchRefusal, match="no station radio"):
            lab.start_station(sta_radio, "hil-dfs", (5260,))
        with pytest.raises(BenchRefusal, match="no monitor radio"):
            lab.start_monitor(mon_radio, 5260)
        with pytest.raises(BenchRefusal, match="no radar injection"):
            lab.inject_radar(ap_radio)
        with pytest.raises(BenchRefusal, match="no agent_python"):
            lab.start_process("agent", [PRODUCT_PYTHON, "-m", "rrm.cli.main", "--help"])
        with pytest.raises(BenchRefusal, match="cannot switch"):
            lab.reset(Regulatory())
        _radar_then_nop_refusal(bench, lab)
    finally:
        lab.close()


def _radar_then_nop_refusal(bench: HwsimBench, lab: LabBench) -> None:
    """An AP started over SSH, radar from the hwsim side: an AP on 52 is then refused (NOP, no reset_command).

    Checked while the moved AP still runs on 36: once hostapd stops, hwsim's phy shows 52 as `usable` again.
    """
    ap = lab.start_dfs_ap(lab.radios[0], channel=52)
    lab.wait_ap_enabled(ap)
    ap.ok("SET chanlist 36")
    mark = ap.mark()
    bench.inject_radar(bench.radios[0])
    ap.wait_event("AP-CSA-FINISHED freq=5180", timeout=10.0, after=mark)
    with pytest.raises(BenchRefusal, match="non-occupancy period"):
        lab.start_dfs_ap(lab.radios[0], channel=52)
    assert lab.problems() == []
    lab.stop_ap(ap)


def test_strict_host_key_check_refuses_an_unknown_guest(bench: HwsimBench, sshd: GuestSshd, tmp_path: Path) -> None:
    """With known_hosts strict and the guest's key not in the file, the connection is refused by name."""
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    unknown = GuestSshd(sshd.port, sshd.key_file, empty)
    inventory = load_inventory(write_inventory(tmp_path / "strict.yaml", proof_inventory(unknown, 2000, 3)))
    with pytest.raises(LabUnreachable, match="is not in"):
        LabBench(inventory, inventory.ap(None), tmp_path).open()
    assert empty.read_text() == "", "a strict check must not record the key"
