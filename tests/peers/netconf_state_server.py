"""An OpenConfig AP that serves operational state and pushes radar, on the PyPI ``netconf`` server.

netconfd has no ``config false`` data without C code, so this small server plays the AP whose
telemetry and radar the driver reads. It behaves like an AP, not like a recorder of calls:

* running and candidate are lxml trees; edit-config merges into candidate and validates like
  the YANG (channel 1..233, transmit-power int8) plus what a radio accepts (widths 20..320);
* commit copies candidate to running; the AP then clamps transmit-power to its
  allowed-max-txpower, as real APs do. ``<confirmed/>`` starts a rollback timer; a plain commit from
  the same session confirms; the committing session ending first rolls back at once (RFC 6241 8.4);
* get adds each radio's ``state`` (the operating channel, utilisation, noise floor, counters,
  dfs-hit-time, channel-change-reason) and its neighbours;
* :meth:`AccessPoint.radar` is a radar hit: the radio leaves the channel, dfs-hit-time and
  channel-change-reason=DFS are set, then subscribers get our radar-detected notification
  (drivers/netconf/notifications.py) and an RFC 6470 config change made by the server.

Workarounds for netconf 2.1.0 (../shared/facts/southbound.md 1b): lock/unlock return <ok/>; our
namespaces are registered in ``netconf.NSMAP``; ncclient's plain ``type``/``select`` filter
attributes are copied to the ``nc:`` ones the library reads; a bare top-level subtree selector is
answered directly; the library's ERROR-level lock logging is silenced. It binds ``::`` (all
interfaces), which is why tests only ever give it a throwaway password. Sends to a subscribed
session are serialised so a notification never interleaves with a reply.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import netconf
import paramiko
from lxml import etree
from netconf import error as ncerror
from netconf import server, util

from drivers.netconf.notifications import (
    CAPABILITY_NOTIFICATION,
    NETCONF_NOTIFICATIONS_NS,
    RADAR_CAPABILITY,
    radar_notification,
)
from drivers.netconf.openconfig_names import AP_NS, NC_NS, NOTIFICATION_NS, WIFI_TYPES_NS
from tests.peers.netconfd_peer import DEFAULT_RADIOS, SeedRadio, seed_config

netconf.nsmap_update({"access-points": AP_NS, "oc-wifi-types": WIFI_TYPES_NS})
logging.getLogger("netconf.server").setLevel(logging.CRITICAL)

A = f"{{{AP_NS}}}"
USER, PASSWORD = "admin", "lab-only-password"
BASE_CAPABILITIES = (
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    f"{AP_NS}?module=openconfig-access-points&revision=2023-06-26",
)
LIST_KEYS = {"access-point": ("hostname",), "radio": ("id", "operating-frequency"), "provision-ap": ("mac",)}


@dataclass
class Air:
    """What one radio measures on air (percentages, dBm), and its regulatory ceiling."""

    total: int = 42
    rx_dot11: int = 20
    rx_noise: int = 7
    tx: int = 15
    obss_rx: int = 12
    noise_floor: int = -91
    failed_fcs: int = 1234
    max_txpower: int = 23
    dfs_hit_ns: int | None = None
    change_reason: str | None = None
    neighbors: list[tuple[str, int, int]] = field(default_factory=lambda: [("02:aa:bb:cc:dd:01", -67, 36)])


class AccessPoint:
    """The AP's datastores and radios; every method takes the lock (server threads call in)."""

    def __init__(self, hostname: str, radios: tuple[SeedRadio, ...], notifications: bool) -> None:
        self.hostname = hostname
        self.notifications = notifications
        self.air = {r.radio_index: Air() for r in radios}
        self.running = _as_data(etree.fromstring(seed_config(hostname, radios)))
        self.candidate = copy.deepcopy(self.running)
        self.subscribers: list[Any] = []
        self._pending: tuple[Any, etree._Element, threading.Timer] | None = None
        self._lock = threading.RLock()

    def data(self, source: str, with_state: bool) -> etree._Element:
        with self._lock:
            data = copy.deepcopy(self.candidate if source == "candidate" else self.running)
            if with_state:
                for radio in data.iterfind(f".//{A}radio"):
                    self._add_state(radio)
            return data

    def edit(self, rpc: etree._Element, config: etree._Element) -> None:
        with self._lock:
            edited = copy.deepcopy(self.candidate)
            _merge(edited, config)
            _validate(rpc, edited)
            self.candidate = edited

    def commit(self, session: Any, confirmed: bool, timeout_s: float) -> None:
        with self._lock:
            if self._pending is not None and self._pending[0] is session:
                self._pending[2].cancel()  # a commit from the same session confirms (or extends)
                backup = self._pending[1]
                self._pending = None
            else:
                backup = copy.deepcopy(self.running)
            self.running = copy.deepcopy(self.candidate)
            self._clamp_power()
            if confirmed:
                timer = threading.Timer(timeout_s, self._roll_back, args=(session,))
                timer.daemon = True
                self._pending = (session, backup, timer)
                timer.start()
            self._notify_config_change(str(session.session_id))

    def discard(self) -> None:
        with self._lock:
            self.candidate = copy.deepcopy(self.running)

    def session_ended(self, session: Any) -> None:
        self._roll_back(session)
        with self._lock:
            self.subscribers = [s for s in self.subscribers if s is not session]

    def radar(self, radio_index: int, new_channel: int, notify: bool = True) -> int:
        """A radar hit on the radio's channel: it moves; returns the channel the radar was on."""
        with self._lock:
            radar_channel = 0
            for tree in (self.running, self.candidate):
                leaf = self._radio(tree, radio_index).find(f"{A}config/{A}channel")
                radar_channel = int(leaf.text)
                leaf.text = str(new_channel)
            air = self.air[radio_index]
            air.dfs_hit_ns, air.change_reason = time.time_ns(), "DFS"
            if notify:
                freq = self._radio(self.running, radio_index).findtext(f"{A}operating-frequency").split(":")[-1]
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                self._send(radar_notification(self.hostname, radio_index, freq, radar_channel, new_channel, stamp))
                self._notify_config_change(None)
            return radar_channel

    def running_leaf(self, radio_index: int, leaf: str) -> str | None:
        with self._lock:
            return str(self._radio(self.running, radio_index).findtext(f"{A}config/{A}{leaf}"))

    def _roll_back(self, session: Any) -> None:
        with self._lock:
            if self._pending is None or self._pending[0] is not session:
                return
            _, backup, timer = self._pending
            timer.cancel()
            self._pending = None
            self.running = backup
            self.candidate = copy.deepcopy(backup)

    def _clamp_power(self) -> None:
        for index, air in self.air.items():
            leaf = self._radio(self.running, index).find(f"{A}config/{A}transmit-power")
            if leaf is not None and int(leaf.text) > air.max_txpower:
                leaf.text = str(air.max_txpower)

    def _radio(self, tree: etree._Element, radio_index: int) -> etree._Element:
        return next(r for r in tree.iterfind(f".//{A}radio") if r.findtext(f"{A}id") == str(radio_index))

    def _add_state(self, radio: etree._Element) -> None:
        air = self.air[int(radio.findtext(f"{A}id"))]
        state = copy.deepcopy(radio.find(f"{A}config"))
        state.tag = f"{A}state"
        leaves = {
            "total-channel-utilization": air.total,
            "rx-dot11-channel-utilization": air.rx_dot11,
            "rx-noise-channel-utilization": air.rx_noise,
            "tx-dot11-channel-utilization": air.tx,
            "obss-rx": air.obss_rx,
            "allowed-max-txpower": air.max_txpower,
            "dfs-hit-time": air.dfs_hit_ns,
        }
        for name, value in leaves.items():
            if value is not None:
                etree.SubElement(state, f"{A}{name}").text = str(value)
        if air.change_reason is not None:
            reason = etree.SubElement(state, f"{A}channel-change-reason", nsmap={"oc-wifi-types": WIFI_TYPES_NS})
            reason.text = f"oc-wifi-types:{air.change_reason}"
        counters = etree.SubElement(state, f"{A}counters")
        etree.SubElement(counters, f"{A}failed-fcs-frames").text = str(air.failed_fcs)
        etree.SubElement(counters, f"{A}noise-floor").text = str(air.noise_floor)
        radio.append(state)
        neighbors = etree.SubElement(radio, f"{A}neighbors")
        for bssid, rssi, channel in air.neighbors:
            entry = etree.SubElement(neighbors, f"{A}neighbor")
            etree.SubElement(entry, f"{A}bssid").text = bssid
            values = etree.SubElement(entry, f"{A}state")
            for leaf, text in (("bssid", bssid), ("rssi", rssi), ("channel", channel)):
                etree.SubElement(values, f"{A}{leaf}").text = str(text)

    def _notify_config_change(self, session_id: str | None) -> None:
        ns = NETCONF_NOTIFICATIONS_NS
        root = etree.Element(f"{{{NOTIFICATION_NS}}}notification", nsmap={None: NOTIFICATION_NS})
        etree.SubElement(root, f"{{{NOTIFICATION_NS}}}eventTime").text = time.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = etree.SubElement(root, f"{{{ns}}}netconf-config-change", nsmap={None: ns})
        by = etree.SubElement(body, f"{{{ns}}}changed-by")
        if session_id is None:
            etree.SubElement(by, f"{{{ns}}}server")
        else:
            etree.SubElement(by, f"{{{ns}}}session-id").text = session_id
        edit = etree.SubElement(body, f"{{{ns}}}edit")
        etree.SubElement(edit, f"{{{ns}}}target").text = "/access-points:access-points"
        self._send(etree.tostring(root, encoding="unicode"))

    def _send(self, xml: str) -> None:
        if self.notifications:
            for session in list(self.subscribers):
                session.send_message(xml)


