"""`rrm bench bo`: time per ask, tell and iteration of the fast loop's optimiser, and its quality.

Speed (``ask_ms``, ``tell_ms``, ``iteration_ms``, each at 10, 50 and 200 observations): one
``FastLoopOptimizer`` on the full 5 GHz FCC space (every legal channel and width, DFS allowed:
11,214 configs) is warm-started with n observations of random configs on a synthetic landscape
(controller/fast_loop/synthetic.py) and its hyperparameters fitted; the window is capped at n so
it stays at n. Then ``iterations`` times: ``observe`` one new random observation (tell) and
``decide`` for a snapshot (ask) with the trust region at its widest radius. ``ask_ms`` and
``tell_ms`` are medians; ``iteration_ms`` is the *mean* of tell + ask, so it includes the
hyperparameter refits the schedule makes (every 50 tells at a full window), i.e. the sustained
cost per radio and iteration; ``iteration_ms_p50`` and ``hyperfit_ms`` are beside it. The target
is iteration_ms["200"] <= 30 (5,000 APs every 300 s next to ingest on 2 cores). BLAS is limited
to one thread (../shared/facts/performance.md, pitfall 7).

Quality (``quality``), medians over ``landscapes`` seeded landscapes at a fixed load of 15
stations, starting from channel 36 / 20 MHz / 17 dBm / OBSS-PD off:

- ``model_error_holdout``: median ``prediction_error`` on 200 random held-out configs after 50 and
  200 random observations (is the model honest?);
- ``safe_loop``: the loop with production settings (8 changes per AP per day, 2 explorations per
  radio per day) over ``safe_iterations`` periods of 300 s: fraction of the optimum reached,
  first iteration at 95 % of it (None: never), median prediction error of applied proposals,
  and changes that lost more than the production safety margin (0.05) in true value;
- ``safe_loop_unlimited``: the same without the daily limits;
- ``unconstrained_bo``: the same GP and EI over the whole space, no trust region or safety;
- ``random_search``: first iteration whose best-so-far reaches 95 % of the optimum.
Timings are figures, never assertions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

TARGETS = {"iteration_ms_200": 30.0, "median_relative_prediction_error": 0.2}
SIZES = (10, 50, 200)
STATIONS = 15
SAFETY_MARGIN = 0.05  # SafetySettings().margin


def add_bench_parser(bench_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``rrm bench bo`` on the bench subparsers (rrm/cli/bench_commands.py)."""
    bo = bench_sub.add_parser("bo", help="fast-loop optimiser: ms per ask, tell and iteration; model quality")
    bo.add_argument("--iterations", type=int, default=100, help="timed iterations per size (default: %(default)s)")
    bo.add_argument("--landscapes", type=int, default=5, help="synthetic landscapes for quality (default: %(default)s)")
    bo.add_argument("--safe-iterations", type=int, default=600, help="periods of the safe loop (default: %(default)s)")
    bo.add_argument("--no-quality", action="store_true", help="speed figures only")
    bo.add_argument("--seed", type=int, default=1)
    bo.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )
    bo.set_defaults(handler=_handler)


def _handler(ns: argparse.Namespace) -> int:
    from rrm.cli.errors import UsageError

    if ns.iterations < 1 or ns.landscapes < 1 or ns.safe_iterations < 1:
        raise UsageError("--iterations, --landscapes and --safe-iterations must be positive")
    figures = run_bo_bench(
        iterations=ns.iterations,
        landscapes=ns.landscapes,
        safe_iterations=ns.safe_iterations,
        quality=not ns.no_quality,
        seed=ns.seed,
    )
    text = json.dumps(figures, indent=2, sort_keys=True)
    if ns.json == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(ns.json).write_text(text + "\n")
    return 0


