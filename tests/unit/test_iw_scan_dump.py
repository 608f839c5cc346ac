"""`iw dev IF scan dump` text (as iw 5.19 prints it in the HIL guest) becomes one ScannedBss per BSS."""

from __future__ import annotations

import pytest

from hil_tests.rig.iw_scan import ScannedBss, parse_scan_dump

pytestmark = pytest.mark.unit

DUMP = """BSS 02:4e:42:00:00:01(on wlan0)
\tlast seen: 1013.412s [boottime]
\tTSF: 1796132652213359 usec (20787d, 17:04:12)
\tfreq: 5180
\tbeacon interval: 100 TUs
\tcapability: ESS (0x0001)
\tsignal: -50.00 dBm
\tlast seen: 0 ms ago
\tSSID: hil-neighbour
\tSupported rates: 6.0* 9.0 12.0* 18.0 24.0* 36.0 48.0 54.0
\tDS Parameter set: channel 36
\tHT operation:
\t\t * primary channel: 36
\t\t * secondary channel offset: no secondary
BSS 02:00:00:00:05:00(on wlan0)
\tfreq: 5180
\tSSID: \n"""


def test_each_bss_with_its_channel_fields() -> None:
    assert parse_scan_dump(DUMP) == [
        ScannedBss("02:4e:42:00:00:01", 5180, -50.0, "hil-neighbour", 36, 36),
        ScannedBss("02:00:00:00:05:00", 5180, None, "", None, None),
    ]


def test_nothing_heard_is_an_empty_list() -> None:
    assert parse_scan_dump("") == []
