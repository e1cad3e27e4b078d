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


_ACCOUNT = "756789012345"  # the account of Request's default principal


@pytest.mark.parametrize(
    ("resource", "context", "resource_asked", "denied"),
    [
        # the request's value takes the variable's place
        ("arn:aws:s3:::logs-${aws:PrincipalAccount}", {}, f"arn:aws:s3:::logs-{_ACCOUNT}", True),
        ("arn:aws:s3:::logs-${aws:PrincipalAccount}", {}, "arn:aws:s3:::logs-111122223333", False),
        # key names are case-insensitive, and spaces beside them are ignored
        ("arn:aws:s3:::logs-${ AWS:principalaccount }", {}, f"arn:aws:s3:::logs-{_ACCOUNT}", True),
        # a variable's value is literal text: a * in it is no wildcard
        (
            "arn:aws:s3:::t-${aws:PrincipalTag/team}",
            {"aws:PrincipalTag/team": "a*"},
            "arn:aws:s3:::t-a*",
            True,
        ),
        (
            "arn:aws:s3:::t-${aws:PrincipalTag/team}",
            {"aws:PrincipalTag/team": "a*"},
            "arn:aws:s3:::t-abc",
            False,
        ),
        # ${*} is a literal *; a * beside it is still a wildcard
        ("arn:aws:s3:::a${*}b", {}, "arn:aws:s3:::a*b", True),
        ("arn:aws:s3:::a${*}b", {}, "arn:aws:s3:::axb", False),
        ("arn:aws:s3:::a${*}*", {}, "arn:aws:s3:::a*xyz", True),
        # a default stands in for a key the request does not carry
        ("arn:aws:s3:::t-${aws:PrincipalTag/team, 'none'}", {}, "arn:aws:s3:::t-none", True),
        # without a value, or with several, the statement does not apply
        ("arn:aws:s3:::t-${aws:PrincipalTag/team}", {}, "arn:aws:s3:::t-", False),
        ("arn:aws:s3:::t-${aws:TagKeys}", {"aws:TagKeys": ["a"]}, "arn:aws:s3:::t-a", False),
    ],
    ids=[
        "own account",
        "another account",
        "key in other case",
        "value with a star, literal",
        "value with a star, no wildcard",
        "${*} literal",
        "${*} no wildcard",
        "${*} and a wildcard",
        "default",
        "no value",
        "multi-valued",
    ],
)
def test_policy_variables_in_a_resource_take_the_requests_values(
    resource: str, context: dict[str, Any], resource_asked: str, denied: bool
) -> None:
    policy = _deny(Action="s3:DeleteBucket", Resource=resource)
    request = Request("s3:DeleteBucket", resource_asked, context=context)
    assert (decide([[FULL_ACCESS, policy]], request) == "Deny") is denied


def test_policy_variables_in_conditions_take_the_requests_values() -> None:
    """The classic: deny acting on a resource of another account than the caller's."""
    policy = _deny(
        Action="s3:PutObject",
        Condition={"StringNotEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
    )

    def decision(resource_account: str) -> str:
        context = {"aws:ResourceAccount": resource_account}
        return decide([[FULL_ACCESS, policy]], Request("s3:PutObject", context=context))

    assert decision(_ACCOUNT) == "Allow"
    assert decision("111122223333") == "Deny"
    # ARN operators take variables too; a Numeric one compares the text as written
    arn = {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:${aws:PrincipalAccount}:*"}}
    assert condition_holds(
        "ArnLike",
        "aws:SourceArn",
        arn["ArnLike"]["aws:SourceArn"],
        {"aws:sourcearn": f"arn:aws:sns:eu-west-1:{_ACCOUNT}:t", "aws:principalaccount": _ACCOUNT},
    )
    assert not condition_holds(
        "NumericEquals",
        "s3:max-keys",
        "${aws:PrincipalAccount}",
        {"s3:max-keys": _ACCOUNT, "aws:principalaccount": _ACCOUNT},
    )


@pytest.mark.parametrize(
    ("operator", "value", "holds"),
    [
        ("ArnLike", "arn:aws:iam::111122223333:policy/nwl-boundary", True),
        ("ArnLike", "arn:aws:iam::111122223333:policy/x:policy/nwl-boundary", False),
        ("StringLike", "arn:aws:iam::111122223333:policy/x:policy/nwl-boundary", True),
        ("ArnLike", "arn:aws:iam::111122223333:policy/team/nwl-boundary", False),
        ("ArnNotLike", "arn:aws:iam::111122223333:policy/x:policy/nwl-boundary", True),
    ],
)
def test_the_arn_operators_match_an_arn_part_by_part(
    operator: str, value: str, holds: bool
) -> None:
    """IAM checks each of an ARN's six components on its own: the account's wildcard stops
    at its colon, where a string operator's runs on into the resource."""
    pattern = "arn:aws:iam::*:policy/nwl-boundary"
    keys = {"iam:permissionsboundary": value}
    assert condition_holds(operator, "iam:PermissionsBoundary", pattern, keys) is holds
