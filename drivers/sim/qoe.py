"""Per-client quality of experience in [0, 1], per traffic class (rf-model.md section 8).

    * best effort: min(1, T/D) × a latency factor that is 1 up to 100 ms and falls linearly to
      0.5 at 500 ms (0.5 beyond).
    * video (modelled as real-time video, the demanding case): clip((T/T_req − 0.5)/0.5, 0, 1)
      × f_loss (1 below 1 % loss, linear to 0 at 5 %) × f_delay (1 below 150 ms one-way, linear
      to 0 at 400 ms), after ITU-T G.1010's categories as quoted in rf-model 8.
    * voice: simplified ITU-T G.107 E-model: R = 93.2 − I_d − I_e,eff with G.711 + packet loss
      concealment (I_e = 0, Bpl = 25.1, random loss), mouth-to-ear delay = network delay + 60 ms
      (40 ms jitter buffer, 20 ms packetisation); MOS from R (G.107 Annex B); QoE = (MOS − 1)/3.5.

A client that is not associated has QoE 0; callers pass ``associated`` for that.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

VOICE_CODEC_DELAY_MS = 60.0
_G711_IE = 0.0
_G711_PLC_BPL = 25.1


class TrafficCode(IntEnum):
    """Traffic classes as array codes (scenario spelling: best_effort, video, voice)."""

    BEST_EFFORT = 0
    VIDEO = 1
    VOICE = 2


def _ramp_down(value: FloatArray, start: float, stop: float, low: float = 0.0) -> FloatArray:
    """1 below ``start``, linear to ``low`` at ``stop``, ``low`` beyond."""
    frac = np.clip((value - start) / (stop - start), 0.0, 1.0)
    return np.asarray(1.0 - frac * (1.0 - low), dtype=np.float64)


def best_effort_qoe(throughput_mbps: FloatArray, demand_mbps: FloatArray, latency_ms: FloatArray) -> FloatArray:
    """min(1, T/D) × latency factor (rf-model 8, best effort)."""
    ratio = np.where(demand_mbps > 0, throughput_mbps / np.maximum(demand_mbps, 1e-9), 1.0)
    return np.asarray(np.minimum(1.0, ratio) * _ramp_down(latency_ms, 100.0, 500.0, low=0.5), dtype=np.float64)


def video_qoe(
    throughput_mbps: FloatArray, demand_mbps: FloatArray, loss: FloatArray, latency_ms: FloatArray
) -> FloatArray:
    """clip((T/T_req − 0.5)/0.5, 0, 1) × f_loss × f_delay (rf-model 8, video)."""
    ratio = np.where(demand_mbps > 0, throughput_mbps / np.maximum(demand_mbps, 1e-9), 1.0)
    rate_part = np.clip((ratio - 0.5) / 0.5, 0.0, 1.0)
    return np.asarray(rate_part * _ramp_down(loss, 0.01, 0.05) * _ramp_down(latency_ms, 150.0, 400.0), dtype=np.float64)


def mos_from_r(r: FloatArray) -> FloatArray:
    """G.107 Annex B: MOS = 1 + 0.035R + 7e-6·R(R−60)(100−R), 1 for R ≤ 0, 4.5 for R ≥ 100."""
    mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    return np.asarray(np.where(r <= 0, 1.0, np.where(r >= 100, 4.5, mos)), dtype=np.float64)


def voice_qoe(loss: FloatArray, latency_ms: FloatArray) -> FloatArray:
    """(MOS − 1)/3.5 with MOS from the simplified E-model (rf-model 8, voice)."""
    d = latency_ms + VOICE_CODEC_DELAY_MS
    i_d = 0.024 * d + 0.11 * (d - 177.3) * (d > 177.3)
    ppl = 100.0 * np.clip(loss, 0.0, 1.0)
    i_e_eff = _G711_IE + (95.0 - _G711_IE) * ppl / (ppl + _G711_PLC_BPL)
    r = 93.2 - i_d - i_e_eff
    return np.asarray(np.clip((mos_from_r(r) - 1.0) / 3.5, 0.0, 1.0), dtype=np.float64)


def client_qoe(
    traffic: NDArray[np.int64],
    associated: NDArray[np.bool_],
    throughput_mbps: FloatArray,
    demand_mbps: FloatArray,
    loss: FloatArray,
    latency_ms: FloatArray,
) -> FloatArray:
    """QoE in [0, 1] per client, by traffic class; 0 for clients that are not associated."""
    be = best_effort_qoe(throughput_mbps, demand_mbps, latency_ms)
    video = video_qoe(throughput_mbps, demand_mbps, loss, latency_ms)
    voice = voice_qoe(loss, latency_ms)
    by_class = np.where(traffic == TrafficCode.VIDEO, video, np.where(traffic == TrafficCode.VOICE, voice, be))
    return np.asarray(np.where(associated, np.clip(by_class, 0.0, 1.0), 0.0), dtype=np.float64)
