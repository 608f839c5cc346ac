"""The one place the agent changes a radio: admission, rollback token, driver, journal.

Both the controller's commands and the agent's own event loop come through here, so the same
checks guard every change (invariants 1-3, issue "edge event loop" point 7): the regulatory table,
the radio's capabilities, the safe zones the controller sent, the safe zones' hourly limits
(except for radar moves and rollbacks, which regulation or undoing require) and the channels in
their non-occupancy period after radar (never, for anything). Changes to one radio are serialised.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Protocol

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverError, RadioDriver, RadioInfo
from edge_agent.action_ledger import ActionOutcome
from edge_agent.change_admission import SafeZoneLimit, admission_violations, changed_parameters
from edge_agent.command_journal import CommandJournal
from edge_agent.policy_book import PolicyBook
from edge_agent.rollback_tokens import RollbackTokenStore
from radio_domain.radio import ConfigChange, RadioConfig
from radio_domain.regulatory import Region
from rrm.clock import Clock
from rrm.sqlite_files import transaction
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import config_from_pb, config_to_pb, ms

TOKEN_TTL_S = 7 * 24 * 3600.0


class NonOccupancySource(Protocol):
    """Anything that knows which channels a radio may not use because of radar (DfsState)."""

    def blocked(self, radio_id: str, now: float) -> Mapping[int, float]: ...


class RadioActions:
    def __init__(
        self,
        *,
        agent_id: str,
        region: Region,
        driver: RadioDriver,
        radios: Mapping[str, RadioInfo],
        configs: dict[str, RadioConfig],
        journal: CommandJournal,
        non_occupancy: NonOccupancySource,
        tokens: RollbackTokenStore,
        policies: PolicyBook,
        clock: Clock,
    ) -> None:
        self.agent_id = agent_id
        self.region = region
        self.driver = driver
        self.radios = radios
        self.configs = configs
        self._journal = journal
        self._non_occupancy = non_occupancy
        self.tokens = tokens
        self._policies = policies
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self.last_apply_perf = 0.0  # time.perf_counter() at the latest driver apply call (latency figures)

    def zones_for(self, radio_id: str) -> list[SafeZoneLimit]:
        """The controller's safe zones for the radio (checked again on every change)."""
        return self._policies.zones_for(radio_id)

    def lock(self, radio_id: str) -> asyncio.Lock:
        return self._locks.setdefault(radio_id, asyncio.Lock())

    def violations(self, radio: RadioInfo, change: ConfigChange, now: float, *, rate_limited: bool = True) -> list[str]:
        """Every reason ``change`` may not be applied to ``radio`` now."""
        radio_id = radio.radio_id
        return admission_violations(
            radio,
            self.region,
            self.configs[radio_id],
            change,
            self._policies.zones_for(radio_id),
            self._journal.changes_last_hour(radio_id, ms(now)) if rate_limited else None,
            self._non_occupancy.blocked(radio_id, now),
        )

    async def change(
        self,
        radio_id: str,
        change: ConfigChange,
        *,
        loop: str,
        token_id: str = "",
        change_id: str = "",
        rate_limited: bool = True,
    ) -> ActionOutcome:
        """Admit, apply and keep a rollback token. Call with ``lock(radio_id)`` held."""
        now = self._clock.now()
        radio = self.radios.get(radio_id)
        if radio is None:
            return ActionOutcome(pb.REFUSED, None, None, f"radio {radio_id!r} is not managed by agent {self.agent_id}")
        current = self.configs[radio_id]
        problems = self.violations(radio, change, now, rate_limited=rate_limited)
        if problems:
            return ActionOutcome(pb.REFUSED, current, current, "; ".join(problems))
        token = pb.RollbackToken(
            token_id=token_id or uuid.uuid4().hex,
            radio_id=radio_id,
            prior_config=config_to_pb(current),
            created_at_ms=ms(now),
            expires_at_ms=ms(now + TOKEN_TTL_S),
            loop=loop,
            change_id=change_id,
        )
        outcome = await self._drive(radio_id, current, change, pb.APPLIED, token)
        if outcome.status != pb.APPLIED:
            return outcome
        return ActionOutcome(outcome.status, outcome.before, outcome.after, token=token)

    async def restore(self, radio_id: str, token_id: str) -> ActionOutcome:
        """Put back a token's prior config; never onto channels in non-occupancy. Call with the lock held."""
        token = self.tokens.get(token_id)
        radio = self.radios.get(radio_id)
        if token is None or radio is None or token.radio_id != radio_id:
            return ActionOutcome(pb.REFUSED, None, None, f"no rollback token {token_id!r} for radio {radio_id!r}")
        current = self.configs[radio_id]
        change = ConfigChange.between(current, config_from_pb(token.prior_config))
        problems = self.violations(radio, change, self._clock.now(), rate_limited=False)
        if problems:
            return ActionOutcome(pb.REFUSED, current, current, "; ".join(problems), token)
        outcome = await self._drive(radio_id, current, change, pb.ROLLED_BACK)
        return ActionOutcome(outcome.status, outcome.before, outcome.after, outcome.error, token)

    async def _drive(
        self,
        radio_id: str,
        current: RadioConfig,
        change: ConfigChange,
        success: pb.ActionStatus.ValueType,
        token: pb.RollbackToken | None = None,
    ) -> ActionOutcome:
        self.last_apply_perf = time.perf_counter()
        try:
            result = await self.driver.apply(radio_id, change)
        except (ChangeRejected, CapabilityRefused) as exc:
            return ActionOutcome(pb.REFUSED, current, current, str(exc))
        except DriverError as exc:
            return ActionOutcome(pb.FAILED, current, current, str(exc))
        self.configs[radio_id] = result.after
        with transaction(self._journal.connection):  # the journal entry and the token commit together
            self._journal.record_changes(radio_id, changed_parameters(result.before, change), ms(self._clock.now()))
            if token is not None:
                self.tokens.save(token)
        return ActionOutcome(success, result.before, result.after)

    def autonomous_move_token(self, radio_id: str, before: RadioConfig, at: float) -> pb.RollbackToken:
        """The token for a move the AP made by itself (kept for the record: it is a radar move)."""
        token = pb.RollbackToken(
            token_id=uuid.uuid4().hex,
            radio_id=radio_id,
            prior_config=config_to_pb(before),
            created_at_ms=ms(at),
            expires_at_ms=ms(at + TOKEN_TTL_S),
            loop="EVENT",
        )
        self.tokens.save(token)
        return token
