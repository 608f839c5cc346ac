"""The host's end of the rig agent's JSON-lines protocol (`guest_agent`), whatever carries the bytes.

One JSON object per line. The host sends `{"id": N, "op": ..., ...}` and waits for the answer with the same
`id`; lines with a `stream` are events, kept in an `EventLog`; `{"ready": true}` says the agent has started.
Two carriers subclass `AgentClient`: the QEMU guest's virtio-serial port (`guest.Guest`) and an SSH session
to a lab host (`lab_ssh.SshRigAgent`). Each sends a line with `_send`, says in `_unusable` why it cannot
send now, and feeds what it receives to `_receive` in a reader thread, then `_ended` when the stream ends.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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


class AgentClient:
    """Requests to the rig agent matched to their answers, and its events; a carrier subclass moves the bytes.

    Errors name the op as `{kind} op OP{place}`, e.g. `guest op run` or `lab op run on root@ap1:22`.
    """

    def __init__(self, kind: str, place: str = "") -> None:
        self.events = EventLog()
        self._kind, self._place = kind, place
        self._ready = threading.Event()
        self._send_lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._next_id = 0

    def _send(self, data: bytes) -> None:
        """Send one encoded request line to the agent (called under the send lock)."""
        raise NotImplementedError

    def _unusable(self) -> str:
        """Why no request can be sent now; empty when one can."""
        raise NotImplementedError

    def _receive(self, recv: Callable[[int], bytes]) -> None:
        """Dispatch the agent's lines as `recv` returns them, until it returns nothing or fails."""
        buffer = b""
        while True:
            try:
                chunk = recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return
            now = time.monotonic()
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self._dispatch(json.loads(line), now)

    def _ended(self, reason: str) -> None:
        """The stream from the agent ended: waits on events fail with `reason`, waiting requests return."""
        self.events.close(reason)
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
        """Run one agent op and return its result; GuestError if it failed or did not answer."""
        unusable = self._unusable()
        if unusable:
            raise GuestError(f"{self._kind} op {op}{self._place}: {unusable}")
        with self._send_lock:
            self._next_id += 1
            rid = self._next_id
            done, slot = threading.Event(), list[dict[str, Any]]()
            self._pending[rid] = (done, slot)
            self._send((json.dumps({"id": rid, "op": op, **args}) + "\n").encode())
        try:
            if not done.wait(within) or not slot:
                why = self.events.closed_reason or f"no answer within {within:.1f} s"
                raise GuestTimeout(f"{self._kind} op {op} {args}{self._place}: {why}")
        finally:
            self._pending.pop(rid, None)
        if not slot[0]["ok"]:
            raise GuestError(f"{self._kind} op {op}{self._place} failed: {slot[0]['error']}")
        return slot[0]["result"]

    def run(self, sh: str, timeout: float = 30.0) -> CommandResult:
        """A shell command where the agent runs; its exit status, stdout and stderr. GuestTimeout if it ran too long."""
        got = self.call("run", within=timeout + 10.0, sh=sh, timeout=timeout)
        if got["timed_out"]:
            raise GuestTimeout(f"{self._kind} command {sh!r}{self._place} still running after {timeout:.1f} s; "
                               f"output: {got['out'][-300:]}")  # fmt: skip
        return CommandResult(int(got["rc"]), str(got["out"]), str(got["err"]))
