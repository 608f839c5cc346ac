"""Printing the JSON figures of `rrm bench` and `rrm eval`, and their progress lines."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rrm.cli.errors import UsageError

PROGRESS_AFTER_S = 5.0  # stay quiet on stderr unless the run takes longer than this


def emit_figures(figures: dict[str, object], target: str) -> None:
    """Write ``figures`` as sorted, indented JSON to stdout (``-``) or to the file ``target``."""
    text = json.dumps(figures, indent=2, sort_keys=True)
    if target == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        Path(target).write_text(text + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the JSON to {target}: {exc.strerror or exc}") from None


class LateProgress:
    """Prints progress lines to stderr, only once the run has taken longer than PROGRESS_AFTER_S."""

    def __init__(self, command: str) -> None:
        self._command = command
        self._started = time.monotonic()

    def __call__(self, line: str) -> None:
        elapsed = time.monotonic() - self._started
        if elapsed >= PROGRESS_AFTER_S:
            print(f"{self._command}: {elapsed:.0f} s: {line}", file=sys.stderr, flush=True)
