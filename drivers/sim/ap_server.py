"""``rrm sim-ap``: a simulated building's APs behind a local control socket, like hostapd's.

The world runs in real time in this process; each agent connects to the Unix socket, attaches to
its APs, and then asks for state, applies changes, steers clients (op ``steer``), sets radar
fallback channels (op ``fallback``) and receives events (remote_codec.py). So an agent talks to
simulated radios the way it would to real ones: over a control interface, from another process,
without the simulator's numpy stack in its own memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

from drivers.protocol import DriverError, DriverUnavailable
from drivers.sim.driver import SimDriver
from drivers.sim.remote_codec import (
    JsonObject,
    change_from_json,
    channels_from_json,
    error_to_json,
    event_to_json,
    radio_info_to_json,
    result_to_json,
    state_to_json,
    steering_to_json,
)
from drivers.sim.runner import WorldRunner
from drivers.sim.world import SimWorld

log = logging.getLogger(__name__)


def _replace_socket_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class SimApServer:
    def __init__(self, world: SimWorld, runner: WorldRunner) -> None:
        self.world = world
        self.runner = runner
        self._server: asyncio.AbstractServer | None = None

    async def start(self, socket_path: Path) -> None:
        await asyncio.to_thread(_replace_socket_file, socket_path)
        self._server = await asyncio.start_unix_server(self._serve, path=str(socket_path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        driver: SimDriver | None = None
        pump: asyncio.Task[None] | None = None
        lock = asyncio.Lock()
        try:
            while line := await reader.readline():
                reply = await self._handle(line, driver)
                if isinstance(reply, SimDriver):
                    driver = reply
                    self.runner.drivers.append(driver)
                    pump = asyncio.create_task(self._pump_events(driver, writer, lock))
                    reply = {
                        "id": json.loads(line).get("id"),
                        "radios": [radio_info_to_json(r) for r in driver.radios()],
                    }
                async with lock:
                    writer.write(json.dumps(reply).encode() + b"\n")
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            if driver is not None:
                await driver.close()
                self.runner.drivers.remove(driver)
            if pump is not None:
                pump.cancel()
            writer.close()

    async def _pump_events(self, driver: SimDriver, writer: asyncio.StreamWriter, lock: asyncio.Lock) -> None:
        async for event in driver.events():
            async with lock:
                writer.write(json.dumps({"event": event_to_json(event)}).encode() + b"\n")
                await writer.drain()

    async def _handle(self, line: bytes, driver: SimDriver | None) -> JsonObject | SimDriver:
        try:
            request = json.loads(line)
            op = request["op"]
        except (ValueError, KeyError, TypeError):
            return {"id": None, "error": {"type": "DriverError", "operation": "request", "detail": "malformed request"}}
        request_id = request.get("id")
        try:
            if op == "attach":
                if driver is not None:
                    raise DriverError("", "attach", "this connection is already attached")
                aps = [str(a) for a in request["aps"]]
                unknown = sorted(set(aps) - set(self.world.ap_ids()))
                if unknown:
                    raise DriverUnavailable(",".join(unknown), "attach", f"not served here; APs: {self.world.ap_ids()}")
                return SimDriver(self.world, aps)
            if driver is None:
                raise DriverError("", op, "attach to APs first")
            if op == "state":
                return {"id": request_id, "states": [state_to_json(s) for s in await driver.state()]}
            if op == "apply":
                result = await driver.apply(str(request["radio_id"]), change_from_json(request["change"]))
                return {"id": request_id, "result": result_to_json(result)}
            if op == "steer":
                outcome = await driver.steer_client(
                    str(request["radio_id"]), str(request["client_id"]), str(request["target_radio_id"])
                )
                return {"id": request_id} | steering_to_json(outcome)
            if op == "fallback":
                await driver.set_fallback_channels(str(request["radio_id"]), channels_from_json(request["channels"]))
                return {"id": request_id}
            raise DriverError("", op, f"unknown operation {op!r}")
        except DriverError as exc:
            return {"id": request_id, "error": error_to_json(exc)}
        except KeyError as exc:
            return {"id": request_id, "error": {"type": "DriverError", "operation": op, "detail": f"missing {exc}"}}
        except (ValueError, TypeError) as exc:
            return {"id": request_id, "error": {"type": "DriverError", "operation": op, "detail": str(exc)}}
