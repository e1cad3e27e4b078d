"""The service control policy library.

Every guardrail is a function of the organisation's context (prefix, governed regions,
the baseline's own principals) that returns data. Exemptions are explicit conditions
on ``aws:PrincipalArn`` naming the baseline's execution principals, never wildcards over
all roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baseline import naming
from baseline.boundary import POLICY_CHANGES
from baseline.defaults import (
    CASE_TAG,
    EVIDENCE_TAG,
    PACKAGE_ORIGIN_ACTIONS,
    PACKAGE_POLICY_ACTIONS,
    QUARANTINE_TAG,
)
from baseline.guardrails.model import ROOT, Guardrail, PolicyType, Statement


@dataclass(frozen=True)
class CoreAccount:
    """A core account the guardrails attach to or pin an exemption to."""

    name: str
    id: str


@dataclass(frozen=True)
class GuardrailContext:
    """What the guardrails need to know about the organisation."""

    prefix: str
    organization_id: str
    governed_regions: tuple[str, ...]
    workload_ous: tuple[str, ...]
    sandbox_ous: tuple[str, ...]
    suspended_ous: tuple[str, ...]
    #: the core member accounts, once they have ids (not in greenfield phase 1)
    log_archive: CoreAccount | None = None
    audit: CoreAccount | None = None
    network: CoreAccount | None = None
    #: Identity Center's delegated administrator, which the kit deploys into when named
    identity_admin: CoreAccount | None = None
    #: the forensics account (config role ``forensics``), when the config has one
    forensics: CoreAccount | None = None
    #: the shared-services account and the CodeArtifact domain, with ``packages:``
    packages: CoreAccount | None = None
    package_domain: str | None = None
    #: the config turns the network hub on (``network.hub``); without it the hub's own
    #: guardrail has nothing to protect, and would credit practices to a hub that is not there
    network_hub: bool = False
    #: every top-level OU, and every member account placed directly in the root: where a
    #: guardrail for every member account goes when the root has no room left
    below_root: tuple[str, ...] = ()

    @property
    def kit_accounts(self) -> list[CoreAccount]:
        """The member accounts the landing zone's own stacks deploy into (bootstrapped with
        its qualifier), each once; the management account is beyond every SCP."""
        accounts = (
            self.log_archive,
            self.audit,
            self.network,
            self.identity_admin,
            self.forensics,
            self.packages,
        )
        return list({a.id: a for a in accounts if a is not None}.values())

    @property
    def baseline_principals(self) -> list[str]:
        """ARN patterns of the principals that deploy and repair the baseline."""
        return naming.baseline_principal_arns(self.prefix)

    @property
    def reserved_role_patterns(self) -> list[str]:
        """Role ARN patterns reserved for the baseline: the exempt principals' names."""
        return list(self.baseline_principals)

    @property
    def break_glass_principal(self) -> str:
        return f"arn:aws:iam::*:role/{naming.break_glass_role(self.prefix)}"

    def unless_baseline(self) -> dict[str, Any]:
        """The condition that exempts exactly the baseline's own principals."""
        return {"ArnNotLike": {"aws:PrincipalArn": self.baseline_principals}}

    def unless_deployer_of(self, account: CoreAccount) -> dict[str, Any]:
        """The condition that exempts only the landing zone's CloudFormation execution role
        and the break-glass role of one account, pinned to that account's id."""
        return {
            "ArnNotLike": {
                "aws:PrincipalArn": [
                    naming.cdk_execution_role_arn(account.id),
                    f"arn:aws:iam::{account.id}:role/{naming.break_glass_role(self.prefix)}",
                ]
            }
        }


#: Actions that stop, delete or detach the security services (SEC04-BP01).
SECURITY_SERVICE_ACTIONS = (
    "cloudtrail:DeleteTrail",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "config:DeleteConfigRule",
    "config:DeleteConfigurationAggregator",
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:DeleteOrganizationConfigRule",
    "config:DeleteOrganizationConformancePack",
    "config:DeleteRetentionConfiguration",
    "config:PutConfigurationRecorder",
    "config:PutDeliveryChannel",
    "config:StopConfigurationRecorder",
    "guardduty:CreateFilter",
    "guardduty:DeleteDetector",
    "guardduty:DeleteMembers",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "guardduty:DisassociateMembers",
    "guardduty:StopMonitoringMembers",
    "guardduty:UpdateDetector",
    "securityhub:BatchDisableStandards",
    "securityhub:DeleteMembers",
    "securityhub:DisableImportFindingsForProduct",
    "securityhub:DisableSecurityHub",
    "securityhub:DisassociateFromAdministratorAccount",
    "securityhub:DisassociateFromMasterAccount",
    "securityhub:DisassociateMembers",
    "access-analyzer:DeleteAnalyzer",
    "macie2:DisableMacie",
    "macie2:DisassociateFromAdministratorAccount",
    "macie2:DisassociateFromMasterAccount",
    "macie2:DisassociateMember",
    "inspector2:Disable",
    "inspector2:DisassociateMember",
    "detective:DeleteGraph",
    "detective:DisassociateMembership",
    "detective:UpdateOrganizationConfiguration",
    "guardduty:DeletePublishingDestination",
    "guardduty:UpdateOrganizationConfiguration",
    "inspector2:UpdateOrganizationConfiguration",
    "macie2:UpdateOrganizationConfiguration",
    "securityhub:DeleteConfigurationPolicy",
    "securityhub:DeleteFindingAggregator",
    "securityhub:StartConfigurationPolicyDisassociation",
    "securityhub:UpdateConfigurationPolicy",
    "securityhub:UpdateOrganizationConfiguration",
    "ec2:DeleteFlowLogs",
)

