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
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    key.grant_decrypt(role)
    return app, assertions.Template.from_stack(stack)


def _statement(template: assertions.Template, sid: str) -> dict[str, Any]:
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))
    statement: dict[str, Any] = next(
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == sid
    )
    return statement


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


def test_cloudtrail_grant_is_pinned_to_the_trail(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    encrypt = _statement(template, "AllowCloudTrailEncrypt")
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"]["StringEquals"]["aws:SourceArn"] == [TRAIL]
    assert encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] == [
        "arn:aws:cloudtrail:*:999988887777:trail/*"
    ]
    describe = _statement(template, "AllowCloudTrailDescribeAndBucketKey")
    assert describe["Condition"]["StringEquals"]["aws:SourceArn"] == [TRAIL]


def test_service_grants_carry_source_conditions(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    assert _statement(template, "Config")["Condition"] == {
        "StringEquals": {"aws:SourceOrgID": "o-abcdefghij"}
    }
    logs = _statement(template, "Logs")["Condition"]
    assert logs["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    assert logs["ArnLike"] == {"aws:SourceArn": "arn:aws:logs:eu-west-1:111122223333:*"}


def test_no_service_statement_lacks_a_condition(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        if "Service" in statement["Principal"]:
            assert statement.get("Condition"), statement


def test_grant_decrypt_writes_an_iam_policy(
    synthesized: tuple[cdk.App, assertions.Template],
) -> None:
    _, template = synthesized
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [assertions.Match.object_like({"Action": "kms:Decrypt"})]
                )
            }
        },
    )


def test_passes_every_nag_pack() -> None:
    app, stack = new_stack()
    EncryptionKey(stack, "Key", alias="alias/test/plain")
    assert nag_violations(app) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alias": "test/data"}, "alias must start with 'alias/'"),
        ({"alias": "alias/aws/s3"}, "not 'alias/aws/'"),
        (
            {"alias": "alias/x", "pending_window": cdk.Duration.days(3)},
            "pending_window must be between 7 and 30 days, got 3",
        ),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        EncryptionKey(stack, "Key", **kwargs)
