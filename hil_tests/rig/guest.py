"""Boot the HIL guest under QEMU (TCG) and talk to the rig agent inside it (../shared/facts/hil.md, section 1).

The guest's root is the host's `/` over virtio-9p (read-only, tmpfs overlay); `workdir` is a read-write
9p share at the same path inside the guest. The command channel is a virtio-serial port carrying JSON
lines to `guest_agent`. The agent-to-controller link is `10.0.2.100:GUEST_PORT` in the guest, relayed by
`tcp_relay` to whatever `HOST:PORT` is written in `workdir/relay_target` (`Guest.forward_to`); `partition`
cuts that link until the next `forward_to`.
QEMU never outlives its owner: `close()` powers off then kills, an atexit hook closes stragglers, and
the QEMU process gets SIGKILL if the thread that started it dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil_tests.rig.guest_build import REPO_ROOT, GuestImage

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


class GuestError(RuntimeError):
    """The guest or an operation in it failed; the message says which and what it saw."""


class GuestTimeout(GuestError):
    """A wait ran out; the message names the event waited for and the last events seen."""


@dataclass(frozen=True)
class Event:
    stream: str
    text: str
    guest_t: float  # guest time.time() when the guest saw it
    host_t: float  # host time.monotonic() when it reached the host
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommandResult:
    rc: int
    out: str
    err: str

    def check(self, what: str) -> str:
        if self.rc != 0:
            raise GuestError(f"{what} failed in the guest (exit {self.rc}): {(self.err or self.out).strip()[-500:]}")
        return self.out


@dataclass(frozen=True)
class RigSession:
    """What a test session built and booted, with its timings (test_rig reports them as figures)."""

    build_s: float
    boot_s: float
    kernel_release: str


class EventLog:
    """Events per stream, in arrival order, with waits that time out naming what they saw."""

    def __init__(self) -> None:
        self._events: dict[str, list[Event]] = {}
        self._cond = threading.Condition()
        self.closed_reason = ""

    def add(self, event: Event) -> None:
        with self._cond:
            self._events.setdefault(event.stream, []).append(event)
            self._cond.notify_all()

    def close(self, reason: str) -> None:
        with self._cond:
            self.closed_reason = reason
            self._cond.notify_all()

    def events(self, stream: str) -> list[Event]:
        with self._cond:
            return list(self._events.get(stream, []))

    def mark(self, stream: str) -> int:
        """An index to wait from: only events arriving after this call count."""
        return len(self.events(stream))

    def wait(self, stream: str, match: str | Callable[[str], bool], timeout: float, after: int = 0) -> Event:
        test = match if callable(match) else (lambda text: text.startswith(match) or f" {match}" in text)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = self._events.get(stream, [])
                for event in seen[after:]:
                    if test(event.text):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.closed_reason:
                    wanted = match if isinstance(match, str) else getattr(match, "__doc__", None) or "a matching event"
                    last = [e.text[:120] for e in seen[after:]][-6:]
                    why = f" ({self.closed_reason})" if self.closed_reason else ""
                    raise GuestTimeout(
                        f"no {wanted!r} on {stream} within {timeout:.1f} s{why}; saw: {last or 'nothing'}"
                    )
                self._cond.wait(timeout=min(left, 1.0))


class Guest:
    """One QEMU guest with the rig agent running; use as a context manager or call close()."""

    def __init__(self, image: GuestImage, workdir: Path, memory_mb: int = 256) -> None:
        for path in (workdir, REPO_ROOT, image.vmlinux, image.modules_dir):
            if any(c in str(path) for c in ", \t"):
                raise GuestError(f"{path}: QEMU options and the kernel command line cannot carry commas or spaces")
        self.image, self.workdir, self.memory_mb = image, workdir, memory_mb
        self.events = EventLog()
        self.boot_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._next_id = 0
        self._ready = threading.Event()
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
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            now = time.monotonic()
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self._dispatch(json.loads(line), now)
        self.events.close("the guest's control channel closed")
        for done, _slot in list(self._pending.values()):
            done.set()

    def _dispatch(self, message: dict[str, Any], now: float) -> None:
        if "id" in message:
            done, slot = self._pending.get(message["id"], (None, None))
            if done is not None and slot is not None:
                slot.append(message)
                done.set()
        elif "stream" in message:
            extra = {k: v for k, v in message.items() if k not in ("stream", "line", "t")}
            self.events.add(Event(message["stream"], message["line"], float(message["t"]), now, extra))
        elif message.get("ready"):
            self._ready.set()

    def call(self, op: str, within: float = 30.0, **args: object) -> Any:
        """Run one agent op in the guest and return its result; GuestError if it failed or did not answer."""
        if self._sock is None:
            raise GuestError(f"guest op {op}: the guest is not running")
        with self._send_lock:
            self._next_id += 1
            rid = self._next_id
            done, slot = threading.Event(), list[dict[str, Any]]()
            self._pending[rid] = (done, slot)
            self._sock.sendall((json.dumps({"id": rid, "op": op, **args}) + "\n").encode())
        try:
            if not done.wait(within) or not slot:
                why = self.events.closed_reason or f"no answer within {within:.1f} s"
                raise GuestTimeout(f"guest op {op} {args}: {why}")
        finally:
            self._pending.pop(rid, None)
        if not slot[0]["ok"]:
            raise GuestError(f"guest op {op} failed: {slot[0]['error']}")
        return slot[0]["result"]

    def run(self, sh: str, timeout: float = 30.0) -> CommandResult:
        """A shell command in the guest; its exit status, stdout and stderr. GuestTimeout if it ran too long."""
        got = self.call("run", within=timeout + 10.0, sh=sh, timeout=timeout)
        if got["timed_out"]:
            raise GuestTimeout(f"guest command {sh!r} still running after {timeout:.1f} s; output: {got['out'][-300:]}")
        return CommandResult(int(got["rc"]), str(got["out"]), str(got["err"]))

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
