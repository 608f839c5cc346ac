"""`rrm probe URL`: what an agent would see of an AP through its driver, before deployment.

Connects with the same driver the agent would use, reads every radio once, and prints the driver's
capabilities (what it can read, what it can change, whether it reports radar) and each radio's
configuration and the telemetry the driver measures. Fields a driver cannot measure are shown as
absent (null in JSON), never as a made-up value.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from drivers.protocol import RadioCapabilities, RadioDriver, RadioInfo, RadioState

CHANGEABLE = ("channel", "width", "tx_power", "obss_pd")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "probe",
        help="read an AP through its driver and show what the agent would see",
        description=(
            "URL forms: hostapd:///var/run/hostapd/wlan0 ; netconf://USER@HOST:PORT[?key=FILE&hostname=AP] "
            "(password from RRM_NETCONF_PASSWORD) ; snmp://COMMUNITY@HOST:PORT[?profile=ieee80211|airespace|FILE] ; "
            "snmpv3://USER@HOST:PORT?auth=sha&priv=aes (keys from RRM_SNMP_AUTH_KEY, RRM_SNMP_PRIV_KEY). "
            "Add ?ap=ID to name the AP."
        ),
    )
    p.add_argument("url", help="the AP's driver URL (see above)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_run)


def _run(ns: argparse.Namespace) -> int:
    report = asyncio.run(_probe(ns.url))
    if ns.json:
        print(json.dumps(report, indent=2))
    else:
        print(_as_text(report))
    return 0


async def _probe(url: str) -> dict[str, object]:
    from drivers.by_url import open_driver_by_url
    from rrm.clock import WallClock

    try:
        driver = await open_driver_by_url(url, clock=WallClock(), env=os.environ)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        return probe_report(driver, await driver.state())
    finally:
        await driver.close()


def probe_report(driver: RadioDriver, states: Sequence[RadioState]) -> dict[str, object]:
    """The probe's JSON document for a driver and one reading of its radios."""
    infos = list(driver.radios())
    by_id = {s.radio_id: s for s in states}
    return {
        "driver": driver.name,
        "capabilities": _driver_capabilities([i.capabilities for i in infos]),
        "radios": [_radio(info, by_id.get(info.radio_id)) for info in infos],
    }


def _can_change(caps: RadioCapabilities) -> list[str]:
    flags = (caps.can_change_channel, caps.can_change_width, caps.can_change_tx_power, caps.can_change_obss_pd)
    return [name for name, allowed in zip(CHANGEABLE, flags, strict=True) if allowed]


def _driver_capabilities(caps: Sequence[RadioCapabilities]) -> dict[str, object]:
    return {
        "reads": sorted({r.value for c in caps for r in c.reads}),
        "can_change": [n for n in CHANGEABLE if any(n in _can_change(c) for c in caps)],
        "reports_radar": any(c.reports_radar for c in caps),
        "reports_spectrum": any(c.reports_spectrum for c in caps),
        "can_steer_clients": any(c.can_steer_clients for c in caps),
        "can_set_fallback_channels": any(c.can_set_fallback_channels for c in caps),
    }


def _radio(info: RadioInfo, state: RadioState | None) -> dict[str, object]:
    from drivers.protocol import Reading

    caps = info.capabilities
    out: dict[str, object] = {
        "id": info.radio_id,
        "ap_id": info.ap_id,
        "band": info.band.value,
        "capabilities": {
            "channels": list(caps.channels),
            "widths_mhz": list(caps.widths_mhz),
            "tx_power_dbm": [caps.min_tx_power_dbm, caps.max_tx_power_dbm],
            "can_change": _can_change(caps),
            "reads": sorted(r.value for r in caps.reads),
            "reports_radar": caps.reports_radar,
        },
    }
    if state is None:
        out["error"] = "the driver returned no state for this radio"
        return out

    def measured(reading: Reading, value: object) -> object:
        return value if reading in caps.reads else None

    out.update(
        {
            "channel": state.config.channel,
            "width_mhz": state.config.width_mhz,
            "tx_power_dbm": measured(Reading.TX_POWER, state.config.tx_power_dbm),
            "obss_pd_dbm": measured(Reading.OBSS_PD, state.config.obss_pd_dbm),
            "enabled": state.config.enabled,
            "noise_floor_dbm": measured(Reading.NOISE, state.noise_floor_dbm),
            "channel_utilization": measured(Reading.UTILISATION, round(state.channel_utilization, 4)),
            "non_wifi_duty": measured(Reading.NON_WIFI, round(state.non_wifi_duty, 4)),
            "retry_rate": measured(Reading.ERRORS, round(state.retry_rate, 4)),
            "clients": measured(Reading.CLIENTS, len(state.clients)),
            "neighbours": measured(Reading.NEIGHBOURS, len(state.neighbors)),
        }
    )
    return out


def _as_text(report: dict[str, object]) -> str:
    caps = report["capabilities"]
    assert isinstance(caps, dict)
    lines = [
        f"driver {report['driver']}",
        f"  reads: {', '.join(caps['reads']) or 'nothing'}",
        f"  can change: {', '.join(caps['can_change']) or 'nothing'}",
        f"  reports radar: {'yes' if caps['reports_radar'] else 'no'}",
    ]
    radios = report["radios"]
    assert isinstance(radios, list)
    for radio in radios:
        if "error" in radio:
            lines.append(f"{radio['id']} ({radio['band']}): {radio['error']}")
            continue
        shown = [
            f"{k}={v}" for k, v in radio.items() if k not in ("id", "band", "ap_id", "capabilities") and v is not None
        ]
        lines.append(f"{radio['id']} ({radio['band']}): {' '.join(shown)}")
    return "\n".join(lines)
