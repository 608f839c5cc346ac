"""AP ids as keyed hashes, where a site configures it (privacy invariant 7, seed 000 core/privacy.py).

Some sites treat AP names as sensitive (they say whose office or which ward an AP is in). With
``rrm agent --hash-ap-ids`` the agent runs over a PseudonymousApDriver: every id that comes up from
the driver (radios, states, events, managed neighbours, error messages) carries ``anon-ap-<keyed hash>``
instead of the AP's name, so the agent's logs, its outbox, the audit trail and the controller only
ever see the pseudonym. Commands coming down name the pseudonym and are translated back here, at
the edge, just before the real driver. The key is the site's identifier key (the one client ids
are hashed with), so every agent of a site gives an AP the same pseudonym; `rrm privacy ap-id`
computes it for an operator who needs to find an AP in the controller's views.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence

from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    DriverError,
    DriverEvent,
    RadioDriver,
    RadioInfo,
    RadioState,
    SteeringOutcome,
)
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import ConfigChange, make_radio_id, split_radio_id

PSEUDONYM_PREFIX = "anon-ap-"
PSEUDONYM_HEX_CHARS = 16  # 64 bits: no collision among any site's APs


def ap_pseudonym(hasher: IdentifierHasher, ap_id: str) -> str:
    """The id an AP carries above the driver; domain-separated from client-id hashes."""
    return PSEUDONYM_PREFIX + hasher.hash(f"ap-id:{ap_id}")[:PSEUDONYM_HEX_CHARS]


class PseudonymousApDriver:
    """Wraps ``inner`` so nothing above it sees its APs' real ids."""

    def __init__(self, inner: RadioDriver, hasher: IdentifierHasher) -> None:
        self.inner = inner
        self._hasher = hasher
        self._to_real: dict[str, str] = {}  # pseudonymous radio id -> real radio id
        self._to_pseudo: dict[str, str] = {}  # real AP id -> pseudonym
        self._radios = [
            dataclasses.replace(info, radio_id=self._hide(info.radio_id), ap_id=self._hide_ap(info.ap_id))
            for info in inner.radios()
        ]

    @property
    def name(self) -> str:
        return self.inner.name

    def _hide_ap(self, ap_id: str) -> str:
        pseudonym = self._to_pseudo.get(ap_id)
        if pseudonym is None:
            pseudonym = ap_pseudonym(self._hasher, ap_id)
            self._to_pseudo[ap_id] = pseudonym
        return pseudonym

    def _hide(self, radio_id: str) -> str:
        ap_id, band = split_radio_id(radio_id)
        hidden = make_radio_id(self._hide_ap(ap_id), band)
        self._to_real[hidden] = radio_id
        return hidden

    def _reveal(self, radio_id: str, operation: str) -> str:
        real = self._to_real.get(radio_id)
        if real is None:
            raise CapabilityRefused(radio_id, operation, "no radio of this agent has this (pseudonymous) id")
        return real

    def _scrub(self, text: str) -> str:
        """Replace every real AP id in free text (driver messages, event metadata) by its pseudonym."""
        for real, pseudonym in sorted(self._to_pseudo.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(real, pseudonym)
        return text

    def _scrubbed(self, exc: DriverError) -> DriverError:
        radio_id = self._to_hidden_radio(exc.radio_id)
        return type(exc)(radio_id, exc.operation, self._scrub(exc.detail))

    def _to_hidden_radio(self, radio_id: str) -> str:
        try:
            return self._hide(radio_id)
        except ValueError:
            return self._scrub(radio_id)  # an AP-level id, not a radio id

    def radios(self) -> Sequence[RadioInfo]:
        return list(self._radios)

    async def state(self) -> Sequence[RadioState]:
        try:
            states = await self.inner.state()
        except DriverError as exc:
            raise self._scrubbed(exc) from None
        return [self._hide_state(s) for s in states]

    def _hide_state(self, state: RadioState) -> RadioState:
        neighbours = tuple(
            dataclasses.replace(n, neighbor_id=self._to_hidden_radio(n.neighbor_id)) if n.managed else n
            for n in state.neighbors
        )
        return dataclasses.replace(state, radio_id=self._hide(state.radio_id), neighbors=neighbours)

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        try:
            result = await self.inner.apply(self._reveal(radio_id, "apply"), change)
        except DriverError as exc:
            raise self._scrubbed(exc) from None
        return dataclasses.replace(result, radio_id=radio_id)

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        real_target = self._to_real.get(target_radio_id, target_radio_id)
        try:
            return await self.inner.steer_client(self._reveal(radio_id, "steer"), client_id, real_target)
        except DriverError as exc:
            raise self._scrubbed(exc) from None

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        try:
            await self.inner.set_fallback_channels(self._reveal(radio_id, "set fallback channels"), channels)
        except DriverError as exc:
            raise self._scrubbed(exc) from None

    async def events(self) -> AsyncIterator[DriverEvent]:
        try:
            async for event in self.inner.events():
                yield dataclasses.replace(
                    event,
                    radio_id=self._to_hidden_radio(event.radio_id),
                    metadata={k: self._scrub(v) for k, v in event.metadata.items()},
                )
        except DriverError as exc:
            raise self._scrubbed(exc) from None

    async def close(self) -> None:
        await self.inner.close()
