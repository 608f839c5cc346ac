"""Who not to nag: a client that ignored or refused steering waits longer before the next request.

Each refusal doubles the wait (from ``base_s`` up to ``max_s``); a client that roams as asked
starts afresh. Keyed by the raw client id, kept in memory on the agent only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Backoff:
    next_allowed: float
    wait_s: float


class SteeringBackoff:
    def __init__(self, base_s: float, max_s: float) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self._clients: dict[str, _Backoff] = {}

    def may_steer(self, client_id: str, now: float) -> bool:
        entry = self._clients.get(client_id)
        return entry is None or now >= entry.next_allowed

    def refused(self, client_id: str, now: float) -> float:
        """Record an ignored or refused request; returns how long the client is left alone."""
        entry = self._clients.get(client_id)
        wait = self.base_s if entry is None else min(self.max_s, entry.wait_s * 2.0)
        self._clients[client_id] = _Backoff(now + wait, wait)
        return wait

    def moved(self, client_id: str) -> None:
        self._clients.pop(client_id, None)

    def forget_older_than(self, now: float) -> None:
        """Drop entries whose wait has long passed (bounded memory)."""
        stale = [c for c, e in self._clients.items() if now - e.next_allowed > self.max_s]
        for client_id in stale:
            del self._clients[client_id]
