"""The filter-pattern reader the alarm controls run patterns with
(baseline/controls/log_patterns.py): each operator, the grouping it refuses to guess, and
the strict reading of absent fields."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.controls.log_patterns import (
    BACKGROUNDS,
    PatternError,
    catches,
    compile_pattern,
    event,
    matches,
)

RECORD = event(
    {
        "eventName": "PutRolePolicy",
        "errorCode": "Client.UnauthorizedOperation",
        "userIdentity.type": "Root",
        "requestParameters.count": 5,
        "requestParameters.flag": True,
    }
)
RECORD["requestParameters"]["nothing"] = None  # a JSON null (event() leaves None fields out)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventName = "PutRolePolicy" }', True),
        ("{ $.eventName = PutRolePolicy }", True),
        ("{ $.eventName = Put* }", True),
        # only * is a wildcard: ? and [...] stand for themselves
        ('{ $.eventName = "[P]ut*" }', False),
        ('{ $.eventName = "Put?olePolicy" }', False),
        ('{ $.errorCode = "*UnauthorizedOperation" }', True),
        ('{ $.errorCode = "AccessDenied*" }', False),
        ("{ $.eventName != PutRolePolicy }", False),
        ("{ $.eventName != GetRole }", True),
        ("{ $.requestParameters.count > 4 }", True),
        ("{ $.requestParameters.count <= 4 }", False),
        ("{ $.requestParameters.flag IS TRUE }", True),
        ("{ $.requestParameters.flag IS FALSE }", False),
        ("{ $.requestParameters.nothing IS NULL }", True),
        ("{ $.userIdentity.invokedBy NOT EXISTS }", True),
        ("{ $.userIdentity.type NOT EXISTS }", False),
        ("{ ($.eventName = GetRole) || ($.eventName = PutRolePolicy) }", True),
        ("{ ($.eventName = GetRole) && ($.userIdentity.type = Root) }", False),
        (
            "{ (($.eventName = GetRole) || ($.eventName = Put*)) && ($.userIdentity.type = Root) }",
            True,
        ),
        # a comparison with an absent field is false, != included
        ("{ $.sourceIPAddress != delivery.logs.amazonaws.com }", False),
        ("{ $.requestParameters = x }", False),
    ],
)
def test_a_pattern_matches_as_written(pattern: str, expected: bool) -> None:
    assert matches(pattern, RECORD) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "{ ($.a = 1) || ($.b = 2) && ($.c = 3) }",
        "{ $.a = 1 ",
        "$.a = 1",
        "{ ($.a = 1) || }",
        "{ $.a 1 }",
        "{ $.a = }",
        '{ $.a = "open }',
        "{ $.a = 1 } extra",
    ],
    ids=[
        "grouping left open",
        "unclosed brace",
        "no braces",
        "dangling or",
        "no operator",
        "no value",
        "unclosed quote",
        "text after the pattern",
    ],
)
def test_a_pattern_outside_the_grammar_is_refused_and_matches_nothing(pattern: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(pattern)
    assert matches(pattern, RECORD) is False
    assert catches(pattern, [{}]) is False


def test_a_record_is_built_from_dotted_fields_over_a_base() -> None:
    built = event({"userIdentity.type": "Root", "userIdentity.arn": None}, BACKGROUNDS[0])
    assert built["userIdentity"]["type"] == "Root"
    assert "arn" not in built["userIdentity"]
    assert built["awsRegion"] == BACKGROUNDS[0]["awsRegion"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventName = "CreateTrail" }', True),
        ('{ ($.eventName = "CreateTrail") && ($.recipientAccountId = "111122223333") }', False),
        ('{ ($.eventName = "CreateTrail") && ($.userIdentity.type = "IAMUser") }', False),
        ('{ $.eventName = "*" }', False),
    ],
    ids=["the event", "one account", "one kind of caller", "every event"],
)
def test_catches_wants_every_background_and_no_unwanted_record(
    pattern: str, expected: bool
) -> None:
    wanted: list[dict[str, Any]] = [{"eventName": "CreateTrail"}]
    unwanted: list[dict[str, Any]] = [{"eventName": "DescribeTrails"}]
    assert catches(pattern, wanted, unwanted) is expected
