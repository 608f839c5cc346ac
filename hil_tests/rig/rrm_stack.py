"""The product in the rig: `rrm controller` on the host, `rrm agent --ap-url hostapd://...` in the guest.

The controller listens on the host's loopback (port 0, the port read from its first line) and the guest
reaches it through the rig's guestfwd relay (`Guest.forward_to`, `Guest.partition`). Its store is read
straight from its SQLite `ingest.db` (read-only; the controller's ingest writer is the only writer).
The agent runs from the host's virtualenv inside the guest (`guest_rrm`, its decision log at DEBUG),
with a state folder of its own per start, so no test inherits another's outbox or non-occupancy timers.
Plain text (`--insecure`) is the rig's choice: both ends are ours, inside one test run.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hil_tests.rig.guest import GUEST_FORWARD_ADDR, GUEST_FORWARD_PORT, Event, Guest, GuestError, end_with_parent
from hil_tests.rig.guest_build import REPO_ROOT
from hil_tests.rig.guest_python import PRODUCT_PYTHON, product_module
from hil_tests.rig.hwsim_ap import HwsimBench
from rrm.v1 import agent_link_pb2 as pb

_PORT_LINE = re.compile(r"serving agents on port (\d+)")
# The event loop's "radar fallback list now [36]" and the driver's "radar fallback list [36] set again".
_FALLBACK_LINE = re.compile(r" (\S+): (?:hostapd answers again; )?radar fallback list (?:now )?\[([\d, ]*)\]")


@dataclass(frozen=True)
class StoredReport:
    """An action report as the controller stored it; `received_ms` is the host's wall clock at ingest."""

    report: pb.ActionReport
    received_ms: int


