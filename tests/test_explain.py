"""``python -m baseline explain``: the guardrails' decision on one request, with the
statement that denies it, from the packer's policies and the one evaluator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from baseline.__main__ import main
from baseline.config import LandingZoneConfig
from baseline.explain import explain, explain_request, path_of
from baseline.operations import CommandError
from tests.guardrails.test_behaviour import PROD, RCP_CASES, SCP_CASES


def _account(config: LandingZoneConfig, account_id: str) -> Any:
    return next(a for a in config.accounts if a.id == account_id)


def test_explain_agrees_with_every_scp_behaviour_case(example_config: LandingZoneConfig) -> None:
    """The behaviour tests evaluate the synthesized templates; explain evaluates what the
    packer makes of the config. The same evaluator must reach the same decision on each."""
    ids = {a.id for a in example_config.accounts}
    cases = [c for c in SCP_CASES if c[1] in ids]
    assert len(cases) > 100
    for case, account, request, expected in cases:
        result = explain_request(example_config, _account(example_config, account), request)
        assert str(result.scp) == expected, case


def test_explain_agrees_with_every_rcp_behaviour_case(example_config: LandingZoneConfig) -> None:
    for case, request, expected in RCP_CASES:
        result = explain_request(example_config, _account(example_config, PROD), request)
        assert str(result.rcp) == expected, case


def test_a_request_outside_the_governed_regions_names_its_guardrail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(
            [
                "explain",
                "--account",
                "orders-prod",
                "--action",
                "ec2:RunInstances",
                "--region",
                "ap-southeast-2",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert out.startswith("DENY  ec2:RunInstances on * by arn:aws:iam::756789012345:role/explain")
    assert "denied by SCP-REGION-DENY: SCP nwl-scp-root-" in out
    assert "(attached to Root), statement DenyUngovernedRegions" in out
    assert "condition StringNotEquals aws:RequestedRegion" in out
    assert "identity policies, permissions boundaries and resource policies still apply" in out


def test_json_names_guardrail_policy_and_statement(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "explain",
            "--account",
            "756789012345",
            "--action",
            "sts:AssumeRole",
            "--principal",
            "arn:aws:iam::444455556666:role/partner",
            "--resource",
            "arn:aws:iam::756789012345:role/app",
            "--json",
        ]
    )
    assert code == 1
    document = json.loads(capsys.readouterr().out)
    assert document["decision"] == "deny"
    assert [(d["guardrail"], d["policy"], d["statement"]) for d in document["denied_by"]] == [
        ("RCP-IDENTITY-PERIMETER", "nwl-rcp-root-1", "EnforceOrgIdentities")
    ]


def test_an_allowed_request_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "explain",
                "--account",
                "orders-prod",
                "--action",
                "s3:GetObject",
                "--resource",
                "arn:aws:s3:::orders-data/report.csv",
                "--json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert (document["decision"], document["denied_by"]) == ("allow", [])
    assert document["resource"] == "arn:aws:s3:::orders-data/report.csv"


def test_context_keys_change_the_decision(example_config: LandingZoneConfig) -> None:
    """A condition key given with --context reaches the evaluator: IMDSv2 at launch."""
    launch = {
        "account": "orders-prod",
        "action": "ec2:RunInstances",
        "resource": "arn:aws:ec2:eu-west-1:756789012345:instance/*",
    }
    without = explain(example_config, **launch)
    with_v2 = explain(
        example_config,
        **launch,
        context=["ec2:MetadataHttpTokens=required", "ec2:MetadataHttpPutResponseHopLimit=2"],
    )
    assert not without.allowed
    assert any(d["guardrail"] == "SCP-IMDSV2" for d in without.denials())
    assert with_v2.allowed, with_v2.as_text()


def test_the_management_account_is_beyond_the_guardrails(
    example_config: LandingZoneConfig,
) -> None:
    result = explain(example_config, account="management", action="iam:CreateUser")
    assert result.allowed
    assert "no SCP or RCP binds the management account" in result.as_text()
    member = explain(example_config, account="orders-prod", action="iam:CreateUser")
    assert any(d["guardrail"] == "SCP-NO-IAM-USERS" for d in member.denials())


def test_the_path_runs_from_the_root_to_the_account(example_config: LandingZoneConfig) -> None:
    assert path_of(_account(example_config, PROD)) == [
        "Root",
        "Workloads",
        "Workloads/Prod",
        "orders-prod",
    ]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (
            ["--account", "orders-prd", "--action", "s3:GetObject"],
            "--account: 'orders-prd' is not an account of the config (the closest: orders-prod",
        ),
        (
            ["--account", "orders-prod", "--action", "s3:GetObjekt"],
            "--action: 's3:GetObjekt' is not an action of s3 (did you mean s3:GetObject",
        ),
        (
            ["--account", "orders-prod", "--action", "nosuchservice:Get"],
            "--action: 'nosuchservice' is no service of the IAM reference",
        ),
        (
            ["--account", "orders-prod", "--action", "s3:Get*"],
            "--action: 's3:Get*': name one action, not a pattern",
        ),
        (
            ["--account", "orders-prod", "--action", "PutObject"],
            "--action: 'PutObject' is not service:Action",
        ),
        (
            ["--account", "orders-prod", "--action", "s3:GetObject", "--principal", "bob"],
            "--principal: 'bob' is not an IAM role, user or session ARN",
        ),
        (
            ["--account", "orders-prod", "--action", "s3:GetObject", "--resource", "bucket"],
            "--resource: 'bucket' is not an ARN",
        ),
        (
            ["--account", "orders-prod", "--action", "s3:GetObject", "--context", "team"],
            "--context: 'team' is not KEY=VALUE",
        ),
        (
            ["--account", "orders-prod", "--action", "s3:GetObject", "--region", "mars"],
            "--region: 'mars' is not a region name",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_per_problem(
    arguments: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert any(line.startswith(problem) for line in captured.err.splitlines()), captured.err


def test_a_config_validate_refuses_is_refused_alike(
    config_data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_data["guardrails"]["disabled"] = ["SCP-NOPE"]
    path = tmp_path / "landing-zone.yaml"
    path.write_text(yaml.safe_dump(config_data), encoding="utf-8")
    request = ["--account", "orders-prod", "--action", "s3:PutObject"]
    assert main(["explain", "-c", str(path), *request]) == 2
    err = capsys.readouterr().err
    assert "guardrails.disabled[0]: " in err and "Traceback" not in err, err


def _with_custom(config_data: dict[str, Any], tmp_path: Path, guardrail: dict[str, Any]) -> Path:
    """The example config with one custom guardrail, as a file."""
    config_data["guardrails"]["custom"] = [guardrail]
    path = tmp_path / "landing-zone.yaml"
    path.write_text(yaml.safe_dump(config_data), encoding="utf-8")
    return path


def test_a_custom_guardrail_on_addresses_is_explained(
    config_data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_custom(
        config_data,
        tmp_path,
        {
            "id": "CUSTOM-OFFICE-ONLY",
            "purpose": "Deleting buckets only from the office network, for the test.",
            "attach_to": ["Root"],
            "statements": [
                {
                    "Effect": "Deny",
                    "Action": "s3:DeleteBucket",
                    "Resource": "*",
                    "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}},
                }
            ],
        },
    )
    request = ["explain", "-c", str(path), "--account", "orders-prod", "--action"]
    request += ["s3:DeleteBucket", "--resource", "arn:aws:s3:::orders-data", "--context"]
    assert main([*request, "aws:SourceIp=192.0.2.7"]) == 1
    denial = next(line for line in capsys.readouterr().out.splitlines() if "denied by" in line)
    # the custom statement has no Sid: it is named by its place, under its guardrail
    assert denial.startswith("  denied by CUSTOM-OFFICE-ONLY: SCP "), denial
    assert denial.endswith("), statement 1"), denial
    assert main([*request, "aws:SourceIp=198.51.100.7"]) == 0
    assert capsys.readouterr().out.startswith("ALLOW  s3:DeleteBucket")


def test_a_custom_guardrail_with_policy_variables_is_explained(
    config_data: dict[str, Any], tmp_path: Path
) -> None:
    """A variable takes the request's value; one the request has none for leaves the
    statement unapplied, and a note names the key to give."""
    from baseline.config import load_config

    path = _with_custom(
        config_data,
        tmp_path,
        {
            "id": "CUSTOM-OWN-TEAM-BUCKETS",
            "purpose": "Only a team's own buckets keep their deletion, for the test.",
            "attach_to": ["Workloads"],
            "statements": [
                {
                    "Sid": "DeleteOnlyOtherTeamsBuckets",
                    "Effect": "Deny",
                    "Action": "s3:DeleteBucket",
                    "NotResource": "arn:aws:s3:::team-${aws:PrincipalTag/team}-*",
                }
            ],
        },
    )
    config = load_config(path)
    request = {"account": "orders-prod", "action": "s3:DeleteBucket"}
    own = explain(
        config,
        **request,
        resource="arn:aws:s3:::team-orders-data",
        context=["aws:PrincipalTag/team=orders"],
    )
    assert own.allowed
    other = explain(
        config,
        **request,
        resource="arn:aws:s3:::team-billing-data",
        context=["aws:PrincipalTag/team=orders"],
    )
    assert not other.allowed
    assert "DeleteOnlyOtherTeamsBuckets" in other.as_text()
    untagged = explain(config, **request, resource="arn:aws:s3:::team-billing-data")
    assert untagged.allowed
    (note,) = [n for n in untagged.notes if "DeleteOnlyOtherTeamsBuckets" in n]
    assert note.startswith("CUSTOM-OWN-TEAM-BUCKETS (") and "aws:PrincipalTag/team" in note


def test_every_problem_is_reported_at_once(example_config: LandingZoneConfig) -> None:
    with pytest.raises(CommandError) as caught:
        explain(
            example_config,
            account="nope",
            action="bad",
            principal="bad",
            resource="bad",
            context=["bad"],
        )
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "--account",
        "--action",
        "--principal",
        "--resource",
        "--context",
    ]


def test_without_a_resource_a_statement_on_named_resources_still_denies(
    example_config: LandingZoneConfig,
) -> None:
    """IMDSv2 is required on instance ARNs: with --resource '*' explain cannot tell, and
    says the statement may deny rather than allow."""
    result = explain(
        example_config,
        account="orders-prod",
        action="ec2:RunInstances",
        context=["ec2:MetadataHttpTokens=required", "ec2:MetadataHttpPutResponseHopLimit=3"],
    )
    assert not result.allowed
    scoped = [d for d in result.denials() if d["resource_scoped"]]
    assert ("SCP-IMDSV2", "LimitImdsHopLimit") in {(d["guardrail"], d["statement"]) for d in scoped}
    given = explain(
        example_config,
        account="orders-prod",
        action="ec2:RunInstances",
        resource="arn:aws:ec2:eu-west-1:756789012345:instance/*",
        context=["ec2:MetadataHttpTokens=required", "ec2:MetadataHttpPutResponseHopLimit=3"],
    )
    assert [d["statement"] for d in given.denials()] == ["LimitImdsHopLimit"]
    assert "give --resource to know whether it applies" in result.as_text()


@pytest.mark.parametrize(
    "action",
    ["sts:GetCallerIdentity", "s3:ListAllMyBuckets", "dynamodb:GetItem", "EC2:describeinstances"],
)
def test_without_a_resource_a_statement_on_another_services_resources_never_denies(
    action: str, example_config: LandingZoneConfig
) -> None:
    """ProtectBaselineFunctions denies all but reading on the kit's Lambda functions: no
    request of these actions can be on a function, so AWS never applies it to them."""
    result = explain(example_config, account="orders-prod", action=action)
    assert result.allowed, result.denials()


def test_without_a_resource_a_statement_on_the_actions_own_resources_may_deny(
    example_config: LandingZoneConfig,
) -> None:
    """A function's code, and a role that sts:AssumeRole names by an IAM ARN (the
    action's resources are another service's): both may be the kit's."""
    code = explain(example_config, account="orders-prod", action="lambda:UpdateFunctionCode")
    assert [d["statement"] for d in code.denials() if d["resource_scoped"]] == [
        "ProtectBaselineFunctions"
    ]
    assume = explain(example_config, account="orders-prod", action="sts:AssumeRole")
    assert "ProtectExemptRoles" in {
        d["statement"] for d in assume.denials() if d["resource_scoped"]
    }


