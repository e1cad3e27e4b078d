"""BaselineFunction: exact permissions, no retries, traced, failed events kept, logs kept a year."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from baseline.constructs import BaselineFunction
from baseline.constructs.baseline_function import handler_code, service_linked_roles_statement
from baseline.controls import RETAINED
from tests.constructs.helpers import nag_violations, new_stack

CODE = "def handler(event, context):\n    return None\n"


def _function(stack: cdk.Stack, **kwargs: Any) -> BaselineFunction:
    settings: dict[str, Any] = {
        "function_name": "acme-test",
        "description": "Tests the baseline function",
        "code": lambda_.Code.from_inline(CODE),
        "handler": "index.handler",
        "statements": [
            iam.PolicyStatement(
                sid="ReadOneObject", actions=["s3:GetObject"], resources=["arn:aws:s3:::b/k"]
            )
        ],
        "log_group_name": "/acme/test",
        **kwargs,
    }
    return BaselineFunction(stack, "Fn", **settings)


@pytest.fixture(scope="module")
def default() -> tuple[cdk.App, BaselineFunction, assertions.Template]:
    app, stack = new_stack()
    function = _function(stack)
    return app, function, assertions.Template.from_stack(stack)


def _ids(function: BaselineFunction) -> dict[str, str]:
    stack = cdk.Stack.of(function)
    return {
        name: stack.get_logical_id(construct.node.default_child)  # type: ignore[arg-type]
        for name, construct in (
            ("logs", function.log_group),
            ("queue", function.dead_letter_queue),
            ("role", function.role),
            ("function", function.function),
        )
    } | {
        "policy": stack.get_logical_id(function.policy.node.default_child),  # type: ignore[arg-type]
        "key": stack.get_logical_id(function.encryption_key.node.default_child),  # type: ignore[arg-type]
    }


def test_the_role_holds_the_callers_statements_and_its_own_only(default: Any) -> None:
    _, function, template = default
    ids = _ids(function)
    policy = template.find_resources("AWS::IAM::ManagedPolicy")[ids["policy"]]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements == {
        "ReadOneObject": {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": "arn:aws:s3:::b/k",
            "Sid": "ReadOneObject",
        },
        "WriteOwnLogs": {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [ids["logs"], "Arn"]}, ":*"]]},
            "Sid": "WriteOwnLogs",
        },
        "SendFailedEvents": {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [ids["queue"], "Arn"]},
            "Sid": "SendFailedEvents",
        },
        "WriteTraces": {
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Effect": "Allow",
            "Resource": "*",
            "Sid": "WriteTraces",
        },
        "UseOwnKey": {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [ids["key"], "Arn"]},
            "Sid": "UseOwnKey",
        },
    }
    role = template.find_resources("AWS::IAM::Role")[ids["role"]]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": ids["policy"]}]
    assert "Policies" not in role  # no inline grants beside the managed policy
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    assert not template.find_resources("AWS::IAM::Policy")


def test_runs_once_traced_and_keeps_failed_events(default: Any) -> None:
    _, function, template = default
    ids = _ids(function)
    props = template.find_resources("AWS::Lambda::Function")[ids["function"]]["Properties"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Runtime"] == "python3.14"
    assert props["Timeout"] == 300
    assert props["Role"] == {"Fn::GetAtt": [ids["role"], "Arn"]}
    assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [ids["queue"], "Arn"]}}
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": ids["logs"]}}
    assert "ReservedConcurrentExecutions" not in props
    (invoke,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    assert invoke["Properties"]["MaximumRetryAttempts"] == 0
    assert invoke["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [ids["queue"], "Arn"]}}
    }


def test_logs_and_failed_events_are_kept(default: Any) -> None:
    _, function, template = default
    ids = _ids(function)
    group = template.find_resources("AWS::Logs::LogGroup")[ids["logs"]]
    key = {"Fn::GetAtt": [ids["key"], "Arn"]}
    assert group["Properties"] == {
        "LogGroupName": "/acme/test",
        "RetentionInDays": 365,
        "KmsKeyId": key,
    }
    assert group["DeletionPolicy"] in RETAINED and group["UpdateReplacePolicy"] == "Retain"
    queue = template.find_resources("AWS::SQS::Queue")[ids["queue"]]
    assert queue["Properties"] == {"MessageRetentionPeriod": 1209600, "KmsMasterKeyId": key}
    function_props = template.find_resources("AWS::Lambda::Function")[ids["function"]]
    assert function_props["Properties"]["KmsKeyArn"] == key  # the environment, too
    (key_resource,) = template.find_resources("AWS::KMS::Key").values()
    logs_statement = next(
        s
        for s in key_resource["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowCloudWatchLogs"
    )
    assert logs_statement["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:/acme/test"
        }
    }
    assert queue["DeletionPolicy"] in RETAINED and queue["UpdateReplacePolicy"] == "Retain"
    (queue_policy,) = template.find_resources("AWS::SQS::QueuePolicy").values()
    assert queue_policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": {"Fn::GetAtt": [ids["queue"], "Arn"]},
        }
    ]


def test_passes_every_nag_pack(default: Any) -> None:
    app, _, _ = default
    assert nag_violations(app) == []


def test_a_key_encrypts_logs_and_queue_and_the_role_may_use_it() -> None:
    _, stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    function = _function(stack, encryption_key=key, timeout=cdk.Duration.minutes(15))
    template = assertions.Template.from_stack(stack)
    ids = _ids(function)
    key_arn = {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}  # type: ignore[arg-type]
    assert (
        template.find_resources("AWS::Logs::LogGroup")[ids["logs"]]["Properties"]["KmsKeyId"]
        == key_arn
    )
    queue = template.find_resources("AWS::SQS::Queue")[ids["queue"]]["Properties"]
    assert queue["KmsMasterKeyId"] == key_arn and "SqsManagedSseEnabled" not in queue
    policy = template.find_resources("AWS::IAM::ManagedPolicy")[ids["policy"]]
    (use_key,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "UseOwnKey"
    ]
    assert sorted(use_key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert use_key["Resource"] == key_arn
    function_props = template.find_resources("AWS::Lambda::Function")[ids["function"]]
    assert function_props["Properties"]["Timeout"] == 900


def test_handler_code_bundles_one_handler_and_the_response_helper() -> None:
    code = handler_code("network_hub")
    assert isinstance(code, lambda_.AssetCode)
    _, stack = new_stack()
    config = code.bind(stack)
    assert config.s3_location is not None  # an asset, not inline code


def test_service_linked_roles_are_limited_to_the_named_services() -> None:
    statement = service_linked_roles_statement("111122223333", ["macie.amazonaws.com", "a.b"])
    assert statement.to_statement_json() == {
        "Action": "iam:CreateServiceLinkedRole",
        "Condition": {"StringLike": {"iam:AWSServiceName": ["a.b", "macie.amazonaws.com"]}},
        "Effect": "Allow",
        "Resource": "arn:aws:iam::111122223333:role/aws-service-role/*",
        "Sid": "CreateTheServicesLinkedRoles",
    }


def test_fails_a_timeout_beyond_what_lambda_allows() -> None:
    """CloudFormation's own rules, which the kit turns into errors, refuse it at synth."""
    _, stack = new_stack(cloudformation_validation=True)
    _function(stack, timeout=cdk.Duration.minutes(16))
    with pytest.raises(RuntimeError, match="Timeout: 960 exceeds maximum 900"):
        assertions.Template.from_stack(stack)


def test_a_changed_handler_changes_its_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baseline.constructs import baseline_function

    for name in ("network_hub", "cfn_response", "containment"):
        (tmp_path / f"{name}.py").write_text(f"# {name}\n", encoding="utf-8")
    monkeypatch.setattr(baseline_function, "HANDLERS", tmp_path)
    digest = baseline_function.handler_digest.__wrapped__
    before = digest("network_hub")
    assert digest("network_hub", "containment") != before  # the modules it packages
    (tmp_path / "cfn_response.py").write_text("# changed\n", encoding="utf-8")
    assert digest("network_hub") != before  # the shared helper is part of the code
