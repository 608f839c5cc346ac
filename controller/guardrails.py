"""The guardrails every automatic change passes before it reaches a radio (invariants 1, 2, 4, 5).

Pure (STYLE.md point 1): (proposals, a frozen NetworkSnapshot, the site policy, now) -> one
Verdict per proposal, naming every rule it breaks. Rules, each with its name in ``Rule``:

- per proposal: the radio is known and the change changes something; pins (automatic loops never
  touch a pinned parameter); the safe zone of each parameter; the radio's capabilities; the
  regulatory table (legal channel, tx power within the limit of the new channel group); the
  channel/width dependency (the width needs a bonding group the channel belongs to); channels in
  their non-occupancy period after radar; the per-parameter rate limit of the safe zone and the
  AP's hourly limit; the 60 s cooldown per parameter; the hold-down after a rollback, doubling with
  each further rollback of the radio (exponential dampening); the minimum predicted gain
  (hysteresis);
- per loop iteration, over the proposals that passed, best predicted gain first: the site's hourly
  change budget, the blast radius (at most ``max_aps_per_iteration`` APs) and no two neighbouring
  APs changed in the same step unless the proposals say they are one coordinated plan.

The site's hourly budget counts every change the agents report, the event loop's emergency moves
and their rollbacks included. Leaving those out of it (they would still count toward their own
AP's limits) was measured and not kept. On dense_floor (system eval, 1 day, seed 23) the event
loop's ~27 moves an hour use the budget up, so the slow loop's two plans made no move. Without
them in the budget: slow-loop moves 0 -> 41 and fast-loop moves 72 -> 132, but network QoE went
0.9542 -> 0.9535, p5 client QoE 0.45 -> 0.43 and the last hour's QoE 0.955 -> 0.935. The event
loop's client steering went 14 -> 653 (why is not established; one candidate: the extra planned
moves shift clients between radios). One seed only; a dense run is chaotic.

A verdict also says whether the change needs a human approval (a safe zone with
``requires_approval``) and whether the AP is in shadow mode (recorded, never sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from controller.site_policy import ApPolicy, SitePolicy
from drivers.protocol import RadioCapabilities
from radio_domain import regulatory
from radio_domain.radio import OBSS_PD_MAX_DBM, OBSS_PD_OFF_DBM, Band, ConfigChange, RadioConfig
from radio_domain.regulatory import Region

HOUR_S = 3600.0
OPERATOR = "OPERATOR"


class Rule(StrEnum):
    UNKNOWN_RADIO = "unknown_radio"
    NO_CHANGE = "no_change"
    PIN = "pin"
    SAFE_ZONE = "safe_zone"
    CAPABILITY = "capability"
    REGULATORY = "regulatory"
    DEPENDENCY = "dependency"
    NON_OCCUPANCY = "non_occupancy"
    RATE_LIMIT = "rate_limit"
    AP_RATE_LIMIT = "ap_rate_limit"
    COOLDOWN = "cooldown"
    HOLD_DOWN = "hold_down"
    HYSTERESIS = "hysteresis"
    SITE_BUDGET = "site_budget"
    BLAST_RADIUS = "blast_radius"
    NEIGHBOURS = "neighbours"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A change a loop (or an operator) wants made to one radio."""

    change_id: str
    radio_id: str
    change: ConfigChange
    loop: str  # FAST, SLOW, EVENT or OPERATOR
    reason: str
    predicted_gain: float = 0.0  # predicted QoE gain of the change, in QoE units
    plan_id: str = ""  # proposals of one coordinated plan may change neighbouring APs together
    inputs: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RadioView:
    radio_id: str
    ap_id: str
    band: Band
    capabilities: RadioCapabilities
    config: RadioConfig
    neighbour_aps: frozenset[str] = frozenset()  # APs this radio hears above the neighbour level


@dataclass(frozen=True, slots=True)
class PastChange:
    radio_id: str
    ap_id: str
    parameter: str
    at: float
    change_id: str


@dataclass(frozen=True, slots=True)
class PastRollback:
    radio_id: str
    at: float


