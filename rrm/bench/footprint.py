"""`rrm bench agent-footprint`: the memory of one idle edge agent process.

Starts a controller, the small office's simulated APs (``rrm sim-ap``) and one agent (``rrm agent
--driver sim-ap``, mutual TLS) as separate processes, lets the agent connect and send telemetry,
and samples the agent's resident memory. The simulated radios live in their own process, as real
radios would, so the figure is the agent's own. "Idle" means no commands and no emergencies: the
agent only samples, sends and heartbeats, which is what it does almost all of the time.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from rrm.pki import CertKind, init_pki, issue_to_folder

AGENT_AP = "ap-1"


def _rrm(*args: str) -> list[str]:
    return [sys.executable, "-m", "rrm.cli.main", *args]


def _imported_heavy_modules(pid: int) -> list[str]:
    """Which known-heavy libraries the agent process has mapped (from its shared objects)."""
    heavy = {"numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn", "skopt": "scikit-optimize"}
    try:
        paths = {m.path for m in psutil.Process(pid).memory_maps()}
    except psutil.Error:
        return []
    return sorted(name for key, name in heavy.items() if any(f"/{key}/" in p for p in paths))


def run_agent_footprint(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="rrm-footprint-") as tmp:
        work = Path(tmp)
        pki = work / "pki"
        init_pki(pki)
        issue_to_folder(pki, CertKind.CONTROLLER, "controller")
        issue_to_folder(pki, CertKind.AGENT, AGENT_AP)
        controller = subprocess.Popen(
            _rrm("controller", "--listen", "127.0.0.1:0", "--state-dir", str(work / "controller"), "--pki", str(pki)),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert controller.stdout is not None
        match = re.search(r"on port (\d+)", controller.stdout.readline())
        if match is None:
            controller.kill()
            raise RuntimeError("the controller did not start")
        socket = work / "sim-ap.sock"
        sim_ap = subprocess.Popen(
            _rrm("sim-ap", "--scenario", "small_office", "--socket", str(socket)), stdout=subprocess.PIPE, text=True
        )
        assert sim_ap.stdout is not None
        sim_ap.stdout.readline()
        agent = subprocess.Popen(
            _rrm(
                "agent",
                "--controller",
                f"localhost:{match.group(1)}",
                "--state-dir",
                str(work / "agent"),
                "--driver",
                "sim-ap",
                "--ap-socket",
                str(socket),
                "--region",
                "FCC",
                "--ap",
                AGENT_AP,
                "--telemetry-interval",
                "2",
                "--pki",
                str(pki),
            ),
            stdout=subprocess.DEVNULL,
        )
        try:
            proc = psutil.Process(agent.pid)
            samples: list[int] = []
            cpu_start = None
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                time.sleep(0.25)
                if agent.poll() is not None:
                    raise RuntimeError(f"the agent exited with status {agent.returncode}")
                samples.append(proc.memory_info().rss)
                if cpu_start is None and time.monotonic() - started > 3:
                    t = proc.cpu_times()
                    cpu_start = (time.monotonic(), t.user + t.system)
            t = proc.cpu_times()
            cpu_cores = (
                (t.user + t.system - cpu_start[1]) / (time.monotonic() - cpu_start[0]) if cpu_start else float("nan")
            )
            heavy = _imported_heavy_modules(agent.pid)
            threads = proc.num_threads()
        finally:
            for child in (agent, sim_ap, controller):
                child.terminate()
                child.wait(timeout=30)
        return {
            "seconds": seconds,
            "agent_rss_mb": round(samples[-1] / 2**20, 1),
            "agent_peak_rss_mb": round(max(samples) / 2**20, 1),
            "agent_cpu_cores": round(cpu_cores, 3),
            "agent_threads": threads,
            "heavy_libraries_loaded": heavy,
            "driver": "sim-ap (small_office ap-1, simulated radios in their own process)",
        }
