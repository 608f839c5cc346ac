"""net-snmp's snmpd on loopback, serving IEEE802dot11-MIB objects from a JSON-backed pass script.

Unlike snmpsim, snmpd enforces access: the pass script answers ``not-writable`` for read-only
objects and ``wrong-type`` for a SET of another type, so the client sees real notWritable and
wrongType error statuses (southbound.md 3). The data is a JSON file ``{oid: [type, value, writable]}``
the script rewrites on every SET; ``objects`` gives the initial content. Tests that need snmpd call
:func:`require_snmpd`, which skips them with a reason when /usr/sbin/snmpd is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.snmpsim_peer import free_udp_port, wait_until_answering

SNMPD = Path("/usr/sbin/snmpd")
COMMUNITY = "snmpd-community-r4"
D = "1.2.840.10036"

PASS_SCRIPT = '''#!{python} -S
"""snmpd pass handler: -g OID (get), -n OID (getnext), -s OID TYPE VALUE (set), data in {data}."""
import json, sys

DATA = {data!r}


def key(oid):
    return tuple(int(n) for n in oid.strip(".").split("."))


def main():
    op, oid = sys.argv[1], sys.argv[2].strip(".")
    with open(DATA) as f:
        data = json.load(f)
    if op == "-g" and oid in data:
        kind, value, _ = data[oid]
        print(f".{{oid}}\\n{{kind}}\\n{{value}}")
    elif op == "-n":
        later = sorted((o for o in data if key(o) > key(oid)), key=key)
        if later:
            kind, value, _ = data[later[0]]
            print(f".{{later[0]}}\\n{{kind}}\\n{{value}}")
    elif op == "-s":
        kind = sys.argv[3]
        if oid not in data or not data[oid][2]:
            print("not-writable")
        elif kind != data[oid][0]:
            print("wrong-type")
        else:
            data[oid][1] = int(sys.argv[4])
            with open(DATA, "w") as f:
                json.dump(data, f)


main()
'''


def ieee_objects() -> dict[str, list[object]]:
    """2.4 GHz at ifIndex 1 (its power level read-only), 5 GHz at ifIndex 2; counters read-only."""
    objects: dict[str, list[object]] = {
        f"{D}.4.5.1.1.1": ["integer", 11, True],
        f"{D}.4.11.1.1.2": ["integer", 100, True],
        f"{D}.4.3.1.10.1": ["integer", 1, False],
        f"{D}.4.3.1.10.2": ["integer", 2, True],
    }
    for if_index in (1, 2):
        objects[f"{D}.4.3.1.1.{if_index}"] = ["integer", 3, False]
        for level, mw in enumerate((200, 100, 50), start=1):  # 23, 20, 17 dBm
            objects[f"{D}.4.3.1.{level + 1}.{if_index}"] = ["integer", mw, False]
        for column in (4, 9, 13):
            objects[f"{D}.2.2.1.{column}.{if_index}"] = ["counter", 500, False]
    return objects


def require_snmpd() -> None:
    if not SNMPD.exists():
        pytest.skip(f"{SNMPD} is not installed (Debian package snmpd)")


@dataclass
class SnmpdPeer:
    workdir: Path
    objects: Mapping[str, list[object]]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> SnmpdPeer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "objects.json"
        data.write_text(json.dumps(dict(self.objects)), encoding="utf-8")
        script = self.workdir / "pass80211.py"
        script.write_text(PASS_SCRIPT.format(python=sys.executable, data=str(data)), encoding="utf-8")
        script.chmod(0o755)
        self.port = free_udp_port()
        conf = self.workdir / "snmpd.conf"
        conf.write_text(
            f"agentAddress udp:127.0.0.1:{self.port}\nrwcommunity {COMMUNITY} 127.0.0.1\npass .{D} {script}\n",
            encoding="ascii",
        )
        (self.workdir / "persist").mkdir(exist_ok=True)
        log = self.workdir / "snmpd.log"
        args = [str(SNMPD), "-f", "-C", "-c", str(conf), "-p", str(self.workdir / "snmpd.pid")]
        args += [f"--persistentDir={self.workdir / 'persist'}", "-Lf", str(log)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_answering(self.port, COMMUNITY, f"{D}.4.11.1.1.2", self.process, log)
        return self

    def stored(self, oid: str) -> object:
        """The value the pass script holds now (what the AP 'really' has)."""
        data = json.loads((self.workdir / "objects.json").read_text(encoding="utf-8"))
        return data[oid][1]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None
