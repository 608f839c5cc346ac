"""`rrm bench ingest`: N concurrent mTLS agent streams against a real controller process.

The controller runs as its own process (``rrm controller``); load generators run as separate
processes, each holding a share of the agents, one TCP/TLS connection per agent, every agent with
its own certificate. After all agents are connected the generators send telemetry for the
measured seconds; rates count samples whose acknowledgement arrived inside the window. At the end
the controller is stopped and its store is checked: every acknowledged sample must be there
("lost" counts those that are not).
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from rrm.pki import CertificateAuthority, CertKind, init_pki, issue_to_folder
from rrm.v1 import agent_link_pb2 as pb


@dataclass(frozen=True, slots=True)
class IngestBenchOptions:
    agents: int
    seconds: float
    samples_per_s: float = 60_000.0
    batch: int = 50
    clients: int = 10
    workers: int = 0  # 0 = one per 1,000 agents
    warmup_s: float = 3.0
    drain_s: float = 20.0
    window: int = 32  # unacknowledged messages per agent, like the agent link's window
    connects_per_s: float = 500.0  # how fast the fleet comes up (all load generators together)
    work_dir: Path | None = None


def _raise_fd_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _start_controller(work: Path) -> tuple[subprocess.Popen[str], int]:
    cmd = [
        sys.executable,
        "-m",
        "rrm.cli.main",
        "controller",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        str(work / "controller"),
        "--pki",
        str(work / "pki"),
        "--status-every",
        "3600",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, preexec_fn=_raise_fd_limit)  # noqa: PLW1509
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"on port (\d+)", line)
    if match is None:
        proc.kill()
        raise RuntimeError(f"the controller did not start: {line!r}")
    return proc, int(match.group(1))


def _worker_specs(options: IngestBenchOptions, work: Path, port: int) -> list[Path]:
    ca = CertificateAuthority.load(work / "pki")
    workers = options.workers or max(1, math.ceil(options.agents / 1000))
    per_agent_rate = options.samples_per_s / options.agents
    specs = []
    for w in range(workers):
        names = [f"bench-{i:05d}" for i in range(w, options.agents, workers)]
        agents = []
        for name in names:
            issued = ca.issue(CertKind.AGENT, name)
            agents.append({"name": name, "cert": issued.cert_pem.decode(), "key": issued.key_pem.decode()})
        spec = {
            "target": f"localhost:{port}",
            "ca": ca.cert_pem.decode(),
            "agents": agents,
            "batch": options.batch,
            "clients": options.clients,
            "interval_s": options.batch / per_agent_rate,
            "seconds": options.seconds,
            "warmup_s": options.warmup_s,
            "drain_s": options.drain_s,
            "window": options.window,
            "connects_per_s": options.connects_per_s / workers,
            "result": str(work / f"result-{w}.json"),
        }
        path = work / f"spec-{w}.json"
        path.write_text(json.dumps(spec))
        specs.append(path)
    return specs


class _PeakRss:
    """Peak resident memory of the controller, its ingest writer process included."""

    def __init__(self, pid: int) -> None:
        self._proc = psutil.Process(pid)
        self.peak = 0
        self.timeline: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                procs = [self._proc, *self._proc.children(recursive=True)]
                total = sum(p.memory_info().rss for p in procs)
            except psutil.Error:
                return
            self.timeline.append(total)
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


class _CpuMeter:
    """CPU seconds (user + system) each process used between start() and stop()."""

    def __init__(self, pids: list[int]) -> None:
        self._procs = [psutil.Process(pid) for pid in pids]
        self._start: list[float] = []

    def _now(self) -> list[float]:
        times = []
        for proc in self._procs:
            try:
                t = proc.cpu_times()
                times.append(t.user + t.system)
            except psutil.Error:
                times.append(0.0)
        return times

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> list[float]:
        return [end - begin for begin, end in zip(self._start, self._now(), strict=True)]


def _lost(db: Path, acked: dict[str, list[str]], batch: int) -> int:
    conn = sqlite3.connect(db)
    stored = {
        message_id: len(pb.AgentMessage.FromString(blob).telemetry.samples)
        for message_id, blob in conn.execute("SELECT message_id, message FROM telemetry_batches")
    }
    conn.close()
    return sum(batch - min(batch, int(stored.get(mid, 0))) for ids in acked.values() for mid in ids)


def run_ingest_bench(options: IngestBenchOptions) -> dict[str, object]:
    if options.agents < 1 or options.seconds <= 0:
        raise ValueError("--agents must be at least 1 and --seconds positive")
    with tempfile.TemporaryDirectory(prefix="rrm-bench-") as tmp:
        work = options.work_dir or Path(tmp)
        init_pki(work / "pki", force=True)
        issue_to_folder(work / "pki", CertKind.CONTROLLER, "controller", force=True)
        controller, port = _start_controller(work)
        rss = _PeakRss(controller.pid)
        workers: list[subprocess.Popen[str]] = []
        try:
            specs = _worker_specs(options, work, port)
            connect_started = time.monotonic()
            for spec in specs:
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "rrm.bench.load_generator", str(spec)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                        preexec_fn=_raise_fd_limit,  # noqa: PLW1509
                    )
                )
            ready = 0
            for proc in workers:
                assert proc.stdout is not None
                line = proc.stdout.readline()
                ready += int(line.split()[1]) if line.startswith("READY") else 0
            connect_s = time.monotonic() - connect_started
            cpu = _CpuMeter([controller.pid, *(p.pid for p in workers)])
            for proc in workers:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            time.sleep(options.warmup_s)
            cpu.start()
            time.sleep(options.seconds)
            cpu_used = cpu.stop()
            for proc in workers:
                assert proc.stdout is not None
                proc.stdout.readline()
                proc.wait(timeout=options.seconds + options.drain_s + 120)
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.kill()
            peak = rss.stop()
            controller.terminate()
            controller.wait(timeout=120)
        results = [json.loads((work / f"result-{w}.json").read_text()) for w in range(len(workers))]
        acked = {name: ids for r in results for name, ids in r["acked"].items()}
        lost = _lost(work / "controller" / "ingest.db", acked, options.batch)
        in_window = sum(r["acked_samples_in_window"] for r in results)
        messages_in_window = sum(r["acked_messages_in_window"] for r in results)
        return {
            "agents": options.agents,
            "agents_connected": ready,
            "seconds": options.seconds,
            "samples_per_s": round(in_window / options.seconds, 1),
            "messages_per_s": round(messages_in_window / options.seconds, 1),
            "offered_samples_per_s": options.samples_per_s,
            "batch_samples": options.batch,
            "clients_per_sample": options.clients,
            "controller_rss_mb": round(peak / 2**20, 1),
            "lost": lost,
            "acked_samples": sum(r["acked_samples"] for r in results),
            "unacked_messages_at_end": sum(r["unacked_messages"] for r in results),
            "connect_retries": sum(r["reconnects"] for r in results),
            "connect_seconds": round(connect_s, 1),
            "load_generator_processes": len(workers),
            "failed_agents": [f for r in results for f in r["failed_agents"]][:10],
            "cpu_count": os.cpu_count(),
            "controller_cpu_cores": round(cpu_used[0] / options.seconds, 2),
            "load_generator_cpu_cores": round(sum(cpu_used[1:]) / options.seconds, 2),
        }
