"""The ingest writer: a separate process that owns ``ingest.db``, fed over a pipe.

Streams hand checked messages to ``IngestWriter.submit``; within one event-loop iteration they
are sent to the writer process as one batch. The writer stores whatever has arrived in one
transaction, commits, and only then answers with the sequence numbers it stored, so the streams
acknowledge only what is on disk. A resent message is recognised there and not stored twice.

Why a process and not a thread: SQLite gives up the GIL inside every statement, and with the
event loop busy every re-take waited a switch interval; a writer thread capped ingest at a few
hundred messages per second with 5,000 agents connected (measured, see `rrm bench ingest`).

Backpressure: at most ``max_pending`` samples (other records count one) wait for the disk;
streams ``await admit()`` before submitting, so when the disk falls behind the controller stops
reading from the network and HTTP/2 flow control slows the agents, instead of memory growing.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from controller.ingest_store import (
    IngestRecord,
    RecordTuple,
    open_ingest_database,
    prune_telemetry,
    store_records,
)
from rrm.v1 import agent_link_pb2 as pb

log = logging.getLogger(__name__)

MAX_RECORDS_PER_COMMIT = 4000
PRUNE_EVERY_MS = 60_000
START_TIMEOUT_S = 60.0


class IngestUnavailable(Exception):
    """The writer process is not running; nothing can be acknowledged until it is."""


@dataclass(frozen=True, slots=True)
class IngestItem:
    """A record on its way to disk and the stream (``session``) that will acknowledge it.

    ``message`` is kept for events, reports and audit records (listeners get them once stored);
    telemetry drops it so that what waits for the disk is only the raw bytes.
    """

    record: IngestRecord
    session: object
    weight: int = 1
    message: pb.AgentMessage | None = None


Completion = Callable[[Sequence[tuple[IngestItem, bool]]], None]
"""Called on the event loop with (item, stored-now) pairs once they are committed."""


class IngestWriter:
    def __init__(
        self,
        path: Path,
        on_stored: Completion,
        retention_s: float,
        max_pending: int = 100_000,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._path = path
        self._on_stored = on_stored
        self._on_failure = on_failure
        self._retention_ms = int(retention_s * 1000)
        self.max_pending = max_pending
        self._pending_weight = 0
        self._pending: dict[int, IngestItem] = {}
        self._buffer: list[tuple[int, RecordTuple]] = []
        self._seq = 0
        self._room = asyncio.Event()
        self._room.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self._conn: Connection | None = None
        self._process: mp.process.BaseProcess | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.failed = ""

    def start(self) -> None:
        """Start the writer process and wait until it has opened the database."""
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_writer_main, args=(str(self._path), child, self._retention_ms), name="rrm-ingest-writer"
        )
        self._process.daemon = True
        self._process.start()
        child.close()
        try:
            if not parent.poll(START_TIMEOUT_S):
                self._process.kill()
                raise IngestUnavailable(f"the ingest writer for {self._path} did not start")
            hello = parent.recv()
        except (EOFError, OSError):
            self._process.join()
            raise IngestUnavailable(
                f"the ingest writer for {self._path} exited at start (code {self._process.exitcode})"
            ) from None
        if hello != "ready":
            self._process.join()
            raise IngestUnavailable(f"the ingest writer for {self._path} failed: {hello}")
        self._conn = parent
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(parent.fileno(), self._on_readable)

    @property
    def pid(self) -> int | None:
        """The writer process id (for operators and tests)."""
        return self._process.pid if self._process is not None else None

    async def admit(self) -> None:
        """Wait until the writer has room; raises IngestUnavailable if it has stopped."""
        while self._pending_weight >= self.max_pending and not self.failed:
            self._room.clear()
            await self._room.wait()
        if self.failed:
            raise IngestUnavailable(self.failed)

    def submit(self, item: IngestItem) -> None:
        if self.failed or self._conn is None or self._loop is None:
            raise IngestUnavailable(self.failed or "the ingest writer is not running")
        self._seq += 1
        self._pending[self._seq] = item
        self._pending_weight += item.weight
        self._drained.clear()
        if not self._buffer:
            self._loop.call_soon(self._flush)
        self._buffer.append((self._seq, item.record.as_tuple()))

    def _flush(self) -> None:
        if self._buffer and self._conn is not None and not self.failed:
            batch, self._buffer = self._buffer, []
            try:
                self._conn.send(batch)
            except OSError as exc:
                self._fail(f"the ingest writer pipe broke: {exc}")

    def _on_readable(self) -> None:
        assert self._conn is not None
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            self._fail("the ingest writer process ended")
            return
        if isinstance(reply, str):
            self._fail(f"the ingest writer failed: {reply}")
            return
        done: list[tuple[IngestItem, bool]] = []
        for seq, stored in reply:
            item = self._pending.pop(seq)
            self._pending_weight -= item.weight
            done.append((item, stored))
        if self._pending_weight < self.max_pending:
            self._room.set()
        if not self._pending:
            self._drained.set()
        self._on_stored(done)

    def _fail(self, why: str) -> None:
        if not self.failed:
            log.critical("%s; agents keep their data until the controller is restarted", why)
            if self._on_failure is not None:
                self._on_failure(why)
        self.failed = why
        self._room.set()
        self._drained.set()
        if self._loop is not None and self._conn is not None:
            self._loop.remove_reader(self._conn.fileno())

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Store everything submitted so far, then end the writer process."""
        if self._conn is None or self._loop is None:
            return
        self._flush()
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
        except TimeoutError:
            log.error("the ingest writer did not store %d messages within %g s", len(self._pending), timeout_s)
        if not self.failed:
            self._loop.remove_reader(self._conn.fileno())
            self._conn.send(None)
        assert self._process is not None
        await asyncio.to_thread(self._process.join, timeout_s)
        self._conn.close()
        self._conn = None


def _writer_main(path: str, conn: Connection, retention_ms: int) -> None:
    """The writer process: receive batches, store, commit, answer."""
    try:
        db = open_ingest_database(Path(path))
    except Exception as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    inbox: queue.SimpleQueue[list[tuple[int, RecordTuple]] | None] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(conn, inbox), daemon=True).start()
    last_prune_ms = 0
    while True:
        batch = inbox.get()
        if batch is None:
            break
        stopping = False
        while len(batch) < MAX_RECORDS_PER_COMMIT:
            try:
                more = inbox.get_nowait()
            except queue.Empty:
                break
            if more is None:
                stopping = True
                break
            batch.extend(more)
        try:
            stored = store_records(db, [IngestRecord(*record) for _, record in batch])
        except Exception as exc:
            conn.send(f"cannot store in {path}: {type(exc).__name__}: {exc}")
            return
        conn.send([(seq, new) for (seq, _), new in zip(batch, stored, strict=True)])
        newest = max(record[5] for _, record in batch)
        if newest - last_prune_ms > PRUNE_EVERY_MS:
            last_prune_ms = newest
            prune_telemetry(db, newest - retention_ms)
        if stopping:
            break
    db.close()


def _receive(conn: Connection, inbox: queue.SimpleQueue[list[tuple[int, RecordTuple]] | None]) -> None:
    """Keep the pipe drained so the controller's sends never wait for a commit."""
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            inbox.put(None)
            return
        inbox.put(batch)
        if batch is None:
            return
