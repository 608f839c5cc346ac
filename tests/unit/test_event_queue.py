from __future__ import annotations

import pytest

from edge_agent.event_queue import EventQueue, QueueLimits
from radio_domain.events import EventType, Severity

pytestmark = pytest.mark.unit

RADAR = EventType.DFS_RADAR  # CRITICAL
BURST = EventType.NON_WIFI_BURST  # HIGH
DENSITY = EventType.DENSITY_SPIKE  # MEDIUM
IMBALANCE = EventType.LOAD_IMBALANCE  # LOW


def ids(queue: EventQueue, now: float, limit: int = 100) -> list[str]:
    return [entry.event_id for entry in queue.drain(now, limit)]


def test_severity_defaults_to_the_kind_and_can_be_given() -> None:
    """An event takes its kind's default severity unless the caller names one."""
    queue = EventQueue()
    queue.put("a", "r1", IMBALANCE, 0.0)
    queue.put("b", "r1", BURST, 0.0, severity=Severity.LOW)
    assert [(e.event_id, e.severity) for e in queue.drain(0.0, 10)] == [("a", Severity.LOW), ("b", Severity.LOW)]


def test_most_severe_entries_leave_first() -> None:
    """Drain orders CRITICAL, HIGH, MEDIUM, LOW whatever the arrival order."""
    queue = EventQueue()
    queue.put("low", "r1", IMBALANCE, 0.0)
    queue.put("medium", "r1", DENSITY, 1.0)
    queue.put("high", "r1", BURST, 2.0)
    queue.put("critical", "r1", RADAR, 3.0)
    assert ids(queue, 3.0, limit=2) == ["critical", "high"]
    assert ids(queue, 3.0) == ["medium", "low"]
    assert len(queue) == 0


def test_entries_of_one_severity_leave_oldest_first() -> None:
    """Within a severity, the earliest first_seen leaves first, even after later duplicates."""
    queue = EventQueue()
    for i in range(5):
        queue.put(f"e{i}", "r1", BURST, float(i), channel=36 + i)
    queue.put("dup", "r1", BURST, 9.0, channel=36)
    assert ids(queue, 10.0, limit=3) == ["e0", "e1", "e2"]
    assert ids(queue, 10.0) == ["e3", "e4"]


def test_duplicates_merge_into_one_entry() -> None:
    """Same radio, type and channel: one entry, counted, with the strongest report's confidence and metadata."""
    queue = EventQueue()
    assert queue.put("e1", "r1", BURST, 0.0, channel=36, confidence=0.4, metadata={"src": "a"})
    assert not queue.put("e2", "r1", BURST, 1.0, channel=36, confidence=0.9, metadata={"src": "b"})
    assert not queue.put("e3", "r1", BURST, 2.0, channel=36, confidence=0.6, metadata={"src": "c"})
    assert queue.put("other-channel", "r1", BURST, 2.0, channel=40)
    assert queue.put("other-radio", "r2", BURST, 2.0, channel=36)
    assert len(queue) == 3
    assert queue.stats.received == 5
    assert queue.stats.coalesced == 2
    merged = queue.drain(3.0, 1)[0]
    assert (merged.event_id, merged.count, merged.confidence) == ("e1", 3, 0.9)
    assert merged.metadata == {"src": "b"}  # a weaker later report does not replace the strong one's figures
    assert (merged.first_seen, merged.last_seen) == (0.0, 2.0)


def test_a_more_severe_duplicate_raises_its_entry() -> None:
    """A duplicate given a higher severity lifts the pending entry to that severity."""
    queue = EventQueue()
    queue.put("burst", "r1", BURST, 0.0, channel=36, severity=Severity.LOW)
    queue.put("density", "r1", DENSITY, 1.0)
    queue.put("burst-again", "r1", BURST, 2.0, channel=36)
    released = queue.drain(2.0, 10)
    assert [(e.event_id, e.severity, e.count) for e in released] == [
        ("burst", Severity.HIGH, 2),
        ("density", Severity.MEDIUM, 1),
    ]


def test_a_key_released_recently_waits_for_its_window_then_leaves_once_merged() -> None:
    """A new entry of a just-released key waits out the window, absorbing duplicates, then leaves once."""
    queue = EventQueue(QueueLimits(coalesce_window_s=5.0))
    queue.put("first", "r1", BURST, 0.0, channel=36)
    assert ids(queue, 0.0) == ["first"]
    queue.put("second", "r1", BURST, 1.0, channel=36)
    queue.put("third", "r1", BURST, 2.0, channel=36)
    queue.put("elsewhere", "r1", BURST, 2.0, channel=40)
    assert ids(queue, 4.9) == ["elsewhere"]
    assert len(queue) == 1
    released = queue.drain(5.0, 10)
    assert [(e.event_id, e.count) for e in released] == [("second", 2)]
    assert queue.drain(100.0, 10) == []
    assert queue.stats.released == 3


