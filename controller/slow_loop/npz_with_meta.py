"""One .npz file layout for the slow loop's files (models, transition logs): a JSON ``meta`` entry plus named arrays."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


def write_npz_with_meta(
    path: str | Path, meta: Mapping[str, object], arrays: Mapping[str, NDArray[Any]], *, compressed: bool = False
) -> None:
    """Write ``arrays`` and ``meta`` (as JSON) to ``path``."""
    entries: dict[str, Any] = {"meta": np.asarray(json.dumps(dict(meta))), **arrays}
    with Path(path).open("wb") as out:
        if compressed:
            np.savez_compressed(out, **entries)
        else:
            np.savez(out, **entries)


def read_npz_with_meta(path: str | Path) -> tuple[Any, dict[str, NDArray[Any]]]:
    """The JSON ``meta`` (the caller validates it) and the arrays of a file from ``write_npz_with_meta``.

    Raises OSError, KeyError or ValueError (the caller names the file and what it expected).
    """
    with np.load(Path(path), allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: np.asarray(data[k]) for k in data.files if k != "meta"}
    return meta, arrays
