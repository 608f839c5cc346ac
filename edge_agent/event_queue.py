"""The agent's event queue: the most urgent radio event first, duplicates merged, no radio flooding the rest.

Events sharing a key (radio, type, channel) merge into one pending entry (count, and the confidence
and metadata of the strongest report, so a duty cycle stays with the confidence it came with).
Once a key is released, its next entry waits ``coalesce_window_s`` and absorbs duplicates
meanwhile. Releasing takes a token from the radio's bucket (``burst_per_radio`` deep, refilled at
``rate_per_radio_per_s``); without one the entry waits. CRITICAL entries (radar, hardware failure)
ignore both and leave at once. Drain order: most severe first, then oldest first. Past
``max_pending`` the oldest entry of the lowest severity makes room, unless every pending entry is
more severe than the newcomer, which is then refused. Released keys and idle, full buckets are
forgotten. Time is the caller's ``now`` (seconds, never going backwards).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

from radio_domain.events import DEFAULT_SEVERITY, EventType, Severity

_Key = tuple[str, EventType, int]
_MOST_SEVERE_FIRST = tuple(sorted(Severity, reverse=True))
_LEAST_SEVERE_FIRST = tuple(sorted(Severity))
_HELD_BACK_SEVERITIES = tuple(s for s in _MOST_SEVERE_FIRST if s is not Severity.CRITICAL)
_TOKEN_SLACK = 1e-9  # a bucket refilled to within float error of one token has that token


@dataclass(frozen=True, slots=True)
class QueueLimits:
    coalesce_window_s: float = 5.0  # at most one release per key per window (CRITICAL excepted)
    rate_per_radio_per_s: float = 2.0  # token-bucket refill per radio
    burst_per_radio: int = 10  # token-bucket capacity per radio
    max_pending: int = 10_000  # pending entries kept at most

    def __post_init__(self) -> None:
        if self.coalesce_window_s < 0:
            raise ValueError(f"coalesce_window_s must be >= 0, got {self.coalesce_window_s}")
        if self.rate_per_radio_per_s <= 0:
            raise ValueError(f"rate_per_radio_per_s must be > 0, got {self.rate_per_radio_per_s}")
        if self.burst_per_radio < 1:
            raise ValueError(f"burst_per_radio must be >= 1, got {self.burst_per_radio}")
        if self.max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {self.max_pending}")


@dataclass(slots=True)
class QueuedEvent:
    event_id: str  # id of the first event merged into this entry
    radio_id: str
    type: EventType
    severity: Severity
    channel: int
    confidence: float  # highest confidence seen among merged events
    metadata: dict[str, str]  # metadata of the latest merged event
    first_seen: float
    last_seen: float
    count: int = 1  # how many events were merged into this entry
    arrived: float = 0.0  # the caller's wall-clock mark of the first event (latency figures only)


@dataclass
class QueueStats:
    received: int = 0
    coalesced: int = 0  # merged into a pending entry
    dropped: int = 0  # evicted or refused because the queue was full
    released: int = 0
    rate_limited: int = 0  # times a ready entry found its radio without a token (once per drain call)


class QueueMemory(NamedTuple):
    """What the queue remembers beside its pending entries."""

    released_keys: int  # keys still inside their coalescing window
    radio_buckets: int  # radios whose token bucket is not known to be full


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class EventQueue:
    def __init__(self, limits: QueueLimits = QueueLimits()) -> None:
        self.limits = limits
        self.stats = QueueStats()
        self._pending: dict[Severity, dict[_Key, QueuedEvent]] = {s: {} for s in _MOST_SEVERE_FIRST}
        self._index: dict[_Key, QueuedEvent] = {}
        # Both ordered by last update, so the entries that can be forgotten are at the front.
        self._window_until: OrderedDict[_Key, float] = OrderedDict()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._bucket_refill_s = limits.burst_per_radio / limits.rate_per_radio_per_s

    def __len__(self) -> int:
        return len(self._index)

    def put(
        self,
        event_id: str,
        radio_id: str,
        kind: EventType,
        now: float,
        *,
        confidence: float = 1.0,
        channel: int = 0,
        metadata: Mapping[str, str] | None = None,
        severity: Severity | None = None,
        arrived: float = 0.0,
    ) -> bool:
        """Queue an event; returns False when it was merged into a pending entry or dropped.

        A duplicate more severe than its pending entry raises the entry to its severity (the entry then
        queues behind those already at that severity).
        """
        self.stats.received += 1
        if severity is None:
            severity = DEFAULT_SEVERITY[kind]
        key = (radio_id, kind, channel)
        entry = self._index.get(key)
        if entry is not None:
            entry.count += 1
            if confidence >= entry.confidence:  # the strongest report's figures stay together
                entry.confidence = confidence
                entry.metadata = dict(metadata) if metadata else {}
            entry.last_seen = now
            if severity > entry.severity:
                del self._pending[entry.severity][key]
                entry.severity = severity
                self._pending[severity][key] = entry
            self.stats.coalesced += 1
            return False
        if len(self._index) >= self.limits.max_pending and not self._make_room_for(severity):
            self.stats.dropped += 1
            return False
        entry = QueuedEvent(
            event_id=event_id,
            radio_id=radio_id,
            type=kind,
            severity=severity,
            channel=channel,
            confidence=confidence,
            metadata=dict(metadata) if metadata else {},
            first_seen=now,
            last_seen=now,
            arrived=arrived,
        )
        self._index[key] = entry
        self._pending[severity][key] = entry
        return True

    def drain(self, now: float, limit: int) -> list[QueuedEvent]:
        """Up to `limit` ready entries, most severe first, oldest first within a severity."""
        self._forget_expired(now)
        released: list[QueuedEvent] = []
        out_of_tokens: set[str] = set()
        for severity in _MOST_SEVERE_FIRST:
            room = limit - len(released)
            if room <= 0:
                break
            entries = self._pending[severity]
            if not entries:
                continue
            if severity is Severity.CRITICAL:
                taken = list(islice(entries.items(), room))
            else:
                taken = self._take_ready(entries, now, room, out_of_tokens)
            for key, entry in taken:
                del entries[key]
                del self._index[key]
                self._remember_release(key, now)
                released.append(entry)
        self.stats.released += len(released)
        return released

    def next_ready_at(self, now: float) -> float | None:
        """When the earliest held-back entry (coalescing window or rate limit) becomes ready; None if empty.

        Returns ``now`` when an entry is ready already.
        """
        if not self._index:
            return None
        if self._pending[Severity.CRITICAL]:
            return now
        earliest = float("inf")
        token_at: dict[str, float] = {}
        for severity in _HELD_BACK_SEVERITIES:
            for key, entry in self._pending[severity].items():
                at = token_at.get(entry.radio_id)
                if at is None:
                    at = token_at[entry.radio_id] = self._token_at(entry.radio_id, now)
                until = self._window_until.get(key)
                if until is not None and until > at:
                    at = until
                if at <= now:
                    return now
                earliest = min(earliest, at)
        return earliest

    def memory_entries(self) -> QueueMemory:
        """How many released keys and radio buckets the queue still remembers (bounded over time)."""
        return QueueMemory(released_keys=len(self._window_until), radio_buckets=len(self._buckets))

    def _make_room_for(self, severity: Severity) -> bool:
        """Evict the oldest entry of the lowest severity unless it is more severe than ``severity``."""
        for lowest in _LEAST_SEVERE_FIRST:
            entries = self._pending[lowest]
            if entries:
                break
        else:
            return True
        if lowest > severity:
            return False
        victim = next(iter(entries))
        del entries[victim]
        del self._index[victim]
        self.stats.dropped += 1
        return True

    def _take_ready(
        self, entries: dict[_Key, QueuedEvent], now: float, room: int, out_of_tokens: set[str]
    ) -> list[tuple[_Key, QueuedEvent]]:
        """Up to ``room`` entries, in order, past their window and with a token taken from their radio."""
        taken: list[tuple[_Key, QueuedEvent]] = []
        window_until = self._window_until
        for key, entry in entries.items():
            until = window_until.get(key)
            if until is not None and until > now:
                continue
            radio_id = key[0]
            if radio_id in out_of_tokens or not self._take_token(radio_id, now):
                out_of_tokens.add(radio_id)
                self.stats.rate_limited += 1
                continue
            taken.append((key, entry))
            if len(taken) >= room:
                break
        return taken

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        tokens = bucket.tokens + (now - bucket.updated) * self.limits.rate_per_radio_per_s
        return min(float(self.limits.burst_per_radio), tokens)

    def _take_token(self, radio_id: str, now: float) -> bool:
        bucket = self._buckets.get(radio_id)
        if bucket is None:
            self._buckets[radio_id] = _Bucket(tokens=self.limits.burst_per_radio - 1.0, updated=now)
            return True
        tokens = self._refilled(bucket, now)
        if tokens < 1.0 - _TOKEN_SLACK:
            return False
        bucket.tokens = max(0.0, tokens - 1.0)
        bucket.updated = now
        self._buckets.move_to_end(radio_id)
        return True

    def _token_at(self, radio_id: str, now: float) -> float:
        """When the radio next has a token (``now`` if it has one)."""
        bucket = self._buckets.get(radio_id)
        if bucket is None:
            return now
        tokens = self._refilled(bucket, now)
        if tokens >= 1.0 - _TOKEN_SLACK:
            return now
        return now + (1.0 - tokens) / self.limits.rate_per_radio_per_s

    def _remember_release(self, key: _Key, now: float) -> None:
        if self.limits.coalesce_window_s <= 0:
            return
        self._window_until[key] = now + self.limits.coalesce_window_s
        self._window_until.move_to_end(key)

    def _forget_expired(self, now: float) -> None:
        """Forget keys past their window and buckets refilled to full: neither changes what is released."""
        window_until = self._window_until
        while window_until:
            key, until = next(iter(window_until.items()))
            if until > now:
                break
            del window_until[key]
        buckets = self._buckets
        while buckets:
            radio_id, bucket = next(iter(buckets.items()))
            if bucket.updated + self._bucket_refill_s > now:
                break
            del buckets[radio_id]
