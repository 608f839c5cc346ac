"""A load-generator process for `rrm bench ingest`: many agents, each on its own mTLS connection.

Run by the bench as ``python -m rrm.bench.load_generator SPEC.json``. Protocol on stdio: it
prints ``READY <n>`` once its agents all have a Welcome, waits for a line on stdin, sends
telemetry for the spec's seconds, waits for outstanding acks, writes its result JSON and prints
``DONE``. Messages are pre-serialised (only the message id differs) so the generator spends its
CPU on gRPC, not on building protobufs, as the facts file's own load generator did.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from edge_agent.link import CONNECT_METHOD
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import CLIENT_ID_BYTES, client_readings


@dataclass
class AgentLoad:
    name: str
    pending: dict[str, int] = field(default_factory=dict)  # message id -> samples
    acked_ids: list[str] = field(default_factory=list)
    sent_messages: int = 0
    acked_messages: int = 0
    acked_samples: int = 0
    acked_in_window: int = 0
    acked_samples_in_window: int = 0
    error: str = ""
    reconnects: int = 0


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _telemetry_body(name: str, batch: int, clients: int, now_ms: int) -> bytes:
    """Serialized `telemetry` field (number 11) of an AgentMessage: batch samples over two radios."""
    samples = []
    for i in range(batch):
        sample = pb.RadioSample(
            radio_id=f"{name}/{'5g' if i % 2 else '2g'}",
            timestamp_ms=now_ms + i,
            config=pb.RadioConfig(channel=36 if i % 2 else 6, width_mhz=20, tx_power_dbm=17.0, enabled=True),
            noise_floor_dbm=-94.0,
            channel_utilization=0.41,
            cca_busy=0.22,
            tx_airtime=0.19,
            retry_rate=0.08,
            packet_error_rate=0.03,
            station_count=clients,
        )
        columns = {
            "rssi_dbm": [-60.0 - c for c in range(clients)],
            "snr_db": [34.0 - c for c in range(clients)],
            "tx_rate_mbps": [286.8] * clients,
            "throughput_mbps": [12.5] * clients,
            "retry_rate": [0.05] * clients,
            "qoe": [0.9] * clients,
        }
        ids = [c.to_bytes(CLIENT_ID_BYTES, "big") for c in range(clients)]
        sample.client_readings.CopyFrom(client_readings(ids, columns))
        samples.append(sample)
    body = pb.TelemetryBatch(samples=samples).SerializeToString()
    return b"\x5a" + _varint(len(body)) + body  # field 11, wire type 2


def _message(body: bytes, message_id: str) -> bytes:
    encoded = message_id.encode()
    return b"\x0a" + _varint(len(encoded)) + encoded + body


async def _run_agent(
    spec: dict[str, object],
    agent: dict[str, str],
    load: AgentLoad,
    ready: asyncio.Event,
    go: asyncio.Event,
    window: list[float],
) -> None:
    creds = grpc.ssl_channel_credentials(
        root_certificates=str(spec["ca"]).encode(),
        private_key=agent["key"].encode(),
        certificate_chain=agent["cert"].encode(),
    )
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.http2.bdp_probe", 0)]
    async with grpc.aio.secure_channel(str(spec["target"]), creds, options=options) as channel:
        call = await _connect(channel, load)
        reader = asyncio.create_task(_read_acks(call, load, window))
        ready.set()
        await go.wait()
        batch = int(str(spec["batch"]))
        body = _telemetry_body(load.name, batch, int(str(spec["clients"])), int(time.time() * 1000))
        interval = float(str(spec["interval_s"]))
        await asyncio.sleep(random.uniform(0, interval))
        end = window[1]
        window_limit = int(str(spec["window"]))
        while time.monotonic() < end:
            if len(load.pending) >= window_limit:
                await asyncio.sleep(interval)  # an agent keeps at most `window` messages unacknowledged
                continue
            message_id = uuid.uuid4().hex
            load.pending[message_id] = batch
            await call.write(_message(body, message_id))
            load.sent_messages += 1
            await asyncio.sleep(interval)
        drain_until = time.monotonic() + float(str(spec["drain_s"]))
        while load.pending and time.monotonic() < drain_until:  # noqa: ASYNC110 - acks arrive on another task
            await asyncio.sleep(0.1)
        await call.done_writing()
        reader.cancel()


async def _connect(channel: grpc.aio.Channel, load: AgentLoad) -> grpc.aio.StreamStreamCall:
    """Open the stream and get a Welcome, retrying with backoff as a real agent does."""
    delay = 0.5
    for _attempt in range(8):
        call = channel.stream_stream(CONNECT_METHOD, request_serializer=None, response_deserializer=None)()
        hello = pb.Hello(
            agent_id=load.name,
            software_version="bench",
            protocol_version=1,
            regulatory_domain="FCC",
            radios=[
                pb.RadioDescriptor(radio_id=f"{load.name}/2g", ap_id=load.name, band=pb.BAND_2G),
                pb.RadioDescriptor(radio_id=f"{load.name}/5g", ap_id=load.name, band=pb.BAND_5G),
            ],
        )
        try:
            await call.write(pb.AgentMessage(hello=hello).SerializeToString())
            welcome = await call.read()
        except grpc.aio.AioRpcError:
            load.reconnects += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 8.0)
            continue
        if welcome is grpc.aio.EOF:
            raise RuntimeError("the controller closed the stream without a welcome")
        return call
    raise RuntimeError("no welcome after 8 attempts")


async def _read_acks(call: grpc.aio.StreamStreamCall, load: AgentLoad, window: list[float]) -> None:
    while True:
        raw = await call.read()
        if raw is grpc.aio.EOF:
            return
        msg = pb.ControllerMessage.FromString(raw)
        if msg.WhichOneof("body") != "ack":
            continue
        now = time.monotonic()
        for message_id in msg.ack.message_ids:
            samples = load.pending.pop(message_id, 0)
            if samples:
                load.acked_ids.append(message_id)
                load.acked_messages += 1
                load.acked_samples += samples
                if window[0] <= now <= window[1]:
                    load.acked_in_window += 1
                    load.acked_samples_in_window += samples


async def _main(spec: dict[str, Any]) -> dict[str, object]:
    agents: list[dict[str, str]] = spec["agents"]
    loads = [AgentLoad(a["name"]) for a in agents]
    readies = [asyncio.Event() for _ in agents]
    go = asyncio.Event()
    window = [0.0, 0.0]

    async def guarded(i: int) -> None:
        try:
            await _run_agent(spec, agents[i], loads[i], readies[i], go, window)
        except Exception as exc:
            loads[
                i
            ].error = f"{type(exc).__name__} after {loads[i].sent_messages} sent, ready={readies[i].is_set()}: {exc}"
            readies[i].set()

    tasks = []
    connects_per_s = float(spec["connects_per_s"])
    for i in range(len(agents)):
        tasks.append(asyncio.create_task(guarded(i)))
        if i % 10 == 9:
            await asyncio.sleep(10 / connects_per_s)  # agents come up over time, not in one instant
    await asyncio.gather(*(r.wait() for r in readies))
    print(f"READY {sum(1 for load in loads if not load.error)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    start = time.monotonic()
    window[0] = start + float(spec["warmup_s"])
    window[1] = start + float(spec["warmup_s"]) + float(spec["seconds"])
    go.set()
    await asyncio.gather(*tasks)
    return {
        "agents": len(loads),
        "failed_agents": [f"{load.name}: {load.error}" for load in loads if load.error][:20],
        "sent_messages": sum(load.sent_messages for load in loads),
        "acked_messages": sum(load.acked_messages for load in loads),
        "acked_samples": sum(load.acked_samples for load in loads),
        "acked_messages_in_window": sum(load.acked_in_window for load in loads),
        "acked_samples_in_window": sum(load.acked_samples_in_window for load in loads),
        "unacked_messages": sum(len(load.pending) for load in loads),
        "reconnects": sum(load.reconnects for load in loads),
        "acked": {load.name: load.acked_ids for load in loads},
    }


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    outcome = asyncio.run(_main(spec))
    Path(spec["result"]).write_text(json.dumps(outcome))
    print("DONE", flush=True)
