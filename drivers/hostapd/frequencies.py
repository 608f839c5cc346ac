"""Frequencies to bands and channels, the inverse of :func:`radio_domain.regulatory.center_mhz` (pure).

hostapd and nl80211 speak MHz; the product speaks (band, channel). Ranges follow IEEE 802.11 Annex E:
2.4 GHz channels 1-14 (2412-2484 MHz), 5 GHz channels 32-177 (5160-5885 MHz), 6 GHz channels 1-233
(5955-7115 MHz) plus channel 2 at 5935 MHz.
"""

from __future__ import annotations

from radio_domain.radio import Band
from radio_domain.regulatory import center_mhz

# chan_width values in hostapd's DFS-* events (enum chan_width, src/drivers/driver.h) -> MHz.
HOSTAPD_CHAN_WIDTH_MHZ: dict[int, int] = {0: 20, 1: 20, 2: 40, 3: 80, 4: 160, 5: 160}


def band_of_frequency(freq_mhz: int) -> Band:
    """The band a frequency lies in; ValueError naming the frequency outside the Wi-Fi bands."""
    if 2412 <= freq_mhz <= 2484:
        return Band.G2
    if 5160 <= freq_mhz <= 5885:
        return Band.G5
    if freq_mhz == 5935 or 5955 <= freq_mhz <= 7115:
        return Band.G6
    raise ValueError(f"{freq_mhz} MHz is not in the 2.4, 5 or 6 GHz Wi-Fi bands")


def channel_of_frequency(freq_mhz: int) -> int:
    """The 20 MHz channel number centred on ``freq_mhz``; ValueError when no channel is centred there."""
    band = band_of_frequency(freq_mhz)
    if band is Band.G2:
        channel = 14 if freq_mhz == 2484 else (freq_mhz - 2407) // 5
        valid = channel == 14 or (channel <= 13 and (freq_mhz - 2407) % 5 == 0)
    elif band is Band.G5:
        channel = (freq_mhz - 5000) // 5
        valid = (freq_mhz - 5000) % 5 == 0
    elif freq_mhz == 5935:
        return 2
    else:
        channel = (freq_mhz - 5950) // 5
        valid = (freq_mhz - 5950) % 5 == 0 and channel % 4 == 1
    if not valid:
        raise ValueError(f"{freq_mhz} MHz is not the centre of a {band.value} channel")
    return channel


def frequency_of_channel(band: Band, channel: int) -> int:
    """Centre frequency in MHz of a 20 MHz channel (6 GHz channel 2 is the odd one at 5935 MHz)."""
    if band is Band.G6 and channel == 2:
        return 5935
    return int(center_mhz(band, channel))


def guess_band_from_channel(channel: int) -> Band | None:
    """The band a bare channel number most likely means, for hostapd without a radio (``freq=0``).

    Channels 1-14 are taken as 2.4 GHz and 32-177 as 5 GHz; a 6 GHz radio always reports its
    frequency, so the guess is only needed where no radio answers (``driver=none``).
    """
    if 1 <= channel <= 14:
        return Band.G2
    if 32 <= channel <= 177:
        return Band.G5
    return None


def occupied_channels(freq_mhz: int, width_mhz: int, center_freq1_mhz: int) -> tuple[int, ...]:
    """The 20 MHz channels a (primary freq, width, centre freq) channel definition covers.

    Without a centre frequency (``cf1=0``, as hostapd reports a bare 20 MHz definition) only the
    primary channel is known. ValueError when the centre does not fit the width and primary.
    """
    if center_freq1_mhz <= 0 or width_mhz <= 20:
        return (channel_of_frequency(freq_mhz),)
    centres = [center_freq1_mhz - width_mhz // 2 + 10 + 20 * k for k in range(width_mhz // 20)]
    if freq_mhz not in centres:
        raise ValueError(f"primary {freq_mhz} MHz is not inside {width_mhz} MHz around {center_freq1_mhz} MHz")
    return tuple(channel_of_frequency(c) for c in centres)
