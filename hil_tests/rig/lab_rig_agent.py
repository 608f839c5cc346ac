"""The rig agent on a lab AP host (stdlib only): `guest_agent.Agent` serving over SSH's stdin and stdout.

`lab_ssh.SshRigAgent` streams this file and the guest-side modules it imports to the host's work
folder and runs `python3 -S -u -m hil_tests.rig.lab_rig_agent` there; the protocol is the guest's
(JSON lines, `{"stream": ...}` events stamped with the AP host's `time.time()`). Operations that only
make sense in the disposable QEMU guest are not offered: `poweroff` and the short-CAC CRDA stand-in.
When the SSH session ends (stdin closes) every process, control link and capture it started is
stopped, so nothing the tests started stays on the lab AP.
"""

from __future__ import annotations

import json
import os
import threading
import time

from hil_tests.rig.guest_agent import Agent

GUEST_ONLY_OPS = ("poweroff", "crda_start", "crda_stop")


class StdioAgent(Agent):
    """Requests on stdin, answers and events on stdout; cleans up and returns when stdin closes."""

    def __init__(self) -> None:
        super().__init__(fd=1)
        for op in GUEST_ONLY_OPS:
            del self.ops[op]

    def serve(self) -> None:
        self.send({"ready": True, "t": time.time(), "pid": os.getpid()})
        buffer = b""
        while chunk := os.read(0, 65536):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    request = json.loads(line)
                    threading.Thread(target=self._handle, args=(request,), daemon=True).start()
        self.reset({})


if __name__ == "__main__":
    StdioAgent().serve()
