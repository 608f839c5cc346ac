"""Logging transitions from the simulator with behaviour policies (the offline agent's data).

Behaviours, chosen per step with the probabilities of ``CollectionSettings.mix``:

- no-op: change nothing;
- random: 1 to ``max_aps_per_step`` random candidate moves on distinct APs (legal by construction);
- heuristic: the next up to ``max_aps_per_step`` radios of the heuristic plan of the episode (the
  environment's guide), staged as the plan executor stages them; a no-op when nothing is left.

A share of the episodes (``scrambled_episodes``) starts from a scrambled plan (some radios on a
random candidate), so the data also holds bad plans and their repairs; another share
(``guided_episodes``) starts from the heuristic's whole plan, so it also holds moves around a
good plan (where most moves hurt), the states a running slow loop plans from. Episode ``e`` runs on world
seed ``SeedSequence([seed, e])``; the behaviours' draws come from one generator seeded with
``seed``: the same arguments give the same log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from controller.slow_loop.move_features import N_MOVE_FEATURES
from controller.slow_loop.site_plan import SlowLoopPolicy
from controller.slow_loop.transition_log import Behaviour, TransitionLog, TransitionLogBuilder
from drivers.sim.scenario_model import Scenario
from rrm.evaluation.site_env import EnvSettings, Observation, SiteEnv, SiteView

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CollectionSettings:
    episodes: int = 12
    mix: tuple[float, float, float] = (0.2, 0.4, 0.4)  # no-op, random, heuristic
    scrambled_episodes: float = 0.35
    guided_episodes: float = 0.35
    scramble_radios: float = 0.3  # share of the radios scrambled in such an episode
    env: EnvSettings = field(default_factory=EnvSettings)

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be at least 1, not {self.episodes}")
        if any(p < 0 for p in self.mix) or sum(self.mix) <= 0:
            raise ValueError(f"mix must be non-negative with a positive sum, not {self.mix}")


def episode_seed(seed: int, episode: int) -> int:
    """The world seed of episode ``episode`` of a collection seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def random_rows(view: SiteView, slots: int, rng: np.random.Generator) -> list[int]:
    """Candidate rows of 1..slots random moves on distinct APs."""
    offered = [k for k, m in enumerate(view.rows) if m is not None]
    wanted = int(rng.integers(1, slots + 1))
    rows: list[int] = []
    aps: set[str] = set()
    for k in rng.permutation(offered) if offered else []:
        move = view.rows[int(k)]
        if move is not None and move.ap_id not in aps:
            rows.append(int(k))
            aps.add(move.ap_id)
        if len(rows) == wanted:
            break
    return rows


def guide_rows(view: SiteView, slots: int) -> list[int]:
    """Candidate rows of the guide plan's next ``slots`` radios, in radio-id order."""
    rows: list[int] = []
    for radio_id in sorted(view.guide):
        wanted = view.guide[radio_id]
        rows += [
            k for k, m in enumerate(view.rows) if m is not None and m.radio_id == radio_id and m.assignment == wanted
        ][:1]
        if len(rows) == slots:
            break
    return rows


def action_of(rows: list[int], slots: int) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    """The environment action for candidate rows (0 pads the no-op slots)."""
    values = [k + 1 for k in rows[:slots]]
    return np.asarray(values + [0] * (slots - len(values)), dtype=np.int64)


def collect_transitions(
    scenario: Scenario,
    guide: SlowLoopPolicy,
    seed: int,
    settings: CollectionSettings | None = None,
    progress: Progress | None = None,
) -> TransitionLog:
    """Run the behaviours on the simulator and log every transition (module docstring)."""
    settings = settings or CollectionSettings()
    env = SiteEnv(scenario, settings.env, guide=guide)
    rng = np.random.default_rng(seed)
    builder = TransitionLogBuilder(source=f"simulator: {scenario.name or 'scenario'} seed {seed}")
    slots = settings.env.max_aps_per_step
    mix = np.asarray(settings.mix) / sum(settings.mix)
    n_radios = len(env.world.radio_ids())
    for episode in range(settings.episodes):
        draw = rng.random()
        options: dict[str, object] = {}
        if draw < settings.scrambled_episodes:
            options["scramble"] = max(1, round(settings.scramble_radios * n_radios))
        elif draw < settings.scrambled_episodes + settings.guided_episodes:
            options["start"] = "guide"
        observation, info = env.reset(seed=episode_seed(seed, episode), options=options)
        state = _add_state(builder, observation)
        view: SiteView = info["view"]
        done = False
        while not done:
            behaviour = Behaviour(int(rng.choice(3, p=mix)))
            rows: list[int] = []
            if behaviour is Behaviour.RANDOM:
                rows = random_rows(view, slots, rng)
            elif behaviour is Behaviour.HEURISTIC:
                rows = guide_rows(view, slots)
            taken = observation["candidates"][rows] if rows else np.zeros((0, N_MOVE_FEATURES))
            observation, reward, terminated, truncated, info = env.step(action_of(rows, slots))
            next_state = _add_state(builder, observation)
            done = terminated or truncated
            noop = info["outcome"].noop_reward(settings.env.reward)
            builder.add_transition(state, next_state, taken, reward, noop, terminated, behaviour)
            state, view = next_state, info["view"]
        if progress is not None:
            progress(f"collected episode {episode + 1} of {settings.episodes}")
    return builder.build()


def _add_state(builder: TransitionLogBuilder, observation: Observation) -> int:
    mask = observation["candidate_mask"].astype(bool)
    return builder.add_state(observation["network"], observation["candidates"][mask])
