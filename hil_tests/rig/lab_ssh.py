"""The rig agent on a lab AP host, over one SSH connection (paramiko): the `RigChannel` of the lab target.

Why paramiko and not the `ssh` binary: it is already a dependency (NETCONF), one authenticated
transport carries the long-lived agent session and every file transfer as separate channels (no
per-command handshake, no ControlMaster sockets), and host-key checking reuses the NETCONF driver's
strict / accept-new / insecure policy. Nothing is installed on the AP: the stdlib rig agent
(`guest_agent`, `guest_radio_ops`, `short_cac_crda`, `lab_rig_agent`) is sent as a tar stream into the
AP's work folder and run with its `python3`; it speaks the guest's JSON-lines protocol on the
session's stdin/stdout, and its stderr is kept for failure messages. Event times are the AP's clock.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import threading
import time
from pathlib import Path

import paramiko

from drivers.netconf.host_keys import HostKeyPolicy
from drivers.netconf.target import HostKeyCheck
from hil_tests.rig.agent_client import AgentClient, GuestError
from hil_tests.rig.guest_build import REPO_ROOT
from hil_tests.rig.lab_inventory import SshAccess

AGENT_FILES = ("hil_tests/__init__.py", "hil_tests/rig/__init__.py", "hil_tests/rig/guest_agent.py",
               "hil_tests/rig/guest_radio_ops.py", "hil_tests/rig/short_cac_crda.py",
               "hil_tests/rig/lab_rig_agent.py")  # fmt: skip


class LabUnreachable(GuestError):
    """The lab host could not be reached, authenticated or started; the message names the host and why."""


class _CheckedHostKeys(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]  # paramiko is untyped
    """paramiko's hook for a host key not in known_hosts: decided by the NETCONF driver's policy."""

    def __init__(self, policy: HostKeyPolicy) -> None:
        self.policy = policy

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.policy.unknown_host(hostname, key.fingerprint):
            raise paramiko.SSHException(self.policy.refused_reason)
        self.policy.record(key)


def agent_bundle() -> bytes:
    """The stdlib rig agent as a tar stream, paths relative to the work folder's `rig/`."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name in AGENT_FILES:
            tar.add(str(REPO_ROOT / name), arcname=name)
    return out.getvalue()


def connect(access: SshAccess) -> paramiko.SSHClient:
    """An authenticated SSH client for `access`, host key checked by its policy; LabUnreachable otherwise."""
    client = paramiko.SSHClient()
    policy = HostKeyPolicy(access.known_hosts, access.host, access.port, access.known_hosts_file)
    if access.known_hosts is HostKeyCheck.INSECURE:
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    else:
        if policy.file.exists():
            client.load_host_keys(str(policy.file))
        client.set_missing_host_key_policy(_CheckedHostKeys(policy))
    where = f"{access.user}@{access.host}:{access.port}"
    try:
        client.connect(
            access.host, access.port, username=access.user, key_filename=str(access.key_file), look_for_keys=False,
            allow_agent=False, timeout=access.connect_timeout_s, banner_timeout=access.connect_timeout_s,
            auth_timeout=access.connect_timeout_s,
        )  # fmt: skip
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise LabUnreachable(f"SSH to {where}: the host key changed ({exc}); fix {policy.file} if expected") from None
    except (OSError, paramiko.SSHException) as exc:
        client.close()
        raise LabUnreachable(f"SSH to {where} failed: {type(exc).__name__}: {exc}") from None
    return client


