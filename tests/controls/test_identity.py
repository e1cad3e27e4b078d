"""Identity controls (baseline/controls/identity.py): each fails once its property is removed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    first,
    rename_operator,
)

WEAKENINGS: dict[str, Weakening] = {
    "LZ-ID-01": lambda t: first(
        t, "AWS::SSO::PermissionSet", lambda r: r["Properties"]["Name"] == "Administrator"
    )["Properties"].update(SessionDuration="PT8H"),
    "LZ-ID-02": lambda t: first(t, "AWS::SSO::InstanceAccessControlAttributeConfiguration")[
        "Properties"
    ]["AccessControlAttributes"][0]["Value"].update(Source=["engineering"]),
    "LZ-ID-03": lambda t: _third_party_trust(t)["Condition"].clear(),
}


def _third_party_trust(t: MutableTemplates) -> dict[str, Any]:
    role = first(
        t,
        "AWS::IAM::Role",
        lambda r: "third-party" in str(r["Properties"].get("RoleName", "")),
    )
    statement: dict[str, Any] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    return statement


def _ci_trust(t: MutableTemplates) -> dict[str, Any]:
    role = first(
        t,
        "AWS::IAM::Role",
        lambda r: r["Properties"].get("RoleName") == "nwl-ci-landing-zone-deploy",
    )
    statement: dict[str, Any] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    return statement


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_on_a_session_over_twelve_hours(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-ID-01",
        lambda t: first(
            t, "AWS::SSO::PermissionSet", lambda r: r["Properties"]["Name"] == "ReadOnly"
        )["Properties"].update(SessionDuration="PT13H"),
        synthesized,
    )


def test_fails_on_an_assignment_that_is_not_to_one_account(synthesized: Synthesized) -> None:
    """The assignments live in the nested shard templates; the check reads them there."""
    assert_weakening_breaks(
        "LZ-ID-01",
        lambda t: first(t, "AWS::SSO::Assignment")["Properties"].update(
            TargetType="ALL_PROVISIONED_ACCOUNTS"
        ),
        synthesized,
    )


def test_fails_when_no_group_is_assigned_anything(synthesized: Synthesized) -> None:
    def users_only(t: MutableTemplates) -> None:
        for template in t.values():
            for resource in template["Resources"].values():
                if resource["Type"] == "AWS::SSO::Assignment":
                    resource["Properties"]["PrincipalType"] = "USER"

    assert_weakening_breaks("LZ-ID-02", users_only, synthesized)


@pytest.mark.parametrize(
    "subject",
    ["repo:northwind/*:ref:refs/heads/main", "repo:*/landing-zone:environment:production", "*"],
)
def test_fails_on_a_ci_role_that_trusts_other_repositories(
    subject: str, synthesized: Synthesized
) -> None:
    def widen(t: MutableTemplates) -> None:
        _ci_trust(t)["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] = [
            subject
        ]

    assert_weakening_breaks("LZ-ID-03", widen, synthesized)


def test_fails_on_a_ci_role_without_the_audience(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-ID-03",
        lambda t: _ci_trust(t)["Condition"]["StringEquals"].pop(
            "token.actions.githubusercontent.com:aud"
        ),
        synthesized,
    )


def test_fails_on_a_cross_account_trust_without_a_binding_condition(
    synthesized: Synthesized,
) -> None:
    def unbind(t: MutableTemplates) -> None:
        role = first(
            t,
            "AWS::IAM::Role",
            lambda r: (
                "AuditReadOnly" in str(r["Properties"].get("RoleName", ""))
                or "audit" in str(r["Properties"].get("RoleName", ""))
            ),
        )
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            statement.pop("Condition", None)

    assert_weakening_breaks("LZ-ID-03", unbind, synthesized)


def test_fails_on_a_trust_of_anyone(synthesized: Synthesized) -> None:
    def anyone(t: MutableTemplates) -> None:
        statement = _third_party_trust(t)
        statement["Principal"] = {"AWS": "*"}
        statement.pop("Condition")

    assert_weakening_breaks("LZ-ID-03", anyone, synthesized)


@pytest.mark.parametrize(
    "condition",
    [
        {"ArnLike": {"aws:PrincipalArn": "*"}},
        {"StringEquals": {"aws:PrincipalOrgID": ["*"]}},
    ],
)
def test_fails_on_a_binding_condition_that_binds_nothing(
    condition: dict[str, Any], synthesized: Synthesized
) -> None:
    assert_weakening_breaks(
        "LZ-ID-03", lambda t: _third_party_trust(t).update(Condition=condition), synthesized
    )


def test_fails_on_a_principal_computed_at_deploy_time_without_a_condition(
    synthesized: Synthesized,
) -> None:
    def computed(t: MutableTemplates) -> None:
        statement = _third_party_trust(t)
        statement["Principal"] = {"AWS": {"Fn::Sub": "arn:aws:iam::${Vendor}:root"}}
        statement.pop("Condition")

    assert_weakening_breaks("LZ-ID-03", computed, synthesized)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringNotEquals": {"sts:ExternalId": "northwind-posture-7f3c91"}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::999988887777:*"}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::999988887777:role/scanner"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-nw7k2m9q4x"}},
    ],
    ids=[
        "external id negated",
        "any principal of the vendor",
        "a named vendor role, no external id",
        "organisation id for an outside account",
    ],
)
def test_fails_on_a_third_party_trust_without_its_external_id(
    condition: dict[str, Any], synthesized: Synthesized
) -> None:
    """An account outside the organisation must give its external id, under StringEquals."""
    assert_weakening_breaks(
        "LZ-ID-03", lambda t: _third_party_trust(t).update(Condition=condition), synthesized
    )


def test_fails_on_a_named_principal_under_a_negated_operator(synthesized: Synthesized) -> None:
    """ArnNotLike on aws:PrincipalArn lets in every principal but the named ones."""

    def negate(t: MutableTemplates) -> None:
        audit = first(
            t,
            "AWS::IAM::Role",
            lambda r: (
                str(r["Properties"].get("RoleName", "")).endswith("-audit-readonly")
                and "ArnLike" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
            ),
        )
        for statement in audit["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            rename_operator(statement, "ArnLike", "ArnNotLike")

    assert_weakening_breaks("LZ-ID-03", negate, synthesized)
