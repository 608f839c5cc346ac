"""The audit trail's keys, kept in the controller's state directory.

Layout (``rrm audit`` looks for them in ``<state-dir>/controller/``)::

    audit-signing.key   Ed25519 private key, PEM (PKCS#8), mode 0600; created when missing
    audit-signing.pub   its public key, PEM (SubjectPublicKeyInfo): what auditors get
    audit-hmac.key      32 random bytes, mode 0600; only when the per-record HMAC mode is on

Verifying the trail needs only ``audit-signing.pub``. The HMAC key is a secret like the signing
key: whoever holds it can forge HMACs, so auditors without it see HMACs reported as unchecked.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rrm.sqlite_files import StateFileError

log = logging.getLogger(__name__)

SIGNING_KEY_FILE = "audit-signing.key"
PUBLIC_KEY_FILE = "audit-signing.pub"
HMAC_KEY_FILE = "audit-hmac.key"
HMAC_KEY_BYTES = 32


class AuditKeyError(StateFileError):
    """An audit key file is missing, unreadable or malformed; the message names the file."""


def load_or_create_signing_key(state_dir: Path) -> Ed25519PrivateKey:
    """The controller's signing key from ``state_dir``, created (with its .pub) when missing."""
    path = state_dir / SIGNING_KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _create_private(path, pem)
    key = load_signing_key(path)
    _write_or_check_public(state_dir / PUBLIC_KEY_FILE, key.public_key())
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key (PEM); AuditKeyError names the file when that fails."""
    data = _read(path, "audit signing key")
    _warn_if_readable_by_others(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path}: not a PEM private key without a password: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path}: the audit signing key must be Ed25519, not {type(key).__name__}")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read the Ed25519 public key auditors verify with (PEM); AuditKeyError names the file."""
    data = _read(path, "audit public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{path}: the audit public key must be Ed25519, not {type(key).__name__}")
    return key


def load_or_create_hmac_key(state_dir: Path) -> bytes:
    """The per-record HMAC key from ``state_dir``, created (32 random bytes, 0600) when missing."""
    path = state_dir / HMAC_KEY_FILE
    if not path.exists():
        _create_private(path, secrets.token_bytes(HMAC_KEY_BYTES))
    return load_hmac_key(path)


def load_hmac_key(path: Path) -> bytes:
    """Read an HMAC key file (exactly 32 bytes); AuditKeyError names the file."""
    data = _read(path, "audit HMAC key")
    _warn_if_readable_by_others(path)
    if len(data) != HMAC_KEY_BYTES:
        raise AuditKeyError(f"{path}: an audit HMAC key is {HMAC_KEY_BYTES} bytes, this file has {len(data)}")
    return data


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AuditKeyError(f"{path}: no {what} here") from None
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _create_private(path: Path, data: bytes) -> None:
    """Write a secret with mode 0600, atomically; keeps the file another process created first."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            log.info("%s was created by another process; using it", path)
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot create the key file: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _write_or_check_public(path: Path, key: Ed25519PublicKey) -> None:
    if path.exists():
        if _raw(load_public_key(path)) != _raw(key):
            raise AuditKeyError(f"{path}: this public key does not belong to {path.with_name(SIGNING_KEY_FILE)}")
        return
    try:
        path.write_bytes(public_key_pem(key))
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot write the public key: {exc.strerror or exc}") from None


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _warn_if_readable_by_others(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users (mode %o); it should be 0600", path, stat.S_IMODE(mode))
