"""Pure mapping between an OID profile's values and our radio model, both ways.

Reading: which OIDs a radio's state needs, and how the answers become a RadioConfig and a
RadioState (percentages to fractions, Counter32 deltas to retry rate and packet error rate).
Writing: which integer SETs turn one configuration into another, and what the AP must read back.
Discovery: which walked rows are radios, on which band, with which capabilities. No I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drivers.protocol import (
    CapabilityRefused,
    ChangeRejected,
    DriverUnavailable,
    RadioCapabilities,
    RadioInfo,
    RadioState,
    Reading,
)
from drivers.snmp.client import Assignment, VarBind, expect_int
from drivers.snmp.oid_profiles import (
    COUNTER_TELEMETRY,
    PERCENT_TELEMETRY,
    ChannelColumn,
    Column,
    IndexKind,
    Oid,
    OidProfile,
    PowerLevels,
    Telemetry,
    band_for_channel,
    format_mac,
    format_oid,
    mw_to_dbm,
    split_mac_slot,
)
from radio_domain import regulatory
from radio_domain.radio import OBSS_PD_OFF_DBM, Band, RadioConfig, make_radio_id

log = logging.getLogger(__name__)

NEUTRAL_NOISE_FLOOR_DBM = -95.0
COUNTER32_MODULUS = 2**32

CounterSnapshot = Mapping[Telemetry, int]


@dataclass(frozen=True, slots=True)
class SnmpRadio:
    """A discovered radio: its id and capabilities, where it lives in the tables, what it answers."""

    info: RadioInfo
    index: Oid
    channel_column: Column
    levels: PowerLevels | None
    telemetry: Mapping[Telemetry, Column]


@dataclass(frozen=True, slots=True)
class FoundRadio:
    index: Oid
    band: Band
    channel_column: Column
    channel: int


class DiscoveryProblem(ValueError):
    """The agent's tables do not describe one AP's radios in a way we can use."""


def find_radios(
    profile: OidProfile, walks: Sequence[tuple[ChannelColumn, Sequence[VarBind]]], mac: bytes | None
) -> tuple[bytes | None, list[FoundRadio]]:
    """The radios in the walked channel columns (one per band, first column first) and the AP's MAC."""
    found: dict[Oid, FoundRadio] = {}
    for channel_column, rows in walks:
        prefix = channel_column.column.oid
        for vb in rows:
            index = vb.oid[len(prefix) :]
            if index in found or not _index_fits(profile, index) or not isinstance(vb.value, int):
                continue
            band = channel_column.band or band_for_channel(vb.value)
            if band is None:
                log.warning("index %s: channel %s names no band; skipped", format_oid(index), vb.value)
                continue
            found[index] = FoundRadio(index, band, channel_column.column, vb.value)
    radios = list(found.values())
    if profile.index is IndexKind.MAC_SLOT:
        macs = sorted({r.index[:6] for r in radios})
        if mac is not None:
            radios = [r for r in radios if bytes(r.index[:6]) == mac]
        elif len(macs) > 1:
            listed = ", ".join(format_mac(bytes(m)) for m in macs)
            raise DiscoveryProblem(f"the agent serves {len(macs)} APs ({listed}); choose one with ?mac=")
        mac = bytes(radios[0].index[:6]) if radios else mac
    by_band: dict[Band, FoundRadio] = {}
    for radio in radios:
        if radio.band in by_band:
            log.warning("second %s radio at index %s ignored", radio.band.value, format_oid(radio.index))
            continue
        by_band[radio.band] = radio
    if not by_band:
        columns = ", ".join(format_oid(c.column.oid) for c, _ in walks)
        raise DiscoveryProblem(f"no radios found under {columns}" + (f" for MAC {format_mac(mac)}" if mac else ""))
    return mac, sorted(by_band.values(), key=lambda r: r.band.value)


def _index_fits(profile: OidProfile, index: Oid) -> bool:
    if profile.index is IndexKind.IF_INDEX:
        return len(index) == 1
    try:
        split_mac_slot(index)
    except ValueError:
        return False
    return True


