"""Which access point and which radios a NETCONF driver manages (pure; the driver does the reads).

One driver manages one ``access-point`` list entry. Without ``?hostname=`` the server must hold
exactly one; otherwise the error lists those it holds. Radios become ``<ap_id>/<band>`` (one per
band; see radio_translation.select_radios). A radio reports radar when the AP pushes our radar
notification or serves ``state`` (then ``dfs-hit-time`` is polled), and only on 5 GHz, the one
band with DFS channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drivers.netconf.openconfig_xml import OcRadio, RadioKey
from drivers.netconf.radio_translation import radio_capabilities, select_radios
from drivers.protocol import RadioInfo
from radio_domain.radio import Band, make_radio_id


@dataclass(frozen=True, slots=True)
class ManagedRadio:
    info: RadioInfo
    key: RadioKey

    @property
    def radio_id(self) -> str:
        return self.info.radio_id


def choose_hostname(hostnames: Sequence[str], wanted: str | None, server: str) -> str:
    """The access point to manage; ValueError naming the server and the hostnames it has."""
    listed = ", ".join(repr(h) for h in hostnames) or "none"
    if wanted is not None:
        if wanted not in hostnames:
            raise ValueError(f"NETCONF server {server} has no access point {wanted!r}; it has: {listed}")
        return wanted
    if len(hostnames) != 1:
        problem = "holds no access-point entries" if not hostnames else f"holds several access points ({listed})"
        raise ValueError(f"NETCONF server {server} {problem}; name one with ?hostname=")
    return hostnames[0]


def managed_radios(
    radios: tuple[OcRadio, ...], ap_id: str, *, pushes_radar: bool
) -> tuple[tuple[ManagedRadio, ...], tuple[str, ...]]:
    """The radios to manage, and a line for each radio left out."""
    selection = select_radios(radios)
    managed = []
    for band, radio in sorted(selection.by_band.items(), key=lambda item: item[1].key.radio_index):
        radar = band is Band.G5 and (pushes_radar or radio.state is not None)
        info = RadioInfo(
            radio_id=make_radio_id(ap_id, band),
            ap_id=ap_id,
            band=band,
            capabilities=radio_capabilities(radio, band, reports_radar=radar),
        )
        managed.append(ManagedRadio(info=info, key=radio.key))
    return tuple(managed), selection.skipped