def test_an_account_to_be_created_is_bound_by_its_path(example_config: LandingZoneConfig) -> None:
    result = explain(
        example_config,
        account="fleet-dev",
        action="ec2:RunInstances",
        region="ap-southeast-2",
        principal="arn:aws:iam::123456789012:role/dev",
    )
    assert "SCP-REGION-DENY" in {d["guardrail"] for d in result.denials()}


def test_a_service_principal_is_bound_by_no_scp(example_config: LandingZoneConfig) -> None:
    result = explain(
        example_config,
        account="orders-prod",
        action="s3:GetObject",
        region="ap-southeast-2",
        principal="s3.amazonaws.com",
        resource="arn:aws:s3:::orders-data/x",
    )
    assert not any(d["type"] == "SCP" for d in result.denials())
    assert "SCPs bind no AWS service principal: none evaluated" in result.notes


def test_a_role_session_is_judged_as_its_role(example_config: LandingZoneConfig) -> None:
    """aws:PrincipalArn of a session is the role's ARN: the break-glass exemptions hold."""
    arguments = {
        "account": "orders-prod",
        "action": "ec2:RunInstances",
        "region": "ap-southeast-2",
    }
    role = explain(
        example_config, **arguments, principal="arn:aws:iam::756789012345:role/nwl-break-glass"
    )
    session = explain(
        example_config,
        **arguments,
        principal="arn:aws:sts::756789012345:assumed-role/nwl-break-glass/alice",
    )
    assert role.allowed == session.allowed
    assert "SCP-REGION-DENY" not in {d["guardrail"] for d in session.denials()}


