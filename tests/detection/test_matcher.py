"""The EventBridge pattern matcher, operator by operator, each with its negative."""

from __future__ import annotations

import pytest

from tests.detection.matcher import matches

EVENT = {
    "source": "aws.guardduty",
    "detail": {
        "severity": 8,
        "type": "Backdoor:EC2/C&CActivity.B!DNS",
        "findings": [{"ProductName": "Macie", "Region": "eu-central-1"}, {"ProductName": "X"}],
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.guardduty"]}, True),
        ({"source": ["aws.inspector2"]}, False),
        ({"source": ["aws.guardduty", "aws.inspector2"]}, True),  # a list is an OR
        ({"detail": {"severity": [{"numeric": [">=", 7]}]}}, True),
        ({"detail": {"severity": [{"numeric": [">=", 9]}]}}, False),
        ({"detail": {"severity": [{"numeric": [">", 7, "<", 8]}]}}, False),  # both bounds
        ({"detail": {"type": [{"prefix": "Backdoor:"}]}}, True),
        ({"detail": {"type": [{"prefix": "Trojan:"}]}}, False),
        ({"detail": {"type": [{"suffix": "!DNS"}]}}, True),
        ({"detail": {"type": [{"suffix": "Backdoor:"}]}}, False),
        ({"detail": {"findings": {"ProductName": ["Macie"]}}}, True),  # any array element
        ({"detail": {"findings": {"ProductName": [{"anything-but": ["Macie", "X"]}]}}}, False),
        ({"detail": {"findings": {"ProductName": [{"anything-but": ["Macie"]}]}}}, True),
        ({"detail": {"findings": {"Region": [{"anything-but": "eu-west-1"}]}}}, True),
        ({"detail": {"missing": ["x"]}}, False),  # a path the event lacks matches nothing
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"severity": [{"exists": True}]}}, True),
        ({"source": ["aws.guardduty"], "detail": {"severity": [2]}}, False),  # every field
    ],
)
def test_each_operator(pattern: dict, expected: bool) -> None:  # type: ignore[type-arg]
    assert matches(pattern, EVENT) is expected


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="'wildcard' is not one the matcher knows"):
        matches({"source": [{"wildcard": "*duty"}]}, EVENT)