class HostController:
    """`rrm controller --insecure` on 127.0.0.1, its state in `state_dir`; stop() ends it."""

    def __init__(self, state_dir: Path, start_timeout: float = 60.0) -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        argv = [PRODUCT_PYTHON, "-m", "rrm.cli.main", "--log-level", "INFO", "controller", "--listen",
                "127.0.0.1:0", "--state-dir", str(state_dir), "--insecure", "--status-every", "5"]  # fmt: skip
        self.log = state_dir / "controller.log"
        with open(self.log, "wb") as log:
            self._proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True, cwd=REPO_ROOT,
                preexec_fn=lambda: end_with_parent(signal.SIGTERM),  # noqa: PLW1509 - no threads touch it
            )  # fmt: skip
        self.stdout: list[str] = []
        said = threading.Event()
        threading.Thread(target=self._read_stdout, args=(said,), daemon=True).start()
        said.wait(start_timeout)
        found = _PORT_LINE.search(self.stdout[0]) if self.stdout else None
        if found is None:
            self.stop()
            raise GuestError(f"rrm controller did not say its port within {start_timeout:.0f} s: {self.stdout} "
                             f"{self.tail()}")  # fmt: skip
        self.port = int(found.group(1))

    def _read_stdout(self, said: threading.Event) -> None:
        """Keep its stdout drained (a full pipe would stall it); the first line says the port."""
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.stdout.append(line)
            said.set()
        said.set()

    def reachable_from(self, guest: Guest) -> None:
        """Point the guest's relay at this controller (again, after `Guest.partition`)."""
        guest.forward_to("127.0.0.1", self.port)

    def tail(self, lines: int = 8) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def action_reports(self, radio_id: str) -> list[StoredReport]:
        """Every action report stored for the radio, oldest first."""
        path = self.state_dir / "ingest.db"
        if not path.exists():
            return []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0) as conn:
            rows = conn.execute(
                "SELECT a.report, r.received_at_ms FROM action_reports a JOIN received r"
                " ON r.agent_id = a.agent_id AND r.message_id = a.action_id WHERE a.radio_id = ? ORDER BY a.ts_ms",
                (radio_id,),
            ).fetchall()
        return [StoredReport(pb.ActionReport.FromString(blob), int(ms)) for blob, ms in rows]

    def audit_types(self, agent_id: str) -> list[str]:
        """The record types of the agent's audit records the controller stored, oldest first."""
        path = self.state_dir / "ingest.db"
        if not path.exists():
            return []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0) as conn:
            rows = conn.execute("SELECT record FROM agent_audit WHERE agent_id = ? ORDER BY ts_ms", (agent_id,))
            return [pb.AuditRecord.FromString(blob).record_type for (blob,) in rows]

    def wait_audit_type(self, agent_id: str, record_type: str, timeout: float) -> list[str]:
        """The agent's audit record types once ``record_type`` is among them; AssertionError after ``timeout``.

        An agent's audit record is an outbox message of its own beside the action report, stored by
        the controller as it arrives: a report stored does not mean its audit record is (CI, loaded
        machine: the check right after the report found only the agent's policy_update).
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.audit_types(agent_id)
            if record_type in found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {record_type} audit record from {agent_id} in {timeout:g} s: {found}")
            time.sleep(0.2)

    def wait_report(
        self, radio_id: str, match: Callable[[pb.ActionReport], bool], timeout: float, what: str
    ) -> StoredReport:
        deadline = time.monotonic() + timeout
        while True:
            stored = self.action_reports(radio_id)
            found = [s for s in stored if match(s.report)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                seen = [(pb.ActionOrigin.Name(s.report.origin), s.report.after.channel) for s in stored]
                raise GuestError(f"no {what} for {radio_id} in the controller's store within {timeout:.0f} s; "
                                 f"stored: {seen or 'nothing'}; controller: {self.tail(3)}")  # fmt: skip
            time.sleep(0.1)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5.0)


class GuestAgent:
    """`rrm agent` for one hostapd interface in the guest, talking to the controller through the relay."""

    def __init__(self, bench: HwsimBench, agent_id: str, ap_url: str, telemetry_s: float = 2.0) -> None:
        self.bench, self.agent_id = bench, agent_id
        self.state_dir = f"/tmp/rrm-agent-{uuid.uuid4().hex[:8]}"
        host, port = GUEST_FORWARD_ADDR, GUEST_FORWARD_PORT
        argv = product_module(
            "hil_tests.rig.guest_rrm", "--debug", "edge_agent.event_loop", "--", "--log-level", "INFO", "agent",
            "--id", agent_id, "--region", "FCC", "--ap-url", ap_url, "--insecure", "--controller", f"{host}:{port}",
            "--state-dir", self.state_dir, "--telemetry-interval", str(telemetry_s),
        )  # fmt: skip
        self.stream, self.pid = bench.start_process("rrm-agent", argv)
        self.started = bench.guest.events.mark(self.stream)

    def dump_tasks(self) -> str:
        """Ask the agent for the stacks of its asyncio tasks (guest_rrm's SIGUSR1); they land in its log.

        Nothing comes back when the agent's main thread is blocked outside Python.
        """
        mark = self.mark()
        self.bench.guest.run(f"kill -USR1 {self.pid}").check("signalling the agent")
        time.sleep(2.0)
        return "\n".join(self.lines(mark)) or "(no answer to SIGUSR1: the main thread is blocked)"

    def why_stuck(self) -> str:
        """The agent's tasks, each with its innermost frame: for failure messages when it stops progressing."""
        lines = self.dump_tasks().splitlines()
        shown = [line for line in lines if line.startswith(("guest_rrm: task", "  File")) or "Error" in line]
        return " | ".join(shown)[-4000:]

    def mark(self) -> int:
        return self.bench.guest.events.mark(self.stream)

    def wait_line(self, match: str | Callable[[str], bool], timeout: float, after: int | None = None) -> Event:
        return self.bench.guest.events.wait(self.stream, match, timeout, self.started if after is None else after)

    def lines(self, after: int | None = None) -> list[str]:
        return [e.text for e in self.bench.guest.events.events(self.stream)[self.started if after is None else after :]]

    def fallback(self, radio_id: str) -> tuple[int, ...] | None:
        """The radar fallback list the agent last set for the radio (hostapd's chanlist), from its log."""
        last = None
        for line in self.lines():
            found = _FALLBACK_LINE.search(line)
            if found and found.group(1) == radio_id:
                last = tuple(int(c) for c in found.group(2).split(",") if c.strip())
        return last

    def settled_fallback(self, radio_id: str, after: int, timeout: float, settle_s: float) -> int:
        """The head of the fallback list the agent set (or the driver set again) after `after`.

        Waits for the first such line, then `settle_s` more: a new reading may re-rank and change it again.
        """
        self.wait_line(lambda text: "radar fallback list" in text, timeout, after=after)
        time.sleep(settle_s)
        fallback = self.fallback(radio_id)
        if not fallback:
            raise GuestError(f"the agent set no radar fallback for {radio_id}: {self.lines()[-5:]}")
        return fallback[0]

    def stop(self) -> None:
        self.bench.stop_process("rrm-agent")
        self.bench.guest.run(f"rm -rf {self.state_dir}")