@dataclass(frozen=True, slots=True)
class NetworkSnapshot:
    """What the controller knew when the loop decided: frozen, so a verdict can be replayed."""

    taken_at: float
    region: Region
    radios: Mapping[str, RadioView]
    changes: tuple[PastChange, ...] = ()  # applied changes, newest last
    rollbacks: tuple[PastRollback, ...] = ()
    non_occupancy: Mapping[str, Mapping[int, float]] = field(default_factory=dict)  # radio -> channel -> until


@dataclass(frozen=True, slots=True)
class Violation:
    rule: Rule
    message: str

    def __str__(self) -> str:
        return f"{self.rule.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class Verdict:
    proposal: Proposal
    violations: tuple[Violation, ...] = ()
    approval_needed_for: tuple[str, ...] = ()  # parameters whose safe zone requires an approval
    shadow: bool = False

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def needs_approval(self) -> bool:
        return self.allowed and bool(self.approval_needed_for)

    def explain(self) -> str:
        if self.violations:
            return "refused: " + "; ".join(str(v) for v in self.violations)
        if self.needs_approval:
            return f"allowed, waiting for an approval ({', '.join(self.approval_needed_for)})"
        return "allowed" + (" (shadow mode: recorded, not sent)" if self.shadow else "")


def changed_values(config: RadioConfig, change: ConfigChange) -> dict[str, float]:
    """The parameters the change really changes, with their new values."""
    target = change.apply_to(config)
    return {
        name: float(getattr(target, name))
        for name in ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")
        if getattr(target, name) != getattr(config, name)
    }


def check_proposal(proposal: Proposal, snapshot: NetworkSnapshot, policy: ApPolicy, now: float) -> Verdict:
    """Every rule that concerns the proposal alone (module docstring)."""
    radio = snapshot.radios.get(proposal.radio_id)
    if radio is None:
        return Verdict(proposal, (Violation(Rule.UNKNOWN_RADIO, f"no agent reports radio {proposal.radio_id!r}"),))
    changed = changed_values(radio.config, proposal.change)
    if not changed:
        return Verdict(proposal, (Violation(Rule.NO_CHANGE, "the radio is already configured so"),))
    found: list[Violation] = []
    found += _pins(proposal, radio, changed, policy)
    found += _zones(changed, policy)
    target = proposal.change.apply_to(radio.config)
    found += _capabilities(radio, target, changed)
    found += _regulatory(snapshot, radio, target, changed)
    found += _history(proposal, snapshot, radio, changed, policy, now)
    if proposal.loop != OPERATOR and proposal.predicted_gain < policy.limits.min_predicted_gain:
        found.append(
            Violation(
                Rule.HYSTERESIS,
                f"predicted gain {proposal.predicted_gain:.3f} is below the {policy.limits.min_predicted_gain:g} "
                "a change must promise",
            )
        )
    approvals = tuple(p for p in changed if policy.zone(p).requires_approval and proposal.loop != OPERATOR)
    return Verdict(proposal, tuple(found), approvals, policy.shadow)


def check_iteration(
    proposals: Sequence[Proposal], snapshot: NetworkSnapshot, site: SitePolicy, now: float
) -> list[Verdict]:
    """Verdicts for one loop iteration, in the proposals' order; the shared budgets go to the best first."""
    verdicts = {p.change_id: _check_one(p, snapshot, site, now) for p in proposals}
    network = site.network_wide().limits  # site-wide limits are the network layer's
    used = sum(1 for c in _distinct_changes(snapshot) if now - c.at < HOUR_S)
    budget = network.site_changes_per_hour
    changing: dict[str, str] = {}  # AP -> plan id of the accepted proposal
    for proposal in sorted(proposals, key=lambda p: -p.predicted_gain):
        verdict = verdicts[proposal.change_id]
        if not verdict.allowed:
            continue
        radio = snapshot.radios[proposal.radio_id]
        extra: list[Violation] = []
        if radio.ap_id not in changing:
            if used >= budget:
                extra.append(Violation(Rule.SITE_BUDGET, f"the site's {budget} changes an hour are used"))
            if len(changing) >= network.max_aps_per_iteration:
                extra.append(
                    Violation(
                        Rule.BLAST_RADIUS,
                        f"{len(changing)} APs already change in this iteration "
                        f"(at most {network.max_aps_per_iteration})",
                    )
                )
            clash = sorted(
                ap
                for ap, plan in changing.items()
                if ap in neighbouring_aps(snapshot, radio.ap_id) and not (plan and plan == proposal.plan_id)
            )
            if clash:
                extra.append(Violation(Rule.NEIGHBOURS, f"neighbouring APs {clash} already change in this iteration"))
        if extra:
            verdicts[proposal.change_id] = Verdict(proposal, tuple(extra), (), verdict.shadow)
            continue
        if radio.ap_id not in changing:
            used += 1
        changing.setdefault(radio.ap_id, proposal.plan_id)
    return [verdicts[p.change_id] for p in proposals]


