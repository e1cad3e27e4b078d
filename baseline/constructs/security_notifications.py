"""SecurityNotifications: the encrypted SNS topic that brings security events to people."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baseline.compliance import GUARD_PLUGIN, acknowledge
from baseline.constructs.encryption_key import EncryptionKey
from baseline.trust import EMAIL


class SecurityNotifications(Construct):
    """A KMS-encrypted, TLS-only SNS topic with the security team's address subscribed.

    Implements SEC04-BP03 (alerts reach the people who act on them) and SEC10-BP01. Only
    the AWS services named in ``publishers`` may publish, for this account only.

    Example::

        topic = SecurityNotifications(self, "Alerts", topic_name="acme-security",
                                      email="soc@example.com",
                                      publishers=["cloudwatch.amazonaws.com"])
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        email: str,
        publishers: Sequence[str],
        key_alias: str,
    ) -> None:
        """Create the key, the topic and the e-mail subscription.

        :param topic_name: the topic's name.
        :param email: the address subscribed (it must confirm the subscription once).
        :param publishers: AWS service principals allowed to publish, e.g.
            ``cloudwatch.amazonaws.com``, ``events.amazonaws.com``.
        :param key_alias: alias of the topic's customer-managed key.
        """
        super().__init__(scope, construct_id)
        if not EMAIL.match(email) and not cdk.Token.is_unresolved(email):
            raise ValueError(f"email must be an e-mail address (name@example.com), got {email!r}")
        account = cdk.Stack.of(self).account
        self.key = EncryptionKey(
            self, "Key", alias=key_alias, description=f"Encrypts the {topic_name} topic"
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name="Security notifications",
            master_key=self.key.key,
            enforce_ssl=True,
        )
        # Notifications the e-mail endpoint rejects are kept, not lost.
        self.undelivered = sqs.Queue(
            self,
            "Undelivered",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        for rule in (
            "AwsSolutions-SQS3",
            "Serverless-SQSRedrivePolicy",
            f"{GUARD_PLUGIN}::sqs_dlq_check",
        ):
            acknowledge(
                self.undelivered.node.default_child,  # type: ignore[arg-type]
                rule,
                "This queue is the dead-letter queue of the e-mail subscription (SNS redrive, "
                "which the rule does not recognise); a dead-letter queue of it would only move "
                "undelivered notifications again.",
            )
        self.key.grant_service_for_account(
            "sns.amazonaws.com",
            sid="SnsToDeadLetterQueue",
            actions=("kms:GenerateDataKey*", "kms:Decrypt"),
        )
        self.topic.add_subscription(
            subscriptions.EmailSubscription(email, dead_letter_queue=self.undelivered)
        )
        for index, service in enumerate(publishers):
            self.key.grant_service_for_account(
                service,
                sid=f"Publisher{index}",
                actions=("kms:GenerateDataKey*", "kms:Decrypt"),
            )
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Publisher{index}",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn
