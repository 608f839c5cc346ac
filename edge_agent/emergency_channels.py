"""Where a radio goes when it must leave its channel now (seed 000 2.2), and its radar fallback list.

Pure: what the agent knows about the radio (SelectionInputs) -> ranked candidates. Exclusions
first: channels overlapping the current primary channel, channels in their non-occupancy period,
channels the regulatory table or the radio do not allow, channels with heavy non-Wi-Fi
interference, and, when the move must be immediate, DFS channels no CAC has cleared (the radio
would be dark for 60 s, 600 s on ETSI weather channels). The rest are scored, lower is better:

    score = 1 - expected service + DFS risk + CAC darkness + non-PSC (6 GHz) or non-1/6/11 (2.4 GHz)

where the expected service is the capacity relative to the current width, (w / w0) x (1 - duty)
x 1 / (1 + contention), kept for the share of clients that can use the channel. ``contention`` sums
the neighbours heard on the candidate's spectrum: one whose overlap-weighted power (rf-model.md 5,
the alpha of partial 2.4 GHz overlap) reaches the -82 dBm carrier-sense level shares the airtime
as one more contender; a weaker one counts as its linear fraction of that level. DFS risk grows
with the radar hits the channel has had. Ties go to the lower channel, so the choice is
deterministic. Fallbacks in order: any width up to the current one scored together (narrower
only wins when it serves better), then, if nothing is immediately usable, channels that need a
CAC, and only then "no channel": the caller raises an alarm; it never picks an illegal channel.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from math import log10

from drivers.protocol import NeighborObservation, RadioCapabilities
from radio_domain import regulatory
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

CARRIER_SENSE_DBM = -82.0
ORTHOGONAL_2G = frozenset({1, 6, 11})


@dataclass(frozen=True, slots=True)
class SelectionWeights:
    """How much each risk costs, in units of the radio's whole expected service."""

    interfered_duty: float = 0.3  # non-Wi-Fi duty at or above which a channel is excluded
    dfs_base: float = 0.02  # any DFS channel: radar may move us again
    radar_hit: float = 0.1  # per radar hit on the channel within the history window
    radar_hit_cap: float = 0.6
    weather: float = 0.05  # ETSI weather channels: a later CAC there takes 10 minutes
    dark_per_minute: float = 0.5  # a CAC keeps the radio off air
    non_psc: float = 0.05  # 6 GHz channels passive scanners do not look at first
    non_orthogonal_2g: float = 0.1  # 2.4 GHz channels other than 1/6/11 overlap two of them (hostapd ACS bias)


@dataclass(frozen=True, slots=True)
class SelectionInputs:
    region: Region
    band: Band
    capabilities: RadioCapabilities
    current: RadioConfig
    blocked: Mapping[int, float] = field(default_factory=dict)  # channels in non-occupancy -> until
    cleared: frozenset[int] = frozenset()  # DFS channels a CAC has cleared
    interfered: Mapping[int, float] = field(default_factory=dict)  # 20 MHz channel -> non-Wi-Fi duty
    neighbors: Sequence[NeighborObservation] = ()
    clients: int = 0
    clients_without_dfs: int = 0  # associated clients that cannot use DFS channels
    radar_hits: Mapping[int, int] = field(default_factory=dict)  # channel -> hits in the history window
    avoid: frozenset[int] = frozenset()  # more 20 MHz channels to leave alone (e.g. a radar group)


@dataclass(frozen=True, slots=True)
class Candidate:
    channel: int
    width_mhz: int
    group: tuple[int, ...]
    score: float
    service: float
    cac_s: float
    contention: float
    duty: float
    dfs: bool
    heard_mw: float  # total neighbour power on the channel: breaks ties towards the quieter one
    span: tuple[float, float] = (0.0, 0.0)  # the spectrum it occupies, MHz

    def describe(self) -> str:
        parts = [f"service {self.service:.2f}", f"contention {self.contention:.2f}"]
        if self.duty > 0:
            parts.append(f"non-Wi-Fi {self.duty:.2f}")
        if self.dfs:
            parts.append("DFS" + (f", CAC {self.cac_s:g} s" if self.cac_s else ", cleared"))
        return f"{self.channel}/{self.width_mhz} MHz (score {self.score:.3f}: {', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    channel: int
    width_mhz: int
    score: float
    cac_s: float
    explanation: str


@dataclass(frozen=True, slots=True)
class NoChannel:
    reason: str


@dataclass(frozen=True, slots=True)
class _Slot:
    """A legal (channel, width) of a band in a region, with what never changes about it."""

    channel: int
    width_mhz: int
    group: tuple[int, ...]
    span: tuple[float, float]
    dfs: bool
    dfs_channels: tuple[int, ...]
    cac_s: float
    penalty: float  # non-PSC on 6 GHz, non-1/6/11 on 2.4 GHz


@lru_cache(maxsize=32)
def _slots(region: Region, band: Band, weights: SelectionWeights) -> tuple[_Slot, ...]:
    slots = []
    for width in regulatory.widths(band):
        for channel in regulatory.channels(region, band):
            if not regulatory.is_legal(region, band, channel, width):
                continue
            group = regulatory.bonding_group(region, band, channel, width)
            penalty = 0.0 if regulatory.is_psc(band, channel) else weights.non_psc
            if band is Band.G2 and channel not in ORTHOGONAL_2G:
                penalty += weights.non_orthogonal_2g
            slots.append(
                _Slot(
                    channel,
                    width,
                    group,
                    regulatory.occupied_mhz(band, group),
                    regulatory.needs_dfs(region, band, channel, width),
                    tuple(c for c in group if regulatory.needs_dfs(region, band, c, 20)),
                    regulatory.cac_seconds(region, band, channel, width),
                    penalty,
                )
            )
    return tuple(slots)


def _span(band: Band, channel: int, width_mhz: int, region: Region) -> tuple[float, float]:
    try:
        return regulatory.span_mhz(region, band, channel, width_mhz)
    except regulatory.RegulatoryError:  # a foreign BSS on a channel our region does not allow
        centre = regulatory.center_mhz(band, channel)
        return centre - width_mhz / 2.0, centre + width_mhz / 2.0


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Share of ``b``'s spectrum inside ``a`` (the alpha of rf-model.md 5, as a linear fraction)."""
    inside = min(a[1], b[1]) - max(a[0], b[0])
    return max(0.0, inside) / (b[1] - b[0])


@dataclass(frozen=True, slots=True)
class _Surroundings:
    """The inputs' neighbours and interferers as spectrum spans, computed once per selection."""

    neighbours: tuple[tuple[tuple[float, float], float], ...]  # (span, rssi dBm)
    interferers: tuple[tuple[tuple[float, float], float], ...]  # (span, duty)

    @staticmethod
    def of(inputs: SelectionInputs) -> _Surroundings:
        band, region = inputs.band, inputs.region
        return _Surroundings(
            tuple((_span(band, n.channel, n.width_mhz, region), n.rssi_dbm) for n in inputs.neighbors),
            tuple((_span(band, c, 20, region), duty) for c, duty in inputs.interfered.items() if duty > 0),
        )

    def contention(self, span: tuple[float, float]) -> tuple[float, float]:
        """(contenders, total heard power in mW) on ``span``."""
        total = heard_mw = 0.0
        low, high = span
        for (other_low, other_high), rssi in self.neighbours:
            inside = min(high, other_high) - max(low, other_low)
            if inside > 0.0:
                heard = rssi + 10.0 * log10(inside / (other_high - other_low))
                total += 1.0 if heard >= CARRIER_SENSE_DBM else 10.0 ** ((heard - CARRIER_SENSE_DBM) / 10.0)
                heard_mw += 10.0 ** (heard / 10.0)
        return total, heard_mw

    def duty(self, span: tuple[float, float]) -> float:
        return max((duty * _overlap(span, other) for other, duty in self.interferers), default=0.0)