def test_a_resource_outside_the_organisation_is_bound_by_no_rcp(
    example_config: LandingZoneConfig,
) -> None:
    result = explain(
        example_config,
        account="orders-prod",
        action="sqs:SendMessage",
        principal="arn:aws:iam::444455556666:role/partner",
        resource="arn:aws:sqs:eu-west-1:999988887777:queue",
    )
    assert result.allowed
    assert "the resource's account 999988887777 is outside the organisation: no RCP binds it" in (
        result.notes
    )
    text = result.as_text()
    assert "  account orders-prod (" in text
    assert "  the principal is in account 444455556666, outside the organisation" in text


def test_the_text_names_the_principals_account_when_it_is_another(
    example_config: LandingZoneConfig,
) -> None:
    audit = example_config.account_by_name("audit")
    assert audit is not None and audit.id
    other = explain(
        example_config,
        account="orders-prod",
        action="sqs:SendMessage",
        principal=f"arn:aws:iam::{audit.id}:role/reader",
        resource="arn:aws:sqs:eu-west-1:756789012345:queue",
    )
    assert f"  the principal is in audit ({audit.id}, " in other.as_text()
    own = explain(example_config, account="orders-prod", action="sqs:SendMessage")
    assert "the principal is" not in own.as_text()


def test_a_value_that_is_not_a_number_makes_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "explain",
            "--account",
            "orders-prod",
            "--action",
            "ec2:RunInstances",
            "--resource",
            "arn:aws:ec2:eu-west-1:756789012345:instance/i-1",
            "--context",
            "ec2:MetadataHttpPutResponseHopLimit=abc",
        ]
    )
    assert code in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::756789012345:role/aws-service-role/elasticloadbalancing.amazonaws.com/"
        "AWSServiceRoleForElasticLoadBalancing",
        "arn:aws:sts::756789012345:assumed-role/AWSServiceRoleForElasticLoadBalancing/s",
    ],
)
def test_a_service_linked_role_is_bound_by_no_scp(
    principal: str, example_config: LandingZoneConfig
) -> None:
    """SCPs do not restrict service-linked roles: outside the governed regions too."""
    arguments = {"account": "orders-prod", "action": "ec2:CreateNetworkInterface"}
    result = explain(example_config, **arguments, region="ap-southeast-2", principal=principal)
    assert result.allowed and not any(d["type"] == "SCP" for d in result.denials())
    assert "SCPs bind no service-linked role: none evaluated" in result.notes
    a_role = explain(
        example_config,
        **arguments,
        region="ap-southeast-2",
        principal="arn:aws:iam::756789012345:role/AWSServiceRoleFor-lookalike/x",
    )
    assert not a_role.allowed  # a path that only looks like one is a role like any other


