"""SNMP agent URLs: ``snmp://COMMUNITY@HOST:PORT`` (v2c) and ``snmpv3://USER@HOST:PORT?auth=..&priv=..``.

v3 uses its own scheme (not a query option on ``snmp://``) so the version is visible at a glance.
v3 keys never go in the URL: they come from the environment, ``RRM_SNMP_AUTH_KEY`` and
``RRM_SNMP_PRIV_KEY`` (a key-like part in the URL is an error that says so). A v2c community may
also come from ``RRM_SNMP_COMMUNITY`` when the URL has none. The port defaults to 161.

Query options (each at most once):

- ``profile=ieee80211|airespace|/path/profile.json`` (default ieee80211)
- ``ap=AP_ID`` (our AP id; default: the MAC on a WLC, else the host), ``mac=00:11:22:33:44:55``
  (which AP of a WLC)
- ``trap_port=N`` (listen for traps), ``trap_host=ADDR`` (default 0.0.0.0),
  ``trap_community=NAME`` (default: the target's community), ``trap_engine_id=HEX`` (v3 traps)
- ``timeout=SECONDS`` (default 1), ``retries=N`` (default 1)
- v3 only: ``auth=md5|sha|sha224|sha256|sha384|sha512`` (required),
  ``priv=none|des|3des|aes|aes192|aes256|aes192blmt|aes256blmt`` (required), ``context=NAME``

Every problem is a ValueError naming the URL (with the community masked) and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from drivers.snmp.client import AuthProtocol, CommunityCredentials, Credentials, PrivProtocol, UsmCredentials
from drivers.snmp.driver import SnmpDriver, SnmpTarget
from drivers.snmp.oid_profiles import ProfileError, parse_mac, resolve_profile
from drivers.snmp.trap_receiver import TrapListen, TrapReceiver
from rrm.clock import Clock

AUTH_KEY_ENV = "RRM_SNMP_AUTH_KEY"
PRIV_KEY_ENV = "RRM_SNMP_PRIV_KEY"
COMMUNITY_ENV = "RRM_SNMP_COMMUNITY"
MIN_USM_KEY_LENGTH = 8  # RFC 3414 11.2: pass phrases of at least 8 characters

_COMMON = ("profile", "ap", "mac", "trap_port", "trap_host", "trap_community", "trap_engine_id", "timeout", "retries")
_V3_ONLY = ("auth", "priv", "context")
_Fail = Callable[[str], ValueError]
_E = TypeVar("_E", bound=StrEnum)
_SECRET_LOOKING = re.compile(r"(key|pass|secret|password)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with a v2c community, any password part and key-like query values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0] if parts.scheme == "snmpv3" else "***"
        netloc = f"{user}{':***' if ':' in userinfo else ''}@{host}"
    query = "&".join(
        f"{k}={'***' if _SECRET_LOOKING.search(k) or k == 'trap_community' else v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def parse_snmp_url(url: str, env: Mapping[str, str]) -> SnmpTarget:
    """The target an ``snmp://`` or ``snmpv3://`` URL names (see the module docstring)."""
    shown = redact_url(url)

    def fail(problem: str) -> ValueError:
        return ValueError(f"SNMP URL {shown}: {problem}")

    parts = urlsplit(url)
    if parts.scheme not in ("snmp", "snmpv3"):
        raise fail("the scheme must be snmp:// (v2c) or snmpv3:// (v3)")
    try:
        port = parts.port or 161
    except ValueError:
        raise fail("the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise fail("no host")
    if parts.path not in ("", "/"):
        raise fail(f"unexpected path {parts.path!r}; options go in the query, e.g. ?profile=airespace")
    options = _query(parts.query, fail)
    allowed = _COMMON + (_V3_ONLY if parts.scheme == "snmpv3" else ())
    for key in options:
        if _SECRET_LOOKING.search(key):
            raise fail(f"{key!r}: keys do not go in the URL; set {AUTH_KEY_ENV} / {PRIV_KEY_ENV} instead")
        if key not in allowed:
            raise fail(f"unknown option {key!r}; expected one of {', '.join(allowed)}")
    if parts.password is not None:
        env_names = f"{AUTH_KEY_ENV} / {PRIV_KEY_ENV}" if parts.scheme == "snmpv3" else COMMUNITY_ENV
        raise fail(f"no password in the URL; set {env_names} instead")
    user = unquote(parts.username or "")
    if parts.scheme == "snmp":
        credentials: Credentials = _community(user, env, fail)
    else:
        credentials = _usm(user, options, env, fail)
    try:
        profile = resolve_profile(options.get("profile", "ieee80211"))
    except ProfileError as exc:
        raise fail(str(exc)) from None
    return SnmpTarget(
        host=parts.hostname,
        port=port,
        credentials=credentials,
        profile=profile,
        ap_id=_ap_id(options.get("ap"), fail),
        mac=_mac(options.get("mac"), fail),
        trap=_trap(options, credentials, fail),
        timeout_s=_number(options, "timeout", 1.0, 0.01, 60.0, fail),
        retries=int(_number(options, "retries", 1, 0, 10, fail, integer=True)),
    )


async def open_snmp_driver(
    target: SnmpTarget, *, clock: Clock, ap_id: str | None = None, trap_receiver: TrapReceiver | None = None
) -> SnmpDriver:
    """Connect to the agent and discover the AP's radios (DriverUnavailable when it cannot).

    ``trap_receiver``: a receiver shared by several drivers (one UDP port for a WLC's APs); without
    it a driver whose target has ``trap_port`` opens and owns its own.
    """
    return await SnmpDriver.open(target, clock=clock, ap_id=ap_id, trap_receiver=trap_receiver)


def _query(query: str, fail: _Fail) -> dict[str, str]:
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in options:
            raise fail(f"option {key!r} is given twice")
        options[key] = value
    return options


def _community(user: str, env: Mapping[str, str], fail: _Fail) -> CommunityCredentials:
    community = user or env.get(COMMUNITY_ENV, "")
    if not community:
        raise fail(f"no community: write snmp://COMMUNITY@HOST or set {COMMUNITY_ENV}")
    return CommunityCredentials(community)


def _usm(user: str, options: Mapping[str, str], env: Mapping[str, str], fail: _Fail) -> UsmCredentials:
    if not user:
        raise fail("no v3 user: write snmpv3://USER@HOST")
    auth = _choice(options, "auth", AuthProtocol, fail)
    priv = _choice(options, "priv", PrivProtocol, fail)
    auth_key = env.get(AUTH_KEY_ENV, "")
    if len(auth_key) < MIN_USM_KEY_LENGTH:
        raise fail(f"{AUTH_KEY_ENV} must hold the auth key, at least {MIN_USM_KEY_LENGTH} characters")
    priv_key = env.get(PRIV_KEY_ENV, "")
    if priv is not PrivProtocol.NONE and len(priv_key) < MIN_USM_KEY_LENGTH:
        raise fail(f"{PRIV_KEY_ENV} must hold the priv key, at least {MIN_USM_KEY_LENGTH} characters")
    return UsmCredentials(user, auth, priv, auth_key, priv_key, options.get("context", ""))


def _choice(options: Mapping[str, str], key: str, choices: type[_E], fail: _Fail) -> _E:
    allowed = ", ".join(c.value for c in choices)
    if key not in options:
        raise fail(f"v3 needs ?{key}= (one of {allowed})")
    try:
        return choices(options[key].lower())
    except ValueError:
        raise fail(f"{key}={options[key]!r} is not one of {allowed}") from None


def _ap_id(value: str | None, fail: _Fail) -> str | None:
    if value is not None and (not value.strip() or "/" in value):
        raise fail(f"ap={value!r}: an AP id is a non-empty name without '/'")
    return value


def _mac(value: str | None, fail: _Fail) -> bytes | None:
    if value is None:
        return None
    try:
        return parse_mac(value)
    except ValueError as exc:
        raise fail(f"mac: {exc}") from None


def _number(
    options: Mapping[str, str], key: str, default: float, low: float, high: float, fail: _Fail, integer: bool = False
) -> float:
    if key not in options:
        return default
    try:
        value = int(options[key]) if integer else float(options[key])
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise fail(f"{key}={options[key]!r} must be {kind} from {low:g} to {high:g}")
    return value


def _trap(options: Mapping[str, str], credentials: Credentials, fail: _Fail) -> TrapListen | None:
    trap_keys = [k for k in options if k.startswith("trap_")]
    if "trap_port" not in options:
        if trap_keys:
            raise fail(f"{trap_keys[0]} needs trap_port")
        return None
    port = int(_number(options, "trap_port", 0, 1, 65535, fail, integer=True))
    community = options.get("trap_community")
    if community is None and isinstance(credentials, CommunityCredentials):
        community = credentials.community
    engine_id = None
    if "trap_engine_id" in options:
        try:
            engine_id = bytes.fromhex(options["trap_engine_id"].removeprefix("0x"))
        except ValueError:
            raise fail("trap_engine_id must be hex, e.g. 80004fb805...") from None
    usm = credentials if isinstance(credentials, UsmCredentials) else None
    return TrapListen(options.get("trap_host", "0.0.0.0"), port, community, usm, engine_id)
