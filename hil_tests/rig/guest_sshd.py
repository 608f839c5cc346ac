"""The lab target's proof: sshd in the hwsim guest, and an inventory pointing the lab bench at its radios.

The guest sees the host's /usr/sbin/sshd (openssh-server) over 9p. Its host key is made in the guest's
tmpfs, the test's client key pair on the host (`cryptography`, no ssh-keygen needed); the host key goes
into a known_hosts file, so the lab bench checks it strictly, as it would a real AP's. QEMU forwards the
host's 127.0.0.1:`Guest.ssh_port` to the guest's port 22. The inventory names the guest's three hwsim
radios (AP, station, monitor), hwsim's debugfs radar file, and a `reset_command` that reloads
mac80211_hwsim, the way a lab would reload ath10k for fresh DFS state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hil_tests.rig.guest import GuestError
from hil_tests.rig.hwsim_ap import HwsimBench
from hil_tests.rig.lab_inventory import FORMAT, VERSION

SSHD_DIR = "/tmp/rrm-lab-sshd"  # in the guest's tmpfs overlay
HWSIM_RADAR = "debugfs:/sys/kernel/debug/ieee80211/{phy}/hwsim/dfs_simulate_radar"
SSHD_CONFIG = f"""Port 22
ListenAddress 0.0.0.0
HostKey {SSHD_DIR}/host_ed25519
AuthorizedKeysFile {SSHD_DIR}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {SSHD_DIR}/sshd.pid
LogLevel INFO
"""


@dataclass(frozen=True)
class GuestSshd:
    port: int  # on the host's 127.0.0.1
    key_file: Path  # the client's private key (OpenSSH format)
    known_hosts_file: Path  # the guest's host key, as `[127.0.0.1]:port`


def client_key_pair(key_file: Path) -> str:
    """A fresh Ed25519 key pair: the private key written to `key_file`, the public key line returned."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    key_file.write_bytes(private)
    key_file.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.decode() + " rrm-hil-lab-proof"


def start_guest_sshd(bench: HwsimBench, keys_dir: Path, timeout: float = 60.0) -> GuestSshd:
    """sshd in the guest (a bench process: the autouse fixture stops it), reachable from the host over SSH."""
    guest = bench.guest
    guest.enable_network()
    key_file = keys_dir / "lab_proof_ed25519"
    public = client_key_pair(key_file)
    guest.run(
        f"rm -rf {SSHD_DIR} && mkdir -p {SSHD_DIR} /run/sshd && chmod 700 {SSHD_DIR} && "
        f"ssh-keygen -q -t ed25519 -N '' -f {SSHD_DIR}/host_ed25519"
    ).check("making the guest's SSH host key")
    guest.call("write_file", path=f"{SSHD_DIR}/authorized_keys", data=public + "\n")
    guest.call("write_file", path=f"{SSHD_DIR}/sshd_config", data=SSHD_CONFIG)
    guest.run(f"/usr/sbin/sshd -t -f {SSHD_DIR}/sshd_config").check("sshd -t (its configuration)")
    mark = guest.events.mark("sshd-out")  # a previous test's sshd said it too
    stream, _pid = bench.start_process("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", f"{SSHD_DIR}/sshd_config"])
    guest.events.wait(stream, "Server listening on 0.0.0.0", timeout, after=mark)
    host_key = guest.run(f"cat {SSHD_DIR}/host_ed25519.pub").check("reading the guest's host key").split()
    if len(host_key) < 2:
        raise GuestError(f"the guest's host key file looks wrong: {host_key}")
    known_hosts = keys_dir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{guest.ssh_port} {host_key[0]} {host_key[1]}\n")
    return GuestSshd(guest.ssh_port, key_file, known_hosts)


def proof_inventory(sshd: GuestSshd, test_cac_ms: int, radios: int, **ap_overrides: object) -> dict[str, object]:
    """An rrm-lab-inventory for the guest's hwsim radios over SSH (`ap_overrides` replace AP keys)."""
    ap: dict[str, object] = {
        "name": "hwsim-guest",
        "ssh": {"host": "127.0.0.1", "port": sshd.port, "user": "root", "key_file": str(sshd.key_file),
                "known_hosts": "strict", "known_hosts_file": str(sshd.known_hosts_file)},
        "rig_python": "/usr/bin/python3",
        "work_dir": "/tmp/rrm-hil-lab",
        "hostapd": "/usr/sbin/hostapd",
        "wpa_supplicant": "/usr/sbin/wpa_supplicant",
        "reset_command": f"rmmod mac80211_hwsim && modprobe mac80211_hwsim radios={radios}",
        "radio": {"iface": "wlan0", "radar": HWSIM_RADAR},
        "station": {"iface": "wlan1"},
        "monitor": {"iface": "wlan2"},
    }  # fmt: skip
    ap.update(ap_overrides)
    ap = {key: value for key, value in ap.items() if value is not None}
    return {"format": FORMAT, "version": VERSION, "country": "US", "test_cac_ms": test_cac_ms, "aps": [ap]}


def write_inventory(path: Path, inventory: dict[str, object]) -> Path:
    """JSON is YAML too: the loader reads either."""
    path.write_text(json.dumps(inventory, indent=2) + "\n")
    return path
