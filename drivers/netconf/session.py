"""One NETCONF/SSH session to one AP: ncclient's blocking manager, run off the event loop.

Every RPC runs on the session's own single worker thread, so RPCs are serialised and a hung AP
blocks only its own driver. Notifications are taken from ncclient's queue by a second thread and
handed to the event loop with ``call_soon_threadsafe``. Failures come out typed (see failures.py).

Authentication is by key (``key_filename``; the password, if set, unlocks it) or by password; the
SSH agent and ~/.ssh keys are never tried, so what authenticates is what the target names. The
password is passed to paramiko only, never logged or put in a message.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from lxml import etree
from ncclient import manager as nc_manager
from ncclient import transport as nc_transport

from drivers.netconf.failures import HostKeyRefused, translate
from drivers.netconf.host_keys import HostKeyPolicy
from drivers.netconf.notifications import CAPABILITY_NOTIFICATION
from drivers.netconf.target import HostKeyCheck, NetconfTarget
from drivers.protocol import DriverUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Manager = Any  # ncclient.manager.Manager (untyped)
NOTIFICATION_POLL_S = 0.2
CLOSE_TIMEOUT_S = 2.0


class NetconfSession:
    """An open session. Create with :meth:`open`; ``close`` (or ``drop``) when done."""

    def __init__(self, target: NetconfTarget, manager: Manager, ssh: Any, executor: ThreadPoolExecutor) -> None:
        self.target = target
        self._manager = manager
        self._ssh = ssh
        self._executor = executor
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None

    @classmethod
    async def open(cls, target: NetconfTarget, subject: str) -> NetconfSession:
        """Connect and authenticate; DriverUnavailable naming ``subject`` when that fails."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"netconf {target.label}")
        loop = asyncio.get_running_loop()
        try:
            manager, ssh = await asyncio.wait_for(
                loop.run_in_executor(executor, _connect, target),
                timeout=target.connect_timeout_s + target.rpc_timeout_s,
            )
        except BaseException as exc:
            executor.shutdown(wait=False)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise translate(exc, subject, f"connect to {target.label}") from exc
        session = cls(target, manager, ssh, executor)
        log.info("NETCONF session %s to %s opened", session.session_id, target.label)
        return session

    @property
    def session_id(self) -> str:
        return str(self._manager.session_id)

    @property
    def connected(self) -> bool:
        return bool(self._manager.connected)

    def offers(self, capability: str) -> bool:
        """Whether the server's hello lists a capability starting with ``capability``."""
        return any(str(c).startswith(capability) for c in self._manager.server_capabilities)

    async def call(self, subject: str, operation: str, rpc: Callable[[Manager], T], *, change: bool = False) -> T:
        """Run ``rpc(manager)`` on the session thread; typed errors name ``subject`` and ``operation``."""
        if not self.connected:
            raise DriverUnavailable(subject, operation, f"the NETCONF session to {self.target.label} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, rpc, self._manager), timeout=self.target.rpc_timeout_s * 2
            )
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise translate(exc, subject, operation, change=change) from exc

    async def get(self, subject: str, operation: str, subtree: str, *, config_only: bool = False) -> etree._Element:
        """The ``<data>`` of a get (config and state) or a get-config of running, with a subtree filter."""
        if config_only:
            reply = await self.call(subject, operation, lambda m: m.get_config("running", filter=("subtree", subtree)))
        else:
            reply = await self.call(subject, operation, lambda m: m.get(filter=("subtree", subtree)))
        return reply.data_ele

    async def subscribe(self, deliver: Callable[[etree._Element], None], lost: Callable[[], None]) -> bool:
        """RFC 5277 create-subscription if offered; ``deliver`` then gets each notification on the loop.

        ``lost`` is called (on the loop) once when the session goes away. Returns False, doing
        nothing, when the server does not offer :notification.
        """
        if not self.offers(CAPABILITY_NOTIFICATION):
            return False
        await self.call(self.target.label, "create-subscription", lambda m: m.create_subscription())
        loop = asyncio.get_running_loop()
        self._pump = threading.Thread(
            target=self._pump_notifications, args=(loop, deliver, lost), name=f"netconf notify {self.target.label}"
        )
        self._pump.daemon = True
        self._pump.start()
        return True

    async def drop(self) -> None:
        """Close the transport without close-session (an AP rolls back an unconfirmed commit then)."""
        self._stop.set()
        await asyncio.to_thread(self._ssh.close)
        self._executor.shutdown(wait=False)

    async def close(self) -> None:
        """close-session (best effort, briefly), then drop."""
        if self.connected and not self._stop.is_set():
            loop = asyncio.get_running_loop()
            try:
                await asyncio.wait_for(
                    loop.run_in_executor(self._executor, self._manager.close_session), CLOSE_TIMEOUT_S
                )
            except Exception as exc:  # the session is going away either way
                log.debug("close-session to %s failed: %s", self.target.label, exc)
        await self.drop()

    def _pump_notifications(
        self, loop: asyncio.AbstractEventLoop, deliver: Callable[[etree._Element], None], lost: Callable[[], None]
    ) -> None:
        while not self._stop.is_set():
            notification = self._manager.take_notification(block=True, timeout=NOTIFICATION_POLL_S)
            if notification is not None:
                if not _post(loop, deliver, notification.notification_ele):
                    return
            elif not self.connected:
                break
        if not self._stop.is_set():
            _post(loop, lambda _: lost(), None)


def _post(loop: asyncio.AbstractEventLoop, fn: Callable[[Any], None], arg: Any) -> bool:
    try:
        loop.call_soon_threadsafe(fn, arg)
    except RuntimeError:  # the loop is closed: nobody is listening any more
        return False
    return True


def _connect(target: NetconfTarget) -> tuple[Manager, Any]:
    """Blocking: SSH + NETCONF hello, with our host key policy (see host_keys.py)."""
    handler = nc_manager.make_device_handler(None)
    ssh = nc_transport.SSHSession(handler)
    policy = HostKeyPolicy(target.host_key_check, target.host, target.port, target.known_hosts)
    try:
        if policy.verify and policy.file.exists():
            ssh.load_known_hosts(str(policy.file))
        try:
            ssh.connect(
                host=target.host,
                port=target.port,
                timeout=target.connect_timeout_s,
                unknown_host_cb=policy.unknown_host,
                username=target.username,
                password=target.password,
                key_filename=None if target.key_path is None else str(target.key_path),
                allow_agent=False,
                look_for_keys=False,
                hostkey_verify=policy.verify,
            )
        except nc_transport.SSHUnknownHostError:
            raise HostKeyRefused(policy.refused_reason) from None
        if policy.accepted_new and target.host_key_check is HostKeyCheck.ACCEPT_NEW:
            policy.record(ssh.transport.get_remote_server_key())
            log.warning("NETCONF %s: new host key accepted and recorded in %s", target.label, policy.file)
    except BaseException:
        if ssh.transport is not None:
            ssh.close()
        raise
    return nc_manager.Manager(ssh, handler, timeout=target.rpc_timeout_s), ssh
