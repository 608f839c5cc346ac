"""The demo's summary: what ran, what the controller received, and what the clients experienced."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rrm.demo.loop_lines import loop_lines


@dataclass
class DemoReport:
    scenario: str
    seed: int
    minutes: float
    aps: int
    clients: int
    agents_connected: int
    telemetry_samples: int
    events_by_type: dict[str, int] = field(default_factory=dict)
    actions: int = 0
    rollbacks: int = 0
    qoe_start: float = 0.0
    qoe_end: float = 0.0
    qoe_p5_end: float = 0.0
    undelivered_messages: int = 0
    duplicates_ignored: int = 0
    wall_seconds: float = 0.0
    final_configs: dict[str, dict[str, float | int | bool]] = field(default_factory=dict)
    loops: dict[str, object] = field(default_factory=dict)  # what the event, fast and slow loops did (loop_activity.py)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")

    def summary_lines(self) -> list[str]:
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.events_by_type.items())) or "none"
        return [
            f"scenario {self.scenario} (seed {self.seed}), {self.minutes:g} simulated minutes "
            f"in {self.wall_seconds:.1f} s",
            f"APs {self.aps}, clients {self.clients}, agents connected {self.agents_connected}",
            f"telemetry samples stored {self.telemetry_samples}; undelivered {self.undelivered_messages}",
            f"events: {events}",
            f"actions {self.actions}, rollbacks {self.rollbacks}",
            f"network QoE {self.qoe_start:.3f} -> {self.qoe_end:.3f} (5th percentile client {self.qoe_p5_end:.3f})",
            *loop_lines(self.loops),
        ]