def test_a_deny_on_all_but_named_resources_may_deny_without_a_resource(
    config_data: dict[str, Any], tmp_path: Path
) -> None:
    """A NotResource Deny with no --resource given: "*" names no resource, so whether it
    denies depends on the resource, as for a statement on named resources."""
    path = _with_custom(
        config_data,
        tmp_path,
        {
            "id": "CUSTOM-ONE-BUCKET",
            "purpose": "Deleting objects only in the scratch bucket, for the test.",
            "attach_to": ["Root"],
            "statements": [
                {
                    "Sid": "DeleteOnlyScratch",
                    "Effect": "Deny",
                    "Action": "s3:DeleteObject",
                    "NotResource": "arn:aws:s3:::scratch-bucket/*",
                },
                {
                    "Sid": "NoListing",
                    "Effect": "Deny",
                    "Action": "s3:ListAllMyBuckets",
                    "NotResource": "arn:aws:s3:::scratch-bucket",
                },
            ],
        },
    )
    from baseline.config import load_config

    config = load_config(path)
    unnamed = explain(config, account="orders-prod", action="s3:DeleteObject")
    scoped = [d for d in unnamed.denials() if d["statement"] == "DeleteOnlyScratch"]
    assert [d["resource_scoped"] for d in scoped] == [True]
    named = explain(
        config,
        account="orders-prod",
        action="s3:DeleteObject",
        resource="arn:aws:s3:::scratch-bucket/x",
    )
    assert named.allowed
    other = explain(
        config, account="orders-prod", action="s3:DeleteObject", resource="arn:aws:s3:::b/x"
    )
    assert [(d["statement"], d["resource_scoped"]) for d in other.denials()] == [
        ("DeleteOnlyScratch", False)
    ]
    # an action that acts on no resource: "*" is its request, and the Deny is sure
    listing = explain(config, account="orders-prod", action="s3:ListAllMyBuckets")
    assert [(d["statement"], d["resource_scoped"]) for d in listing.denials()] == [
        ("NoListing", False)
    ]


