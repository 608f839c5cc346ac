"""Fitting the conservative Q function offline: fitted Q iteration with the CQL regulariser.

Data: a TransitionLog. Model: cql_model.py (linear in state features and in the sum of the
moves' features). Each of ``iterations`` rounds:

1. Targets ``y = r~ + gamma * V(s')`` (0 after a terminal step), where ``V(s')`` is the state's
   value plus the best up to ``max_next_moves`` positive *lower bounds* among the next state's
   candidates (pessimistic bootstrap: an unsupported move cannot inflate the target).
2. Weights minimise ``mean((Q(s, A) - y)^2) + ridge * |w|^2 / n
   + alpha * mean over the data's moves of [tau * logsumexp over the state's candidates and the
   no-op of q / tau  -  q(data move)]``: the CQL(H) regulariser (Kumar et al. 2020) pushes down
   the values of the moves the data did not take and up those it did. Solved by L-BFGS (scipy).

``r~`` is the step's advantage over doing nothing: where the log holds the reward of a no-op on a
fork of the same world over the same window (rrm/evaluation/site_env.py), ``r~ = r - r_noop``;
the exogenous noise (demand, events) that both branches share cancels, and a no-op's ``r~`` is 0. Elsewhere
(``r_noop`` NaN: the controller's history, history_transitions_export.py) ``r~ = r - V0(s)``,
``V0`` a ridge fit of the known ``r_noop`` on the state features (``_noop_baseline`` says what
stands in when too few are known).
So ``Q`` is a relative value: a plan's gain over keeping the current one, plus the discounted
value of the best moves it leaves possible; the state part is only what the bootstrap adds.

Then ``P`` (cql_model.py) from the data's moves and the final residual std. Deterministic: the
only draw (which candidates enter the logsumexp when a state has more than
``logsumexp_candidates``) comes from ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from controller.slow_loop.cql_model import ConservativeQ, FloatArray
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.transition_log import TransitionLog

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class CqlSettings:
    gamma: float = 0.5
    iterations: int = 6
    ridge: float = 1.0
    cql_alpha: float = 1.0
    temperature: float = 1.0
    pessimism: float = 1.5
    max_next_moves: int = 3
    logsumexp_candidates: int = 64

    def __post_init__(self) -> None:
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), not {self.gamma}")
        if self.iterations < 1 or self.temperature <= 0 or self.ridge <= 0:
            raise ValueError("need iterations >= 1, temperature > 0 and ridge > 0")


@dataclass(frozen=True, slots=True)
class FitReport:
    transitions: int
    moves: int
    iterations: int
    residual_std: float
    mean_data_move_value: float  # mean q over the moves the data took
    mean_candidate_value: float  # mean q over every candidate the data offered
    cql_gap: float  # mean (logsumexp over candidates - q of the data move): what the regulariser pushed


@dataclass(frozen=True, slots=True)
class _Problem:
    """The arrays one fit needs, scaled once."""

    x_state: FloatArray  # (n, S) state features of each transition's state
    z_sum: FloatArray  # (n, M) sum of the scaled moves taken
    z_data: FloatArray  # (k, M) every scaled move taken (a zero row for a no-op)
    z_cand: FloatArray  # (c, M) candidates + a zero row (no-op) per data move, scaled
    cand_segment: IntArray  # (c,) the data move whose logsumexp the row enters
    cand_starts: IntArray  # (k,) first row of each segment


def fit_conservative_q(
    log: TransitionLog, settings: CqlSettings | None = None, seed: int = 0
) -> tuple[ConservativeQ, FitReport]:
    """Fit the model on ``log`` (module docstring). Raises ValueError for an empty log."""
    settings = settings or CqlSettings()
    if log.n_transitions == 0:
        raise ValueError("cannot fit on a log without transitions")
    if not np.isfinite(log.reward).all():
        raise ValueError(f"{log.source or 'the log'}: every reward must be finite (only a no-op reward may be NaN)")
    rng = np.random.default_rng(seed)
    scale = _move_scale(log)
    problem = _problem(log, scale, settings, rng)
    rewards = _advantages(log, settings)
    state_next = log.state_features[log.next_state_ix]
    weights = np.zeros(N_STATE_FEATURES + N_MOVE_FEATURES)
    precision = _precision(problem.z_data, settings.ridge)
    residual = float(np.std(rewards)) or 1.0
    for _ in range(settings.iterations):
        model = _model(weights, scale, precision, residual, settings, log.source)
        next_values = np.array(
            [
                _best_value(model, log, int(s), x, settings.max_next_moves)
                for s, x in zip(log.next_state_ix, state_next, strict=True)
            ]
        )
        targets = rewards + settings.gamma * np.where(log.terminal, 0.0, next_values)
        weights = _solve(problem, targets, weights, settings)
        predicted = problem.x_state @ weights[:N_STATE_FEATURES] + problem.z_sum @ weights[N_STATE_FEATURES:]
        residual = float(np.std(predicted - targets)) or 1e-6
    model = _model(weights, scale, precision, residual, settings, log.source)
    return model, _report(model, problem, log, settings)


def _model(
    weights: FloatArray,
    scale: FloatArray,
    precision: FloatArray,
    residual: float,
    settings: CqlSettings,
    source: str,
) -> ConservativeQ:
    return ConservativeQ(
        state_weights=weights[:N_STATE_FEATURES].copy(),
        move_weights=weights[N_STATE_FEATURES:].copy(),
        move_scale=scale,
        move_precision=precision,
        residual_std=residual,
        pessimism=settings.pessimism,
        gamma=settings.gamma,
        trained_on=source,
    )


def _best_value(model: ConservativeQ, log: TransitionLog, state: int, x: FloatArray, moves: int) -> float:
    """``V(s')``: the state's value plus its best ``moves`` positive lower bounds."""
    offered = log.candidates(state)
    bounds = model.lower_bounds(offered) if offered.size else np.zeros(0)
    best = np.sort(bounds[bounds > 0.0])[::-1][:moves]
    return model.state_value(x) + float(best.sum())


def _move_scale(log: TransitionLog) -> FloatArray:
    rows = log.candidate_features if log.candidate_features.size else log.move_features
    rms = np.sqrt(np.mean(rows**2, axis=0)) if rows.size else np.ones(N_MOVE_FEATURES)
    return np.where(rms > 1e-9, rms, 1.0)


def _advantages(log: TransitionLog, settings: CqlSettings) -> FloatArray:
    """Each step's reward over the no-op's: from the fork where known, else over ``V0(s)``."""
    known = np.isfinite(log.noop_reward)
    advantages = np.where(known, log.reward - np.nan_to_num(log.noop_reward), 0.0)
    if not known.all():
        advantages[~known] = log.reward[~known] - _noop_baseline(log, known, settings)
    return advantages


def _noop_baseline(log: TransitionLog, known: BoolArray, settings: CqlSettings) -> FloatArray:
    """``V0(s)`` of the steps without a fork's no-op reward (NaN: the controller's history).

    Their mean plus a ridge fit of their deviations on the state features when more no-op rewards
    are known than there are features (centred, so the ridge does not pull the level of about 90
    QoE points towards 0); else their mean; else the mean reward of the unknown steps that moved
    nothing; else (only moves, no fork: a history alone) the mean reward of those steps, so their
    advantages are centred: the moves are ranked, but their level against a no-op is unknown,
    which is why training always mixes in simulator transitions.
    """
    x_unknown = log.state_features[log.state_ix[~known]]
    if known.sum() > N_STATE_FEATURES:
        x_known = log.state_features[log.state_ix[known]]
        level = float(np.mean(log.noop_reward[known]))
        reg = settings.ridge * np.eye(N_STATE_FEATURES)
        coef = np.linalg.solve(x_known.T @ x_known + reg, x_known.T @ (log.noop_reward[known] - level))
        return np.asarray(level + x_unknown @ coef, dtype=np.float64)
    noop_steps = ~known & (log.move_offsets[1:] == log.move_offsets[:-1])
    if known.any():
        level = float(np.mean(log.noop_reward[known]))
    elif noop_steps.any():
        level = float(np.mean(log.reward[noop_steps]))
    else:
        level = float(np.mean(log.reward[~known]))
    return np.full(x_unknown.shape[0], level)


def _precision(z_data: FloatArray, ridge: float) -> FloatArray:
    gram = z_data.T @ z_data + ridge * np.eye(N_MOVE_FEATURES)
    return np.asarray(np.linalg.inv(gram), dtype=np.float64)


def _problem(log: TransitionLog, scale: FloatArray, settings: CqlSettings, rng: np.random.Generator) -> _Problem:
    n = log.n_transitions
    z_sum = np.zeros((n, N_MOVE_FEATURES))
    data: list[FloatArray] = []
    cand: list[FloatArray] = []
    for i in range(n):
        moves = log.moves(i) / scale
        z_sum[i] = moves.sum(axis=0)
        offered = log.candidates(int(log.state_ix[i])) / scale
        if offered.shape[0] > settings.logsumexp_candidates:
            offered = offered[np.sort(rng.choice(offered.shape[0], settings.logsumexp_candidates, replace=False))]
        taken = moves if moves.shape[0] else np.zeros((1, N_MOVE_FEATURES))  # a no-op is the zero move
        for move in taken:
            data.append(move)
            cand.append(np.vstack([offered, move, np.zeros(N_MOVE_FEATURES)]))
    sizes = np.array([c.shape[0] for c in cand], dtype=np.int64)
    return _Problem(
        x_state=log.state_features[log.state_ix],
        z_sum=z_sum,
        z_data=np.asarray(data).reshape(-1, N_MOVE_FEATURES),
        z_cand=np.vstack(cand),
        cand_segment=np.repeat(np.arange(len(cand), dtype=np.int64), sizes),
        cand_starts=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
    )


def _solve(problem: _Problem, targets: FloatArray, start: FloatArray, settings: CqlSettings) -> FloatArray:
    n = targets.size
    design = np.hstack([problem.x_state, problem.z_sum])
    k = problem.z_data.shape[0]
    tau, alpha = settings.temperature, settings.cql_alpha

    def loss(w: FloatArray) -> tuple[float, FloatArray]:
        error = design @ w - targets
        value = float(error @ error) / n + settings.ridge * float(w @ w) / n
        grad = 2.0 * design.T @ error / n + 2.0 * settings.ridge * w / n
        wm = w[N_STATE_FEATURES:]
        q = problem.z_cand @ wm / tau
        peak = np.maximum.reduceat(q, problem.cand_starts)
        exp_q = np.exp(q - peak[problem.cand_segment])
        total = np.add.reduceat(exp_q, problem.cand_starts)
        lse = tau * (peak + np.log(total))
        soft = exp_q / total[problem.cand_segment]
        q_data = problem.z_data @ wm
        value += alpha * float(np.mean(lse - q_data))
        expected = np.add.reduceat(soft[:, None] * problem.z_cand, problem.cand_starts, axis=0)
        grad[N_STATE_FEATURES:] += alpha * (expected - problem.z_data).sum(axis=0) / k
        return value, grad

    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return np.asarray(result.x, dtype=np.float64)


def _report(model: ConservativeQ, problem: _Problem, log: TransitionLog, settings: CqlSettings) -> FitReport:
    wm = model.move_weights
    q_cand = problem.z_cand @ wm / settings.temperature
    peak = np.maximum.reduceat(q_cand, problem.cand_starts)
    total = np.add.reduceat(np.exp(q_cand - peak[problem.cand_segment]), problem.cand_starts)
    lse = settings.temperature * (peak + np.log(total))
    q_data = problem.z_data @ wm
    offered = model.values(log.candidate_features) if log.candidate_features.size else np.zeros(1)
    return FitReport(
        transitions=log.n_transitions,
        moves=int(log.move_features.shape[0]),
        iterations=settings.iterations,
        residual_std=model.residual_std,
        mean_data_move_value=float(np.mean(q_data)),
        mean_candidate_value=float(np.mean(offered)),
        cql_gap=float(np.mean(lse - q_data)),
    )