class APMethods:
    """The rpc_* methods the netconf library calls (duck-typed NetconfMethods)."""

    def __init__(self, ap: AccessPoint) -> None:
        self.ap = ap

    def nc_append_capabilities(self, capabilities: etree._Element) -> None:
        extra = (CAPABILITY_NOTIFICATION, RADAR_CAPABILITY) if self.ap.notifications else ()
        for uri in (*BASE_CAPABILITIES, *extra):
            util.subelm(capabilities, "capability").text = uri

    def rpc_get(self, session: Any, rpc: etree._Element, filter_or_none: Any) -> etree._Element:
        return _filtered(rpc, self.ap.data("running", with_state=True), filter_or_none)

    def rpc_get_config(self, session: Any, rpc: etree._Element, source: Any, filter_or_none: Any) -> etree._Element:
        return _filtered(rpc, self.ap.data(etree.QName(source[0]).localname, with_state=False), filter_or_none)

    def rpc_edit_config(self, session: Any, rpc: etree._Element, *params: Any) -> etree._Element:
        method = rpc[0]
        if method.find(f"{{{NC_NS}}}target/{{{NC_NS}}}candidate") is None:
            raise ncerror.OperationNotSupportedProtoError(rpc, message="this AP edits the candidate only")
        self.ap.edit(rpc, method.find(f"{{{NC_NS}}}config"))
        return util.elm("nc:ok")

    def rpc_commit(self, session: Any, rpc: etree._Element, *params: Any) -> etree._Element:
        method = rpc[0]
        timeout = float(method.findtext(f"{{{NC_NS}}}confirm-timeout") or 600)
        self.ap.commit(session, method.find(f"{{{NC_NS}}}confirmed") is not None, timeout)
        return util.elm("nc:ok")

    def rpc_discard_changes(self, session: Any, rpc: etree._Element, *params: Any) -> etree._Element:
        self.ap.discard()
        return util.elm("nc:ok")

    def rpc_lock(self, session: Any, rpc: etree._Element, target: str) -> etree._Element:
        return util.elm("nc:ok")

    def rpc_unlock(self, session: Any, rpc: etree._Element | None, target: str) -> etree._Element:
        if rpc is None:  # the library tells us the session closed while holding the lock
            self.ap.session_ended(session)
        return util.elm("nc:ok")

    def rpc_create_subscription(self, session: Any, rpc: etree._Element, *params: Any) -> etree._Element:
        if not self.ap.notifications:
            raise ncerror.OperationNotSupportedProtoError(rpc)
        lock, send = threading.Lock(), session.send_message

        def serialised_send(msg: str) -> None:
            with lock:
                send(msg)

        session.send_message = serialised_send
        self.ap.subscribers.append(session)
        return util.elm("nc:ok")


