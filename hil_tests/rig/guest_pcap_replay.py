"""Guest side (the venv's Python): inject an 802.11 capture through a monitor-mode radio, in real time.

Run in the HIL guest as
`python -m hil_tests.rig.guest_pcap_replay PCAP IFACE --channel N [--speed F] [--loops N] [--rewritten OUT]`.
IFACE must already be a monitor interface on channel N (the rig sets it). The capture is loaded,
validated and rewritten for channel N by `pcap_replay`, then each frame is written to an AF_PACKET
socket on IFACE at its captured offset / speed (mac80211 sends a radiotap-headed frame written to a
monitor interface as it is). It prints one JSON object per line, each with a `phase`:

- `loaded`: frames, the capture's duration, the transmitters in it;
- `started`: the guest time of the first frame's slot;
- `done`: frames sent and refused, the first and last send times, the send rate, and how late frames
  left against their slots (p50, p95, max, ms);
- `error` with the problem (a bad capture names the file and record), last.
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from hil_tests.rig.pcap_replay import CaptureError, ReplayFrame, load_capture, replay_frames, write_replay_pcap

ETH_P_ALL = 0x0003


def say(phase: str, **values: Any) -> None:
    print(json.dumps({"phase": phase, "t": time.time(), **values}), flush=True)


def loop_length(frames: list[ReplayFrame]) -> float:
    """A loop lasts the capture plus one typical gap, so a repeated capture keeps its rhythm at the seam."""
    offsets = [f.offset_s for f in frames]
    gaps = [b - a for a, b in itertools.pairwise(offsets) if b > a]
    return offsets[-1] + (statistics.median(gaps) if gaps else 0.1)


def inject(sock: socket.socket, frames: list[ReplayFrame], loops: int) -> dict[str, Any]:
    """Send every frame at its slot; frames the kernel refuses are counted, never retried."""
    length = loop_length(frames)
    start = time.time() + 0.05
    say("started", start=start)
    sent = refused = 0
    late: list[float] = []
    first = last = 0.0
    for loop in range(loops):
        for frame in frames:
            slot = start + loop * length + frame.offset_s
            wait = slot - time.time()
            if wait > 0:
                time.sleep(wait)
            now = time.time()
            try:
                sock.send(frame.data)
            except OSError:
                refused += 1
                continue
            first = first or now
            last = now
            sent += 1
            late.append((now - slot) * 1000)
    ordered = sorted(late) or [0.0]
    span = last - first
    return {
        "sent": sent,
        "refused": refused,
        "first_t": first,
        "last_t": last,
        "rate_fps": sent / span if span > 0 else 0.0,
        "late_ms_p50": ordered[len(ordered) // 2],
        "late_ms_p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "late_ms_max": ordered[-1],
    }


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="guest_pcap_replay", description=__doc__.splitlines()[0])
    parser.add_argument("pcap", type=Path, help="radiotap + 802.11 capture (pcap or pcapng)")
    parser.add_argument("iface", help="a monitor interface already on the target channel")
    parser.add_argument("--channel", type=int, required=True, help="the channel to replay on (the AP's)")
    parser.add_argument("--speed", type=float, default=1.0, help="time factor: 2 replays twice as fast")
    parser.add_argument("--loops", type=int, default=1, help="replay the capture this many times in a row")
    parser.add_argument("--rewritten", type=Path, help="also write the rewritten frames to this pcap")
    ns = parser.parse_args(argv)
    try:
        frames = replay_frames(load_capture(ns.pcap), ns.channel, ns.speed)
    except (CaptureError, ValueError) as exc:
        say("error", error=str(exc))
        return 2
    transmitters = sorted({f.transmitter for f in frames if f.transmitter})
    say("loaded", frames=len(frames), duration_s=frames[-1].offset_s, transmitters=transmitters)
    if ns.rewritten:
        write_replay_pcap(ns.rewritten, frames)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as sock:
        try:
            sock.bind((ns.iface, 0))
        except OSError as exc:
            say("error", error=f"{ns.iface}: cannot inject there: {exc}")
            return 2
        say("done", **inject(sock, frames, max(1, ns.loops)))
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
