"""LogArchive: the organisation's central, tamper-evident log store (log-archive account).

Two stacks in the log-archive account:

- :class:`LogArchiveReplicaStack` (second governed region, deployed first): the
  object-locked replica bucket, its key, and the role S3 uses to replicate into it.
- :class:`LogArchiveStack` (home region): the log key, the object-locked central log
  bucket that the organisation trail, AWS Config and VPC flow logs write to, its
  access-log bucket, and replication to the replica.

Writers in other accounts find the bucket and key by the names in ``baseline.naming``.
They write under the default ``AWSLogs/`` layout with no extra key prefix: the bucket
policy allows nothing else (``AWSLogs/<org id or management account>/`` for the trail,
``AWSLogs/<account>/Config/`` for AWS Config, and for the logs CloudWatch Logs delivers
``AWSLogs/<account>/vpcflowlogs/`` (VPC flow logs), ``AWSLogs/<account>/network-firewall/``
(Network Firewall alert and flow logs) and ``AWSLogs/<account>/vpcdnsquerylogs/``
(Route 53 Resolver query logs)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from baseline import naming
from baseline.compliance import acknowledge
from baseline.config import AccountRole, LandingZoneConfig, ObjectLockMode
from baseline.constructs import EncryptionKey, ReplicationTarget, SecureBucket
from baseline.constructs.secure_bucket import replication_role_policy

#: Key prefixes (below ``AWSLogs/<account>/``) of the logs delivery.logs writes here.
VENDED_LOG_PREFIXES = ("vpcflowlogs", "network-firewall", "vpcdnsquerylogs")

#: Log writers must hand the object to the bucket owner (ACLs are disabled, so this is
#: the only value S3 accepts, and it documents intent for auditors).
_BUCKET_OWNER_FULL_CONTROL = {"s3:x-amz-acl": "bucket-owner-full-control"}


@dataclass(frozen=True)
class LogArchiveSettings:
    """What both log-archive stacks derive from the config, computed once."""

    prefix: str
    organization_id: str
    account_id: str
    management_account_id: str
    #: the network account when the hub is on: its log deliveries get the documented
    #: ``aws:SourceAccount`` grant as well as the organisation-wide one
    network_account_id: str | None
    home_region: str
    replica_region: str | None
    object_lock: s3.ObjectLockRetention
    retention: cdk.Duration
    infrequent_access_after: cdk.Duration
    glacier_after: cdk.Duration
    expire_after: cdk.Duration | None
    access_log_retention: cdk.Duration

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> LogArchiveSettings:
        lock = config.log_archive.object_lock
        if config.organization.id is None:
            raise ValueError("the log archive needs organization.id (scopes its writers)")
        retention = cdk.Duration.days(lock.retention_days)
        return cls(
            prefix=config.organization.prefix,
            organization_id=config.organization.id,  # checked above
            account_id=config.account_id_for(AccountRole.LOG_ARCHIVE),
            management_account_id=config.account_id_for(AccountRole.MANAGEMENT),
            network_account_id=(
                config.account_id_for(AccountRole.NETWORK) if config.network.hub else None
            ),
            home_region=config.home_region,
            replica_region=config.effective_replication_region,
            object_lock=(
                s3.ObjectLockRetention.compliance(retention)
                if lock.mode == ObjectLockMode.COMPLIANCE
                else s3.ObjectLockRetention.governance(retention)
            ),
            retention=retention,
            infrequent_access_after=cdk.Duration.days(
                config.log_archive.transition_to_infrequent_access_days
            ),
            glacier_after=cdk.Duration.days(config.log_archive.transition_to_glacier_days),
            access_log_retention=cdk.Duration.days(config.log_archive.access_log_retention_days),
            expire_after=(
                cdk.Duration.days(config.log_archive.expiration_days)
                if config.log_archive.expiration_days
                else None
            ),
        )

    def bucket_name(self, region: str) -> str:
        return naming.log_bucket(self.prefix, self.account_id, region)

    def access_logs_bucket_name(self, region: str) -> str:
        return naming.access_log_bucket(self.prefix, self.account_id, region)


class LogArchiveReplicaStack(cdk.Stack):
    """The object-locked replica of the central log bucket, in a second region."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: LogArchiveSettings, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        assert settings.replica_region is not None
        region = settings.replica_region
        self.key = EncryptionKey(
            self,
            "LogKey",
            alias=naming.log_key_alias(settings.prefix),
            description=f"Encrypts the replica of the organisation's log archive in {region}",
            # the source bucket's replication rule names it: kept, replication goes on
            # when this stack alone is deleted
            retain_alias=True,
        )
        self.bucket = SecureBucket(
            self,
            "LogBucket",
            bucket_name=settings.bucket_name(region),
            access_logs_bucket_name=settings.access_logs_bucket_name(region),
            encryption_key=self.key.key,
            object_lock=settings.object_lock,
            noncurrent_version_retention=settings.retention,
            # what the source expires, its replica expires too: a retention limit holds in
            # both regions (delete markers are not replicated)
            lifecycle_rules=(
                [s3.LifecycleRule(id="ExpireLogs", expiration=settings.expire_after)]
                if settings.expire_after is not None
                else ()
            ),
            access_log_retention=settings.access_log_retention,
            replica=True,
        )
        self.bucket.add_to_resource_policy(
            _deny_log_writes_but_the_services(self.bucket.bucket_arn)
        )
        self.replication_role = iam.Role(
            self,
            "ReplicationRole",
            role_name=naming.log_replication_role(settings.prefix),
            description="Assumed by S3 to replicate the central log bucket to its replica",
            assumed_by=iam.ServicePrincipal(
                "s3.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": settings.account_id}},
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        # Deleting this stack alone must not break replication of the source bucket.
        self.replication_role.apply_removal_policy(cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        policy = iam.ManagedPolicy(
            self,
            "ReplicationPolicy",
            description="What S3 replication of the log bucket needs, and no more",
            roles=[self.replication_role],
            statements=replication_role_policy(
                source_bucket_name=settings.bucket_name(settings.home_region),
                destination_bucket_name=settings.bucket_name(region),
            ),
        )
        policy.apply_removal_policy(cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        for bucket in (settings.home_region, region):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{settings.bucket_name(bucket)}/*]",
                "Replication reads and writes every object version of the log bucket, so the "
                "object ARN needs the trailing wildcard; the bucket itself is named exactly.",
            )
        self.key.grant_encrypt_via_service(
            self.replication_role, service="s3", sid="AllowReplicationIntoReplica"
        )


class LogArchiveStack(cdk.Stack):
    """The central log bucket in the home region, and who may write to it.

    Implements SEC04-BP01/BP02 (logs in one standardized, protected place), SEC08-BP01/
    BP02 (customer-managed key), CIS 3.x (the trail's bucket is not public, logs access,
    is encrypted) and keeps logs immutable for the configured retention (Object Lock).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: LogArchiveSettings, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        region = settings.home_region
        trail_arn = naming.organization_trail_arn(
            settings.prefix, settings.management_account_id, region
        )
        self.key = EncryptionKey(
            self,
            "LogKey",
            alias=naming.log_key_alias(settings.prefix),
            description="Encrypts the organisation's central log archive",
            # the trail and every member account's Session Manager preferences name it
            retain_alias=True,
        )
        self.key.grant_cloudtrail(trail_arns=[trail_arn])
        self.key.grant_service_for_organization(
            "config.amazonaws.com",
            organization_id=settings.organization_id,
            sid="AllowConfigDelivery",
            actions=("kms:GenerateDataKey", "kms:Decrypt"),
        )
        self.key.grant_service_for_organization(
            "delivery.logs.amazonaws.com",
            organization_id=settings.organization_id,
            sid="AllowFlowLogDelivery",
            actions=("kms:GenerateDataKey*", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"),
        )
        # Session Manager's logs, through S3 into this bucket only
        bucket_arn = f"arn:aws:s3:::{settings.bucket_name(region)}"
        self.key.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSessionManagerLogs",
                principals=[iam.OrganizationPrincipal(settings.organization_id)],
                # Decrypt too: a transcript over 5 MiB goes up in parts, which reads its
                # data key; nothing grants reading an object
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                    "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": [
                            bucket_arn,
                            f"{bucket_arn}/{naming.SESSION_LOG_PREFIX}/*",
                        ]
                    },
                },
            )
        )
        acknowledge(
            self.key.key,
            "CKV_AWS_33",
            "The one statement with '*' as principal is narrowed to the organisation "
            "(aws:PrincipalOrgID), to S3 of this region (kms:ViaService) and to this bucket "
            "(the encryption context; with S3 Bucket Keys it is the bucket's ARN), and the "
            "bucket policy lets the organisation's principals write only below their own "
            "account's id of the session-manager prefix and read no object: they encrypt "
            "their Session Manager transcripts with it, and nothing else.",
        )
        if settings.network_account_id is not None:
            self.key.grant_service_for_account(
                "delivery.logs.amazonaws.com",
                source_account=settings.network_account_id,
                sid="AllowNetworkHubLogDelivery",
                actions=("kms:GenerateDataKey*", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"),
            )

        replication = None
        if settings.replica_region is not None:
            role_arn = (
                f"arn:aws:iam::{settings.account_id}:role/"
                f"{naming.log_replication_role(settings.prefix)}"
            )
            replication = ReplicationTarget(
                bucket_name=settings.bucket_name(settings.replica_region),
                kms_key_arn=naming.log_key_alias_arn(
                    settings.prefix, settings.account_id, settings.replica_region
                ),
                role_arn=role_arn,
            )
            self.key.grant_decrypt_via_service(
                role_arn, service="s3", sid="AllowReplicationOutOfSource"
            )

        self.bucket = SecureBucket(
            self,
            "LogBucket",
            bucket_name=settings.bucket_name(region),
            access_logs_bucket_name=settings.access_logs_bucket_name(region),
            encryption_key=self.key.key,
            object_lock=settings.object_lock,
            noncurrent_version_retention=settings.retention,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="TierLogs",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=settings.infrequent_access_after,
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=settings.glacier_after,
                        ),
                    ],
                    expiration=settings.expire_after,
                )
            ],
            access_log_retention=settings.access_log_retention,
            replication=replication,
            unreplicated_reason=(
                "The landing-zone config turns log replication off (log_archive.replicate: "
                "false, or only one governed region), so there is no second region to hold "
                "a replica; the bucket stays object-locked and versioned."
            ),
        )
        # AWS Config does not deliver to a bucket with Object Lock default retention, so
        # its history has a bucket of its own: versioned, retained, protected by the
        # guardrails, with the same key.
        self.config_bucket = SecureBucket(
            self,
            "ConfigBucket",
            bucket_name=naming.config_bucket(settings.prefix, settings.account_id, region),
            access_logs_bucket_name=naming.config_access_log_bucket(
                settings.prefix, settings.account_id, region
            ),
            encryption_key=self.key.key,
            noncurrent_version_retention=settings.retention,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="TierConfigHistory",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=settings.infrequent_access_after,
                        )
                    ],
                )
            ],
            access_log_retention=settings.access_log_retention,
            unreplicated_reason=(
                "AWS Config history can be rebuilt from the recorders and is also held by the "
                "organisation aggregator in the audit account; the replicated, object-locked "
                "record of every API call is the CloudTrail log bucket."
            ),
            unlocked_reason=(
                "AWS Config does not deliver to a bucket with Object Lock enabled, so its "
                "history is versioned, retained and protected by the guardrails instead; the "
                "object-locked record of every API call is the CloudTrail log bucket."
            ),
        )
        self._allow_writers(settings, trail_arn)
        self._allow_config(settings)
        for bucket in (self.bucket, self.config_bucket):
            bucket.add_to_resource_policy(_deny_nested_log_prefixes(bucket.bucket_arn))
        self.bucket.add_to_resource_policy(
            _deny_log_writes_but_the_services(self.bucket.bucket_arn)
        )
        # the Config history too: it has no Object Lock, so a forged current version would
        # be all its readers see. This account's own recorder delivers to it in the same
        # account, which AWS Config may do as its service-linked role rather than as the
        # service: that role, which nobody can assume, is the one other writer
        self.config_bucket.add_to_resource_policy(
            _deny_log_writes_but_the_services(
                self.config_bucket.bucket_arn,
                also=f"arn:aws:iam::{settings.account_id}:role/{naming.CONFIG_SLR}",
            )
        )

    def _allow_config(self, settings: LogArchiveSettings) -> None:
        """AWS Config of every account of the organisation may deliver, and nobody else."""
        arn = self.config_bucket.bucket_arn
        config = iam.ServicePrincipal("config.amazonaws.com")
        org = {"aws:SourceOrgID": settings.organization_id}
        self.config_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ConfigBucketCheck",
                principals=[config],
                actions=["s3:GetBucketAcl", "s3:ListBucket"],
                resources=[arn],
                conditions={"StringEquals": org},
            )
        )
        self.config_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ConfigWrite",
                principals=[config],
                actions=["s3:PutObject"],
                resources=[f"{arn}/AWSLogs/*/Config/*"],
                conditions={"StringEquals": {**org, **_BUCKET_OWNER_FULL_CONTROL}},
            )
        )

    def _allow_writers(self, settings: LogArchiveSettings, trail_arn: str) -> None:
        """Bucket-policy grants for the organisation's log writers, and nobody else."""
        bucket = self.bucket
        arn = bucket.bucket_arn
        org = {"aws:SourceOrgID": settings.organization_id}
        cloudtrail = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        flow_logs = iam.ServicePrincipal("delivery.logs.amazonaws.com")
        statements = [
            iam.PolicyStatement(
                sid="CloudTrailAclCheck",
                principals=[cloudtrail],
                actions=["s3:GetBucketAcl"],
                resources=[arn],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
            ),
            iam.PolicyStatement(
                sid="CloudTrailWrite",
                principals=[cloudtrail],
                actions=["s3:PutObject"],
                resources=[
                    f"{arn}/AWSLogs/{settings.organization_id}/*",
                    f"{arn}/AWSLogs/{settings.management_account_id}/*",
                ],
                conditions={
                    "StringEquals": {"aws:SourceArn": trail_arn, **_BUCKET_OWNER_FULL_CONTROL}
                },
            ),
            iam.PolicyStatement(
                sid="FlowLogsBucketCheck",
                principals=[flow_logs],
                actions=["s3:GetBucketAcl", "s3:ListBucket"],
                resources=[arn],
                conditions={"StringEquals": org},
            ),
            iam.PolicyStatement(
                sid="FlowLogsWrite",
                principals=[flow_logs],
                actions=["s3:PutObject"],
                # VPC flow logs, Network Firewall logs and Resolver DNS query logs
                resources=[f"{arn}/AWSLogs/*/{kind}/*" for kind in VENDED_LOG_PREFIXES],
                conditions={"StringEquals": {**org, **_BUCKET_OWNER_FULL_CONTROL}},
            ),
        ]
        network = settings.network_account_id
        if network is not None:
            # The network hub's firewall, DNS query and flow logs, with the condition the
            # log-delivery documentation gives (aws:SourceAccount), so they arrive even if
            # a delivery carries no aws:SourceOrgID.
            hub = {"aws:SourceAccount": network}
            statements += [
                iam.PolicyStatement(
                    sid="NetworkHubLogsBucketCheck",
                    principals=[flow_logs],
                    actions=["s3:GetBucketAcl", "s3:ListBucket"],
                    resources=[arn],
                    conditions={"StringEquals": hub},
                ),
                iam.PolicyStatement(
                    sid="NetworkHubLogsWrite",
                    principals=[flow_logs],
                    actions=["s3:PutObject"],
                    resources=[f"{arn}/AWSLogs/{network}/{kind}/*" for kind in VENDED_LOG_PREFIXES],
                    conditions={"StringEquals": {**hub, **_BUCKET_OWNER_FULL_CONTROL}},
                ),
            ]
        # Session Manager's logs, written by the instances of every account of the
        # organisation (their role), each below its own account's id only
        organization = iam.OrganizationPrincipal(settings.organization_id)
        statements += [
            iam.PolicyStatement(
                sid="SessionManagerLogsBucketCheck",
                principals=[organization],
                actions=["s3:GetEncryptionConfiguration"],
                resources=[arn],
            ),
            iam.PolicyStatement(
                sid="SessionManagerLogsWrite",
                principals=[organization],
                actions=["s3:PutObject"],
                resources=[f"{arn}/{naming.SESSION_LOG_PREFIX}/${{aws:PrincipalAccount}}/*"],
            ),
        ]
        for statement in statements:
            bucket.add_to_resource_policy(statement)


def _deny_log_writes_but_the_services(
    bucket_arn: str, also: str | None = None
) -> iam.PolicyStatement:
    """Only the delivering services write under ``AWSLogs/``: CloudTrail, AWS Config and,
    through delivery.logs, the VPC flow, firewall and DNS query logs. Object Lock keeps every
    version, but a principal of the log-archive account allowed s3:PutObject by its own
    policy could otherwise put a forged current version over a log, and readers of the
    current version would read that. (Replicas are written as s3:ReplicateObject.) ``also``
    names one more writer (a service's role) by ARN."""
    conditions: dict[str, Any] = {"Bool": {"aws:PrincipalIsAWSService": "false"}}
    if also is not None:
        conditions["ArnNotEquals"] = {"aws:PrincipalArn": also}
    return iam.PolicyStatement(
        sid="OnlyTheDeliveringServicesWriteLogs",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["s3:PutObject"],
        resources=[f"{bucket_arn}/AWSLogs/*"],
        conditions=conditions,
    )


def _deny_nested_log_prefixes(bucket_arn: str) -> iam.PolicyStatement:
    """No object key with a second ``AWSLogs/`` in it.

    A delivery service writes below ``AWSLogs/<the source account>/``, after the writer's
    own key prefix if it sets one. The writer statements allow ``AWSLogs/*/<kind>/*``, so a
    member account whose prefix is ``AWSLogs/<another account>/vpcflowlogs`` could otherwise
    place its logs under that other account's prefix. With this, an account's logs can only
    be where the service itself puts them: under its own id.
    """
    return iam.PolicyStatement(
        sid="DenyLogsUnderAnotherAccountsPrefix",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["s3:PutObject"],
        resources=[f"{bucket_arn}/AWSLogs/*/AWSLogs/*"],
    )
