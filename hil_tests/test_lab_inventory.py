"""The lab inventory and the lab bench's pure parts, without SSH: strict parsing, the example, DFS states."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from drivers.netconf.target import HostKeyCheck
from hil_tests.rig.guest_python import PRODUCT_PYTHON
from hil_tests.rig.lab_bench import dfs_state
from hil_tests.rig.lab_inventory import LabInventoryError, load_inventory
from hil_tests.rig.regulatory import RegulatoryMode

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).parent / "lab-inventory.example.yaml"


def _minimal(**ap: object) -> dict[str, object]:
    entry = {"name": "ap1", "ssh": {"host": "192.0.2.1", "user": "root", "key_file": "keys/lab"},
             "radio": {"iface": "wlan0"}, **ap}  # fmt: skip
    return {"format": "rrm-lab-inventory", "version": 1, "country": "US", "aps": [entry]}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(json.dumps(data))
    return path


def test_example_inventory_loads() -> None:
    """The documented example is valid: debugfs radar path, strict host keys, optional radios."""
    inventory = load_inventory(EXAMPLE)
    ap = inventory.ap(None)
    assert (ap.name, ap.ssh.known_hosts, ap.radio.iface) == ("lab-ath10k-1", HostKeyCheck.STRICT, "wlan0")
    assert ap.radio.radar_path == "/sys/kernel/debug/ieee80211/{phy}/ath10k/dfs_simulate_radar"
    assert ap.monitor is not None
    assert ap.monitor.iface == "wlan2"
    assert inventory.regulatory.mode is RegulatoryMode.REAL_DB


def test_defaults_and_relative_key_file(tmp_path: Path) -> None:
    """A minimal AP gets port 22, strict host keys, the default work folder; key_file is relative to the file."""
    inventory = load_inventory(_write(tmp_path, _minimal()))
    ap = inventory.ap("ap1")
    assert (ap.ssh.port, ap.ssh.known_hosts, ap.work_dir) == (22, HostKeyCheck.STRICT, "/tmp/rrm-hil-lab")
    assert ap.ssh.key_file == tmp_path / "keys/lab"
    assert (ap.station, ap.monitor, ap.radio.radar_path, ap.reset_command) == (None, None, None, None)


def test_unknown_keys_are_named_with_the_file(tmp_path: Path) -> None:
    """Unknown keys anywhere are errors naming the file and the key path, all reported at once."""
    data = _minimal(monitr={"iface": "wlan2"})
    data["aps"][0]["ssh"]["prot"] = 2222  # type: ignore[index]
    path = _write(tmp_path, data)
    with pytest.raises(LabInventoryError) as caught:
        load_inventory(path)
    text = str(caught.value)
    assert f"{path}: aps[0].monitr: unknown key" in text, text
    assert f"{path}: aps[0].ssh.prot: unknown key" in text, text


def test_wrong_types_and_values_are_refused(tmp_path: Path) -> None:
    """Bad port, host-key policy, radar form and country are each reported by path."""
    data = _minimal(radio={"iface": "wlan0", "radar": "/sys/kernel/debug/x"})
    data["country"] = "usa"
    data["aps"][0]["ssh"].update({"port": "22", "known_hosts": "yes"})  # type: ignore[index]
    with pytest.raises(LabInventoryError) as caught:
        load_inventory(_write(tmp_path, data))
    text = str(caught.value)
    for fragment in ("aps[0].ssh.port: expected an integer", "aps[0].ssh.known_hosts: 'yes' is not one of",
                     "aps[0].radio.radar: expected 'debugfs:", "country: expected a two-letter"):  # fmt: skip
        assert fragment in text, text


def test_radar_only_on_the_ap_radio_and_unknown_ap_named(tmp_path: Path) -> None:
    """A station radio cannot carry a radar path; asking for an AP the file lacks names the ones it has."""
    with pytest.raises(LabInventoryError, match=r"aps\[0\]\.station\.radar: unknown key"):
        load_inventory(_write(tmp_path, _minimal(station={"iface": "wlan1", "radar": "debugfs:/sys/kernel/debug/x"})))
    inventory = load_inventory(_write(tmp_path, _minimal()))
    with pytest.raises(LabInventoryError, match=r"no AP named 'ap9'; it lists \['ap1'\]"):
        inventory.ap("ap9")


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    """Not YAML at all: the error names the file."""
    path = tmp_path / "bad.yaml"
    path.write_text("aps: [unclosed")
    with pytest.raises(LabInventoryError, match="cannot read the lab inventory"):
        load_inventory(path)


def test_dfs_state_reads_iw_phy_channels() -> None:
    """`iw phy PHY channels`: the DFS state of the asked channel, None for a channel without one."""
    lines = ["Band 2:", "* 5180 MHz [36]", "  Maximum TX power: 23.0 dBm", "* 5260 MHz [52]", "  Radar detection",
             "  DFS state: unavailable (for 12 sec)", "  DFS CAC time: 2000 ms", "* 5280 MHz [56]",
             "  Radar detection", "  DFS state: usable (for 40 sec)"]  # fmt: skip
    listing = "\n".join("\t" + line for line in lines) + "\n"  # iw indents with a tab
    assert (dfs_state(listing, 52), dfs_state(listing, 56), dfs_state(listing, 36)) == ("unavailable", "usable", None)


def test_hil_run_refuses_a_bad_inventory_before_pytest(tmp_path: Path) -> None:
    """`rrm hil run --target lab:FILE` with an unknown key: exit status 2, the file and key named, no tests run."""
    data = _minimal()
    data["aps"][0]["radio"]["radar_path"] = "debugfs:/sys/kernel/debug/x"  # type: ignore[index]
    path = _write(tmp_path, data)
    argv = [PRODUCT_PYTHON, "-m", "rrm.cli.main", "hil", "run", "--target", f"lab:{path}"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert f"{path}: aps[0].radio.radar_path: unknown key" in done.stderr, done.stderr
    assert "rrm hil run --target" not in done.stdout, "the suite ran despite the bad inventory"