def levels_from_mw(count: int | None, milliwatts: Sequence[int | None]) -> PowerLevels | None:
    """The dBm of each level from dot11TxPowerLevel1..N (stopping at the first missing one)."""
    usable: list[float] = []
    for mw in milliwatts[: count if count else len(milliwatts)]:
        if mw is None or mw <= 0:
            break
        usable.append(mw_to_dbm(mw))
    return PowerLevels(tuple(usable)) if usable else None


def band_channels(band: Band) -> tuple[int, ...]:
    """Every channel of the band legal in some region: the AP and the agent's guardrails narrow it."""
    return tuple(sorted({c for region in regulatory.Region for c in regulatory.channels(region, band)}))


def readings_of(telemetry: Mapping[Telemetry, Column]) -> frozenset[Reading]:
    reads = {Reading.CONFIG, Reading.TX_POWER}  # every profile reads the power level column
    if Telemetry.CHANNEL_UTILIZATION in telemetry or Telemetry.CCA_BUSY in telemetry:
        reads.add(Reading.UTILISATION)
    if Telemetry.NOISE_FLOOR_DBM in telemetry:
        reads.add(Reading.NOISE)
    if Telemetry.NON_WIFI_DUTY in telemetry:
        reads.add(Reading.NON_WIFI)
    if telemetry.keys() >= COUNTER_TELEMETRY:
        reads.add(Reading.ERRORS)
    return frozenset(reads)


def capabilities(
    profile: OidProfile, band: Band, levels: PowerLevels | None, telemetry: Mapping[Telemetry, Column], radar: bool
) -> RadioCapabilities:
    return RadioCapabilities(
        channels=band_channels(band),
        widths_mhz=regulatory.widths(band) if profile.width else (profile.assumed_width_mhz,),
        min_tx_power_dbm=levels.min_dbm if levels else 0.0,
        max_tx_power_dbm=levels.max_dbm if levels else 0.0,
        can_change_channel=True,
        can_change_width=profile.width is not None,
        can_change_tx_power=levels is not None,
        can_change_obss_pd=profile.obss_pd is not None,
        reports_radar=radar and band is Band.G5,
        reports_spectrum=False,
        can_steer_clients=False,
        can_set_fallback_channels=False,
        reads=readings_of(telemetry),
    )


def make_radio(
    ap_id: str,
    found: FoundRadio,
    profile: OidProfile,
    levels: PowerLevels | None,
    telemetry: Mapping[Telemetry, Column],
    radar: bool,
) -> SnmpRadio:
    info = RadioInfo(
        radio_id=make_radio_id(ap_id, found.band),
        ap_id=ap_id,
        band=found.band,
        capabilities=capabilities(profile, found.band, levels, telemetry, radar),
    )
    return SnmpRadio(info, found.index, found.channel_column, levels, dict(telemetry))


def config_oids(radio: SnmpRadio, profile: OidProfile) -> list[Oid]:
    """What a configuration read GETs: channel, level, width and OBSS-PD where the profile has them."""
    columns = [radio.channel_column]
    if profile.tx_power is not None and radio.levels is not None:
        columns.append(profile.tx_power.level)
    columns += [c for c in (profile.width, profile.obss_pd) if c is not None]
    return [c.at(radio.index) for c in columns]


def telemetry_oids(radio: SnmpRadio, channel: int, per_channel: bool) -> list[Oid]:
    return [c.at(radio.index, channel) for c in radio.telemetry.values() if c.per_channel == per_channel]