#: Actions that change the baseline's own IAM roles.
ROLE_CHANGE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)

#: Actions that change a customer-managed policy's effective document, or delete it.
POLICY_CHANGE_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)

#: What a principal of the audit account could use to push a template into every member
#: account as the exempt StackSet execution role, or to remove the member baseline.
STACK_SET_ACTIONS = (
    "cloudformation:CreateStackInstances",
    "cloudformation:CreateStackSet",
    "cloudformation:DeleteStackInstances",
    "cloudformation:DeleteStackSet",
    "cloudformation:ImportStacksToStackSet",
    "cloudformation:StopStackSetOperation",
    "cloudformation:UpdateStackInstances",
    "cloudformation:UpdateStackSet",
)

#: What silences findings in the audit account (the services' administrator): suppression
#: and automation rules, filters, archive rules and configuration policies.
FINDING_SILENCING_ACTIONS = (
    "access-analyzer:ApplyArchiveRule",
    "access-analyzer:CreateArchiveRule",
    "access-analyzer:UpdateArchiveRule",
    "guardduty:UpdateFilter",
    "inspector2:CreateFilter",
    "inspector2:UpdateFilter",
    "macie2:CreateFindingsFilter",
    "macie2:UpdateFindingsFilter",
    "securityhub:BatchDeleteAutomationRules",
    "securityhub:BatchUpdateAutomationRules",
    "securityhub:CreateAutomationRule",
    "securityhub:CreateAutomationRuleV2",
    "securityhub:CreateConfigurationPolicy",
    "securityhub:DeleteAutomationRuleV2",
    "securityhub:StartConfigurationPolicyAssociation",
    "securityhub:UpdateAutomationRuleV2",
)

#: What erases or unlocks log objects in the log-archive account: deleting object versions;
#: hiding the current one behind a delete marker, which the buckets' lifecycle rules then
#: turn into the version's deletion; and bypassing or changing a GOVERNANCE lock.
LOG_ERASURE_ACTIONS = (
    "s3:BypassGovernanceRetention",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectLegalHold",
    "s3:PutObjectRetention",
)

#: What would give the forensics account's isolated network a path in or out.
ISOLATION_BREAKING_ACTIONS = (
    "ec2:AcceptTransitGatewayVpcAttachment",
    "ec2:AcceptVpcPeeringConnection",
    "ec2:AttachInternetGateway",
    "ec2:AttachVpnGateway",
    "ec2:CreateEgressOnlyInternetGateway",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateTransitGatewayVpcAttachment",
    "ec2:CreateClientVpnEndpoint",
    "ec2:CreateInstanceConnectEndpoint",
    "ec2:CreateVpcEndpoint",
    "ec2:CreateVpcPeeringConnection",
    "ec2:CreateVpnGateway",
    "ec2:ModifyVpcEndpoint",
    "vpc-lattice:CreateServiceNetworkVpcAssociation",
)

#: Actions that weaken or delete the baseline's log buckets.
BUCKET_CHANGE_ACTIONS = (
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:PutBucketLogging",
)

#: Actions that delete the organisation's backup vault or change its lock, access policy
#: or notifications (its recovery points stay under the lock: SEC10-BP03): DeleteBackupVault,
#: DeleteBackupVaultLockConfiguration, PutBackupVaultAccessPolicy and the others of each
#: prefix, two patterns where the root's room is short.
BACKUP_VAULT_CHANGE_ACTIONS = ("backup:DeleteBackupVault*", "backup:PutBackupVault*")

#: Actions that disable or delete the baseline's KMS keys.
KEY_CHANGE_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:DeleteAlias",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:UpdateAlias",
)

#: Network changes a workload account leaves to the network account (SEC05-BP01).
NETWORK_CHANGE_ACTIONS = (
    "ec2:AcceptTransitGatewayPeeringAttachment",
    "ec2:AcceptVpcPeeringConnection",
    "ec2:AttachInternetGateway",
    "ec2:CreateEgressOnlyInternetGateway",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateTransitGateway",
    "ec2:CreateTransitGatewayPeeringAttachment",
    "ec2:CreateVpcPeeringConnection",
    "ec2:CreateVpnGateway",
    "ec2:AttachVpnGateway",
    "ec2:CreateCustomerGateway",
    "ec2:CreateVpnConnection",
    "ec2:DeleteFlowLogs",
    "directconnect:*",
    "globalaccelerator:Create*",
    "globalaccelerator:Update*",
)

#: Services that are global or run from us-east-1 only, exempt from the region deny
#: (the list of AWS's published "deny by requested Region" SCP example).
GLOBAL_SERVICE_ACTIONS = (
    "a4b:*",
    "acm:*",
    "aws-marketplace-management:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "chime:*",
    "cloudfront:*",
    "config:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "kms:*",
    "mobileanalytics:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
)


