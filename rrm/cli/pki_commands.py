"""`rrm pki init` and `rrm pki issue controller|agent NAME`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rrm.pki import CertKind, init_pki, issue_to_folder

DEFAULT_PKI_DIR = Path("rrm-pki")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pki = sub.add_parser("pki", help="create a CA and issue controller and agent certificates (mutual TLS)")
    pki_sub = pki.add_subparsers(dest="pki_command", required=True, metavar="{init,issue}")

    init = pki_sub.add_parser("init", help="create a new CA (ca.crt, ca.key) in --dir")
    init.add_argument("--dir", type=Path, default=DEFAULT_PKI_DIR, help="PKI folder (default: %(default)s)")
    init.add_argument("--force", action="store_true", help="replace an existing CA (invalidates issued certs)")
    init.set_defaults(handler=_init)

    issue = pki_sub.add_parser("issue", help="issue a controller or agent certificate signed by the CA")
    issue.add_argument("kind", choices=[k.value for k in CertKind])
    issue.add_argument("name", help="controller or agent name (the certificate's common name)")
    issue.add_argument("--dir", type=Path, default=DEFAULT_PKI_DIR, help="PKI folder (default: %(default)s)")
    issue.add_argument(
        "--ap",
        action="append",
        default=[],
        metavar="AP_ID",
        help="agent only: an AP the agent may speak for (repeat; default: the agent name)",
    )
    issue.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="HOST",
        help="controller only: a DNS name or IP agents connect to (repeat; default: localhost, 127.0.0.1, ::1)",
    )
    issue.add_argument("--force", action="store_true", help="re-issue an existing certificate")
    issue.set_defaults(handler=_issue)


def _init(ns: argparse.Namespace) -> int:
    init_pki(ns.dir, force=ns.force)
    print(f"created CA in {ns.dir}: ca.crt (give to controllers and agents), ca.key (keep private)")
    return 0


def _issue(ns: argparse.Namespace) -> int:
    kind = CertKind(ns.kind)
    if kind is CertKind.CONTROLLER and ns.ap:
        from rrm.cli.errors import UsageError

        raise UsageError("--ap applies to agent certificates only")
    if kind is CertKind.AGENT and ns.host:
        from rrm.cli.errors import UsageError

        raise UsageError("--host applies to controller certificates only")
    paths = issue_to_folder(ns.dir, kind, ns.name, ap_ids=ns.ap, hosts=ns.host, force=ns.force)
    scope = f"APs {', '.join(ns.ap or [ns.name])}" if kind is CertKind.AGENT else "server"
    print(f"issued {kind.value} certificate {paths.cert} ({scope}); key {paths.key}")
    return 0