def parse_config(radio: SnmpRadio, profile: OidProfile, values: Mapping[Oid, VarBind], operation: str) -> RadioConfig:
    """The radio's configuration from GET answers; DriverUnavailable naming a missing or odd value."""
    rid = radio.info.radio_id

    def read(column: Column) -> int:
        oid = column.at(radio.index)
        label = column.label(radio.index)
        if oid not in values:
            raise DriverUnavailable(rid, operation, f"{label} was not in the answer")
        return expect_int(values[oid], rid, operation, label)

    tx_power = 0.0
    if profile.tx_power is not None and radio.levels is not None:
        level = read(profile.tx_power.level)
        dbm = radio.levels.dbm_of(level)
        if dbm is None:
            label = profile.tx_power.level.label(radio.index)
            raise DriverUnavailable(rid, operation, f"{label} is {level}, outside 1..{len(radio.levels.dbm)}")
        tx_power = dbm
    return RadioConfig(
        channel=read(radio.channel_column),
        width_mhz=read(profile.width) if profile.width else profile.assumed_width_mhz,
        tx_power_dbm=tx_power,
        obss_pd_dbm=read(profile.obss_pd) if profile.obss_pd else OBSS_PD_OFF_DBM,
    )


def _telemetry_values(radio: SnmpRadio, channel: int, values: Mapping[Oid, VarBind]) -> dict[Telemetry, int]:
    out: dict[Telemetry, int] = {}
    for kind, column in radio.telemetry.items():
        vb = values.get(column.at(radio.index, channel))
        if vb is None or not isinstance(vb.value, int) or vb.syntax in ("OctetString", "ObjectIdentifier"):
            continue  # a per-channel row missing for this channel: left neutral
        if kind in PERCENT_TELEMETRY and not 0 <= vb.value <= 100:
            log.warning("%s: %s is %d, not a percentage; ignored", radio.info.radio_id, column.name, vb.value)
            continue
        out[kind] = vb.value
    return out


def counter_delta(previous: int, current: int) -> int:
    """Counter32 difference across at most one wrap."""
    return (current - previous) % COUNTER32_MODULUS


def error_rates(previous: CounterSnapshot | None, current: CounterSnapshot) -> tuple[float, float]:
    """(retry rate, packet error rate) over the interval; zeros without a previous reading.

    retry rate = retried / transmitted frames; packet error rate = ACK failures / (ACK failures +
    transmitted frames), i.e. the share of transmission attempts that were not acknowledged.
    """
    if previous is None or not previous.keys() >= COUNTER_TELEMETRY or not current.keys() >= COUNTER_TELEMETRY:
        return 0.0, 0.0
    sent = counter_delta(previous[Telemetry.TRANSMITTED_FRAME_COUNT], current[Telemetry.TRANSMITTED_FRAME_COUNT])
    retried = counter_delta(previous[Telemetry.RETRY_COUNT], current[Telemetry.RETRY_COUNT])
    failed = counter_delta(previous[Telemetry.ACK_FAILURE_COUNT], current[Telemetry.ACK_FAILURE_COUNT])
    retry_rate = min(1.0, retried / sent) if sent else 0.0
    per = failed / (failed + sent) if failed + sent else 0.0
    return retry_rate, per


def radio_state(
    radio: SnmpRadio, now: float, config: RadioConfig, values: Mapping[Oid, VarBind], previous: CounterSnapshot | None
) -> tuple[RadioState, CounterSnapshot]:
    """The RadioState from GET answers, and the counters to diff against next time."""
    got = _telemetry_values(radio, config.channel, values)
    counters = {k: v for k, v in got.items() if k in COUNTER_TELEMETRY}
    retry_rate, per = error_rates(previous, counters)
    utilisation = got.get(Telemetry.CHANNEL_UTILIZATION, 0) / 100.0
    busy = got.get(Telemetry.CCA_BUSY, 0) / 100.0
    has_both = Telemetry.CHANNEL_UTILIZATION in got and Telemetry.CCA_BUSY in got
    state = RadioState(
        radio_id=radio.info.radio_id,
        timestamp=now,
        config=config,
        noise_floor_dbm=float(got.get(Telemetry.NOISE_FLOOR_DBM, NEUTRAL_NOISE_FLOOR_DBM)),
        channel_utilization=utilisation,
        cca_busy=busy,
        tx_airtime=max(0.0, utilisation - busy) if has_both else 0.0,
        retry_rate=retry_rate,
        packet_error_rate=per,
        non_wifi_duty=got.get(Telemetry.NON_WIFI_DUTY, 0) / 100.0,
    )
    return state, counters


