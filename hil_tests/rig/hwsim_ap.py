"""The hwsim bench: DFS APs (hostapd), stations (wpa_supplicant), a monitor radio and radar, in one HIL guest.

hostapd is started the way hostap's own hwsim tests start it: a global control interface, `ADD wlan0`,
`SET key value` for each setting, then `ENABLE` once the rig is attached to the interface's control
socket, so no event (DFS-CAC-START comes within milliseconds) is missed. Radar goes through hwsim's
debugfs `dfs_simulate_radar`, i.e. through mac80211 and cfg80211 like a real detection
(../shared/facts/dfs.md, section 5). Events carry the guest's clock (`Event.guest_t`) and the host's
arrival time (`Event.host_t`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hil_tests.rig.guest import Event, Guest, GuestError
from hil_tests.rig.regulatory import Regulatory, RegulatoryMode, load_wireless_stack
from hil_tests.rig.rig_channel import RigChannel

HOSTAPD_DIR = "/var/run/hostapd"
WPAS_DIR = "/var/run/wpa_supplicant"


def channel_to_mhz(channel: int) -> int:
    return 2407 + 5 * channel if channel <= 14 else 5000 + 5 * channel


@dataclass(frozen=True)
class Radio:
    iface: str
    phy: str
    mac: str


class CtrlClient:
    """A hostapd or wpa_supplicant control interface as seen from the host, through the guest agent.

    Event indexes (`mark`, `after`) count on the guest's stream for this interface; waits and `events`
    default to the events since this client attached, never a previous test's.
    """

    def __init__(self, guest: RigChannel, name: str, path: str) -> None:
        self.guest, self.name, self.path = guest, name, path
        self.attached_at = guest.events.mark(name)
        guest.call("ctrl_open", name=name, path=path, timeout=10.0)

    def request(self, cmd: str, timeout: float = 5.0) -> str:
        got = self.guest.call("ctrl_request", within=timeout + 5.0, name=self.name, cmd=cmd, timeout=timeout)
        return str(got["reply"]).strip()

    def ok(self, cmd: str) -> None:
        reply = self.request(cmd)
        if reply != "OK":
            raise GuestError(f"{self.name}: {cmd!r} answered {reply!r}")

    def arm(self, match: str, cmd: str) -> None:
        """Send `cmd` in the guest the instant an event containing `match` arrives; the reply is an event."""
        self.guest.call("ctrl_arm", name=self.name, match=match, cmd=cmd)

    def mark(self) -> int:
        return self.guest.events.mark(self.name)

    def wait_event(self, match: str | Callable[[str], bool], timeout: float, after: int | None = None) -> Event:
        return self.guest.events.wait(self.name, match, timeout, self.attached_at if after is None else after)

    def events(self, after: int | None = None) -> list[Event]:
        return self.guest.events.events(self.name)[self.attached_at if after is None else after :]

    def status(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.request("STATUS").splitlines() if "=" in line)


class HostapdAp(CtrlClient):
    def __init__(self, guest: RigChannel, radio: Radio, ctrl_dir: str = HOSTAPD_DIR) -> None:
        super().__init__(guest, f"hostapd-{radio.iface}", f"{ctrl_dir}/{radio.iface}")
        self.radio = radio


class Station(CtrlClient):
    def __init__(self, guest: RigChannel, radio: Radio, ctrl_dir: str = WPAS_DIR) -> None:
        super().__init__(guest, f"wpas-{radio.iface}", f"{ctrl_dir}/{radio.iface}")
        self.radio = radio


@dataclass(frozen=True)
class Capture:
    name: str
    radio: Radio
    freq_mhz: int
    pcap: Path  # host path (the results share)


@dataclass(frozen=True)
class BenchLayout:
    """Where a bench's daemons and their files are, on the host its rig agent runs on."""

    log_dir: str  # daemon output (`NAME.log`) and monitor captures (`NAME.pcap`)
    hostapd: str = "hostapd"
    wpa_supplicant: str = "wpa_supplicant"
    hostapd_dir: str = HOSTAPD_DIR  # per-interface control sockets
    wpas_dir: str = WPAS_DIR
    run_dir: str = "/var/run"  # hostapd's global control sockets, `hostapd-global-IFACE`
    conf_dir: str = "/tmp"  # wpa_supplicant's config files