def _score(inputs: SelectionInputs, slot: _Slot, around: _Surroundings, weights: SelectionWeights) -> Candidate | str:
    """The slot scored, or why it is not a candidate at all (for the explanation of ``NoChannel``)."""
    if any(c not in inputs.capabilities.channels for c in slot.group):
        return "not supported by the radio"
    if any(c in inputs.blocked for c in slot.group):
        return "in non-occupancy after radar"
    if any(c in inputs.avoid for c in slot.group):
        return "avoided"
    duty = around.duty(slot.span) if around.interferers else 0.0
    if duty >= weights.interfered_duty:
        return "interfered"
    cac_s = 0.0 if all(c in inputs.cleared for c in slot.dfs_channels) else slot.cac_s
    contention, heard_mw = around.contention(slot.span)
    kept = 1.0 - (inputs.clients_without_dfs / inputs.clients if slot.dfs and inputs.clients else 0.0)
    service = (slot.width_mhz / inputs.current.width_mhz) * (1.0 - duty) / (1.0 + contention) * kept
    risk = slot.penalty + weights.dark_per_minute * cac_s / 60.0
    if slot.dfs:
        hits = sum(inputs.radar_hits.get(c, 0) for c in slot.group)
        risk += weights.dfs_base + min(weights.radar_hit_cap, weights.radar_hit * hits)
        if slot.cac_s >= regulatory.WEATHER_CAC_SECONDS:
            risk += weights.weather
    score = round(1.0 - service + risk, 6)
    return Candidate(
        slot.channel, slot.width_mhz, slot.group, score, service, cac_s, contention, duty, slot.dfs, heard_mw, slot.span
    )


