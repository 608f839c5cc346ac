"""The one error a bad spectral capture raises: it names the file, the byte offset and the fault."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.spectral.sample import SpectralSample


class SpectralCaptureError(Exception):
    """A spectral-scan capture cannot be decoded as it stands.

    Attributes:
        source: the file (or other name) the bytes came from.
        offset: the byte offset of the damaged TLV, or None when the file could not be read at all.
        detail: what is wrong, in words.
        good_samples: the samples decoded before the damage, in file order. Decoding stops at the
            first fault (a TLV stream has no resynchronisation marker, so nothing after it can be
            trusted); callers that want the salvage take it from here.
    """

    def __init__(
        self, source: str, offset: int | None, detail: str, good_samples: Sequence[SpectralSample] = ()
    ) -> None:
        self.source = source
        self.offset = offset
        self.detail = detail
        self.good_samples: tuple[SpectralSample, ...] = tuple(good_samples)
        where = "" if offset is None else f" at byte {offset} (0x{offset:x})"
        salvage = "" if offset is None else f" ({len(self.good_samples)} good sample(s) before it)"
        super().__init__(f"{source}{where}: {detail}{salvage}")

    def with_samples(self, good_samples: Sequence[SpectralSample]) -> SpectralCaptureError:
        """The same fault, carrying the samples decoded before it."""
        return SpectralCaptureError(self.source, self.offset, self.detail, good_samples)
