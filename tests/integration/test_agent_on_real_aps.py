"""An agent over real hostapd APs (driver=none) and a real controller: reads, radar, one AP dying.

The agent opens one driver per AP URL and serves them together (drivers/fleet.py): when one
hostapd vanishes, the other AP's telemetry and events still reach the controller.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.by_url import open_driver_by_url
from drivers.fleet import FleetDriver
from edge_agent.link import LinkSettings, tls_channel_credentials
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain.identifiers import IdentifierHasher
from radio_domain.regulatory import Region
from rrm.clock import WallClock
from rrm.pki import CertKind, issue_to_folder
from rrm.sqlite_files import open_database
from rrm.tls_files import leaf_paths
from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import Site, eventually
from tests.peers.hostapd_peer import running_hostapd

pytestmark = pytest.mark.integration


def _event_types(site: Site, radio_id: str) -> list[str]:
    with site.ingest_db() as db:
        try:
            rows = db.execute("SELECT event FROM radio_events").fetchall()
        except sqlite3.OperationalError:  # the table appears with the first event
            return []
    events = [pb.RadioEvent.FromString(row[0]) for row in rows]
    return [pb.EventType.Name(e.type) for e in events if e.radio_id == radio_id]


async def test_an_agent_serves_two_real_aps_and_keeps_serving_one_when_the_other_dies(site: Site) -> None:
    """Telemetry from both hostapds, radar from one as a controller event, then one hostapd killed."""
    with running_hostapd() as ap_a, running_hostapd() as ap_b:
        ap_a.wait_enabled()
        ap_b.wait_enabled()
        issue_to_folder(site.pki, CertKind.AGENT, "closet-1", ap_ids=["lab-a", "lab-b"], force=True)
        controller = await site.start_controller()
        clock = WallClock()
        drivers = [
            await open_driver_by_url(peer.url(ap_id), clock=clock, env=os.environ)
            for peer, ap_id in ((ap_a, "lab-a"), (ap_b, "lab-b"))
        ]
        agent = AgentRuntime(
            AgentSettings(agent_id="closet-1", region=Region.FCC, telemetry_interval_s=0.2),
            FleetDriver(drivers),
            open_database(site.state / "agents" / "closet-1.db"),
            IdentifierHasher(b"c" * 32),
            clock,
            LinkSettings(
                target=f"localhost:{site.port}",
                credentials=tls_channel_credentials(leaf_paths(site.pki, CertKind.AGENT, "closet-1")),
                heartbeat_interval_s=1.0,
            ),
        )
        await agent.start()
        site.agents["closet-1"] = agent
        await eventually(lambda: controller.registry.connected_count() == 1, "the agent connected")
        assert controller.registry.owner_of("lab-a/5g") == "closet-1"
        assert controller.registry.owner_of("lab-b/5g") == "closet-1"

        ap_a.command("RADAR DETECTED freq=5260 ht_enabled=1 chan_width=1")
        await eventually(lambda: "DFS_RADAR" in _event_types(site, "lab-a/5g"), "lab-a's radar at the controller")

        ap_a.kill()
        samples_before = controller.counters.telemetry_samples
        await eventually(
            lambda: controller.counters.telemetry_samples >= samples_before + 5, "lab-b's telemetry after lab-a died"
        )
        await eventually(lambda: "HW_FAILURE" in _event_types(site, "lab-a/5g"), "lab-a reported unreachable", 20)
        assert agent.running_loops() == ["event-pump", "event-loop", "telemetry", "link"]
        await site.close()


def test_probe_shows_what_the_agent_would_see_of_a_real_ap(tmp_path: Path) -> None:
    """`rrm probe hostapd://... --json` on a real hostapd: driver, capabilities, the radio's config."""
    with running_hostapd() as peer:
        peer.wait_enabled()
        done = subprocess.run(
            [sys.executable, "-m", "rrm.cli.main", "probe", peer.url("lab-p"), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["driver"] == "hostapd"
    assert report["capabilities"]["reports_radar"] is True
    assert "channel" in report["capabilities"]["can_change"]
    assert "tx_power" not in report["capabilities"]["can_change"], "no nl80211 on this kernel"
    (radio,) = report["radios"]
    assert (radio["id"], radio["band"], radio["channel"], radio["width_mhz"]) == ("lab-p/5g", "5g", 52, 40)
    assert radio["tx_power_dbm"] is None, "hostapd alone cannot tell the power: shown as absent, not invented"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x", "unknown scheme ftp://"),
        ("hostapd://host/var/run/hostapd/wlan0", "no host allowed"),
        ("hostapd:///nonexistent/dir/wlan0", "nonexistent"),
    ],
)
def test_probe_names_a_bad_or_unreachable_url(url: str, message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rrm.cli.main", "probe", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
