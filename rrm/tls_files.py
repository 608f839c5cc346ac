"""Where TLS material lives and how it is read, without loading the crypto library.

Agents only read their files; issuing and parsing certificates (rrm/pki.py) is for the
controller and operators. Layout of a PKI folder::

    ca.crt  ca.key                      the CA (keep ca.key offline in production)
    controllers/<name>.crt  .key        server certificates
    agents/<name>.crt  .key             client certificates
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class PkiError(Exception):
    """A PKI folder or certificate is missing, unreadable or unsuitable; the message names the file."""


class CertKind(StrEnum):
    CONTROLLER = "controller"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class CertPaths:
    cert: Path
    key: Path
    ca: Path

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(certificate chain PEM, private key PEM, CA PEM)."""
        try:
            return self.cert.read_bytes(), self.key.read_bytes(), self.ca.read_bytes()
        except OSError as exc:
            raise PkiError(f"cannot read TLS material: {exc}") from None


def leaf_paths(folder: Path, kind: CertKind, name: str) -> CertPaths:
    sub = folder / ("controllers" if kind is CertKind.CONTROLLER else "agents")
    return CertPaths(cert=sub / f"{name}.crt", key=sub / f"{name}.key", ca=folder / "ca.crt")
