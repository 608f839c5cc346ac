"""Guest side (the venv's Python, product code): open the HostapdDriver on a real kernel and report what it sees.

Run in the HIL guest as `python -m hil_tests.rig.guest_driver_probe IFNAME CTRL_DIR FALLBACK TX_POWER_DBM...`.
It prints one JSON object per line, each with a `phase`:

- `opened`: why there is no nl80211 ("" when there is), the capabilities' reads and tx power range;
- `telemetry`: the raw survey and station dumps (decoded) and one `state()` reading;
- `listening`: the radar fallback is set to channel FALLBACK and the probe waits for radar (the host
  injects it through debugfs);
- `radar`: every nl80211 radar notice (from a listener of its own) and every driver event, with guest
  times, until the AP has moved or `RADAR_WAIT_S` passed, then the config `state()` reads there;
- `tx_power`: per requested power, what `apply` reported and what nl80211 reads back (or the error);
- `channel`: a channel change through `apply` (CHAN_SWITCH, a CSA) to SWITCH_TO, what `apply`
  reported and what `state()` reads back afterwards (or the error);
- `done`, or `error` with the exception, last.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from dataclasses import asdict
from typing import Any

from drivers.hostapd.driver import HostapdDriver
from drivers.hostapd.nl80211 import Nl80211Radio, open_nl80211
from drivers.hostapd.nl80211_decode import RadarNotice
from drivers.hostapd.url import open_hostapd_driver, parse_hostapd_url
from drivers.protocol import DriverError, DriverEvent
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from rrm.clock import WallClock

RADAR_WAIT_S = 8.0
SWITCH_TO = 44  # non-DFS (no CAC), 40 MHz-capable with 48
AP_ID = "hil-probe"


def say(phase: str, **values: Any) -> None:
    print(json.dumps({"phase": phase, "t": time.time(), **values}, default=str), flush=True)


async def telemetry(driver: HostapdDriver, nl: Nl80211Radio) -> None:
    survey = [asdict(e) for e in await nl.survey()]
    stations = [asdict(s) for s in await nl.stations()]
    (state,) = await driver.state()
    reading = {
        "noise_floor_dbm": state.noise_floor_dbm,
        "channel_utilization": state.channel_utilization,
        "clients": [asdict(c) for c in state.clients],
        "config": asdict(state.config),
    }
    say("telemetry", survey=survey, stations=stations, state=reading)


async def tx_power(driver: HostapdDriver, nl: Nl80211Radio, requests: list[float]) -> None:
    results: list[dict[str, object]] = []
    for dbm in requests:
        try:
            applied = await driver.apply(driver.radio_id, ConfigChange(tx_power_dbm=dbm))
            kernel = (await nl.interface()).tx_power_dbm
            results.append({"asked": dbm, "applied": applied.after.tx_power_dbm, "kernel": kernel})
        except DriverError as exc:
            results.append({"asked": dbm, "error": str(exc)})
    say("tx_power", results=results)


async def channel_change(driver: HostapdDriver) -> None:
    try:
        applied = await driver.apply(driver.radio_id, ConfigChange(channel=SWITCH_TO))
        (state,) = await driver.state()
        before, after = asdict(applied.before), asdict(applied.after)
        say("channel", asked=SWITCH_TO, before=before, after=after, read_back=asdict(state.config))
    except DriverError as exc:
        say("channel", asked=SWITCH_TO, error=str(exc))


async def radar(driver: HostapdDriver, nl: Nl80211Radio, fallback: int) -> None:
    await driver.set_fallback_channels(driver.radio_id, [fallback])
    notices: list[tuple[float, RadarNotice]] = []
    events: list[tuple[float, DriverEvent]] = []
    moved = asyncio.Event()

    async def listen() -> None:
        async for notice in nl.radar_notices():
            notices.append((time.time(), notice))

    async def pump() -> None:
        async for event in driver.events():
            events.append((time.time(), event))
            if event.type is EventType.CHANNEL_SWITCHED:
                moved.set()

    tasks = [asyncio.create_task(listen()), asyncio.create_task(pump())]
    await asyncio.sleep(0.5)  # both subscribed before the host fires the radar
    say("listening")
    try:
        await asyncio.wait_for(moved.wait(), RADAR_WAIT_S)
        await asyncio.sleep(1.0)  # late duplicates would arrive in this window
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    (state,) = await driver.state()
    say(
        "radar",
        notices=[{"t": t, **asdict(n), "kind": n.kind.name} for t, n in notices],
        events=[{"t": t, "type": e.type.value, "channel": e.channel, "metadata": dict(e.metadata)} for t, e in events],
        config=asdict(state.config),
    )


async def main(ifname: str, ctrl_dir: str, fallback: int, powers: list[float]) -> None:
    url = f"hostapd://{ctrl_dir}/{ifname}?ap={AP_ID}&region=FCC"
    driver = await open_hostapd_driver(parse_hostapd_url(url), clock=WallClock())
    nl = await open_nl80211(ifname)
    try:
        caps = driver.info.capabilities
        say(
            "opened",
            radio_id=driver.radio_id,
            reason=driver.nl80211_reason,
            reads=sorted(r.value for r in caps.reads),
            tx_power_range=[caps.min_tx_power_dbm, caps.max_tx_power_dbm],
            can_change_tx_power=caps.can_change_tx_power,
        )
        await telemetry(driver, nl)
        await radar(driver, nl, fallback)
        await tx_power(driver, nl, powers)
        await channel_change(driver)
    finally:
        nl.close()
        await driver.close()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), [float(p) for p in sys.argv[4:]]))
    except Exception as exc:
        say("error", error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-2000:])
        sys.exit(1)
    say("done")
