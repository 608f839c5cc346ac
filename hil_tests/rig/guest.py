"""Boot the HIL guest under QEMU (TCG) and talk to the rig agent inside it (../shared/facts/hil.md, section 1).

The guest's root is the host's `/` over virtio-9p (read-only, tmpfs overlay); `workdir` is a read-write
9p share at the same path inside the guest. The command channel is a virtio-serial port carrying JSON
lines to `guest_agent` (the host's end is `agent_client.AgentClient`). The agent-to-controller link is
`10.0.2.100:GUEST_PORT` in the guest, relayed by `tcp_relay` to whatever `HOST:PORT` is written in
`workdir/relay_target` (`Guest.forward_to`); `partition` cuts that link until the next `forward_to`.
QEMU never outlives its owner: `close()` powers off then kills, an atexit hook closes stragglers, and
the QEMU process gets SIGKILL if the thread that started it dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hil_tests.rig.agent_client import AgentClient, Event, GuestError, GuestTimeout
from hil_tests.rig.guest_build import REPO_ROOT, GuestImage

# Event and the errors live with the protocol (agent_client); the rig's modules and tests import them from here.
__all__ = [
    "GUEST_FORWARD_ADDR", "GUEST_FORWARD_PORT", "GUEST_SSH_PORT", "Event", "Guest", "GuestError", "GuestTimeout",
    "RigSession", "end_with_parent", "free_local_port",
]  # fmt: skip
GUEST_FORWARD_ADDR = "10.0.2.100"
GUEST_FORWARD_PORT = 7000
GUEST_SSH_PORT = 22  # QEMU forwards 127.0.0.1:Guest.ssh_port on the host here (sshd, for the lab target's proof)
_LIVE: set[Guest] = set()
_prctl = ctypes.CDLL(None, use_errno=True).prctl
PR_SET_PDEATHSIG = 1


def free_local_port() -> int:
    """A TCP port free on the host's loopback now (QEMU's hostfwd needs a number up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def end_with_parent(sig: int = signal.SIGKILL) -> None:
    """For `preexec_fn`: the child gets `sig` when the thread that started it dies (PR_SET_PDEATHSIG)."""
    _prctl(PR_SET_PDEATHSIG, sig)


@dataclass(frozen=True)
class RigSession:
    """What a test session built and booted, with its timings (test_rig reports them as figures)."""

    build_s: float
    boot_s: float
    kernel_release: str


