"""Per-client quality of experience in [0, 1], per traffic class (rf-model.md section 8).

    * best effort: min(1, T/D) × a latency factor that is 1 up to 100 ms and falls linearly to
      0.5 at 500 ms (0.5 beyond).
    * video (modelled as real-time video, the demanding case): clip((T/T_req − 0.5)/0.5, 0, 1)
      × f_loss (1 below 1 % loss, linear to 0 at 5 %) × f_delay (1 below 150 ms one-way, linear
      to 0 at 400 ms), after ITU-T G.1010's categories as quoted in rf-model 8.
    * voice: simplified ITU-T G.107 E-model: R = 93.2 − I_d − I_e,eff with G.711 + packet loss
      concealment (I_e = 0, Bpl = 25.1, random loss), mouth-to-ear delay = network delay + 60 ms
      (40 ms jitter buffer, 20 ms packetisation); MOS from R (G.107 Annex B); QoE = (MOS − 1)/3.5.

Every threshold above is a field of the SLO catalog (radio_domain/slo_catalog.py); the defaults
are these numbers, and an operator's tighter SLO makes the same traffic score lower. A client
that is not associated has QoE 0; callers pass ``associated`` for that.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from radio_domain.slo_catalog import DEFAULT_SLO, SloCatalog, TrafficSlo

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
    """1 below ``start``, linear to ``low`` at ``stop``, ``low`` beyond (a step at ``start`` when stop <= start)."""
    if stop <= start:
        return np.asarray(np.where(value > start, low, 1.0), dtype=np.float64)
    frac = np.clip((value - start) / (stop - start), 0.0, 1.0)
    return np.asarray(1.0 - frac * (1.0 - low), dtype=np.float64)


def _rate_part(throughput_mbps: FloatArray, demand_mbps: FloatArray, slo: TrafficSlo) -> FloatArray:
    """0 at or below ``throughput_bad`` of the demand, 1 from ``throughput_good``; 1 when not counted."""
    if slo.throughput_good <= 0:
        return np.ones_like(throughput_mbps, dtype=np.float64)
    ratio = np.where(demand_mbps > 0, throughput_mbps / np.maximum(demand_mbps, 1e-9), 1.0)
    part = (ratio - slo.throughput_bad) / (slo.throughput_good - slo.throughput_bad)
    return np.asarray(np.clip(part, 0.0, 1.0), dtype=np.float64)


def _delivery(latency_ms: FloatArray, loss: FloatArray, slo: TrafficSlo) -> FloatArray:
    """The latency and loss factors of an SLO."""
    late = _ramp_down(latency_ms, slo.latency_good_ms, slo.latency_bad_ms, low=slo.latency_floor)
    return np.asarray(late * _ramp_down(loss, slo.loss_good, slo.loss_bad), dtype=np.float64)


def best_effort_qoe(
    throughput_mbps: FloatArray, demand_mbps: FloatArray, latency_ms: FloatArray, slo: TrafficSlo | None = None
) -> FloatArray:
    """min(1, T/D) × latency factor (rf-model 8, best effort), against the SLO."""
    slo = slo or DEFAULT_SLO.best_effort
    loss = np.zeros_like(latency_ms, dtype=np.float64)
    return np.asarray(
        _rate_part(throughput_mbps, demand_mbps, slo) * _delivery(latency_ms, loss, slo), dtype=np.float64
    )


def video_qoe(
    throughput_mbps: FloatArray,
    demand_mbps: FloatArray,
    loss: FloatArray,
    latency_ms: FloatArray,
    slo: TrafficSlo | None = None,
) -> FloatArray:
    """clip((T/T_req − 0.5)/0.5, 0, 1) × f_loss × f_delay (rf-model 8, video), against the SLO."""
    slo = slo or DEFAULT_SLO.video
    return np.asarray(
        _rate_part(throughput_mbps, demand_mbps, slo) * _delivery(latency_ms, loss, slo), dtype=np.float64
    )


def mos_from_r(r: FloatArray) -> FloatArray:
    """G.107 Annex B: MOS = 1 + 0.035R + 7e-6·R(R−60)(100−R), 1 for R ≤ 0, 4.5 for R ≥ 100."""
    mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    return np.asarray(np.where(r <= 0, 1.0, np.where(r >= 100, 4.5, mos)), dtype=np.float64)


def voice_mos(loss: FloatArray, latency_ms: FloatArray) -> FloatArray:
    """The simplified E-model's MOS (rf-model 8, voice)."""
    d = latency_ms + VOICE_CODEC_DELAY_MS
    i_d = 0.024 * d + 0.11 * (d - 177.3) * (d > 177.3)
    ppl = 100.0 * np.clip(loss, 0.0, 1.0)
    i_e_eff = _G711_IE + (95.0 - _G711_IE) * ppl / (ppl + _G711_PLC_BPL)
    return mos_from_r(93.2 - i_d - i_e_eff)


def voice_qoe(loss: FloatArray, latency_ms: FloatArray, slo: TrafficSlo | None = None) -> FloatArray:
    """(MOS − mos_bad)/(mos_good − mos_bad) with MOS from the E-model; (MOS − 1)/3.5 by default.

    Delay and loss reach voice through the E-model; an SLO's own latency and loss budgets apply on
    top (the defaults are wide enough never to bind).
    """
    slo = slo or DEFAULT_SLO.voice
    part = np.clip((voice_mos(loss, latency_ms) - slo.mos_bad) / (slo.mos_good - slo.mos_bad), 0.0, 1.0)
    return np.asarray(part * _delivery(latency_ms, loss, slo), dtype=np.float64)


def client_qoe(
    traffic: NDArray[np.int64],
    associated: NDArray[np.bool_],
    throughput_mbps: FloatArray,
    demand_mbps: FloatArray,
    loss: FloatArray,
    latency_ms: FloatArray,
    slo: SloCatalog = DEFAULT_SLO,
) -> FloatArray:
    """QoE in [0, 1] per client, by traffic class against the SLO catalog; 0 for clients not associated."""
    be = best_effort_qoe(throughput_mbps, demand_mbps, latency_ms, slo.best_effort)
    video = video_qoe(throughput_mbps, demand_mbps, loss, latency_ms, slo.video)
    voice = voice_qoe(loss, latency_ms, slo.voice)
    by_class = np.where(traffic == TrafficCode.VIDEO, video, np.where(traffic == TrafficCode.VOICE, voice, be))
    return np.asarray(np.where(associated, np.clip(by_class, 0.0, 1.0), 0.0), dtype=np.float64)
