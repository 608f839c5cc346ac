"""Where and how to reach one OpenConfig AP over NETCONF/SSH (built by ``url.parse_netconf_url``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class HostKeyCheck(StrEnum):
    STRICT = "strict"
    ACCEPT_NEW = "accept-new"
    INSECURE = "insecure"


@dataclass(frozen=True, slots=True)
class NetconfTarget:
    """Where and how to reach one OpenConfig AP. The password never appears in repr."""

    host: str
    port: int
    username: str
    hostname: str | None = None
    ap_id: str | None = None
    key_path: Path | None = None
    password: str | None = field(default=None, repr=False)
    host_key_check: HostKeyCheck = HostKeyCheck.STRICT
    known_hosts: Path | None = None
    connect_timeout_s: float = 10.0
    rpc_timeout_s: float = 30.0
    confirm_timeout_s: int = 30
    settle_s: float = 0.0

    @property
    def label(self) -> str:
        """``user@host:port``, for messages and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.username}@{host}:{self.port}"
