"""Regulatory modes of the HIL guest: the real signed regulatory.db (default) or the labelled short-CAC test mode.

REAL_DB: cfg80211 loads the host's signed /lib/firmware/regulatory.db (wireless-regdb); US DFS channels
need the kernel's default 60 s CAC. TEST_SHORT_CAC: the database is hidden under an empty tmpfs in the
guest (the host is untouched) and `short_cac_crda` answers cfg80211's requests with our own rules whose
CAC is `test_cac_ms` (../shared/facts/hil.md, section 7). Switching mode reloads cfg80211, so each test
states the mode it needs and gets it.
"""

from __future__ import annotations

import enum
import re
import time
from dataclasses import dataclass

from hil_tests.rig.guest import Guest, GuestError, GuestTimeout
from hil_tests.rig.short_cac_crda import TEST_MODE_LABEL

FIRMWARE_DIR = "/usr/lib/firmware"  # /lib is a symlink to /usr/lib on Debian 12
KERNEL_DEFAULT_CAC_MS = 60_000  # the database's "0 ms" means the kernel default
_DFS_RULE = re.compile(r"\(5250 - 5\d{3} @ \d+\), \([^)]*\), \((\d+) ms\), DFS")


class RegulatoryMode(enum.Enum):
    REAL_DB = "real signed regulatory.db (60 s CAC)"
    TEST_SHORT_CAC = TEST_MODE_LABEL


@dataclass(frozen=True)
class Regulatory:
    mode: RegulatoryMode = RegulatoryMode.REAL_DB
    country: str = "US"
    test_cac_ms: int = 2000

    @property
    def cac_ms(self) -> int:
        """The CAC the kernel will apply on the 5250-5330 MHz DFS channels."""
        return KERNEL_DEFAULT_CAC_MS if self.mode is RegulatoryMode.REAL_DB else self.test_cac_ms

    @property
    def label(self) -> str:
        return self.mode.value if self.mode is RegulatoryMode.REAL_DB else f"{self.mode.value} (CAC {self.cac_ms} ms)"


def load_wireless_stack(guest: Guest, regulatory: Regulatory, radios: int, timeout: float = 30.0) -> None:
    """Unload hwsim/mac80211/cfg80211, apply the regulatory mode, load `radios` hwsim radios, set the country."""
    guest.run("rmmod mac80211_hwsim 2>/dev/null; rmmod mac80211 2>/dev/null; rmmod cfg80211 2>/dev/null; true")
    loaded = guest.run("grep -E '^(mac80211_hwsim|mac80211|cfg80211) ' /proc/modules || true").out.strip()
    if loaded:
        raise GuestError(f"could not unload the wireless stack before a reset; still loaded: {loaded}")
    hidden = guest.run(f"mountpoint -q {FIRMWARE_DIR}").rc == 0
    if regulatory.mode is RegulatoryMode.TEST_SHORT_CAC:
        if not hidden:
            guest.run(f"mount -t tmpfs -o size=1m hil-no-regdb {FIRMWARE_DIR}").check("hiding regulatory.db")
        guest.call("crda_start", cac_ms=regulatory.test_cac_ms)
    else:
        guest.call("crda_stop")
        if hidden:
            guest.run(f"umount {FIRMWARE_DIR}").check("restoring regulatory.db")
        guest.run(f"test -s {FIRMWARE_DIR}/regulatory.db").check(
            f"{FIRMWARE_DIR}/regulatory.db (Debian package wireless-regdb)"
        )
    guest.run(f"modprobe mac80211_hwsim radios={radios}", timeout=timeout).check("modprobe mac80211_hwsim")
    set_country(guest, regulatory, timeout)


def set_country(guest: Guest, regulatory: Regulatory, timeout: float) -> None:
    """`iw reg set` and wait until the global domain shows the country with the DFS rule and CAC expected."""
    guest.run(f"iw reg set {regulatory.country}").check(f"iw reg set {regulatory.country}")
    want_ms = 0 if regulatory.mode is RegulatoryMode.REAL_DB else regulatory.test_cac_ms
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        seen = guest.run("iw reg get").out
        glob = seen.split("\nphy", 1)[0]
        rule = _DFS_RULE.search(glob)
        if f"country {regulatory.country}:" in glob and rule and int(rule.group(1)) == want_ms:
            return
        time.sleep(0.3)
    crda = [e.text for e in guest.events.events("crda")][-4:]
    raise GuestTimeout(
        f"regulatory domain {regulatory.country} with a {want_ms} ms DFS rule ({regulatory.label}) not in "
        f"`iw reg get` within {timeout:.0f} s; saw: {seen.strip()[:400]!r}; CRDA stand-in: {crda or 'silent'}"
    )
