"""CI and third-party roles from the config, in the core accounts that hold them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from baseline.config import ConfigError, parse_config
from tests.conftest import Synthesized


def _roles(synthesized: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RoleName"]: r["Properties"]
        for r in synthesized.templates[stack]["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    }


def test_the_pipeline_role_trusts_one_environment_and_may_only_assume_deploy_roles(
    synthesized: Synthesized,
) -> None:
    template = synthesized.templates["MachineAccess-management"]
    roles = _roles(synthesized, "MachineAccess-management")
    assert set(roles) == {"nwl-ci-landing-zone-deploy", "nwl-ci-landing-zone-diff"}
    role = roles["nwl-ci-landing-zone-deploy"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        "repo:northwind/landing-zone:environment:production"
    ]
    policies = {
        r["Properties"]["Roles"][0]["Ref"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    }
    (policy,) = [p for ref, p in policies.items() if ref.startswith("CiLandingZoneDeployRole")]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert all(r.startswith("arn:aws:iam::*:role/cdk-lzbaseline-") for r in statement["Resource"])
    # the diff role of the same pipeline reads only: the lookup roles, from main
    (diff_policy,) = [p for ref, p in policies.items() if ref.startswith("CiLandingZoneDiffRole")]
    (diff_statement,) = diff_policy["PolicyDocument"]["Statement"]
    assert diff_statement["Resource"] == "arn:aws:iam::*:role/cdk-lzbaseline-lookup-role-*"
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}
    }
    # the member baseline made the account's one GitHub provider: the role references it
    providers = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    assert providers == []
    assert "oidc-provider/token.actions.githubusercontent.com" in str(trust["Principal"])


def test_the_member_baseline_makes_the_github_provider_once_per_account(
    synthesized: Synthesized,
) -> None:
    import json

    (stack_set,) = [
        r
        for r in synthesized.templates["MemberBaseline"]["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::StackSet"
    ]
    member = json.loads(stack_set["Properties"]["TemplateBody"])
    (provider,) = [r for r in member["Resources"].values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert (
        provider["Condition"]
        == member["Resources"][
            next(
                k
                for k, r in member["Resources"].items()
                if r["Type"] == "AWS::IAM::Role" and r.get("Condition")
            )
        ]["Condition"]
    )  # the home-region condition the account's global roles have


def test_the_vendor_role_requires_its_external_id(synthesized: Synthesized) -> None:
    role = _roles(synthesized, "MachineAccess-audit")["nwl-third-party-posture-scanner"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::999988887777:root"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "northwind-posture-7f3c91"}}
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/SecurityAudit"]
    assert role["MaxSessionDuration"] == 3600


def test_no_role_of_the_landing_zone_trusts_anyone_without_a_condition(
    synthesized: Synthesized,
) -> None:
    for stack, template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                principal = statement.get("Principal", {})
                wide = principal == "*" or principal.get("AWS") == "*"
                assert not (wide and not statement.get("Condition")), f"{stack}/{logical_id}"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["ci_roles"][0].update(subjects=["repo:northwind/*:ref:refs/heads/main"]),
            "ci_roles[0].subjects[0] 'repo:northwind/*:ref:refs/heads/main': the repo must be named exactly",
        ),
        (
            lambda d: d["ci_roles"][0].update(account="orders-prod"),
            "ci_roles[0].account: 'orders-prod' is not a core account",
        ),
        (
            lambda d: d["ci_roles"][0].update(assume_roles=["*"]),
            "ci_roles[0].assume_roles[0]: '*' is not a role ARN",
        ),
        (
            lambda d: d["third_party_roles"][0].update(external_id="x"),
            "third_party_roles[0].external_id must be 2 to 1224 characters",
        ),
        (
            lambda d: d["third_party_roles"][0].update(external_account_id="12345"),
            "third_party_roles[0].external_account_id: '12345' must be exactly 12 digits",
        ),
    ],
)
def test_fails_on_a_machine_role_that_trusts_too_much(
    edit: Any, message: str, example_data: dict[str, Any]
) -> None:
    data = copy.deepcopy(example_data)
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert any(message in p for p in caught.value.problems), caught.value.problems
