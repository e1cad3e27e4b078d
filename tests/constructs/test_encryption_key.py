"""EncryptionKey: rotation, retention, deletion window, alias, least-privilege grants."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam

from baseline.constructs import EncryptionKey
from baseline.controls import RETAINED
from tests.constructs.helpers import nag_violations, new_stack

TRAIL = "arn:aws:cloudtrail:eu-west-1:999988887777:trail/org"
READER = "arn:aws:iam::111122223333:role/reader"
REPLICATOR = "arn:aws:iam::111122223333:role/replicator"
GROUP = "arn:aws:logs:eu-west-1:111122223333:log-group:/orders/api"


@pytest.fixture(scope="module")
def synthesized() -> tuple[cdk.App, assertions.Template]:
    app, stack = new_stack()
    key = EncryptionKey(stack, "Key", alias="alias/test/data")
    key.grant_cloudtrail(trail_arns=[TRAIL])
    key.grant_service_for_organization(
        "config.amazonaws.com", organization_id="o-abcdefghij", sid="Config"
    )
    key.grant_service_for_account(
        "logs.amazonaws.com", sid="Logs", source_arn="arn:aws:logs:eu-west-1:111122223333:*"
    )
    key.grant_cloudwatch_logs(log_group_arn=GROUP)
    key.grant_decrypt_via_service(
        READER,
        service="s3",
        sid="ReadThroughS3",
        encryption_context={"aws:s3:arn": "arn:aws:s3:::b/*"},
    )
    key.grant_encrypt_via_service(iam.ArnPrincipal(REPLICATOR), service="s3", sid="Replicate")
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    key.grant_decrypt(role)
    return app, assertions.Template.from_stack(stack)


def _key(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    ((logical_id, key),) = template.find_resources("AWS::KMS::Key").items()
    return logical_id, key


def _statement(template: assertions.Template, sid: str) -> dict[str, Any]:
    _, key = _key(template)
    (statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == sid]
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*", statement
    return dict(statement)


def test_key_rotates_is_retained_and_waits_thirty_days(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {"EnableKeyRotation": True, "PendingWindowInDays": 30},
            "UpdateReplacePolicy": "Retain",
        },
    )
    (key,) = template.find_resources("AWS::KMS::Key").values()
    assert key["DeletionPolicy"] in RETAINED
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/test/data"})


@pytest.mark.parametrize("retain_alias", [False, True])
def test_the_alias_is_kept_with_the_key_only_when_asked(retain_alias: bool) -> None:
    """By default a deleted stack takes its alias (a new stack may make it again); a key
    others address by its alias keeps it."""
    _, stack = new_stack()
    EncryptionKey(stack, "Key", alias="alias/test/kept", retain_alias=retain_alias)
    (alias,) = assertions.Template.from_stack(stack).find_resources("AWS::KMS::Alias").values()
    if retain_alias:
        assert alias["DeletionPolicy"] in RETAINED and alias["UpdateReplacePolicy"] == "Retain"
    else:
        assert "DeletionPolicy" not in alias


def test_cloudtrail_grant_is_pinned_to_the_trail(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    encrypt = _statement(template, "AllowCloudTrailEncrypt")
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": [TRAIL]},
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": [
                "arn:aws:cloudtrail:*:999988887777:trail/*"
            ]
        },
    }
    describe = _statement(template, "AllowCloudTrailDescribeAndBucketKey")
    assert describe["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert sorted(describe["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]
    assert describe["Condition"] == {"StringEquals": {"aws:SourceArn": [TRAIL]}}


def test_service_grants_carry_source_conditions(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    config = _statement(template, "Config")
    assert config["Principal"] == {"Service": "config.amazonaws.com"}
    assert sorted(config["Action"]) == ["kms:Encrypt", "kms:GenerateDataKey*"]
    assert config["Condition"] == {"StringEquals": {"aws:SourceOrgID": "o-abcdefghij"}}
    logs = _statement(template, "Logs")
    assert logs["Principal"] == {"Service": "logs.amazonaws.com"}
    assert sorted(logs["Action"]) == ["kms:Encrypt", "kms:GenerateDataKey*"]
    assert logs["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:logs:eu-west-1:111122223333:*"},
    }


def test_a_short_or_other_partition_service_name_is_written_as_the_cdk_writes_it() -> None:
    _, stack = new_stack()
    key = EncryptionKey(stack, "Key", alias="alias/test/short")
    key.grant_service_for_account("events", sid="Events")
    key.grant_service_for_organization(
        "logs.amazonaws.com.cn", organization_id="o-abcdefghij", sid="Logs"
    )
    template = assertions.Template.from_stack(stack)
    assert _statement(template, "Events")["Principal"] == {"Service": "events.amazonaws.com"}
    assert _statement(template, "Logs")["Principal"] == {"Service": "logs.amazonaws.com"}


def test_cloudwatch_logs_grant_is_pinned_to_one_log_group(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    statement = _statement(template, "AllowCloudWatchLogs")
    assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert sorted(statement["Action"]) == [
        "kms:Decrypt*",
        "kms:Describe*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    assert statement["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": GROUP}}


def test_via_service_grants_work_only_through_that_service(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    read = _statement(template, "ReadThroughS3")
    assert read["Principal"] == {"AWS": READER}
    assert read["Action"] == "kms:Decrypt"
    assert read["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::b/*"},
    }
    replicate = _statement(template, "Replicate")
    assert replicate["Principal"] == {"AWS": REPLICATOR}
    assert sorted(replicate["Action"]) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]
    assert replicate["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }


def test_the_key_policy_holds_the_account_default_and_the_grants_only(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    """No statement beyond the account's own and the grants asked for; no grant unconditioned."""
    _, template = synthesized
    _, key = _key(template)
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    account = [s for s in statements if "Sid" not in s]
    assert account == [
        {
            "Action": "kms:*",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Resource": "*",
        }
    ]
    granted = {s["Sid"]: s for s in statements if "Sid" in s}
    assert sorted(granted) == [
        "AllowCloudTrailDescribeAndBucketKey",
        "AllowCloudTrailEncrypt",
        "AllowCloudWatchLogs",
        "Config",
        "DenyGrantsNotForAwsResources",
        "Logs",
        "ReadThroughS3",
        "Replicate",
    ]
    for sid, statement in granted.items():
        assert statement["Condition"], sid


