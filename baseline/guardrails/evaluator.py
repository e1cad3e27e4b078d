"""The IAM policy evaluator of the guardrails: ``python -m baseline explain`` and the
guardrail behaviour tests both use it.

No maintained Python library evaluates SCPs and RCPs against a request context, so this
one implements the documented rules the guardrails rely on (IAM User Guide, "Policy
evaluation logic" and "Condition operators"), and ``tests/guardrails/test_evaluator.py``
tests it against them:

- a request is denied by an explicit Deny anywhere on the path, and needs an Allow at
  every level (AWS attaches FullAWSAccess / RCPFullAWSAccess at each level);
- Action/NotAction and Resource/NotResource match case-insensitively (actions) and with
  ``*`` and ``?`` wildcards;
- every operator of a condition block must hold, and every key within an operator;
- every IAM condition operator (:data:`OPERATORS`): strings, numbers, dates (ISO 8601 or
  epoch seconds), booleans, binary, IP addresses and networks, ARNs (``ArnEquals`` takes
  wildcards as ``ArnLike`` does), ``Null``;
- a missing key makes a positive operator false and a negated one (``...Not...``) true;
  ``...IfExists`` makes any operator true; ``Null`` tests presence;
- ``ForAnyValue:`` needs one context value to match (false when the key is missing),
  ``ForAllValues:`` needs every value to match (true when the key is missing);
- policy variables (``${aws:PrincipalAccount}``, ``${aws:PrincipalTag/team, 'none'}``) in
  Resource, NotResource and the values of string and ARN conditions take the request's
  value, as literal text (``${*}``, ``${?}`` and ``${$}`` are those characters); a
  statement with a variable the request has no single value for does not apply (AWS: it
  may make the whole statement invalid).
"""

from __future__ import annotations

import datetime
import ipaddress
import operator as compare
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FULL_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Request:
    """One API request as the policies see it."""

    action: str
    resource: str = "*"
    principal_arn: str = "arn:aws:iam::756789012345:role/app-deployer"
    region: str = "eu-west-1"
    context: Mapping[str, Any] = field(default_factory=dict)

    def keys(self) -> dict[str, Any]:
        keys = {
            "aws:PrincipalArn": self.principal_arn,
            "aws:RequestedRegion": self.region,
            **self.context,
        }
        parts = self.principal_arn.split(":")
        if len(parts) > 4 and parts[4] and "aws:PrincipalAccount" not in self.context:
            keys["aws:PrincipalAccount"] = parts[4]  # every request carries its account
        return {k.lower(): v for k, v in keys.items()}


@dataclass(frozen=True)
class _Resolved:
    """A policy value with its variables replaced: pieces of (literal text?, text); a
    variable's value is literal, so a ``*`` in it is no wildcard."""

    pieces: tuple[tuple[bool, str], ...]

    def __str__(self) -> str:
        return "".join(text for _, text in self.pieces)


def _glob(
    pattern: str | _Resolved, value: str, *, case_sensitive: bool = True, arn: bool = False
) -> bool:
    """Whether ``value`` matches a policy's wildcard pattern. With ``arn`` (the Arn
    operators), IAM checks each of an ARN's six colon-separated components on its own: a
    wildcard in one of the first five does not reach past its colon."""
    pieces = pattern.pieces if isinstance(pattern, _Resolved) else ((False, pattern),)
    colons = 0
    parts = []
    for literal, text in pieces:
        for c in text:
            within = arn and colons < 5  # an ARN's first five components
            if literal or c not in "*?":
                parts.append(re.escape(c))
                colons += c == ":"
            elif c == "*":
                parts.append("[^:]*" if within else ".*")
            else:
                parts.append("[^:]" if within else ".")
    regex = "^" + "".join(parts) + "$"
    return re.match(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


#: ``${key}`` or ``${key, 'default'}`` in a policy value.
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULTED = re.compile(r"\s*(.*?)\s*,\s*'(.*)'\s*")
#: The characters a variable stands for literally.
_LITERAL_VARIABLES = frozenset({"*", "?", "$"})
#: The operators whose values may hold policy variables (as their negations do).
_VARIABLE_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}
)


def _variables(text: str) -> list[tuple[str, str | None]]:
    """The (key, default) of each variable of ``text``; ``${*}`` and the like have none."""
    found = []
    for match in _VARIABLE.finditer(text):
        inner = match.group(1).strip()
        if inner in _LITERAL_VARIABLES:
            continue
        defaulted = _DEFAULTED.fullmatch(inner)
        found.append((defaulted.group(1), defaulted.group(2)) if defaulted else (inner, None))
    return found


