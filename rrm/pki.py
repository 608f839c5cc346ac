"""The product's own small PKI: a CA, controller certificates and agent certificates.

Mutual TLS is the default on the agent link. An agent certificate names the agent
(``urn:rrm:agent:<name>``) and every AP it may speak for (``urn:rrm:ap:<ap_id>``) in its
subjectAltName; the controller accepts a Hello only for radios of those APs.

The folder layout is in rrm/tls_files.py. Keys are ECDSA P-256 (fast handshakes, small certificates)
and written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rrm.tls_files import CertKind, CertPaths, PkiError, leaf_paths

__all__ = ["CertKind", "CertPaths", "PkiError", "leaf_paths"]

AGENT_URI_PREFIX = "urn:rrm:agent:"
AP_URI_PREFIX = "urn:rrm:ap:"
CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=825)


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """Who an agent certificate says it is, and which APs it may speak for."""

    name: str
    ap_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    cert_pem: bytes
    key_pem: bytes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class CertificateAuthority:
    """A CA loaded in memory, able to issue controller and agent certificates."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.cert = cert
        self._key = key

    @classmethod
    def create(cls, common_name: str = "rrm CA") -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, folder: Path) -> CertificateAuthority:
        cert_path, key_path = folder / "ca.crt", folder / "ca.key"
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except FileNotFoundError as exc:
            raise PkiError(f"{exc.filename}: no CA here; run `rrm pki init --dir {folder}` first") from None
        except (OSError, ValueError) as exc:
            raise PkiError(f"{folder}: cannot load the CA: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{key_path}: the CA key is not an EC key")
        return cls(cert, key)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.crt").write_bytes(self.cert_pem)
        _write_private(folder / "ca.key", _key_pem(self._key))

    def issue(
        self,
        kind: CertKind,
        name: str,
        *,
        ap_ids: Sequence[str] = (),
        hosts: Sequence[str] = (),
    ) -> IssuedCertificate:
        """Issue a leaf certificate.

        Args:
            kind: controller (server auth; SAN = hosts) or agent (client auth; SAN = agent and AP URIs).
            name: the controller or agent name (the certificate's common name).
            ap_ids: for agents, the APs the agent may speak for (default: the agent name itself).
            hosts: for controllers, DNS names or IP addresses clients use (default localhost, 127.0.0.1, ::1).
        """
        if not name or "/" in name or name.startswith("."):
            raise PkiError(f"certificate name {name!r} must be non-empty, without '/', not starting with '.'")
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        sans: list[x509.GeneralName]
        if kind is CertKind.CONTROLLER:
            sans = [_host_name(h) for h in (hosts or ("localhost", "127.0.0.1", "::1"))]
            usage = [ExtendedKeyUsageOID.SERVER_AUTH]
        else:
            aps = list(ap_ids) or [name]
            sans = [x509.UniformResourceIdentifier(AGENT_URI_PREFIX + name)]
            sans += [x509.UniformResourceIdentifier(AP_URI_PREFIX + ap) for ap in aps]
            usage = [ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCertificate(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def init_pki(folder: Path, *, force: bool = False) -> CertificateAuthority:
    """Create a CA in ``folder``; refuses to replace an existing one unless ``force``."""
    if (folder / "ca.key").exists() and not force:
        raise PkiError(f"{folder / 'ca.key'} already exists; pass --force to replace the CA")
    ca = CertificateAuthority.create()
    ca.save(folder)
    return ca


def issue_to_folder(
    folder: Path,
    kind: CertKind,
    name: str,
    *,
    ap_ids: Sequence[str] = (),
    hosts: Sequence[str] = (),
    force: bool = False,
) -> CertPaths:
    """Issue a certificate with the CA in ``folder`` and write it under controllers/ or agents/."""
    paths = leaf_paths(folder, kind, name)
    if paths.cert.exists() and not force:
        raise PkiError(f"{paths.cert} already exists; pass --force to re-issue")
    issued = CertificateAuthority.load(folder).issue(kind, name, ap_ids=ap_ids, hosts=hosts)
    paths.cert.parent.mkdir(parents=True, exist_ok=True)
    paths.cert.write_bytes(issued.cert_pem)
    _write_private(paths.key, issued.key_pem)
    return paths


def agent_identity(cert_pem: bytes) -> AgentIdentity:
    """Read the agent name and AP ids from an agent certificate (raises PkiError if it names none)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise PkiError("the client certificate has no subjectAltName naming an agent") from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    names = [u.removeprefix(AGENT_URI_PREFIX) for u in uris if u.startswith(AGENT_URI_PREFIX)]
    if len(names) != 1:
        raise PkiError(f"the client certificate names {len(names)} agents; exactly one is required")
    aps = frozenset(u.removeprefix(AP_URI_PREFIX) for u in uris if u.startswith(AP_URI_PREFIX))
    return AgentIdentity(name=names[0], ap_ids=aps)
