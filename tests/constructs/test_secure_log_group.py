"""SecureLogGroup: encrypted with a key only this group may use, retained, kept a known time."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_logs as logs

from baseline.constructs import SecureLogGroup
from baseline.controls import RETAINED
from tests.constructs.helpers import nag_violations, new_stack


def test_encrypted_retained_and_kept() -> None:
    app, stack = new_stack()
    SecureLogGroup(
        stack,
        "Logs",
        log_group_name="/orders/api",
        key_alias="alias/orders/logs",
        retention=logs.RetentionDays.TWO_YEARS,
    )
    template = assertions.Template.from_stack(stack)
    (group,) = template.find_resources("AWS::Logs::LogGroup").values()
    ((key_id, key),) = template.find_resources("AWS::KMS::Key").items()
    assert group["Properties"] == {
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "LogGroupName": "/orders/api",
        "RetentionInDays": 731,
    }
    assert group["DeletionPolicy"] in RETAINED and group["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    template.has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": "alias/orders/logs", "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
    )
    (logs_statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    ]
    assert sorted(logs_statement["Action"]) == [
        "kms:Decrypt*",
        "kms:Describe*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    assert logs_statement["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:/orders/api"
        }
    }
    assert nag_violations(app) == []


def test_keeps_events_a_year_by_default() -> None:
    _, stack = new_stack()
    SecureLogGroup(stack, "Logs", log_group_name="/orders/web", key_alias="alias/orders/web")
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/orders/web", "RetentionInDays": 365}
    )


def test_fails_a_name_unknown_at_synth() -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match="log_group_name must be known at synth"):
        SecureLogGroup(stack, "Logs", log_group_name=cdk.Aws.STACK_NAME, key_alias="alias/x/y")


def test_takes_a_key_of_the_app_and_writes_the_logs_statement_into_its_policy() -> None:
    from aws_cdk import aws_kms as kms

    _, stack = new_stack()
    key = kms.Key(stack, "Shared", enable_key_rotation=True)
    group = SecureLogGroup(stack, "Logs", log_group_name="/test/shared", encryption_key=key)
    assert group.key is None and group.encryption_key is key
    template = assertions.Template.from_stack(stack)
    (shared,) = list(template.find_resources("AWS::KMS::Key").values())
    statements = shared["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"}
        and s["Condition"]
        == {
            "ArnEquals": {
                "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:/test/shared"
            }
        }
        for s in statements
    )


def test_a_key_shared_by_several_log_groups_gives_each_its_own_statement() -> None:
    """Statement ids are unique in a key policy (cfn-lint E3512 refuses the template)."""
    from aws_cdk import aws_kms as kms

    from baseline.constructs import EncryptionKey, WebAclProtection

    _, stack = new_stack()
    team = EncryptionKey(stack, "Team", alias="alias/team/logs")
    WebAclProtection(stack, "WafA", name="a", encryption_key=team)
    WebAclProtection(stack, "WafB", name="b", encryption_key=team)
    plain = kms.Key(stack, "Plain", enable_key_rotation=True)
    SecureLogGroup(stack, "One", log_group_name="/x/1", encryption_key=plain)
    SecureLogGroup(stack, "Two", log_group_name="/x/2", encryption_key=plain)
    keys = assertions.Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    for key in keys:
        statements = key["Properties"]["KeyPolicy"]["Statement"]
        sids = [s["Sid"] for s in statements if "Sid" in s]
        assert len(sids) == len(set(sids)), sids
        groups = [
            s["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
            for s in statements
            if s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"}
        ]
        assert len(groups) == 2, groups  # each group its own, none lost


@pytest.mark.parametrize("name", ["bad name!", "x" * 513, ""])
def test_fails_a_name_cloudwatch_logs_refuses(name: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match="log_group_name must be 1-512 letters, digits and"):
        SecureLogGroup(stack, "Logs", log_group_name=name, key_alias="alias/test/logs")


@pytest.mark.parametrize("both", [True, False])
def test_fails_without_exactly_one_key_argument(both: bool) -> None:
    from aws_cdk import aws_kms as kms

    _, stack = new_stack()
    key = kms.Key(stack, "K") if both else None
    with pytest.raises(ValueError, match=r"give key_alias .* or encryption_key"):
        SecureLogGroup(
            stack,
            "Logs",
            log_group_name="/test/x",
            key_alias="alias/test/x" if both else None,
            encryption_key=key,
        )
