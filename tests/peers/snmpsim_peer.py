"""snmpsim 1.2.2 as a real SNMP agent on loopback, with AP data written by the test.

Two simulated agents (each a .snmprec file; the community, and the v3 context, is the file stem):
an IEEE802dot11-MIB AP with a 2.4 GHz radio at ifIndex 1 and a 5 GHz radio at ifIndex 2, and a
Cisco WLC (AIRESPACE-WIRELESS-MIB) with two APs, 00:11:22:33:44:55 (slots 0 and 1) and
00:11:22:33:44:66 (slot 1). Writable objects use the writecache variation (in memory, so every
start is fresh); objects without it answer a SET with a noSuchInstance varbind, as real snmpsim
does. SETs on the hook OIDs under 1.3.6.1.4.1.99999 make snmpsim send a notification (radar
detected, channel changed, an unknown trap) to ``trap_port`` on 127.0.0.1.

snmpsim runs as root only with SNMPSIM_ALLOW_ROOT=true (southbound.md 3). Its records must be
sorted by OID, or GETNEXT walks stop early; :func:`write_snmprec` sorts them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    get_cmd,
    set_cmd,
)

from drivers.snmp.client import shared_mib_view

SNMPSIM = Path(sys.executable).parent / "snmpsim-command-responder"
STARTUP_TIMEOUT_S = 30.0

IEEE_COMMUNITY = "ieee-community-x7"
WLC_COMMUNITY = "wlc-community-q9"
TRAP_COMMUNITY = "trap-community-k3"
V3_USER = "rrm-user"
V3_AUTH_KEY = "auth-passphrase-51"
V3_PRIV_KEY = "priv-passphrase-83"

MAC_A = bytes.fromhex("001122334455")
MAC_B = bytes.fromhex("001122334466")
D = "1.2.840.10036"
A = "1.3.6.1.4.1.14179"
HOOK_RADAR = "1.3.6.1.4.1.99999.1.0"
HOOK_CHANNEL_CHANGED = "1.3.6.1.4.1.99999.2.0"
HOOK_UNKNOWN = "1.3.6.1.4.1.99999.3.0"
HOOK_RADAR_V3 = "1.3.6.1.4.1.99999.4.0"
ENGINE_ID = "80004fb805aabbccdd01"  # the simulator's (sender's) v3 engine id, for v3 traps


def require_snmpsim() -> None:
    """Skip, saying why, when snmpsim cannot run here."""
    if not SNMPSIM.exists():
        pytest.skip(f"{SNMPSIM} is missing (pip install snmpsim==1.2.2)")
    if importlib.util.find_spec("pysmi") is None:
        pytest.skip("snmpsim 1.2.2 imports pysmi without declaring it: pip install pysmi==2.0.0")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mac_index(mac: bytes, slot: int) -> str:
    return ".".join(str(b) for b in mac) + f".{slot}"


def value(oid: str, tag: int | str, val: object) -> str:
    return f"{oid}|{tag}|{val}"


def writable(oid: str, tag: int, val: object) -> str:
    return f"{oid}|{tag}:writecache|value={val}"


def ieee_ap_records() -> list[str]:
    """2.4 GHz at ifIndex 1 (channel 6, its power level not writable), 5 GHz at ifIndex 2 (channel 36)."""
    records = [writable(f"{D}.4.5.1.1.1", 2, 6), writable(f"{D}.4.11.1.1.2", 2, 36)]
    records += [value(f"{D}.4.3.1.10.1", 2, 2), writable(f"{D}.4.3.1.10.2", 2, 1)]
    for if_index in (1, 2):
        records.append(value(f"{D}.4.3.1.1.{if_index}", 2, 4))  # dot11NumberSupportedPowerLevels
        for level, mw in enumerate((100, 50, 25, 12), start=1):  # 20, 17, 14, 10.8 dBm
            records.append(value(f"{D}.4.3.1.{level + 1}.{if_index}", 2, mw))
        for column in (4, 9, 13):  # retry, ACK failure, transmitted frame counters
            records.append(writable(f"{D}.2.2.1.{column}.{if_index}", 65, 1000))
    return records


def wlc_records(trap_port: int) -> list[str]:
    """AP A: slot 0 on channel 1, slot 1 on channel 52 (radar column, per-channel rows); AP B: slot 1."""
    records: list[str] = []
    for mac, slot, channel in ((MAC_A, 0, 1), (MAC_A, 1, 52), (MAC_B, 1, 149)):
        i = mac_index(mac, slot)
        records += [value(f"{A}.2.2.2.1.1.{i}", 2, slot)]
        records += [writable(f"{A}.2.2.2.1.{c}.{i}", 2, v) for c, v in ((3, 1), (4, channel), (5, 1), (6, 2))]
        records.append(value(f"{A}.2.2.13.1.3.{i}", 2, 35))  # channel utilisation %
        rows = (1, 6, 11) if slot == 0 else (36, 52, 100, 149)
        for row, (busy, noise) in zip(rows, ((12, -92), (20, -90), (5, -97), (8, -95)), strict=False):
            records.append(value(f"{A}.2.2.14.1.22.{i}.{row}", 2, busy))
            records.append(value(f"{A}.2.2.15.1.21.{i}.{row}", 2, noise))
        if slot == 1:
            records.append(writable(f"{A}.2.2.24.1.1.{i}.52", 2, 0))  # no radar yet
    for mac in (MAC_A, MAC_B):
        records.append(value(f"{A}.2.2.1.1.1.{'.'.join(str(b) for b in mac)}", "4x", mac.hex()))
    records += [
        _hook(HOOK_RADAR, trap_port, f"{A}.2.6.3.81", 52),
        _hook(HOOK_CHANNEL_CHANGED, trap_port, f"{A}.2.6.3.16", 100),
        _hook(HOOK_UNKNOWN, trap_port, "1.3.6.1.4.1.99999.9", 1),
        _hook(HOOK_RADAR_V3, trap_port, f"{A}.2.6.3.81", 56, v3=True),
    ]
    return records


def _hook(oid: str, port: int, trap_oid: str, channel: int, v3: bool = False) -> str:
    i = mac_index(MAC_A, 1)
    varbinds = ":".join(
        (
            f"{A}.2.2.1.1.1.{i[: i.rindex('.')]}:h:{MAC_A.hex()}",
            f"{A}.2.2.2.1.1.{i}:i:1",
            f"{A}.2.2.2.1.4.{i}:i:{channel}",
        )
    )
    settings = f"op=set,version=2c,community={TRAP_COMMUNITY},host=127.0.0.1,port={port},ntftype=trap"
    if v3:
        usm = f"user={V3_USER},authkey={V3_AUTH_KEY},authproto=sha,privkey={V3_PRIV_KEY},privproto=aes"
        settings = f"op=set,version=3,{usm},host=127.0.0.1,port={port},ntftype=trap"
    return f"{oid}|2:notification|{settings},trapoid={trap_oid},varbinds={varbinds}"


def write_snmprec(path: Path, records: Iterable[str]) -> None:
    lines = sorted(records, key=lambda line: tuple(int(n) for n in line.split("|", 1)[0].split(".")))
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


@dataclass
class SnmpsimPeer:
    workdir: Path
    port: int = 0
    trap_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def start(self) -> SnmpsimPeer:
        require_snmpsim()
        data, cache = self.workdir / "data", self.workdir / "cache"
        data.mkdir(parents=True)
        cache.mkdir()
        self.port, self.trap_port = free_udp_port(), free_udp_port()
        write_snmprec(data / f"{IEEE_COMMUNITY}.snmprec", ieee_ap_records())
        write_snmprec(data / f"{WLC_COMMUNITY}.snmprec", wlc_records(self.trap_port))
        self.log_path = self.workdir / "snmpsim.log"
        args = [
            str(SNMPSIM),
            f"--v3-engine-id={ENGINE_ID}",
            f"--data-dir={data}",
            f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            f"--v3-user={V3_USER}",
            f"--v3-auth-key={V3_AUTH_KEY}",
            "--v3-auth-proto=SHA",
            f"--v3-priv-key={V3_PRIV_KEY}",
            "--v3-priv-proto=AES",
            "--logging-method=stderr",
        ]
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_until_answering(self.port, IEEE_COMMUNITY, f"{D}.4.11.1.1.2", self.process, self.log_path)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None


def wait_until_answering(port: int, community: str, oid: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Block until a GET is answered (or fail with the agent's log)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SNMP agent exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        if asyncio.run(_answers(port, community, oid)):
            return
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"SNMP agent did not answer within {STARTUP_TIMEOUT_S:g} s: {log_path.read_text()[-2000:]}")


async def _answers(port: int, community: str, oid: str) -> bool:
    engine = SnmpEngine()
    engine.cache["mibViewController"] = shared_mib_view()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=0.3, retries=0)
        indication, _s, _i, _v = await get_cmd(
            engine, CommunityData(community), target, ContextData(), ObjectType(ObjectIdentity(oid))
        )
        return indication is None
    finally:
        engine.close_dispatcher()


async def poke(port: int, community: str, assignments: Sequence[tuple[str, object]]) -> None:
    """SET values on the agent the way an operator's tool would (to inject radar, counters, ...)."""
    engine = SnmpEngine()
    engine.cache["mibViewController"] = shared_mib_view()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=1, retries=1)
        varbinds = [ObjectType(ObjectIdentity(oid), val) for oid, val in assignments]
        indication, status, _i, answers = await set_cmd(
            engine, CommunityData(community), target, ContextData(), *varbinds
        )
        if indication or int(status) or any("NoSuch" in type(v).__name__ for _o, v in answers):
            raise RuntimeError(f"test SET {assignments} failed: {indication} {status} {answers}")
    finally:
        engine.close_dispatcher()