@dataclass(frozen=True, slots=True)
class Ranking:
    """Every candidate of a radio scored once, best first, ahead of the event that needs it.

    Scoring needs the whole neighbourhood and takes a few hundred microseconds; choosing from a
    ranking only filters it, so the event loop ranks each radio when its readings change and an
    emergency move costs microseconds. Radar adds blocked channels and interference excluded
    channels, which only remove candidates: both are filtered at choice time.
    """

    candidates: tuple[Candidate, ...]
    band: Band
    region: Region
    interfered_duty: float = SelectionWeights().interfered_duty
    ruled_out: tuple[tuple[str, int], ...] = ()  # (why, how many channel-width slots) when ranked

    @staticmethod
    def of(inputs: SelectionInputs, weights: SelectionWeights) -> Ranking:
        """Every admissible (channel, width) up to the current width (module docstring), the current one too."""
        caps = inputs.capabilities
        widths = {w for w in caps.widths_mhz if w <= inputs.current.width_mhz} or {min(caps.widths_mhz)}
        around = _Surroundings.of(inputs)
        found: list[Candidate] = []
        ruled_out: dict[str, int] = {}
        for slot in _slots(inputs.region, inputs.band, weights):
            if slot.width_mhz not in widths:
                continue
            scored = _score(inputs, slot, around, weights)
            if isinstance(scored, Candidate):
                found.append(scored)
            else:
                ruled_out[scored] = ruled_out.get(scored, 0) + 1
        found.sort(key=lambda c: (c.score, c.heard_mw, c.channel, -c.width_mhz))
        return Ranking(tuple(found), inputs.band, inputs.region, weights.interfered_duty, tuple(ruled_out.items()))

    def interfered(self, candidate: Candidate, interference: Mapping[int, float]) -> bool:
        """Whether non-Wi-Fi energy seen since the ranking was made excludes the candidate now."""
        for channel, duty in interference.items():
            seen = _span(self.band, channel, 20, self.region)
            if duty * _overlap(candidate.span, seen) >= self.interfered_duty:
                return True
        return False

    def find(self, channel: int, width_mhz: int) -> Candidate | None:
        """The candidate for (channel, width), if it was admissible when ranked."""
        return next((c for c in self.candidates if c.channel == channel and c.width_mhz == width_mhz), None)

    def ruled_out_now(
        self,
        candidate: Candidate,
        current_channel: int,
        blocked: Collection[int],
        avoid: Collection[int],
        interference: Mapping[int, float] | None,
    ) -> str | None:
        """Why a ranked candidate cannot be chosen now (None: it can)."""
        if current_channel in candidate.group:
            return "the current channel"
        if any(ch in blocked for ch in candidate.group):
            return "in non-occupancy after radar"
        if any(ch in avoid for ch in candidate.group):
            return "avoided"
        if interference and self.interfered(candidate, interference):
            return "interfered"
        return None

    def _why_none(
        self,
        current_channel: int,
        blocked: Collection[int],
        avoid: Collection[int],
        interference: Mapping[int, float] | None,
    ) -> str:
        """What ruled out each channel-width slot, counted by its first reason (for ``NoChannel``)."""
        reasons = dict(self.ruled_out)
        for c in self.candidates:
            why = self.ruled_out_now(c, current_channel, blocked, avoid, interference)
            if why is not None:
                reasons[why] = reasons.get(why, 0) + 1
        slots = sum(reasons.values())
        return f"of {slots} channel and width choices: " + ", ".join(f"{n} {why}" for why, n in reasons.items())

    def usable(
        self,
        current_channel: int,
        blocked: Collection[int] = (),
        avoid: Collection[int] = (),
        *,
        immediate: bool,
        interference: Mapping[int, float] | None = None,
    ) -> list[Candidate]:
        """The candidates left once the current channel, blocked and interfered ones are out; with
        ``immediate`` those that need a CAC come last, whatever their score."""
        left = [
            c for c in self.candidates if self.ruled_out_now(c, current_channel, blocked, avoid, interference) is None
        ]
        if immediate:
            left.sort(key=lambda c: c.cac_s > 0)  # stable: keeps the score order within each part
        return left

    def choose(
        self,
        current_channel: int,
        blocked: Collection[int] = (),
        avoid: Collection[int] = (),
        *,
        immediate: bool,
        interference: Mapping[int, float] | None = None,
    ) -> ChannelChoice | NoChannel:
        """The best channel to move to now, or why there is none."""
        ranked = self.usable(current_channel, blocked, avoid, immediate=immediate, interference=interference)
        if not ranked:
            return NoChannel(
                f"no legal {self.band.value} channel in {self.region.value} is left for this radio: "
                + self._why_none(current_channel, blocked, avoid, interference)
            )
        best = ranked[0]
        why = f"best of {len(ranked)} candidates: {best.describe()}"
        if len(ranked) > 1:
            why += f"; runner-up {ranked[1].describe()}"
        if best.cac_s and immediate:
            why += f"; no channel is usable without a CAC, the radio is off air for {best.cac_s:g} s"
        return ChannelChoice(best.channel, best.width_mhz, best.score, best.cac_s, why)

    def radar_fallback(self, current_group: Collection[int], current_width: int, limit: int = 1) -> tuple[int, ...]:
        """Channels for the AP's own radar fallback (hostapd ``chanlist``), best first.

        hostapd only filters by the list and picks at random among the listed channels usable at
        its current width (above 20 MHz, only a bonding group's first channel counts), narrowing
        only when none is; so the list holds the best candidates usable at once at the widest width
        that has any, each as its group's first channel, and by default just one, which makes the
        AP's landing the agent's choice. Radar will put the current group in non-occupancy, so it is
        left out. Empty when no channel is usable at once (the AP then picks a non-DFS one itself).
        """
        leaving = set(current_group)
        widths = sorted({c.width_mhz for c in self.candidates if c.width_mhz <= current_width}, reverse=True)
        for width in widths:
            order: list[int] = []
            for candidate in self.candidates:
                first = candidate.group[0]
                if candidate.width_mhz != width or candidate.cac_s > 0 or leaving.intersection(candidate.group):
                    continue
                if first not in order:
                    order.append(first)
            if order:
                return tuple(order[:limit])
        return ()


def select_emergency_channel(
    inputs: SelectionInputs, weights: SelectionWeights, *, immediate: bool = True
) -> ChannelChoice | NoChannel:
    """The best channel to leave the current one for, or why there is none (ranks from scratch)."""
    ranking = Ranking.of(inputs, weights)
    return ranking.choose(inputs.current.channel, inputs.blocked, inputs.avoid, immediate=immediate)