class StateServer:
    """The AP on an ephemeral port with password authentication."""

    def __init__(self, workdir: Path, hostname: str, notifications: bool = True) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        host_key = workdir / "state_server_host_key"
        paramiko.ECDSAKey.generate().write_private_key_file(str(host_key))
        self.ap = AccessPoint(hostname, (*DEFAULT_RADIOS[:1], SeedRadio(1, "FREQ_5GHZ", 52, 80, 20)), notifications)
        self._server = server.NetconfSSHServer(
            server_ctl=server.SSHUserPassController(username=USER, password=PASSWORD),
            server_methods=APMethods(self.ap),
            port=0,
            host_key=str(host_key),
        )
        self.port = int(self._server.port)
        self._stopped = False

    def url(self, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"hostkey": "insecure", **options}.items())
        return f"netconf://{USER}@127.0.0.1:{self.port}?{query}"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.close()
        self._server.thread.join(timeout=5)
        self._server.close_wsocket.close()  # the library closes only its read end


def _as_data(config: etree._Element) -> etree._Element:
    config.tag = f"{{{NC_NS}}}data"
    return config


def _filtered(rpc: etree._Element, data: etree._Element, filter_elm: Any) -> etree._Element:
    if filter_elm is None:
        return data
    for name in ("type", "select"):  # ncclient sends them without the nc: namespace
        if name in filter_elm.attrib:
            filter_elm.attrib[f"{{{NC_NS}}}{name}"] = filter_elm.attrib[name]
    top = list(filter_elm)
    if len(top) == 1 and len(top[0]) == 0 and not (top[0].text or "").strip():  # bare selector: XPath ""
        for node in list(data):
            if node.tag != top[0].tag:
                data.remove(node)
        return data
    return util.filter_results(rpc, data, filter_elm)


