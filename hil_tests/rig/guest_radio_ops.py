"""Guest-side radio plumbing for the rig agent (stdlib only): hostapd/wpa_supplicant control sockets and pcap capture.

Runs inside the HIL guest. Control sockets follow wpa_ctrl: one AF_UNIX datagram socket for requests
and one that sent ATTACH for events, so replies and unsolicited `<N>EVENT` messages never mix. Every
event is stamped with the guest's clock on arrival; a trigger can send a command the instant an event
arrives, inside the guest, so its timing does not depend on the host link.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

Emit = Callable[[dict[str, object]], None]
ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35  # asm-generic/socket.h; SCM_TIMESTAMPNS has the same value
LINKTYPE_IEEE802_11_RADIOTAP = 127
_counter = 0
_counter_lock = threading.Lock()


def _local_path(tag: str) -> str:
    global _counter  # noqa: PLW0603 - a process-wide counter keeps local socket names unique
    with _counter_lock:
        _counter += 1
        return f"/tmp/rig-ctrl-{os.getpid()}-{tag}-{_counter}"


def _stamp_on_receipt(sock: socket.socket) -> None:
    """Ask the kernel to stamp each datagram when it arrives (CLOCK_REALTIME, like time.time())."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def _recv_stamped(sock: socket.socket, size: int) -> tuple[bytes, float]:
    """A datagram and the kernel's arrival time, so a late-scheduled reader thread does not skew it."""
    data, ancillary, _flags, _addr = sock.recvmsg(size, 64)
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            sec, nsec = struct.unpack_from("qq", payload)
            return data, sec + nsec / 1e9
    return data, time.time()


def _open_ctrl(path: str, tag: str) -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    local = _local_path(tag)
    sock.bind(local)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        os.unlink(local)
        raise
    return sock, local


class CtrlLink:
    """One hostapd or wpa_supplicant control interface: requests, an event stream and event triggers."""

    def __init__(self, name: str, path: str, emit: Emit) -> None:
        self.name, self.path = name, path
        self._emit = emit
        self._req, self._req_local = _open_ctrl(path, f"{name}-req")
        self._req_lock = threading.Lock()
        self._triggers: list[tuple[str, str]] = []
        self._ev, self._ev_local = _open_ctrl(path, f"{name}-ev")
        self._ev.settimeout(3.0)
        self._ev.send(b"ATTACH")
        reply = self._ev.recv(4096)
        if reply.strip() != b"OK":
            self.close()
            raise OSError(f"ATTACH to {path} answered {reply!r}")
        self._ev.settimeout(0.5)
        _stamp_on_receipt(self._ev)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._pump, name=f"ctrl-{name}", daemon=True)
        self._thread.start()

    def request(self, cmd: str, timeout: float) -> dict[str, object]:
        with self._req_lock:
            self._req.settimeout(timeout)
            sent = time.time()
            self._req.send(cmd.encode())
            reply = self._req.recv(65536).decode(errors="replace")
            return {"reply": reply, "sent": sent, "received": time.time()}

    def arm(self, match: str, cmd: str) -> None:
        """Send `cmd` as soon as an event containing `match` arrives (once); the reply comes as an event."""
        with self._req_lock:
            self._triggers.append((match, cmd))

    def _pump(self) -> None:
        while not self._closed.is_set():
            try:
                raw, now = _recv_stamped(self._ev, 65536)
            except TimeoutError:
                continue
            except OSError:
                return
            text = raw.decode(errors="replace")
            if text.startswith("<") and ">" in text:
                text = text.split(">", 1)[1]
            self._emit({"stream": self.name, "t": now, "line": text})
            self._fire(text)

    def _fire(self, text: str) -> None:
        with self._req_lock:
            due = [t for t in self._triggers if t[0] in text]
            self._triggers = [t for t in self._triggers if t not in due]
        for _match, cmd in due:
            try:
                got = self.request(cmd, timeout=5.0)
                line = f"RIG-TRIGGER-REPLY cmd={cmd!r} reply={str(got['reply']).strip()}"
                self._emit({"stream": self.name, "t": got["received"], "sent": got["sent"], "line": line})
            except OSError as exc:
                self._emit({"stream": self.name, "t": time.time(), "line": f"RIG-TRIGGER-ERROR cmd={cmd!r} {exc}"})

    def close(self) -> None:
        if hasattr(self, "_closed"):
            self._closed.set()
        for sock, local in ((self._req, self._req_local), (self._ev, self._ev_local)):
            try:
                if sock is self._ev:
                    sock.send(b"DETACH")
            except OSError:
                pass
            sock.close()
            Path(local).unlink(missing_ok=True)


class PcapCapture:
    """Frames from a monitor interface written to a pcap (radiotap link type), stamped with guest time."""

    def __init__(self, iface: str, path: str) -> None:
        self.iface, self.path = iface, path
        self.frames = 0
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind((iface, 0))
        self._sock.settimeout(0.2)
        _stamp_on_receipt(self._sock)
        self._out = open(path, "wb")  # noqa: SIM115 - closed by stop()
        self._out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_IEEE802_11_RADIOTAP))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name=f"pcap-{iface}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                frame, now = _recv_stamped(self._sock, 65535)
            except TimeoutError:
                continue
            except OSError:
                return
            sec = int(now)
            self._out.write(struct.pack("<IIII", sec, int((now - sec) * 1e6), len(frame), len(frame)) + frame)
            self.frames += 1

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._sock.close()
        self._out.close()
        return self.frames
