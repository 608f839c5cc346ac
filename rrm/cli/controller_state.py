"""Where a controller keeps its state, for the commands that read it from another process.

``DIR/controller.db`` is where `rrm controller --state-dir DIR` keeps it (its state dir is DIR);
``DIR/controller/controller.db`` is where `rrm demo --state-dir DIR` does (the demo gives its
controller ``DIR/controller``). The audit trail, its keys and the databases sit beside it.
"""

from __future__ import annotations

from pathlib import Path

from rrm.cli.errors import UsageError


def controller_state_dir(state_dir: Path) -> Path:
    """The folder holding controller.db under ``state_dir``, in the controller's or the demo's layout."""
    return controller_database(state_dir).parent


def controller_database(state_dir: Path) -> Path:
    """The controller database under ``state_dir``, in the controller's or the demo's layout."""
    candidates = [state_dir / "controller.db", state_dir / "controller" / "controller.db"]
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise UsageError(
            f"no controller database in {state_dir} (looked for {candidates[0]}, as `rrm controller` keeps it, "
            f"and {candidates[1]}, as `rrm demo` does)"
        )
    if len(found) > 1:
        raise UsageError(f"{state_dir} holds two controller databases; pass --state-dir {state_dir / 'controller'}")
    return found[0]