def _value_of(key: str, default: str | None, keys: Mapping[str, Any]) -> str | None:
    """A variable's value: a single-valued key of the request, else its default."""
    value = keys.get(key.lower())
    if value is None or isinstance(value, list | tuple):  # multi-valued keys are no variables
        return default
    return str(value)


def _resolve(value: Any, keys: Mapping[str, Any]) -> Any:
    """``value`` with its policy variables replaced by the request's values (a
    :class:`_Resolved`); ``value`` itself where it has none."""
    text = str(value)
    if "${" not in text:
        return value
    pieces: list[tuple[bool, str]] = []
    at = 0
    for match in _VARIABLE.finditer(text):
        pieces.append((False, text[at : match.start()]))
        inner = match.group(1).strip()
        if inner in _LITERAL_VARIABLES:
            pieces.append((True, inner))
        else:
            ((key, default),) = _variables(match.group(0))
            pieces.append((True, _value_of(key, default, keys) or ""))
        at = match.end()
    pieces.append((False, text[at:]))
    return _Resolved(tuple(pieces))


def unresolved_keys(statement: Mapping[str, Any], keys: Mapping[str, Any]) -> list[str]:
    """The keys of the statement's policy variables that the request has no single value
    for (and that give no default), in the order they are written."""
    texts = [
        str(v)
        for element in ("Resource", "NotResource")
        for v in _as_list(statement.get(element, []))
    ]
    for operator, block in statement.get("Condition", {}).items():
        base = operator.rsplit(":", 1)[-1].removesuffix("IfExists")
        if _NEGATED.get(base, base) in _VARIABLE_OPERATORS:
            texts += [str(v) for values in block.values() for v in _as_list(values)]
    missing: list[str] = []
    for text in texts:
        for key, default in _variables(text):
            if _value_of(key, default, keys) is None and key not in missing:
                missing.append(key)
    return missing


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


#: Every condition operator IAM has, without its ``IfExists`` suffix and set qualifier.
OPERATORS = frozenset(
    {
        *(f"String{o}" for o in ("Equals", "NotEquals", "EqualsIgnoreCase")),
        *("StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"),
        *(f"{kind}{o}" for kind in ("Numeric", "Date") for o in ("Equals", "NotEquals")),
        *(
            f"{kind}{o}"
            for kind in ("Numeric", "Date")
            for o in ("LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")
        ),
        *("Bool", "BinaryEquals", "IpAddress", "NotIpAddress"),
        *("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"),
    }
)


def _moment(value: Any) -> datetime.datetime | None:
    """A Date operator's value: ISO 8601 (a date, or a time with its zone) or epoch seconds."""
    text = str(value)
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return datetime.datetime.fromtimestamp(float(text), tz=datetime.UTC)
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _in_network(address: Any, network: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address)) in ipaddress.ip_network(
            str(network), strict=False
        )
    except ValueError:  # IAM: a value that is not an address never matches
        return False


def _dates(holds: Callable[[datetime.datetime, datetime.datetime], bool]) -> _Match:
    def match(expected: Any, actual: Any) -> bool:
        a, e = _moment(actual), _moment(expected)
        return a is not None and e is not None and holds(a, e)

    return match


def _numbers(holds: Callable[[float, float], bool]) -> _Match:
    def match(expected: Any, actual: Any) -> bool:
        try:
            a, e = float(actual), float(expected)
        except (TypeError, ValueError):  # IAM: a value that is not a number never matches
            return False
        return holds(a, e)

    return match


_Match = Callable[[Any, Any], bool]


def _pattern(value: Any) -> str | _Resolved:
    return value if isinstance(value, _Resolved) else str(value)


#: Each positive operator: does one context value (actual) match one policy value?
_MATCHES: dict[str, _Match] = {
    "StringEquals": lambda e, a: str(a) == str(e),
    "BinaryEquals": lambda e, a: str(a) == str(e),
    "StringEqualsIgnoreCase": lambda e, a: str(a).lower() == str(e).lower(),
    "StringLike": lambda e, a: _glob(_pattern(e), str(a)),
    "ArnLike": lambda e, a: _glob(_pattern(e), str(a), arn=True),
    "ArnEquals": lambda e, a: _glob(_pattern(e), str(a), arn=True),  # takes wildcards too
    "Bool": lambda e, a: str(a).lower() == str(e).lower(),
    "IpAddress": lambda e, a: _in_network(a, e),
    "NumericEquals": _numbers(compare.eq),
    "NumericLessThan": _numbers(compare.lt),
    "NumericLessThanEquals": _numbers(compare.le),
    "NumericGreaterThan": _numbers(compare.gt),
    "NumericGreaterThanEquals": _numbers(compare.ge),
    "DateEquals": _dates(compare.eq),
    "DateLessThan": _dates(compare.lt),
    "DateLessThanEquals": _dates(compare.le),
    "DateGreaterThan": _dates(compare.gt),
    "DateGreaterThanEquals": _dates(compare.ge),
}


