"""Building the controller's gRPC server: returns (server, port) so tests can bind port 0."""

from __future__ import annotations

import logging

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from controller.link_servicer import SERVICE_NAME, AgentLinkServicer
from rrm.tls_files import CertPaths

log = logging.getLogger(__name__)


def server_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # Without this, HTTP/2 BDP probing grows every stream's window under load and the server's
        # memory with it (../shared/facts/performance.md, pitfall 1).
        ("grpc.http2.bdp_probe", 0),
        # Liveness of each agent's connection: HTTP/2 pings, so a vanished agent (no FIN) is noticed
        # within about 80 s and its stream closed; agents ping every 30 s the other way.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 20_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.so_reuseport", 0),
        # Cap per-connection read buffers: with thousands of agents, buffers that grow to the
        # default 4 MB chunk under load cost more memory than the data in flight.
        ("grpc.experimental.tcp_read_chunk_size", 16 * 1024),
        ("grpc.experimental.tcp_min_read_chunk_size", 4 * 1024),
        ("grpc.experimental.tcp_max_read_chunk_size", 64 * 1024),
        ("grpc.http2.lookahead_bytes", 32 * 1024),
    ]


def build_server(
    servicer: AgentLinkServicer,
    listen: str,
    tls: CertPaths | None,
    max_message_bytes: int,
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """A grpc.aio server with the agent link and the standard health service.

    ``tls`` None means plain text (the caller has warned); otherwise clients must present a
    certificate from the CA in ``tls.ca``.
    """
    server = grpc.aio.server(options=server_options(max_message_bytes))
    server.add_generic_rpc_handlers((servicer.method_handlers(),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if tls is None:
        port = server.add_insecure_port(listen)
    else:
        cert, key, ca = tls.read()
        credentials = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)
        port = server.add_secure_port(listen, credentials)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    return server, port, health_servicer


async def mark_serving(health_servicer: health.aio.HealthServicer) -> None:
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


async def mark_not_serving(health_servicer: health.aio.HealthServicer) -> None:
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
