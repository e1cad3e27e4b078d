"""EventBridge's event-pattern matching, for the operators the kit's rules use.

What EventBridge documents: a pattern is a tree whose leaves are lists of matchers; an
event matches when, for every leaf path of the pattern, some value the event has at that
path (arrays in the event are flattened, so each element's value counts) satisfies some
matcher of the list. A path the event does not have matches nothing. Matchers: a plain
value (equal, strings case-sensitive), ``{"numeric": [op, n, ...]}``, ``{"anything-but":
value or list}``, ``{"prefix": s}``, ``{"suffix": s}`` and ``{"exists": bool}``. Any
other operator raises,
so a new operator in a rule cannot pass untested.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

_NUMERIC = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _values(event: Any, path: tuple[str, ...]) -> list[Any]:
    """Every leaf value of the event at ``path``, arrays flattened."""
    if isinstance(event, list):
        return [v for item in event for v in _values(item, path)]
    if not path:
        return [event]
    if not isinstance(event, dict) or path[0] not in event:
        return []
    return _values(event[path[0]], path[1:])


def _leaves(
    pattern: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    for key, value in pattern.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        elif isinstance(value, list):
            yield (*path, key), value
        else:
            raise ValueError(f"pattern leaf {'.'.join((*path, key))} is not a list: {value!r}")


def _numeric(rule: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    pairs = list(zip(rule[0::2], rule[1::2], strict=True))
    return all(_NUMERIC[op](value, bound) for op, bound in pairs)


def _one(matcher: Any, values: list[Any], present: bool) -> bool:
    if not isinstance(matcher, dict):
        return any(v == matcher for v in values)
    ((name, argument),) = matcher.items()
    if name == "numeric":
        return any(_numeric(argument, v) for v in values)
    if name == "anything-but":
        excluded = argument if isinstance(argument, list) else [argument]
        return any(v not in excluded for v in values)
    if name == "prefix":
        return any(isinstance(v, str) and v.startswith(argument) for v in values)
    if name == "suffix":
        return any(isinstance(v, str) and v.endswith(argument) for v in values)
    if name == "exists":
        return present is argument
    raise ValueError(f"operator {name!r} is not one the matcher knows")


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern``."""
    for path, matchers in _leaves(pattern):
        values = [v for v in _values(event, path) if not isinstance(v, dict | list)]
        present = bool(_values(event, path))
        if not any(_one(m, values, present) for m in matchers):
            return False
    return True
