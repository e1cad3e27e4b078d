"""Identity controls (baseline/controls/identity.py): each fails once its property is removed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    control,
    edit_member_template,
    first,
    member_resources,
    rename_operator,
    weakened,
)

WEAKENINGS: dict[str, Weakening] = {
    "LZ-ID-01": lambda t: first(
        t, "AWS::SSO::PermissionSet", lambda r: r["Properties"]["Name"] == "Administrator"
    )["Properties"].update(SessionDuration="PT8H"),
    "LZ-ID-02": lambda t: first(t, "AWS::SSO::InstanceAccessControlAttributeConfiguration")[
        "Properties"
    ]["AccessControlAttributes"][0]["Value"].update(Source=["engineering"]),
    "LZ-ID-03": lambda t: _third_party_trust(t)["Condition"].clear(),
    "LZ-ID-04": lambda t: edit_member_template(t, _break_glass_trust(lambda s: s.pop("Condition"))),
}


def _break_glass_trust(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """An edit of a baseline copy: ``edit`` on each statement of its break-glass role's trust."""

    def apply(template: dict[str, Any]) -> None:
        for role in member_resources(template, "AWS::IAM::Role"):
            if str(role["Properties"].get("RoleName", "")).endswith("-break-glass"):
                for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                    edit(statement)

    return apply


def _drop_break_glass(template: dict[str, Any]) -> None:
    template["Resources"] = {
        logical_id: r
        for logical_id, r in template["Resources"].items()
        if not str(r.get("Properties", {}).get("RoleName", "")).endswith("-break-glass")
    }


def _break_glass_filter(t: MutableTemplates) -> dict[str, Any]:
    return first(
        t,
        "AWS::Logs::MetricFilter",
        lambda r: "nwl-break-glass" in str(r["Properties"].get("FilterPattern", "")),
    )["Properties"]


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


_ROLE_ARN = "$.requestParameters.roleArn"


@pytest.mark.parametrize(
    "weaken",
    [
        lambda t: edit_member_template(t, _break_glass_trust(lambda s: s["Condition"].pop("Bool"))),
        lambda t: edit_member_template(
            t,
            _break_glass_trust(
                lambda s: s["Condition"]["NumericLessThan"].update(
                    {"aws:MultiFactorAuthAge": "129600"}
                )
            ),
        ),
        lambda t: edit_member_template(
            t, _break_glass_trust(lambda s: s["Condition"].pop("NumericLessThan"))
        ),
        lambda t: edit_member_template(
            t,
            _break_glass_trust(
                lambda s: s["Condition"]["ArnEquals"].update(
                    {"aws:PrincipalArn": ["arn:aws:iam::210987654321:role/*"]}
                )
            ),
        ),
        lambda t: edit_member_template(
            t, _break_glass_trust(lambda s: s["Condition"].pop("ArnEquals"))
        ),
        lambda t: edit_member_template(t, _drop_break_glass),
        lambda t: _drop_break_glass(t["ManagementBaseline-eu-west-1"]),
        lambda t: _break_glass_filter(t).update(
            FilterPattern=f'{{ ($.eventName = "AssumeRole") && ({_ROLE_ARN} = "*:role/other") }}'
        ),
        lambda t: _break_glass_filter(t).update(
            FilterPattern='{ ($.eventName = "AssumeRole") && '
            f'({_ROLE_ARN} = "arn:aws:iam::210987654321:role/nwl-break-glass") }}'
        ),
        lambda t: _break_glass_filter(t).update(
            FilterPattern=f'{{ ($.eventName = "AssumeRole") && ({_ROLE_ARN} = '
            '"*:role/nwl-break-glass") && ($.userIdentity.type = "Root") }'
        ),
        lambda t: _break_glass_filter(t).update(
            FilterPattern=f'{{ ($.eventName = "GetRole") && ({_ROLE_ARN} = '
            '"*:role/nwl-break-glass") }'
        ),
        lambda t: _break_glass_filter(t)["MetricTransformations"][0].update(MetricName="Elsewhere"),
    ],
    ids=[
        "no MFA",
        "MFA of 36 hours",
        "no MFA age",
        "any role of the account",
        "no principal names",
        "no member role",
        "no management role",
        "filter on another role",
        "filter on one account",
        "filter narrowed",
        "filter on another event",
        "filter alarms nothing",
    ],
)
def test_fails_when_emergency_access_is_open_or_quiet(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-ID-04", weaken, synthesized)


def test_a_config_without_break_glass_has_no_evidence_and_no_violation(
    synthesized: Synthesized,
) -> None:
    """Without the role anywhere the control has nothing to prove (the report calls it
    not applicable to such a config); one role left behind is a violation."""

    def drop_everywhere(t: MutableTemplates) -> None:
        edit_member_template(t, _drop_break_glass)
        for stack, template in t.items():
            if stack.startswith("ManagementBaseline-"):
                _drop_break_glass(template)

    evidence = control("LZ-ID-04").check(weakened(synthesized, drop_everywhere))
    assert (evidence.found, evidence.violations) == ([], [])
