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