def _check_one(proposal: Proposal, snapshot: NetworkSnapshot, site: SitePolicy, now: float) -> Verdict:
    radio = snapshot.radios.get(proposal.radio_id)
    policy = site.for_ap(radio.ap_id) if radio is not None else site.default
    return check_proposal(proposal, snapshot, policy, now)


def _pins(proposal: Proposal, radio: RadioView, changed: Mapping[str, float], policy: ApPolicy) -> list[Violation]:
    if proposal.loop == OPERATOR:
        return []  # pins bind the automatic loops; an operator's own change is the operator's call
    found = []
    for parameter, value in changed.items():
        if parameter not in policy.pins:
            continue
        pinned = policy.pins[parameter]
        at = getattr(radio.config, parameter) if pinned is None else pinned
        found.append(Violation(Rule.PIN, f"{parameter} is pinned at {at:g} by the operator; {value:g} refused"))
    return found


def _zones(changed: Mapping[str, float], policy: ApPolicy) -> list[Violation]:
    return [
        Violation(Rule.SAFE_ZONE, why)
        for parameter, value in changed.items()
        if (why := policy.zone(parameter).violation(value)) is not None
    ]


def _capabilities(radio: RadioView, target: RadioConfig, changed: Mapping[str, float]) -> list[Violation]:
    caps = radio.capabilities
    can = {
        "channel": caps.can_change_channel,
        "width_mhz": caps.can_change_width,
        "tx_power_dbm": caps.can_change_tx_power,
        "obss_pd_dbm": caps.can_change_obss_pd,
    }
    found = [Violation(Rule.CAPABILITY, f"{p}: the radio's driver cannot change it") for p in changed if not can[p]]
    if "channel" in changed and target.channel not in caps.channels:
        found.append(Violation(Rule.CAPABILITY, f"channel {target.channel} is not supported by {radio.radio_id}"))
    if "width_mhz" in changed and target.width_mhz not in caps.widths_mhz:
        found.append(Violation(Rule.CAPABILITY, f"width {target.width_mhz} MHz is not supported by {radio.radio_id}"))
    if "tx_power_dbm" in changed and not caps.min_tx_power_dbm <= target.tx_power_dbm <= caps.max_tx_power_dbm:
        found.append(
            Violation(
                Rule.CAPABILITY,
                f"tx power {target.tx_power_dbm:g} dBm is outside the radio's "
                f"{caps.min_tx_power_dbm:g}..{caps.max_tx_power_dbm:g} dBm",
            )
        )
    if "obss_pd_dbm" in changed and not OBSS_PD_OFF_DBM <= target.obss_pd_dbm <= OBSS_PD_MAX_DBM:
        found.append(Violation(Rule.CAPABILITY, f"OBSS-PD {target.obss_pd_dbm} is outside -82..-62 dBm"))
    return found


