"""The audit keys: created private, the public half beside them, bad files named."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from controller.audit_chain import (
    public_key_id,
)
from controller.audit_keys import (
    HMAC_KEY_FILE,
    PUBLIC_KEY_FILE,
    SIGNING_KEY_FILE,
    AuditKeyError,
    load_hmac_key,
    load_or_create_hmac_key,
    load_or_create_signing_key,
    load_public_key,
)
from rrm.sqlite_files import StateFileError

pytestmark = pytest.mark.unit


# ----------------------------------------------------------------------------- keys


def test_the_signing_key_is_created_private_with_its_public_key_beside_it(tmp_path: Path) -> None:
    """0600 PEM, reloaded as the same key; the .pub is what verification reads."""
    key = load_or_create_signing_key(tmp_path)
    assert stat.S_IMODE((tmp_path / SIGNING_KEY_FILE).stat().st_mode) == 0o600
    again = load_or_create_signing_key(tmp_path)
    assert public_key_id(again.public_key()) == public_key_id(key.public_key())
    public = load_public_key(tmp_path / PUBLIC_KEY_FILE)
    assert public_key_id(public) == public_key_id(key.public_key())


def test_the_hmac_key_is_32_private_bytes(tmp_path: Path) -> None:
    """Created on demand, 0600, and refused when it has another length."""
    key = load_or_create_hmac_key(tmp_path)
    assert len(key) == 32 and load_or_create_hmac_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / HMAC_KEY_FILE).stat().st_mode) == 0o600
    (tmp_path / HMAC_KEY_FILE).write_bytes(b"short")
    with pytest.raises(AuditKeyError, match=f"{HMAC_KEY_FILE}.*32 bytes"):
        load_hmac_key(tmp_path / HMAC_KEY_FILE)


def _ec_pem() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (SIGNING_KEY_FILE, b"not a key", "not a PEM private key"),
        (SIGNING_KEY_FILE, _ec_pem()[0], "must be Ed25519"),
    ],
)
def test_a_bad_signing_key_file_is_named(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    """Malformed or the wrong kind of key: an error naming the file, a StateFileError for the CLI."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(AuditKeyError, match=message) as error:
        load_or_create_signing_key(tmp_path)
    assert str(tmp_path / name) in str(error.value) and isinstance(error.value, StateFileError)


def test_a_bad_or_missing_public_key_file_is_named(tmp_path: Path) -> None:
    """Missing, not PEM, or not Ed25519."""
    path = tmp_path / PUBLIC_KEY_FILE
    with pytest.raises(AuditKeyError, match="no audit public key here"):
        load_public_key(path)
    path.write_bytes(b"junk")
    with pytest.raises(AuditKeyError, match="not a PEM public key"):
        load_public_key(path)
    path.write_bytes(_ec_pem()[1])
    with pytest.raises(AuditKeyError, match="must be Ed25519"):
        load_public_key(path)


def test_a_public_key_of_another_signing_key_is_refused(tmp_path: Path) -> None:
    """audit-signing.pub must belong to audit-signing.key."""
    load_or_create_signing_key(tmp_path)
    other = tmp_path / "other"
    load_or_create_signing_key(other)
    os.replace(other / PUBLIC_KEY_FILE, tmp_path / PUBLIC_KEY_FILE)
    with pytest.raises(AuditKeyError, match="does not belong to"):
        load_or_create_signing_key(tmp_path)


def test_no_temporary_key_files_are_left_behind(tmp_path: Path) -> None:
    """Keys are written through a temporary file and a link."""
    load_or_create_signing_key(tmp_path)
    load_or_create_hmac_key(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([SIGNING_KEY_FILE, PUBLIC_KEY_FILE, HMAC_KEY_FILE])
