"""One radio change as a NETCONF confirmed-commit transaction (RFC 6241 sections 8.3 and 8.4).

    lock candidate -> discard-changes (drop anyone's stale edits) -> read running (before)
    -> nothing to do? done, nothing written (the same change twice changes nothing)
    -> edit-config candidate (only the leaves that change) -> commit confirmed, timeout T
    -> [settle] -> read running back -> equal to what we asked? confirming commit
    -> unlock (always, while the session lives)

When the read-back differs (the AP clamped or rewrote a value) or the session is lost before the
confirming commit, the driver does **not** confirm: it closes the session and the AP rolls the
change back by itself (at once on session loss for a non-persistent confirmed commit, at the latest
after T seconds). There is no ``<validate>`` before ``<commit>``: netconfd answers ok to that pair
without changing running (../shared/facts/southbound.md 1a, gotcha 2); the read-back catches any
server that drops a commit that way.

Transmit power is whole dBm in the model (int8): a change is rounded to the nearest dBm.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from drivers.netconf.discovery import ManagedRadio
from drivers.netconf.openconfig_names import OpenConfigReplyError
from drivers.netconf.openconfig_xml import parse_radios, radio_config_edit, radios_filter
from drivers.netconf.radio_translation import radio_config, whole_dbm
from drivers.netconf.session import NetconfSession
from drivers.protocol import ApplyResult, CapabilityRefused, ChangeRejected, DriverError, DriverUnavailable
from radio_domain.radio import OBSS_PD_OFF_DBM, ConfigChange, RadioConfig
from rrm.clock import Clock

log = logging.getLogger(__name__)


def check_change(radio_id: str, change: ConfigChange) -> None:
    """Refuse what the model cannot express before any I/O (OBSS-PD has no leaf)."""
    if change.obss_pd_dbm is not None and change.obss_pd_dbm != OBSS_PD_OFF_DBM:
        raise CapabilityRefused(radio_id, "apply", "the OpenConfig radio model has no OBSS-PD leaf")


def wanted_config(before: RadioConfig, change: ConfigChange) -> RadioConfig:
    """The configuration after ``change``, as the model can hold it (whole dBm, OBSS-PD untouched)."""
    after = change.apply_to(before)
    power = before.tx_power_dbm if change.tx_power_dbm is None else float(whole_dbm(change.tx_power_dbm))
    return replace(after, tx_power_dbm=power, obss_pd_dbm=before.obss_pd_dbm)


def describe(config: RadioConfig) -> str:
    return f"channel {config.channel}, {config.width_mhz} MHz, {config.tx_power_dbm:g} dBm"


async def apply_confirmed(
    session: NetconfSession, hostname: str, radio: ManagedRadio, change: ConfigChange, clock: Clock
) -> tuple[ApplyResult, RadioConfig]:
    """Run the transaction; returns the result and the configuration now in running."""
    rid = radio.radio_id
    await session.call(rid, "apply: lock candidate", lambda m: m.lock("candidate"))
    clean = False
    try:
        await session.call(rid, "apply: discard stale candidate changes", lambda m: m.discard_changes())
        before = await _running(session, hostname, radio, "apply: read running")
        wanted = wanted_config(before, change)
        if wanted == before:
            clean = True
            return ApplyResult(rid, before, before), before
        edit = radio_config_edit(
            hostname,
            radio.key,
            channel=wanted.channel if wanted.channel != before.channel else None,
            bandwidth_mhz=wanted.width_mhz if wanted.width_mhz != before.width_mhz else None,
            transmit_power_dbm=whole_dbm(wanted.tx_power_dbm) if wanted.tx_power_dbm != before.tx_power_dbm else None,
        )
        await session.call(
            rid, "apply: edit-config", lambda m: m.edit_config(target="candidate", config=edit), change=True
        )
        timeout = session.target.confirm_timeout_s
        await session.call(
            rid, "apply: commit confirmed", lambda m: m.commit(confirmed=True, timeout=str(timeout)), change=True
        )
        after = await _confirm_if_kept(session, hostname, radio, wanted, clock)
        clean = True
        return ApplyResult(rid, before, after), after
    finally:
        await _finish(session, rid, clean)


async def _confirm_if_kept(
    session: NetconfSession, hostname: str, radio: ManagedRadio, wanted: RadioConfig, clock: Clock
) -> RadioConfig:
    rid, timeout = radio.radio_id, session.target.confirm_timeout_s
    rollback = (
        f"not confirmed, so the AP rolls the change back by itself (at once as the session closes, at most {timeout} s)"
    )
    try:
        if session.target.settle_s > 0:
            await clock.sleep(session.target.settle_s)
        running = await _running(session, hostname, radio, "apply: read back running")
    except DriverUnavailable as exc:
        await session.drop()
        raise DriverUnavailable(rid, "apply", f"lost the AP before confirming ({exc.detail}); {rollback}") from exc
    except BaseException:
        await session.drop()  # cancelled mid-transaction: never leave a commit to be confirmed later
        raise
    if (running.channel, running.width_mhz, running.tx_power_dbm) != (
        wanted.channel,
        wanted.width_mhz,
        wanted.tx_power_dbm,
    ):
        await session.drop()
        raise ChangeRejected(rid, "apply", f"asked for {describe(wanted)}, the AP runs {describe(running)}; {rollback}")
    try:
        await session.call(rid, "apply: confirming commit", lambda m: m.commit())
    except DriverError as exc:
        await session.drop()
        raise DriverUnavailable(
            rid, "apply", f"the confirming commit failed ({exc.detail}); unless it reached the AP, {rollback}"
        ) from exc
    return running


async def _finish(session: NetconfSession, radio_id: str, clean: bool) -> None:
    """Leave the candidate clean and unlocked (a dropped session has released both already)."""
    if not session.connected:
        return
    try:
        if not clean:
            await session.call(radio_id, "apply: discard failed changes", lambda m: m.discard_changes())
        await session.call(radio_id, "apply: unlock candidate", lambda m: m.unlock("candidate"))
    except DriverError as exc:
        log.warning("NETCONF %s: could not clean up after apply: %s", radio_id, exc)


async def _running(session: NetconfSession, hostname: str, radio: ManagedRadio, operation: str) -> RadioConfig:
    data = await session.get(radio.radio_id, operation, radios_filter(hostname), config_only=True)
    try:
        for record in parse_radios(data, hostname):
            if record.key == radio.key:
                return radio_config(record, hostname)
    except OpenConfigReplyError as exc:
        raise DriverUnavailable(radio.radio_id, operation, str(exc)) from exc
    raise DriverUnavailable(radio.radio_id, operation, f"running no longer holds {radio.key.describe()}")
