"""Logged slow-loop transitions: the offline agent's data set, as numpy arrays in one ``.npz`` file.

A state is stored once: its state features and the move features of every candidate move it
offered (ragged: ``candidate_offsets[i]:candidate_offsets[i + 1]`` index ``candidate_features``).
A transition names its state and next state, the moves taken (ragged the same way through
``move_offsets``), the reward, the reward a no-op would have earned on a fork of the same world
over the same window (NaN when unknown, e.g. from the controller's history), whether the
episode ended there, and which behaviour chose the action (``Behaviour``). Features are stored
with their names so a model never trains on columns that mean something else.

Why npz and not a table: training reads everything at once as arrays; the controller's own
history is written a stage at a time, so it keeps a SQLite table in the controller's state
directory (history_transitions.py, one row per executed plan stage) and is turned into this
format to train (history_transitions_export.py: ``Behaviour.HISTORY``, no-op reward NaN;
`rrm train slow-loop --history DB` trains on it together with the simulator's transitions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from controller.slow_loop.move_features import MOVE_FEATURES, N_MOVE_FEATURES, N_STATE_FEATURES, STATE_FEATURES
from controller.slow_loop.npz_with_meta import read_npz_with_meta, write_npz_with_meta

FORMAT = "rrm-slow-loop-transitions"
VERSION = 1
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Behaviour(IntEnum):
    """Who chose a logged action."""

    NOOP = 0
    RANDOM = 1  # random legal moves under the constraints
    HEURISTIC = 2  # the heuristic plan's moves, staged
    HISTORY = 3  # the controller's own past plans
    LEARNED = 4  # the safe-RL policy itself


class TransitionLogError(ValueError):
    """A transition file that cannot be read as one; the message names the file."""


@dataclass(frozen=True, slots=True)
class TransitionLog:
    state_features: FloatArray
    candidate_offsets: IntArray
    candidate_features: FloatArray
    state_ix: IntArray
    next_state_ix: IntArray
    reward: FloatArray
    noop_reward: FloatArray
    terminal: BoolArray
    move_offsets: IntArray
    move_features: FloatArray
    behaviour: IntArray
    source: str = ""

    @property
    def n_transitions(self) -> int:
        return int(self.state_ix.size)

    @property
    def n_states(self) -> int:
        return int(self.state_features.shape[0])

    def candidates(self, state: int) -> FloatArray:
        """The move features of every candidate move of ``state``."""
        return self.candidate_features[self.candidate_offsets[state] : self.candidate_offsets[state + 1]]

    def moves(self, transition: int) -> FloatArray:
        """The move features of the moves taken in ``transition`` (no rows for a no-op)."""
        return self.move_features[self.move_offsets[transition] : self.move_offsets[transition + 1]]

    def behaviour_counts(self) -> dict[str, int]:
        counts = np.bincount(self.behaviour, minlength=len(Behaviour))
        return {b.name.lower(): int(counts[b]) for b in Behaviour if counts[b]}

    def save(self, path: str | Path) -> None:
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "state_features": list(STATE_FEATURES),
            "move_features": list(MOVE_FEATURES),
            "source": self.source,
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        write_npz_with_meta(path, meta, arrays, compressed=True)

    @staticmethod
    def load(path: str | Path) -> TransitionLog:
        """Read a file written by ``save``; raises TransitionLogError naming it when it is not one."""
        try:
            meta, arrays = read_npz_with_meta(path)
            _check_meta(meta, str(path))
        except (OSError, KeyError, ValueError) as exc:
            raise TransitionLogError(f"{path}: not a slow-loop transition file: {exc}") from None
        return TransitionLog(
            state_features=arrays["state_features"].astype(np.float64),
            candidate_offsets=arrays["candidate_offsets"].astype(np.int64),
            candidate_features=arrays["candidate_features"].astype(np.float64),
            state_ix=arrays["state_ix"].astype(np.int64),
            next_state_ix=arrays["next_state_ix"].astype(np.int64),
            reward=arrays["reward"].astype(np.float64),
            noop_reward=arrays["noop_reward"].astype(np.float64),
            terminal=arrays["terminal"].astype(np.bool_),
            move_offsets=arrays["move_offsets"].astype(np.int64),
            move_features=arrays["move_features"].astype(np.float64),
            behaviour=arrays["behaviour"].astype(np.int64),
            source=str(meta.get("source", "")),
        )


_ARRAYS = (
    "state_features",
    "candidate_offsets",
    "candidate_features",
    "state_ix",
    "next_state_ix",
    "reward",
    "noop_reward",
    "terminal",
    "move_offsets",
    "move_features",
    "behaviour",
)


def _check_meta(meta: object, source: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"expected format {FORMAT} version {VERSION}")
    if meta.get("state_features") != list(STATE_FEATURES) or meta.get("move_features") != list(MOVE_FEATURES):
        raise ValueError(f"{source} was written with other features than this version computes")


@dataclass(slots=True)
class TransitionLogBuilder:
    """Collects states and transitions, then ``build`` makes the arrays."""

    source: str = ""
    _states: list[FloatArray] = field(default_factory=list)
    _candidates: list[FloatArray] = field(default_factory=list)
    _transitions: list[tuple[int, int, float, float, bool, int]] = field(default_factory=list)
    _moves: list[FloatArray] = field(default_factory=list)

    @property
    def n_states(self) -> int:
        return len(self._states)

    def add_state(self, state_features: FloatArray, candidate_features: FloatArray) -> int:
        """Store a state; returns its index."""
        self._states.append(np.asarray(state_features, dtype=np.float64).reshape(N_STATE_FEATURES))
        self._candidates.append(np.asarray(candidate_features, dtype=np.float64).reshape(-1, N_MOVE_FEATURES))
        return len(self._states) - 1

    def add_transition(
        self,
        state: int,
        next_state: int,
        moves: FloatArray,
        reward: float,
        noop_reward: float | None,
        terminal: bool,
        behaviour: Behaviour,
    ) -> None:
        self._transitions.append(
            (state, next_state, reward, np.nan if noop_reward is None else noop_reward, terminal, int(behaviour))
        )
        self._moves.append(np.asarray(moves, dtype=np.float64).reshape(-1, N_MOVE_FEATURES))

    def build(self) -> TransitionLog:
        t = self._transitions
        return TransitionLog(
            state_features=_stack(self._states, N_STATE_FEATURES),
            candidate_offsets=_offsets(self._candidates),
            candidate_features=_stack(self._candidates, N_MOVE_FEATURES),
            state_ix=np.asarray([x[0] for x in t], dtype=np.int64),
            next_state_ix=np.asarray([x[1] for x in t], dtype=np.int64),
            reward=np.asarray([x[2] for x in t], dtype=np.float64),
            noop_reward=np.asarray([x[3] for x in t], dtype=np.float64),
            terminal=np.asarray([x[4] for x in t], dtype=np.bool_),
            move_offsets=_offsets(self._moves),
            move_features=_stack(self._moves, N_MOVE_FEATURES),
            behaviour=np.asarray([x[5] for x in t], dtype=np.int64),
            source=self.source,
        )


def concatenate(logs: Sequence[TransitionLog]) -> TransitionLog:
    """One log holding every transition of ``logs`` (state indices renumbered)."""
    builder = TransitionLogBuilder(source="; ".join(x.source for x in logs if x.source))
    for log in logs:
        base = builder.n_states
        for s in range(log.n_states):
            builder.add_state(log.state_features[s], log.candidates(s))
        for i in range(log.n_transitions):
            noop = float(log.noop_reward[i])
            builder.add_transition(
                base + int(log.state_ix[i]),
                base + int(log.next_state_ix[i]),
                log.moves(i),
                float(log.reward[i]),
                None if np.isnan(noop) else noop,
                bool(log.terminal[i]),
                Behaviour(int(log.behaviour[i])),
            )
    return builder.build()


def _stack(rows: Sequence[FloatArray], width: int) -> FloatArray:
    return np.concatenate(rows).reshape(-1, width) if rows else np.zeros((0, width))


def _offsets(parts: Sequence[FloatArray]) -> IntArray:
    return np.concatenate([[0], np.cumsum([p.shape[0] for p in parts], dtype=np.int64)]).astype(np.int64)