class Guest(AgentClient):
    """One QEMU guest with the rig agent running; use as a context manager or call close()."""

    def __init__(self, image: GuestImage, workdir: Path, memory_mb: int = 256) -> None:
        for path in (workdir, REPO_ROOT, image.vmlinux, image.modules_dir):
            if any(c in str(path) for c in ", \t"):
                raise GuestError(f"{path}: QEMU options and the kernel command line cannot carry commas or spaces")
        super().__init__("guest")
        self.image, self.workdir, self.memory_mb = image, workdir, memory_mb
        self.boot_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self.ssh_port = free_local_port()

    @property
    def console_log(self) -> Path:
        return self.workdir / "console.log"

    def qemu_argv(self) -> list[str]:
        python = os.path.realpath(sys.executable)
        relay = f"{python} -S {REPO_ROOT}/hil_tests/rig/tcp_relay.py {self.workdir}/relay_target"
        append = (
            f"console=ttyS0 quiet loglevel=4 panic=-1 hil_init={REPO_ROOT}/hil_tests/rig/guest_init.sh "
            f"hil_work={self.workdir} hil_kmods={self.image.modules_dir} hil_repo={REPO_ROOT} hil_python={python}"
        )
        return [
            "qemu-system-x86_64", "-accel", "tcg,tb-size=128", "-cpu", "max", "-m", str(self.memory_mb),
            "-smp", "1", "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", str(self.image.vmlinux), "-initrd", str(self.image.initramfs), "-append", append,
            "-fsdev", "local,security_model=none,id=fsroot,path=/,readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=fsroot,mount_tag=/dev/root",
            "-fsdev", f"local,security_model=none,id=fshil,path={self.workdir}",
            "-device", "virtio-9p-pci,fsdev=fshil,mount_tag=hil",
            "-netdev", f"user,id=n0,restrict=on,guestfwd=tcp:{GUEST_FORWARD_ADDR}:{GUEST_FORWARD_PORT}-cmd:{relay}"
                       f",hostfwd=tcp:127.0.0.1:{self.ssh_port}-:{GUEST_SSH_PORT}",
            "-device", "virtio-net-pci,netdev=n0,romfile=",
            "-device", "virtio-serial-pci",
            "-chardev", f"socket,id=ctl,path={self.workdir}/ctl.sock,server=on,wait=off",
            "-device", "virtserialport,chardev=ctl,name=rig.ctl",
            "-chardev", f"file,id=con,path={self.console_log}", "-serial", "chardev:con",
        ]  # fmt: skip

    def start(self, boot_timeout: float = 120.0) -> None:
        """Start QEMU and wait until the rig agent in the guest says it is ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "ctl.sock").unlink(missing_ok=True)
        started = time.monotonic()
        self._proc = subprocess.Popen(
            self.qemu_argv(),
            stdin=subprocess.DEVNULL,
            stdout=open(self.workdir / "qemu.log", "wb"),  # noqa: SIM115 - the child keeps it
            stderr=subprocess.STDOUT,
            preexec_fn=end_with_parent,  # noqa: PLW1509 - no threads touch it
        )
        _LIVE.add(self)
        try:
            self._connect(deadline=started + 15.0)
            if not self._ready.wait(timeout=boot_timeout):
                raise GuestTimeout(f"no 'ready' from the guest agent within {boot_timeout:.0f} s; {self._tail()}")
        except BaseException:
            self.close()
            raise
        self.boot_seconds = time.monotonic() - started

    def _connect(self, deadline: float) -> None:
        path = str(self.workdir / "ctl.sock")
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise GuestError(f"qemu exited with {self._proc.returncode} at start; {self._tail()}")
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(path)
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise GuestError(f"qemu did not open its control socket {path}; {self._tail()}") from None
                time.sleep(0.05)
        self._sock = sock
        threading.Thread(target=self._read, name="guest-reader", daemon=True).start()

    def _read(self) -> None:
        assert self._sock is not None
        self._receive(self._sock.recv)
        self._ended("the guest's control channel closed")

    def _send(self, data: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(data)

    def _unusable(self) -> str:
        return "the guest is not running" if self._sock is None else ""

    def enable_network(self) -> None:
        """Bring up the guest's virtio NIC (slirp, restrict=on: only the forwarded address is reachable)."""
        self.run(
            "modprobe virtio_net && ip link set eth0 up && "
            "(ip -4 addr show dev eth0 | grep -q 10.0.2.15 || ip addr add 10.0.2.15/24 dev eth0)"
        ).check("bringing up the guest NIC")

    def forward_to(self, host: str, port: int) -> tuple[str, int]:
        """Point the guest's forwarded address at HOST:PORT; returns the address the guest connects to."""
        self._write_relay_target(f"{host}:{port}")
        return GUEST_FORWARD_ADDR, GUEST_FORWARD_PORT

    def partition(self) -> None:
        """Cut the guest's link to the host: open relays close within 0.1 s, new connections are closed at once.

        `forward_to` heals it.
        """
        self._write_relay_target("down")

    def relay_notes(self) -> list[str]:
        """What the relays noted (links cut, connections refused in a partition), oldest first."""
        path = self.workdir / "relay.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def _write_relay_target(self, text: str) -> None:
        staged = self.workdir / "relay_target.new"
        staged.write_text(text + "\n")
        staged.replace(self.workdir / "relay_target")  # atomic: a relay never reads half a target

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and not self.events.closed_reason

    def _tail(self) -> str:
        text = self.console_log.read_text(errors="replace") if self.console_log.exists() else ""
        return "console: " + (" | ".join(text.strip().splitlines()[-8:]) or "empty")

    def close(self, timeout: float = 15.0) -> None:
        """Power the guest off; kill QEMU if it has not exited within `timeout`."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            if self._sock is not None and not self.events.closed_reason:
                with contextlib.suppress(GuestError):
                    self.call("poweroff", within=3.0)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10.0)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        _LIVE.discard(self)

    def __enter__(self) -> Guest:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@atexit.register
def _close_all() -> None:
    for guest in list(_LIVE):
        guest.close(timeout=5.0)
