"""SecureBucket: an S3 bucket with every protection on, and its access-log bucket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from baseline.compliance import GUARD_PLUGIN, acknowledge, acknowledge_each
from baseline.constructs.encryption_key import EncryptionKey

#: Incomplete multipart uploads are invisible, billed and never useful after a week.
ABORT_INCOMPLETE_UPLOADS_AFTER = cdk.Duration.days(7)


@dataclass(frozen=True)
class ReplicationTarget:
    """Where a SecureBucket replicates every new object version.

    Cross-region and cross-stack wiring is by name (``baseline.naming``), never by
    CloudFormation export: the destination's stack deploys first.

    :param bucket_name: destination bucket name.
    :param kms_key_arn: key ARN or alias ARN of the destination's KMS key; S3 resolves an
        alias in the destination bucket owner's account, which is this account here.
    :param role_arn: role S3 assumes to replicate (created with the destination).
    :param account: destination account id. Default: this bucket's account. Give it to
        ``replication_role_policy`` too: the replicas change owner.
    :param storage_class: storage class of replicas. Default: STANDARD_IA.
    """

    bucket_name: str
    kms_key_arn: str
    role_arn: str
    account: str | None = None
    storage_class: str = "STANDARD_IA"


def default_bucket_props(encryption_key: kms.IKey) -> dict[str, Any]:
    """The protections every bucket of the kit gets, as ``s3.Bucket`` keyword arguments.

    SSE-KMS under ``encryption_key`` with a bucket key and SSE-C blocked, Block Public
    Access on all four settings, TLS only (1.2 minimum), versioning, ACLs disabled.
    """
    return {
        "encryption": s3.BucketEncryption.KMS,
        "encryption_key": encryption_key,
        "bucket_key_enabled": True,
        "blocked_encryption_types": [s3.BlockedEncryptionType.SSE_C],
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "versioned": True,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    }


def replication_role_policy(
    *,
    source_bucket_name: str,
    destination_bucket_name: str,
    destination_account: str | None = None,
) -> list[iam.PolicyStatement]:
    """The S3 permissions a replication role needs, and no more (KMS is in the key policies).

    :param destination_account: the destination's account, where it is another than the
        source's (``ReplicationTarget.account``): the replicas then change owner, which S3
        authorises as ``s3:ObjectOwnerOverrideToBucketOwner``.
    """
    source = f"arn:aws:s3:::{source_bucket_name}"
    destination = f"arn:aws:s3:::{destination_bucket_name}"
    return [
        iam.PolicyStatement(
            sid="ReadSourceConfiguration",
            actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
            resources=[source],
        ),
        iam.PolicyStatement(
            sid="ReadSourceVersions",
            actions=[
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
                "s3:GetObjectRetention",
                "s3:GetObjectLegalHold",
            ],
            resources=[f"{source}/*"],
        ),
        iam.PolicyStatement(
            sid="WriteReplicas",
            actions=[
                "s3:ReplicateObject",
                "s3:ReplicateTags",
                *(["s3:ObjectOwnerOverrideToBucketOwner"] if destination_account else []),
            ],
            resources=[f"{destination}/*"],
        ),
    ]


class SecureBucket(Construct):
    """An S3 bucket secure by default, logging to a dedicated access-log bucket.

    Implements SEC08-BP02 (encryption at rest: SSE-KMS with a bucket key, SSE-C blocked),
    SEC09-BP02 (TLS only, TLS 1.2 minimum), SEC03-BP07 / CIS 2.1.4 (Block Public Access,
    object ownership enforced so ACLs are off), SEC04-BP01 (server access logs), SEC08-BP04
    and SEC07-BP04 (versioning, lifecycle, optional Object Lock and replication), and keeps
    data on stack deletion (retained).

    Example::

        bucket = SecureBucket(
            self, "Orders",
            unreplicated_reason="Orders are rebuilt from the order service's database, which "
            "has its own cross-region backups, so a second copy of this bucket adds nothing.",
        )
        bucket.grant_read(reader_role)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str | None = None,
        encryption_key: kms.IKey | EncryptionKey | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        access_logs_bucket_name: str | None = None,
        server_access_logs_prefix: str | None = None,
        access_log_retention: cdk.Duration = cdk.Duration.days(365),
        object_lock: s3.ObjectLockRetention | None = None,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        noncurrent_version_retention: cdk.Duration | None = cdk.Duration.days(90),
        replication: ReplicationTarget | None = None,
        replica: bool = False,
        unreplicated_reason: str | None = None,
        unlocked_reason: str | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    ) -> None:
        """Create the bucket (and, unless given one, its key and access-log bucket).

        :param bucket_name: physical name. Default: generated by CloudFormation.
        :param encryption_key: KMS key for SSE-KMS: a key of the app (``kms.Key`` or an
            :class:`EncryptionKey`), or an existing one (``kms.Key.from_key_arn``, or
            ``kms.Alias.from_alias_name``). Grants to principals work with each; the key
            policy statement S3 server access logging needs can only be written into a key
            of the app, so with an existing key the synth warns
            (``lz:SecureBucket.KeyPolicyNotManaged``) and names the statement to add.
            Default: a new :class:`EncryptionKey`.
        :param server_access_logs_bucket: where access logs go. Default: a new dedicated
            access-log bucket (SSE-KMS, versioned, retained, expiring after
            ``access_log_retention``).
        :param access_logs_bucket_name: physical name of that dedicated access-log bucket.
            Default: generated by CloudFormation.
        :param server_access_logs_prefix: key prefix of the access logs. Default: the
            bucket's construct path, so one log bucket can serve several buckets.
        :param access_log_retention: lifetime of access logs in the dedicated access-log
            bucket. Default: 365 days.
        :param object_lock: Object Lock default retention; Object Lock can only be turned
            on at creation. Default: off.
        :param lifecycle_rules: rules added to the defaults (abort incomplete uploads
            after 7 days; expire noncurrent versions). Default: none.
        :param noncurrent_version_retention: how long noncurrent versions are kept.
            Default: 90 days; None keeps them forever.
        :param replication: replicate every new object to this target. Default: none.
            The NIST 800-53, HIPAA and PCI DSS packs flag a bucket without replication:
            give a target here, or say why there is none in ``unreplicated_reason``. The
            replication role may then decrypt through S3 with the bucket's key (its own,
            or an :class:`EncryptionKey` given); with a ``kms.IKey`` of your own, grant
            that in its key policy yourself (``EncryptionKey.grant_decrypt_via_service``),
            or no object replicates. The role must exist before this key policy is
            written: deploy the destination first.
        :param replica: this bucket is itself a replication destination (it is the
            second copy, so it does not replicate further). Default: False.
        :param unreplicated_reason: why this bucket has no replica (a sentence an auditor
            can accept), recorded as the acknowledgement of the packs' replication rules.
            Default: none, so those rules report the bucket: replication is a choice the
            caller makes and explains, never a default acknowledgement.
        :param unlocked_reason: why a bucket without ``object_lock`` needs none (a sentence
            an auditor can accept), recorded as the acknowledgement of the Control Tower
            rule CT.S3.PR.9. Default: none, so that rule reports a bucket without Object
            Lock: the caller decides and explains.
        :param removal_policy: Default: RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete;
            removed only when its own creation fails, so a failed first deploy can be
            retried). Anything weaker is a named weakening and warns at synth
            (``lz:SecureBucket.NotRetained``).
        """
        super().__init__(scope, construct_id)
        problems = _argument_problems(
            replication=replication,
            replica=replica,
            object_lock=object_lock,
            noncurrent_version_retention=noncurrent_version_retention,
            server_access_logs_bucket=server_access_logs_bucket,
            access_logs_bucket_name=access_logs_bucket_name,
            unlocked_reason=unlocked_reason,
        )
        if problems:
            raise ValueError("SecureBucket: " + "; ".join(problems))
        if (
            noncurrent_version_retention is not None
            and noncurrent_version_retention.to_days(integral=False) < MIN_VERSION_RETENTION_DAYS
        ):
            cdk.Annotations.of(self).add_warning_v2(
                "lz:SecureBucket.ShortVersionRetention",
                f"noncurrent_version_retention={noncurrent_version_retention.to_human_string()}: "
                "an object overwritten or deleted, by mistake or by ransomware, can be "
                f"recovered for less than {MIN_VERSION_RETENTION_DAYS} days.",
            )
        if (
            server_access_logs_bucket is None
            and access_log_retention.to_days(integral=False) < MIN_LOG_RETENTION_DAYS
        ):
            cdk.Annotations.of(self).add_warning_v2(
                "lz:SecureBucket.ShortAccessLogRetention",
                f"access_log_retention={access_log_retention.to_human_string()}: who read or "
                f"wrote the bucket is known for less than {MIN_LOG_RETENTION_DAYS} days.",
            )
        if removal_policy not in _RETAINING:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:SecureBucket.NotRetained",
                f"removal_policy={removal_policy.name}: the bucket and its access-log bucket "
                "are deleted when they leave the stack, so a stack deletion or a replacing "
                "change can destroy the data and its access records.",
            )

        created_key = (
            None
            if encryption_key is not None
            else EncryptionKey(self, "Key", alias=f"alias/s3/{cdk.Names.unique_id(self)[-200:]}")
        )
        #: the key construct whose policy this bucket may add to: its own, or one given
        key_owner = created_key or (
            encryption_key if isinstance(encryption_key, EncryptionKey) else None
        )
        self.encryption_key: kms.IKey = _key_of(encryption_key) or created_key.key  # type: ignore[union-attr]
        created_logs: s3.Bucket | None = None
        if server_access_logs_bucket is None:
            created_logs = self._access_log_bucket(
                access_logs_bucket_name, access_log_retention, removal_policy
            )
        self.access_logs_bucket: s3.IBucket = server_access_logs_bucket or created_logs  # type: ignore[assignment]
        logs_prefix = server_access_logs_prefix or f"{cdk.Names.unique_id(self)}/"

        rules = [
            s3.LifecycleRule(
                id="AbortIncompleteUploads",
                abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS_AFTER,
            )
        ]
        if noncurrent_version_retention is not None:
            rules.append(
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=noncurrent_version_retention,
                )
            )
        rules += list(lifecycle_rules)

        self.bucket = _EventBridgeBucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            **default_bucket_props(self.encryption_key),
            server_access_logs_bucket=(
                self._logging_target(created_logs) if created_logs else server_access_logs_bucket
            ),
            server_access_logs_prefix=logs_prefix,
            lifecycle_rules=rules,
            object_lock_enabled=object_lock is not None or None,
            object_lock_default_retention=object_lock,
            removal_policy=removal_policy,
        )
        _keep_policy_with(self.bucket, removal_policy)
        if created_logs is not None:
            self._allow_log_delivery(created_logs, logs_prefix, bucket_name)
        resource = self.bucket.node.default_child
        assert isinstance(resource, s3.CfnBucket)
        self._resource = resource
        _notify_eventbridge(resource)
        if object_lock is None and unlocked_reason is not None:
            acknowledge(resource, _OBJECT_LOCK_RULE, unlocked_reason)
        if replication is not None:
            resource.replication_configuration = _replication_configuration(replication)
            if key_owner is not None:  # S3 reads each object as the role, through the key
                key_owner.grant_decrypt_via_service(
                    replication.role_arn, service="s3", sid="AllowReplicationOutOfSource"
                )
        elif replica:
            _acknowledge_no_replication(
                resource,
                "This bucket is the replication destination: it is the second, independent copy "
                "of its source bucket in another region, so replicating it again adds nothing.",
            )
        elif unreplicated_reason is not None:
            _acknowledge_no_replication(resource, unreplicated_reason)
        # else: no replica and no reason. The replication rules of the NIST, HIPAA and PCI
        # packs report it, so a regulated team sees it and decides (replication=..., or
        # unreplicated_reason=...), rather than a default acknowledgement hiding it.

    # --- access ---------------------------------------------------------------------------

    @property
    def bucket_name(self) -> str:
        """The bucket's name."""
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        """The bucket's ARN."""
        return self.bucket.bucket_arn

    def grant_read(self, grantee: iam.IGrantable, objects_key_pattern: str = "*") -> iam.Grant:
        """Let a principal list the bucket and read objects (decrypting with the bucket's key).

        :param objects_key_pattern: the object keys granted. Default: ``*`` (every object).
        """
        return self.grant(
            grantee, _READ_ACTIONS, ("kms:Decrypt",), objects_key_pattern, list_bucket=True
        )

    def grant_write(self, grantee: iam.IGrantable, objects_key_pattern: str = "*") -> iam.Grant:
        """Let a principal write objects (encrypting with the bucket's key).

        :param objects_key_pattern: the object keys granted. Default: ``*`` (every object).
        """
        return self.grant(
            grantee, _WRITE_ACTIONS, ("kms:GenerateDataKey", "kms:Decrypt"), objects_key_pattern
        )

    def grant_read_write(
        self, grantee: iam.IGrantable, objects_key_pattern: str = "*"
    ) -> iam.Grant:
        """Let a principal list the bucket, read and write objects.

        :param objects_key_pattern: the object keys granted. Default: ``*`` (every object).
        """
        return self.grant(
            grantee,
            (*_READ_ACTIONS, *_WRITE_ACTIONS),
            ("kms:GenerateDataKey", "kms:Decrypt"),
            objects_key_pattern,
            list_bucket=True,
        )

    def grant(
        self,
        grantee: iam.IGrantable,
        object_actions: Sequence[str],
        key_actions: Sequence[str],
        objects_key_pattern: str = "*",
        *,
        list_bucket: bool = False,
    ) -> iam.Grant:
        """Grant exact object actions (no action wildcards) and the key actions they need.

        Object access needs an object ARN pattern; when it contains ``*`` the AwsSolutions
        IAM5 finding for that one resource is acknowledged on the grantee, with the reason.

        :param objects_key_pattern: the object keys granted. Default: ``*`` (every object).
        :param list_bucket: also grant ``s3:ListBucket`` on the bucket (with a pattern
            other than ``*``, only for listings under it: ``s3:prefix``). Default: False.
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(object_actions),
            resource_arns=[self.bucket.arn_for_objects(objects_key_pattern)],
        )
        if list_bucket:  # for some objects, listing only their keys (s3:prefix)
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["s3:ListBucket"],
                resource_arns=[self.bucket.bucket_arn],
                conditions=None
                if objects_key_pattern == "*"
                else {"StringLike": {"s3:prefix": [objects_key_pattern]}},
            )
        self.encryption_key.grant(grantee, *key_actions)
        if hasattr(self.encryption_key, "alias_name"):
            # An existing key known by its alias only: IAM cannot name the key, so the grant
            # names the alias by condition (a key's own policy is not needed for this).
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=list(key_actions),
                resource_arns=["*"],
                conditions={
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": [self.encryption_key.alias_name]
                    }
                },
            )
        if "*" in objects_key_pattern and isinstance(grantee, Construct):
            stack = cdk.Stack.of(self)
            logical_id = stack.resolve(stack.get_logical_id(self._resource))
            acknowledge(
                grantee,
                f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{objects_key_pattern}]",
                "Object-level S3 actions are granted on the object key pattern the caller "
                f"chose ({objects_key_pattern!r}) in this one bucket; actions are listed exactly.",
            )
        return grant

    def add_to_resource_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the bucket policy (which already denies non-TLS access)."""
        self.bucket.add_to_resource_policy(statement)

    # --- internals ------------------------------------------------------------------------

    def _access_log_bucket(
        self, name: str | None, retention: cdk.Duration, removal_policy: cdk.RemovalPolicy
    ) -> s3.Bucket:
        bucket = _EventBridgeBucket(
            self,
            "AccessLogs",
            bucket_name=name,
            **default_bucket_props(self.encryption_key),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=retention,
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS_AFTER,
                )
            ],
            removal_policy=removal_policy,
        )
        _keep_policy_with(bucket, removal_policy)
        resource = bucket.node.default_child
        assert isinstance(resource, s3.CfnBucket)
        _notify_eventbridge(resource)
        _acknowledge_no_replication(
            resource,
            "Server access logs are operational records kept for troubleshooting and "
            "request auditing; the security record of the organisation (CloudTrail) lives "
            "in the replicated, object-locked log bucket.",
        )
        acknowledge_each(
            resource,
            {
                _OBJECT_LOCK_RULE: (
                    "S3 cannot deliver server access logs to a bucket with Object Lock, so the "
                    "access-log bucket is versioned and retained instead; the object-locked "
                    "record of the organisation is the CloudTrail log bucket."
                ),
                **dict.fromkeys(
                    (f"{GUARD_PLUGIN}::s3_bucket_logging_enabled_check", "CKV_AWS_18"),
                    "This is the access-log bucket itself: logging its own access into itself "
                    "would log every delivery again, and another bucket for it would need one "
                    "in turn; the bucket's API calls are in the organisation trail.",
                ),
            },
        )
        return bucket

    def _logging_target(self, logs: s3.Bucket) -> s3.IBucket:
        """The access-log bucket as the main bucket sees it: a reference without its key.

        Handed a bucket with a customer-managed key, s3.Bucket grants the S3 logging
        service encrypt and decrypt on that key with no condition at all. Through this
        reference it grants nothing, and :meth:`_allow_log_delivery` writes the same
        access with ``aws:SourceAccount`` and ``aws:SourceArn`` pinned.
        """
        target = s3.Bucket.from_bucket_attributes(
            self, "AccessLogsTarget", bucket_arn=logs.bucket_arn, bucket_name=logs.bucket_name
        )
        return target

    def _allow_log_delivery(self, logs: s3.Bucket, prefix: str, bucket_name: str | None) -> None:
        """Let the S3 logging service write this bucket's access logs, and nothing else.

        The key grant can name this bucket as the source only when its name is known at
        synth: a generated name would make key -> bucket -> key a cycle, and then the
        grant is pinned to this account.
        """
        account = cdk.Stack.of(self).account
        principal = iam.ServicePrincipal("logging.s3.amazonaws.com")
        logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowServerAccessLogDelivery",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[logs.arn_for_objects(f"{prefix}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": account},
                },
            )
        )
        key_conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": account}}
        if bucket_name is not None and not cdk.Token.is_unresolved(bucket_name):
            key_conditions["ArnLike"] = {"aws:SourceArn": f"arn:aws:s3:::{bucket_name}"}
        statement = iam.PolicyStatement(
            sid=f"AllowS3AccessLogs{cdk.Names.unique_id(self)[-24:]}",
            principals=[principal],
            actions=["kms:GenerateDataKey*", "kms:Encrypt", "kms:Decrypt"],
            resources=["*"],
            conditions=key_conditions,
        )
        if not self.encryption_key.add_to_resource_policy(statement).statement_added:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:SecureBucket.KeyPolicyNotManaged",
                "encryption_key is an existing key whose policy this app cannot change, so "
                "S3 server access logs cannot be encrypted with it until its key policy "
                "allows logging.s3.amazonaws.com kms:GenerateDataKey*, kms:Encrypt and "
                f"kms:Decrypt for aws:SourceAccount {account}. Add that statement to the key "
                "policy where the key is managed.",
            )
        cdk.Annotations.of(self.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
            "SecureBucket writes the access-log bucket policy itself, with conditions",
        )


