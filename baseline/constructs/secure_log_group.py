"""SecureLogGroup: a CloudWatch Logs group with its own key, a retention, and no deletion."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from baseline.constructs.encryption_key import EncryptionKey

#: CloudWatch Logs' rule for a log group's name.
_LOG_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}\Z")


#: Retentions under 90 days, which warn at synth.
SHORT_RETENTIONS = frozenset(
    {
        logs.RetentionDays.ONE_DAY,
        logs.RetentionDays.THREE_DAYS,
        logs.RetentionDays.FIVE_DAYS,
        logs.RetentionDays.ONE_WEEK,
        logs.RetentionDays.TWO_WEEKS,
        logs.RetentionDays.ONE_MONTH,
        logs.RetentionDays.TWO_MONTHS,
    }
)


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
        key_alias: str | None = None,
        retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        key_description: str | None = None,
        encryption_key: kms.IKey | EncryptionKey | None = None,
    ) -> None:
        """Create the key (or take one) and the log group.

        :param log_group_name: the group's name (known at synth: the key policy names it).
        :param key_alias: alias of the group's own key. Default: none; give it, or
            ``encryption_key``.
        :param retention: how long events are kept. Default: 1 year.
        :param key_description: what the key protects. Default: names the log group.
        :param encryption_key: a key to use instead of a new one: a key of the app (a
            ``kms.Key`` or an :class:`EncryptionKey`), whose policy gets the CloudWatch Logs
            statement, or an existing one, for which the synth warns
            (``lz:SecureLogGroup.KeyPolicyNotManaged``) and names the statement its policy
            needs. Default: none (a new key named ``key_alias``).
        """
        super().__init__(scope, construct_id)
        if cdk.Token.is_unresolved(log_group_name):
            raise ValueError(
                "log_group_name must be known at synth: the key policy names the group"
            )
        if not _LOG_GROUP_NAME.match(log_group_name):
            raise ValueError(
                "SecureLogGroup: log_group_name must be 1-512 letters, digits and . - _ / #, "
                f"got {log_group_name!r}"
            )
        if (key_alias is None) == (encryption_key is None):
            raise ValueError(
                "SecureLogGroup: give key_alias (a new key) or encryption_key (an existing "
                "one), not both and not neither"
            )
        if retention in SHORT_RETENTIONS:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:SecureLogGroup.ShortRetention",
                f"retention={retention.name}: {log_group_name} keeps its events for less than "
                "90 days, shorter than an incident often takes to be found (SEC04-BP01).",
            )
        stack = cdk.Stack.of(self)
        group_arn = f"arn:aws:logs:{stack.region}:{stack.account}:log-group:{log_group_name}"
        self.key: EncryptionKey | None = None
        # a key of this group's own holds one statement for it; a key given may serve more
        # groups, each with a statement whose id is unique in the key's policy
        sid = "AllowCloudWatchLogs"
        if encryption_key is not None:
            sid = f"AllowCloudWatchLogs{cdk.Names.unique_id(self)[-24:]}"
        if isinstance(encryption_key, EncryptionKey):
            self.key, encryption_key = encryption_key, None
        elif encryption_key is None:
            self.key = EncryptionKey(
                self,
                "Key",
                alias=str(key_alias),
                description=key_description or f"Encrypts the log group {log_group_name}",
            )
        if self.key is not None:
            self.key.grant_cloudwatch_logs(log_group_arn=group_arn, sid=sid)
            self.encryption_key: kms.IKey = self.key.key
        else:
            assert encryption_key is not None
            self.encryption_key = encryption_key
            statement = EncryptionKey.cloudwatch_logs_statement(stack, group_arn, sid=sid)
            if not encryption_key.add_to_resource_policy(statement).statement_added:
                cdk.Annotations.of(self).add_warning_v2(
                    "lz:SecureLogGroup.KeyPolicyNotManaged",
                    "encryption_key is an existing key whose policy this app cannot change: "
                    f"CloudWatch Logs cannot use it for {log_group_name} until its key policy "
                    f"allows logs.{stack.region}.amazonaws.com to encrypt and decrypt with "
                    f"kms:EncryptionContext:aws:logs:arn {group_arn}. Add that statement "
                    "where the key is managed.",
                )
        self.log_group = logs.LogGroup(
            self,
            "Resource",
            log_group_name=log_group_name,
            encryption_key=self.encryption_key,
            retention=retention,
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )

    @property
    def log_group_arn(self) -> str:
        return self.log_group.log_group_arn
