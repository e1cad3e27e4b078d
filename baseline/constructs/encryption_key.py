"""EncryptionKey: a customer-managed KMS key with a least-privilege key policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache, cached_property
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from baseline import naming

#: What a service needs to encrypt data it writes with a customer-managed key.
ENCRYPT_ACTIONS = ("kms:GenerateDataKey*", "kms:Encrypt")
#: What a service or principal needs to read data encrypted under the key.
DECRYPT_ACTIONS = ("kms:Decrypt",)

#: The key-policy statement that keeps grants to AWS services and their resources.
DENY_OTHER_GRANTS_SID = "DenyGrantsNotForAwsResources"

_MIN_PENDING_DAYS = 7
_MAX_PENDING_DAYS = 30


@cache
def _account_root() -> iam.AccountRootPrincipal:
    """The account's root principal, made once: it names the account of whichever stack
    renders it."""
    return iam.AccountRootPrincipal()


@cache
def _longest_pending_window() -> cdk.Duration:
    """The default waiting period, made once: a Duration is immutable, and each one made
    is a call into the CDK."""
    return cdk.Duration.days(_MAX_PENDING_DAYS)


def _statement(
    sid: str,
    principal: Mapping[str, Any],
    actions: Sequence[str],
    conditions: Mapping[str, Mapping[str, Any]],
    *,
    effect: str = "Allow",
) -> iam.PolicyStatement:
    """A key-policy statement in one call into the CDK (its principal given as policy JSON,
    ``{"Service": ...}`` or ``{"AWS": ...}``), where building it from a principal object and
    properties takes several."""
    return iam.PolicyStatement.from_json(
        {
            "Sid": sid,
            "Effect": effect,
            "Principal": dict(principal),
            "Action": list(actions),
            "Resource": "*",  # in a key policy "*" means this key
            "Condition": {operator: dict(values) for operator, values in conditions.items()},
        }
    )


class EncryptionKey(Construct):
    """A customer-managed KMS key: rotated yearly, retained, 30-day deletion window, aliased.

    Implements SEC08-BP01 (secure key management) and SEC08-BP02 (encryption at rest),
    CIS AWS Foundations 3.6 (rotation of customer-created keys).

    The key policy keeps the CDK default (the account may delegate use through IAM
    policies) and denies grants that are neither for an AWS resource nor made by an AWS
    service (Control Tower CT.KMS.PR.3: a principal cannot hand the key's use to another
    principal by a grant outside any IAM or key policy); services get access only through
    the ``grant_*`` helpers, each of which adds one key-policy statement pinned by
    ``aws:SourceAccount``, ``aws:SourceArn``, ``aws:SourceOrgID`` or ``kms:ViaService``
    conditions.

    Example::

        key = EncryptionKey(self, "DataKey", alias="alias/orders/data")
        key.grant_encrypt_decrypt(my_role)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        description: str | None = None,
        pending_window: cdk.Duration | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        multi_region: bool = False,
        retain_alias: bool = False,
    ) -> None:
        """Create the key.

        :param alias: the key's alias, ``alias/`` and 1-250 of ``A-Za-z0-9:/_-``, not
            ``alias/aws/...`` (required: people find keys by alias).
        :param description: what the key protects. Default: "Customer-managed key <alias>".
        :param pending_window: waiting period before a scheduled deletion completes.
            Default: 30 days, the longest AWS allows (7-30 whole days); shorter warns at synth
            (``lz:EncryptionKey.ShortDeletionWindow``).
        :param removal_policy: what CloudFormation does when the key leaves the stack.
            Default: RETAIN_ON_UPDATE_OR_DELETE (removed only if its own creation fails);
            anything weaker is a named weakening visible in the template and warns at
            synth (``lz:EncryptionKey.NotRetained``).
        :param multi_region: create a multi-Region primary key. Default: False.
        :param retain_alias: keep the alias, with the key, when either leaves the stack: for
            a key that something outside the stack addresses by its alias (a replication
            rule, another account's policies), which a deleted stack would otherwise leave
            naming nothing. A new stack making the same alias then fails until the kept
            one is deleted. Default: False (the alias goes with the stack).
        """
        super().__init__(scope, construct_id)
        # A literal alias that passes needs no question to the CDK about tokens.
        problem = naming.alias_problem(alias)
        if problem is not None and not cdk.Token.is_unresolved(alias):
            raise ValueError(f"alias: {problem}")
        days: float
        if pending_window is None:
            window, days = _longest_pending_window(), _MAX_PENDING_DAYS
        else:
            window, days = pending_window, pending_window.to_seconds() / 86_400
        if days != int(days) or not _MIN_PENDING_DAYS <= days <= _MAX_PENDING_DAYS:
            raise ValueError(
                f"pending_window must be a whole number of days from {_MIN_PENDING_DAYS} to "
                f"{_MAX_PENDING_DAYS}, got {pending_window.to_human_string() if pending_window else days}"
            )
        days = int(days)
        if removal_policy not in (
            cdk.RemovalPolicy.RETAIN,
            cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        ):
            cdk.Annotations.of(self).add_warning_v2(
                "lz:EncryptionKey.NotRetained",
                f"removal_policy={removal_policy.name}: the key is scheduled for deletion when "
                "it leaves the stack, and everything encrypted under it becomes unreadable "
                "once the waiting period ends.",
            )
        if days < _MAX_PENDING_DAYS:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:EncryptionKey.ShortDeletionWindow",
                f"pending_window={days} days: a scheduled deletion of the key, mistaken or "
                f"malicious, can be cancelled for {days} days instead of {_MAX_PENDING_DAYS}, "
                "after which the data under the key is lost.",
            )
        # The key policy is made here and kept, so that every statement below goes into it
        # in one call (the Key's add_to_resource_policy adds to the same document, and its
        # answer costs two more calls to read). Its first statement is the one the CDK
        # writes when given no policy: the account may delegate use through IAM policies.
        self._policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["kms:*"], principals=[_account_root()], resources=["*"]
                ),
                _statement(
                    DENY_OTHER_GRANTS_SID,
                    {"AWS": "*"},
                    ["kms:CreateGrant"],
                    {
                        "BoolIfExists": {
                            "kms:GrantIsForAWSResource": "false",
                            "aws:PrincipalIsAWSService": "false",
                        }
                    },
                    effect="Deny",
                ),
            ]
        )
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=description or f"Customer-managed key {alias}",
            enable_key_rotation=True,
            pending_window=window,
            removal_policy=removal_policy,
            multi_region=multi_region,
            policy=self._policy,
        )
        self.alias_name = alias
        if retain_alias:
            alias_resource = self.key.node.find_child("Alias")
            assert isinstance(alias_resource, kms.Alias)
            alias_resource.apply_removal_policy(removal_policy)

    # The stack's account and region, asked for only when a statement needs them.
    @cached_property
    def _stack(self) -> cdk.Stack:
        return cdk.Stack.of(self)

    @cached_property
    def _account(self) -> str:
        return self._stack.account

    @cached_property
    def _region(self) -> str:
        return self._stack.region

    @property
    def key_arn(self) -> str:
        """The key's ARN."""
        return self.key.key_arn

    # --- principals --------------------------------------------------------------------

    def grant_encrypt_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a principal encrypt and decrypt with the key."""
        return self.key.grant_encrypt_decrypt(grantee)

    def grant_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a principal decrypt with the key."""
        return self.key.grant_decrypt(grantee)

    def grant_encrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a principal encrypt with the key."""
        return self.key.grant_encrypt(grantee)

    def grant_decrypt_via_service(
        self,
        principal_arn: str,
        *,
        service: str,
        sid: str,
        encryption_context: Mapping[str, str] | None = None,
    ) -> None:
        """Let a principal (by ARN, possibly in another stack) decrypt only through a service.

        :param principal_arn: the role's ARN; it must exist when this key policy is written.
        :param service: the service name, e.g. ``s3``; pinned with ``kms:ViaService``.
        :param sid: the statement id, unique in the key policy.
        :param encryption_context: ``kms:EncryptionContext:`` values the request must
            match (``StringLike``). Default: none (any encryption context).
        """
        conditions: dict[str, dict[str, Any]] = {
            "StringEquals": {"kms:ViaService": f"{service}.{self._region}.amazonaws.com"}
        }
        if encryption_context:
            conditions["StringLike"] = {
                f"kms:EncryptionContext:{k}": v for k, v in encryption_context.items()
            }
        self._add(sid, {"AWS": principal_arn}, DECRYPT_ACTIONS, conditions)

    def grant_encrypt_via_service(
        self, principal: iam.IPrincipal, *, service: str, sid: str
    ) -> None:
        """Let a principal encrypt (and read back) only through a service, e.g. S3 replication."""
        self._add(
            sid,
            principal,
            (*ENCRYPT_ACTIONS, *DECRYPT_ACTIONS),
            {"StringEquals": {"kms:ViaService": f"{service}.{self._region}.amazonaws.com"}},
        )

    # --- AWS services ------------------------------------------------------------------

    def grant_cloudtrail(self, *, trail_arns: Sequence[str]) -> None:
        """Let CloudTrail encrypt log files for the named trails only (CIS 3.5).

        The encryption context CloudTrail sends names the trail; ``aws:SourceArn`` pins the
        request to the same trails, so no other trail can use the key.
        """
        principal = {"Service": "cloudtrail.amazonaws.com"}
        trail_accounts = sorted({arn.split(":")[4] for arn in trail_arns})
        self._add(
            "AllowCloudTrailEncrypt",
            principal,
            ("kms:GenerateDataKey*",),
            {
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": [
                        f"arn:aws:cloudtrail:*:{account}:trail/*" for account in trail_accounts
                    ]
                },
                "StringEquals": {"aws:SourceArn": list(trail_arns)},
            },
        )
        # DescribeKey to validate the key; Decrypt because the bucket uses an S3 Bucket Key.
        self._add(
            "AllowCloudTrailDescribeAndBucketKey",
            principal,
            ("kms:DescribeKey", "kms:Decrypt"),
            {"StringEquals": {"aws:SourceArn": list(trail_arns)}},
        )

    def grant_cloudwatch_logs(
        self, *, log_group_arn: str, sid: str = "AllowCloudWatchLogs"
    ) -> None:
        """Let CloudWatch Logs in this region encrypt one log group (and only that one).

        :param log_group_arn: the group's ARN, pinned by its encryption context.
        :param sid: the statement id, unique in the key policy. Default: AllowCloudWatchLogs.
        """
        self._policy.add_statements(
            _cloudwatch_logs_statement(self._region, log_group_arn, sid=sid)
        )

    @staticmethod
    def cloudwatch_logs_statement(
        stack: cdk.Stack, log_group_arn: str, *, sid: str = "AllowCloudWatchLogs"
    ) -> iam.PolicyStatement:
        """The key-policy statement that lets CloudWatch Logs of the stack's region encrypt
        one log group with a key (for a key policy managed elsewhere, too).

        :param sid: the statement id. Default: AllowCloudWatchLogs.
        """
        return _cloudwatch_logs_statement(stack.region, log_group_arn, sid=sid)

    def grant_service_for_organization(
        self,
        service_principal: str,
        *,
        organization_id: str,
        sid: str,
        actions: Sequence[str] = ENCRYPT_ACTIONS,
    ) -> None:
        """Let a service use the key on behalf of any account of the organisation only.

        ``aws:SourceOrgID`` is the organisation-wide form of ``aws:SourceAccount``: the
        service's request must come from a resource owned by a member account, which
        prevents a confused deputy outside the organisation.

        :param actions: the key actions granted. Default: ``kms:GenerateDataKey*`` and
            ``kms:Encrypt``.
        """
        self._add(
            sid,
            _service(service_principal),
            actions,
            {"StringEquals": {"aws:SourceOrgID": organization_id}},
        )

    def grant_service_for_account(
        self,
        service_principal: str,
        *,
        sid: str,
        source_account: str | None = None,
        source_arn: str | None = None,
        actions: Sequence[str] = ENCRYPT_ACTIONS,
    ) -> None:
        """Let a service use the key for requests from one account (default: this one).

        :param source_account: the account requests must come from. Default: this
            stack's account.
        :param source_arn: also pin the requesting resource (``ArnLike``). Default: none.
        :param actions: the key actions granted. Default: ``kms:GenerateDataKey*`` and
            ``kms:Encrypt``.
        """
        conditions: dict[str, dict[str, Any]] = {
            "StringEquals": {"aws:SourceAccount": source_account or self._account}
        }
        if source_arn is not None:
            conditions["ArnLike"] = {"aws:SourceArn": source_arn}
        self._add(sid, _service(service_principal), actions, conditions)

    def _add(
        self,
        sid: str,
        principal: iam.IPrincipal | Mapping[str, Any],
        actions: Sequence[str],
        conditions: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Add one statement; a principal as policy JSON costs one call fewer than an object."""
        if isinstance(principal, Mapping):
            statement = _statement(sid, principal, actions, conditions)
        else:
            statement = iam.PolicyStatement(
                sid=sid,
                principals=[principal],
                actions=list(actions),
                resources=["*"],  # in a key policy "*" means this key
                conditions=dict(conditions),
            )
        self._policy.add_statements(statement)


def _service(name: str) -> iam.IPrincipal | Mapping[str, Any]:
    """A service principal: as policy JSON where the name is already the one the CDK would
    write (``<service>.amazonaws.com``, which it keeps as given); otherwise the CDK's own
    principal, which completes a short name (``events``) and maps other partitions'
    forms (``logs.amazonaws.com.cn``) to it."""
    if name.endswith(".amazonaws.com"):
        return {"Service": name}
    return iam.ServicePrincipal(name)


def _cloudwatch_logs_statement(region: str, log_group_arn: str, *, sid: str) -> iam.PolicyStatement:
    return _statement(
        sid,
        {"Service": f"logs.{region}.amazonaws.com"},
        ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
    )
