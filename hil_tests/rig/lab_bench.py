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

from hil_tests.rig.guest import Event, GuestError
from hil_tests.rig.guest_python import PRODUCT_PYTHON
from hil_tests.rig.hwsim_ap import Capture, CtrlClient, HostapdAp, Radio, Station, dfs_ap_settings
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


class LabBench:
    """A `DfsBench` on one lab AP; `open()` connects, `close()` ends the session (the AP host cleans up)."""

    name = "lab"

    def __init__(self, inventory: LabInventory, ap: LabAp, local_dir: Path) -> None:
        self.inventory, self.ap, self.local_dir = inventory, ap, local_dir
        self.regulatory: Regulatory = inventory.regulatory
        self.link = SshRigAgent(ap.ssh, ap.rig_python, ap.work_dir)
        self.radios: list[Radio] = []
        self._roles: dict[str, LabRadio] = {}  # iface -> its inventory entry, for the radios that exist
        self._captures: dict[str, str] = {}  # capture name -> its pcap on the AP host
        self._spawned: dict[str, int] = {}  # process stream -> its length when the process started
        self.hostapd_dir, self.wpas_dir = f"{ap.work_dir}/hostapd", f"{ap.work_dir}/wpa_supplicant"

    def open(self) -> None:
        self.link.open()
        self.link.run(f"mkdir -p {self.hostapd_dir} {self.wpas_dir} {self.ap.work_dir}/logs").check("work folders")
        self.radios = self._discover()

    def close(self) -> None:
        if self.link.alive():
            with contextlib.suppress(GuestError):
                self.stop_all()
        self.link.close()

    def alive(self) -> bool:
        return self.link.alive()

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
        for name in list(self._captures):
            self.link.call("capture_stop", name=name)
        self._captures.clear()
        self._spawned.clear()
        self.link.call("reset")
        monitor = self.ap.monitor
        restore = f"ip link set {monitor.iface} down; iw dev {monitor.iface} set type managed; " if monitor else ""
        self.link.run(f"{restore}rm -f {self.hostapd_dir}/* {self.wpas_dir}/* {self.ap.work_dir}/hostapd-global-*")

    def _spawn(
        self, name: str, argv: list[str], out_stream: str | None = None, env: Mapping[str, str] | None = None
    ) -> int:
        stream = f"{name}-proc"
        self._spawned[stream] = self.link.events.mark(stream)
        log = f"{self.ap.work_dir}/logs/{name}.log"
        got = self.link.call("spawn", name=stream, argv=argv, log=log, out_stream=out_stream, env=dict(env or {}))
        return int(got["pid"])

    def start_process(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> tuple[str, int]:
        """A long-running process on the AP host; the product's Python becomes the inventory's `agent_python`."""
        if argv and argv[0] == PRODUCT_PYTHON:
            if self.ap.agent_python is None:
                raise BenchRefusal(f"lab AP {self.ap.name}: no agent_python in {self.inventory.source}, so the "
                                   "product cannot run there")  # fmt: skip
            argv = [self.ap.agent_python, *argv[1:]]
        out = f"{name}-out"
        return out, self._spawn(name, argv, out_stream=out, env={"PYTHONUNBUFFERED": "1", **(env or {})})

    def wait_exit(self, name: str, timeout: float) -> int:
        stream = f"{name}-proc"
        event = self.link.events.wait(stream, "RIG-PROCESS-EXIT", timeout, after=self._spawned.get(stream, 0))
        self._spawned.pop(stream, None)
        self.link.call("stop", name=stream)
        return int(event.text.rsplit("=", 1)[1])

    def stop_process(self, name: str) -> int | None:
        stream = f"{name}-proc"
        self._spawned.pop(stream, None)
        rc = self.link.call("stop", name=stream, timeout=10.0)["rc"]
        return None if rc is None else int(rc)

    def start_dfs_ap(
        self, radio: Radio, channel: int = 52, ssid: str = "hil-dfs", settings: Mapping[str, str] | None = None
    ) -> HostapdAp:
        """hostapd as on hwsim, in the work folder; refused on a channel the radio has in its NOP."""
        self._require(radio, "AP")
        state = dfs_state(self.link.run(f"iw phy {radio.phy} channels").out, channel)
        if state == "unavailable":
            raise BenchRefusal(f"channel {channel} is in its non-occupancy period on {self.ap.name} {radio.phy}; "
                               f"give the AP a reset_command in {self.inventory.source} or wait 30 min")  # fmt: skip
        glob = f"{self.ap.work_dir}/hostapd-global-{radio.iface}"
        self._spawn(f"hostapd-{radio.iface}", [self.ap.hostapd, "-t", "-g", glob])
        control = CtrlClient(self.link, f"hostapd-global-{radio.iface}", glob)
        control.ok(f"ADD {radio.iface} {self.hostapd_dir}")
        ap = HostapdAp(self.link, radio, self.hostapd_dir)
        for key, value in dfs_ap_settings(self.regulatory.country, channel, ssid, settings).items():
            ap.ok(f"SET {key} {value}")
        ap.ok("ENABLE")
        return ap

    def wait_ap_enabled(self, ap: HostapdAp, after: int | None = None) -> Event:
        return ap.wait_event("AP-ENABLED", timeout=self.regulatory.cac_ms / 1000 + 30.0, after=after)

    def stop_ap(self, ap: HostapdAp) -> None:
        for link in (ap.name, f"hostapd-global-{ap.radio.iface}"):
            with contextlib.suppress(GuestError):
                self.link.call("ctrl_close", name=link)
        self.stop_process(f"hostapd-{ap.radio.iface}")
        self.link.run(f"rm -f {self.hostapd_dir}/{ap.radio.iface} {self.ap.work_dir}/hostapd-global-{ap.radio.iface}")

    def start_station(self, radio: Radio, ssid: str, scan_freqs: tuple[int, ...]) -> Station:
        self._require(radio, "station")
        conf = f"{self.ap.work_dir}/wpas-{radio.iface}.conf"
        self.link.call("write_file", path=conf, data=f"ctrl_interface={self.wpas_dir}\n")
        self._spawn(f"wpas-{radio.iface}", [self.ap.wpa_supplicant, "-i", radio.iface, "-D", "nl80211", "-c", conf])
        sta = Station(self.link, radio, self.wpas_dir)
        net = sta.request("ADD_NETWORK")
        for key, value in (("ssid", f'"{ssid}"'), ("key_mgmt", "NONE"), ("scan_freq", " ".join(map(str, scan_freqs)))):
            sta.ok(f"SET_NETWORK {net} {key} {value}")
        sta.ok(f"SELECT_NETWORK {net}")
        return sta

    def start_monitor(self, radio: Radio, freq_mhz: int, name: str = "monitor") -> Capture:
        """The monitor radio on `freq_mhz`, captured by the rig agent on the AP host; fetched on stop."""
        self._require(radio, "monitor")
        self.link.run(
            f"ip link set {radio.iface} down && iw dev {radio.iface} set type monitor && "
            f"ip link set {radio.iface} up && iw dev {radio.iface} set freq {freq_mhz}"
        ).check(f"{self.ap.name}: monitor mode on {radio.iface} at {freq_mhz} MHz")
        remote = f"{self.ap.work_dir}/logs/{name}.pcap"
        self.link.call("capture_start", name=name, iface=radio.iface, path=remote)
        self._captures[name] = remote
        return Capture(name, radio, freq_mhz, self.local_dir / f"{name}.pcap")

    def stop_monitor(self, capture: Capture) -> int:
        remote = self._captures.pop(capture.name)
        frames = int(self.link.call("capture_stop", name=capture.name)["frames"])
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
        self.link.run(
            f"ip link set {radio.iface} up && iw dev {radio.iface} scan freq {freq_mhz} >/dev/null; "
            f"rc=$?; ip link set {radio.iface} down; exit $rc",
            timeout=20.0,
        ).check(f"{self.ap.name}: scanning {freq_mhz} MHz on {radio.iface}")

    def problems(self) -> list[str]:
        """After each test: the SSH session and agent answer; no daemon the test started died on its own."""
        if not self.link.alive():
            return [f"the lab session to {self.ap.name} is gone ({self.link.events.closed_reason})"]
        found = []
        try:
            self.link.call("ping", within=10.0)
        except GuestError as exc:
            found.append(f"the rig agent on {self.ap.name} is not answering: {exc}")
        for stream, mark in self._spawned.items():
            found += [f"{stream} exited by itself: {e.text}" for e in self.link.events.events(stream)[mark:]]
        return found