def _argument_problems(
    *,
    replication: ReplicationTarget | None,
    replica: bool,
    object_lock: s3.ObjectLockRetention | None,
    noncurrent_version_retention: cdk.Duration | None,
    server_access_logs_bucket: s3.IBucket | None,
    access_logs_bucket_name: str | None,
    unlocked_reason: str | None,
) -> list[str]:
    problems = []
    if replication is not None and replica:
        problems.append("replication and replica=True: a replica does not replicate further")
    if object_lock is not None and noncurrent_version_retention is not None:
        retention_days = object_lock.duration.to_days()
        if noncurrent_version_retention.to_days() < retention_days:
            problems.append(
                "noncurrent_version_retention must be at least the object lock retention "
                f"({retention_days} days), got {noncurrent_version_retention.to_days()}"
            )
    if server_access_logs_bucket is not None and access_logs_bucket_name is not None:
        problems.append(
            "access_logs_bucket_name names a bucket the construct creates; it cannot be "
            "combined with server_access_logs_bucket"
        )
    if object_lock is not None and unlocked_reason is not None:
        problems.append(
            "unlocked_reason explains a bucket without object_lock; give one or the other"
        )
    return problems


def _key_of(encryption_key: kms.IKey | EncryptionKey | None) -> kms.IKey | None:
    """The key itself, also when given the :class:`EncryptionKey` construct around it."""
    return encryption_key.key if isinstance(encryption_key, EncryptionKey) else encryption_key


