"""`rrm privacy ap-id NAME...`: the pseudonym an AP carries when its agent runs with --hash-ap-ids.

An operator who needs to find a named AP in the controller's views, audit or approvals computes
its pseudonym here with the site's identifier key; without the key the pseudonyms cannot be
reversed or recomputed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rrm.cli.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("privacy", help="privacy tools: AP pseudonyms")
    inner = p.add_subparsers(dest="privacy_command", required=True, metavar="SUBCOMMAND")
    ap_id = inner.add_parser("ap-id", help="print the pseudonym of each named AP (as --hash-ap-ids sends it)")
    ap_id.add_argument("names", nargs="+", metavar="AP_NAME", help="the AP's real id, as its driver reports it")
    ap_id.add_argument(
        "--identifier-key", type=Path, required=True, metavar="FILE", help="the site's identifier key (the agents')"
    )
    ap_id.set_defaults(handler=_ap_id)


def _ap_id(ns: argparse.Namespace) -> int:
    from drivers.pseudonymous import ap_pseudonym
    from radio_domain.identifiers import IdentifierHasher

    path: Path = ns.identifier_key
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--identifier-key {path}: cannot read it ({exc.strerror})") from None
    try:
        hasher = IdentifierHasher(key)
    except ValueError as exc:
        raise UsageError(f"--identifier-key {path}: {exc}") from None
    for name in ns.names:
        print(f"{name}\t{ap_pseudonym(hasher, name)}")
    return 0
