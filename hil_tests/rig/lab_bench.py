"""The `--target lab:FILE` bench: one lab AP from the inventory, driven over SSH through the rig agent.

It does what `HwsimBench` does, on real radios: hostapd started the same way (global control
interface, `ADD`, the same `dfs_ap_settings` by `SET`, `ENABLE` once attached), a wpa_supplicant
station and a monitor capture where the inventory has those radios, radar written to the driver's
debugfs file. `radios` is always (AP, station, monitor); a role the inventory lacks is a placeholder
radio, and using it is a `BenchRefusal` (the test skips with the reason). What a lab cannot do:
change its regulatory mode (the AP's is fixed: `regulatory` says which), clear non-occupancy timers
without the inventory's `reset_command` (starting an AP on a channel in its NOP is refused), and
run our agent without `agent_python`.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from hil_tests.rig.guest import GuestError
from hil_tests.rig.guest_python import PRODUCT_PYTHON
from hil_tests.rig.hwsim_ap import BenchLayout, Capture, HostapdAp, Radio, RigAgentBench, Station
from hil_tests.rig.lab_inventory import LabAp, LabInventory, LabRadio
from hil_tests.rig.lab_ssh import SshRigAgent
from hil_tests.rig.regulatory import Regulatory
from hil_tests.rig.target import TargetUnavailable

_CHANNEL_BLOCK = re.compile(r"^\s*\* (\d+)(?:\.\d+)? MHz \[(\d+)\](.*?)(?=^\s*\* |\Z)", re.M | re.S)


class BenchRefusal(TargetUnavailable):
    """The lab bench cannot do what the test asks here; the message says why and what would allow it."""


def dfs_state(iw_channels: str, channel: int) -> str | None:
    """The DFS state (`usable`, `available`, `unavailable`) `iw phy PHY channels` shows for a channel."""
    for block in _CHANNEL_BLOCK.finditer(iw_channels):
        if int(block.group(2)) == channel:
            found = re.search(r"DFS state: (\w+)", block.group(3))
            return found.group(1) if found else None
    return None


class LabBench(RigAgentBench):
    """A `DfsBench` on one lab AP; `open()` connects, `close()` ends the session (the AP host cleans up)."""

    name = "lab"

    def __init__(self, inventory: LabInventory, ap: LabAp, local_dir: Path) -> None:
        work = ap.work_dir
        layout = BenchLayout(
            log_dir=f"{work}/logs", hostapd=ap.hostapd, wpa_supplicant=ap.wpa_supplicant,
            hostapd_dir=f"{work}/hostapd", wpas_dir=f"{work}/wpa_supplicant", run_dir=work, conf_dir=work,
        )  # fmt: skip
        self.link = SshRigAgent(ap.ssh, ap.rig_python, work)
        super().__init__(self.link, layout, inventory.regulatory, local_dir, f"lab AP {ap.name}", f"{ap.name}: ")
        self.inventory, self.ap, self.local_dir = inventory, ap, local_dir
        self._roles: dict[str, LabRadio] = {}  # iface -> its inventory entry, for the radios that exist

    def open(self) -> None:
        self.link.open()
        work = self.layout
        self.link.run(f"mkdir -p {work.hostapd_dir} {work.wpas_dir} {work.log_dir}").check("work folders")
        self.radios = self._discover()

    def close(self) -> None:
        if self.link.alive():
            with contextlib.suppress(GuestError):
                self.stop_all()
        self.link.close()

    def _discover(self) -> list[Radio]:
        """(AP, station, monitor) radios with their current phy and address; placeholders for absent roles."""
        radios, self._roles = [], {}
        for role, entry in (("AP", self.ap.radio), ("station", self.ap.station), ("monitor", self.ap.monitor)):
            if entry is None:
                radios.append(Radio(f"<no {role} radio in the inventory>", "", ""))
                continue
            net = f"/sys/class/net/{entry.iface}"
            found = self.link.run(f"cat {net}/phy80211/name {net}/address").check(
                f"{self.ap.name}: {role} interface {entry.iface} (is it a wireless interface on this host?)"
            )
            phy, mac = found.split()
            if entry.phy is not None and entry.phy != phy:
                raise GuestError(f"{self.inventory.source}: {self.ap.name}: {entry.iface} is on {phy}, not {entry.phy}")
            radios.append(Radio(entry.iface, phy, mac))
            self._roles[entry.iface] = entry
        return radios

    def _require(self, radio: Radio, role: str) -> LabRadio:
        entry = self._roles.get(radio.iface)
        if entry is None:
            raise BenchRefusal(f"lab AP {self.ap.name} ({self.inventory.source}) has no {role} radio: {radio.iface}")
        return entry

    def reset(self, regulatory: Regulatory) -> None:
        """Stop what the last test started; run the inventory's `reset_command` (fresh DFS state) if it has one."""
        if regulatory != self.regulatory:
            raise BenchRefusal(f"lab AP {self.ap.name} runs {self.regulatory.label}; a lab cannot switch to "
                               f"{regulatory.label}")  # fmt: skip
        self.stop_all()
        if self.ap.reset_command is not None:
            self.link.run(self.ap.reset_command, timeout=120.0).check(f"{self.ap.name}: reset_command")
        self.radios = self._discover()

    def stop_all(self) -> None:
        """As on every bench, then the monitor radio back to managed mode."""
        super().stop_all()
        if self.ap.monitor is not None:
            iface = self.ap.monitor.iface
            self.link.run(f"ip link set {iface} down; iw dev {iface} set type managed")

    def start_process(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> tuple[str, int]:
        """A long-running process on the AP host; the product's Python becomes the inventory's `agent_python`."""
        if argv and argv[0] == PRODUCT_PYTHON:
            if self.ap.agent_python is None:
                raise BenchRefusal(f"lab AP {self.ap.name}: no agent_python in {self.inventory.source}, so the "
                                   "product cannot run there")  # fmt: skip
            argv = [self.ap.agent_python, *argv[1:]]
        return super().start_process(name, argv, env)

    def start_dfs_ap(
        self, radio: Radio, channel: int = 52, ssid: str = "hil-dfs", settings: Mapping[str, str] | None = None
    ) -> HostapdAp:
        """hostapd as on hwsim, in the work folder; refused on a channel the radio has in its NOP."""
        self._require(radio, "AP")
        state = dfs_state(self.link.run(f"iw phy {radio.phy} channels").out, channel)
        if state == "unavailable":
            raise BenchRefusal(f"channel {channel} is in its non-occupancy period on {self.ap.name} {radio.phy}; "
                               f"give the AP a reset_command in {self.inventory.source} or wait 30 min")  # fmt: skip
        return super().start_dfs_ap(radio, channel, ssid, settings)

    def start_station(self, radio: Radio, ssid: str, scan_freqs: tuple[int, ...]) -> Station:
        self._require(radio, "station")
        return super().start_station(radio, ssid, scan_freqs)

    def start_monitor(self, radio: Radio, freq_mhz: int, name: str = "monitor") -> Capture:
        """The monitor radio on `freq_mhz`, captured by the rig agent on the AP host; fetched on stop."""
        self._require(radio, "monitor")
        return super().start_monitor(radio, freq_mhz, name)

    def stop_monitor(self, capture: Capture) -> int:
        remote = self._captures[capture.name]
        frames = super().stop_monitor(capture)
        self.link.fetch(remote, capture.pcap)
        return frames

    def inject_radar(self, radio: Radio) -> float:
        """Write the radio's debugfs radar file; the AP host's time just before the write."""
        entry = self._require(radio, "AP")
        if entry.radar_path is None:
            raise BenchRefusal(f"lab AP {self.ap.name}: no radar injection in {self.inventory.source} (radar: "
                               "debugfs:PATH)")  # fmt: skip
        path = entry.radar_path.replace("{phy}", radio.phy)
        if self.link.run(f"test -w {shlex.quote(path)}").rc != 0:
            raise BenchRefusal(f"lab AP {self.ap.name}: {path} is not there (debugfs mounted? ath10k needs "
                               "CONFIG_ATH10K_DFS_CERTIFIED)")  # fmt: skip
        return float(self.link.call("write_file", path=path, data=entry.radar_value)["t"])

    def prime_survey(self, radio: Radio, freq_mhz: int) -> None:
        self._require(radio, "AP")
        super().prime_survey(radio, freq_mhz)
