"""A replayed neighbour BSS on the AP's channel: an 802.11 capture injected through a monitor radio in the guest.

`NeighbourReplay.start` turns a spare hwsim radio into a monitor on the target channel and runs
`guest_pcap_replay` there with the venv's Python (scapy's import takes 10-20 s under TCG, so `loaded`
is waited for generously). The program's `done` line says what it sent and when (guest clock), which
the tests compare with what the rig's own monitor captured back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil_tests.rig.guest_python import JsonReport, product_module
from hil_tests.rig.hwsim_ap import HwsimBench, Radio
from hil_tests.rig.pcap_replay import channel_frequency_mhz

LOAD_TIMEOUT_S = 120.0  # venv start + scapy import + parsing, under TCG


@dataclass
class NeighbourReplay:
    bench: HwsimBench
    name: str
    report: JsonReport
    loaded: dict[str, Any]

    @classmethod
    def start(
        cls,
        bench: HwsimBench,
        radio: Radio,
        pcap: Path,
        channel: int,
        speed: float = 1.0,
        loops: int = 1,
        name: str = "pcap-replay",
    ) -> NeighbourReplay:
        """Monitor mode on `radio` at `channel`, then the replay (returns once the capture is loaded)."""
        freq = channel_frequency_mhz(channel)
        bench.guest.run(
            f"ip link set {radio.iface} down && iw dev {radio.iface} set type monitor && "
            f"ip link set {radio.iface} up && iw dev {radio.iface} set freq {freq}"
        ).check(f"monitor mode for injection on {radio.iface} at {freq} MHz")
        rewritten = bench.guest.workdir / f"{name}-rewritten.pcap"
        argv = product_module(
            "hil_tests.rig.guest_pcap_replay", str(pcap), radio.iface, "--channel", str(channel),
            "--speed", str(speed), "--loops", str(loops), "--rewritten", str(rewritten),
        )  # fmt: skip
        report = JsonReport(bench.guest, bench.start_process(name, argv)[0], "guest_pcap_replay")
        return cls(bench, name, report, report.wait("loaded", timeout=LOAD_TIMEOUT_S))

    @property
    def transmitters(self) -> set[str]:
        return set(self.loaded["transmitters"])

    def wait_started(self, timeout: float = 30.0) -> dict[str, Any]:
        return self.report.wait("started", timeout=timeout)

    def wait_done(self, timeout: float) -> dict[str, Any]:
        """The replay's `done` report, once the program has exited cleanly."""
        done = self.report.wait("done", timeout=timeout)
        rc = self.bench.wait_exit(self.name, timeout=20.0)
        assert rc == 0, f"guest_pcap_replay exited with {rc}: {self.bench.daemon_log(self.name)}"
        return done
