"""Spectral-scan captures from Atheros radios: decoding and non-Wi-Fi interference classification.

``ath_samples`` decodes the ath9k/ath10k debugfs ``spectral_scan0`` dumps into ``SpectralSample``s
(frequency and power per FFT bin); ``interference`` classifies a run of samples (duty cycle,
occupied bandwidth, persistence) and turns a non-Wi-Fi verdict into a ``NON_WIFI_BURST`` event.
Everything here is pure: bytes or samples in, values out; reading the file is the only I/O.
"""

from __future__ import annotations

from drivers.spectral.ath_samples import decode_capture, read_capture
from drivers.spectral.errors import SpectralCaptureError
from drivers.spectral.sample import SampleFormat, SpectralSample

__all__ = ["SampleFormat", "SpectralCaptureError", "SpectralSample", "decode_capture", "read_capture"]