def _regulatory(
    snapshot: NetworkSnapshot, radio: RadioView, target: RadioConfig, changed: Mapping[str, float]
) -> list[Violation]:
    region, band = snapshot.region, radio.band
    if target.channel not in regulatory.channels(region, band):
        return [Violation(Rule.REGULATORY, f"channel {target.channel} is not a legal {band.value} channel in {region}")]
    try:
        group = regulatory.bonding_group(region, band, target.channel, target.width_mhz)
    except regulatory.RegulatoryError as exc:
        return [Violation(Rule.DEPENDENCY, f"channel {target.channel} at {target.width_mhz} MHz: {exc}")]
    found = []
    limit = regulatory.max_tx_power_dbm(region, band, target.channel, target.width_mhz)
    if target.tx_power_dbm > limit:
        rule = Rule.REGULATORY if "tx_power_dbm" in changed else Rule.DEPENDENCY
        found.append(
            Violation(
                rule,
                f"tx power {target.tx_power_dbm:g} dBm exceeds the {region.value} limit of {limit:g} dBm on "
                f"channel {target.channel} at {target.width_mhz} MHz",
            )
        )
    blocked = snapshot.non_occupancy.get(radio.radio_id, {})
    closed = sorted(c for c in group if blocked.get(c, 0.0) > snapshot.taken_at)
    if closed:
        found.append(Violation(Rule.NON_OCCUPANCY, f"channels {closed} are in their non-occupancy period after radar"))
    return found


def _history(
    proposal: Proposal,
    snapshot: NetworkSnapshot,
    radio: RadioView,
    changed: Mapping[str, float],
    policy: ApPolicy,
    now: float,
) -> list[Violation]:
    limits = policy.limits
    found = []
    mine = [c for c in snapshot.changes if c.radio_id == radio.radio_id]
    for parameter in changed:
        zone = policy.zone(parameter)
        times = [c.at for c in mine if c.parameter == parameter]
        recent = [t for t in times if now - t < HOUR_S]
        if zone.max_changes_per_hour and len(recent) >= zone.max_changes_per_hour:
            found.append(
                Violation(
                    Rule.RATE_LIMIT,
                    f"{parameter}: {len(recent)} changes in the last hour reach its limit of "
                    f"{zone.max_changes_per_hour}",
                )
            )
        if times and now - max(times) < limits.cooldown_s:
            found.append(
                Violation(
                    Rule.COOLDOWN,
                    f"{parameter} changed {now - max(times):.0f} s ago; the cooldown is {limits.cooldown_s:g} s",
                )
            )
    ap_changes = {c.change_id for c in _distinct_changes(snapshot) if c.ap_id == radio.ap_id and now - c.at < HOUR_S}
    if limits.max_changes_per_ap_per_hour and len(ap_changes) >= limits.max_changes_per_ap_per_hour:
        found.append(
            Violation(
                Rule.AP_RATE_LIMIT,
                f"AP {radio.ap_id}: {len(ap_changes)} changes in the last hour reach its limit of "
                f"{limits.max_changes_per_ap_per_hour}",
            )
        )
    hold = _hold_down(snapshot, radio.radio_id, policy, now)
    if hold > 0:
        found.append(Violation(Rule.HOLD_DOWN, f"held down for another {hold:.0f} s after rollbacks of this radio"))
    return found


def _hold_down(snapshot: NetworkSnapshot, radio_id: str, policy: ApPolicy, now: float) -> float:
    """Seconds left of the hold-down after the radio's latest rollback: base x 2^(rollbacks in a day - 1)."""
    times = sorted(r.at for r in snapshot.rollbacks if r.radio_id == radio_id and now - r.at < 24 * HOUR_S)
    if not times:
        return 0.0
    limits = policy.limits
    wait = min(limits.rollback_holddown_max_s, limits.rollback_holddown_s * 2.0 ** (len(times) - 1))
    return max(0.0, times[-1] + wait - now)


def _distinct_changes(snapshot: NetworkSnapshot) -> list[PastChange]:
    """One entry per change id (a change of channel and width together is one change)."""
    seen: dict[str, PastChange] = {}
    for change in snapshot.changes:
        seen.setdefault(change.change_id, change)
    return list(seen.values())


def neighbouring_aps(snapshot: NetworkSnapshot, ap_id: str) -> frozenset[str]:
    """APs any radio of ``ap_id`` hears, and APs whose radios hear it."""
    heard: set[str] = set()
    for radio in snapshot.radios.values():
        if radio.ap_id == ap_id:
            heard |= radio.neighbour_aps
        elif ap_id in radio.neighbour_aps:
            heard.add(radio.ap_id)
    heard.discard(ap_id)
    return frozenset(heard)