def test_critical_events_bypass_the_window_and_the_rate_limit() -> None:
    """Radar leaves at once, every time, even on a radio with no tokens and a key just released."""
    queue = EventQueue(QueueLimits(coalesce_window_s=5.0, burst_per_radio=1, rate_per_radio_per_s=0.01))
    queue.put("burst", "r1", BURST, 0.0, channel=36)
    queue.put("radar-1", "r1", RADAR, 0.0, channel=52)
    assert ids(queue, 0.0) == ["radar-1", "burst"]
    queue.put("burst-2", "r1", BURST, 0.1, channel=40)
    queue.put("radar-2", "r1", RADAR, 0.1, channel=52)
    assert ids(queue, 0.1) == ["radar-2"]
    queue.put("radar-3", "r1", RADAR, 0.2, channel=52)
    assert ids(queue, 0.2) == ["radar-3"]
    assert len(queue) == 1


def test_rate_limit_holds_back_the_eleventh_event_of_a_radio_but_not_another_radios() -> None:
    """With a burst of 10, radio r1's 11th distinct event waits while r2's first one leaves."""
    queue = EventQueue(QueueLimits(burst_per_radio=10, rate_per_radio_per_s=2.0))
    for i in range(11):
        queue.put(f"r1-{i}", "r1", BURST, 0.0, channel=i)
    queue.put("r2-0", "r2", BURST, 0.0)
    released = ids(queue, 0.0)
    assert released == [f"r1-{i}" for i in range(10)] + ["r2-0"]
    assert [e.event_id for e in queue.drain(0.0, 10)] == []
    assert len(queue) == 1
    assert queue.stats.rate_limited == 2


def test_a_held_back_entry_does_not_block_ready_ones_behind_it() -> None:
    """An older entry waiting on its window or its radio's tokens lets younger ready entries pass."""
    queue = EventQueue(QueueLimits(burst_per_radio=1, rate_per_radio_per_s=0.1, coalesce_window_s=5.0))
    queue.put("seed", "r1", BURST, 0.0)
    queue.put("seed-r3", "r3", BURST, 0.0)
    assert ids(queue, 0.0) == ["seed", "seed-r3"]
    queue.put("no-token", "r1", BURST, 1.0, channel=1)
    queue.put("in-window", "r3", BURST, 1.0)
    queue.put("ready", "r2", BURST, 2.0)
    assert ids(queue, 2.0) == ["ready"]


def test_tokens_refill_over_time() -> None:
    """An empty bucket gives one token per 1/rate seconds, up to its burst."""
    queue = EventQueue(QueueLimits(burst_per_radio=2, rate_per_radio_per_s=2.0))
    for i in range(6):
        queue.put(f"e{i}", "r1", BURST, 0.0, channel=i)
    assert ids(queue, 0.0) == ["e0", "e1"]
    assert ids(queue, 0.49) == []
    assert ids(queue, 0.5) == ["e2"]
    assert ids(queue, 0.9) == []
    assert ids(queue, 1.0) == ["e3"]
    assert ids(queue, 100.0) == ["e4", "e5"]


def test_next_ready_at_reports_when_a_held_back_entry_becomes_ready() -> None:
    """None when empty, now when ready, else the later of window end and next token, and drain agrees."""
    queue = EventQueue(QueueLimits(coalesce_window_s=5.0, burst_per_radio=1, rate_per_radio_per_s=0.25))
    assert queue.next_ready_at(0.0) is None
    queue.put("a", "r1", BURST, 0.0)
    assert queue.next_ready_at(0.0) == 0.0
    queue.drain(0.0, 10)
    assert queue.next_ready_at(0.5) is None
    queue.put("b", "r1", BURST, 1.0)  # window ends at 5, next token at 4: ready at 5
    queue.put("c", "r1", DENSITY, 1.0)  # no window, next token at 4
    assert queue.next_ready_at(1.0) == pytest.approx(4.0)
    assert ids(queue, 3.99) == []
    assert ids(queue, 4.0) == ["c"]
    assert queue.next_ready_at(4.0) == pytest.approx(8.0)
    ready_at = queue.next_ready_at(4.0)
    assert ready_at is not None
    assert ids(queue, ready_at) == ["b"]
    queue.put("radar", "r1", RADAR, 9.0)
    assert queue.next_ready_at(9.0) == 9.0