def run_bo_bench(
    iterations: int = 100, landscapes: int = 5, safe_iterations: int = 600, quality: bool = True, seed: int = 1
) -> dict[str, Any]:
    """Speed and (optionally) quality figures as a JSON-able dict."""
    from controller.fast_loop.blas import single_blas_thread

    started = time.perf_counter()
    import controller.fast_loop.optimizer  # noqa: F401  (import cost outside the timings)

    rss_after_import = _max_rss_mb()
    with single_blas_thread():
        speed = {str(n): _speed_at(n, iterations, seed) for n in SIZES}
        figures: dict[str, Any] = {
            "ask_ms": {k: v["ask_ms"] for k, v in speed.items()},
            "tell_ms": {k: v["tell_ms"] for k, v in speed.items()},
            "iteration_ms": {k: v["iteration_ms"] for k, v in speed.items()},
            "iteration_ms_p50": {k: v["iteration_ms_p50"] for k, v in speed.items()},
            "iteration_ms_max": {k: v["iteration_ms_max"] for k, v in speed.items()},
            "hyperfit_ms": {k: v["hyperfit_ms"] for k, v in speed.items()},
            "candidates_scored": {k: v["candidates_scored"] for k, v in speed.items()},
            "rss_mb": {"after_import": rss_after_import, "max": _max_rss_mb()},
            "blas_threads": 1,
            "targets": TARGETS,
        }
        if quality:
            figures["quality"] = _quality(landscapes, safe_iterations, seed)
            figures["rss_mb"]["max"] = _max_rss_mb()
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def _max_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _speed_at(n: int, iterations: int, seed: int) -> dict[str, float]:
    import numpy as np

    from controller.fast_loop.candidates import SafeValues, candidate_table
    from controller.fast_loop.exploration import ChangeBudget
    from controller.fast_loop.history import LearningState, Observation, WindowPolicy
    from controller.fast_loop.optimizer import FastLoopOptimizer, OptimizerSettings
    from controller.fast_loop.synthetic import SyntheticLandscape, telemetry_for
    from controller.fast_loop.telemetry import RadioSnapshot
    from radio_domain.radio import Band, RadioConfig
    from radio_domain.regulatory import Region

    safe = SafeValues(allow_dfs=True)
    table = candidate_table(Region.FCC, Band.G5, safe)
    land = SyntheticLandscape(Region.FCC, Band.G5, seed)
    rng = np.random.default_rng(seed + n)

    def random_observation(ts: float) -> Observation:
        config = table.config(int(rng.integers(len(table))))
        load = float(rng.uniform(0.1, 0.9))
        return Observation(ts, config, load, land.sample(config, load, rng))

    settings = OptimizerSettings(window=WindowPolicy(max_size=n, per_key=n))
    history = [random_observation(float(i)) for i in range(n)]
    opt = FastLoopOptimizer(
        "bench-ap/5g",
        Region.FCC,
        Band.G5,
        seed=seed,
        settings=settings,
        budget=ChangeBudget(10**9),
        observations=history,
        state=LearningState(radius=4),
    )
    opt.fit_hyperparameters()
    current = RadioConfig(100, 80, 17.0, -72)
    asks, tells, fits = [], [], []
    scored = 0
    for i in range(iterations):
        obs = random_observation(float(n + i))
        t0 = time.perf_counter()
        opt.observe(obs.config, obs.load, obs.reward, obs.ts_s)
        t1 = time.perf_counter()
        if opt.state.tells_since_fit == 0:
            fits.append(t1 - t0)
        snapshot = RadioSnapshot(
            "bench-ap/5g", Region.FCC, Band.G5, obs.ts_s, current, telemetry_for(0.6, STATIONS), safe
        )
        decision = opt.decide(snapshot)
        t2 = time.perf_counter()
        tells.append(t1 - t0)
        asks.append(t2 - t1)
        scored = int(getattr(decision, "candidates_scored", scored))
    both = [a + t for a, t in zip(asks, tells, strict=True)]
    return {
        "ask_ms": _ms(statistics.median(asks)),
        "tell_ms": _ms(statistics.median(tells)),
        "iteration_ms": _ms(statistics.fmean(both)),
        "iteration_ms_p50": _ms(statistics.median(both)),
        "iteration_ms_max": _ms(max(both)),
        "hyperfit_ms": _ms(statistics.median(fits)) if fits else 0.0,
        "candidates_scored": scored,
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def _quality(landscapes: int, safe_iterations: int, seed: int) -> dict[str, Any]:
    from controller.fast_loop.candidates import SafeValues, candidate_table
    from controller.fast_loop.exploration import ChangeBudget, SafetySettings, TrustRegionRule
    from controller.fast_loop.optimizer import OptimizerSettings
    from controller.fast_loop.reward import load_index
    from controller.fast_loop.synthetic import SyntheticLandscape, random_search
    from radio_domain.radio import Band
    from radio_domain.regulatory import Region

    safe = SafeValues(allow_dfs=True)
    table = candidate_table(Region.FCC, Band.G5, safe)
    unlimited = OptimizerSettings(safety=SafetySettings(explore_per_day=10**9), settle_observations=1)
    unconstrained = OptimizerSettings(
        trust=TrustRegionRule(bounded=False),
        safety=SafetySettings(margin=10.0, explore_per_day=10**9),
        settle_observations=1,
    )
    runs: dict[str, list[dict[str, Any]]] = {"safe_loop": [], "safe_loop_unlimited": [], "unconstrained_bo": []}
    holdout: dict[str, list[float]] = {"50": [], "200": []}
    random_reach: list[int | None] = []
    for k in range(landscapes):
        land = SyntheticLandscape(Region.FCC, Band.G5, seed * 1000 + k)
        best = float(land.values(table, load_index(STATIONS)).max())
        for n in (50, 200):
            holdout[str(n)].append(_holdout_error(land, n, seed + k))
        runs["safe_loop"].append(_loop(land, OptimizerSettings(), ChangeBudget(), safe_iterations, best, seed + k))
        runs["safe_loop_unlimited"].append(_loop(land, unlimited, ChangeBudget(10**9), 200, best, seed + k))
        runs["unconstrained_bo"].append(_loop(land, unconstrained, ChangeBudget(10**9), 60, best, seed + k))
        found = random_search(land, safe, load_index(STATIONS), 400, seed + k)
        random_reach.append(next((i for i, v in enumerate(found) if v >= 0.95 * best), None))
    out: dict[str, Any] = {
        "landscapes": landscapes,
        "model_error_holdout": {n: round(statistics.median(v), 4) for n, v in holdout.items()},
        "random_search": {"iterations_to_95pct": _median_reach(random_reach), "per_landscape": random_reach},
    }
    for name, results in runs.items():
        out[name] = {
            "iterations": results[0]["iterations"],
            "iterations_to_95pct": _median_reach([r["reach"] for r in results]),
            "reached_95pct": sum(r["reach"] is not None for r in results),
            "final_share_of_optimum": round(statistics.median(r["final"] for r in results), 4),
            "changes": sum(r["changes"] for r in results),
            "changes_losing_more_than_margin": sum(r["violations"] for r in results),
            "median_prediction_error": _median_or_none([e for r in results for e in r["errors"]]),
            "per_landscape": [r["reach"] for r in results],
        }
    return out


def _loop(land: Any, settings: Any, budget: Any, iterations: int, best: float, seed: int) -> dict[str, Any]:
    from controller.fast_loop.optimizer import FastLoopOptimizer
    from controller.fast_loop.synthetic import simulate_loop
    from radio_domain.radio import RadioConfig

    opt = FastLoopOptimizer("bench-ap/5g", land.region, land.band, seed=seed, settings=settings, budget=budget)
    from controller.fast_loop.candidates import SafeValues

    trace = simulate_loop(
        land, opt, RadioConfig(36, 20, 17.0, -82), iterations, lambda _: STATIONS, seed, SafeValues(allow_dfs=True)
    )
    values = trace.true_values
    margin = SAFETY_MARGIN  # the production margin, for every variant alike
    violations = sum(1 for a, b in itertools.pairwise(values) if b - a < -margin)
    return {
        "iterations": iterations,
        "reach": next((i for i, v in enumerate(values) if v >= 0.95 * best), None),
        "final": values[-1] / best,
        "changes": len(trace.proposals),
        "violations": violations,
        "errors": trace.errors,
    }


def _holdout_error(land: Any, n: int, seed: int) -> float:
    import numpy as np

    from controller.fast_loop.candidates import SafeValues, candidate_table
    from controller.fast_loop.history import WindowPolicy
    from controller.fast_loop.optimizer import FastLoopOptimizer, OptimizerSettings
    from controller.fast_loop.reward import prediction_error

    table = candidate_table(land.region, land.band, SafeValues(allow_dfs=True))
    rng = np.random.default_rng(seed)
    opt = FastLoopOptimizer(
        "bench-ap/5g", land.region, land.band, seed=seed, settings=OptimizerSettings(window=WindowPolicy(n, n))
    )
    for i in range(n):
        config = table.config(int(rng.integers(len(table))))
        load = float(rng.uniform(0.1, 0.9))
        opt.observe(config, load, land.sample(config, load, rng), float(i))
    opt.fit_hyperparameters()
    errors = []
    for _ in range(200):
        config = table.config(int(rng.integers(len(table))))
        load = float(rng.uniform(0.1, 0.9))
        ((mean, _std),) = opt.predict([config], load)
        errors.append(prediction_error(mean, land.sample(config, load, rng)))
    return float(statistics.median(errors))


def _median_reach(reach: list[int | None]) -> float | None:
    """Median over landscapes, a landscape that never reached counting as the longest."""
    if all(r is None for r in reach):
        return None
    ordered = sorted(reach, key=lambda r: float("inf") if r is None else r)
    mid = ordered[len(ordered) // 2]
    return None if mid is None else float(mid)


def _median_or_none(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None
