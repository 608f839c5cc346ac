"""Finding a scenario by file path or by the name of a shipped one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from drivers.sim.scenario import Scenario

DEFAULT_SCENARIO = "small_office"


def resolve_scenario(value: str) -> tuple[Scenario, str]:
    """(scenario, display name) for a path or a shipped scenario name."""
    from drivers.sim.scenario import list_shipped_scenarios, load_scenario

    path = Path(value)
    if path.suffix in {".json", ".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise UsageError(f"scenario file {value} does not exist")
        return load_scenario(path), path.stem
    shipped = list_shipped_scenarios()
    if value not in shipped:
        raise UsageError(f"no scenario file or shipped scenario named {value!r}; shipped: {', '.join(sorted(shipped))}")
    return load_scenario(shipped[value]), value
