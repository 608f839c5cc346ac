"""A thin asyncio SNMP client (pysnmp 7): GET, WALK and verified SET against one agent.

Every failure becomes one of the driver's typed errors naming the AP (or radio) and the operation:
an ``errorIndication`` (timeout, wrong v3 digest, decryption failure, unknown user) is
DriverUnavailable; a SET the agent refuses (notWritable, wrongType, wrongValue, ... or a
noSuchInstance/noSuchObject varbind, which is how snmpsim says "not writable") is ChangeRejected;
a reply that does not fit the request (other OIDs, another type) is DriverUnavailable saying what
was wrong. Credentials are kept out of ``repr`` and never logged. Values are decoded at this edge
into plain Python (:class:`VarBind`), so everything behind it is pure.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    set_cmd,
    walk_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as usm
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.rfc1902 import univ  # pyasn1 through pysnmp (no pyasn1 stubs)
from pysnmp.smi import builder, view

from drivers.protocol import ChangeRejected, DriverUnavailable
from drivers.snmp.oid_profiles import Oid, format_oid

log = logging.getLogger(__name__)

MAX_WALK_ROWS = 10_000


class AuthProtocol(StrEnum):
    MD5 = "md5"
    SHA = "sha"
    SHA224 = "sha224"
    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"


class PrivProtocol(StrEnum):
    NONE = "none"  # authNoPriv
    DES = "des"
    TRIPLE_DES = "3des"
    AES = "aes"  # AES-128 CFB
    AES192 = "aes192"  # Reeder key localisation (Cisco)
    AES256 = "aes256"
    AES192_BLUMENTHAL = "aes192blmt"
    AES256_BLUMENTHAL = "aes256blmt"


_AUTH = {
    AuthProtocol.MD5: usm.USM_AUTH_HMAC96_MD5,
    AuthProtocol.SHA: usm.USM_AUTH_HMAC96_SHA,
    AuthProtocol.SHA224: usm.USM_AUTH_HMAC128_SHA224,
    AuthProtocol.SHA256: usm.USM_AUTH_HMAC192_SHA256,
    AuthProtocol.SHA384: usm.USM_AUTH_HMAC256_SHA384,
    AuthProtocol.SHA512: usm.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    PrivProtocol.NONE: usm.USM_PRIV_NONE,
    PrivProtocol.DES: usm.USM_PRIV_CBC56_DES,
    PrivProtocol.TRIPLE_DES: usm.USM_PRIV_CBC168_3DES,
    PrivProtocol.AES: usm.USM_PRIV_CFB128_AES,
    PrivProtocol.AES192: usm.USM_PRIV_CFB192_AES,
    PrivProtocol.AES256: usm.USM_PRIV_CFB256_AES,
    PrivProtocol.AES192_BLUMENTHAL: usm.USM_PRIV_CFB192_AES_BLUMENTHAL,
    PrivProtocol.AES256_BLUMENTHAL: usm.USM_PRIV_CFB256_AES_BLUMENTHAL,
}


@dataclass(frozen=True, slots=True)
class CommunityCredentials:
    """SNMP v2c; the community is a secret and is left out of repr."""

    community: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class UsmCredentials:
    """SNMP v3 user (authPriv, or authNoPriv with PrivProtocol.NONE); keys are left out of repr."""

    user: str
    auth: AuthProtocol
    priv: PrivProtocol
    auth_key: str = field(repr=False)
    priv_key: str = field(repr=False, default="")
    context: str = ""


Credentials = CommunityCredentials | UsmCredentials


def pysnmp_auth_data(credentials: Credentials) -> CommunityData | UsmUserData:
    if isinstance(credentials, CommunityCredentials):
        return CommunityData(credentials.community, mpModel=1)
    return UsmUserData(
        credentials.user,
        authKey=credentials.auth_key,
        privKey=credentials.priv_key or None,
        authProtocol=_AUTH[credentials.auth],
        privProtocol=_PRIV[credentials.priv],
    )


def usm_protocols(credentials: UsmCredentials) -> tuple[object, object]:
    """The pysnmp (auth, priv) protocol ids of a v3 user (for the trap receiver's user table)."""
    return _AUTH[credentials.auth], _PRIV[credentials.priv]


class Missing(StrEnum):
    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


SnmpValue = int | bytes | Oid | Missing | None


@dataclass(frozen=True, slots=True)
class VarBind:
    """One decoded variable binding; ``syntax`` is the ASN.1 type name for messages."""

    oid: Oid
    value: SnmpValue
    syntax: str


def decode_value(value: object) -> tuple[SnmpValue, str]:
    """A pysnmp value as plain Python with its type name (the exception classes first: they are Nulls)."""
    for cls, missing in (
        (rfc1905.NoSuchObject, Missing.NO_SUCH_OBJECT),
        (rfc1905.NoSuchInstance, Missing.NO_SUCH_INSTANCE),
        (rfc1905.EndOfMibView, Missing.END_OF_MIB_VIEW),
    ):
        if isinstance(value, cls):
            return missing, missing.value
    name = type(value).__name__
    if isinstance(value, univ.Integer):
        return int(value), name
    if isinstance(value, univ.OctetString):
        return bytes(value), name
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value), name
    return None, name