def _merge(target: etree._Element, source: etree._Element) -> None:
    for node in source:
        if not isinstance(node.tag, str):
            continue
        match = next((t for t in target if _same_entry(t, node)), None)
        if match is None:
            target.append(copy.deepcopy(node))
        elif len(node) == 0:
            match.text = node.text
        else:
            _merge(match, node)


def _same_entry(a: etree._Element, b: etree._Element) -> bool:
    if a.tag != b.tag:
        return False
    keys = LIST_KEYS.get(etree.QName(b).localname, ())
    return all(
        (a.findtext(f"{{*}}{k}") or "").split(":")[-1] == (b.findtext(f"{{*}}{k}") or "").split(":")[-1] for k in keys
    )


def _validate(rpc: etree._Element, data: etree._Element) -> None:
    rules = {"channel": (1, 233), "transmit-power": (-128, 127), "channel-bandwidth": (20, 320)}
    for name, (low, high) in rules.items():
        for leaf in data.iterfind(f".//{A}radio/{A}config/{A}{name}"):
            text = (leaf.text or "").strip()
            ok = text.lstrip("-").isdigit() and low <= int(text) <= high
            if ok and name == "channel-bandwidth":
                ok = int(text) in (20, 40, 80, 160, 320)
            if not ok:
                raise ncerror.InvalidValueAppError(
                    rpc,
                    message=f"{name} {text!r} is not accepted by this radio",
                    path=f"/access-points/.../config/{name}",
                )
