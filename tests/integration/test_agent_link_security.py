"""Who may speak on the agent link, and what happens to bad input (mTLS, radio ownership, limits)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rrm.tls_files import CertKind, CertPaths, leaf_paths
from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import Site, hello, open_stream, raw_channel, read_until, telemetry

pytestmark = pytest.mark.integration


def _agent(site: Site, ap_id: str) -> CertPaths:
    return leaf_paths(site.pki, CertKind.AGENT, ap_id)


async def _status_of(call: grpc.aio.StreamStreamCall) -> tuple[grpc.StatusCode, str]:
    """Read until the stream ends; its final status and details."""
    while await call.read() is not grpc.aio.EOF:
        pass
    return await call.code(), await call.details()


async def _expect_failure(call: grpc.aio.StreamStreamCall) -> tuple[grpc.StatusCode, str]:
    try:
        return await _status_of(call)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""


async def test_an_agent_cannot_claim_an_ap_its_certificate_does_not_name(site: Site) -> None:
    await site.start_controller()
    async with raw_channel(_agent(site, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        await call.write(hello("ap-1", claim="ap-2"))
        code, details = await _expect_failure(call)
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert "'ap-1' may speak for APs ['ap-1'], not ['ap-2']" in details


async def test_an_agent_cannot_report_for_another_aps_radio(site: Site) -> None:
    await site.start_controller()
    async with raw_channel(_agent(site, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        await call.write(hello("ap-1"))
        await read_until(call, "welcome")
        await call.write(telemetry("t1", "ap-2/5g"))
        code, details = await _expect_failure(call)
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert "may not report for radios ['ap-2/5g']" in details
    assert site.controller is not None and site.controller.counters.telemetry_samples == 0


async def test_an_agent_cannot_use_another_agents_name(site: Site) -> None:
    await site.start_controller()
    async with raw_channel(_agent(site, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        await call.write(hello("ap-3", claim="ap-1"))
        code, details = await _expect_failure(call)
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert "certificate is for agent 'ap-1'; the hello says 'ap-3'" in details


async def test_an_agent_from_a_foreign_ca_is_refused(site: Site, foreign_pki: Path) -> None:
    await site.start_controller()
    async with raw_channel(leaf_paths(foreign_pki, CertKind.AGENT, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        code, _ = await _expect_failure(call)
    assert code is grpc.StatusCode.UNAVAILABLE
    assert site.controller is not None and site.controller.registry.connected_count() == 0


async def test_a_client_without_a_certificate_is_refused(site: Site) -> None:
    await site.start_controller()
    ca = (site.pki / "ca.crt").read_bytes()
    async with grpc.aio.secure_channel(f"localhost:{site.port}", grpc.ssl_channel_credentials(ca)) as channel:
        code, _ = await _expect_failure(open_stream(channel))
    assert code is grpc.StatusCode.UNAVAILABLE


async def test_the_first_message_must_be_a_hello(site: Site) -> None:
    await site.start_controller()
    async with raw_channel(_agent(site, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        await call.write(telemetry("t1", "ap-1/5g"))
        code, details = await _expect_failure(call)
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert "first message of a stream must be a hello, not 'telemetry'" in details


async def test_malformed_and_oversized_messages_close_only_their_own_stream(site: Site) -> None:
    """Garbage gets INVALID_ARGUMENT, 5 MB gets RESOURCE_EXHAUSTED; another agent's stream carries on."""
    await site.start_controller()
    async with (
        raw_channel(_agent(site, "ap-1"), site.port) as good_channel,
        raw_channel(_agent(site, "ap-2"), site.port) as bad_channel,
        raw_channel(_agent(site, "ap-3"), site.port) as big_channel,
    ):
        good = open_stream(good_channel)
        await good.write(hello("ap-1"))
        await read_until(good, "welcome")

        bad = open_stream(bad_channel)
        await bad.write(hello("ap-2"))
        await read_until(bad, "welcome")
        await bad.write(b"\xff\xff\xff\xff not a protobuf")
        code, details = await _expect_failure(bad)
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert "message 1 on this stream is not a valid rrm.v1.AgentMessage" in details

        big = open_stream(big_channel)
        await big.write(hello("ap-3"))
        await read_until(big, "welcome")
        await big.write(b"\x0a" + b"\x80\x80\x80\x05" + b"x" * (5 * 1024 * 1024))
        code, details = await _expect_failure(big)
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "larger than max" in details

        await good.write(telemetry("after", "ap-1/5g"))
        ack = await read_until(good, "ack")
        assert list(ack.ack.message_ids) == ["after"]


async def test_an_impossible_value_is_rejected_by_name_and_the_stream_goes_on(site: Site) -> None:
    await site.start_controller()
    async with raw_channel(_agent(site, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        await call.write(hello("ap-1"))
        await read_until(call, "welcome")
        await call.write(telemetry("bad", "ap-1/5g", cca_busy=1.7))
        rejected = (await read_until(call, "ack")).ack.rejected
        assert [(r.message_id, r.code) for r in rejected] == [("bad", "invalid")]
        assert rejected[0].reason == "telemetry.samples[0].cca_busy: 1.7 is outside [0, 1]"
        await call.write(telemetry("good", "ap-1/5g", cca_busy=0.3))
        assert list((await read_until(call, "ack")).ack.message_ids) == ["good"]


async def test_unknown_message_kinds_from_newer_agents_are_answered_not_fatal(site: Site) -> None:
    """A durable message with a body this controller does not know gets 'unsupported' (versioning rule 3)."""
    await site.start_controller()
    async with raw_channel(_agent(site, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        await call.write(hello("ap-1"))
        await read_until(call, "welcome")
        future_body = b"\xfa\x06\x02\x08\x01"  # field 111 (a future oneof case), a nested message
        await call.write(pb.AgentMessage(message_id="future").SerializeToString() + future_body)
        rejected = (await read_until(call, "ack")).ack.rejected
        assert [(r.message_id, r.code) for r in rejected] == [("future", "unsupported")]


async def test_the_standard_health_service_reports_serving(site: Site) -> None:
    await site.start_controller()
    async with raw_channel(_agent(site, "ap-1"), site.port) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service="rrm.v1.AgentLink"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
