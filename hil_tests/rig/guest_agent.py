"""The rig's agent inside the HIL guest (stdlib only): runs the host's requests arriving over virtio-serial.

Started by `guest_init.sh` as `python -S -m hil_tests.rig.guest_agent`. Protocol: one JSON object per
line. The host sends `{"id": N, "op": ..., ...}`; the agent answers `{"id": N, "ok": true, "result": ...}`
or `{"id": N, "ok": false, "error": ...}`, each request in its own thread, and sends unsolicited
`{"stream": NAME, "t": guest_time, "line": ...}` messages for control-socket events, process output and
the CRDA stand-in. Guest times are `time.time()` in the guest (no NTP runs there, so it never jumps).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hil_tests.rig.guest_radio_ops import CtrlLink, PcapCapture
from hil_tests.rig.short_cac_crda import ShortCacCrda

PORT_NAME = "rig.ctl"
Request = dict[str, Any]


def find_port(name: str = PORT_NAME) -> str:
    for entry in Path("/sys/class/virtio-ports").glob("*"):
        if (entry / "name").read_text().strip() == name:
            return f"/dev/{entry.name}"
    raise FileNotFoundError(f"no virtio-serial port named {name} (is virtio_console loaded?)")


class Agent:
    """Dispatches requests; owns every process, control link, capture and CRDA stand-in it started."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._write_lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._links: dict[str, CtrlLink] = {}
        self._captures: dict[str, PcapCapture] = {}
        self._crda: ShortCacCrda | None = None
        self.ops: dict[str, Callable[[Request], object]] = {
            "ping": lambda r: {"t": time.time(), "uptime": float(Path("/proc/uptime").read_text().split()[0])},
            "run": self.run,
            "spawn": self.spawn,
            "stop": self.stop,
            "write_file": self.write_file,
            "ctrl_open": self.ctrl_open,
            "ctrl_request": lambda r: self._links[r["name"]].request(r["cmd"], float(r.get("timeout", 5.0))),
            "ctrl_arm": lambda r: self._links[r["name"]].arm(r["match"], r["cmd"]),
            "ctrl_close": lambda r: self._links.pop(r["name"]).close(),
            "capture_start": self.capture_start,
            "capture_stop": lambda r: {"frames": self._captures.pop(r["name"]).stop()},
            "crda_start": self.crda_start,
            "crda_stop": self.crda_stop,
            "tcp_exchange": self.tcp_exchange,
            "reset": self.reset,
            "poweroff": self.poweroff,
        }

    def send(self, message: dict[str, object]) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self._write_lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]

    def serve(self) -> None:
        self.send({"ready": True, "t": time.time()})
        buffer = b""
        while True:
            chunk = os.read(self._fd, 65536)
            if not chunk:  # the host end is not connected: wait for it
                time.sleep(0.1)
                continue
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    request = json.loads(line)
                    threading.Thread(target=self._handle, args=(request,), daemon=True).start()

    def _handle(self, request: Request) -> None:
        op = self.ops.get(request.get("op", ""))
        try:
            if op is None:
                raise ValueError(f"unknown op {request.get('op')!r}")
            self.send({"id": request["id"], "ok": True, "result": op(request)})
        except Exception as exc:
            self.send({"id": request["id"], "ok": False, "error": f"{type(exc).__name__}: {exc}"})

    def run(self, r: Request) -> dict[str, object]:
        """A shell command with a timeout; on timeout its whole process group is killed."""
        proc = subprocess.Popen(
            ["/bin/sh", "-c", r["sh"]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=float(r.get("timeout", 30.0)))
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        return {"rc": proc.returncode, "out": out.decode(errors="replace"), "err": err.decode(errors="replace"),
                "timed_out": timed_out}  # fmt: skip

    def spawn(self, r: Request) -> dict[str, object]:
        """A long-running process, its output to a log file; its exit is reported on stream `name`.

        With `out_stream`, each output line is also sent on that stream as it comes, stamped on arrival.
        """
        name = r["name"]
        if name in self._procs and self._procs[name].poll() is None:
            raise ValueError(f"process {name} is already running")
        out_stream = r.get("out_stream")
        env = {**os.environ, **r.get("env", {})}
        with open(r["log"], "wb") as log:
            proc = subprocess.Popen(r["argv"], stdout=subprocess.PIPE if out_stream else log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, env=env)  # fmt: skip
        self._procs[name] = proc
        if out_stream:
            threading.Thread(target=self._stream_output, args=(proc, r["log"], out_stream), daemon=True).start()

        def watch() -> None:
            rc = proc.wait()
            self.send({"stream": name, "t": time.time(), "line": f"RIG-PROCESS-EXIT rc={rc}"})

        threading.Thread(target=watch, daemon=True).start()
        return {"pid": proc.pid}

    def _stream_output(self, proc: subprocess.Popen[bytes], log_path: str, stream: str) -> None:
        assert proc.stdout is not None
        with open(log_path, "ab") as log:
            for raw in proc.stdout:
                log.write(raw)
                log.flush()
                self.send({"stream": stream, "t": time.time(), "line": raw.decode(errors="replace").rstrip("\n")})

    def stop(self, r: Request) -> dict[str, object]:
        proc = self._procs.pop(r["name"], None)
        if proc is None:
            return {"rc": None}
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=float(r.get("timeout", 3.0)))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=3.0)
        return {"rc": proc.returncode}

    def write_file(self, r: Request) -> dict[str, object]:
        """Write `data` to `path` (e.g. hwsim's dfs_simulate_radar); `t` is the guest time just before the write."""
        with open(r["path"], "w") as f:
            t = time.time()
            f.write(r["data"])
        return {"t": t}

    def ctrl_open(self, r: Request) -> dict[str, object]:
        deadline = time.monotonic() + float(r.get("timeout", 10.0))
        while True:  # the daemon creates its socket a little after it starts
            try:
                self._links[r["name"]] = CtrlLink(r["name"], r["path"], self.send)
                return {"t": time.time()}
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise OSError(f"control socket {r['path']} not usable: {exc}") from None
                time.sleep(0.1)

    def capture_start(self, r: Request) -> dict[str, object]:
        self._captures[r["name"]] = PcapCapture(r["iface"], r["path"])
        return {"t": time.time()}

    def crda_start(self, r: Request) -> dict[str, object]:
        self.crda_stop(r)
        self._crda = ShortCacCrda(int(r["cac_ms"]), lambda line: self.send({"stream": "crda", "t": time.time(),
                                                                              "line": line}))  # fmt: skip
        return {"t": time.time()}

    def crda_stop(self, _r: Request) -> None:
        if self._crda is not None:
            self._crda.stop()
            self._crda = None

    def tcp_exchange(self, r: Request) -> dict[str, object]:
        """Connect to host:port (the guestfwd address), send `data`, read until `expect_bytes` came back."""
        with socket.create_connection((r["host"], int(r["port"])), timeout=float(r.get("timeout", 10.0))) as conn:
            conn.sendall(r["data"].encode())
            got = b""
            while len(got) < int(r["expect_bytes"]):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += chunk
        return {"data": got.decode(errors="replace")}

    def reset(self, _r: Request) -> dict[str, object]:
        """Close every control link and capture and stop every process this agent started."""
        for name in list(self._links):
            self._links.pop(name).close()
        for name in list(self._captures):
            self._captures.pop(name).stop()
        stopped = list(self._procs)
        for name in stopped:
            self.stop({"name": name})
        return {"stopped": stopped}

    def poweroff(self, _r: Request) -> None:
        def later() -> None:
            time.sleep(0.2)
            os.sync()
            Path("/proc/sysrq-trigger").write_text("o")

        threading.Thread(target=later, daemon=True).start()


def main() -> None:
    Agent(os.open(find_port(), os.O_RDWR)).serve()


if __name__ == "__main__":
    main()
