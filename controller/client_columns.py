"""Reading the packed float32 client columns of ClientReadings (see agent_link.proto)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def unpack_f32(data: bytes) -> npt.NDArray[np.float32]:
    """A packed little-endian float32 column as a read-only numpy array."""
    return np.frombuffer(data, dtype="<f4")
