"""The TLS options shared by `rrm controller` and `rrm agent`: a PKI folder, explicit files, or --insecure."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rrm.cli.errors import UsageError
from rrm.tls_files import CertKind, CertPaths, leaf_paths

log = logging.getLogger(__name__)


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("transport security (mutual TLS unless --insecure)")
    group.add_argument("--pki", type=Path, metavar="DIR", help="PKI folder made by `rrm pki` (uses NAME's cert)")
    group.add_argument("--cert", type=Path, metavar="FILE", help="certificate (PEM), instead of --pki")
    group.add_argument("--key", type=Path, metavar="FILE", help="private key (PEM), instead of --pki")
    group.add_argument("--ca", type=Path, metavar="FILE", help="CA certificate (PEM), instead of --pki")
    group.add_argument(
        "--insecure", action="store_true", help="plain text, no authentication (lab use only; logs a warning)"
    )


def resolve_tls(ns: argparse.Namespace, kind: CertKind, name: str) -> CertPaths | None:
    """The certificate files to use, or None for --insecure; raises UsageError when ambiguous."""
    explicit = [ns.cert, ns.key, ns.ca]
    if ns.insecure:
        if ns.pki or any(explicit):
            raise UsageError("--insecure cannot be combined with --pki or --cert/--key/--ca")
        log.warning("--insecure: the agent link will be PLAIN TEXT and unauthenticated")
        return None
    if ns.pki and any(explicit):
        raise UsageError("give either --pki DIR or --cert/--key/--ca, not both")
    if ns.pki:
        paths = leaf_paths(ns.pki, kind, name)
    elif all(explicit):
        paths = CertPaths(cert=ns.cert, key=ns.key, ca=ns.ca)
    else:
        raise UsageError("mutual TLS needs --pki DIR, or all of --cert, --key and --ca; pass --insecure for plain text")
    for path in (paths.cert, paths.key, paths.ca):
        if not path.is_file():
            raise UsageError(f"{path}: no such file (issue it with `rrm pki issue {kind.value} {name}`)")
    return paths
