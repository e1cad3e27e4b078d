"""The forensics account: where evidence is kept and examined (SEC10-BP03, SEC10-BP05).

Two things, in the home region of the account with role ``forensics``:

- the **evidence bucket** ``<prefix>-evidence-<account>-<region>``: Object Lock (the
  config's ``forensics.object_lock``, COMPLIANCE by default, so nobody shortens or removes
  a retention), a customer-managed key, versioning and server access logs. Only the
  audit account's containment automation (``<prefix>-containment-*`` roles) may write,
  and it may not delete or change what it wrote; everyone else may only read, and only
  from this account.
- the **analysis VPC**: isolated subnets only, with no internet gateway, NAT or transit
  gateway, so nothing examined here can call out; VPC endpoints for Systems Manager, KMS,
  CloudWatch Logs, STS and S3; every flow logged to the log archive.

Snapshots tagged as evidence can be shared to this account (SCP-EVIDENCE-PROTECT lets the
tag's holder share them here and nowhere else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from baseline import naming
from baseline.config import AccountRole, LandingZoneConfig
from baseline.constructs.encryption_key import EncryptionKey
from baseline.constructs.layered_vpc import LayeredVpc, declare_availability_zones
from baseline.constructs.secure_bucket import SecureBucket


@dataclass(frozen=True)
class ForensicsSettings:
    """What the forensics stack needs, derived once from the config."""

    prefix: str
    organization_id: str
    account_id: str
    audit_account_id: str
    region: str
    log_bucket_name: str
    object_lock: s3.ObjectLockRetention
    vpc_cidr: str
    availability_zones: tuple[str, ...]

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> ForensicsSettings | None:
        """The settings, or None when the config has no forensics account."""
        account = next((a for a in config.accounts if a.role == AccountRole.FORENSICS), None)
        if account is None:
            return None
        assert account.id is not None and config.organization.id is not None  # config rules
        lock = config.forensics.object_lock
        retention = cdk.Duration.days(lock.retention_days)
        region = config.home_region
        return cls(
            prefix=config.organization.prefix,
            organization_id=config.organization.id,
            account_id=account.id,
            audit_account_id=config.account_id_for(AccountRole.AUDIT),
            region=region,
            log_bucket_name=naming.log_bucket(
                config.organization.prefix, config.account_id_for(AccountRole.LOG_ARCHIVE), region
            ),
            object_lock=(
                s3.ObjectLockRetention.compliance(retention)
                if lock.mode.value == "COMPLIANCE"
                else s3.ObjectLockRetention.governance(retention)
            ),
            vpc_cidr=config.forensics.vpc_cidr,
            availability_zones=tuple(config.network.zones(region)),
        )

    @property
    def writer_pattern(self) -> str:
        """ARN pattern of the only principals that write evidence."""
        return (
            f"arn:aws:iam::{self.audit_account_id}:role/"
            f"{naming.containment_role_pattern(self.prefix)}"
        )


class ForensicsStack(cdk.Stack):
    """The evidence bucket and the isolated analysis VPC of the forensics account."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: ForensicsSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        declare_availability_zones(self, settings.availability_zones)
        self.key = EncryptionKey(
            self,
            "EvidenceKey",
            alias=naming.evidence_key_alias(settings.prefix),
            description="Encrypts the evidence of security incidents",
        )
        self.bucket = SecureBucket(
            self,
            "Evidence",
            bucket_name=naming.evidence_bucket(
                settings.prefix, settings.account_id, settings.region
            ),
            access_logs_bucket_name=naming.evidence_access_log_bucket(
                settings.prefix, settings.account_id, settings.region
            ),
            encryption_key=self.key.key,
            object_lock=settings.object_lock,
            # evidence outlives any version churn: noncurrent versions stay
            noncurrent_version_retention=None,
            unreplicated_reason=(
                "Evidence is collected in the incident's region and kept under Object Lock "
                "here; the findings and API calls it documents are also in the replicated, "
                "object-locked log archive, so a second copy would add exposure, not safety."
            ),
        )
        self._allow_only_the_containment_automation_to_write()
        self.vpc = LayeredVpc(
            self,
            "AnalysisVpc",
            cidr=settings.vpc_cidr,
            isolated_only=True,
            organization_id=settings.organization_id,
            flow_log_bucket_name=settings.log_bucket_name,
            # under the prefix: SCP-BASELINE-PROTECT keeps the landing zone's keys by alias
            flow_log_key_alias=naming.forensics_flow_log_key_alias(settings.prefix),
            availability_zones=settings.availability_zones,
        )
        # the analysis instances read evidence through the VPC's S3 gateway endpoint

    def _allow_only_the_containment_automation_to_write(self) -> None:
        settings = self.settings
        bucket = self.bucket.bucket
        audit = iam.AccountPrincipal(settings.audit_account_id)
        writer = {"ArnLike": {"aws:PrincipalArn": settings.writer_pattern}}
        # by account and condition: the roles need not exist when the policy is written
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ContainmentAutomationWritesEvidence",
                principals=[audit],
                actions=["s3:PutObject", "s3:PutObjectTagging"],
                resources=[bucket.arn_for_objects("*")],
                conditions=writer,
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheContainmentAutomationWrites",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects("*")],
                conditions={"ArnNotLike": {"aws:PrincipalArn": settings.writer_pattern}},
            )
        )
        self.key.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ContainmentAutomationEncryptsEvidence",
                principals=[audit],
                # what the writer's own policy grants (EncryptEvidence): it stores each
                # piece of evidence with one PutObject, never a multipart upload
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    **writer,
                    "StringEquals": {"kms:ViaService": f"s3.{settings.region}.amazonaws.com"},
                },
            )
        )
