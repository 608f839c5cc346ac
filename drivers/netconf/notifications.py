"""NETCONF notifications the driver understands (RFC 5277 envelope), parsed purely.

* RFC 6470 ``netconf-config-change`` (ietf-netconf-notifications): someone committed a change;
  ``changed-by`` names the session (or ``server`` when the device changed itself).
* Our radar notification. The OpenConfig Wi-Fi models have **no** notification statements, so an
  AP that pushes radar hits uses this small module of ours, advertised in its hello as
  :data:`RADAR_CAPABILITY`::

      module rrm-radar {
        namespace "urn:rrm:radar"; prefix rrm-radar;
        import openconfig-wifi-types { prefix oc-wifi-types; }
        notification radar-detected {
          description "The radio detected radar on channel and, if new-channel is present, has
                       already left it (802.11h channel switch).";
          leaf hostname { type string; }                       // access-point hostname
          leaf radio-id { type uint8; }                        // radio list key id
          leaf operating-frequency { type identityref { base oc-wifi-types:OPERATING_FREQUENCY; } }
          leaf channel { type uint8; }                         // where the radar was seen
          leaf new-channel { type uint8; }                     // where the AP moved (optional)
        }
      }

Other notifications (confirmed-commit events, session ends) parse to None.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from drivers.netconf.openconfig_names import (
    NOTIFICATION_NS,
    WIFI_TYPES_NS,
    WIFI_TYPES_PREFIX,
    OpenConfigReplyError,
)

RADAR_NS = "urn:rrm:radar"
RADAR_CAPABILITY = f"{RADAR_NS}?module=rrm-radar&revision=2026-12-01"
NETCONF_NOTIFICATIONS_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
CAPABILITY_NOTIFICATION = "urn:ietf:params:netconf:capability:notification:1.0"


@dataclass(frozen=True, slots=True)
class ConfigChangeNotice:
    """RFC 6470 netconf-config-change: who changed what (edit targets as XPath strings)."""

    session_id: str | None
    by_server: bool
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RadarNotice:
    """Our radar-detected notification."""

    hostname: str
    radio_index: int
    frequency: str | None
    channel: int
    new_channel: int | None


Notice = ConfigChangeNotice | RadarNotice


def parse_notification(root: etree._Element, source: str) -> Notice | None:
    """The notice in a ``<notification>``, None for kinds the driver does not use."""
    if etree.QName(root).text != f"{{{NOTIFICATION_NS}}}notification":
        raise OpenConfigReplyError(source, f"expected a <notification>, got <{etree.QName(root).localname}>")
    for body in root:
        if not isinstance(body.tag, str):
            continue
        name = etree.QName(body)
        if name.text == f"{{{NETCONF_NOTIFICATIONS_NS}}}netconf-config-change":
            return _config_change(body)
        if name.text == f"{{{RADAR_NS}}}radar-detected":
            return _radar(body, source)
    return None


def radar_notification(
    hostname: str, radio_index: int, frequency: str, channel: int, new_channel: int | None, event_time: str
) -> str:
    """The XML of a radar-detected notification (what an AP sends; the test AP uses it)."""
    root = etree.Element(f"{{{NOTIFICATION_NS}}}notification", nsmap={None: NOTIFICATION_NS})
    etree.SubElement(root, f"{{{NOTIFICATION_NS}}}eventTime").text = event_time
    body = etree.SubElement(root, f"{{{RADAR_NS}}}radar-detected", nsmap={None: RADAR_NS})
    etree.SubElement(body, f"{{{RADAR_NS}}}hostname").text = hostname
    etree.SubElement(body, f"{{{RADAR_NS}}}radio-id").text = str(radio_index)
    freq = etree.SubElement(body, f"{{{RADAR_NS}}}operating-frequency", nsmap={WIFI_TYPES_PREFIX: WIFI_TYPES_NS})
    freq.text = f"{WIFI_TYPES_PREFIX}:{frequency}"
    etree.SubElement(body, f"{{{RADAR_NS}}}channel").text = str(channel)
    if new_channel is not None:
        etree.SubElement(body, f"{{{RADAR_NS}}}new-channel").text = str(new_channel)
    return str(etree.tostring(root, encoding="unicode"))


def _config_change(body: etree._Element) -> ConfigChangeNotice:
    ns = f"{{{NETCONF_NOTIFICATIONS_NS}}}"
    changed_by = body.find(f"{ns}changed-by")
    session_id = None if changed_by is None else changed_by.findtext(f"{ns}session-id")
    by_server = changed_by is not None and changed_by.find(f"{ns}server") is not None
    targets = tuple((t.text or "").strip() for t in body.iterfind(f"{ns}edit/{ns}target"))
    return ConfigChangeNotice(session_id=session_id and session_id.strip(), by_server=by_server, targets=targets)


def _radar(body: etree._Element, source: str) -> RadarNotice:
    ns = f"{{{RADAR_NS}}}"

    def number(name: str) -> int | None:
        text = body.findtext(f"{ns}{name}")
        if text is None:
            return None
        try:
            return int(text.strip())
        except ValueError:
            raise OpenConfigReplyError(source, f"radar-detected {name} is {text!r}, not an integer") from None

    def required(name: str) -> int:
        value = number(name)
        if value is None:
            raise OpenConfigReplyError(source, f"radar-detected lacks {name}")
        return value

    hostname = (body.findtext(f"{ns}hostname") or "").strip()
    if not hostname:
        raise OpenConfigReplyError(source, "radar-detected lacks hostname")
    frequency = body.findtext(f"{ns}operating-frequency")
    return RadarNotice(
        hostname=hostname,
        radio_index=required("radio-id"),
        frequency=None if frequency is None else frequency.strip().rpartition(":")[2],
        channel=required("channel"),
        new_channel=number("new-channel"),
    )
