"""TEST MODE ONLY: a CRDA stand-in that answers the kernel's regulatory requests with our own short-CAC rules.

Runs inside the HIL guest (stdlib only). With the signed regulatory.db hidden, cfg80211 asks userspace
for each country by a uevent (`COUNTRY=XX`, CONFIG_CFG80211_CRDA_SUPPORT); this answers with
NL80211_CMD_SET_REG carrying US-like rules whose DFS ranges have `NL80211_ATTR_DFS_CAC_TIME` set short,
so a CAC takes seconds instead of 60 s (../shared/facts/hil.md, section 7). These rules are NOT the real
regulatory database: the rig's default is the real, signed regulatory.db (`regulatory.RegulatoryMode`).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

NETLINK_GENERIC = 16
NETLINK_KOBJECT_UEVENT = 15
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 0x2
NLA_F_NESTED = 0x8000
# linux/nl80211.h
NL80211_CMD_SET_REG = 26
NL80211_ATTR_REG_ALPHA2 = 33
NL80211_ATTR_REG_RULES = 34
NL80211_ATTR_DFS_REGION = 146
RULE_FLAGS, RANGE_START, RANGE_END, MAX_BW, MAX_ANT_GAIN, MAX_EIRP, DFS_CAC_TIME = range(1, 8)
NL80211_RRF_DFS = 1 << 4
NL80211_RRF_AUTO_BW = 1 << 11
NL80211_DFS_FCC = 1
TEST_MODE_LABEL = "TEST MODE: regulatory rules from the CRDA stand-in, not the signed regulatory.db"


@dataclass(frozen=True)
class RegRule:
    start_mhz: int
    end_mhz: int
    max_bw_mhz: int
    eirp_dbm: int
    dfs: bool


# US-like (FCC) ranges; only the DFS CAC time differs from the real database's intent.
TEST_RULES = (
    RegRule(2402, 2472, 40, 30, dfs=False),
    RegRule(5170, 5250, 80, 23, dfs=False),
    RegRule(5250, 5330, 80, 23, dfs=True),
    RegRule(5490, 5730, 160, 23, dfs=True),
    RegRule(5735, 5895, 80, 30, dfs=False),
)


def _attr(kind: int, payload: bytes) -> bytes:
    raw = struct.pack("HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack("I", value))


def _message(family: int, cmd: int, attrs: bytes, seq: int, flags: int = NLM_F_REQUEST | NLM_F_ACK) -> bytes:
    body = struct.pack("BBH", cmd, 1, 0) + attrs
    return struct.pack("IHHII", 16 + len(body), family, flags, seq, 0) + body


def set_reg_message(family: int, alpha2: str, cac_ms: int, seq: int) -> bytes:
    """NL80211_CMD_SET_REG for `alpha2` with TEST_RULES and the given DFS CAC time."""
    rules = b""
    for index, rule in enumerate(TEST_RULES, start=1):
        flags = NL80211_RRF_AUTO_BW | (NL80211_RRF_DFS if rule.dfs else 0)
        fields = (
            _u32(RULE_FLAGS, flags)
            + _u32(RANGE_START, rule.start_mhz * 1000)
            + _u32(RANGE_END, rule.end_mhz * 1000)
            + _u32(MAX_BW, rule.max_bw_mhz * 1000)
            + _u32(MAX_ANT_GAIN, 0)
            + _u32(MAX_EIRP, rule.eirp_dbm * 100)
            + (_u32(DFS_CAC_TIME, cac_ms) if rule.dfs else b"")
        )
        rules += _attr(index | NLA_F_NESTED, fields)
    attrs = (
        _attr(NL80211_ATTR_REG_ALPHA2, alpha2.encode()[:2] + b"\0")
        + _attr(NL80211_ATTR_DFS_REGION, bytes([NL80211_DFS_FCC]))
        + _attr(NL80211_ATTR_REG_RULES | NLA_F_NESTED, rules)
    )
    return _message(family, NL80211_CMD_SET_REG, attrs, seq)


def _parse_attrs(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(data):
        length, kind = struct.unpack_from("HH", data, pos)
        if length < 4:
            break
        out[kind & 0x3FFF] = data[pos + 4 : pos + length]
        pos += (length + 3) // 4 * 4
    return out


def resolve_nl80211(sock: socket.socket) -> int:
    """The generic netlink family id of nl80211 (cfg80211 must be loaded)."""
    sock.send(_message(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, _attr(CTRL_ATTR_FAMILY_NAME, b"nl80211\0"), 1, NLM_F_REQUEST))
    reply = sock.recv(65536)
    _length, kind = struct.unpack_from("IH", reply)
    if kind == NLMSG_ERROR:
        raise OSError(f"nl80211 family lookup failed: error {struct.unpack_from('i', reply, 16)[0]}")
    family_id = _parse_attrs(reply[20:]).get(CTRL_ATTR_FAMILY_ID)
    if family_id is None:
        raise OSError("nl80211 family lookup returned no family id")
    return int(struct.unpack("H", family_id[:2])[0])


def parse_uevent(raw: bytes) -> dict[str, str]:
    """A kernel uevent (`action@devpath\\0KEY=VALUE\\0...`) as a dict of its keys."""
    fields = raw.split(b"\0")
    env = {"HEADER": fields[0].decode(errors="replace")}
    for item in fields[1:]:
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


class ShortCacCrda:
    """TEST MODE: answers cfg80211's `COUNTRY=XX` uevents with TEST_RULES (DFS CAC of `cac_ms`)."""

    def __init__(self, cac_ms: int, notify: Callable[[str], None]) -> None:
        self.cac_ms = cac_ms
        self._notify = notify
        self._uevents = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_KOBJECT_UEVENT)
        self._uevents.bind((0, 1))  # group 1: the kernel's own uevents
        self._uevents.settimeout(0.5)
        self._stop = threading.Event()
        self._seq = 100
        self._thread = threading.Thread(target=self._serve, name="short-cac-crda", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._uevents.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw = self._uevents.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                self._notify(f"uevent socket error: {exc}")
                return
            env = parse_uevent(raw)
            if "COUNTRY" in env and "regulatory" in env.get("DEVPATH", ""):
                self._notify(self.answer(env["COUNTRY"]))

    def answer(self, alpha2: str) -> str:
        """Send SET_REG for one request; return a line saying what the kernel replied."""
        self._seq += 1
        try:
            with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC) as genl:
                genl.settimeout(2.0)
                genl.bind((0, 0))
                family = resolve_nl80211(genl)
                genl.send(set_reg_message(family, alpha2, self.cac_ms, self._seq))
                reply = genl.recv(65536)
        except OSError as exc:
            return f"COUNTRY={alpha2} SET_REG failed: {exc}"
        err = struct.unpack_from("i", reply, 16)[0] if struct.unpack_from("H", reply, 4)[0] == NLMSG_ERROR else 0
        return f"COUNTRY={alpha2} answered cac_ms={self.cac_ms} err={err}"