#: Actions that change the hub's routing, DNS Firewall or sharing; denied on resources
#: tagged as the landing zone's (the hub's transit gateway, route tables, attachments,
#: network ACLs, DNS Firewall rule groups and query logging, RAM share).
HUB_CHANGE_ACTIONS = (
    "ec2:AssociateRouteTable",
    "ec2:AssociateTransitGatewayRouteTable",
    "ec2:CreateNetworkAclEntry",
    "ec2:CreateNetworkInterface",
    "ec2:CreateRoute",
    "ec2:CreateRouteTable",
    "ec2:CreateTransitGatewayPrefixListReference",
    "ec2:CreateTransitGatewayRoute",
    "ec2:DeleteNetworkAcl",
    "ec2:DeleteNetworkAclEntry",
    "ec2:DeleteRoute",
    "ec2:DeleteTransitGateway",
    "ec2:DeleteTransitGatewayPrefixListReference",
    "ec2:DeleteTransitGatewayRoute",
    "ec2:DeleteTransitGatewayRouteTable",
    "ec2:DeleteTransitGatewayVpcAttachment",
    "ec2:DisableTransitGatewayRouteTablePropagation",
    "ec2:DisassociateRouteTable",
    "ec2:DisassociateTransitGatewayRouteTable",
    "ec2:EnableTransitGatewayRouteTablePropagation",
    "ec2:ModifyTransitGateway",
    "ec2:ModifyTransitGatewayPrefixListReference",
    "ec2:ModifyTransitGatewayVpcAttachment",
    "ec2:ReplaceNetworkAclAssociation",
    "ec2:ReplaceNetworkAclEntry",
    "ec2:ReplaceRoute",
    "ec2:ReplaceRouteTableAssociation",
    "ec2:ReplaceTransitGatewayRoute",
    # no compute of anyone's in the hub's subnets: it would be reached by the spokes
    # over the VPC's local route and leave through NAT uninspected
    "ec2:RunInstances",
    "ram:AssociateResourceShare",
    "ram:DeleteResourceShare",
    "ram:DisassociateResourceShare",
    "ram:UpdateResourceShare",
    "route53resolver:CreateFirewallRule",
    "route53resolver:DeleteFirewallDomainList",
    "route53resolver:DeleteFirewallRule",
    "route53resolver:DeleteFirewallRuleGroup",
    "route53resolver:DeleteResolverQueryLogConfig",
    "route53resolver:DisassociateFirewallRuleGroup",
    "route53resolver:ImportFirewallDomains",
    "route53resolver:PutFirewallRuleGroupPolicy",
    "route53resolver:PutResolverQueryLogConfigPolicy",
    "route53resolver:UpdateFirewallDomains",
    "route53resolver:UpdateFirewallRule",
    "route53resolver:UpdateFirewallRuleGroupAssociation",
)


