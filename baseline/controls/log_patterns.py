"""CloudWatch Logs filter patterns for JSON log events, read and run against events.

A check that a metric filter catches what it should asks the pattern itself: it runs
the pattern against CloudTrail records made for the purpose (:func:`matches`), rather
than searching its text, so a clause that narrows a pattern to nothing cannot hide in
it. The grammar is the JSON form of the filter pattern syntax
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
``{ <expression> }``, where an expression joins terms with ``&&`` or ``||``, grouped by
parentheses, and a term is ``$.a.b = value`` or ``!=`` (a value
quoted or bare, ``*`` a wildcard), a numeric comparison (``<``, ``<=``, ``>``, ``>=``),
``$.a NOT EXISTS``, or ``$.a IS NULL``, ``IS TRUE``, ``IS FALSE``.

What this reads more strictly than CloudWatch Logs, so that a doubt fails a check: a
pattern it cannot parse matches nothing; ``&&`` and ``||`` side by side without
parentheses (``A || B && C``), whose grouping the documentation leaves open, are not
parsed; and a comparison (``!=`` included) with a field the event lacks is false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: The tokens of a pattern, in the order they are tried.
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<punct>&&|\|\||[{}()])
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<keyword>NOT\s+EXISTS|IS\s+NULL|IS\s+TRUE|IS\s+FALSE)\b
      | (?P<selector>\$\.[A-Za-z0-9_$.\[\]-]+)
      | "(?P<quoted>(?:[^"\\]|\\.)*)"
      | (?P<bare>[^\s(){}&|"=!<>]+)
    )""",
    re.VERBOSE,
)

#: An event that matches, or not: a function of one CloudTrail record.
Matcher = Callable[[Mapping[str, Any]], bool]

_MISSING = object()


class PatternError(ValueError):
    """A pattern outside the grammar this module reads."""


def _tokens(pattern: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(pattern):
        if not pattern[position:].strip():
            break
        match = _TOKEN.match(pattern, position)
        if match is None or match.end() == position:
            raise PatternError(f"cannot read the pattern at {pattern[position:][:20]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _field(event: Mapping[str, Any], selector: str) -> Any:
    """The value at ``$.a.b`` of an event, or ``_MISSING``."""
    value: Any = event
    for part in selector.removeprefix("$.").split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _wildcard(literal: str) -> re.Pattern[str]:
    """A value of a pattern as a regular expression: ``*`` any run of characters, and
    every other character itself (``?`` and ``[`` too, unlike a shell's glob)."""
    return re.compile(".*".join(re.escape(part) for part in literal.split("*")), re.DOTALL)


def _compare(operator: str, value: Any, literal: str) -> bool:
    if value is _MISSING or value is None or isinstance(value, (dict, list)):
        return False
    if operator in ("=", "!="):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        equal = _wildcard(literal).fullmatch(text) is not None
        return equal if operator == "=" else not equal
    left, right = _number(str(value)), _number(literal)
    if left is None or right is None:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
        operator
    ]


_KEYWORDS: dict[str, Callable[[Any], bool]] = {
    "NOT EXISTS": lambda v: v is _MISSING,
    "IS NULL": lambda v: v is None,
    "IS TRUE": lambda v: v is True,
    "IS FALSE": lambda v: v is False,
}


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.tokens = _tokens(pattern)
        self.at = 0

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def _take(self, kind: str, text: str | None = None) -> str:
        found_kind, found = self._peek()
        if found_kind != kind or (text is not None and found != text):
            raise PatternError(f"expected {text or kind}, found {found or 'the end'!r}")
        self.at += 1
        return found

    def pattern(self) -> Matcher:
        self._take("punct", "{")
        matcher = self._expression()
        self._take("punct", "}")
        self._take("end")
        return matcher

    def _expression(self) -> Matcher:
        """Terms joined by one of ``&&`` and ``||``: both at one level, without
        parentheses, leave the reader to guess which binds first, and are refused."""
        terms = [self._atom()]
        joins = set()
        while self._peek() in (("punct", "&&"), ("punct", "||")):
            joins.add(self._peek()[1])
            self.at += 1
            terms.append(self._atom())
        if len(joins) > 1:
            raise PatternError("&& and || at one level: parenthesise one of them")
        if len(terms) == 1:
            return terms[0]
        return (
            (lambda e: any(t(e) for t in terms))
            if joins == {"||"}
            else (lambda e: all(t(e) for t in terms))
        )

    def _atom(self) -> Matcher:
        if self._peek() == ("punct", "("):
            self.at += 1
            inner = self._expression()
            self._take("punct", ")")
            return inner
        selector = self._take("selector")
        kind, text = self._peek()
        self.at += 1
        if kind == "keyword":
            test = _KEYWORDS[" ".join(text.split())]
            return lambda e: test(_field(e, selector))
        if kind != "op":
            raise PatternError(f"expected an operator after {selector}, found {text!r}")
        value_kind, literal = self._peek()
        if value_kind not in ("quoted", "bare"):
            raise PatternError(f"expected a value after {selector} {text}")
        self.at += 1
        return lambda e: _compare(text, _field(e, selector), literal)


def compile_pattern(pattern: str) -> Matcher:
    """The matcher of a JSON filter pattern; :class:`PatternError` outside the grammar."""
    return _Parser(pattern).pattern()


def matches(pattern: str, event: Mapping[str, Any]) -> bool:
    """Whether a pattern matches an event; a pattern outside the grammar matches nothing."""
    try:
        return compile_pattern(pattern)(event)
    except PatternError:
        return False


def event(fields: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A log event from dotted paths (``{"userIdentity.type": "Root"}``) over ``base``;
    a path given None is left out."""
    built: dict[str, Any] = {}
    for path, value in {**(base or {}), **fields}.items():
        *parents, leaf = path.split(".")
        node = built
        for parent in parents:
            node = node.setdefault(parent, {})
        if value is not None:
            node[leaf] = value
    return built


#: Two CloudTrail records that differ in every field a pattern should not care about
#: (account, region, caller, address, client): what a pattern must catch is built over
#: each, so a clause that narrows it to one account or caller misses the other.
BACKGROUNDS: tuple[Mapping[str, Any], ...] = (
    {
        "eventVersion": "1.09",
        "eventType": "AwsApiCall",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "recipientAccountId": "111122223333",
        "userIdentity.type": "AssumedRole",
        "userIdentity.accountId": "111122223333",
        "userIdentity.arn": "arn:aws:sts::111122223333:assumed-role/Operator/jane",
    },
    {
        "eventVersion": "1.08",
        "eventType": "AwsApiCall",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "cloudformation.amazonaws.com",
        "userAgent": "console.amazonaws.com",
        "recipientAccountId": "444455556666",
        "userIdentity.type": "IAMUser",
        "userIdentity.accountId": "444455556666",
        "userIdentity.arn": "arn:aws:iam::444455556666:user/deploy",
    },
)


def catches(
    pattern: str,
    wanted: Sequence[Mapping[str, Any]],
    unwanted: Sequence[Mapping[str, Any]] = (),
) -> bool:
    """Whether a pattern matches each wanted record (dotted fields, built over each of
    :data:`BACKGROUNDS`) and none of the unwanted ones (over the first)."""
    try:
        matcher = compile_pattern(pattern)
    except PatternError:
        return False
    return all(matcher(event(fields, base)) for base in BACKGROUNDS for fields in wanted) and (
        not any(matcher(event(fields, BACKGROUNDS[0])) for fields in unwanted)
    )
