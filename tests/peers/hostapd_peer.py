"""A real hostapd for the tests: Debian's /usr/sbin/hostapd with ``driver=none`` (no radio needed).

:func:`running_hostapd` writes a hostapd.conf into a fresh folder under /tmp (pytest's tmp paths
can be too long for an AF_UNIX socket path), starts hostapd with ``-d`` so its debug log shows what
it did with each command (``CTRL_IFACE SET 'chanlist'='36 44'``, ``CSA is not supported``), waits for
its control socket and stops it at the end. Without the binary the test is skipped.

With ``country_code`` set, hostapd waits about 5 s for a regulatory update that never comes without
a radio (state COUNTRY_UPDATE) before it reports AP-ENABLED; :meth:`HostapdPeer.wait_enabled` waits
for that. :meth:`HostapdPeer.command` is a plain blocking control connection of its own, for the
test's side of the conversation (e.g. ``RADAR DETECTED ...``), independent of the code under test.

Every wait has a timeout.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HOSTAPD = Path("/usr/sbin/hostapd")
SOCKET_TIMEOUT_S = 10.0
ENABLE_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 3.0
POLL_S = 0.02


@dataclass
class HostapdPeer:
    """One hostapd process serving interface ``ifname`` (which does not exist: driver=none)."""

    folder: Path
    ifname: str
    settings: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def ctrl_dir(self) -> Path:
        return self.folder / "ctrl"

    @property
    def ctrl_path(self) -> Path:
        return self.ctrl_dir / self.ifname

    @property
    def conf_path(self) -> Path:
        return self.folder / "hostapd.conf"

    @property
    def log_path(self) -> Path:
        return self.folder / "hostapd.log"

    def url(self, ap_id: str, region: str | None = "FCC") -> str:
        query = f"?ap={ap_id}" + (f"&region={region}" if region else "")
        return f"hostapd://{self.ctrl_path}{query}"

    def write_conf(self) -> None:
        lines = [
            "driver=none",
            f"interface={self.ifname}",
            f"ctrl_interface={self.ctrl_dir}",
            *(f"{k}={v}" for k, v in self.settings.items()),
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start hostapd and wait until its control socket answers PING."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(HOSTAPD), "-d", str(self.conf_path)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + SOCKET_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"hostapd exited with {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError, TimeoutError):
                if self.command("PING", timeout_s=0.2) == "PONG":
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"hostapd's socket {self.ctrl_path} did not answer within {SOCKET_TIMEOUT_S:g} s")
            time.sleep(POLL_S)

    def command(self, text: str, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
        """Send one command on a connection of our own and return the reply (events are not asked for)."""
        local = Path(tempfile.gettempdir()) / f"peer-hapd-{os.getpid()}-{secrets.token_hex(4)}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout_s)
            sock.bind(str(local))
            try:
                sock.connect(str(self.ctrl_path))
                sock.send(text.encode())
                return sock.recv(65536).decode().strip()
            finally:
                local.unlink()

    def state(self) -> str:
        status = dict(line.partition("=")[::2] for line in self.command("STATUS").splitlines())
        return status.get("state", "?")

    def wait_enabled(self, timeout_s: float = ENABLE_TIMEOUT_S) -> None:
        """Wait until STATUS says ENABLED (about 5 s after start with a country code)."""
        deadline = time.monotonic() + timeout_s
        while (state := self.state()) != "ENABLED":
            if time.monotonic() > deadline:
                raise TimeoutError(f"hostapd still in state {state} after {timeout_s:g} s")
            time.sleep(0.05)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: hostapd vanishes without cleaning up (its socket file stays behind)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()


def default_settings(channel: int = 52, country: str = "US") -> dict[str, str]:
    """A 5 GHz AP on a DFS channel at 40 MHz (HT40+), 802.11n and ac, with 802.11d/h."""
    return {
        "ssid": "rrm-test",
        "hw_mode": "a",
        "channel": str(channel),
        "country_code": country,
        "ieee80211d": "1",
        "ieee80211h": "1",
        "ieee80211n": "1",
        "ht_capab": "[HT40+]",
        "ieee80211ac": "1",
        "vht_oper_chwidth": "0",
    }


@contextlib.contextmanager
def running_hostapd(settings: dict[str, str] | None = None) -> Iterator[HostapdPeer]:
    """A started hostapd (skips the test when /usr/sbin/hostapd is missing); stopped and removed after."""
    if not HOSTAPD.is_file():
        pytest.skip(f"{HOSTAPD} is not installed (apt-get install hostapd)")
    folder = Path(tempfile.mkdtemp(prefix="hapd-", dir="/tmp"))
    peer = HostapdPeer(folder, f"rrm{secrets.token_hex(3)}", settings or default_settings())
    try:
        peer.ctrl_dir.mkdir()
        peer.write_conf()
        peer.start()
        yield peer
    finally:
        peer.stop()
        shutil.rmtree(folder, ignore_errors=True)
