"""SSH host key checking for NETCONF sessions: strict, accept-new (trust on first use) or insecure.

ncclient checks the server key against its loaded known_hosts and, for a key it does not know,
asks ``unknown_host_cb(host, fingerprint)``. Strict answers no. Accept-new answers yes only when
the known_hosts file has **no** entry for the host (a new host), and the key is recorded after the
connection, like OpenSSH's ``StrictHostKeyChecking=accept-new``; a host whose key changed is
refused. Entries are ``host`` on port 22 and ``[host]:port`` otherwise (OpenSSH's spelling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from drivers.netconf.target import HostKeyCheck

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def known_hosts_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


@dataclass
class HostKeyPolicy:
    """The callback ncclient calls for an unknown key, and the record of what it decided."""

    check: HostKeyCheck
    host: str
    port: int
    known_hosts: Path | None
    refused_reason: str = ""
    accepted_new: bool = field(default=False)

    @property
    def verify(self) -> bool:
        return self.check is not HostKeyCheck.INSECURE

    @property
    def file(self) -> Path:
        return (self.known_hosts or DEFAULT_KNOWN_HOSTS).expanduser()

    def unknown_host(self, host: str, fingerprint: str) -> bool:
        """ncclient's ``unknown_host_cb``: may this unknown key be used?"""
        if self.check is HostKeyCheck.ACCEPT_NEW and not self._has_entry():
            self.accepted_new = True
            return True
        if self._has_entry():
            self.refused_reason = (
                f"the host key of {host} (fingerprint {fingerprint}) does not match the one in {self.file}; "
                "it changed, or someone is in the middle"
            )
        else:
            self.refused_reason = (
                f"the host key of {host} (fingerprint {fingerprint}) is not in {self.file}; "
                "add it (ssh-keyscan) or use hostkey=accept-new"
            )
        return False

    def record(self, key: paramiko.PKey) -> None:
        """Append a newly accepted key to the known_hosts file."""
        keys = paramiko.HostKeys()
        if self.file.exists():
            keys.load(str(self.file))
        keys.add(known_hosts_entry(self.host, self.port), key.get_name(), key)
        self.file.parent.mkdir(parents=True, exist_ok=True)
        keys.save(str(self.file))

    def _has_entry(self) -> bool:
        if not self.file.exists():
            return False
        keys = paramiko.HostKeys(str(self.file))
        return any(keys.lookup(name) for name in (self.host, known_hosts_entry(self.host, self.port)))
