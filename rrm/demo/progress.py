"""Live progress lines for `rrm demo`: events and actions as the controller stores them."""

from __future__ import annotations

from collections.abc import Callable

from rrm.clock import Clock
from rrm.v1 import agent_link_pb2 as pb


def _fmt_config(c: pb.RadioConfig) -> str:
    state = "" if c.enabled else " (down)"
    return f"ch {c.channel}/{c.width_mhz} MHz {c.tx_power_dbm:g} dBm{state}"


class ProgressPrinter:
    """Prints one line per event and action as the controller stores it, stamped with when it happened."""

    def __init__(self, clock: Clock, start: float, write: Callable[[str], None] = print) -> None:
        self._clock = clock
        self._start = start
        self._write = write

    def stamp(self, at: float | None = None) -> str:
        """Simulated time since the start, of ``at`` (a unix time) or of now."""
        elapsed = int((self._clock.now() if at is None else at) - self._start)
        return f"[{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}]"

    def __call__(self, agent_id: str, msg: pb.AgentMessage) -> None:
        body = msg.WhichOneof("body")
        if body == "event":
            e = msg.event
            detail = ", ".join(f"{k}={v}" for k, v in sorted(e.metadata.items()))
            kind = pb.EventType.Name(e.type)
            self._write(
                f"{self.stamp(e.timestamp_ms / 1000)} event  {e.radio_id or agent_id:<12} {kind:<16} "
                f"ch {e.channel} conf {e.confidence:.2f} {detail}"
            )
        elif body == "action_report":
            r = msg.action_report
            why = r.error or r.reason
            self._write(
                f"{self.stamp(r.completed_at_ms / 1000)} action {r.radio_id:<12} {pb.ActionOrigin.Name(r.origin):<18} "
                f"{pb.ActionStatus.Name(r.status):<11} {_fmt_config(r.before)} -> {_fmt_config(r.after)} ({why})"
            )

    def status(self, line: str) -> None:
        self._write(f"{self.stamp()} {line}")
