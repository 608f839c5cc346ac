"""The lab inventory behind `--target lab:FILE`: lab APs the HIL suite reaches over SSH, read strictly.

YAML or JSON (hil_tests/lab-inventory.example.yaml is the documented example). Unknown keys, missing
keys and wrong types are errors naming the file and the key path, all reported at once (STYLE.md 9).
Paths are relative to the inventory's folder; `~` is expanded. `{phy}` in a radar path is replaced by
the phy the radio's interface is on when the bench resets (driver reloads renumber phys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from drivers.netconf.target import HostKeyCheck
from hil_tests.rig.hwsim_ap import short_cac
from hil_tests.rig.regulatory import Regulatory
from rrm.strict_fields import Problems, join, read_choice, read_int, read_list, read_object, read_string

FORMAT, VERSION = "rrm-lab-inventory", 1
DEBUGFS_PREFIX = "debugfs:"
_TOP = ("format", "version", "country", "aps")
_AP_REQUIRED = ("name", "ssh", "radio")
_AP_OPTIONAL = ("rig_python", "work_dir", "hostapd", "wpa_supplicant", "reset_command", "station", "monitor",
                "agent_python")  # fmt: skip
_SSH_REQUIRED = ("host", "user", "key_file")
_SSH_OPTIONAL = ("port", "known_hosts", "known_hosts_file", "connect_timeout_s")


class LabInventoryError(ValueError):
    """The inventory file is unreadable or invalid; the message names the file and every bad key."""


@dataclass(frozen=True)
class SshAccess:
    host: str
    port: int
    user: str
    key_file: Path
    known_hosts: HostKeyCheck  # strict: the key must be in known_hosts_file; accept-new: trust on first use
    known_hosts_file: Path | None  # None: ~/.ssh/known_hosts
    connect_timeout_s: int


@dataclass(frozen=True)
class LabRadio:
    iface: str
    phy: str | None  # checked against the interface's phy when given
    radar_path: str | None  # a debugfs file; writing `radar_value` to it fires the driver's radar path
    radar_value: str


@dataclass(frozen=True)
class LabAp:
    name: str
    ssh: SshAccess
    radio: LabRadio
    station: LabRadio | None  # a wpa_supplicant radio on the same host
    monitor: LabRadio | None  # a radio the rig puts in monitor mode for captures
    rig_python: str  # python3 >= 3.9 on the AP host; the stdlib rig agent is streamed to it over SSH
    work_dir: str  # on the AP host: control sockets, configs, logs, captures, the rig agent
    hostapd: str
    wpa_supplicant: str
    reset_command: str | None  # e.g. a driver reload: fresh DFS state and NOP timers for every test
    agent_python: str | None  # the product's Python on the AP host, for tests that run our agent there


@dataclass(frozen=True)
class LabInventory:
    source: Path
    country: str
    test_cac_ms: int | None  # set only for the hwsim proof guest, which runs the rig's short-CAC test mode
    aps: tuple[LabAp, ...]

    @property
    def regulatory(self) -> Regulatory:
        return Regulatory(country=self.country) if self.test_cac_ms is None else short_cac(self.test_cac_ms)

    def ap(self, name: str | None) -> LabAp:
        """The AP called `name`, or the first one listed; LabInventoryError naming the known ones."""
        if name is None:
            return self.aps[0]
        for ap in self.aps:
            if ap.name == name:
                return ap
        raise LabInventoryError(f"{self.source}: no AP named {name!r}; it lists {[a.name for a in self.aps]}")


def load_inventory(path: Path) -> LabInventory:
    """Read and check a lab inventory; LabInventoryError listing every problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LabInventoryError(f"{path}: cannot read the lab inventory: {exc}") from None
    problems = Problems(str(path))
    inventory = parse_inventory(data, path, problems)
    if problems.lines or inventory is None:
        raise LabInventoryError("\n".join(problems.lines) or f"{path}: invalid lab inventory")
    return inventory


def parse_inventory(data: object, source: Path, problems: Problems) -> LabInventory | None:
    top = read_object(data, "", problems, required=_TOP, optional=("test_cac_ms",))
    if top is None:
        return None
    if top.get("format") != FORMAT or top.get("version") != VERSION:
        problems.add("format", f"expected format {FORMAT!r} version {VERSION}")
    country = read_string(top, "country", "", problems)
    if country is not None and (len(country) != 2 or not country.isalpha() or not country.isupper()):
        problems.add("country", f"expected a two-letter upper-case country code, got {country!r}")
    test_cac_ms = read_int(top, "test_cac_ms", "", problems, minimum=1000) if "test_cac_ms" in top else None
    raw_aps = read_list(top, "aps", "", problems)
    if "aps" in top and not raw_aps:
        problems.add("aps", "lists no AP")
    aps = [_ap(raw, join("aps", i), source.parent, problems) for i, raw in enumerate(raw_aps)]
    names = [ap.name for ap in aps if ap is not None]
    for name in {n for n in names if names.count(n) > 1}:
        problems.add("aps", f"AP name {name!r} appears more than once")
    if problems.lines or country is None:
        return None
    return LabInventory(source, country, test_cac_ms, tuple(ap for ap in aps if ap is not None))


