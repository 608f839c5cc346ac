"""The PKI: certificates say who an agent is and which APs it may speak for."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from rrm.pki import CertificateAuthority, CertKind, PkiError, agent_identity, init_pki, issue_to_folder

pytestmark = pytest.mark.unit


def test_agent_certificate_names_the_agent_and_its_aps() -> None:
    ca = CertificateAuthority.create()
    issued = ca.issue(CertKind.AGENT, "edge-7", ap_ids=["ap-1", "ap-2"])
    identity = agent_identity(issued.cert_pem)
    assert identity.name == "edge-7"
    assert identity.ap_ids == frozenset({"ap-1", "ap-2"})


def test_agent_certificate_defaults_to_its_own_name_as_ap() -> None:
    issued = CertificateAuthority.create().issue(CertKind.AGENT, "ap-9")
    assert agent_identity(issued.cert_pem).ap_ids == frozenset({"ap-9"})


def test_controller_certificate_is_a_server_certificate_for_its_hosts() -> None:
    issued = CertificateAuthority.create().issue(CertKind.CONTROLLER, "ctl", hosts=["rrm.example.net", "10.0.0.5"])
    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["rrm.example.net"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    with pytest.raises(PkiError, match="names 0 agents"):
        agent_identity(issued.cert_pem)


def test_folder_layout_and_private_key_modes(tmp_path: Path) -> None:
    init_pki(tmp_path)
    paths = issue_to_folder(tmp_path, CertKind.AGENT, "ap-1")
    assert paths.cert == tmp_path / "agents" / "ap-1.crt"
    for key in (tmp_path / "ca.key", paths.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_existing_material_is_not_replaced_silently(tmp_path: Path) -> None:
    init_pki(tmp_path)
    with pytest.raises(PkiError, match="already exists"):
        init_pki(tmp_path)
    issue_to_folder(tmp_path, CertKind.AGENT, "ap-1")
    with pytest.raises(PkiError, match="--force"):
        issue_to_folder(tmp_path, CertKind.AGENT, "ap-1")


def test_issuing_without_a_ca_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="rrm pki init"):
        issue_to_folder(tmp_path / "nowhere", CertKind.AGENT, "ap-1")


def test_bad_names_are_refused() -> None:
    with pytest.raises(PkiError, match="without '/'"):
        CertificateAuthority.create().issue(CertKind.AGENT, "../x")
