"""What a bench needs of the rig agent it drives: requests (`call`) and the event streams it sends back.

Two carriers speak the same JSON-lines protocol to the same stdlib agent (`guest_agent`): the QEMU
guest's virtio-serial port (`guest.Guest`) and an SSH session to a lab host (`lab_ssh.SshRigAgent`).
Control-socket clients (`hwsim_ap.CtrlClient`) work over either.
"""

from __future__ import annotations

from typing import Any, Protocol

from hil_tests.rig.agent_client import CommandResult, EventLog


class RigChannel(Protocol):
    events: EventLog

    def call(self, op: str, within: float = 30.0, **args: object) -> Any: ...

    def run(self, sh: str, timeout: float = 30.0) -> CommandResult: ...

    def alive(self) -> bool: ...
