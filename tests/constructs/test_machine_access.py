"""GitHubOidcDeployRole and ThirdPartyRole: machines assume roles, for named callers only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.app import cdk_json_context
from baseline.compliance import attach_packs, synth_checked
from baseline.constructs import GitHubOidcDeployRole, ThirdPartyRole
from tests.constructs.helpers import ENV, nag_violations, new_stack

MAIN = "repo:acme/orders:ref:refs/heads/main"


def _trust(template: assertions.Template) -> dict[str, Any]:
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement


def test_the_deploy_role_trusts_the_named_subjects_with_the_audience() -> None:
    _, stack = new_stack()
    GitHubOidcDeployRole(
        stack, "Deploy", subjects=[MAIN, "repo:acme@123/orders@456:environment:prod"]
    )
    template = assertions.Template.from_stack(stack)
    (provider,) = template.find_resources("AWS::IAM::OIDCProvider").values()
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    statement = _trust(template)
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [
                MAIN,
                "repo:acme@123/orders@456:environment:prod",
            ],
        }
    }
    (role,) = template.find_resources("AWS::IAM::Role").values()
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_a_branch_pattern_is_matched_with_string_like() -> None:
    _, stack = new_stack()
    GitHubOidcDeployRole(stack, "Deploy", subjects=["repo:acme/orders:ref:refs/heads/release/*"])
    condition = _trust(assertions.Template.from_stack(stack))["Condition"]
    assert condition["StringLike"] == {
        "token.actions.githubusercontent.com:sub": ["repo:acme/orders:ref:refs/heads/release/*"]
    }
    assert condition["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
    }


def test_an_existing_provider_is_referenced_not_created() -> None:
    _, stack = new_stack()
    GitHubOidcDeployRole(
        stack, "Deploy", subjects=[MAIN], provider=GitHubOidcDeployRole.existing_provider(stack)
    )
    template = assertions.Template.from_stack(stack)
    assert not template.find_resources("AWS::IAM::OIDCProvider")
    principal = _trust(template)["Principal"]["Federated"]
    assert principal == (
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    )


@pytest.mark.parametrize(
    ("subjects", "message"),
    [
        (["*"], "not a GitHub subject"),
        (["repo:*/orders:ref:refs/heads/main"], "the owner must be named exactly"),
        (["repo:acme/*:ref:refs/heads/main"], "the repo must be named exactly"),
        (["repo:acme/orders*:pull_request"], "the repo must be named exactly"),
        (["repo:acme/orders:*"], "after the repository comes"),
        (["repo:acme/orders:ref:refs/heads/main\n"], "not a GitHub subject"),
        ([], "give at least one"),
    ],
)
def test_fails_on_a_subject_that_would_let_other_repositories_in(
    subjects: list[str], message: str
) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        GitHubOidcDeployRole(stack, "Deploy", subjects=subjects)


def test_fails_on_a_session_over_twelve_hours() -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match="max_session must be between 1 and 12 hours, got 13"):
        GitHubOidcDeployRole(stack, "Deploy", subjects=[MAIN], max_session=cdk.Duration.hours(13))


def test_takes_a_session_of_seconds_iam_takes() -> None:
    """IAM's MaxSessionDuration is in seconds: an hour and thirty seconds is a session, not
    a failure of the CDK's conversion to whole minutes."""
    _, stack = new_stack()
    GitHubOidcDeployRole(stack, "Deploy", subjects=[MAIN], max_session=cdk.Duration.seconds(3630))
    (role,) = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    assert role["Properties"]["MaxSessionDuration"] == 3630
    with pytest.raises(ValueError, match=r"got 0\.999722"):
        GitHubOidcDeployRole(
            stack, "Short", subjects=[MAIN], max_session=cdk.Duration.seconds(3599)
        )


def test_the_third_party_role_requires_the_external_id() -> None:
    _, stack = new_stack()
    ThirdPartyRole(stack, "Vendor", account_id="999988887777", external_id="acme-7f3c91")
    statement = _trust(assertions.Template.from_stack(stack))
    assert statement["Principal"] == {"AWS": "arn:aws:iam::999988887777:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "acme-7f3c91"}}


@pytest.mark.parametrize(
    ("account_id", "external_id", "message"),
    [
        ("99998888777", "acme-7f3c91", "account_id must be 12 digits"),
        ("999988887777", "a", "external_id must be 2 to 1224 characters"),
        ("999988887777", "x" * 1225, "external_id must be 2 to 1224 characters"),
        ("999988887777", "has space", "external_id must be 2 to 1224 characters"),
        # a trailing line break (a YAML block scalar) is no part of an id
        ("999988887777\n", "acme-7f3c91", "account_id must be 12 digits"),
        ("999988887777", "acme-7f3c91\n", "external_id must be 2 to 1224 characters"),
    ],
)
def test_fails_on_a_bad_account_or_external_id(
    account_id: str, external_id: str, message: str
) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        ThirdPartyRole(stack, "Vendor", account_id=account_id, external_id=external_id)


def test_both_roles_pass_every_suite_with_names_only(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Machines", env=ENV)
    GitHubOidcDeployRole(stack, "Deploy", subjects=[MAIN])
    ThirdPartyRole(stack, "Vendor", account_id="999988887777", external_id="acme-7f3c91")
    assert nag_violations(app) == []
    attach_packs(app)
    synth_checked(app, "the machine roles")  # cdk-nag and the Control Tower rules
    template = json.loads((tmp_path / "Machines.template.json").read_text())
    for role in (r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"):
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            assert statement.get("Condition"), "no role trusts anyone without a condition"
