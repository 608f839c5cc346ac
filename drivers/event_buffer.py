"""The bounded queue between a driver's event sources and its ``events()`` iterator.

Every driver keeps the events its AP reported until the agent reads them: in order, at most
``max_events`` (the oldest dropped first, counted and logged), and ``drain()`` ends once the buffer
is closed and empty.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator

from drivers.protocol import DriverEvent

log = logging.getLogger(__name__)

MAX_BUFFERED_EVENTS = 10_000


class DriverEventBuffer:
    def __init__(self, owner: str, max_events: int = MAX_BUFFERED_EVENTS) -> None:
        self.owner = owner  # named in the drop warning
        self.max_events = max_events
        self.dropped = 0
        self._queue: deque[DriverEvent] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False

    def put(self, event: DriverEvent) -> None:
        """Queue an event (ignored once closed); a full buffer drops its oldest."""
        if self._closed:
            return
        if len(self._queue) >= self.max_events:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("%s: dropped %d unread driver events", self.owner, self.dropped)
        self._queue.append(event)
        self._wakeup.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    async def drain(self) -> AsyncIterator[DriverEvent]:
        """Events as they are put; ends after close() once the buffer is empty."""
        while True:
            while self._queue:
                yield self._queue.popleft()
            if self._closed:
                return
            self._wakeup.clear()
            await self._wakeup.wait()