def plan_assignments(
    radio: SnmpRadio, profile: OidProfile, before: RadioConfig, after: RadioConfig
) -> list[Assignment]:
    """The SETs that turn ``before`` into ``after`` (none when nothing changes); refusals typed."""
    rid, caps, index = radio.info.radio_id, radio.info.capabilities, radio.index
    out: list[Assignment] = []
    if after.channel != before.channel:
        if after.channel not in caps.channels:
            raise ChangeRejected(rid, "apply", f"channel {after.channel} is not a {radio.info.band.value} channel")
        out.append(Assignment(radio.channel_column.at(index), after.channel, radio.channel_column.label(index)))
        if profile.channel_pin is not None:
            pin = profile.channel_pin
            out.append(Assignment(pin.column.at(index), pin.value, pin.column.label(index)))
    level = _planned_level(radio, profile, before, after)
    if level is not None and profile.tx_power is not None:
        level_column = profile.tx_power.level
        out.append(Assignment(level_column.at(index), level, level_column.label(index)))
        if profile.power_pin is not None:
            pin = profile.power_pin
            out.append(Assignment(pin.column.at(index), pin.value, pin.column.label(index)))
    for what, column, old, new, legal in (
        ("channel width", profile.width, before.width_mhz, after.width_mhz, caps.widths_mhz),
        ("OBSS-PD", profile.obss_pd, before.obss_pd_dbm, after.obss_pd_dbm, None),
    ):
        if new == old:
            continue
        if column is None:
            raise CapabilityRefused(
                rid, "apply", f"{what}: no standard writable SNMP object; the {profile.name} profile names none"
            )
        if legal is not None and new not in legal:
            raise ChangeRejected(rid, "apply", f"{what} {new} is not one of {list(legal)}")
        out.append(Assignment(column.at(index), int(new), column.label(index)))
    return out


def _planned_level(radio: SnmpRadio, profile: OidProfile, before: RadioConfig, after: RadioConfig) -> int | None:
    """The power level to SET, or None when the requested power keeps the current level."""
    if after.tx_power_dbm == before.tx_power_dbm:
        return None
    rid = radio.info.radio_id
    if radio.levels is None or profile.tx_power is None:
        raise CapabilityRefused(rid, "apply", "tx power: the agent reports no power levels for this radio")
    level = radio.levels.level_for(after.tx_power_dbm)
    if level is None:
        weakest = radio.levels.min_dbm
        raise ChangeRejected(
            rid, "apply", f"tx power {after.tx_power_dbm:g} dBm is below the weakest level, {weakest:g} dBm"
        )
    return None if radio.levels.dbm_of(level) == before.tx_power_dbm else level


def expected_after(radio: SnmpRadio, before: RadioConfig, after: RadioConfig) -> RadioConfig:
    """What the AP must read back: ``after`` with the power it can actually set."""
    if radio.levels is None or after.tx_power_dbm == before.tx_power_dbm:
        return after
    level = radio.levels.level_for(after.tx_power_dbm)
    dbm = radio.levels.dbm_of(level) if level is not None else None
    return after if dbm is None else RadioConfig(after.channel, after.width_mhz, dbm, after.obss_pd_dbm, after.enabled)


def readback_problem(expected: RadioConfig, got: RadioConfig) -> str | None:
    """What differs between the configuration we set and the one read back, or None."""
    diffs = [
        f"{name} {getattr(got, name)} (set {getattr(expected, name)})"
        for name in ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")
        if getattr(got, name) != getattr(expected, name)
    ]
    return "the agent accepted the SET but reads back " + ", ".join(diffs) if diffs else None


def radar_channels(rows: Sequence[VarBind]) -> frozenset[int]:
    """The channels a radar column reports (rows whose value is a non-zero channel number)."""
    return frozenset(vb.value for vb in rows if isinstance(vb.value, int) and vb.value > 0)
