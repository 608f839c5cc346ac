"""ncclient/paramiko exceptions -> the driver Protocol's typed errors, naming the AP or radio and operation.

* an ``rpc-error`` on a change (edit-config, commit) is a ChangeRejected carrying the server's
  error-tag, message and the node it points at ("invalid-value 'value not in range' at
  config/channel");
* ``lock-denied`` is a :class:`DatastoreLocked` (a DriverUnavailable: someone else is configuring
  the AP right now, so try later) naming the session that holds the lock;
* authentication, host key, timeouts, refused or lost connections and any other rpc-error are
  DriverUnavailable;
* a capability the AP does not offer is a CapabilityRefused.

Messages never carry credentials: ncclient's auth errors name only the failed method.
"""

from __future__ import annotations

import re
import socket

import paramiko
from lxml import etree
from ncclient.operations.errors import MissingCapabilityError, TimeoutExpiredError
from ncclient.operations.rpc import RPCError
from ncclient.transport.errors import AuthenticationError, SSHUnknownHostError, TransportError

from drivers.netconf.openconfig_names import NC_NS
from drivers.protocol import CapabilityRefused, ChangeRejected, DriverError, DriverUnavailable

_PREFIX = re.compile(r"^[\w.-]+:")
_PREDICATE = re.compile(r"\[[^\]]*\]")


class DatastoreLocked(DriverUnavailable):
    """Another NETCONF session holds the lock on the datastore we need."""


class HostKeyRefused(Exception):
    """The server's SSH host key failed our check (message says which and why)."""


def translate(exc: BaseException, subject: str, operation: str, *, change: bool = False) -> DriverError:
    """The typed error for ``exc`` raised while doing ``operation`` for ``subject`` (an AP or radio id)."""
    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, RPCError):
        return _rpc_error(exc, subject, operation, change)
    if isinstance(exc, MissingCapabilityError):
        return CapabilityRefused(subject, operation, f"the AP does not offer NETCONF capability {exc}")
    if isinstance(exc, TimeoutExpiredError):
        return DriverUnavailable(subject, operation, f"no reply in time ({exc})")
    if isinstance(exc, HostKeyRefused):
        return DriverUnavailable(subject, operation, f"untrusted SSH host key: {exc}")
    if isinstance(exc, SSHUnknownHostError):
        return DriverUnavailable(subject, operation, f"untrusted SSH host key: {exc}")
    if isinstance(exc, AuthenticationError):
        return DriverUnavailable(subject, operation, f"SSH authentication failed ({exc}); check the key or password")
    if isinstance(exc, TransportError):
        return DriverUnavailable(subject, operation, f"NETCONF session failed: {exc or type(exc).__name__}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return DriverUnavailable(subject, operation, "the connection timed out")
    if isinstance(exc, paramiko.SSHException | OSError | EOFError):
        return DriverUnavailable(subject, operation, f"connection failed: {type(exc).__name__}: {exc}")
    return DriverUnavailable(subject, operation, f"unexpected {type(exc).__name__}: {exc}")


def _rpc_error(exc: RPCError, subject: str, operation: str, change: bool) -> DriverError:
    first = (exc.errlist or [exc])[0]
    tag = first.tag or "rpc-error"
    message = (first.message or "").strip()
    if tag == "lock-denied":
        holder = _lock_holder(first.info)
        by = f" by NETCONF session {holder}" if holder else ""
        return DatastoreLocked(
            subject, operation, f"the datastore is locked{by}: another manager is configuring this AP, try later"
        )
    where = f" at {_node(first.path)}" if first.path else ""
    detail = f"{tag} {message!r}{where}" if message else f"{tag}{where}"
    more = len(exc.errlist or ()) - 1
    if more > 0:
        detail += f" (and {more} more error{'s' if more > 1 else ''})"
    if change:
        return ChangeRejected(subject, operation, f"the AP refused it: {detail}")
    return DriverUnavailable(subject, operation, f"the AP answered rpc-error {detail}")


def _lock_holder(info: str | None) -> str | None:
    if not info:
        return None
    try:
        root = etree.fromstring(info.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    found = root.findtext(f".//{{{NC_NS}}}session-id")
    if found is None:
        found = root.findtext(".//session-id")
    return found.strip() if found else None


def _node(path: str) -> str:
    """``/a:x/a:radio[...]/a:config/a:channel`` -> ``config/channel``."""
    steps = [_PREFIX.sub("", step) for step in _PREDICATE.sub("", path.strip()).split("/") if step]
    return "/".join(steps[-2:])
