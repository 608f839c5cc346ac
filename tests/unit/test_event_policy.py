"""The event loop's policy is configuration, read strictly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge_agent.event_policy import ActionKind, EventPolicy, PolicyFileError, load_event_policy, parse_event_policy
from radio_domain.events import EventType

pytestmark = pytest.mark.unit


def test_defaults_follow_the_seeds() -> None:
    policy = EventPolicy()
    burst = policy.rules_for(EventType.NON_WIFI_BURST)[0]
    assert (burst.action, burst.min_confidence, burst.min_duty_cycle) == (ActionKind.CHANNEL_CHANGE, 0.8, 0.7)
    assert policy.radio_problem_share == 0.30
    assert (policy.rollback.window_s, policy.rollback.per_increase, policy.rollback.disconnects_per_min) == (
        300,
        0.3,
        10,
    )
    assert policy.cooldown_s == 10.0


def test_a_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "cooldown_s: 30\n"
        "rollback: {window_s: 120}\n"
        "matrix:\n"
        "  - {event: DFS_RADAR, action: channel_change}\n"
        "  - {event: NON_WIFI_BURST, action: channel_change, min_confidence: 0.9, min_duty_cycle: 0.5}\n"
    )
    policy = load_event_policy(path)
    assert policy.cooldown_s == 30.0
    assert policy.rollback.window_s == 120.0
    assert policy.rollback.per_increase == 0.3
    assert [r.min_confidence for r in policy.rules_for(EventType.NON_WIFI_BURST)] == [0.9]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"cooldwn_s": 1}, "unknown keys ['cooldwn_s']"),
        ({"rollback": {"window": 1}}, "rollback: unknown keys ['window']"),
        ({"rollback": {"window_s": "long"}}, "rollback.window_s: expected a number"),
        ({"rollback": {"confirm_readings": 0}}, "rollback: confirm_readings must be at least 1"),
        ({"matrix": [{"event": "RADAR", "action": "channel_change"}]}, "'RADAR' is not a valid EventType"),
        ({"matrix": [{"event": "NON_WIFI_BURST", "action": "channel_change", "min_confidence": 2}]}, "outside [0, 1]"),
        ({"matrix": [{"event": "NON_WIFI_BURST", "action": "report_only"}]}, "DFS_RADAR must map to channel_change"),
        ({"matrix": [{"event": "DFS_RADAR", "action": "report_only"}]}, "DFS_RADAR must map to channel_change"),
    ],
)
def test_bad_policies_are_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyFileError, match=re.escape(message)):
        parse_event_policy(data, "policy.json")


def test_unreadable_and_malformed_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match=r"missing\.json: cannot read"):
        load_event_policy(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"cooldown_s": 1})[:-1])
    with pytest.raises(PolicyFileError, match=r"broken\.json: not valid JSON"):
        load_event_policy(broken)
