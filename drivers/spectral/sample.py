"""One decoded spectral-scan sample: when, where, and the power in each FFT bin."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SampleFormat(StrEnum):
    """The on-disk sample type (``enum ath_fft_sample_type`` in the kernel's spectral_common.h)."""

    HT20 = "ht20"  # ath9k, 56 bins over a 20 MHz channel
    HT20_40 = "ht20_40"  # ath9k, 128 bins over a 40 MHz channel (lower and upper half)
    ATH10K = "ath10k"  # ath10k, 64/128/256 bins over 20/40/80 MHz


@dataclass(frozen=True, slots=True)
class SpectralSample:
    """One FFT report as the driver wrote it, with the power per bin worked out.

    Attributes:
        format: which sample type it was.
        offset: byte offset of its TLV in the capture (for messages and cross-checks).
        tsf: the radio's TSF timer when the FFT ran, µs. It restarts when the radio retunes, so it
            only orders samples taken on one channel in one dwell.
        central_freq: the frequency field as the driver reported it, MHz: the tuned (control)
            channel for ath9k, ``freq1`` (the centre of the analysed span) for ath10k. The same
            value FFT_eval prints as ``central_freq``.
        rssi: signal above the noise floor, dB, as reported (the lower half's for HT20/40).
        noise: the noise floor, dBm, as reported (the lower half's for HT20/40).
        freqs_mhz: the centre frequency of each bin, ascending.
        power_dbm: the power in each bin, dBm (see ``bin_power``).
    """

    format: SampleFormat
    offset: int
    tsf: int
    central_freq: int
    rssi: int
    noise: int
    freqs_mhz: tuple[float, ...]
    power_dbm: tuple[float, ...]

    @property
    def bins(self) -> list[tuple[float, float]]:
        """(frequency MHz, power dBm) per bin."""
        return list(zip(self.freqs_mhz, self.power_dbm, strict=True))
