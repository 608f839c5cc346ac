"""Keyed hashing of client and BSS identifiers (privacy invariant 7).

Raw MAC addresses and client ids never leave the agent: everything that does carries
HMAC-SHA256(key, identifier), truncated. The key stays on the agent (or is shared by a site's
agents so the same client hashes alike across APs); without it the hashes cannot be reversed
by enumerating the 2^48 MAC space.
"""

from __future__ import annotations

import hashlib
import hmac

HASH_BYTES = 10  # 80 bits: collision-free for any realistic client population


class IdentifierHasher:
    """Turns raw identifiers into stable keyed hashes."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError(f"identifier hash key is {len(key)} bytes; at least 16 are required")
        self._key = key

    def digest(self, identifier: str) -> bytes:
        """The keyed hash as HASH_BYTES raw bytes (the compact form telemetry carries)."""
        normalised = identifier.strip().lower().encode()
        return hmac.new(self._key, normalised, hashlib.sha256).digest()[:HASH_BYTES]

    def hash(self, identifier: str) -> str:
        """The keyed hash as hex text (for logs, audit and ids)."""
        return self.digest(identifier).hex()
