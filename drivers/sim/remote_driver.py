"""The driver an agent uses to reach simulated APs served by ``rrm sim-ap`` over a Unix socket.

request + wait for the reply (with a timeout), events queued as they arrive in between: the
shape every southbound backend has (STYLE.md point 5). A lost socket makes every call raise
DriverUnavailable naming the socket, and ends the event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path
from typing import Any

from drivers.protocol import ApplyResult, DriverEvent, DriverUnavailable, RadioInfo, RadioState, SteeringOutcome
from drivers.sim.remote_codec import (
    change_to_json,
    error_from_json,
    event_from_json,
    radio_info_from_json,
    result_from_json,
    state_from_json,
    steering_from_json,
)
from radio_domain.radio import ConfigChange

REPLY_TIMEOUT_S = 10.0
_END = object()


class SimRemoteDriver:
    def __init__(
        self, socket_path: Path, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ap_ids: Sequence[str]
    ) -> None:
        self.socket_path = socket_path
        self.ap_ids = tuple(ap_ids)
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._radios: list[RadioInfo] = []
        self._lost = ""
        self._pump = asyncio.create_task(self._read_loop())

    @classmethod
    async def connect(cls, socket_path: Path, ap_ids: Collection[str]) -> SimRemoteDriver:
        """Connect and attach to ``ap_ids``; raises DriverUnavailable naming the socket if it cannot."""
        where = ",".join(ap_ids)
        try:
            reader, writer = await asyncio.open_unix_connection(str(socket_path))
        except OSError as exc:
            raise DriverUnavailable(where, "connect", f"no simulated AP at {socket_path}: {exc}") from None
        driver = cls(socket_path, reader, writer, list(ap_ids))
        try:
            reply = await driver._request("attach", aps=list(ap_ids))
        except BaseException:
            await driver.close()
            raise
        driver._radios = [radio_info_from_json(r) for r in reply["radios"]]
        return driver

    @property
    def name(self) -> str:
        return "sim-ap"

    def radios(self) -> Sequence[RadioInfo]:
        return list(self._radios)

    async def state(self) -> Sequence[RadioState]:
        reply = await self._request("state")
        return [state_from_json(s) for s in reply["states"]]

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        reply = await self._request("apply", radio_id=radio_id, change=change_to_json(change))
        return result_from_json(reply["result"])

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        reply = await self._request("steer", radio_id=radio_id, client_id=client_id, target_radio_id=target_radio_id)
        return steering_from_json(reply)

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        await self._request("fallback", radio_id=radio_id, channels=[int(c) for c in channels])

    async def events(self) -> AsyncIterator[DriverEvent]:
        while (item := await self._events.get()) is not _END:
            assert isinstance(item, DriverEvent)
            yield item

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump
        self._writer.close()
        self._fail("the driver is closed")

    async def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        where = str(fields.get("radio_id") or ",".join(self.ap_ids))
        if self._lost:
            raise DriverUnavailable(where, op, self._lost)
        request_id = next(self._ids)
        reply_future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = reply_future
        try:
            self._writer.write(json.dumps({"id": request_id, "op": op, **fields}).encode() + b"\n")
            await self._writer.drain()
            reply = await asyncio.wait_for(reply_future, REPLY_TIMEOUT_S)
        except TimeoutError:
            raise DriverUnavailable(where, op, f"no reply from {self.socket_path} in {REPLY_TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise DriverUnavailable(where, op, f"{self.socket_path}: {exc}") from None
        finally:
            self._waiting.pop(request_id, None)
        if "error" in reply:
            raise error_from_json(reply["error"])
        return reply

    async def _read_loop(self) -> None:
        try:
            while line := await self._reader.readline():
                message = json.loads(line)
                if "event" in message:
                    self._events.put_nowait(event_from_json(message["event"]))
                elif (waiter := self._waiting.get(message.get("id"))) is not None and not waiter.done():
                    waiter.set_result(message)
        except (OSError, ValueError) as exc:
            self._fail(f"{self.socket_path}: {exc}")
            return
        self._fail(f"the simulated AP at {self.socket_path} closed the connection")

    def _fail(self, why: str) -> None:
        if not self._lost:
            self._lost = why
            self._events.put_nowait(_END)
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(DriverUnavailable(",".join(self.ap_ids), "request", why))
