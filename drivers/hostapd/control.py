"""An asyncio client for one hostapd control socket (``<ctrl_dir>/<ifname>``).

The protocol is AF_UNIX SOCK_DGRAM: the client binds a path of its own (hostapd replies to the
sender's address), connects to hostapd's socket, sends an ASCII command and reads one datagram back.
After ATTACH, hostapd also sends unsolicited events (``<3>DFS-RADAR-DETECTED ...``) at any time, in
between replies: one reader task sorts every datagram, handing replies to the waiting request and
queueing events (bounded; when nobody reads, the oldest are dropped and counted in
``dropped_events``). One request is outstanding at a time.

A command that gets no reply in time, or a hostapd that is gone (socket refused or removed), is a
DriverUnavailable naming the AP and the command. After such a failure the connection is reopened
on a fresh socket path before the next command (re-attaching if it was attached), so a late reply
can never answer the wrong command and a restarted hostapd is picked up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
import tempfile
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from drivers.hostapd.messages import HostapdEvent, check_ok, parse_event_line
from drivers.protocol import DriverUnavailable

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3.0
MAX_QUEUED_EVENTS = 1000
RECV_BYTES = 65536  # STATUS and ALL_STA on a busy AP exceed hostapd's usual 4 KB
_MAX_SUN_PATH = 107
_sequence = itertools.count()


class EventTimeout(DriverUnavailable):
    """No matching event arrived within the timeout."""


class HostapdControl:
    """One control connection; ``who`` (the AP or radio id) names it in every error."""

    def __init__(self, ctrl_path: Path, who: str, *, max_events: int = MAX_QUEUED_EVENTS) -> None:
        self.ctrl_path = ctrl_path
        self.who = who
        self.dropped_events = 0
        self.stray_replies = 0
        self._max_events = max_events
        self._events: deque[HostapdEvent] = deque()
        self._arrived = asyncio.Event()
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future[str] | None = None
        self._sock: socket.socket | None = None
        self._local_path: Path | None = None
        self._reader: asyncio.Task[None] | None = None
        self._attached = False
        self._stale = False
        self._closed = False

    @classmethod
    async def connect(cls, ctrl_path: Path, who: str, *, max_events: int = MAX_QUEUED_EVENTS) -> HostapdControl:
        """Open the connection; DriverUnavailable when there is no hostapd at ``ctrl_path``."""
        control = cls(ctrl_path, who, max_events=max_events)
        control._open("connect")
        return control

    @property
    def attached(self) -> bool:
        return self._attached

    async def request(self, command: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
        """Send one command and return hostapd's reply text (``OK\\n``, ``FAIL\\n``, key=value lines...)."""
        async with self._lock:
            if self._closed:
                raise DriverUnavailable(self.who, command, "the control connection is closed")
            if self._stale:
                await self._reopen(command, timeout_s)
            return await self._exchange(command, timeout_s)

    async def attach(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Subscribe to events (ATTACH); they queue until read with :meth:`wait_event`."""
        check_ok(await self.request("ATTACH", timeout_s), self.who, "ATTACH")
        self._attached = True

    async def detach(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._attached = False
        check_ok(await self.request("DETACH", timeout_s), self.who, "DETACH")

    async def wait_event(self, prefixes: Sequence[str] = (), timeout_s: float | None = None) -> HostapdEvent:
        """The next queued event whose name starts with one of ``prefixes`` (any event when empty).

        Events that do not match are consumed and skipped. EventTimeout when none arrives within
        ``timeout_s`` seconds (None waits for ever); DriverUnavailable once the connection is closed.
        """
        wanted = tuple(prefixes)
        what = f"wait for {', '.join(wanted) or 'any event'}"
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while True:
            while self._events:
                event = self._events.popleft()
                if not wanted or event.name.startswith(wanted):
                    return event
            if self._closed:
                raise DriverUnavailable(self.who, what, "the control connection is closed")
            self._arrived.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise EventTimeout(self.who, what, f"no such event from {self.ctrl_path} within {timeout_s:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def close(self, timeout_s: float = 1.0) -> None:
        """DETACH (when attached and reachable), close the socket and unlink its path."""
        if self._closed:
            return
        if self._attached and not self._stale:
            with contextlib.suppress(DriverUnavailable):
                await self.detach(timeout_s)
        self._closed = True
        self._shut()
        self._arrived.set()

    # ------------------------------------------------------------------ the socket

    async def _exchange(self, command: str, timeout_s: float) -> str:
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        pending: asyncio.Future[str] = loop.create_future()
        self._pending = pending
        try:
            try:
                await loop.sock_sendall(self._sock, command.encode())
            except OSError as exc:
                self._stale = True
                raise DriverUnavailable(
                    self.who, command, f"hostapd at {self.ctrl_path} is gone ({exc.strerror or exc})"
                ) from None
            try:
                return await asyncio.wait_for(pending, timeout_s)
            except TimeoutError:
                self._stale = True  # a late reply must not answer the next command
                raise DriverUnavailable(
                    self.who, command, f"no reply from hostapd at {self.ctrl_path} within {timeout_s:g} s"
                ) from None
        finally:
            self._pending = None

    async def _reopen(self, command: str, timeout_s: float) -> None:
        self._shut()
        self._open(command)
        self._stale = False
        if self._attached:
            try:
                check_ok(await self._exchange("ATTACH", timeout_s), self.who, "ATTACH")
            except DriverUnavailable:
                self._stale = True
                raise

    def _open(self, operation: str) -> None:
        path = _local_socket_path()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        try:
            sock.bind(str(path))
            sock.connect(str(self.ctrl_path))
        except OSError as exc:
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._stale = True
            raise DriverUnavailable(
                self.who, operation, f"cannot reach hostapd at {self.ctrl_path} ({exc.strerror or exc})"
            ) from None
        self._sock, self._local_path = sock, path
        self._reader = asyncio.get_running_loop().create_task(self._read(sock), name=f"hostapd-ctrl {self.who}")

    def _shut(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._local_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._local_path.unlink()
            self._local_path = None

    async def _read(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.sock_recv(sock, RECV_BYTES)
            except OSError as exc:
                log.warning("%s: control socket read failed: %s", self.who, exc)
                self._stale = True
                return
            text = data.decode("utf-8", "replace")
            event = parse_event_line(text)
            if event is not None:
                self._queue(event)
            elif self._pending is not None and not self._pending.done():
                self._pending.set_result(text)
            else:
                self.stray_replies += 1
                log.debug("%s: reply nobody waits for: %r", self.who, text[:80])

    def _queue(self, event: HostapdEvent) -> None:
        if len(self._events) >= self._max_events:
            self._events.popleft()
            self.dropped_events += 1
            if self.dropped_events == 1 or self.dropped_events % 100 == 0:
                log.warning("%s: dropped %d unread hostapd events", self.who, self.dropped_events)
        self._events.append(event)
        self._arrived.set()


def _local_socket_path() -> Path:
    """A fresh path for our end of the connection, short enough for sockaddr_un."""
    name = f"rrm-hapd-{os.getpid()}-{next(_sequence)}-{secrets.token_hex(3)}"
    path = Path(tempfile.gettempdir()) / name
    if len(str(path)) > _MAX_SUN_PATH:
        path = Path("/tmp") / name
    return path