class RigAgentBench:
    """What every bench does the same way through its rig agent: processes, hostapd APs, stations, monitor
    captures, surveys and the after-test invariants.

    A bench gives the agent, where things are (`BenchLayout`), where capture files end up on this host, what it
    calls the agent's host in problems (`host`) and in failed steps (`context`); it finds radios, resets, and
    injects radar its own way, and checks first what it cannot do.
    """

    name: str

    def __init__(
        self, agent: RigChannel, layout: BenchLayout, regulatory: Regulatory, capture_dir: Path, host: str,
        context: str = "",
    ) -> None:  # fmt: skip
        self.agent, self.layout, self.regulatory = agent, layout, regulatory
        self.capture_dir, self.host, self.context = capture_dir, host, context
        self.radios: list[Radio] = []
        self._captures: dict[str, str] = {}  # capture name -> its pcap where the agent runs
        self._spawned: dict[str, int] = {}  # process stream -> its length when the process started

    def stop_all(self) -> None:
        """Stop the captures, processes and daemons the last test started, and remove their sockets."""
        for name in list(self._captures):
            self.agent.call("capture_stop", name=name)
        self._captures.clear()
        self._spawned.clear()
        self.agent.call("reset")
        where = self.layout
        self.agent.run(f"rm -f {where.hostapd_dir}/* {where.wpas_dir}/* {where.run_dir}/hostapd-global-*")

    def _spawn(
        self, name: str, argv: list[str], out_stream: str | None = None, env: Mapping[str, str] | None = None
    ) -> int:
        stream = f"{name}-proc"
        self._spawned[stream] = self.agent.events.mark(stream)
        log = f"{self.layout.log_dir}/{name}.log"
        got = self.agent.call("spawn", name=stream, argv=argv, log=log, out_stream=out_stream, env=dict(env or {}))
        return int(got["pid"])

    def start_process(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> tuple[str, int]:
        """A long-running process (e.g. the product's agent); the stream its output lines come on, its pid.

        Its exit counts as a broken invariant unless awaited with `wait_exit` or ended with `stop_process`.
        """
        out = f"{name}-out"
        return out, self._spawn(name, argv, out_stream=out, env={"PYTHONUNBUFFERED": "1", **(env or {})})

    def wait_exit(self, name: str, timeout: float) -> int:
        """Wait for a process started here to exit by itself; its exit status."""
        stream = f"{name}-proc"
        mark = self._spawned.get(stream, 0)
        event = self.agent.events.wait(stream, "RIG-PROCESS-EXIT", timeout, after=mark)
        self._spawned.pop(stream, None)
        self.agent.call("stop", name=stream)
        return int(event.text.rsplit("=", 1)[1])

    def stop_process(self, name: str) -> int | None:
        """Stop a process started here (SIGTERM, then SIGKILL); its exit status, None if it was not running."""
        stream = f"{name}-proc"
        self._spawned.pop(stream, None)
        rc = self.agent.call("stop", name=stream, timeout=10.0)["rc"]
        return None if rc is None else int(rc)

    def start_dfs_ap(
        self, radio: Radio, channel: int = 52, ssid: str = "hil-dfs", settings: Mapping[str, str] | None = None
    ) -> HostapdAp:
        """hostapd on `radio`, country and 802.11h/d set, attached before ENABLE; returns without waiting for CAC."""
        glob = f"{self.layout.run_dir}/hostapd-global-{radio.iface}"
        self._spawn(f"hostapd-{radio.iface}", [self.layout.hostapd, "-t", "-g", glob])
        control = CtrlClient(self.agent, f"hostapd-global-{radio.iface}", glob)
        control.ok(f"ADD {radio.iface} {self.layout.hostapd_dir}")
        ap = HostapdAp(self.agent, radio, self.layout.hostapd_dir)
        for key, value in dfs_ap_settings(self.regulatory.country, channel, ssid, settings).items():
            ap.ok(f"SET {key} {value}")
        ap.ok("ENABLE")
        return ap

    def wait_ap_enabled(self, ap: HostapdAp, after: int | None = None) -> Event:
        """AP-ENABLED, allowing for the CAC of the current regulatory mode plus margin."""
        return ap.wait_event("AP-ENABLED", timeout=self.regulatory.cac_ms / 1000 + 30.0, after=after)

    def stop_ap(self, ap: HostapdAp) -> None:
        """Stop hostapd on the AP's radio (the interface goes back to station mode) and close the rig's links."""
        for link in (ap.name, f"hostapd-global-{ap.radio.iface}"):
            with contextlib.suppress(GuestError):
                self.agent.call("ctrl_close", name=link)
        self.stop_process(f"hostapd-{ap.radio.iface}")
        self.agent.run(f"rm -f {self.layout.hostapd_dir}/{ap.radio.iface} "
                       f"{self.layout.run_dir}/hostapd-global-{ap.radio.iface}")  # fmt: skip

    def start_station(self, radio: Radio, ssid: str, scan_freqs: tuple[int, ...]) -> Station:
        """wpa_supplicant on `radio` with one open network limited to `scan_freqs` (a full scan takes ~10 s)."""
        conf = f"{self.layout.conf_dir}/wpas-{radio.iface}.conf"
        self.agent.call("write_file", path=conf, data=f"ctrl_interface={self.layout.wpas_dir}\n")
        argv = [self.layout.wpa_supplicant, "-i", radio.iface, "-D", "nl80211", "-c", conf]
        self._spawn(f"wpas-{radio.iface}", argv)
        sta = Station(self.agent, radio, self.layout.wpas_dir)
        net = sta.request("ADD_NETWORK")
        for key, value in (("ssid", f'"{ssid}"'), ("key_mgmt", "NONE"), ("scan_freq", " ".join(map(str, scan_freqs)))):
            sta.ok(f"SET_NETWORK {net} {key} {value}")
        sta.ok(f"SELECT_NETWORK {net}")
        return sta

    def start_monitor(self, radio: Radio, freq_mhz: int, name: str = "monitor") -> Capture:
        """Put `radio` in monitor mode on `freq_mhz` and capture every frame it hears into a pcap."""
        self.agent.run(
            f"ip link set {radio.iface} down && iw dev {radio.iface} set type monitor && "
            f"ip link set {radio.iface} up && iw dev {radio.iface} set freq {freq_mhz}"
        ).check(f"{self.context}monitor mode on {radio.iface} at {freq_mhz} MHz")
        remote = f"{self.layout.log_dir}/{name}.pcap"
        self.agent.call("capture_start", name=name, iface=radio.iface, path=remote)
        self._captures[name] = remote
        return Capture(name, radio, freq_mhz, self.capture_dir / f"{name}.pcap")

    def stop_monitor(self, capture: Capture) -> int:
        """End a capture; the frames it saw."""
        self._captures.pop(capture.name)
        return int(self.agent.call("capture_stop", name=capture.name)["frames"])

    def prime_survey(self, radio: Radio, freq_mhz: int) -> None:
        """Scan `freq_mhz` on an idle radio, so the driver has survey data for it (hwsim records a channel only
        while scanning, and refuses to scan a DFS channel once an AP does radar detection there)."""
        self.agent.run(
            f"ip link set {radio.iface} up && iw dev {radio.iface} scan freq {freq_mhz} >/dev/null; "
            f"rc=$?; ip link set {radio.iface} down; exit $rc",
            timeout=20.0,
        ).check(f"{self.context}scanning {freq_mhz} MHz on {radio.iface}")

    def alive(self) -> bool:
        return self.agent.alive()

    def problems(self) -> list[str]:
        """Invariants checked after each test: the agent answers, and no daemon the test started died on its own."""
        if not self.agent.alive():
            return [f"{self.host} is gone ({self.agent.events.closed_reason or 'not running'})"]
        found = []
        try:
            self.agent.call("ping", within=10.0)
        except GuestError as exc:
            found.append(f"the rig agent on {self.host} is not answering: {exc}")
        for stream, mark in self._spawned.items():
            found += [f"{stream} exited by itself: {e.text}" for e in self.agent.events.events(stream)[mark:]]
        return found


class HwsimBench(RigAgentBench):
    """The `--target hwsim` bench: radios in one guest, reloaded by `reset()` for every test."""

    name = "hwsim"

    def __init__(self, guest: Guest, radio_count: int = 3) -> None:
        super().__init__(guest, BenchLayout(str(guest.workdir)), Regulatory(), guest.workdir, "the guest")
        self.guest, self.radio_count = guest, radio_count

    def reset(self, regulatory: Regulatory) -> None:
        """Stop everything the last test started and reload fresh radios (DFS state, NOP timers and all)."""
        self.stop_all()
        load_wireless_stack(self.guest, regulatory, self.radio_count)
        self.regulatory = regulatory
        self.radios = self._discover()
        if len(self.radios) != self.radio_count:
            raise GuestError(f"expected {self.radio_count} hwsim radios after modprobe, found {self.radios}")

    def _discover(self) -> list[Radio]:
        out = self.guest.run(
            "for n in /sys/class/net/*/phy80211; do d=${n%/phy80211}; "
            'echo "${d##*/} $(cat $n/name) $(cat $d/address)"; done'
        ).out
        radios = [Radio(*line.split()) for line in out.splitlines() if len(line.split()) == 3]
        return sorted(radios, key=lambda r: int(r.phy.removeprefix("phy")))

    def daemon_log(self, name: str, lines: int = 30) -> str:
        """The tail of a daemon's output (e.g. `hostapd-wlan0`), kept on the results share."""
        path = self.guest.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def inject_radar(self, radio: Radio) -> float:
        """Simulate radar on `radio`'s channel; returns the guest time just before the debugfs write."""
        path = f"/sys/kernel/debug/ieee80211/{radio.phy}/hwsim/dfs_simulate_radar"
        return float(self.guest.call("write_file", path=path, data="1")["t"])


def dfs_ap_settings(country: str, channel: int, ssid: str, settings: Mapping[str, str] | None) -> dict[str, str]:
    """The hostapd settings of a DFS AP on any target: country, 802.11h/d, 5 GHz HT, then the test's own."""
    return {
        "driver": "nl80211", "ssid": ssid, "country_code": country, "ieee80211d": "1",
        "ieee80211h": "1", "hw_mode": "a", "channel": str(channel), "ieee80211n": "1",
        **(settings or {}),
    }  # fmt: skip


def wait_until(check: Callable[[], bool], timeout: float, what: str, seen: Callable[[], str]) -> None:
    """Poll `check` until true; GuestTimeout-style failure naming `what` and what was seen last."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise GuestError(f"{what} not reached within {timeout:.1f} s; saw: {seen()}")
        time.sleep(0.2)


def short_cac(cac_ms: int = 2000) -> Regulatory:
    return Regulatory(RegulatoryMode.TEST_SHORT_CAC, test_cac_ms=cac_ms)
