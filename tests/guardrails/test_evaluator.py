"""The test evaluator follows the documented IAM evaluation rules the guardrails rely on."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.guardrails.evaluator import (
    FULL_ACCESS,
    Request,
    condition_holds,
    decide,
    statement_applies,
)


def _deny(**statement: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Resource": "*", **statement}],
    }


@pytest.mark.parametrize(
    ("operator", "expected", "keys", "holds"),
    [
        # a missing key: positive operators are false, negated ones true
        ("StringEquals", "x", {}, False),
        ("StringNotEquals", "x", {}, True),
        ("StringNotLike", "x*", {}, True),
        ("ArnNotLike", "arn:aws:iam::*:role/a", {}, True),
        ("NumericGreaterThan", "2", {}, False),
        # ...IfExists makes a missing key true, whatever the operator
        ("StringEqualsIfExists", "x", {}, True),
        ("StringNotEqualsIfExists", "x", {}, True),
        ("BoolIfExists", "false", {}, True),
        # present keys compare as usual
        ("StringNotEqualsIfExists", "x", {"k": "x"}, False),
        ("StringNotEqualsIfExists", "x", {"k": "y"}, True),
        ("StringNotEquals", ["a", "b"], {"k": "b"}, False),
        ("StringNotEquals", ["a", "b"], {"k": "c"}, True),
        ("StringLike", "ab*", {"k": "abc"}, True),
        ("Bool", "false", {"k": "false"}, True),
        ("Bool", "false", {"k": "true"}, False),
        ("NumericGreaterThan", "2", {"k": "3"}, True),
        ("NumericGreaterThan", "2", {"k": 2}, False),
        # Null tests presence
        ("Null", "true", {}, True),
        ("Null", "false", {}, False),
        ("Null", "false", {"k": "v"}, True),
        # set operators
        ("ForAnyValue:StringLike", ["alias/nwl/*"], {}, False),
        ("ForAnyValue:StringLike", ["alias/nwl/*"], {"k": ["alias/app", "alias/nwl/logs"]}, True),
        ("ForAnyValue:StringLike", ["alias/nwl/*"], {"k": ["alias/app"]}, False),
        ("ForAllValues:StringEquals", ["a", "b"], {}, True),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "c"]}, False),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "b"]}, True),
        # addresses: in a network, or not; a value that is no address never matches
        ("IpAddress", "198.51.100.0/24", {"k": "198.51.100.7"}, True),
        ("IpAddress", ["203.0.113.0/24", "2001:db8::/32"], {"k": "2001:db8::1"}, True),
        ("NotIpAddress", "198.51.100.0/24", {"k": "198.51.100.7"}, False),
        ("NotIpAddress", "198.51.100.0/24", {"k": "192.0.2.1"}, True),
        ("NotIpAddress", "198.51.100.0/24", {}, True),
        ("IpAddress", "198.51.100.0/24", {"k": "not-an-address"}, False),
        # dates: ISO 8601 or epoch seconds, compared as moments
        ("DateGreaterThan", "2026-01-01T00:00:00Z", {"k": "2026-06-01T12:00:00Z"}, True),
        ("DateLessThan", "2026-01-01T00:00:00Z", {"k": "2026-06-01T12:00:00Z"}, False),
        ("DateLessThanEquals", "2026-01-01", {"k": "1767225600"}, True),  # the same moment
        ("DateNotEquals", "2026-01-01", {"k": "2026-01-02"}, True),
        ("DateEquals", "2026-01-01", {"k": "yesterday"}, False),
        # ARNs take wildcards under ArnEquals as under ArnLike
        ("ArnEquals", "arn:aws:iam::*:role/a", {"k": "arn:aws:iam::111122223333:role/a"}, True),
        ("ArnNotEquals", "arn:aws:iam::*:role/a", {"k": "arn:aws:iam::111122223333:role/b"}, True),
    ],
)
def test_condition_operators(
    operator: str, expected: Any, keys: dict[str, Any], holds: bool
) -> None:
    assert condition_holds(operator, "k", expected, keys) is holds


def test_condition_keys_are_case_insensitive() -> None:
    request = Request("s3:GetObject", context={"AWS:SourceOrgID": "o-1"})
    assert statement_applies(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:sourceorgid": "o-1"}},
        },
        request,
    )


def test_not_action_denies_everything_else() -> None:
    policy = _deny(NotAction=["iam:*", "sts:*"])
    assert decide([[FULL_ACCESS, policy]], Request("ec2:RunInstances")) == "Deny"
    assert decide([[FULL_ACCESS, policy]], Request("iam:CreateRole")) == "Allow"
    assert (
        decide([[FULL_ACCESS, policy]], Request("IAM:createrole")) == "Allow"
    )  # actions ignore case


def test_explicit_deny_at_any_level_wins() -> None:
    deny = _deny(Action="s3:*")
    assert (
        decide([[FULL_ACCESS], [FULL_ACCESS, deny], [FULL_ACCESS]], Request("s3:GetObject"))
        == "Deny"
    )


def test_every_level_needs_an_allow() -> None:
    assert decide([[FULL_ACCESS], []], Request("s3:GetObject")) == "Deny"
    assert decide([[FULL_ACCESS], [FULL_ACCESS]], Request("s3:GetObject")) == "Allow"


def test_resources_match_with_wildcards() -> None:
    policy = _deny(Action="s3:*", Resource=["arn:aws:s3:::nwl-*"])
    assert (
        decide(
            [[FULL_ACCESS, policy]], Request("s3:PutBucketPolicy", resource="arn:aws:s3:::nwl-logs")
        )
        == "Deny"
    )
    assert (
        decide(
            [[FULL_ACCESS, policy]], Request("s3:PutBucketPolicy", resource="arn:aws:s3:::app-data")
        )
        == "Allow"
    )


def test_a_request_carries_the_principals_account() -> None:
    request = Request("s3:GetObject", principal_arn="arn:aws:iam::111122223333:role/app")
    assert request.keys()["aws:principalaccount"] == "111122223333"
    statement = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ["444455556666"]}},
    }
    assert statement_applies(statement, request)
    other = Request("s3:GetObject", principal_arn="arn:aws:iam::444455556666:role/app")
    assert not statement_applies(statement, other)