def decode_varbind(oid: Iterable[int], value: object) -> VarBind:
    decoded, syntax = decode_value(value)
    return VarBind(tuple(int(n) for n in oid), decoded, syntax)


def expect_int(vb: VarBind, who: str, operation: str, label: str) -> int:
    """The integer value of a varbind, or DriverUnavailable naming what came back instead."""
    if isinstance(vb.value, int) and vb.syntax not in ("OctetString", "ObjectIdentifier"):
        return vb.value
    if isinstance(vb.value, Missing):
        raise DriverUnavailable(who, operation, f"{label}: the agent answered {vb.value.value}")
    raise DriverUnavailable(who, operation, f"{label}: expected an integer, the agent answered a {vb.syntax}")


ERROR_STATUS_NAMES = (
    *("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType"),
    *("wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable"),
    *("commitFailed", "undoFailed", "authorizationError", "notWritable", "inconsistentName"),
)
REFUSING_STATUSES = frozenset({2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 16, 17, 18})
"""Error statuses that mean "this value or object will not be taken" (ChangeRejected); the rest
(tooBig, genErr, resourceUnavailable, commitFailed, undoFailed) mean the agent failed."""


def status_name(status: int) -> str:
    return ERROR_STATUS_NAMES[status] if 0 <= status < len(ERROR_STATUS_NAMES) else f"errorStatus {status}"


@dataclass(frozen=True, slots=True)
class Assignment:
    """One integer SET: where, what, and how to name it in a message."""

    oid: Oid
    value: int
    label: str


def check_set_response(
    radio_id: str, operation: str, requested: Sequence[Assignment], status: int, index: int, echoed: Sequence[VarBind]
) -> None:
    """Raise unless the agent accepted every assignment and echoed each OID, type and value."""
    if status:
        name = requested[index - 1].label if 1 <= index <= len(requested) else "the request"
        error = ChangeRejected if status in REFUSING_STATUSES else DriverUnavailable
        raise error(radio_id, operation, f"{name}: the agent answered {status_name(status)}")
    if len(echoed) != len(requested):
        raise DriverUnavailable(
            radio_id, operation, f"the agent echoed {len(echoed)} varbinds for a SET of {len(requested)}"
        )
    for want, got in zip(requested, echoed, strict=True):
        if got.oid != want.oid:
            raise DriverUnavailable(radio_id, operation, f"{want.label}: the agent echoed OID {format_oid(got.oid)}")
        if got.value in (Missing.NO_SUCH_INSTANCE, Missing.NO_SUCH_OBJECT):
            assert isinstance(got.value, Missing)
            raise ChangeRejected(
                radio_id, operation, f"{want.label}: the agent answered {got.value.value}: not writable there"
            )
        if not isinstance(got.value, int) or got.syntax not in ("Integer", "Integer32"):
            raise DriverUnavailable(
                radio_id, operation, f"{want.label}: the agent echoed a {got.syntax}, not an Integer"
            )
        if got.value != want.value:
            raise ChangeRejected(radio_id, operation, f"{want.label}: the agent echoed {got.value}, not {want.value}")


def describe_indication(indication: object, credentials: Credentials, where: str, timeout_s: float, tries: int) -> str:
    """What a pysnmp errorIndication means for the operator (never includes a secret)."""
    kind = type(indication).__name__
    if kind == "RequestTimedOut":
        hint = "the community" if isinstance(credentials, CommunityCredentials) else "the v3 user"
        return f"no answer from {where} within {timeout_s:g} s x {tries} tries (is it up, and is {hint} right?)"
    if kind == "WrongDigest":
        return "v3 authentication failed (wrong digest): check RRM_SNMP_AUTH_KEY and the auth protocol"
    if kind == "DecryptionError":
        return "v3 decryption failed: check RRM_SNMP_PRIV_KEY and the priv protocol"
    if kind == "UnknownUserName":
        user = credentials.user if isinstance(credentials, UsmCredentials) else "?"
        return f"the agent at {where} does not know v3 user {user!r}"
    if kind == "UnsupportedSecLevel":
        return f"the agent at {where} does not accept this v3 security level"
    return f"SNMP error from {where}: {kind}: {indication}"


@functools.cache
def shared_mib_view() -> object:
    """One MIB view for every engine. We send numeric OIDs only, yet pysnmp prepares a view per
    engine, and with pysmi installed that builds a MIB compiler (about 0.5 s) each time."""
    return view.MibViewController(builder.MibBuilder())


