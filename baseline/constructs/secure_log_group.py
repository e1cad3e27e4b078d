"""SecureLogGroup: a CloudWatch Logs group with its own key, a retention, and no deletion."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct

from baseline.constructs.encryption_key import EncryptionKey


class SecureLogGroup(Construct):
    """A log group encrypted with a customer-managed key that serves only this group.

    Implements SEC04-BP01 (logs kept for a known time), SEC08-BP02 (encrypted at rest with
    a key whose policy lets CloudWatch Logs use it for this group alone) and keeps the
    group when its stack goes (retained).

    Example::

        group = SecureLogGroup(self, "Logs", log_group_name="/orders/api", key_alias="alias/orders/logs")
        group.log_group.grant_write(my_role)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group_name: str,
        key_alias: str,
        retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        key_description: str | None = None,
    ) -> None:
        """Create the key and the log group.

        :param log_group_name: the group's name (known at synth: the key policy names it).
        :param key_alias: alias of the group's key.
        :param retention: how long events are kept. Default: 1 year.
        :param key_description: what the key protects. Default: names the log group.
        """
        super().__init__(scope, construct_id)
        if cdk.Token.is_unresolved(log_group_name):
            raise ValueError(
                "log_group_name must be known at synth: the key policy names the group"
            )
        stack = cdk.Stack.of(self)
        self.key = EncryptionKey(
            self,
            "Key",
            alias=key_alias,
            description=key_description or f"Encrypts the log group {log_group_name}",
        )
        self.key.grant_cloudwatch_logs(
            log_group_arn=f"arn:aws:logs:{stack.region}:{stack.account}:log-group:{log_group_name}"
        )
        self.log_group = logs.LogGroup(
            self,
            "Resource",
            log_group_name=log_group_name,
            encryption_key=self.key.key,
            retention=retention,
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )

    @property
    def log_group_arn(self) -> str:
        return self.log_group.log_group_arn
