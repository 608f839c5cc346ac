"""The slow-loop policies by name, so evaluations and the controller pick one with a string.

``static``, ``tip_unmanaged_aware`` and ``heuristic`` are built in. ``safe_rl`` is a slot: its
factory imports ``controller.slow_loop.safe_rl_policy`` and calls its
``build_safe_rl_policy(seed: int) -> SlowLoopPolicy`` (the safe-RL agent lives there, written
separately); while that module or function is missing, asking for ``safe_rl`` raises
``PolicyUnavailable`` naming what is missing. ``register_policy`` adds or replaces a factory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.site_plan import SlowLoopPolicy
from controller.slow_loop.static_plan import StaticPlan
from controller.slow_loop.tip_unmanaged_aware import TipUnmanagedAware

PolicyFactory = Callable[[int], SlowLoopPolicy]
SAFE_RL_MODULE = "controller.slow_loop.safe_rl_policy"
SAFE_RL_FACTORY = "build_safe_rl_policy"
POLICY_NAMES = ("static", "tip_unmanaged_aware", "heuristic", "safe_rl")


class PolicyUnavailable(LookupError):
    """The policy is unknown, or its implementation is not installed; the message says which."""


def _safe_rl(seed: int) -> SlowLoopPolicy:
    try:
        module = importlib.import_module(SAFE_RL_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != SAFE_RL_MODULE:
            raise
        raise PolicyUnavailable(f"safe_rl: module {SAFE_RL_MODULE} is not there yet") from None
    factory = getattr(module, SAFE_RL_FACTORY, None)
    if not callable(factory):
        raise PolicyUnavailable(f"safe_rl: {SAFE_RL_MODULE} has no {SAFE_RL_FACTORY}(seed) function")
    policy = factory(seed)
    if not isinstance(policy, SlowLoopPolicy):
        raise PolicyUnavailable(f"safe_rl: {SAFE_RL_FACTORY} returned {type(policy).__name__}, not a SlowLoopPolicy")
    return policy


_FACTORIES: dict[str, PolicyFactory] = {
    "static": StaticPlan,
    "tip_unmanaged_aware": TipUnmanagedAware,
    "heuristic": HeuristicPlanner,
    "safe_rl": _safe_rl,
}


def register_policy(name: str, factory: PolicyFactory) -> None:
    _FACTORIES[name] = factory


def known_policies() -> tuple[str, ...]:
    return tuple(_FACTORIES)


def build_policy(name: str, seed: int) -> SlowLoopPolicy:
    """The policy called ``name`` with its draws seeded by ``seed``; raises PolicyUnavailable."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise PolicyUnavailable(f"no slow-loop policy {name!r}; known: {', '.join(_FACTORIES)}")
    return factory(seed)
