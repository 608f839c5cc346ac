"""Invariant 7: no raw client MAC leaves the agent: not in the controller's stores, not in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from tests.integration.conftest import EPOCH, Site, eventually, two_ap_scenario

pytestmark = pytest.mark.integration

MACS = [f"02:1a:2b:3c:4d:{k:02x}" for k in range(10)]


def _scenario_with_mac_clients() -> dict[str, object]:
    scenario = two_ap_scenario()
    clients = scenario["clients"]
    assert isinstance(clients, list)
    for client, mac in zip(clients, MACS, strict=True):
        client["id"] = mac
    return scenario


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


async def test_client_macs_reach_neither_the_controller_nor_any_log(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Run agents on clients named by MAC; grep every byte the controller stored and every log line."""
    caplog.set_level(logging.DEBUG)
    site.world = SimWorld(parse_scenario(_scenario_with_mac_clients(), "macs"), epoch=EPOCH)
    controller = await site.start_controller()
    for ap_id in ("ap-1", "ap-2", "ap-3"):
        await site.start_agent(ap_id)
    await eventually(lambda: controller.registry.connected_count() == 3, "three agents")
    await site.advance(180)  # telemetry, steering, the radar on ap-2 at 120 s
    await eventually(lambda: controller.counters.telemetry_samples >= 20, "telemetry stored")
    assert any(site.world.client_link(mac).radio_id for mac in MACS), "the MAC-named clients are associated"
    await site.close()
    stored = b"".join(path.read_bytes() for path in _files_under(site.state / "controller"))
    assert stored, "the controller stored something"
    for mac in MACS:
        assert mac.encode() not in stored, f"{mac} in the controller's files"
        assert mac.replace(":", "").encode() not in stored
        assert mac not in caplog.text, f"{mac} in the logs"


AP_NAMES = ("ward-7-north", "ward-7-south", "ward-7-east")


async def test_ap_names_reach_neither_the_controller_nor_any_log_where_configured(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """An agent with --hash-ap-ids: the controller, its audit and the agent's logs see only pseudonyms."""
    from drivers.pseudonymous import PseudonymousApDriver, ap_pseudonym
    from drivers.sim.driver import SimDriver
    from edge_agent.link import LinkSettings, tls_channel_credentials
    from edge_agent.runtime import AgentRuntime, AgentSettings
    from radio_domain.identifiers import IdentifierHasher
    from rrm.pki import CertKind, issue_to_folder
    from rrm.sqlite_files import open_database
    from rrm.tls_files import leaf_paths

    caplog.set_level(logging.DEBUG)
    scenario = two_ap_scenario()
    aps = scenario["aps"]
    assert isinstance(aps, list)
    for ap, name in zip(aps, AP_NAMES, strict=True):
        ap["id"] = name
    site.world = SimWorld(parse_scenario(scenario, "wards"), epoch=EPOCH)
    hasher = IdentifierHasher(b"w" * 32)
    pseudonyms = [ap_pseudonym(hasher, name) for name in AP_NAMES]
    # The operator issues the agent's certificate for the pseudonyms (`rrm privacy ap-id` prints them).
    issue_to_folder(site.pki, CertKind.AGENT, "ward-agent", ap_ids=pseudonyms, force=True)
    controller = await site.start_controller()
    inner = SimDriver(site.world, list(AP_NAMES))
    site.drivers["wards"] = inner
    agent = AgentRuntime(
        AgentSettings(agent_id="ward-agent", region=site.world.region, telemetry_interval_s=10.0),
        PseudonymousApDriver(inner, hasher),
        open_database(site.state / "agents" / "ward-agent.db"),
        hasher,
        site.clock,
        LinkSettings(
            target=f"localhost:{site.port}",
            credentials=tls_channel_credentials(leaf_paths(site.pki, CertKind.AGENT, "ward-agent")),
            heartbeat_interval_s=1.0,
        ),
    )
    await agent.start()
    site.agents["ward-agent"] = agent
    await eventually(lambda: controller.registry.connected_count() == 1, "the agent connected")
    await site.advance(180)  # telemetry, events, the radar at 120 s and the agent's own move
    await eventually(lambda: controller.counters.telemetry_samples >= 12, "telemetry stored")
    await site.close()
    stored = b"".join(path.read_bytes() for path in _files_under(site.state / "controller"))
    agent_files = b"".join(path.read_bytes() for path in _files_under(site.state / "agents"))
    assert pseudonyms[1].encode() in stored, "the controller knows the APs by pseudonym"
    for name in AP_NAMES:
        assert name.encode() not in stored, f"{name} in the controller's files"
        assert name.encode() not in agent_files, f"{name} in the agent's outbox or local audit"
        assert name not in caplog.text, f"{name} in the logs"
