"""HIL targets: `hwsim` (the QEMU guest, default) or `lab:FILE` (lab APs over SSH, `lab_bench`), one bench interface.

The tests use a bench only through `DfsBench`, so the same assertions run on any target (STYLE.md 7):
the lab bench starts hostapd over SSH on a real radio, injects radar through the driver's debugfs
(ath10k/ath11k `dfs_simulate_radar`, mt76 `radar_trigger`, ../shared/facts/dfs.md section 5), captures
with a monitor radio and runs the product's agent on the AP (`start_process`), returning the same `Radio`,
`CtrlClient` and `Capture` shapes. Tests marked `lab_compatible` run on both targets; a lab bench's
refusal (`TargetUnavailable`) raised inside a test makes that test skip with its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hil_tests.rig.guest import Event
from hil_tests.rig.hwsim_ap import Capture, HostapdAp, Radio, Station
from hil_tests.rig.lab_inventory import LabInventory, load_inventory
from hil_tests.rig.regulatory import Regulatory


class TargetUnavailable(RuntimeError):
    """The target cannot be used here; tests skip with this message."""


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # "hwsim" or "lab"
    lab_file: Path | None = None

    def __str__(self) -> str:
        return self.kind if self.lab_file is None else f"lab:{self.lab_file}"


def parse_target(text: str) -> TargetSpec:
    """`hwsim` or `lab:FILE`; ValueError naming the accepted forms otherwise."""
    if text == "hwsim":
        return TargetSpec("hwsim")
    if text.startswith("lab:") and len(text) > 4:
        return TargetSpec("lab", Path(text[4:]))
    raise ValueError(f"--target {text!r}: expected 'hwsim' or 'lab:FILE' (a lab inventory file)")


def check_lab_target(spec: TargetSpec) -> LabInventory:
    """The lab target's inventory; TargetUnavailable if the file is missing, LabInventoryError if it is invalid."""
    assert spec.lab_file is not None
    if not spec.lab_file.exists():
        raise TargetUnavailable(f"lab target: inventory file {spec.lab_file} does not exist")
    return load_inventory(spec.lab_file)


class DfsBench(Protocol):
    """What the DFS tests need of a target: radios, APs, stations, a monitor, radar, and invariants."""

    name: str
    radios: list[Radio]
    regulatory: Regulatory

    def reset(self, regulatory: Regulatory) -> None: ...

    def stop_all(self) -> None: ...

    def start_dfs_ap(
        self, radio: Radio, channel: int = 52, ssid: str = "hil-dfs", settings: Mapping[str, str] | None = None
    ) -> HostapdAp: ...

    def wait_ap_enabled(self, ap: HostapdAp, after: int | None = None) -> Event: ...

    def start_station(self, radio: Radio, ssid: str, scan_freqs: tuple[int, ...]) -> Station: ...

    def start_monitor(self, radio: Radio, freq_mhz: int, name: str = "monitor") -> Capture: ...

    def stop_monitor(self, capture: Capture) -> int: ...

    def inject_radar(self, radio: Radio) -> float: ...

    def stop_ap(self, ap: HostapdAp) -> None: ...

    def prime_survey(self, radio: Radio, freq_mhz: int) -> None: ...

    def start_process(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> tuple[str, int]: ...

    def wait_exit(self, name: str, timeout: float) -> int: ...

    def stop_process(self, name: str) -> int | None: ...

    def problems(self) -> list[str]: ...

    def alive(self) -> bool: ...
