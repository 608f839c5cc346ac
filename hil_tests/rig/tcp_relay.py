"""Host-side relay QEMU starts for each guest connection to the guestfwd address (../shared/facts/hil.md, section 5).

`guestfwd=tcp:10.0.2.100:PORT-cmd:python tcp_relay.py TARGET_FILE` gives one relay process, so one host
connection, per guest connection (a `tcp:` chardev would share one connection among them all, which
breaks gRPC reconnects). The target is read from TARGET_FILE (`HOST:PORT`) when the guest connects, so
the controller can start after the guest boots, on any port. stdlib only; no nc or socat is needed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from pathlib import Path


def _pump_stdin(conn: socket.socket) -> None:
    try:
        while chunk := os.read(0, 65536):
            conn.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)


def relay(target_file: Path) -> int:
    host, _, port = target_file.read_text().strip().rpartition(":")
    try:
        conn = socket.create_connection((host, int(port)), timeout=10.0)
    except OSError as exc:
        print(f"tcp_relay: cannot reach {host}:{port}: {exc}", file=sys.stderr)
        return 1
    conn.settimeout(None)
    threading.Thread(target=_pump_stdin, args=(conn,), daemon=True).start()
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
