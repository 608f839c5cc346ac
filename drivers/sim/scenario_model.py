"""The typed, validated content of a scenario file (see drivers.sim.scenario for the format)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from radio_domain.radio import OBSS_PD_OFF_DBM, Band
from radio_domain.regulatory import Region
from radio_domain.slo_catalog import TrafficClass

SCENARIO_FORMAT = "rrm-scenario"
SCENARIO_VERSION = 1


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message has one line per problem, each naming the
    source and the field path (``office.json: aps[2].radios[0].channel: ...``)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = tuple(errors)


class InterfererKind(StrEnum):
    MICROWAVE = "microwave"
    VIDEO_CAMERA = "video_camera"
    RADAR = "radar"
    NEIGHBOR_BSS = "neighbor_bss"


@dataclass(frozen=True, slots=True)
class Wall:
    x1: float
    y1: float
    x2: float
    y2: float
    loss_db: float
    floor: int = 0


@dataclass(frozen=True, slots=True)
class RadioSetup:
    """A radio's initial configuration."""

    band: Band
    channel: int
    width_mhz: int
    tx_power_dbm: float
    obss_pd_dbm: int = OBSS_PD_OFF_DBM


@dataclass(frozen=True, slots=True)
class AccessPoint:
    id: str
    x: float
    y: float
    radios: tuple[RadioSetup, ...]
    floor: int = 0


@dataclass(frozen=True, slots=True)
class Client:
    """A client station. ``band`` is the band it is listed on; ``bands`` every band it can use
    (empty means just ``band``, see ``usable_bands``)."""

    id: str
    x: float
    y: float
    band: Band
    demand_mbps: float
    floor: int = 0
    traffic: TrafficClass = TrafficClass.BEST_EFFORT
    bands: tuple[Band, ...] = ()
    supports_dfs: bool = True
    supports_btm: bool = True

    @property
    def usable_bands(self) -> tuple[Band, ...]:
        return self.bands or (self.band,)


@dataclass(frozen=True, slots=True)
class Interferer:
    """A non-managed source: EIRP ``power_dbm`` over ``bandwidth_mhz`` at ``freq_mhz``, on for
    ``duty_cycle`` of the time between ``start_s`` and ``stop_s``."""

    kind: InterfererKind
    x: float
    y: float
    freq_mhz: float
    duty_cycle: float
    start_s: float
    stop_s: float
    power_dbm: float
    bandwidth_mhz: float
    floor: int = 0

    def active_at(self, t: float) -> bool:
        return self.start_s <= t < self.stop_s

    def active_during(self, t0: float, t1: float) -> bool:
        """Whether the source is on at any moment of the interval (t0, t1]."""
        return self.start_s <= t1 and self.stop_s > t0


@dataclass(frozen=True, slots=True)
class RadioFailure:
    """The radio of ``ap`` on ``band`` fails at ``at_s`` and comes back ``duration_s`` later."""

    ap: str
    band: Band
    at_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class DensitySpike:
    """``clients`` extra clients gather around (x, y) between ``start_s`` and ``stop_s``."""

    x: float
    y: float
    band: Band
    clients: int
    demand_mbps: float
    start_s: float
    stop_s: float
    floor: int = 0


ScenarioEvent = RadioFailure | DensitySpike


@dataclass(frozen=True, slots=True)
class Scenario:
    seed: int
    region: Region
    area_m: tuple[float, float]
    aps: tuple[AccessPoint, ...]
    clients: tuple[Client, ...]
    duration_s: float
    walls: tuple[Wall, ...] = ()
    interferers: tuple[Interferer, ...] = ()
    events: tuple[ScenarioEvent, ...] = ()
    name: str = ""
    description: str = ""
    floors: int = 1
    floor_height_m: float = 3.5
    shadowing_db: float = 5.0
    demand_variation: float = 0.1

    @property
    def radio_failures(self) -> tuple[RadioFailure, ...]:
        return tuple(e for e in self.events if isinstance(e, RadioFailure))

    @property
    def density_spikes(self) -> tuple[DensitySpike, ...]:
        return tuple(e for e in self.events if isinstance(e, DensitySpike))


def spike_client_id(spike_index: int, n: int) -> str:
    """The id of the n-th temporary client of the spike at ``events[spike_index]``."""
    return f"spike{spike_index}-{n:03d}"
