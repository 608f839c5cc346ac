"""One change at a time in a neighbourhood: a radio waits while a neighbour's change settles.

The fast loop judges a change by the radio's reward in the window after it against the window
before it, and predicts it from channel evidence taken before it. Both assume the rest of the
neighbourhood stood still. When neighbours change in the same minutes, neither holds: on
unplanned_office (12 APs on factory defaults) every radio moved within six minutes, each on a
scan taken before the others moved, and the median prediction error was 22.7 % (one radio was
predicted 0.205 and measured 1.0, another predicted 0.982 and measured 0.223); with this rule it
is 6.1 % there, and mean QoE went 0.9958 -> 0.9965.

TIP's on-AP ``rrmd`` guards against the same trap when every AP runs hostapd's ACS: each AP
waits a random 0-24 s before re-picking, so they do not all pick on the same stale air
(../shared/facts/rrm-landscape.md, section 1).

The rule: a radio does not decide while a radio *of the same band* on a neighbouring AP (the
guardrails' neighbour relation: either AP hears the other above the site's neighbour level)
moved in the spectrum (a channel or width change, any loop: the snapshot's applied changes,
rollbacks included) less than ``settle_s`` ago, or has such a fast-loop change still under
observation. It waits, with the neighbour and the change named, until that change has settled.
Power and OBSS-PD steps do not hold neighbours: they move no BSS to another channel, so the
channel evidence stays true. Holding for them too was measured and dropped: dense_floor, where
the loop is mostly power steps, fell from 0.908 / 0.948 to 0.870 / 0.910 mean QoE on seeds 1 / 4
(channel and width only: 0.923 / 0.955). Pure: the snapshot, the planner's watches and the time
are parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.guardrails import NetworkSnapshot, neighbouring_aps

SETTLING_PARAMETERS = frozenset({"channel", "width_mhz"})  # what moves a BSS in the spectrum


@dataclass(frozen=True, slots=True)
class Unsettled:
    """The neighbour change a radio waits for, and when it will have settled."""

    neighbour_radio_id: str
    change_id: str
    settles_at_s: float

    def explain(self, now_s: float) -> str:
        return (
            f"neighbour {self.neighbour_radio_id} is settling after change {self.change_id} "
            f"({self.settles_at_s - now_s:.0f} s to go): one change at a time in a neighbourhood"
        )


def neighbour_radios(network: NetworkSnapshot, radio_id: str) -> frozenset[str]:
    """Same-band radios of the APs that hear ``radio_id``'s AP or that it hears (any band)."""
    own = network.radios.get(radio_id)
    if own is None:
        return frozenset()
    heard = neighbouring_aps(network, own.ap_id)
    return frozenset(v.radio_id for v in network.radios.values() if v.ap_id in heard and v.band == own.band)


@dataclass(frozen=True, slots=True)
class SettlingChanges:
    """One iteration's spectrum changes still settling, radio id -> the one settling last.

    Built once per planner iteration, so the snapshot's change history is read once, not once
    per due radio; a radio's neighbours are looked up only when something is settling at all.
    """

    network: NetworkSnapshot
    settling: Mapping[str, Unsettled]

    @staticmethod
    def of(
        network: NetworkSnapshot, now_s: float, settle_s: float, watched: Mapping[str, tuple[str, float]]
    ) -> SettlingChanges:
        """``watched``: the planner's open fast-loop watches, radio id -> (change id, when its window
        closes). ``settle_s`` <= 0 turns the rule off."""
        found: dict[str, Unsettled] = {}
        if settle_s <= 0.0:
            return SettlingChanges(network, found)

        def add(candidate: Unsettled) -> None:
            held = found.get(candidate.neighbour_radio_id)
            if held is None or candidate.settles_at_s > held.settles_at_s:
                found[candidate.neighbour_radio_id] = candidate

        for change in network.changes:
            if change.parameter in SETTLING_PARAMETERS and now_s - change.at < settle_s:
                add(Unsettled(change.radio_id, change.change_id, change.at + settle_s))
        for radio_id, (change_id, closes_at) in watched.items():
            if closes_at > now_s:
                add(Unsettled(radio_id, change_id, closes_at))
        return SettlingChanges(network, found)

    def for_radio(self, radio_id: str) -> Unsettled | None:
        """The neighbour change ``radio_id`` must wait for, the one settling last; None when all is settled."""
        if not self.settling:
            return None
        neighbours = neighbour_radios(self.network, radio_id)
        found = [u for r, u in self.settling.items() if r in neighbours]
        return max(found, key=lambda u: u.settles_at_s) if found else None


def unsettled_neighbour(
    network: NetworkSnapshot,
    radio_id: str,
    now_s: float,
    settle_s: float,
    watched: Mapping[str, tuple[str, float]],
) -> Unsettled | None:
    """The neighbour change ``radio_id`` must wait for (``SettlingChanges`` for one radio)."""
    return SettlingChanges.of(network, now_s, settle_s, watched).for_radio(radio_id)