class SshRigAgent(AgentClient):
    """One lab host: the rig agent running there over SSH, with requests, events and file transfers."""

    def __init__(self, access: SshAccess, rig_python: str, work_dir: str) -> None:
        self.where = f"{access.user}@{access.host}:{access.port}"
        super().__init__("lab", f" on {self.where}")
        self.access, self.rig_python, self.work_dir = access, rig_python, work_dir
        self.connect_s = 0.0
        self._client: paramiko.SSHClient | None = None
        self._chan: paramiko.Channel | None = None
        self._stderr: list[str] = []

    def open(self, ready_timeout: float = 60.0) -> None:
        """Connect, send the agent, start it and wait for its `ready`; LabUnreachable naming what failed."""
        started = time.monotonic()
        self._client = connect(self.access)
        self.connect_s = time.monotonic() - started
        rig = f"{self.work_dir}/rig"
        self.exec_bytes(f"mkdir -p {rig} && tar -xf - -C {rig}", agent_bundle(), "sending the rig agent")
        chan = self._transport().open_session()
        chan.exec_command(f"cd {rig} && exec {shlex.quote(self.rig_python)} -S -u -m hil_tests.rig.lab_rig_agent")
        self._chan = chan
        threading.Thread(target=self._read, args=(chan,), name=f"lab-{self.access.host}", daemon=True).start()
        threading.Thread(
            target=self._read_stderr, args=(chan,), name=f"lab-err-{self.access.host}", daemon=True
        ).start()
        if not self._ready.wait(ready_timeout):
            self.close()
            raise LabUnreachable(f"the rig agent on {self.where} did not start within {ready_timeout:.0f} s; "
                                 f"{self.rig_python} said: {self.stderr_tail() or 'nothing'}")  # fmt: skip

    def _transport(self) -> paramiko.Transport:
        transport = self._client.get_transport() if self._client is not None else None
        if transport is None or not transport.is_active():
            raise LabUnreachable(f"the SSH connection to {self.where} is closed")
        return transport

    def exec_bytes(self, command: str, stdin: bytes, what: str, timeout: float = 60.0) -> bytes:
        """Run one command in its own channel with `stdin`; its stdout, or GuestError naming `what`."""
        chan = self._transport().open_session()
        chan.settimeout(timeout)
        try:
            chan.exec_command(command)
            chan.sendall(stdin)
            chan.shutdown_write()
            out = chan.makefile("rb").read()  # until the command closes its stdout
            err = chan.makefile_stderr("rb").read()
            rc = chan.recv_exit_status()
        except OSError as exc:
            raise GuestError(f"{what} on {self.where}: {type(exc).__name__}: {exc}") from None
        finally:
            chan.close()
        if rc != 0:
            raise GuestError(f"{what} on {self.where} failed (exit {rc}): {err.decode(errors='replace')[-400:]}")
        return bytes(out)

    def fetch(self, remote: str, local: Path) -> int:
        """Copy a file from the lab host (a capture); its size."""
        data = self.exec_bytes(f"cat {shlex.quote(remote)}", b"", f"reading {remote}")
        local.write_bytes(data)
        return len(data)

    def _read(self, chan: paramiko.Channel) -> None:
        self._receive(chan.recv)
        self._ended(f"the rig agent's SSH session to {self.where} ended; {self.stderr_tail()}")

    def _read_stderr(self, chan: paramiko.Channel) -> None:
        for raw in iter(lambda: chan.recv_stderr(4096), b""):
            self._stderr.extend(raw.decode(errors="replace").splitlines())
            del self._stderr[:-40]

    def stderr_tail(self) -> str:
        return " | ".join(self._stderr[-6:])

    def _send(self, data: bytes) -> None:
        assert self._chan is not None
        self._chan.sendall(data)

    def _unusable(self) -> str:
        return self.events.closed_reason or ("not connected" if self._chan is None else "")

    def round_trip_ms(self) -> float:
        """One `ping` through the agent: SSH there and back plus the agent's dispatch."""
        started = time.monotonic()
        self.call("ping", within=10.0)
        return (time.monotonic() - started) * 1000

    def alive(self) -> bool:
        return self._chan is not None and not self.events.closed_reason

    def close(self) -> None:
        """End the session; the agent then stops everything it started on the lab host."""
        chan, self._chan = self._chan, None
        if chan is not None:
            chan.shutdown_write()
            deadline = time.monotonic() + 10.0
            while not chan.exit_status_ready() and time.monotonic() < deadline:
                time.sleep(0.05)
            chan.close()
        if self._client is not None:
            self._client.close()
            self._client = None