def _ap(raw: object, path: str, base: Path, problems: Problems) -> LabAp | None:
    obj = read_object(raw, path, problems, required=_AP_REQUIRED, optional=_AP_OPTIONAL)
    if obj is None:
        return None
    name = read_string(obj, "name", path, problems)
    ssh = _ssh(obj.get("ssh"), join(path, "ssh"), base, problems)
    radio = _radio(obj.get("radio"), join(path, "radio"), problems, radar_allowed=True)
    station = _radio(obj["station"], join(path, "station"), problems) if "station" in obj else None
    monitor = _radio(obj["monitor"], join(path, "monitor"), problems) if "monitor" in obj else None
    text = {key: read_string(obj, key, path, problems, default=default) for key, default in (
        ("rig_python", "python3"), ("work_dir", "/tmp/rrm-hil-lab"), ("hostapd", "hostapd"),
        ("wpa_supplicant", "wpa_supplicant"),
    )}  # fmt: skip
    work_dir = text["work_dir"]
    if work_dir is not None and (not work_dir.startswith("/") or any(c in work_dir for c in " '\"$`\\")):
        problems.add(join(path, "work_dir"), f"expected an absolute path without spaces or quotes, got {work_dir!r}")
    reset = read_string(obj, "reset_command", path, problems) if "reset_command" in obj else None
    agent_python = read_string(obj, "agent_python", path, problems) if "agent_python" in obj else None
    if name is None or ssh is None or radio is None or None in text.values():
        return None
    return LabAp(name, ssh, radio, station, monitor, str(text["rig_python"]), str(work_dir), str(text["hostapd"]),
                 str(text["wpa_supplicant"]), reset, agent_python)  # fmt: skip


def _ssh(raw: object, path: str, base: Path, problems: Problems) -> SshAccess | None:
    obj = read_object(raw, path, problems, required=_SSH_REQUIRED, optional=_SSH_OPTIONAL)
    if obj is None:
        return None
    host = read_string(obj, "host", path, problems)
    port = read_int(obj, "port", path, problems, default=22, minimum=1, maximum=65535)
    user = read_string(obj, "user", path, problems)
    key_file = _path(obj, "key_file", path, base, problems)
    check = read_choice(obj, "known_hosts", path, problems, HostKeyCheck, default=HostKeyCheck.STRICT)
    known_file = _path(obj, "known_hosts_file", path, base, problems) if "known_hosts_file" in obj else None
    timeout = read_int(obj, "connect_timeout_s", path, problems, default=20, minimum=1, maximum=600)
    if host is None or port is None or user is None or key_file is None or check is None or timeout is None:
        return None
    return SshAccess(host, port, user, key_file, check, known_file, timeout)


def _radio(raw: object, path: str, problems: Problems, radar_allowed: bool = False) -> LabRadio | None:
    optional = ("phy", "radar", "radar_value") if radar_allowed else ("phy",)
    obj = read_object(raw, path, problems, required=("iface",), optional=optional)
    if obj is None:
        return None
    iface = read_string(obj, "iface", path, problems)
    phy = read_string(obj, "phy", path, problems) if "phy" in obj else None
    radar = _radar_path(obj, path, problems)
    value = read_string(obj, "radar_value", path, problems, default="1")
    if iface is None or value is None:
        return None
    return LabRadio(iface, phy, radar, value)


def _radar_path(obj: Mapping[str, object], path: str, problems: Problems) -> str | None:
    """`debugfs:PATH`: ath10k/ath11k `dfs_simulate_radar`, mt76 `radar_trigger`, hwsim `dfs_simulate_radar`."""
    radar = read_string(obj, "radar", path, problems) if "radar" in obj else None
    if radar is None:
        return None
    where = radar.removeprefix(DEBUGFS_PREFIX)
    if not radar.startswith(DEBUGFS_PREFIX) or not where.startswith("/sys/kernel/debug/"):
        problems.add(join(path, "radar"), f"expected 'debugfs:/sys/kernel/debug/...', got {radar!r}")
        return None
    return where


def _path(obj: Mapping[str, object], key: str, path: str, base: Path, problems: Problems) -> Path | None:
    text = read_string(obj, key, path, problems)
    if text is None:
        return None
    given = Path(text).expanduser()
    return given if given.is_absolute() else base / given
