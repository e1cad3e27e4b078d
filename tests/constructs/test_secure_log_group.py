"""SecureLogGroup: encrypted with a key only this group may use, retained, kept a known time."""

from __future__ import annotations

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
    assert group["Properties"]["RetentionInDays"] == 731
    assert "KmsKeyId" in group["Properties"]
    assert group["DeletionPolicy"] in RETAINED
    (key,) = template.find_resources("AWS::KMS::Key").values()
    (logs_statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    ]
    assert logs_statement["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:/orders/api"
        }
    }
    assert nag_violations(app) == []


def test_fails_a_name_unknown_at_synth() -> None:
    import aws_cdk as cdk

    _, stack = new_stack()
    with pytest.raises(ValueError, match="log_group_name must be known at synth"):
        SecureLogGroup(stack, "Logs", log_group_name=cdk.Aws.STACK_NAME, key_alias="alias/x/y")