class SnmpClient:
    """One agent, one pysnmp engine; ``who`` (the AP id) names it in errors."""

    def __init__(
        self, who: str, host: str, port: int, credentials: Credentials, timeout_s: float, retries: int
    ) -> None:
        self.who = who
        self.where = f"{host}:{port}"
        self._host, self._port = host, port
        self._credentials = credentials
        self._timeout_s, self._retries = timeout_s, retries
        self._engine: SnmpEngine | None = None
        self._transport: UdpTransportTarget | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SnmpClient({self.who!r}, {self.where})"

    async def _session(self, operation: str) -> tuple[SnmpEngine, UdpTransportTarget]:
        if self._closed:
            raise DriverUnavailable(self.who, operation, "the SNMP client is closed")
        if self._engine is None or self._transport is None:
            try:
                self._transport = await UdpTransportTarget.create(
                    (self._host, self._port), timeout=self._timeout_s, retries=self._retries
                )
            except Exception as exc:  # pysnmp wraps resolver failures in its own error types
                raise DriverUnavailable(self.who, operation, f"cannot resolve {self.where}: {exc}") from None
            self._engine = SnmpEngine()
            self._engine.cache["mibViewController"] = shared_mib_view()
        return self._engine, self._transport

    def _context(self) -> ContextData:
        if isinstance(self._credentials, UsmCredentials) and self._credentials.context:
            return ContextData(contextName=self._credentials.context)
        return ContextData()

    def _unavailable(self, operation: str, indication: object) -> DriverUnavailable:
        detail = describe_indication(indication, self._credentials, self.where, self._timeout_s, self._retries + 1)
        return DriverUnavailable(self.who, operation, detail)

    async def get(self, oids: Sequence[Oid], operation: str) -> list[VarBind]:
        """GET ``oids`` in one request; the answers in the same order (Missing values included)."""
        engine, transport = await self._session(operation)
        request = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        auth = pysnmp_auth_data(self._credentials)
        indication, status, index, varbinds = await get_cmd(
            engine, auth, transport, self._context(), *request, lookupMib=False
        )
        if indication:
            raise self._unavailable(operation, indication)
        if int(status):
            where = format_oid(oids[int(index) - 1]) if 1 <= int(index) <= len(oids) else "the request"
            raise DriverUnavailable(self.who, operation, f"GET {where}: the agent answered {status_name(int(status))}")
        answers = [decode_varbind(oid, value) for oid, value in varbinds]
        if [a.oid for a in answers] != list(oids):
            raise DriverUnavailable(self.who, operation, f"GET of {len(oids)} OIDs was answered for other OIDs")
        return answers

    async def walk(self, prefix: Oid, operation: str) -> list[VarBind]:
        """Every object under ``prefix`` (GETNEXT, stopping at the end of the subtree)."""
        engine, transport = await self._session(operation)
        auth = pysnmp_auth_data(self._credentials)
        rows: list[VarBind] = []
        async for indication, status, _index, varbinds in walk_cmd(
            engine,
            auth,
            transport,
            self._context(),
            ObjectType(ObjectIdentity(prefix)),
            lexicographicMode=False,
            lookupMib=False,
        ):
            if indication:
                raise self._unavailable(operation, indication)
            if int(status):
                text = f"WALK {format_oid(prefix)}: the agent answered {status_name(int(status))}"
                raise DriverUnavailable(self.who, operation, text)
            for oid, value in varbinds:
                vb = decode_varbind(oid, value)
                if vb.oid[: len(prefix)] == prefix and not isinstance(vb.value, Missing):
                    rows.append(vb)
            if len(rows) > MAX_WALK_ROWS:
                raise DriverUnavailable(self.who, operation, f"WALK {format_oid(prefix)} exceeded {MAX_WALK_ROWS} rows")
        return rows

    async def set_integers(self, radio_id: str, assignments: Sequence[Assignment], operation: str) -> None:
        """SET the integers in one PDU and verify the response (see :func:`check_set_response`)."""
        engine, transport = await self._session(operation)
        request = [ObjectType(ObjectIdentity(a.oid), rfc1902.Integer32(a.value)) for a in assignments]
        auth = pysnmp_auth_data(self._credentials)
        log.info("%s: SET %s", radio_id, ", ".join(f"{a.label}={a.value}" for a in assignments))
        indication, status, index, varbinds = await set_cmd(
            engine, auth, transport, self._context(), *request, lookupMib=False
        )
        if indication:
            raise DriverUnavailable(radio_id, operation, self._unavailable(operation, indication).detail)
        echoed = [decode_varbind(oid, value) for oid, value in varbinds]
        check_set_response(radio_id, operation, assignments, int(status), int(index), echoed)

    async def close(self) -> None:
        self._closed = True
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