def test_a_context_key_given_twice_in_two_cases_is_one_key(
    example_config: LandingZoneConfig,
) -> None:
    """Condition keys are case-insensitive: both values count, neither is lost."""
    arguments = {
        "account": "orders-prod",
        "action": "ec2:CreateTags",
        "resource": "arn:aws:ec2:eu-west-1:756789012345:instance/i-0123456789abcdef0",
    }
    tagged = "aws:ResourceTag/lz:incident-case=c1"
    one = explain(example_config, **arguments, context=[tagged, "aws:TagKeys=lz:incident-case"])
    both = explain(
        example_config,
        **arguments,
        context=[tagged, "aws:TagKeys=lz:incident-case", "aws:tagkeys=owner"],
    )
    assert not one.allowed and not both.allowed


def test_the_keys_aws_puts_in_every_request_are_given(
    config_data: dict[str, Any], tmp_path: Path
) -> None:
    """A direct call (aws:ViaAWSService false), now (aws:CurrentTime, aws:EpochTime) and
    the principal's type: a custom Deny on them applies as in AWS, not silently never."""
    path = _with_custom(
        config_data,
        tmp_path,
        {
            "id": "CUSTOM-KEYS",
            "purpose": "Denies that key on what every request carries, for the test.",
            "attach_to": ["Workloads"],
            "statements": [
                {
                    "Sid": "DecryptOnlyThroughServices",
                    "Effect": "Deny",
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:ViaAWSService": "false"}},
                },
                {
                    "Sid": "NoTerminationsAfter2020",
                    "Effect": "Deny",
                    "Action": "ec2:TerminateInstances",
                    "Resource": "*",
                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
                },
                {
                    "Sid": "NoUsersDeleteBuckets",
                    "Effect": "Deny",
                    "Action": "s3:DeleteBucket",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalType": "User"}},
                },
            ],
        },
    )
    from baseline.config import load_config

    config = load_config(path)
    account = {"account": "orders-prod"}
    assert not explain(config, **account, action="kms:Decrypt").allowed
    assert explain(
        config, **account, action="kms:Decrypt", context=["aws:ViaAWSService=true"]
    ).allowed
    assert not explain(config, **account, action="ec2:TerminateInstances").allowed
    bucket = {"action": "s3:DeleteBucket", "resource": "arn:aws:s3:::orders-data"}
    assert explain(config, **account, **bucket).allowed  # a role's session
    user = "arn:aws:iam::756789012345:user/legacy"
    assert not explain(config, **account, **bucket, principal=user).allowed


