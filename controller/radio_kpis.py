"""A radio's KPIs over a stretch of its telemetry, as rollback triggers watch them (site_policy.Kpi).

Pure: stored RadioSamples in, one mean figure per KPI out. Client figures (QoE, throughput) come
from the packed client columns; a KPI with no data in the stretch is left out rather than zero, so
a trigger never fires on a radio that simply had no clients.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from controller.client_columns import unpack_f32
from controller.site_policy import Kpi
from rrm.v1 import agent_link_pb2 as pb


def radio_kpis(samples: Sequence[pb.RadioSample]) -> dict[Kpi, float]:
    """Mean KPIs over ``samples`` (one radio's, any order)."""
    if not samples:
        return {}
    qoe = [unpack_f32(s.client_readings.qoe) for s in samples]
    all_qoe = np.concatenate(qoe) if qoe else np.zeros(0, dtype=np.float32)
    kpis = {
        Kpi.PACKET_ERROR_RATE: float(np.mean([s.packet_error_rate for s in samples])),
        Kpi.RETRY_RATE: float(np.mean([s.retry_rate for s in samples])),
        Kpi.CCA_BUSY: float(np.mean([s.cca_busy for s in samples])),
        Kpi.STATIONS: float(np.mean([s.station_count for s in samples])),
        Kpi.THROUGHPUT_MBPS: float(
            np.mean([float(unpack_f32(s.client_readings.throughput_mbps).sum()) for s in samples])
        ),
    }
    if all_qoe.size:
        kpis[Kpi.QOE_MEAN] = float(all_qoe.mean())
        kpis[Kpi.QOE_P5] = float(np.percentile(all_qoe, 5))
    return kpis
