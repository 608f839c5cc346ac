"""``netconf://USER@HOST:PORT?options`` -> NetconfTarget, and opening a driver for it.

Options (each at most once)::

    hostname=AP_HOSTNAME   the access-point list entry to manage (default: the only one there is)
    ap=ID                  our AP id, radio ids are ID/2g ... (default: the hostname)
    key=/path/to/key       SSH private key (its passphrase, if any, is RRM_NETCONF_PASSWORD)
    hostkey=MODE           how the server's host key is checked:
                             strict (default)  it must be in known_hosts already (like OpenSSH)
                             accept-new        trust on first use: an unknown host is recorded in
                                               known_hosts, a changed key is refused
                             insecure          no check at all (lab use only)
                             /path/file        strict, against that known_hosts file
    known_hosts=/path      the known_hosts file for strict or accept-new (default ~/.ssh/known_hosts)
    timeout=S              RPC timeout, seconds (default 30)
    connect_timeout=S      TCP/SSH connect timeout, seconds (default 10)
    confirm_timeout=S      confirmed-commit timeout, whole seconds (default 30)
    settle=S               wait after the confirmed commit before the read-back (default 0)

The password comes only from the environment variable RRM_NETCONF_PASSWORD, never from the URL
text, so URLs can be logged and shown; a URL carrying one is refused. Errors are ValueErrors that
name the URL (with any password masked) and the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from drivers.netconf.driver import NetconfDriver
from drivers.netconf.target import HostKeyCheck, NetconfTarget
from rrm.clock import Clock

PASSWORD_ENV = "RRM_NETCONF_PASSWORD"
DEFAULT_PORT = 830
_Fail = Callable[[str], ValueError]
OPTIONS = ("hostname", "ap", "key", "hostkey", "known_hosts", "timeout", "connect_timeout", "confirm_timeout", "settle")


def parse_netconf_url(url: str, env: Mapping[str, str]) -> NetconfTarget:
    """Parse and validate a netconf:// URL; ValueError naming the URL and the problem."""
    parts = urlsplit(url)
    shown = _masked(url, parts.password)

    def fail(problem: str) -> ValueError:
        return ValueError(f"NETCONF URL {shown!r}: {problem}")

    if parts.scheme.lower() != "netconf":
        raise fail("the scheme must be netconf://")
    if parts.password is not None:
        raise fail(f"a password in the URL is not accepted; put it in the environment variable {PASSWORD_ENV}")
    if not parts.username:
        raise fail("no user; write netconf://USER@HOST:PORT")
    if not parts.hostname:
        raise fail("no host; write netconf://USER@HOST:PORT")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise fail("the port is not a number between 0 and 65535") from None
    if parts.path not in ("", "/") or parts.fragment:
        raise fail("a NETCONF URL has no path or fragment; options go in ?query")
    options = _options(parts.query, fail)
    check, known_hosts = _host_key(options, fail)
    password = env.get(PASSWORD_ENV) or None
    key = options.get("key")
    if not key and password is None:
        raise fail(f"no credentials: add ?key=/path/to/private_key or set {PASSWORD_ENV}")
    ap_id = options.get("ap")
    if ap_id is not None and (not ap_id or "/" in ap_id):
        raise fail(f"ap={ap_id!r} must be a non-empty id without '/'")
    if "hostname" in options and not options["hostname"]:
        raise fail("hostname= is empty")
    return NetconfTarget(
        host=parts.hostname,
        port=port,
        username=parts.username,
        hostname=options.get("hostname"),
        ap_id=ap_id,
        key_path=Path(key).expanduser() if key else None,
        password=password,
        host_key_check=check,
        known_hosts=known_hosts,
        connect_timeout_s=_seconds(options, "connect_timeout", 10.0, fail),
        rpc_timeout_s=_seconds(options, "timeout", 30.0, fail),
        confirm_timeout_s=_whole_seconds(options, "confirm_timeout", 30, fail),
        settle_s=_seconds(options, "settle", 0.0, fail, allow_zero=True),
    )


async def open_netconf_driver(target: NetconfTarget, *, clock: Clock, ap_id: str | None = None) -> NetconfDriver:
    """Connect, pick the access point and discover its radios (DriverError when the AP fails)."""
    return await NetconfDriver.open(target, clock=clock, ap_id=ap_id or target.ap_id)


def _options(query: str, fail: _Fail) -> dict[str, str]:
    try:
        raw = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise fail(f"the query {query!r} is not name=value&name=value") from None
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        raise fail(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    repeated = sorted(name for name, values in raw.items() if len(values) > 1)
    if repeated:
        raise fail(f"option(s) {', '.join(repeated)} given more than once")
    return {name: values[0] for name, values in raw.items()}


def _host_key(options: Mapping[str, str], fail: _Fail) -> tuple[HostKeyCheck, Path | None]:
    mode = options.get("hostkey", HostKeyCheck.STRICT.value)
    known_hosts = Path(options["known_hosts"]).expanduser() if options.get("known_hosts") else None
    if "known_hosts" in options and known_hosts is None:
        raise fail("known_hosts= is empty")
    if mode in {c.value for c in HostKeyCheck}:
        check = HostKeyCheck(mode)
        if check is HostKeyCheck.INSECURE and known_hosts is not None:
            raise fail("hostkey=insecure checks nothing, so known_hosts= makes no sense with it")
        return check, known_hosts
    if not mode:
        raise fail("hostkey= is empty; use strict, accept-new, insecure or a known_hosts path")
    if known_hosts is not None:
        raise fail("give the known_hosts file either as hostkey=PATH or as known_hosts=PATH, not both")
    return HostKeyCheck.STRICT, Path(mode).expanduser()


def _seconds(options: Mapping[str, str], name: str, default: float, fail: _Fail, allow_zero: bool = False) -> float:
    if name not in options:
        return default
    try:
        value = float(options[name])
    except ValueError:
        raise fail(f"{name}={options[name]!r} is not a number of seconds") from None
    if not (value >= 0 if allow_zero else value > 0) or value == float("inf"):
        raise fail(f"{name}={options[name]} must be {'at least 0' if allow_zero else 'above 0'} and finite")
    return value


def _whole_seconds(options: Mapping[str, str], name: str, default: int, fail: _Fail) -> int:
    if name not in options:
        return default
    text = options[name]
    if not text.isdigit() or int(text) < 1:
        raise fail(f"{name}={text!r} must be a whole number of seconds, at least 1 (NETCONF confirm-timeout)")
    return int(text)


def _masked(url: str, password: str | None) -> str:
    if not password:
        return url
    return url.replace(f":{password}@", ":***@", 1)