def test_next_ready_at_takes_the_window_when_it_ends_after_the_token() -> None:
    """A key still in its window is ready at the window's end even if its radio has tokens."""
    queue = EventQueue(QueueLimits(coalesce_window_s=5.0))
    queue.put("a", "r1", BURST, 0.0)
    queue.drain(0.0, 10)
    queue.put("b", "r1", BURST, 1.0)
    assert queue.next_ready_at(1.0) == 5.0
    assert ids(queue, 5.0) == ["b"]


def test_a_full_queue_evicts_the_oldest_of_the_lowest_severity() -> None:
    """Past max_pending a more severe event replaces the oldest least severe entry, counted as dropped."""
    queue = EventQueue(QueueLimits(max_pending=3))
    queue.put("low-old", "r1", IMBALANCE, 0.0, channel=1)
    queue.put("medium", "r1", DENSITY, 1.0)
    queue.put("low-young", "r1", IMBALANCE, 2.0, channel=2)
    assert queue.put("high", "r1", BURST, 3.0)
    assert len(queue) == 3
    assert queue.stats.dropped == 1
    assert ids(queue, 3.0) == ["high", "medium", "low-young"]


def test_a_full_queue_of_one_severity_evicts_its_oldest_for_an_equal_one() -> None:
    """An event as severe as the least severe pending entry replaces the oldest of them."""
    queue = EventQueue(QueueLimits(max_pending=2))
    queue.put("old", "r1", BURST, 0.0, channel=1)
    queue.put("young", "r1", BURST, 1.0, channel=2)
    assert queue.put("newest", "r1", BURST, 2.0, channel=3)
    assert queue.stats.dropped == 1
    assert ids(queue, 2.0) == ["young", "newest"]


def test_a_full_queue_never_evicts_critical_for_a_less_severe_event() -> None:
    """When every pending entry is more severe, the newcomer is refused and counted; radar stays."""
    queue = EventQueue(QueueLimits(max_pending=2))
    queue.put("radar-1", "r1", RADAR, 0.0, channel=52)
    queue.put("radar-2", "r2", RADAR, 0.0, channel=52)
    assert not queue.put("burst", "r1", BURST, 1.0)
    assert not queue.put("low", "r1", IMBALANCE, 1.0)
    assert queue.stats.dropped == 2
    assert len(queue) == 2
    assert not queue.put("radar-1-again", "r1", RADAR, 1.0, channel=52)
    assert queue.stats.coalesced == 1
    assert ids(queue, 1.0) == ["radar-1", "radar-2"]


def test_memory_of_released_keys_and_buckets_stays_bounded() -> None:
    """After many distinct keys and radios over hours, only recent keys and non-full buckets are kept."""
    limits = QueueLimits(coalesce_window_s=5.0, burst_per_radio=10, rate_per_radio_per_s=2.0)
    queue = EventQueue(limits)
    for second in range(10_000):
        now = float(second)
        for j in range(3):
            queue.put(f"e{second}-{j}", f"radio-{second % 500}-{j}", BURST, now, channel=second)
        assert len(queue.drain(now, 10)) == 3
    memory = queue.memory_entries()
    assert memory.released_keys <= 3 * 6  # released in the last 5 s
    assert memory.radio_buckets <= 3 * 6  # used in the last burst / rate = 5 s
    assert queue.stats.released == 30_000


def test_a_forgotten_bucket_is_a_full_one() -> None:
    """A radio idle long enough to refill is forgotten and again gets its whole burst."""
    queue = EventQueue(QueueLimits(burst_per_radio=3, rate_per_radio_per_s=1.0))
    for i in range(4):
        queue.put(f"a{i}", "r1", BURST, 0.0, channel=i)
    assert len(queue.drain(0.0, 10)) == 3
    assert queue.memory_entries().radio_buckets == 1
    assert ids(queue, 1.0) == ["a3"]
    assert ids(queue, 4.0) == []
    assert queue.memory_entries().radio_buckets == 0
    for i in range(4):
        queue.put(f"b{i}", "r1", BURST, 4.0, channel=10 + i)
    assert ids(queue, 4.0) == ["b0", "b1", "b2"]


def test_limits_are_checked_once_when_built() -> None:
    """Limits that would stall or break the queue are refused with a message naming the field."""
    with pytest.raises(ValueError, match="burst_per_radio"):
        QueueLimits(burst_per_radio=0)
    with pytest.raises(ValueError, match="rate_per_radio_per_s"):
        QueueLimits(rate_per_radio_per_s=0.0)
    with pytest.raises(ValueError, match="max_pending"):
        QueueLimits(max_pending=0)
    with pytest.raises(ValueError, match="coalesce_window_s"):
        QueueLimits(coalesce_window_s=-1.0)
