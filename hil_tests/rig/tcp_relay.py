"""Host-side relay QEMU starts for each guest connection to the guestfwd address (../shared/facts/hil.md, section 5).

`guestfwd=tcp:10.0.2.100:PORT-cmd:python tcp_relay.py TARGET_FILE` gives one relay process, so one host
connection, per guest connection (a `tcp:` chardev would share one connection among them all, which
breaks gRPC reconnects). The target is read from TARGET_FILE (`HOST:PORT`) when the guest connects, so
the controller can start after the guest boots, on any port. A partition is the word `down` in the
file: new guest connections are closed at once, and every relay whose target changes (to `down` or to
another address) closes its connection within `WATCH_S`. QEMU hands the relay the guest's connection as
stdin, stdout and stderr alike, so the relay's own messages go to `relay.log` beside TARGET_FILE, never
to stderr (they would reach the guest as stream data). stdlib only; no nc or socat is needed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

PARTITIONED = "down"
WATCH_S = 0.1


def _note(target_file: Path, text: str) -> None:
    with contextlib.suppress(OSError), (target_file.parent / "relay.log").open("a") as log:
        log.write(f"{time.time():.3f} pid {os.getpid()}: {text}\n")


def _read_target(target_file: Path) -> str:
    try:
        return target_file.read_text().strip()
    except OSError:
        return PARTITIONED


def _pump_stdin(conn: socket.socket) -> None:
    try:
        while chunk := os.read(0, 65536):
            conn.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)


def _watch_target(target_file: Path, target: str, conn: socket.socket) -> None:
    """Cut the connection (both ways) once the target file no longer names `target`."""
    while _read_target(target_file) == target:
        time.sleep(WATCH_S)
    _note(target_file, f"target changed from {target}: link cut")
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    os._exit(0)  # the guest sees its connection closed


def relay(target_file: Path) -> int:
    target = _read_target(target_file)
    if target == PARTITIONED:
        _note(target_file, "link is down (partition): connection refused")
        return 1
    host, _, port = target.rpartition(":")
    try:
        conn = socket.create_connection((host, int(port)), timeout=10.0)
    except OSError as exc:
        _note(target_file, f"cannot reach {host}:{port}: {exc}")
        return 1
    conn.settimeout(None)
    threading.Thread(target=_pump_stdin, args=(conn,), daemon=True).start()
    threading.Thread(target=_watch_target, args=(target_file, target, conn), daemon=True).start()
    try:
        while chunk := conn.recv(65536):
            view = memoryview(chunk)
            while view:
                view = view[os.write(1, view) :]
    except OSError:
        pass
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(relay(Path(sys.argv[1])))