def test_grants_are_kept_to_aws_services_and_their_resources(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    """CT.KMS.PR.3: nobody may hand the key's use to another principal by a grant, unless
    an AWS service makes it or it is for an AWS resource (both conditions false: denied)."""
    _, template = synthesized
    _, key = _key(template)
    (deny,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
    assert deny == {
        "Sid": "DenyGrantsNotForAwsResources",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {
            "BoolIfExists": {
                "kms:GrantIsForAWSResource": "false",
                "aws:PrincipalIsAWSService": "false",
            }
        },
    }


def test_grant_decrypt_writes_an_iam_policy(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    key_id, _ = _key(template)
    (reader,) = template.find_resources("AWS::IAM::Role")
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    assert policy["Properties"]["Roles"] == [{"Ref": reader}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": {"Fn::GetAtt": [key_id, "Arn"]}}
    ]


def test_passes_every_nag_pack() -> None:
    app, stack = new_stack()
    EncryptionKey(stack, "Key", alias="alias/test/plain")
    assert nag_violations(app) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alias": "test/data"}, "alias: KMS alias 'test/data' breaks the alias rules"),
        ({"alias": "alias/aws/s3"}, "starts with alias/aws/, which AWS reserves"),
        ({"alias": "alias/orders data"}, "'alias/orders data' breaks the alias rules"),
        ({"alias": "alias/" + "k" * 251}, "breaks the alias rules"),
        (
            {"alias": "alias/x", "pending_window": cdk.Duration.days(3)},
            "pending_window must be a whole number of days from 7 to 30, got 3 days",
        ),
        (
            {"alias": "alias/x", "pending_window": cdk.Duration.hours(36)},
            "pending_window must be a whole number of days from 7 to 30, got 1 day 12 hours",
        ),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        EncryptionKey(stack, "Key", **kwargs)
