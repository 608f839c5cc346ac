"""A real NETCONF server for tests: Debian netconfd (yuma123) behind a private sshd on 127.0.0.1.

netconfd does not speak SSH: sshd runs ``netconf-subsystem``, which joins netconfd's unix socket
(../shared/facts/southbound.md 1a). The gotchas this peer handles:

1. the shared YANG folder holds a stub openconfig-system so access-points loads;
2. (validate-then-commit loses the commit: the driver never validates; nothing to do here);
3. no ``config false`` state and no custom notifications without SIL code: config only;
4. XPath filters need the module prefix (the driver's concern);
5. netconfd's ``--port`` must equal the SSH port, and the subsystem names it:
   ``--ncxserver-sockname=<port>@<socket>``.

The access-points tree also needs ``/provision-aps/provision-ap[mac]/config/hostname`` (the AP
hostname is a leafref into openconfig-ap-manager), so :func:`seed_config` writes both.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from ncclient import manager

from drivers.netconf.openconfig_names import AP_NS, NC_NS
from drivers.netconf.openconfig_xml import RadioKey, add_radio_key

AP_MANAGER_NS = "http://openconfig.net/yang/ap-manager"
REPO = Path(__file__).resolve().parents[2]
YANG_DIR = (
    REPO / "tests" / "data" / "openconfig-yang"
)  # copied from ../shared/yang/openconfig (Apache-2.0, LICENSE inside)
BINARIES = ("/usr/sbin/netconfd", "/usr/sbin/sshd", "/usr/sbin/netconf-subsystem", "ssh-keygen")
START_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class SeedRadio:
    radio_index: int
    frequency: str
    channel: int
    width_mhz: int
    tx_power_dbm: int


DEFAULT_RADIOS = (SeedRadio(0, "FREQ_2GHZ", 6, 20, 17), SeedRadio(1, "FREQ_5GHZ", 36, 80, 20))


def seed_config(hostname: str, radios: tuple[SeedRadio, ...] = DEFAULT_RADIOS, mac: str = "02:00:00:00:00:01") -> str:
    """An edit-config ``<config>`` with one provisioned access point and its radios."""
    root = etree.Element(f"{{{NC_NS}}}config", nsmap={None: NC_NS})
    provision = etree.SubElement(root, f"{{{AP_MANAGER_NS}}}provision-aps", nsmap={None: AP_MANAGER_NS})
    entry = etree.SubElement(provision, f"{{{AP_MANAGER_NS}}}provision-ap")
    etree.SubElement(entry, f"{{{AP_MANAGER_NS}}}mac").text = mac
    config = etree.SubElement(entry, f"{{{AP_MANAGER_NS}}}config")
    etree.SubElement(config, f"{{{AP_MANAGER_NS}}}mac").text = mac
    etree.SubElement(config, f"{{{AP_MANAGER_NS}}}hostname").text = hostname
    aps = etree.SubElement(root, f"{{{AP_NS}}}access-points", nsmap={None: AP_NS})
    ap = etree.SubElement(aps, f"{{{AP_NS}}}access-point")
    etree.SubElement(ap, f"{{{AP_NS}}}hostname").text = hostname
    etree.SubElement(etree.SubElement(ap, f"{{{AP_NS}}}config"), f"{{{AP_NS}}}hostname").text = hostname
    holder = etree.SubElement(ap, f"{{{AP_NS}}}radios")
    for seed in radios:
        radio = etree.SubElement(holder, f"{{{AP_NS}}}radio")
        key = RadioKey(seed.radio_index, seed.frequency)
        add_radio_key(radio, key)
        leaves = etree.SubElement(radio, f"{{{AP_NS}}}config")
        add_radio_key(leaves, key)
        for name, value in (
            ("channel", seed.channel),
            ("channel-bandwidth", seed.width_mhz),
            ("transmit-power", seed.tx_power_dbm),
        ):
            etree.SubElement(leaves, f"{{{AP_NS}}}{name}").text = str(value)
    return str(etree.tostring(root, encoding="unicode"))


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Any, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


def _public_key(path: Path) -> str:
    return " ".join(path.read_text().split()[:2])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class NetconfdPeer:
    """netconfd + sshd in ``workdir``; ``admin()`` is the test's own NETCONF session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.user = getpass.getuser()
        self.client_key = workdir / "client_key"
        self.socket_path = workdir / "ncx.sock"
        self._processes: list[subprocess.Popen[bytes]] = []
        self._admin: Any = None

    def start(self) -> None:
        ssh_dir = self.workdir / "sshd"
        ssh_dir.mkdir(parents=True, exist_ok=True)
        for key in (ssh_dir / "host_key", self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
        shutil.copy(f"{self.client_key}.pub", ssh_dir / "authorized_keys")
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        self._spawn(
            "netconfd",
            "/usr/sbin/netconfd",
            f"--port={self.port}",
            f"--modpath={YANG_DIR}:/usr/share/yuma/modules",
            "--module=openconfig-access-points",
            "--module=openconfig-ap-manager",
            "--no-startup",
            "--target=candidate",
            f"--superuser={self.user}",
            "--access-control=off",
            f"--ncxserver-sockname={self.socket_path}",
            f"--log={self.workdir / 'netconfd.log'}",
        )
        wait_until(self.socket_path.exists, f"netconfd's socket {self.socket_path}")
        config = ssh_dir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {ssh_dir / 'host_key'}",
                    f"AuthorizedKeysFile {ssh_dir / 'authorized_keys'}",
                    f"PidFile {ssh_dir / 'sshd.pid'}",
                    "UsePAM no",
                    "StrictModes no",
                    "PasswordAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "Subsystem netconf /usr/sbin/netconf-subsystem"
                    f" --ncxserver-sockname={self.port}@{self.socket_path}",
                    "",
                ]
            )
        )
        self._spawn("sshd", "/usr/sbin/sshd", "-D", "-e", "-f", str(config))
        wait_until(lambda: _accepts(self.port), f"sshd on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close_session()
            except Exception:  # the peer is going away
                self._admin = None
        for process in reversed(self._processes):
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._processes.clear()

    @property
    def host_public_key(self) -> str:
        """``type base64`` of sshd's host key, for a known_hosts line."""
        return _public_key(self.workdir / "sshd" / "host_key.pub")

    def write_known_hosts(self, path: Path, public_key: str | None = None) -> Path:
        """A known_hosts file for this server: its real host key, or the key in file ``public_key``."""
        key = self.host_public_key if public_key is None else _public_key(Path(public_key))
        path.write_text(f"[127.0.0.1]:{self.port} {key}\n")
        return path

    def url(self, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"key": str(self.client_key), **options}.items())
        return f"netconf://{self.user}@127.0.0.1:{self.port}?{query}"

    def admin(self) -> Any:
        """The test's own ncclient session (another manager, from the driver's point of view)."""
        if self._admin is None or not self._admin.connected:
            self._admin = manager.connect(
                host="127.0.0.1",
                port=self.port,
                username=self.user,
                key_filename=str(self.client_key),
                hostkey_verify=False,
                look_for_keys=False,
                allow_agent=False,
                timeout=10,
            )
        return self._admin

    def seed(self, hostname: str, radios: tuple[SeedRadio, ...] = DEFAULT_RADIOS) -> None:
        """Replace the whole configuration with one access point (edit-config replace + commit)."""
        m = self.admin()
        with m.locked("candidate"):
            m.discard_changes()
            m.edit_config(target="candidate", config=seed_config(hostname, radios), default_operation="replace")
            m.commit()

    def set_channel(self, hostname: str, radio_index: int, frequency: str, channel: int) -> None:
        """Another manager moves a radio (edit-config + commit from the admin session)."""
        m = self.admin()
        root = etree.fromstring(seed_config(hostname, (SeedRadio(radio_index, frequency, channel, 0, 0),)))
        for leaf in root.iter(f"{{{AP_NS}}}channel-bandwidth", f"{{{AP_NS}}}transmit-power"):
            leaf.getparent().remove(leaf)
        with m.locked("candidate"):
            m.edit_config(target="candidate", config=etree.tostring(root, encoding="unicode"))
            m.commit()

    def running_leaf(self, hostname: str, radio_index: int, leaf: str) -> str | None:
        """A leaf of a radio's config in running, read by the admin session (independent of the driver)."""
        data = self.admin().get_config("running").data_ele
        for radio in data.iterfind(f".//{{{AP_NS}}}access-point[{{{AP_NS}}}hostname='{hostname}']//{{{AP_NS}}}radio"):
            if radio.findtext(f"{{{AP_NS}}}id") == str(radio_index):
                found = radio.findtext(f"{{{AP_NS}}}config/{{{AP_NS}}}{leaf}")
                return None if found is None else str(found)
        return None

    def kill_session(self, session_id: str) -> None:
        """<kill-session> from the admin session: the driver's session is gone, as on a link failure."""
        self.admin().kill_session(session_id)

    def _spawn(self, name: str, *argv: str) -> None:
        with open(self.workdir / f"{name}.out", "wb") as log:  # the child keeps its own copy
            self._processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)))
