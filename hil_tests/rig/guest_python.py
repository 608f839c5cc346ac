"""Product code in the HIL guest: the venv's Python there, and JSON-line reports from the processes it runs.

The guest sees the host root read-only, so the host's virtualenv runs there as it is; starting it costs
2-5 s under TCG (../shared/facts/hil.md, section 1: importing pyroute2 alone takes 4-9 s the first time).
Guest-side programs (`guest_driver_probe`, `guest_rrm`) print their results as one JSON object per line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hil_tests.rig.guest import Guest, GuestError

PRODUCT_PYTHON = str(Path(sys.prefix) / "bin" / "python")  # the host test's venv, the same path in the guest


def product_module(module: str, *args: str) -> list[str]:
    """The argv that runs `python -m module args...` with the product's virtualenv in the guest."""
    return [PRODUCT_PYTHON, "-m", module, *args]


def _json(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class JsonReport:
    """The `{"phase": ...}` lines a guest program prints on `stream` (from `HwsimBench.start_process`)."""

    def __init__(self, guest: Guest, stream: str, program: str) -> None:
        self.guest, self.stream, self.program = guest, stream, program
        self.start = guest.events.mark(stream)

    def wait(self, phase: str, timeout: float) -> dict[str, Any]:
        """The next line of `phase`; GuestError at once if the program reported an error instead."""

        def wanted(text: str) -> bool:
            value = _json(text)
            return value is not None and value.get("phase") in (phase, "error")

        wanted.__doc__ = f"{self.program} phase {phase!r}"
        event = self.guest.events.wait(self.stream, wanted, timeout, after=self.start)
        value = _json(event.text)
        assert value is not None
        if value["phase"] == "error":
            raise GuestError(f"{self.program} failed in the guest: {value.get('error')}\n{value.get('trace', '')}")
        self.start = self.guest.events.events(self.stream).index(event, self.start) + 1
        return value
