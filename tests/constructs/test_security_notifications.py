"""SecurityNotifications: an encrypted, TLS-only topic only the named services of this account use."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs import SecurityNotifications
from baseline.controls import RETAINED
from tests.constructs.helpers import nag_violations, new_stack

ACCOUNT = {"StringEquals": {"aws:SourceAccount": "111122223333"}}


@pytest.fixture(scope="module")
def default() -> tuple[cdk.App, assertions.Template]:
    app, stack = new_stack()
    SecurityNotifications(
        stack,
        "Alerts",
        topic_name="acme-security",
        email="soc@example.com",
        publishers=["cloudwatch.amazonaws.com", "events.amazonaws.com"],
        key_alias="alias/acme/security-notifications",
    )
    return app, assertions.Template.from_stack(stack)


def _ids(template: assertions.Template) -> tuple[str, str, str]:
    (key,) = template.find_resources("AWS::KMS::Key")
    (topic,) = template.find_resources("AWS::SNS::Topic")
    (queue,) = template.find_resources("AWS::SQS::Queue")
    return key, topic, queue


def test_topic_and_undelivered_queue_are_under_the_topics_own_key(default: Any) -> None:
    _, template = default
    key, topic, queue = _ids(template)
    topic_props = template.find_resources("AWS::SNS::Topic")[topic]["Properties"]
    assert topic_props["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert topic_props["TopicName"] == "acme-security"
    undelivered = template.find_resources("AWS::SQS::Queue")[queue]
    assert undelivered["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert undelivered["Properties"]["MessageRetentionPeriod"] == 1209600
    assert undelivered["DeletionPolicy"] in RETAINED
    key_props = template.find_resources("AWS::KMS::Key")[key]["Properties"]
    assert key_props["EnableKeyRotation"] is True


def test_only_the_named_services_of_this_account_publish_and_only_over_tls(default: Any) -> None:
    _, template = default
    _, topic, _ = _ids(template)
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": "*",
            "Resource": {"Ref": topic},
            "Sid": "AllowPublishThroughSSLOnly",
        },
        {
            "Action": "sns:Publish",
            "Condition": ACCOUNT,
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Resource": {"Ref": topic},
            "Sid": "Publisher0",
        },
        {
            "Action": "sns:Publish",
            "Condition": ACCOUNT,
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": {"Ref": topic},
            "Sid": "Publisher1",
        },
    ]


def test_the_key_serves_the_publishers_and_sns_of_this_account_only(default: Any) -> None:
    _, template = default
    key, _, _ = _ids(template)
    statements = template.find_resources("AWS::KMS::Key")[key]["Properties"]["KeyPolicy"][
        "Statement"
    ]
    services = {
        s["Sid"]: (s["Principal"]["Service"], sorted(s["Action"]), s["Condition"])
        for s in statements
        if "Service" in s["Principal"]
    }
    use = ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert services == {
        "SnsToDeadLetterQueue": ("sns.amazonaws.com", use, ACCOUNT),
        "Publisher0": ("cloudwatch.amazonaws.com", use, ACCOUNT),
        "Publisher1": ("events.amazonaws.com", use, ACCOUNT),
    }


def test_the_address_is_subscribed_and_rejected_mail_is_kept(default: Any) -> None:
    _, template = default
    _, topic, queue = _ids(template)
    (subscription,) = template.find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"] == {
        "Endpoint": "soc@example.com",
        "Protocol": "email",
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [queue, "Arn"]}},
        "TopicArn": {"Ref": topic},
    }
    (queue_policy,) = template.find_resources("AWS::SQS::QueuePolicy").values()
    statements = queue_policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0]["Effect"] == "Deny"
    assert statements[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements[1] == {
        "Action": "sqs:SendMessage",
        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic}}},
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Resource": {"Fn::GetAtt": [queue, "Arn"]},
    }
    assert len(statements) == 2


def test_passes_every_nag_pack(default: Any) -> None:
    app, _ = default
    assert nag_violations(app) == []


def test_fails_a_reserved_key_alias() -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match="starts with alias/aws/"):
        SecurityNotifications(
            stack,
            "Alerts",
            topic_name="acme-security",
            email="soc@example.com",
            publishers=[],
            key_alias="alias/aws/sns",
        )


@pytest.mark.parametrize("email", ["soc", "soc@", "soc@example", "soc team@example.com"])
def test_fails_an_address_that_is_not_one(email: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=f"email must be an e-mail address .*got {email!r}"):
        SecurityNotifications(
            stack,
            "Alerts",
            topic_name="acme-security",
            email=email,
            publishers=[],
            key_alias="alias/acme/security-notifications",
        )