def _deny(
    sid: str,
    actions: tuple[str, ...] | list[str],
    resources: str | list[str] = "*",
    /,
    **condition: Any,
) -> Statement:
    """A Deny statement; keyword arguments are condition operators (``ArnNotLike=...``)."""
    statement: Statement = {
        "Sid": sid,
        "Effect": "Deny",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _pinned_roles(context: GuardrailContext) -> list[Statement]:
    """The exempt roles that belong in the kit's own accounts can do nothing anywhere else.

    The exemptions are name patterns over every account. The landing zone's CDK roles, the
    audit account's detective-services function and the hub's function live only in the
    accounts the kit deploys into, so a role of such a name anywhere else (made before the
    guardrails, in an account that joined later) is an impostor and gets nothing.
    """
    accounts = context.kit_accounts
    if len(accounts) < 3:  # greenfield phase 1: the core accounts have no ids yet
        return []
    return [
        _deny(
            "PinKitRolesToTheirAccounts",
            ["*"],
            ArnLike={
                "aws:PrincipalArn": sorted(
                    [
                        naming.cdk_deploy_role_pattern(),
                        naming.cdk_execution_role_pattern(),
                        f"arn:aws:iam::*:role/{naming.security_services_function(context.prefix)}-*",
                        naming.network_hub_function_pattern(context.prefix),
                    ]
                )
            },
            StringNotEquals={"aws:PrincipalAccount": sorted(a.id for a in accounts)},
        )
    ]


def account_guardrails(context: GuardrailContext) -> list[Guardrail]:
    """Guardrails attached to one core account, for what only happens there."""
    prefix = context.prefix
    guardrails = []
    if context.audit is not None:
        audit = context.unless_deployer_of(context.audit)
        guardrails.append(
            Guardrail(
                id="SCP-AUDIT-ACCOUNT",
                purpose=(
                    "In the audit account nobody but the landing zone's deployment manages "
                    "StackSets, silences findings, or changes their rules and topic."
                ),
                policy_type=PolicyType.SCP,
                best_practices=("SEC04-BP03", "SEC01-BP06", "SEC03-BP05"),
                statements=(
                    # A service-managed StackSet runs as the exempt stacksets-exec role in
                    # every member account: only the kit's own deployment may make one.
                    _deny("DenyStackSetAdministration", STACK_SET_ACTIONS, **audit),
                    _deny("DenyFindingSilencing", FINDING_SILENCING_ACTIONS, **audit),
                    _deny(
                        "ProtectFindingRules",
                        [
                            "events:DeleteRule",
                            "events:DisableRule",
                            "events:PutRule",
                            "events:PutTargets",
                            "events:RemoveTargets",
                        ],
                        [f"arn:aws:events:*:*:rule/{prefix}-*"],
                        **audit,
                    ),
                    _deny(
                        "ProtectFindingTopics",
                        [
                            "sns:AddPermission",
                            "sns:DeleteTopic",
                            "sns:RemovePermission",
                            "sns:SetTopicAttributes",
                        ],
                        [f"arn:aws:sns:*:*:{prefix}-*"],
                        **audit,
                    ),
                    # Unsubscribe names no resource type: it is denied for every topic here.
                    _deny("DenyUnsubscribe", ["sns:Unsubscribe"], **audit),
                ),
                attach_to=(context.audit.name,),
                exemptions=(
                    "the landing zone's CloudFormation execution role and the break-glass "
                    "role of the audit account (by its account id)",
                ),
            )
        )
    if context.log_archive is not None:
        guardrails.append(
            Guardrail(
                id="SCP-LOG-ARCHIVE-ACCOUNT",
                purpose=(
                    "In the log-archive account no log, Config or access-log object version is "
                    "deleted or hidden behind a delete marker, and no lock is bypassed or "
                    "changed, except through break-glass."
                ),
                policy_type=PolicyType.SCP,
                best_practices=("SEC04-BP02", "SEC08-BP03"),
                statements=(
                    _deny(
                        "DenyLogErasure",
                        LOG_ERASURE_ACTIONS,
                        [f"arn:aws:s3:::{prefix}-*/*"],
                        **context.unless_deployer_of(context.log_archive),
                    ),
                ),
                attach_to=(context.log_archive.name,),
                exemptions=(
                    "the landing zone's CloudFormation execution role and the break-glass "
                    "role of the log-archive account (a GOVERNANCE lock's bypass, in an "
                    "emergency)",
                ),
            )
        )
    if context.packages is not None and context.package_domain is not None:
        domain = context.package_domain
        guardrails.append(
            Guardrail(
                id="SCP-PACKAGES-ACCOUNT",
                purpose=(
                    "In the shared-services account nobody but the landing zone's deployment "
                    "replaces the package domain's policies, its origin controls or upstreams, "
                    "or deletes it."
                ),
                policy_type=PolicyType.SCP,
                best_practices=("SEC11-BP05", "SEC06-BP04"),
                statements=(
                    _deny(
                        "ProtectThePackageDomain",
                        [*PACKAGE_POLICY_ACTIONS, *PACKAGE_ORIGIN_ACTIONS],
                        [
                            f"arn:aws:codeartifact:*:{context.packages.id}:domain/{domain}",
                            f"arn:aws:codeartifact:*:{context.packages.id}:repository/{domain}/*",
                            f"arn:aws:codeartifact:*:{context.packages.id}:package-group/{domain}*",
                            f"arn:aws:codeartifact:*:{context.packages.id}:package/{domain}/*",
                        ],
                        **context.unless_deployer_of(context.packages),
                    ),
                ),
                attach_to=(context.packages.name,),
                exemptions=(
                    "the landing zone's CloudFormation execution role and the break-glass "
                    "role of the shared-services account (by its account id)",
                ),
            )
        )
    if context.forensics is not None:
        forensics = context.unless_deployer_of(context.forensics)
        guardrails.append(
            Guardrail(
                id="SCP-FORENSICS-ACCOUNT",
                purpose=(
                    "In the forensics account no evidence object is deleted or unlocked, and "
                    "no network path leads in or out (internet, NAT, transit gateway, "
                    "peering, VPN), except through break-glass."
                ),
                policy_type=PolicyType.SCP,
                best_practices=("SEC10-BP03", "SEC10-BP05", "SEC05-BP01"),
                statements=(
                    _deny(
                        "DenyEvidenceErasure",
                        LOG_ERASURE_ACTIONS,
                        [f"arn:aws:s3:::{naming.evidence_bucket_pattern(prefix)}/*"],
                        **forensics,
                    ),
                    _deny(
                        "KeepTheAnalysisNetworkIsolated", ISOLATION_BREAKING_ACTIONS, **forensics
                    ),
                ),
                attach_to=(context.forensics.name,),
                exemptions=(
                    "the landing zone's CloudFormation execution role and the break-glass "
                    "role of the forensics account (by its account id)",
                ),
            )
        )
    return guardrails


def evidence_guardrail(context: GuardrailContext) -> Guardrail:
    """SCP-EVIDENCE-PROTECT: snapshots tagged as evidence stay, tagged, and unshared."""
    tagged = {"Null": {f"aws:ResourceTag/{EVIDENCE_TAG}": "false"}}
    contained = {"Null": {f"aws:ResourceTag/{CASE_TAG}": "false"}}
    unless = {"ArnNotLike": {"aws:PrincipalArn": [context.break_glass_principal]}}
    responder = f"arn:aws:iam::*:role/{naming.incident_responder_role(context.prefix)}"
    unless_responder = {
        "ArnNotLike": {"aws:PrincipalArn": [context.break_glass_principal, responder]}
    }
    snapshots = ["arn:aws:ec2:*:*:snapshot/*"]
    contained_resources = ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:network-interface/*"]
    # without a forensics account, evidence is shared with no account at all
    shared_elsewhere: dict[str, Any] = (
        {**tagged, "ForAnyValue:StringNotEquals": {"ec2:Add/userId": [context.forensics.id]}}
        if context.forensics is not None
        else {"Null": {**tagged["Null"], "ec2:Add/userId": "false"}}
    )
    return Guardrail(
        id="SCP-EVIDENCE-PROTECT",
        purpose=(
            "A snapshot tagged as evidence is not deleted, untagged or shared, except with "
            "the forensics account, and an instance tagged with an incident case is not "
            "stopped, terminated, untagged or let out of isolation (nor its quarantine "
            "group opened), by anyone but break-glass; only the incident responder sets "
            "the incident tags."
        ),
        policy_type=PolicyType.SCP,
        best_practices=("SEC10-BP03", "SEC10-BP05"),
        statements=(
            {
                "Sid": "KeepEvidenceSnapshots",
                "Effect": "Deny",
                "Action": ["ec2:DeleteSnapshot", "ec2:DeleteTags"],
                "Resource": snapshots,
                "Condition": {**tagged, **unless},
            },
            # stop and termination protection that no workload administrator can turn off
            {
                "Sid": "KeepContainedInstances",
                "Effect": "Deny",
                "Action": ["ec2:DeleteTags", "ec2:StopInstances", "ec2:TerminateInstances"],
                "Resource": contained_resources,
                "Condition": {**contained, **unless},
            },
            {
                "Sid": "KeepTheCaseOfContainedInstances",
                "Effect": "Deny",
                "Action": ["ec2:CreateTags"],
                "Resource": ["arn:aws:ec2:*:*:instance/*"],
                "Condition": {
                    **contained,
                    **unless,
                    "ForAnyValue:StringEquals": {"aws:TagKeys": [CASE_TAG]},
                },
            },
            # the incident tags are the responder's: nobody else makes an instance a case
            # (and locks it), a group a quarantine group, or a snapshot evidence
            {
                "Sid": "ReserveTheIncidentTags",
                "Effect": "Deny",
                "Action": ["ec2:CreateTags"],
                "Resource": ["*"],
                "Condition": {
                    **unless_responder,
                    "ForAnyValue:StringEquals": {
                        "aws:TagKeys": [CASE_TAG, EVIDENCE_TAG, QUARANTINE_TAG]
                    },
                },
            },
            # a contained instance stays isolated and without its own credentials
            {
                "Sid": "KeepContainedInstancesIsolated",
                "Effect": "Deny",
                "Action": [
                    "ec2:AssociateIamInstanceProfile",
                    "ec2:AttachNetworkInterface",
                    "ec2:DisassociateIamInstanceProfile",
                    "ec2:ModifyInstanceAttribute",
                    "ec2:ModifyNetworkInterfaceAttribute",
                    "ec2:ReplaceIamInstanceProfileAssociation",
                ],
                # its interfaces too (the responder tags them): a change of an interface's
                # groups is authorised on the interface, with the instance optional
                "Resource": contained_resources,
                "Condition": {**contained, **unless_responder},
            },
            # ... and its quarantine group stays closed: a rule added to it would let the
            # instance out without touching the instance
            {
                "Sid": "KeepQuarantineGroupsClosed",
                "Effect": "Deny",
                "Action": [
                    "ec2:AuthorizeSecurityGroupEgress",
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:DeleteTags",
                    "ec2:ModifySecurityGroupRules",
                ],
                "Resource": ["arn:aws:ec2:*:*:security-group/*"],
                "Condition": {
                    "Null": {f"aws:ResourceTag/{QUARANTINE_TAG}": "false"},
                    **unless_responder,
                },
            },
            {
                "Sid": "KeepTheQuarantineProfile",
                "Effect": "Deny",
                "Action": [
                    "iam:AddRoleToInstanceProfile",
                    "iam:DeleteInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                ],
                "Resource": [
                    f"arn:aws:iam::*:instance-profile/{naming.quarantine_role(context.prefix)}"
                ],
                "Condition": context.unless_baseline(),
            },
            {
                "Sid": "ShareEvidenceOnlyWithForensics",
                "Effect": "Deny",
                "Action": ["ec2:ModifySnapshotAttribute"],
                "Resource": snapshots,
                "Condition": {**unless, **shared_elsewhere},
            },
            {
                "Sid": "NeverShareEvidencePublicly",
                "Effect": "Deny",
                "Action": ["ec2:ModifySnapshotAttribute"],
                "Resource": snapshots,
                "Condition": {
                    **unless,
                    "Null": {**tagged["Null"], "ec2:Add/group": "false"},
                },
            },
        ),
        # The root holds the three packed SCPs it has room for; every member account is
        # below one of these targets, so the guardrail reaches the same accounts.
        attach_to=context.below_root or (ROOT,),
        exemptions=(
            f"the break-glass role ({naming.break_glass_role(context.prefix)}); for the "
            "incident tags and a contained instance's isolation, also the incident "
            f"responder ({naming.incident_responder_role(context.prefix)}); for the "
            "quarantine profile, the baseline's execution principals",
        ),
    )


#: The network hub's guardrail: in the library only when the config has the hub.
HUB_GUARDRAIL = "SCP-NETWORK-HUB-PROTECT"


def scp_library(context: GuardrailContext) -> list[Guardrail]:
    """Every SCP guardrail, with its default targets."""
    prefix = context.prefix
    baseline = context.unless_baseline()
    boundary = naming.workload_boundary_pattern(prefix)
    baseline_role_arn = naming.baseline_role_pattern(prefix)
    managed_by, managed_by_value = naming.MANAGED_BY_TAG
    hub_principals = sorted(
        [*context.baseline_principals, naming.network_hub_function_pattern(prefix)]
    )
    guardrails = [
        Guardrail(
            id="SCP-ORG-LEAVE",
            purpose="Member accounts cannot leave the organisation (and its guardrails).",
            policy_type=PolicyType.SCP,
            best_practices=("SEC01-BP01", "SEC03-BP05"),
            statements=(_deny("DenyLeaveOrganization", ["organizations:LeaveOrganization"]),),
        ),
        Guardrail(
            id="SCP-RAM-ORG-ONLY",
            purpose="Resource shares reach principals of the organisation only, never outside it.",
            policy_type=PolicyType.SCP,
            best_practices=("SEC03-BP08", "SEC03-BP09"),
            statements=(
                _deny(
                    "DenyExternalResourceShares",
                    ["ram:CreateResourceShare", "ram:UpdateResourceShare"],
                    Bool={"ram:RequestedAllowsExternalPrincipals": "true"},
                ),
            ),
        ),
        Guardrail(
            id="SCP-ROOT-USER",
            purpose="The root user of a member account can do nothing (use centralised root access).",
            policy_type=PolicyType.SCP,
            best_practices=("SEC01-BP02", "SEC02-BP01"),
            cis=("1.3", "1.6"),
            statements=(
                # Privileged root sessions (sts:AssumeRoot from the management account) carry
                # aws:AssumedRoot and stay possible: they are the recovery path.
                _deny(
                    "DenyRootUser",
                    ["*"],
                    ArnLike={"aws:PrincipalArn": ["arn:aws:iam::*:root"]},
                    Null={"aws:AssumedRoot": "true"},
                ),
            ),
        ),
        Guardrail(
            id="SCP-SECURITY-SERVICES",
            purpose=(
                "Nobody but the baseline can stop, delete or detach CloudTrail, Config, GuardDuty, "
                "Security Hub, Access Analyzer, Macie, Inspector, Detective or flow logs."
            ),
            policy_type=PolicyType.SCP,
            best_practices=("SEC04-BP01", "SEC04-BP02", "SEC03-BP05"),
            cis=("3.1", "3.3", "3.7"),
            statements=(
                _deny("ProtectSecurityServices", SECURITY_SERVICE_ACTIONS, **baseline),
                _deny(
                    "ProtectBaselineAlarmsAndLogs",
                    [
                        "cloudwatch:DeleteAlarms",
                        "cloudwatch:DisableAlarmActions",
                        "cloudwatch:PutMetricAlarm",
                        "logs:DeleteLogGroup",
                        "logs:DeleteMetricFilter",
                        "logs:DeleteSubscriptionFilter",
                        "logs:PutRetentionPolicy",
                        "logs:DisassociateKmsKey",
                    ],
                    [
                        f"arn:aws:cloudwatch:*:*:alarm:{prefix}-*",
                        f"arn:aws:logs:*:*:log-group:/{prefix}/*",
                    ],
                    **baseline,
                ),
            ),
            exemptions=(
                "the baseline's execution principals (StackSet and CDK deployment roles, break-glass)",
            ),
        ),
        Guardrail(
            id="SCP-BASELINE-PROTECT",
            purpose=(
                "The baseline's roles, their policies, keys, log buckets, backup vault, "
                "functions, tags and stacks change only through the baseline's own execution "
                "principals, which act only in the accounts they belong to."
            ),
            policy_type=PolicyType.SCP,
            best_practices=("SEC01-BP06", "SEC03-BP05"),
            statements=(
                # Exemptions are by role name, so nobody else may create or change a role
                # with an exempt name: the names are reserved for the baseline.
                # ... and the customer-managed policies behind them (the kit's own path), whose
                # new versions would change what an exempt role may do.
                _deny(
                    "ProtectBaselineRoles",
                    (*ROLE_CHANGE_ACTIONS, *POLICY_CHANGE_ACTIONS),
                    sorted(
                        {
                            baseline_role_arn,
                            *context.reserved_role_patterns,
                            naming.baseline_policy_pattern(prefix),
                        }
                    ),
                    **baseline,
                ),
                # the log and evidence buckets, and the vault of the organisation's backups,
                # whose lock keeps the recovery points: nobody else lifts the lock, opens or
                # deletes it (one statement: each action names one of the resources)
                _deny(
                    "ProtectBaselineStorage",
                    (*BUCKET_CHANGE_ACTIONS, *BACKUP_VAULT_CHANGE_ACTIONS),
                    [
                        f"arn:aws:s3:::{prefix}-*",
                        f"arn:aws:backup:*:*:backup-vault:{naming.backup_vault(prefix)}",
                    ],
                    **baseline,
                ),
                _deny(
                    "ProtectBaselineKeys",
                    KEY_CHANGE_ACTIONS,
                    **baseline,
                    # the kit's keys: alias/<prefix>/..., and its functions' own keys, named
                    # after the function (alias/<prefix>-containment-eu-west-1, ...)
                    **{
                        "ForAnyValue:StringLike": {
                            "kms:ResourceAliases": [f"alias/{prefix}/*", f"alias/{prefix}-*"]
                        }
                    },
                ),
                # Exempt roles must not be usable by anyone else: no assuming the landing
                # zone's CDK roles, no passing exempt roles, no changing baseline functions.
                _deny(
                    "ProtectExemptRoles",
                    ["iam:PassRole", "sts:AssumeRole"],
                    sorted(
                        {
                            *context.reserved_role_patterns,
                            naming.network_hub_function_pattern(prefix),
                        }
                    ),
                    **baseline,
                ),
                # Nothing but reading: no invoking, concurrency 0, event-invoke retargeting,
                # function URLs, permissions, code or configuration changes, deletion.
                {
                    "Sid": "ProtectBaselineFunctions",
                    "Effect": "Deny",
                    "NotAction": ["lambda:Get*", "lambda:List*"],
                    "Resource": [f"arn:aws:lambda:*:*:function:{prefix}-*"],
                    "Condition": baseline,
                },
                # The kit's tags: the perimeter exception and the managed-by tag that the
                # guardrails key on. Tagging APIs and tag-on-create alike.
                _deny(
                    "ProtectKitTags",
                    ["*"],
                    **baseline,
                    **{
                        "ForAnyValue:StringEquals": {
                            "aws:TagKeys": sorted(
                                [naming.perimeter_exception_tag(prefix), managed_by]
                            )
                        }
                    },
                ),
                *_pinned_roles(context),
                _deny(
                    "ProtectBaselineStacks",
                    [
                        "cloudformation:CreateChangeSet",
                        "cloudformation:DeleteStack",
                        "cloudformation:ExecuteChangeSet",
                        "cloudformation:SetStackPolicy",
                        "cloudformation:UpdateStack",
                        "cloudformation:UpdateTerminationProtection",
                    ],
                    [
                        f"arn:aws:cloudformation:*:*:stack/StackSet-{prefix}-*",
                        f"arn:aws:cloudformation:*:*:stack/{prefix}-*",
                    ],
                    **baseline,
                ),
            ),
            exemptions=(
                "the baseline's execution principals (StackSet and CDK deployment roles, break-glass)",
            ),
        ),
        Guardrail(
            id="SCP-NO-IAM-USERS",
            purpose="No IAM users, access keys or console passwords: people and workloads use temporary credentials.",
            policy_type=PolicyType.SCP,
            best_practices=("SEC02-BP02", "SEC02-BP04"),
            cis=("1.11", "1.12"),
            statements=(
                _deny(
                    "DenyLongTermCredentials",
                    # UpdateAccessKey stays allowed: deactivating a leaked key must always work.
                    [
                        "iam:CreateAccessKey",
                        "iam:CreateLoginProfile",
                        "iam:CreateUser",
                        "iam:UpdateLoginProfile",
                    ],
                    ArnNotLike={"aws:PrincipalArn": [context.break_glass_principal]},
                ),
            ),
            exemptions=(
                f"the break-glass role ({naming.break_glass_role(prefix)}), for emergencies only",
            ),
        ),
        Guardrail(
            id="SCP-REGION-DENY",
            purpose="Nothing runs outside the governed regions, except global services and the baseline.",
            policy_type=PolicyType.SCP,
            best_practices=("SEC01-BP05", "SEC03-BP05"),
            statements=(
                {
                    "Sid": "DenyUngovernedRegions",
                    "Effect": "Deny",
                    "NotAction": sorted(GLOBAL_SERVICE_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "StringNotEquals": {
                            "aws:RequestedRegion": sorted(context.governed_regions)
                        },
                        **baseline,
                    },
                },
            ),
            exemptions=(
                "global services (AWS's published list)",
                "the baseline's execution principals",
            ),
        ),
        Guardrail(
            id="SCP-IMDSV2",
            purpose="Instances launch and stay with IMDSv2 only (hop limit at most 2).",
            policy_type=PolicyType.SCP,
            best_practices=("SEC06-BP02", "SEC06-BP05"),
            statements=(
                # A change of an instance's options must say IMDSv2 (an omitted HttpTokens
                # leaves the key out, which StringNotEquals denies): moving an instance to
                # IMDSv2, disabling the endpoint or lowering the hop limit stays possible.
                _deny(
                    "RequireImdsv2",
                    ["ec2:ModifyInstanceMetadataOptions", "ec2:RunInstances"],
                    ["arn:aws:ec2:*:*:instance/*"],
                    StringNotEquals={"ec2:MetadataHttpTokens": "required"},
                ),
                _deny(
                    "LimitImdsHopLimit",
                    ["ec2:ModifyInstanceMetadataOptions", "ec2:RunInstances"],
                    ["arn:aws:ec2:*:*:instance/*"],
                    NumericGreaterThan={"ec2:MetadataHttpPutResponseHopLimit": "2"},
                ),
            ),
        ),
        Guardrail(
            id="SCP-ACCOUNT-SETTINGS",
            purpose=(
                "EBS encryption by default stays on, account S3 Block Public Access stays on, "
                "the account's instance metadata defaults stay as the baseline set them, no "
                "default VPCs."
            ),
            policy_type=PolicyType.SCP,
            best_practices=("SEC08-BP02", "SEC03-BP07", "SEC05-BP01"),
            cis=("2.2.1", "2.1.4"),
            statements=(
                _deny(
                    "ProtectAccountSettings",
                    [
                        "ec2:CreateDefaultSubnet",
                        "ec2:CreateDefaultVpc",
                        "ec2:DisableEbsEncryptionByDefault",
                        "ec2:ModifyInstanceMetadataDefaults",
                        "s3:PutAccountPublicAccessBlock",
                    ],
                    **baseline,
                ),
            ),
            exemptions=("the baseline's execution principals (which set these settings)",),
        ),
        Guardrail(
            id="SCP-NETWORK-OWNED",
            purpose="Workload accounts cannot open their own paths to the internet or other networks.",
            policy_type=PolicyType.SCP,
            best_practices=("SEC05-BP01", "SEC05-BP02"),
            statements=(_deny("DenyNetworkPerimeterChanges", NETWORK_CHANGE_ACTIONS, **baseline),),
            attach_to=context.workload_ous,
            exemptions=("the baseline's execution principals",),
        ),
        Guardrail(
            id="SCP-PERMISSIONS-BOUNDARY",
            purpose=(
                "In workload accounts every new role carries the workload permissions "
                "boundary, which nobody removes or changes."
            ),
            policy_type=PolicyType.SCP,
            best_practices=("SEC03-BP02", "SEC03-BP05"),
            statements=(
                _deny(
                    "RequireTheWorkloadBoundary",
                    ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                    # an Arn operator matches the ARN part by part: the wildcard for the
                    # account cannot take in a path that ends like the boundary's name
                    ArnNotLike={"iam:PermissionsBoundary": boundary, **baseline["ArnNotLike"]},
                ),
                _deny(
                    "KeepTheWorkloadBoundaryOn", ["iam:DeleteRolePermissionsBoundary"], **baseline
                ),
                _deny("KeepTheWorkloadBoundaryAsItIs", list(POLICY_CHANGES), boundary, **baseline),
            ),
            attach_to=context.workload_ous,
            exemptions=("the baseline's execution principals",),
        ),
        Guardrail(
            id=HUB_GUARDRAIL,
            purpose=(
                "The network hub's firewalls, routing, DNS Firewall, parameters and sharing "
                "change only through the baseline's own principals."
            ),
            policy_type=PolicyType.SCP,
            best_practices=("SEC05-BP02", "SEC05-BP03", "SEC01-BP06"),
            statements=(
                _deny(
                    "ProtectHubFirewalls",
                    [
                        "network-firewall:Associate*",
                        "network-firewall:Delete*",
                        "network-firewall:Disassociate*",
                        "network-firewall:Put*",
                        "network-firewall:Update*",
                    ],
                    [
                        f"arn:aws:network-firewall:*:*:{kind}/{naming.network_hub_name_pattern(prefix)}"
                        for kind in ("firewall", "firewall-policy", "stateful-rulegroup")
                    ],
                    **baseline,
                ),
                _deny(
                    "ProtectHubRoutingAndDns",
                    HUB_CHANGE_ACTIONS,
                    ArnNotLike={"aws:PrincipalArn": hub_principals},
                    StringEquals={f"aws:ResourceTag/{managed_by}": managed_by_value},
                    # the forensics account's analysis VPC is the kit's too (so tagged), and
                    # its responders start instances there; SCP-FORENSICS-ACCOUNT keeps its
                    # network closed
                    **(
                        {"StringNotEquals": {"aws:ResourceAccount": context.forensics.id}}
                        if context.forensics is not None
                        else {}
                    ),
                ),
                _deny(
                    "ProtectHubParameters",
                    [
                        "ssm:DeleteParameter",
                        "ssm:DeleteParameters",
                        "ssm:LabelParameterVersion",
                        "ssm:PutParameter",
                    ],
                    [f"arn:aws:ssm:*:*:parameter{naming.network_parameter_path(prefix)}/*"],
                    **baseline,
                ),
            ),
            exemptions=(
                "the baseline's execution principals; for routing, also the hub's own "
                "custom-resource function, which keeps the transit gateway's default tables",
            ),
        ),
        Guardrail(
            id="SCP-SANDBOX-LIMITS",
            purpose=(
                "Sandbox accounts cannot connect to other networks or make long-term purchases."
            ),
            policy_type=PolicyType.SCP,
            best_practices=("SEC01-BP01", "SEC05-BP01"),
            statements=(
                _deny(
                    "DenySandboxConnectivityAndCommitments",
                    [
                        "aws-marketplace:Subscribe",
                        "directconnect:*",
                        "ec2:AcceptVpcPeeringConnection",
                        "ec2:CreateTransitGatewayPeeringAttachment",
                        "ec2:CreateTransitGatewayVpcAttachment",
                        "ec2:CreateVpcPeeringConnection",
                        "ec2:CreateVpnConnection",
                        "ec2:PurchaseHostReservation",
                        "ec2:PurchaseReservedInstancesOffering",
                        "ram:AcceptResourceShareInvitation",
                        "route53domains:RegisterDomain",
                        "savingsplans:CreateSavingsPlan",
                        "shield:CreateSubscription",
                    ],
                    **baseline,
                ),
            ),
            attach_to=context.sandbox_ous,
            exemptions=("the baseline's execution principals",),
        ),
        Guardrail(
            id="SCP-SUSPENDED",
            purpose="Suspended accounts can do nothing but be inspected by the baseline.",
            policy_type=PolicyType.SCP,
            best_practices=("SEC03-BP06",),
            statements=(_deny("DenyEverything", ["*"], **baseline),),
            attach_to=context.suspended_ous,
            exemptions=(
                "the baseline's execution principals (to investigate and close the account)",
            ),
        ),
        evidence_guardrail(context),
        *account_guardrails(context),
    ]
    return [g for g in guardrails if context.network_hub or g.id != HUB_GUARDRAIL]
