"""Events from successive observations of a radio: radar hits and channel switches made by others.

Pure. The driver remembers, per radio, the configuration it last saw (or set) and the last
``dfs-hit-time``; each new observation (a poll, or a re-read after a notification) is compared:

* a radar notification, or a ``dfs-hit-time`` later than the remembered one, is a DFS_RADAR. One
  hit gives one event, whichever path sees it first: a notification whose hit the poll already
  reported (same ``dfs-hit-time``) is dropped. The first observation is a baseline, so a hit from
  before the driver connected is not reported;
* otherwise a channel or width that differs from the remembered one is a CHANNEL_SWITCHED (the
  driver updates its memory on its own applies, so its own changes raise nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.netconf.notifications import RadarNotice
from drivers.protocol import DriverEvent
from radio_domain.events import EventType
from radio_domain.radio import RadioConfig


@dataclass(frozen=True, slots=True)
class RadioMemory:
    """What the driver last knew of a radio."""

    config: RadioConfig
    dfs_hit_time_ns: int | None = None
    channel_change_reason: str | None = None


def observe(
    radio_id: str,
    previous: RadioMemory | None,
    current: RadioMemory,
    timestamp: float,
    notice: RadarNotice | None = None,
) -> list[DriverEvent]:
    """The events that explain going from ``previous`` to ``current``."""
    hit = current.dfs_hit_time_ns
    last_hit = None if previous is None else previous.dfs_hit_time_ns
    new_hit = hit is not None and (last_hit is None or hit > last_hit)
    if notice is not None:
        if hit is not None and not new_hit:
            return []  # the dfs-hit-time poll already reported this hit
        return [_radar(radio_id, current, timestamp, notice.channel, _notice_metadata(notice, current))]
    if previous is None:
        return []
    if new_hit:
        moved = current.config.channel != previous.config.channel
        metadata = {
            "source": "dfs-hit-time",
            "dfs_hit_time_ns": str(hit),
            "channel_change_reason": current.channel_change_reason or "",
        }
        radar_channel = previous.config.channel if moved else current.config.channel
        return [_radar(radio_id, current, timestamp, radar_channel, metadata)]
    before, after = previous.config, current.config
    if (before.channel, before.width_mhz) == (after.channel, after.width_mhz):
        return []
    return [
        DriverEvent(
            radio_id=radio_id,
            type=EventType.CHANNEL_SWITCHED,
            timestamp=timestamp,
            channel=after.channel,
            config=after,
            metadata={
                "previous_channel": str(before.channel),
                "previous_width_mhz": str(before.width_mhz),
                "channel_change_reason": current.channel_change_reason or "",
            },
        )
    ]


def _radar(
    radio_id: str, current: RadioMemory, timestamp: float, channel: int, metadata: dict[str, str]
) -> DriverEvent:
    return DriverEvent(
        radio_id=radio_id,
        type=EventType.DFS_RADAR,
        timestamp=timestamp,
        channel=channel,
        config=current.config,
        metadata=metadata,
    )


def _notice_metadata(notice: RadarNotice, current: RadioMemory) -> dict[str, str]:
    metadata = {"source": "notification"}
    if notice.new_channel is not None:
        metadata["new_channel"] = str(notice.new_channel)
    if current.dfs_hit_time_ns is not None:
        metadata["dfs_hit_time_ns"] = str(current.dfs_hit_time_ns)
    return metadata
