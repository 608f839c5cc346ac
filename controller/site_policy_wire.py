"""An AP's safe zones as the PolicyUpdate its agent enforces again (edge_agent.policy_book).

Only the zones travel: pins, limits, rollback triggers and shadow mode govern the controller's own
loops, and the agent must stay free to leave a radar channel whatever the controller pinned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from controller.site_policy import ApPolicy, SafeZone
from rrm.v1 import agent_link_pb2 as pb


def zones_update(policy: ApPolicy, radio_ids: Sequence[str]) -> pb.PolicyUpdate:
    """The PolicyUpdate for ``radio_ids`` (empty: every radio of the agent).

    ``policy_id`` is a digest of the radios and their zones, so the same zones for the same radios
    always make the same update (it is also the command's idempotent id) and a changed zone a new id.
    """
    zones = [_zone_to_pb(zone) for _, zone in sorted(policy.zones.items())]
    content = pb.PolicyUpdate(radio_ids=list(radio_ids), safe_zones=zones)
    digest = hashlib.sha256(content.SerializeToString(deterministic=True)).hexdigest()
    return pb.PolicyUpdate(policy_id=f"zones-{digest[:16]}", radio_ids=list(radio_ids), safe_zones=zones)


def _zone_to_pb(zone: SafeZone) -> pb.SafeZone:
    return pb.SafeZone(
        parameter=zone.parameter,
        min=zone.minimum,
        max=zone.maximum,
        step=zone.step,
        max_changes_per_hour=zone.max_changes_per_hour,
        requires_approval=zone.requires_approval,
    )
