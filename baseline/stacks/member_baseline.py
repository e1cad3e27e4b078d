"""MemberBaseline: what every member account gets, in every governed region.

:class:`MemberBaselineStack` is one template, deployed by a service-managed StackSet
into every account of the target OUs (present and future) and every governed region,
or as a plain stack into a single account. It holds no file assets (StackSet targets
cannot read the management account's asset bucket): its one function is inline.

In every region: EBS encryption by default (IMDSv2 account defaults only outside an
organisation: inside one, the declarative EC2 policy owns them), default VPCs closed or removed, the AWS Config recorder (global resource types in the home region only) and
its delivery channel to the log archive, and the backup vault the backup policy names.
In the home region only (IAM and S3 account settings are global): the password policy,
account-level S3 Block Public Access, and the audit, incident-response, support,
break-glass and backup roles.

:class:`MemberBaselineStackSetStack` holds the StackSet itself, in the management account
(CallAs SELF) or in the audit account as delegated administrator (CallAs DELEGATED_ADMIN).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudformation as cloudformation
from aws_cdk import aws_config as config_
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from baseline import naming
from baseline.assembly import TEMPLATE_FILE_METADATA, without_nag_acknowledgements
from baseline.boundary import workload_boundary_document
from baseline.cdk_context import cdk_json_context
from baseline.compliance import (
    GUARD_PLUGIN,
    VALIDATION_REPORT,
    ComplianceError,
    acknowledge,
    acknowledge_each,
    attach_packs,
    synth_checked,
    violation_message,
)
from baseline.config import AccountRole, DefaultVpcAction, EbsKey, LandingZoneConfig
from baseline.constructs.baseline_function import (
    HANDLER_DIGEST,
    BaselineFunction,
    answer_within,
)
from baseline.constructs.break_glass_role import BreakGlassRole
from baseline.constructs.encryption_key import EncryptionKey
from baseline.constructs.machine_access import GITHUB_AUDIENCE, GITHUB_ISSUER
from baseline.defaults import BACKUP_RETENTION_DAYS, CASE_TAG, EVIDENCE_TAG, QUARANTINE_TAG
from baseline.handlers.remediation import RUNBOOKS

HANDLER_SOURCE = Path(__file__).resolve().parent.parent / "handlers" / "account_settings.py"
#: CloudFormation's limit for inline function code.
INLINE_CODE_LIMIT = 4096
#: CloudFormation's limit for a template passed inline (TemplateBody).
TEMPLATE_BODY_LIMIT = 51_200
#: Session Manager closes a session idle this long, and any session at this age (minutes).
SESSION_IDLE_MINUTES = 20
SESSION_MAX_MINUTES = 60

CONFIG_SLR = naming.CONFIG_SLR


@dataclass(frozen=True)
class MemberBaselineSettings:
    """Everything the member template needs, derived once from the config."""

    prefix: str
    home_region: str
    config_bucket_name: str
    audit_account_id: str
    management_account_id: str
    break_glass_principals: tuple[str, ...]
    break_glass_session_hours: int
    customer_managed_ebs_key: bool
    default_vpcs: str
    #: Set the account's IMDS defaults. In an organisation the declarative EC2 policy owns
    #: them (and the account may not change them); a single account sets its own.
    imds_defaults: bool = False
    #: Create the GitHub Actions OIDC provider in the account (once, in the home region).
    github_oidc_provider: bool = False
    #: Create the incident-responder role. Not in the management account: there no SCP
    #: bounds it, and its containment actions would let the audit account escalate.
    incident_responder: bool = True
    #: Roles of the audit account (ARN patterns) that may assume the audit and support
    #: roles. Default: none but the audit account's Identity Center SecurityAudit roles.
    audit_principals: tuple[str, ...] = ()
    #: Roles of the audit account (ARN patterns) that may assume the incident-responder
    #: role. Default: the audit account's Identity Center IncidentResponse roles.
    incident_responder_principals: tuple[str, ...] = ()
    #: The forensics account, the one place the responder may share evidence snapshots.
    forensics_account_id: str | None = None
    #: The log archive's bucket (home region) and account, where Session Manager's
    #: transcripts go too. Default: none (a single account: CloudWatch Logs only).
    log_bucket_name: str | None = None
    log_archive_account_id: str | None = None
    #: The audit account's containment functions (``<prefix>-containment-<region>``) may
    #: assume the incident-responder role too: some OU isolates automatically.
    containment_automation: bool = False
    #: The audit account's remediator may start the remediation runbooks as the account's
    #: ``<prefix>-remediation`` role: some OU remediates.
    remediation_automation: bool = False
    #: Start the trail's logging and the Config recorder again as soon as someone stops
    #: them: the management account, which no SCP protects.
    restart_logging: bool = False

    def principals(self, role: str) -> tuple[str, ...]:
        """Who of the audit account may assume ``audit`` (and support) or ``responder``."""
        named = self.audit_principals if role == "audit" else self.incident_responder_principals
        default = "SecurityAudit" if role == "audit" else "IncidentResponse"
        people = named or (
            f"arn:aws:iam::{self.audit_account_id}:role/aws-reserved/sso.amazonaws.com/"
            f"*AWSReservedSSO_{default}_*",
        )
        if role == "responder" and self.containment_automation:
            automation = naming.containment_role_pattern(self.prefix)
            return (*people, f"arn:aws:iam::{self.audit_account_id}:role/{automation}")
        return people

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> MemberBaselineSettings:
        m = config.member_baseline
        prefix = config.organization.prefix
        return cls(
            prefix=prefix,
            home_region=config.home_region,
            config_bucket_name=naming.config_bucket(
                prefix, config.account_id_for(AccountRole.LOG_ARCHIVE), config.home_region
            ),
            log_bucket_name=naming.log_bucket(
                prefix, config.account_id_for(AccountRole.LOG_ARCHIVE), config.home_region
            ),
            log_archive_account_id=config.account_id_for(AccountRole.LOG_ARCHIVE),
            audit_account_id=config.account_id_for(AccountRole.AUDIT),
            management_account_id=config.account_id_for(AccountRole.MANAGEMENT),
            break_glass_principals=tuple(m.break_glass_principals),
            break_glass_session_hours=m.break_glass_session_hours,
            github_oidc_provider=m.github_oidc_provider,
            customer_managed_ebs_key=m.ebs_encryption_key == EbsKey.CUSTOMER_MANAGED,
            default_vpcs=m.default_vpcs.value,
            audit_principals=tuple(config.audit_principals()),
            incident_responder_principals=tuple(config.incident_responder_principals()),
            forensics_account_id=next(
                (a.id for a in config.accounts if a.role == AccountRole.FORENSICS),
                None,
            ),
            containment_automation=bool(config.incident_response.isolating_ous()),
            remediation_automation=bool(config.incident_response.remediating_ous()),
        )


def _evidence_sharing(settings: MemberBaselineSettings) -> list[iam.PolicyStatement]:
    """The responder shares a snapshot marked as evidence with the forensics account only
    (never publicly); without a forensics account, with no one."""
    if settings.forensics_account_id is None:
        return []
    return [
        iam.PolicyStatement(
            sid="ShareEvidenceWithForensics",
            actions=["ec2:ModifySnapshotAttribute"],
            resources=["arn:aws:ec2:*::snapshot/*"],
            conditions={
                "ForAllValues:StringEquals": {"ec2:Add/userId": [settings.forensics_account_id]},
                "Null": {f"aws:ResourceTag/{EVIDENCE_TAG}": "false", "ec2:Add/group": "true"},
            },
        )
    ]


#: The key-policy statement that lets the forensics account use snapshots shared with it.
FORENSICS_EBS_SID = "ForensicsUsesSharedSnapshots"


def _forensics_ebs_use(settings: MemberBaselineSettings, region: str) -> iam.PolicyStatement:
    """A snapshot under the account's EBS key, shared with the forensics account (the one
    account SCP-EVIDENCE-PROTECT lets evidence go to), is of use there only if that account
    may use the key through EC2: to copy the snapshot under a key of its own, or to make a
    volume of it. Only through EC2, and only the forensics account's own principals (its
    IAM policies decide which)."""
    forensics = str(settings.forensics_account_id)
    return _ebs_key_use(FORENSICS_EBS_SID, iam.AccountPrincipal(forensics), forensics, region)


def _ebs_key_use(
    sid: str, principal: iam.IPrincipal, account: str, region: str
) -> iam.PolicyStatement:
    """The EBS key's use by ``account``'s principals, through EC2 in the key's region only:
    what EC2 asks of the key for the volumes and snapshots it encrypts."""
    return iam.PolicyStatement(
        sid=sid,
        principals=[principal],
        actions=[
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncrypt*",
        ],
        resources=["*"],
        conditions={
            "StringEquals": {
                "kms:ViaService": f"ec2.{region}.amazonaws.com",
                "kms:CallerAccount": account,
            }
        },
    )


def inline_handler_source() -> str:
    """The account-settings handler as it goes into the template: comment and blank lines
    dropped, each indentation level one space instead of four (the same program, a quarter of the
    indentation: CloudFormation takes at most 4,096 characters of inline code)."""
    source = HANDLER_SOURCE.read_text(encoding="utf-8")
    lines = []
    for line in source.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        lines.append(" " * (indent // 4) + line[indent:])
    body = "\n".join(lines)
    if ast.dump(ast.parse(body)) != ast.dump(ast.parse(source)):
        raise ValueError(f"{HANDLER_SOURCE.name} is not the same program once shrunk")
    if len(body) > INLINE_CODE_LIMIT:
        raise ValueError(
            f"{HANDLER_SOURCE.name} is {len(body)} characters; inline code allows {INLINE_CODE_LIMIT}"
        )
    return body + "\n"


class MemberBaselineStack(cdk.Stack):
    """The member-account baseline template (SEC01-BP06: automate standard security controls).

    Implements CIS 1.8/1.9 (password policy), 2.2.1 (EBS encryption by default), 2.1.4
    (account-level S3 Block Public Access), 3.3 (Config in every region), 5.4 (default
    security groups closed), 1.17 (a support role), SEC06-BP02 (IMDSv2 defaults where no
    declarative policy sets them),
    SEC03-BP03 (break-glass) and SEC10-BP05 (pre-provisioned audit and incident access).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: MemberBaselineSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        prefix = settings.prefix
        region = cdk.Aws.REGION
        account = cdk.Aws.ACCOUNT_ID
        self.is_home = cdk.CfnCondition(
            self, "IsHomeRegion", expression=cdk.Fn.condition_equals(region, settings.home_region)
        )

        self.ebs_key: EncryptionKey | None = None
        if settings.customer_managed_ebs_key:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:MemberBaselineStack.CustomerManagedEbsKeyExperimental",
                "ebs_encryption_key: customer_managed is experimental: the key policy does not "
                "yet allow the Auto Scaling service-linked role, so Auto Scaling (and other "
                "service-linked) launches of encrypted volumes fail in accounts that use it.",
            )
            self.ebs_key = EncryptionKey(
                self,
                "EbsKey",
                alias=f"alias/{prefix}/ebs-default",
                description="Default key for EBS encryption in this account and region",
            )
            self.ebs_key.key.add_to_resource_policy(
                _ebs_key_use("AllowEbsThroughEc2", iam.AccountRootPrincipal(), account, region)
            )
            if settings.forensics_account_id is not None:
                self.ebs_key.key.add_to_resource_policy(_forensics_ebs_use(settings, region))

        # one key per account and region: the settings function's logs and failed events,
        # and the organisation's backups in this account's vault
        self.baseline_key = EncryptionKey(
            self,
            "BaselineKey",
            alias=f"alias/{prefix}/baseline",
            description="Encrypts the member baseline's function logs, failed events and backup vault",
        )
        self.settings_function = BaselineFunction(
            self,
            "AccountSettings",
            encryption_key=self.baseline_key,
            function_name=f"{naming.account_settings_function(prefix)}-{region}",
            description="Applies the member baseline's account settings",
            code=lambda_.Code.from_inline(source := inline_handler_source()),
            handler="index.handler",
            log_group_name=f"/{prefix}/account-settings",
            statements=self._settings_permissions(),
            wildcard_reasons=self._settings_wildcard_reasons(),
            policy_path=naming.baseline_policy_path(prefix),
        )
        properties: dict[str, Any] = {
            # a changed handler runs again in the accounts deployed already
            HANDLER_DIGEST: hashlib.sha256(source.encode()).hexdigest(),
            "HomeRegion": cdk.Fn.condition_if(self.is_home.logical_id, "true", "false"),
            "AccountId": account,
            "DefaultVpcs": settings.default_vpcs,
            "ImdsDefaults": str(settings.imds_defaults).lower(),
        }
        if self.ebs_key is not None:
            properties["EbsKmsKeyId"] = self.ebs_key.key_arn
        properties |= self._session_manager()
        self.account_settings = cdk.CustomResource(
            self,
            "AccountSettingsResource",
            service_token=self.settings_function.function.function_arn,
            resource_type="Custom::AccountSettings",
            service_timeout=answer_within(self.settings_function.timeout),
            properties=properties,
        )
        self._config_recorder()
        self._roles()
        self._backup()
        self._patch_scan()
        self._workload_boundary()
        if settings.restart_logging:
            self._restart_logging()
        if settings.github_oidc_provider:
            # IAM is global: one provider per account, made in the home region
            self.github_provider = iam.CfnOIDCProvider(
                self,
                "GitHubOidcProvider",
                url=f"https://{GITHUB_ISSUER}",
                client_id_list=[GITHUB_AUDIENCE],
            )
            self.github_provider.cfn_options.condition = self.is_home

    def _workload_boundary(self) -> None:
        """The permissions boundary of every workload role (SEC03-BP02): IAM is global, so
        the policy is made once, in the home region."""
        self.workload_boundary = iam.CfnManagedPolicy(
            self,
            "WorkloadBoundary",
            managed_policy_name=naming.workload_boundary(self.settings.prefix),
            description=(
                "Caps every workload role and user: none without this boundary, nothing on "
                "the landing zone's own resources or the organisation"
            ),
            policy_document=workload_boundary_document(
                self.settings.prefix, self.settings.log_archive_account_id
            ),
        )
        self.workload_boundary.cfn_options.condition = self.is_home
        acknowledge_each(
            self.workload_boundary,
            {
                "AwsSolutions-IAM5[Action::*]": _BOUNDARY_REASON,
                "AwsSolutions-IAM5[Resource::*]": _BOUNDARY_REASON,
                **dict.fromkeys(
                    (
                        f"{GUARD_PLUGIN}::iam_managed_policy_no_statements_with_admin_access_check",
                        f"{GUARD_PLUGIN}::iam_managed_policy_no_statements_with_full_access_check",
                        "CKV_AWS_109",
                        "CKV_AWS_111",
                    ),
                    _BOUNDARY_REASON,
                ),
            },
        )

    def _backup(self) -> None:
        """The vault and role the organisation's backup policy names (SEC10-BP03).

        The vault is locked in governance mode: no recovery point is deleted, nor its
        lifecycle shortened, before it is as old as the policy keeps it, by anyone who
        does not first remove the lock, which SCP-BASELINE-PROTECT leaves to the baseline's
        own principals. So an intruder with an account's administrator cannot delete its
        backups before encrypting or deleting the data. A backup or copy job into the vault
        that keeps its recovery points less long fails: such plans use a vault of their own.
        """
        prefix = self.settings.prefix
        self.backup_vault = backup.CfnBackupVault(
            self,
            "BackupVault",
            backup_vault_name=naming.backup_vault(prefix),
            encryption_key_arn=self.baseline_key.key_arn,
            # governance mode (no ChangeableForDays): the baseline can still lift it
            lock_configuration=backup.CfnBackupVault.LockConfigurationTypeProperty(
                min_retention_days=BACKUP_RETENTION_DAYS
            ),
        )
        self.backup_vault.apply_removal_policy(cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        self.backup_role = self._global_role(
            "Backup",
            naming.backup_role(prefix),
            "AWS Backup runs the organisation's backup policy with this role",
            iam.ServicePrincipal(
                "backup.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            ),
            [
                "service-role/AWSBackupServiceRolePolicyForBackup",
                "service-role/AWSBackupServiceRolePolicyForRestores",
                # S3 has policies of its own: without them a tagged bucket fails every night
                "AWSBackupServiceRolePolicyForS3Backup",
                "AWSBackupServiceRolePolicyForS3Restore",
            ],
        )

    def _patch_scan(self) -> None:
        """Every managed instance is scanned against its default patch baseline each day
        (SEC06-BP01, SEC06-BP05): Systems Manager's patch compliance then lists what is
        missing, beside Inspector's vulnerability findings. Scan only: installing patches
        is the workload's change, made in its own maintenance window."""
        ssm.CfnAssociation(
            self,
            "PatchScan",
            name="AWS-RunPatchBaseline",
            association_name=f"{self.settings.prefix}-patch-scan",
            parameters={"Operation": ["Scan"]},
            targets=[ssm.CfnAssociation.TargetProperty(key="InstanceIds", values=["*"])],
            schedule_expression="rate(1 day)",
            compliance_severity="HIGH",
            max_concurrency="10%",
            max_errors="10%",
        )

    def _settings_wildcard_reasons(self) -> dict[str, str]:
        """Why the settings function's grants name all of a kind (the account's and
        region's groups, VPCs, ...): IAM has no condition key that tells a default VPC,
        or its default group, from another; the function's code finds them by
        DescribeVpcs (isDefault) and the group name ``default``."""
        resource = "Resource::arn:aws:ec2:<AWS::Region>:<AWS::AccountId>"
        # one reason for every kind, so that the page of acknowledgements (made from the
        # example, which only closes the groups) gives the delete setting's too
        why = (
            "the function acts only on the default VPCs, which it finds by DescribeVpcs "
            "(isDefault): it revokes the rules of their 'default' groups and, with "
            "default_vpcs: delete, deletes those that hold no network interface with their "
            "subnets and internet gateways; IAM has no condition key that names a default "
            "VPC's resources, so no grant narrower than this account's and region's exists"
        )
        kinds = ["security-group"]
        if self.settings.default_vpcs == DefaultVpcAction.DELETE.value:
            kinds += ["vpc", "subnet", "internet-gateway"]
        reasons = {
            "Resource::*": "account-level IAM, S3, EBS and metadata settings and EC2 Describe calls accept no resource-level permissions",
            **{f"{resource}:{kind}/*": why for kind in kinds},
        }
        return reasons

    def _settings_permissions(self) -> list[iam.PolicyStatement]:
        ec2 = f"arn:aws:ec2:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
        # the default VPCs are deleted only with default_vpcs: delete; otherwise the
        # function only closes their default groups, and may delete nothing
        removal = (
            [
                iam.PolicyStatement(
                    sid="RemoveDefaultVpcs",
                    actions=[
                        "ec2:DeleteInternetGateway",
                        "ec2:DeleteSubnet",
                        "ec2:DeleteVpc",
                        "ec2:DetachInternetGateway",
                    ],
                    resources=[f"{ec2}:vpc/*", f"{ec2}:subnet/*", f"{ec2}:internet-gateway/*"],
                )
            ]
            if self.settings.default_vpcs == DefaultVpcAction.DELETE.value
            else []
        )
        return [
            iam.PolicyStatement(
                sid="AccountSettings",
                actions=[
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                    "ec2:EnableEbsEncryptionByDefault",
                    "ec2:ModifyEbsDefaultKmsKeyId",
                    "ec2:ModifyInstanceMetadataDefaults",
                    "ec2:ResetEbsDefaultKmsKeyId",
                    "iam:UpdateAccountPasswordPolicy",
                    "s3:PutAccountPublicAccessBlock",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="CloseDefaultSecurityGroups",
                actions=["ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"],
                resources=[f"{ec2}:security-group/*"],
            ),
            *removal,
            iam.PolicyStatement(
                sid="CreateConfigServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:role/{CONFIG_SLR}"],
                conditions={"StringEquals": {"iam:AWSServiceName": "config.amazonaws.com"}},
            ),
            # Session Manager's preferences and default host management (SEC06-BP03)
            iam.PolicyStatement(
                sid="SetSessionManagerPreferences",
                actions=[
                    "ssm:CreateDocument",
                    "ssm:DescribeDocument",
                    "ssm:UpdateDocument",
                    "ssm:UpdateDocumentDefaultVersion",
                ],
                resources=[
                    f"arn:aws:ssm:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:document/"
                    "SSM-SessionManagerRunShell"
                ],
            ),
            iam.PolicyStatement(
                sid="TurnOnDefaultHostManagement",
                actions=["ssm:UpdateServiceSetting"],
                resources=[
                    f"arn:aws:ssm:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:servicesetting"
                    "/ssm/managed-instance/default-ec2-instance-management-role"
                ],
            ),
            iam.PolicyStatement(
                sid="PassTheDefaultInstanceRole",
                actions=["iam:PassRole"],
                resources=[
                    f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:role/"
                    f"{naming.default_instance_role(self.settings.prefix)}"
                ],
                conditions={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
            ),
        ]

    def _session_logs_to_the_log_archive(self) -> list[iam.PolicyStatement]:
        """What an instance needs to write its session transcripts to the log archive."""
        s = self.settings
        if s.log_bucket_name is None or s.log_archive_account_id is None:
            return []
        account = cdk.Aws.ACCOUNT_ID
        return [
            iam.PolicyStatement(
                sid="WriteSessionLogsToTheLogArchive",
                actions=["s3:PutObject"],
                resources=[
                    f"arn:aws:s3:::{s.log_bucket_name}/{naming.SESSION_LOG_PREFIX}/{account}/*"
                ],
            ),
            iam.PolicyStatement(
                sid="CheckTheLogArchiveEncryption",
                actions=["s3:GetEncryptionConfiguration"],
                resources=[f"arn:aws:s3:::{s.log_bucket_name}"],
            ),
            iam.PolicyStatement(
                sid="EncryptWithTheLogArchiveKey",
                # Decrypt too: a transcript over 5 MiB goes up in parts
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[f"arn:aws:kms:{s.home_region}:{s.log_archive_account_id}:key/*"],
                conditions={
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": [naming.log_key_alias(s.prefix)]
                    }
                },
            ),
        ]

    def _session_manager(self) -> dict[str, Any]:
        """Session Manager instead of SSH (SEC06-BP03): sessions encrypted under a key of
        their own and logged, encrypted, to CloudWatch Logs, closed after 20 idle minutes
        and at 60; every instance managed through default host management, with or
        without a profile. The custom resource's properties that set them."""
        s = self.settings
        account = cdk.Aws.ACCOUNT_ID
        log_group_name = naming.session_log_group(s.prefix)
        key = EncryptionKey(
            self,
            "SessionKey",
            alias=naming.session_key_alias(s.prefix),
            description="Encrypts Session Manager sessions and their logs",
        )
        key.grant_cloudwatch_logs(
            log_group_arn=f"arn:aws:logs:{cdk.Aws.REGION}:{account}:log-group:{log_group_name}",
            sid="AllowCloudWatchLogsSessions",
        )
        logs.LogGroup(
            self,
            "SessionLogs",
            log_group_name=log_group_name,
            encryption_key=key.key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        logging = iam.ManagedPolicy(
            self,
            "SessionLoggingPermissions",
            path=naming.baseline_policy_path(self.settings.prefix),
            description="What a managed instance needs to log its sessions; nothing else",
            statements=[
                iam.PolicyStatement(
                    sid="WriteSessionLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"arn:aws:logs:*:{account}:log-group:{log_group_name}:*"],
                ),
                iam.PolicyStatement(
                    sid="FindTheSessionLogGroup",
                    actions=["logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                    resources=[f"arn:aws:logs:*:{account}:log-group:*"],
                ),
                *self._session_logs_to_the_log_archive(),
                iam.PolicyStatement(
                    sid="UseTheSessionKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[f"arn:aws:kms:*:{account}:key/*"],
                    conditions={
                        "ForAnyValue:StringEquals": {
                            "kms:ResourceAliases": [naming.session_key_alias(s.prefix)]
                        }
                    },
                ),
            ],
        )
        acknowledge_each(
            logging,
            {
                "AwsSolutions-IAM5[Resource::arn:aws:logs:*:<AWS::AccountId>:log-group:"
                f"{log_group_name}:*]": "The streams of the session log group, in each region.",
                "AwsSolutions-IAM5[Resource::arn:aws:logs:*:<AWS::AccountId>:log-group:*]": (
                    "The agent finds the session log group by listing; listing reads no log."
                ),
                "AwsSolutions-IAM5[Resource::arn:aws:kms:*:<AWS::AccountId>:key/*]": (
                    "The session key of each region, named by the kms:ResourceAliases condition."
                ),
                **(
                    {
                        f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{s.log_bucket_name}/"
                        f"{naming.SESSION_LOG_PREFIX}/<AWS::AccountId>/*]": (
                            "The session logs of this account, below its id in the log archive."
                        ),
                        f"AwsSolutions-IAM5[Resource::arn:aws:kms:{s.home_region}:"
                        f"{s.log_archive_account_id}:key/*]": (
                            "The log archive's key, named by the kms:ResourceAliases condition."
                        ),
                    }
                    if s.log_bucket_name is not None
                    else {}
                ),
            },
        )
        role = naming.default_instance_role(s.prefix)
        instance_role = self._global_role(
            "DefaultInstanceRole",
            role,
            "Systems Manager's default host management role: every instance is managed",
            iam.ServicePrincipal("ssm.amazonaws.com"),
            ["AmazonSSMManagedEC2InstanceDefaultPolicy"],
            extra=[logging],
        )
        preferences = {
            "schemaVersion": "1.0",
            "description": "Session Manager preferences of the landing zone",
            "sessionType": "Standard_Stream",
            "inputs": {
                "s3BucketName": s.log_bucket_name or "",
                "s3KeyPrefix": f"{naming.SESSION_LOG_PREFIX}/{account}"
                if s.log_bucket_name
                else "",
                "s3EncryptionEnabled": True,
                "cloudWatchLogGroupName": log_group_name,
                "cloudWatchEncryptionEnabled": True,
                "cloudWatchStreamingEnabled": True,
                "kmsKeyId": key.key_arn,
                "runAsEnabled": False,
                "runAsDefaultUser": "",
                "idleSessionTimeout": str(SESSION_IDLE_MINUTES),
                "maxSessionDuration": str(SESSION_MAX_MINUTES),
                "shellProfile": {"windows": "", "linux": ""},
            },
        }
        return {
            "SessionPrefs": self.to_json_string(preferences),
            "InstanceRole": role,
            # where the role is made, the setting waits for it (the handler reads the name)
            "InstanceRoleArn": cdk.Fn.condition_if(
                self.is_home.logical_id, instance_role.role_arn, cdk.Aws.NO_VALUE
            ),
        }

    def _config_recorder(self) -> None:
        recorder = config_.CfnConfigurationRecorder(
            self,
            "ConfigRecorder",
            name=f"{self.settings.prefix}-recorder",
            role_arn=f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:role/{CONFIG_SLR}",
            recording_group=config_.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True,
                include_global_resource_types=cdk.Token.as_any(
                    cdk.Fn.condition_if(self.is_home.logical_id, True, False)
                ),
            ),
        )
        recorder.node.add_dependency(self.account_settings)  # creates the service-linked role
        channel = config_.CfnDeliveryChannel(
            self,
            "ConfigDeliveryChannel",
            name=f"{self.settings.prefix}-delivery",
            s3_bucket_name=self.settings.config_bucket_name,
            config_snapshot_delivery_properties=config_.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                delivery_frequency="TwentyFour_Hours"
            ),
        )
        channel.add_resource_dependency(recorder)

    def _roles(self) -> None:
        s = self.settings
        # The audit account, narrowed to named roles by condition (a trust policy naming
        # them directly fails while one does not exist yet): not the whole account.
        audit = iam.AccountPrincipal(s.audit_account_id).with_conditions(
            {"ArnLike": {"aws:PrincipalArn": list(s.principals("audit"))}}
        )
        self.audit_role = self._global_role(
            "AuditReadOnly",
            naming.audit_readonly_role(s.prefix),
            "Read-only security audit from the audit account",
            audit,
            ["SecurityAudit", "job-function/ViewOnlyAccess"],
        )
        self.incident_role: iam.Role | None = None
        if s.incident_responder:
            quarantine = {f"aws:ResourceTag/{QUARANTINE_TAG}": "true"}
            quarantine_name = naming.quarantine_role(s.prefix)
            quarantine_role = f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:role/{quarantine_name}"
            quarantine_profile = (
                f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:instance-profile/{quarantine_name}"
            )
            responder = iam.ManagedPolicy(
                self,
                "IncidentResponsePermissions",
                path=naming.baseline_policy_path(self.settings.prefix),
                description="Contain and collect evidence during an incident; never destroy",
                statements=[
                    # snapshots of this account's volumes; a function's concurrency set to 0
                    # stops it without deleting it
                    iam.PolicyStatement(
                        sid="SnapshotVolumes",
                        actions=["ec2:CreateSnapshot"],
                        resources=[
                            f"arn:aws:ec2:*:{cdk.Aws.ACCOUNT_ID}:volume/*",
                            "arn:aws:ec2:*::snapshot/*",
                        ],
                    ),
                    # a compromised instance leaves its Auto Scaling group (which launches
                    # a replacement), so the group neither terminates nor reuses it
                    iam.PolicyStatement(
                        sid="DetachFromAutoScaling",
                        actions=["autoscaling:DetachInstances"],
                        resources=[
                            f"arn:aws:autoscaling:*:{cdk.Aws.ACCOUNT_ID}:autoScalingGroup:*:"
                            "autoScalingGroupName/*"
                        ],
                    ),
                    iam.PolicyStatement(
                        sid="StopFunctions",
                        actions=["lambda:PutFunctionConcurrency"],
                        resources=[f"arn:aws:lambda:*:{cdk.Aws.ACCOUNT_ID}:function:*"],
                    ),
                    # The case tag on anything; the quarantine tag only on a security group
                    # as it is created, so no existing group can be made a quarantine group.
                    iam.PolicyStatement(
                        sid="TagForTheCase",
                        actions=["ec2:CreateTags"],
                        resources=["*"],
                        conditions={"ForAllValues:StringEquals": {"aws:TagKeys": [CASE_TAG]}},
                    ),
                    # Evidence: a snapshot may be marked as such (SCP-EVIDENCE-PROTECT then
                    # keeps it) and shared with the forensics account, and nowhere else.
                    iam.PolicyStatement(
                        sid="MarkSnapshotsAsEvidence",
                        actions=["ec2:CreateTags"],
                        resources=["arn:aws:ec2:*::snapshot/*"],
                        conditions={
                            "ForAllValues:StringEquals": {"aws:TagKeys": [CASE_TAG, EVIDENCE_TAG]}
                        },
                    ),
                    *_evidence_sharing(s),
                    iam.PolicyStatement(
                        sid="TagQuarantineGroupsAsCreated",
                        actions=["ec2:CreateTags"],
                        resources=["arn:aws:ec2:*:*:security-group/*"],
                        conditions={
                            "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                            "ForAllValues:StringEquals": {
                                "aws:TagKeys": [CASE_TAG, QUARANTINE_TAG]
                            },
                        },
                    ),
                    # Isolation through a quarantine group of the responder's own making: it
                    # is created tagged, its default egress rule revoked, and only such
                    # groups may be put on a network interface.
                    iam.PolicyStatement(
                        sid="CreateQuarantineGroups",
                        actions=["ec2:CreateSecurityGroup"],
                        resources=["arn:aws:ec2:*:*:security-group/*"],
                        conditions={"StringEquals": {f"aws:RequestTag/{QUARANTINE_TAG}": "true"}},
                    ),
                    iam.PolicyStatement(
                        sid="CreateQuarantineGroupsInAnyVpc",
                        actions=["ec2:CreateSecurityGroup"],
                        resources=["arn:aws:ec2:*:*:vpc/*"],
                    ),
                    # A quarantine group is opened to all traffic before the instance moves
                    # in (no flow of it is tracked then) and closed after: every flow stops.
                    iam.PolicyStatement(
                        sid="OpenAndCloseQuarantineGroups",
                        actions=[
                            "ec2:AuthorizeSecurityGroupEgress",
                            "ec2:AuthorizeSecurityGroupIngress",
                            "ec2:RevokeSecurityGroupEgress",
                            "ec2:RevokeSecurityGroupIngress",
                        ],
                        resources=["arn:aws:ec2:*:*:security-group/*"],
                        conditions={"StringEquals": quarantine},
                    ),
                    iam.PolicyStatement(
                        sid="IsolateInterfaces",
                        actions=["ec2:ModifyNetworkInterfaceAttribute"],
                        resources=[
                            "arn:aws:ec2:*:*:network-interface/*",
                            "arn:aws:ec2:*:*:instance/*",
                            "arn:aws:ec2:*:*:subnet/*",
                        ],
                    ),
                    iam.PolicyStatement(
                        sid="IsolateIntoQuarantineGroupsOnly",
                        actions=["ec2:ModifyNetworkInterfaceAttribute"],
                        resources=["arn:aws:ec2:*:*:security-group/*"],
                        conditions={"StringEquals": quarantine},
                    ),
                    # A contained instance gets the account's deny-all profile instead of
                    # its own, and no other one.
                    iam.PolicyStatement(
                        sid="GiveInstancesTheDenyAllProfile",
                        actions=["ec2:ReplaceIamInstanceProfileAssociation"],
                        resources=[f"arn:aws:ec2:*:{cdk.Aws.ACCOUNT_ID}:instance/*"],
                        conditions={"ArnEquals": {"ec2:NewInstanceProfile": quarantine_profile}},
                    ),
                    iam.PolicyStatement(
                        sid="PassOnlyTheDenyAllRole",
                        actions=["iam:PassRole"],
                        resources=[quarantine_role],
                        conditions={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
                    ),
                    # Collection: what the instance printed, and which profile it has.
                    iam.PolicyStatement(
                        sid="CollectConsoleOutput",
                        actions=["ec2:GetConsoleOutput"],
                        resources=[f"arn:aws:ec2:*:{cdk.Aws.ACCOUNT_ID}:instance/*"],
                    ),
                    iam.PolicyStatement(
                        sid="ReadProfilesAndGroupRules",
                        actions=[
                            "ec2:DescribeIamInstanceProfileAssociations",
                            "ec2:DescribeSecurityGroupRules",
                        ],
                        resources=["*"],
                    ),
                    # Revoke a role's older sessions, as the console does: an inline policy
                    # AWSRevokeOlderSessions denying sessions issued before now. IAM has no
                    # condition on an inline policy's name or content; the baseline guardrail
                    # keeps the baseline's roles out of reach, and every inline policy the
                    # responder writes pages (the Trail stack's responder-inline-policy).
                    iam.PolicyStatement(
                        sid="RevokeOlderSessions",
                        actions=["iam:GetRolePolicy", "iam:PutRolePolicy"],
                        resources=[f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:role/*"],
                    ),
                    # Quarantine a role or user by attaching AWS's deny-all policy, and no
                    # other managed policy.
                    iam.PolicyStatement(
                        sid="QuarantineRolesAndUsers",
                        actions=["iam:AttachRolePolicy", "iam:AttachUserPolicy"],
                        resources=["*"],
                        conditions={
                            "ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/AWSDenyAll"}
                        },
                    ),
                ],
            )
            acknowledge(
                responder,
                [
                    "AwsSolutions-IAM5[Resource::*]",
                    *(
                        f"AwsSolutions-IAM5[Resource::arn:aws:ec2:*:*:{kind}/*]"
                        for kind in (
                            "security-group",
                            "vpc",
                            "network-interface",
                            "instance",
                            "subnet",
                        )
                    ),
                    "AwsSolutions-IAM5[Resource::arn:aws:ec2:*::snapshot/*]",
                    "AwsSolutions-IAM5[Resource::arn:aws:ec2:*:<AWS::AccountId>:volume/*]",
                    "AwsSolutions-IAM5[Resource::arn:aws:lambda:*:<AWS::AccountId>:function:*]",
                    "AwsSolutions-IAM5[Resource::arn:aws:autoscaling:*:<AWS::AccountId>:"
                    "autoScalingGroup:*:autoScalingGroupName/*]",
                    "AwsSolutions-IAM5[Resource::arn:aws:ec2:*:<AWS::AccountId>:instance/*]",
                    "AwsSolutions-IAM5[Resource::arn:aws:iam::<AWS::AccountId>:role/*]",
                ],
                "The affected resource of an incident is not known in advance; the actions are "
                "containment and collection only (snapshot, tag, a quarantine group, throttle a "
                "function, detach an instance from its Auto Scaling group, give it the deny-all "
                "instance profile, read its console output, attach the deny-all policy, revoke "
                "a role's older sessions), and only named roles of the audit account may "
                "assume the role.",
            )
            self._quarantine_profile(quarantine_name)
            responders = iam.AccountPrincipal(s.audit_account_id).with_conditions(
                {"ArnLike": {"aws:PrincipalArn": list(s.principals("responder"))}}
            )
            self.incident_role = self._global_role(
                "IncidentResponder",
                naming.incident_responder_role(s.prefix),
                "Incident response from the audit account",
                responders,
                ["SecurityAudit"],
                extra=[responder],
            )
        if s.remediation_automation:
            self._remediation_role()
        self.support_role = self._global_role(
            "Support",
            naming.support_role(s.prefix),
            "Manages AWS Support cases for the account (CIS 1.17)",
            audit,
            ["AWSSupportAccess"],
        )
        self.break_glass_role: iam.Role | None = None
        if s.break_glass_principals:
            # The management account, narrowed to the named principals by condition: a
            # trust policy naming them directly fails if one does not exist yet.
            glass = BreakGlassRole(
                self,
                "BreakGlass",
                principals=s.break_glass_principals,
                role_name=naming.break_glass_role(s.prefix),
                max_session=cdk.Duration.hours(s.break_glass_session_hours),
                description="Emergency access, from named management-account principals with MFA only",
            )
            cfn = glass.role.node.default_child
            assert isinstance(cfn, cdk.CfnResource)
            cfn.cfn_options.condition = self.is_home  # IAM is global: once, in the home region
            self.break_glass_role = glass.role

    def _restart_logging(self) -> None:
        """A stopped trail or Config recorder is started again (SEC04-BP04): EventBridge
        sees the API call and starts the kit's one-step runbook for it."""
        s = self.settings
        account, region = cdk.Aws.ACCOUNT_ID, cdk.Aws.REGION
        runner_name = naming.logging_restart_role(s.prefix)
        runner_arn = f"arn:aws:iam::{account}:role/{runner_name}"
        # runbook: (event source, the call that stops, the runbook's parameter and where
        # the event holds its value, the service and call that undo it and its parameter)
        runbooks = {
            "StartTrailLogging": (
                "cloudtrail",
                "StopLogging",
                ("TrailName", "$.detail.requestParameters.name"),
                ("cloudtrail", "StartLogging", "Name"),
            ),
            "StartConfigRecorder": (
                "config",
                "StopConfigurationRecorder",
                ("RecorderName", "$.detail.requestParameters.configurationRecorderName"),
                ("config", "StartConfigurationRecorder", "ConfigurationRecorderName"),
            ),
        }
        restart = iam.ManagedPolicy(
            self,
            "LoggingRestartPermissions",
            path=naming.baseline_policy_path(self.settings.prefix),
            description="Start a stopped trail or Config recorder again; nothing else",
            statements=[
                iam.PolicyStatement(
                    sid="StartTrails",
                    actions=["cloudtrail:StartLogging"],
                    resources=[f"arn:aws:cloudtrail:*:{account}:trail/*"],
                ),
                iam.PolicyStatement(
                    sid="StartRecorders",
                    actions=["config:StartConfigurationRecorder"],
                    resources=["*"],
                ),
            ],
        )
        acknowledge_each(
            restart,
            {
                "AwsSolutions-IAM5[Resource::arn:aws:cloudtrail:*:<AWS::AccountId>:trail/*]": (
                    "Whichever trail of the account was stopped; starting a trail's logging is "
                    "all the role may do with it."
                ),
                "AwsSolutions-IAM5[Resource::*]": (
                    "config:StartConfigurationRecorder accepts no resource-level permission; "
                    "starting the recorder is all the role may do with Config."
                ),
            },
        )
        self._global_role(
            "LoggingRestartRole",
            runner_name,
            "Starts a stopped trail or Config recorder again",
            iam.ServicePrincipal(
                "ssm.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            [],
            extra=[restart],
        )
        executions = f"arn:aws:ssm:{region}:{account}:automation-execution/*"
        starts = iam.ManagedPolicy(
            self,
            "LoggingRestartEventsPermissions",
            path=naming.baseline_policy_path(self.settings.prefix),
            description="Start this region's restart runbooks as the restart role",
            statements=[
                iam.PolicyStatement(
                    sid="RunTheRestartRunbooksAsTheRestartRole",
                    actions=["iam:PassRole"],
                    resources=[runner_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="TheExecutionsTheyStart",
                    actions=["ssm:StartAutomationExecution"],
                    resources=[executions],
                ),
            ],
        )
        acknowledge(
            starts,
            "AwsSolutions-IAM5[Resource::arn:aws:ssm:<AWS::Region>:<AWS::AccountId>:automation-execution/*]",
            "Systems Manager names an execution only when it starts, so no policy can name it "
            "beforehand; which runbooks may start is limited by the statements that name "
            "each restart runbook's document.",
        )
        events_role = iam.Role(
            self,
            "LoggingRestartEventsRole",
            description="Lets EventBridge start the restart runbooks of this region",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            managed_policies=[starts],
        )
        for construct_id, (source, stopped, parameter, undo) in runbooks.items():
            (name, path), (service, api, argument) = parameter, undo
            document_name = f"{s.prefix}-{construct_id}"
            ssm.CfnDocument(
                self,
                f"{construct_id}Runbook",
                name=document_name,
                document_type="Automation",
                update_method="NewVersion",
                content={
                    "schemaVersion": "0.3",
                    "description": f"{api} again after {stopped} (the landing zone)",
                    "assumeRole": "{{ AutomationAssumeRole }}",
                    "parameters": {
                        name: {"type": "String"},
                        "AutomationAssumeRole": {"type": "String"},
                    },
                    "mainSteps": [
                        {
                            "name": api,
                            "action": "aws:executeAwsApi",
                            "inputs": {
                                "Service": service,
                                "Api": api,
                                argument: f"{{{{ {name} }}}}",
                            },
                        }
                    ],
                },
            )
            definition = f"arn:aws:ssm:{region}:{account}:automation-definition/{document_name}"
            # the call is authorized on the document and on the execution it makes (the
            # service authorization reference's required resources), on the definition
            # too where EventBridge names it
            starts.add_statements(
                iam.PolicyStatement(
                    sid=f"Start{construct_id}",
                    actions=["ssm:StartAutomationExecution"],
                    resources=[
                        f"{definition}:$DEFAULT",
                        f"arn:aws:ssm:{region}:{account}:document/{document_name}",
                    ],
                )
            )
            rule = events.CfnRule(
                self,
                f"{construct_id}Rule",
                description=f"{stopped} in this account: {api} again",
                event_pattern={
                    "source": [f"aws.{source}"],
                    "detail-type": ["AWS API Call via CloudTrail"],
                    "detail": {
                        "eventSource": [f"{source}.amazonaws.com"],
                        "eventName": [stopped],
                        "errorCode": [{"exists": False}],  # the calls that stopped it
                    },
                },
                targets=[
                    events.CfnRule.TargetProperty(
                        id="Restart",
                        arn=definition,
                        role_arn=events_role.role_arn,
                        input_transformer=events.CfnRule.InputTransformerProperty(
                            input_paths_map={"stopped": path},
                            input_template=(
                                f'{{"{name}": [<stopped>], '
                                f'"AutomationAssumeRole": ["{runner_arn}"]}}'
                            ),
                        ),
                    )
                ],
            )
            acknowledge(
                rule,
                "Serverless-EventBusDLQ",
                f"A {stopped} call whose runbook cannot be started is not lost: the same call, "
                "read from the organisation trail, pages through the CIS alarm on "
                "CloudTrail or Config changes (4.5, 4.9), which does not depend on this rule.",
            )

    def _remediation_role(self) -> None:
        """The role the remediation runbooks run as (SSM Automation's assumed role), which
        the audit account's remediator also assumes to start them, and nothing else."""
        s = self.settings
        name = naming.remediation_role(s.prefix)
        account = cdk.Aws.ACCOUNT_ID
        arn = f"arn:aws:iam::{account}:role/{name}"
        policy = iam.ManagedPolicy(
            self,
            "RemediationPermissions",
            path=naming.baseline_policy_path(self.settings.prefix),
            description="Start the remediation runbooks and do what they do; nothing else",
            statements=[
                iam.PolicyStatement(
                    sid="StartTheRemediationRunbooks",
                    actions=["ssm:StartAutomationExecution"],
                    # the call is authorized on the document (AWS-owned: no account in its
                    # ARN) and on the execution it makes
                    resources=[
                        *(
                            resource
                            for document in sorted({r[0] for r in RUNBOOKS.values()})
                            for resource in (
                                f"arn:aws:ssm:*::document/{document}",
                                f"arn:aws:ssm:*:*:automation-definition/{document}:*",
                            )
                        ),
                        f"arn:aws:ssm:*:{account}:automation-execution/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="FollowThem",
                    actions=["ssm:GetAutomationExecution"],
                    resources=[f"arn:aws:ssm:*:{account}:automation-execution/*"],
                ),
                iam.PolicyStatement(
                    sid="RunThemAsThisRole",
                    actions=["iam:PassRole"],
                    resources=[arn],
                    conditions={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
                ),
                # the remediator's own revocation of world-open SSH and RDP rules
                iam.PolicyStatement(
                    sid="ReadSecurityGroups",
                    actions=["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="CloseSshAndRdpToTheWorld",
                    actions=["ec2:RevokeSecurityGroupIngress"],
                    resources=[f"arn:aws:ec2:*:{account}:security-group/*"],
                ),
                # AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock
                iam.PolicyStatement(
                    sid="BlockPublicBuckets",
                    actions=["s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"],
                    resources=["arn:aws:s3:::*"],
                ),
            ],
        )
        acknowledge(
            policy,
            [
                "AwsSolutions-IAM5[Resource::*]",
                "AwsSolutions-IAM5[Resource::arn:aws:s3:::*]",
                "AwsSolutions-IAM5[Resource::arn:aws:ec2:*:<AWS::AccountId>:security-group/*]",
                *(
                    finding
                    for d in sorted({r[0] for r in RUNBOOKS.values()})
                    for finding in (
                        f"AwsSolutions-IAM5[Resource::arn:aws:ssm:*::document/{d}]",
                        f"AwsSolutions-IAM5[Resource::arn:aws:ssm:*:*:automation-definition/{d}:*]",
                    )
                ),
                "AwsSolutions-IAM5[Resource::arn:aws:ssm:*:<AWS::AccountId>:automation-execution/*]",
            ],
            "The misconfigured security group or bucket is not known in advance; the role may "
            "only read security groups and revoke their inbound rules, start the AWS-managed "
            "runbook that blocks a bucket's public access (any version) and do what it does, "
            "and only Systems Manager and the audit account's remediator may assume it.",
        )
        remediator = iam.AccountPrincipal(s.audit_account_id).with_conditions(
            {
                "ArnEquals": {
                    "aws:PrincipalArn": f"arn:aws:iam::{s.audit_account_id}:role/"
                    f"{naming.remediation_function(s.prefix)}"
                }
            }
        )
        automation = iam.ServicePrincipal(
            "ssm.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
        )
        self._global_role(
            "Remediation",
            name,
            "Runs the remediation runbooks the audit account starts",
            iam.CompositePrincipal(automation, remediator),
            [],
            extra=[policy],
        )

    def _quarantine_profile(self, name: str) -> None:
        """The deny-all role and instance profile a contained instance is given."""
        role = self._global_role(
            "QuarantineRole",
            name,
            "The role of a contained instance: it may do nothing",
            iam.ServicePrincipal("ec2.amazonaws.com"),
            ["AWSDenyAll"],
        )
        profile = iam.CfnInstanceProfile(
            self, "QuarantineProfile", instance_profile_name=name, roles=[role.role_name]
        )
        profile.cfn_options.condition = self.is_home

    def _global_role(
        self,
        construct_id: str,
        role_name: str,
        description: str,
        principal: iam.IPrincipal,
        aws_managed: list[str],
        *,
        extra: list[iam.IManagedPolicy] | None = None,
        session: cdk.Duration = cdk.Duration.hours(1),
    ) -> iam.Role:
        role = iam.Role(
            self,
            construct_id,
            role_name=role_name,
            description=description,
            assumed_by=principal,
            max_session_duration=session,
            managed_policies=[
                *(iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in aws_managed),
                *(extra or []),
            ],
        )
        cfn = role.node.default_child
        assert isinstance(cfn, cdk.CfnResource)
        cfn.cfn_options.condition = self.is_home  # IAM is global: created once, in the home region
        for policy in extra or []:
            policy_cfn = policy.node.default_child
            assert isinstance(policy_cfn, cdk.CfnResource)
            policy_cfn.cfn_options.condition = self.is_home
        acknowledge_each(
            role,
            {
                # the finding's id names the policy: the reason need not (inline bytes count)
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]": (
                    "The AWS-maintained policy for exactly this role; AWS keeps it current as "
                    "services add actions, which a hand-written copy would not."
                )
                for name in aws_managed
            },
        )
        return role


_BOUNDARY_REASON = (
    "This policy is a permissions boundary, attached to no principal as a grant: its "
    "Allow of every action only leaves each role's own policies in charge, and its Deny "
    "statements are the cap the boundary exists for."
)


def member_app(
    settings: MemberBaselineSettings, context: dict[str, Any], *, outdir: str
) -> tuple[cdk.App, MemberBaselineStack]:
    """An app of its own holding only the member template, with every compliance pack.

    The template is not a stack of the main app: it is deployed only through the
    StackSet (or by a single-account app), so it is synthesized separately, into
    ``outdir``.
    """
    app = cdk.App(context=context, outdir=outdir)
    stack = MemberBaselineStack(
        app,
        "MemberBaselineTemplate",
        settings=settings,
        synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
        description="Member-account baseline of the landing zone (deployed by StackSet)",
    )
    attach_packs(app)
    return app, stack


#: Where, under the directory a caller names, the member template's validation report is
#: kept when a compliance pack refuses the template.
MEMBER_REPORT_DIR = "member-baseline"
#: What the member template's compliance errors call it.
MEMBER_TEMPLATE = "the member-baseline template"


def member_template(
    settings: MemberBaselineSettings, context: dict[str, Any], *, report_dir: str | None = None
) -> dict[str, Any]:
    """The member template, synthesized and checked by every compliance pack.

    It is synthesized into a temporary directory that is removed afterwards, so no synth
    leaves a copy behind in the system's temporary folder. The template is a function of
    the settings and the context alone, so a process that builds several landing zones
    with the same member settings (the tests, the docs) synthesizes it once: each caller
    gets its own copy.

    :raises ComplianceError: a pack refused the template. Its validation report is kept
        in :data:`MEMBER_REPORT_DIR` under ``report_dir`` (the landing zone's cloud
        assembly), or in a temporary directory of its own without one, and the error
        names that file: the synth's own directory is gone by then. A template that
        passes removes such a report from ``report_dir``.
    """
    key = (settings, json.dumps(context, sort_keys=True, default=str))
    try:
        text = _member_template_json(*key)
    except _RefusedTemplateError as refused:
        if report_dir is None:
            kept = Path(tempfile.mkdtemp(prefix="member-baseline-report-"))
        else:
            kept = Path(report_dir) / MEMBER_REPORT_DIR
            kept.mkdir(parents=True, exist_ok=True)
        (kept / VALIDATION_REPORT).write_bytes(refused.report)
        raise ComplianceError(violation_message(MEMBER_TEMPLATE, str(kept))) from None
    if report_dir is not None:  # a refusal mended since: its report would mislead
        stale = Path(report_dir) / MEMBER_REPORT_DIR
        (stale / VALIDATION_REPORT).unlink(missing_ok=True)
        if stale.is_dir() and not any(stale.iterdir()):
            stale.rmdir()
    template: dict[str, Any] = json.loads(text)
    return template


class _RefusedTemplateError(Exception):
    """The packs refused the member template: its validation report, read before the
    synth's directory was removed."""

    def __init__(self, report: bytes) -> None:
        super().__init__("the member-baseline template was refused")
        self.report = report


@functools.lru_cache(maxsize=8)
def _member_template_json(settings: MemberBaselineSettings, context_json: str) -> str:
    context: dict[str, Any] = json.loads(context_json)
    with tempfile.TemporaryDirectory(prefix="member-baseline-") as outdir:
        app, stack = member_app(settings, context, outdir=outdir)
        try:
            assembly = synth_checked(app, MEMBER_TEMPLATE)
        except ComplianceError:
            report = Path(outdir) / VALIDATION_REPORT
            if not report.exists():
                raise
            raise _RefusedTemplateError(report.read_bytes()) from None
        # read the file rather than the artifact's template: one call into the CDK, not a
        # conversion of the whole template object across the jsii boundary
        path = Path(assembly.directory) / stack.template_file
        template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps(without_cli_metadata(template))


def without_cli_metadata(template: dict[str, Any]) -> dict[str, Any]:
    """The template less what the CDK CLI adds to a synth run under it (the version
    report and each resource's construct path): inside a StackSet they tell nobody
    anything, and they would make the template's size depend on how it was synthesized
    (CloudFormation takes 51,200 bytes inline)."""
    resources = template.get("Resources", {})
    resources.pop("CDKMetadata", None)
    template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    if not template.get("Conditions", True):
        del template["Conditions"]
    for resource in resources.values():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            metadata.pop("aws:cdk:path", None)
            if not metadata:
                del resource["Metadata"]
    return template


class MemberTemplateTooLargeError(ValueError):
    """The member template does not fit the bytes a StackSet takes inline."""


@dataclass(frozen=True)
class StackSetSettings:
    """What the StackSet stack needs, derived once from the config."""

    prefix: str
    #: the member template's own settings (the template is synthesized from them)
    member: MemberBaselineSettings
    #: CallAs: the StackSet lives in the management account (SELF) or in the StackSets
    #: delegated administrator (DELEGATED_ADMIN)
    call_as: str
    #: the root id, or the ids of the target OUs
    target_ou_ids: tuple[str, ...]
    home_region: str
    governed_regions: tuple[str, ...]
    max_concurrent_percentage: int
    failure_tolerance_percentage: int
    region_concurrency: str

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> StackSetSettings:
        m = config.member_baseline
        return cls(
            prefix=config.organization.prefix,
            member=MemberBaselineSettings.from_config(config),
            call_as="SELF" if config.stack_set_delegated_admin is None else "DELEGATED_ADMIN",
            # validated: every target OU carries an id, and the root id is set after phase 1
            target_ou_ids=tuple(str(config.known_id(path)) for path in m.target_ous),
            home_region=config.home_region,
            governed_regions=tuple(config.governed_regions),
            max_concurrent_percentage=m.max_concurrent_percentage,
            failure_tolerance_percentage=m.failure_tolerance_percentage,
            region_concurrency=m.region_concurrency,
        )


class MemberBaselineStackSetStack(cdk.Stack):
    """The service-managed StackSet that rolls the member baseline out.

    The member template is synthesized (and checked by every compliance pack) from
    ``settings.member`` in an app of its own, then passed inline.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: StackSetSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        template = member_template(
            settings.member,
            context=cdk_json_context(),
            report_dir=cdk.Stage.of(self).outdir,  # type: ignore[union-attr]
        )
        # the body goes without the cdk-nag acknowledgements (only cdk-nag reads them, and
        # it has: the packs ran on the member app); the template as synthesized, with
        # them, is written beside this stack's, for the acknowledgements page and scanners
        body = json.dumps(
            without_nag_acknowledgements(template), separators=(",", ":"), sort_keys=True
        )
        outdir = Path(cdk.Stage.of(self).outdir)  # type: ignore[union-attr]
        outdir.mkdir(parents=True, exist_ok=True)
        synthesized_file = f"{self.artifact_id}.member-template.json"
        (outdir / synthesized_file).write_text(
            json.dumps(template, indent=1, sort_keys=True), encoding="utf-8"
        )
        if len(body.encode()) > TEMPLATE_BODY_LIMIT:
            raise MemberTemplateTooLargeError(
                f"the member-baseline template is {len(body.encode())} bytes; a StackSet takes "
                f"at most {TEMPLATE_BODY_LIMIT} inline (the full template is in "
                f"{outdir / synthesized_file})"
            )
        regions = list(settings.governed_regions)
        self.stack_set = cloudformation.CfnStackSet(
            self,
            "StackSet",
            stack_set_name=naming.member_baseline_stack(settings.prefix),
            description="Member-account baseline of the landing zone",
            permission_model="SERVICE_MANAGED",
            call_as=settings.call_as,
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=True
            ),
            managed_execution={"Active": True},
            capabilities=["CAPABILITY_NAMED_IAM"],
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                region_concurrency_type=settings.region_concurrency,
                max_concurrent_percentage=settings.max_concurrent_percentage,
                failure_tolerance_percentage=settings.failure_tolerance_percentage,
                region_order=[
                    settings.home_region,
                    *(r for r in regions if r != settings.home_region),
                ],
            ),
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(settings.target_ou_ids)
                    ),
                    regions=regions,
                )
            ],
            template_body=body,
        )
        self.stack_set.add_metadata(TEMPLATE_FILE_METADATA, synthesized_file)
        self.stack_set.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
