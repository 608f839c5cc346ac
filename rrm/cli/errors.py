"""The errors the command line reports as one clear line (exit status 2), never as a traceback."""

from __future__ import annotations


class UsageError(Exception):
    """The operator asked for something that cannot be done as asked; the message says why."""


def expected_errors() -> tuple[type[BaseException], ...]:
    """Every typed error that means bad input or a bad environment, not a bug."""
    from controller.site_policy_file import SitePolicyError
    from drivers.protocol import DriverError
    from edge_agent.event_policy import PolicyFileError
    from radio_domain.regulatory import RegulatoryError
    from rrm.sqlite_files import StateFileError
    from rrm.tls_files import PkiError

    errors: list[type[BaseException]] = [
        UsageError,
        PkiError,
        StateFileError,
        RegulatoryError,
        DriverError,
        PolicyFileError,
        SitePolicyError,
    ]
    try:
        from drivers.sim.scenario import ScenarioError
    except ImportError:  # pragma: no cover - the simulator is part of every install
        pass
    else:
        errors.append(ScenarioError)
    return tuple(errors)
