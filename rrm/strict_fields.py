"""Reading typed fields out of decoded JSON/YAML while collecting every problem with its path.

Each reader returns the value, or None when the field is missing or wrong; the problem is then
already recorded, so parsing carries on and reports everything at once (STYLE.md point 9).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)

_REQUIRED = object()


class Problems:
    """The problems found so far, each as ``source: path: message``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")


def join(path: str, key: str | int) -> str:
    """``aps`` + 2 -> ``aps[2]``; ``aps[2]`` + ``x`` -> ``aps[2].x``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def read_object(
    value: object, path: str, problems: Problems, required: Iterable[str], optional: Iterable[str] = ()
) -> Mapping[str, object] | None:
    """The value as an object after checking for unknown and missing keys; None if not an object."""
    if not isinstance(value, dict):
        problems.add(path, f"expected an object, got {type_name(value)}")
        return None
    required = tuple(required)
    known = set(required) | set(optional)
    for key in value:
        if key not in known:
            expected = ", ".join(sorted(known))
            problems.add(join(path, str(key)), f"unknown key; expected one of {expected}")
    for key in required:
        if key not in value:
            problems.add(join(path, key), "required key is missing")
    return value


def read_list(obj: Mapping[str, object], key: str, path: str, problems: Problems) -> list[object]:
    """A list field; an absent optional list is empty."""
    if key not in obj:
        return []
    value = obj[key]
    if not isinstance(value, list):
        problems.add(join(path, key), f"expected a list, got {type_name(value)}")
        return []
    return value


def read_number(
    obj: Mapping[str, object],
    key: str,
    path: str,
    problems: Problems,
    default: object = _REQUIRED,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> float | None:
    """A finite number (not a boolean) within [minimum, maximum] and > above when given."""
    if key not in obj:
        return None if default is _REQUIRED else _as_float(default)
    value = obj[key]
    where = join(path, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(where, f"expected a number, got {type_name(value)}")
        return None
    number = float(value)
    if not math.isfinite(number):
        problems.add(where, f"expected a finite number, got {value}")
        return None
    if minimum is not None and number < minimum:
        problems.add(where, f"must be at least {minimum:g}, got {number:g}")
        return None
    if maximum is not None and number > maximum:
        problems.add(where, f"must be at most {maximum:g}, got {number:g}")
        return None
    if above is not None and number <= above:
        problems.add(where, f"must be greater than {above:g}, got {number:g}")
        return None
    return number


def read_int(
    obj: Mapping[str, object],
    key: str,
    path: str,
    problems: Problems,
    default: object = _REQUIRED,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """An integer (not a boolean, not 36.0) within [minimum, maximum]."""
    if key not in obj:
        return None if default is _REQUIRED else int(_as_float(default))
    value = obj[key]
    where = join(path, key)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, f"expected an integer, got {type_name(value)}")
        return None
    if minimum is not None and value < minimum:
        problems.add(where, f"must be at least {minimum}, got {value}")
        return None
    if maximum is not None and value > maximum:
        problems.add(where, f"must be at most {maximum}, got {value}")
        return None
    return value


def read_string(
    obj: Mapping[str, object], key: str, path: str, problems: Problems, default: object = _REQUIRED
) -> str | None:
    """A string; required strings must not be empty."""
    if key not in obj:
        return None if default is _REQUIRED else str(default)
    value = obj[key]
    if not isinstance(value, str):
        problems.add(join(path, key), f"expected a string, got {type_name(value)}")
        return None
    if default is _REQUIRED and not value.strip():
        problems.add(join(path, key), "must not be empty")
        return None
    return value


def read_bool(obj: Mapping[str, object], key: str, path: str, problems: Problems, default: bool) -> bool | None:
    """A boolean (true/false, not 0/1 or "yes"); optional, ``default`` when absent."""
    if key not in obj:
        return default
    value = obj[key]
    if not isinstance(value, bool):
        problems.add(join(path, key), f"expected true or false, got {type_name(value)}")
        return None
    return value


def read_choice(
    obj: Mapping[str, object], key: str, path: str, problems: Problems, choices: type[E], default: E | None = None
) -> E | None:
    """One of the values of a string enum."""
    if key not in obj:
        return default
    value = obj[key]
    allowed = ", ".join(c.value for c in choices)
    if not isinstance(value, str):
        problems.add(join(path, key), f"expected one of {allowed}, got {type_name(value)}")
        return None
    try:
        return choices(value)
    except ValueError:
        problems.add(join(path, key), f"{value!r} is not one of {allowed}")
        return None


def _as_float(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)