#: Removal policies that keep the data when the bucket leaves the stack.
_RETAINING = (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


def _keep_policy_with(bucket: s3.Bucket, removal_policy: cdk.RemovalPolicy) -> None:
    """The bucket policy goes where the bucket goes: a bucket kept when its stack is
    deleted keeps its TLS deny and the limits on its writers, which the CDK would
    otherwise delete with the stack (``enforce_ssl`` has made the policy by now)."""
    assert bucket.policy is not None
    bucket.policy.apply_removal_policy(removal_policy)


_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")

_REPLICATION_RULES = (
    "NIST.800.53.R5-S3BucketReplicationEnabled",
    "HIPAA.Security-S3BucketReplicationEnabled",
    "PCI.DSS.321-S3BucketReplicationEnabled",
)


_OBJECT_LOCK_RULE = f"{GUARD_PLUGIN}::s3_bucket_object_lock_enabled_check"


#: Shorter retentions than these warn at synth: a weakening of what an incident can recover
#: (noncurrent versions) or reconstruct (access logs).
MIN_VERSION_RETENTION_DAYS = 30
MIN_LOG_RETENTION_DAYS = 90


class _EventBridgeBucket(s3.Bucket):
    """A bucket whose S3 event notifications, once a caller adds one, keep EventBridge on.

    EventBridge is on in the bucket's own ``NotificationConfiguration`` (no function
    needed). An event notification added later (``add_event_notification`` and the
    ``add_object_*_notification`` calls that use it) is written by the CDK's notifications
    custom resource, which replaces the bucket's whole configuration with its own: without
    EventBridge in it, deploying it would turn EventBridge off while the template still
    showed it on."""

    def add_event_notification(
        self,
        event: s3.EventType,
        dest: s3.IBucketNotificationDestination,
        *filters: s3.NotificationKeyFilter,
    ) -> None:
        self.enable_event_bridge_notification()
        super().add_event_notification(event, dest, *filters)


def _notify_eventbridge(resource: s3.CfnBucket) -> None:
    """Send the bucket's events to EventBridge (CT.S3.PR.4), where a rule can act on a
    deletion or an unexpected write; S3 delivers them at no charge."""
    resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
            event_bridge_enabled=True
        )
    )