def test_aws_owned_resources_and_tag_keys_with_spaces_are_taken(
    example_config: LandingZoneConfig,
) -> None:
    """An AWS-managed policy's ARN names the account ``aws``; a tag key may hold spaces,
    ``+`` and ``@``: both are valid input, not refused as malformed."""
    policy = explain(
        example_config,
        account="orders-prod",
        action="iam:GetPolicy",
        resource="arn:aws:iam::aws:policy/ReadOnlyAccess",
        context=["aws:ResourceTag/cost center+team@x=finance"],
    )
    assert policy.allowed
    assert "the resource is AWS's own (account 'aws'): no RCP binds it" in policy.notes
    with pytest.raises(CommandError) as caught:
        explain(example_config, account="orders-prod", action="iam:GetPolicy", context=["aws:=x"])
    assert caught.value.problems[0].startswith("--context: 'aws:=x' is not KEY=VALUE")


def test_a_deny_that_depends_on_a_key_not_given_is_named(
    example_config: LandingZoneConfig,
) -> None:
    """Deleting a snapshot: the verdict cannot know its tags, so the evidence guardrail
    that denies it for an evidence snapshot is named with the key to give."""
    snapshot = explain(example_config, account="orders-prod", action="ec2:DeleteSnapshot")
    assert snapshot.allowed  # the request as given
    (note,) = [n for n in snapshot.notes if "KeepEvidenceSnapshots" in n]
    assert note.startswith("SCP-EVIDENCE-PROTECT (") and "aws:ResourceTag/lz:evidence" in note
    tagged = explain(
        example_config,
        account="orders-prod",
        action="ec2:DeleteSnapshot",
        resource="arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0",
        context=["aws:ResourceTag/lz:evidence=c1"],
    )
    assert not tagged.allowed and not [n for n in tagged.notes if "may deny" in n]
    # a key a request carries only when it does (its tags) is left to the asker
    assert not [n for n in snapshot.notes if "aws:TagKeys" in n]
