"""``python -m baseline explain``: the guardrails' decision on one request, with the
statement that denies it, from the packer's policies and the one evaluator."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
