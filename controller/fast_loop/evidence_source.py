"""Channel evidence from the agents' wire samples: one radio's neighbour scan, every radio's airtime.

The controller (``NetworkView.latest_samples``) and the fast-loop evaluation hold the newest
``RadioSample`` of each radio; ``evidence_for`` turns the radio's own sample (its scan) and the
others' (their ``tx_airtime``, for the managed BSSs it hears) into a ``ChannelEvidence``.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.fast_loop.channel_evidence import ChannelEvidence, heard_from_scan
from radio_domain.radio import split_radio_id
from radio_domain.regulatory import Region
from rrm.v1 import agent_link_pb2 as pb


def evidence_for(
    radio_id: str, latest: Mapping[str, pb.RadioSample], region: Region, measured_busy: float
) -> ChannelEvidence | None:
    """The radio's evidence, or None when there is no recent sample of it."""
    own = latest.get(radio_id)
    if own is None:
        return None
    airtimes = {r: float(s.tx_airtime) for r, s in latest.items()}
    scan = [(n.neighbor_id, n.managed, n.channel, n.width_mhz, n.rssi_dbm) for n in own.neighbors]
    return ChannelEvidence(
        region=region,
        band=split_radio_id(radio_id)[1],
        channel=own.config.channel,
        width_mhz=own.config.width_mhz,
        measured_busy=measured_busy,
        heard=heard_from_scan(scan, airtimes),
    )