def _acknowledge_no_replication(resource: s3.CfnBucket, reason: str) -> None:
    acknowledge(resource, _REPLICATION_RULES, reason)


def _replication_configuration(
    target: ReplicationTarget,
) -> s3.CfnBucket.ReplicationConfigurationProperty:
    return s3.CfnBucket.ReplicationConfigurationProperty(
        role=target.role_arn,
        rules=[
            s3.CfnBucket.ReplicationRuleProperty(
                id="ReplicateEverything",
                status="Enabled",
                priority=1,
                filter=s3.CfnBucket.ReplicationRuleFilterProperty(prefix=""),
                delete_marker_replication=s3.CfnBucket.DeleteMarkerReplicationProperty(
                    status="Disabled"
                ),
                source_selection_criteria=s3.CfnBucket.SourceSelectionCriteriaProperty(
                    sse_kms_encrypted_objects=s3.CfnBucket.SseKmsEncryptedObjectsProperty(
                        status="Enabled"
                    )
                ),
                destination=s3.CfnBucket.ReplicationDestinationProperty(
                    bucket=f"arn:aws:s3:::{target.bucket_name}",
                    account=target.account,
                    storage_class=target.storage_class,
                    encryption_configuration=s3.CfnBucket.EncryptionConfigurationProperty(
                        replica_kms_key_id=target.kms_key_arn
                    ),
                    access_control_translation=(
                        s3.CfnBucket.AccessControlTranslationProperty(owner="Destination")
                        if target.account
                        else None
                    ),
                ),
            )
        ],
    )