def _match_one(base: str, expected: Any, actual: Any) -> bool:
    """Does one context value satisfy a positive base operator against one policy value?"""
    match = _MATCHES.get(base)
    if match is not None:
        return match(expected, actual)
    raise ValueError(f"operator {base} is not supported by this evaluator")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def condition_holds(operator: str, key: str, expected: Any, keys: Mapping[str, Any]) -> bool:  # noqa: PLR0911
    """One operator/key pair of a Condition block."""
    qualifier = ""
    if ":" in operator and operator.split(":", maxsplit=1)[0] in ("ForAnyValue", "ForAllValues"):
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    present = key.lower() in keys
    if base == "Null":
        return (not present) == (str(expected).lower() == "true")
    if not present:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return base in _NEGATED
    values = _as_list(keys[key.lower()])
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    expected_values = _as_list(expected)
    if positive in _VARIABLE_OPERATORS:
        expected_values = [_resolve(e, keys) for e in expected_values]

    def matches(value: Any) -> bool:
        hit = any(_match_one(positive, e, value) for e in expected_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in values)
    return any(matches(v) for v in values)


def _names_the_action(statement: Mapping[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) takes in the action."""
    if "Action" in statement:
        return any(_glob(a, action, case_sensitive=False) for a in _as_list(statement["Action"]))
    return not any(_glob(a, action, case_sensitive=False) for a in _as_list(statement["NotAction"]))


def _names_the_resource(
    statement: Mapping[str, Any], resource: str, keys: Mapping[str, Any]
) -> bool:
    """Whether the statement's Resource (or NotResource) takes in the resource."""
    if "Resource" in statement:
        return any(
            _glob(_pattern(_resolve(r, keys)), resource) for r in _as_list(statement["Resource"])
        )
    return not any(
        _glob(_pattern(_resolve(r, keys)), resource)
        for r in _as_list(statement.get("NotResource", []))
    )


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if not _names_the_action(statement, request.action):
        return False  # most statements end here, before the request's keys are read
    keys = request.keys()
    if unresolved_keys(statement, keys) or not _names_the_resource(
        statement, request.resource, keys
    ):
        return False
    return all(
        condition_holds(operator, key, expected, keys)
        for operator, block in statement.get("Condition", {}).items()
        for key, expected in block.items()
    )


@dataclass(frozen=True)
class Denial:
    """A statement that denies the request, and where it stands."""

    policy: str
    level: str
    statement: str
    #: the condition blocks that held (all of a Deny's conditions hold when it applies)
    conditions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome along a path: denied by these statements, or not allowed at a level."""

    denied_by: tuple[Denial, ...]
    #: levels where no statement allows the request (an implicit deny)
    not_allowed_at: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.denied_by and not self.not_allowed_at

    def __str__(self) -> str:
        return "Allow" if self.allowed else "Deny"


#: One level of a path: its name (``Root``, an OU path, an account), and its policies as
#: (policy name, document).
Level = tuple[str, Sequence[tuple[str, Mapping[str, Any]]]]


def evaluate(levels: Sequence[Level], request: Request) -> Decision:
    """Every Deny along the path that applies to the request, and every level where
    nothing allows it."""
    denied: list[Denial] = []
    not_allowed: list[str] = []
    for level, policies in levels:
        allowed_here = False
        for name, policy in policies:
            for index, statement in enumerate(_as_list(policy["Statement"])):
                if not statement_applies(statement, request):
                    continue
                if statement["Effect"] == "Deny":
                    denied.append(
                        Denial(
                            name,
                            level,
                            str(statement.get("Sid", f"statement {index + 1}")),
                            dict(statement.get("Condition", {})),
                        )
                    )
                else:
                    allowed_here = True
        if not allowed_here:
            not_allowed.append(level)
    return Decision(tuple(denied), tuple(not_allowed))


def decide(levels: Sequence[Iterable[Mapping[str, Any]]], request: Request) -> str:
    """``Deny`` or ``Allow`` for policies attached along a path (one list per level)."""
    named: list[Level] = [
        (f"level {i}", [(f"policy {j}", p) for j, p in enumerate(policies)])
        for i, policies in enumerate(levels)
    ]
    return str(evaluate(named, request))


__all__ = [
    "FULL_ACCESS",
    "Decision",
    "Denial",
    "Level",
    "Request",
    "condition_holds",
    "decide",
    "evaluate",
    "statement_applies",
]
