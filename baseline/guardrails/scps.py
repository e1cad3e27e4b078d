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
from baseline.guardrails.model import Guardrail, PolicyType, Statement


@dataclass(frozen=True)
class GuardrailContext:
    """What the guardrails need to know about the organisation."""

    prefix: str
    organization_id: str
    governed_regions: tuple[str, ...]
    workload_ous: tuple[str, ...]
    sandbox_ous: tuple[str, ...]
    suspended_ous: tuple[str, ...]

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


def scp_library(context: GuardrailContext) -> list[Guardrail]:
    """Every SCP guardrail, with its default targets."""
    prefix = context.prefix
    baseline = context.unless_baseline()
    baseline_role_arn = naming.baseline_role_pattern(prefix)
    managed_by, managed_by_value = naming.MANAGED_BY_TAG
    hub_principals = sorted(
        [*context.baseline_principals, naming.network_hub_function_pattern(prefix)]
    )
    return [
        Guardrail(
            id="SCP-ORG-LEAVE",
            purpose="Member accounts cannot leave the organisation (and its guardrails).",
            policy_type=PolicyType.SCP,
            best_practices=("SEC01-BP01", "SEC03-BP05"),
            statements=(_deny("DenyLeaveOrganization", ["organizations:LeaveOrganization"]),),
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
                "The baseline's roles, keys, log buckets and StackSet stacks change only through "
                "the baseline's own execution principals."
            ),
            policy_type=PolicyType.SCP,
            best_practices=("SEC01-BP06", "SEC03-BP05"),
            statements=(
                # Exemptions are by role name, so nobody else may create or change a role
                # with an exempt name: the names are reserved for the baseline.
                _deny(
                    "ProtectBaselineRoles",
                    ROLE_CHANGE_ACTIONS,
                    sorted({baseline_role_arn, *context.reserved_role_patterns}),
                    **baseline,
                ),
                _deny(
                    "ProtectBaselineBuckets",
                    BUCKET_CHANGE_ACTIONS,
                    [f"arn:aws:s3:::{prefix}-*"],
                    **baseline,
                ),
                _deny(
                    "ProtectBaselineKeys",
                    KEY_CHANGE_ACTIONS,
                    **baseline,
                    **{"ForAnyValue:StringLike": {"kms:ResourceAliases": [f"alias/{prefix}/*"]}},
                ),
                # Exempt roles must not be usable by anyone else: no assuming the landing
                # zone's CDK roles, no passing exempt roles, no changing baseline functions.
                _deny(
                    "ProtectExemptRoles",
                    ["iam:PassRole", "sts:AssumeRole"],
                    sorted(context.reserved_role_patterns),
                    **baseline,
                ),
                _deny(
                    "ProtectBaselineFunctions",
                    [
                        "lambda:AddPermission",
                        "lambda:Delete*",
                        "lambda:InvokeFunction",
                        "lambda:Update*",
                    ],
                    [f"arn:aws:lambda:*:*:function:{prefix}-*"],
                    **baseline,
                ),
                _deny(
                    "ProtectPerimeterExceptionTag",
                    ["*"],  # tagging APIs and tag-on-create alike: any request carrying the key
                    **baseline,
                    **{
                        "ForAnyValue:StringEquals": {
                            "aws:TagKeys": [naming.perimeter_exception_tag(prefix)]
                        }
                    },
                ),
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
            purpose="Instances launch with IMDSv2 only (hop limit at most 2), and nobody but the baseline relaxes it.",
            policy_type=PolicyType.SCP,
            best_practices=("SEC06-BP02", "SEC06-BP05"),
            statements=(
                _deny(
                    "RequireImdsv2",
                    ["ec2:RunInstances"],
                    ["arn:aws:ec2:*:*:instance/*"],
                    StringNotEquals={"ec2:MetadataHttpTokens": "required"},
                ),
                _deny(
                    "LimitImdsHopLimit",
                    ["ec2:RunInstances"],
                    ["arn:aws:ec2:*:*:instance/*"],
                    NumericGreaterThan={"ec2:MetadataHttpPutResponseHopLimit": "2"},
                ),
                _deny(
                    "DenyImdsWeakening",
                    ["ec2:ModifyInstanceMetadataDefaults", "ec2:ModifyInstanceMetadataOptions"],
                    **baseline,
                ),
            ),
            exemptions=("the baseline's execution principals may set account metadata defaults",),
        ),
        Guardrail(
            id="SCP-ACCOUNT-SETTINGS",
            purpose="EBS encryption by default stays on, account S3 Block Public Access stays on, no default VPCs.",
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
            id="SCP-NETWORK-HUB-PROTECT",
            purpose=(
                "The network hub's firewalls, routing, DNS Firewall and sharing, and the "
                "landing zone's tag, change only through the baseline's own principals."
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
                _deny(
                    "ProtectHubFunctionRole",
                    ["iam:PassRole", "sts:AssumeRole"],
                    [naming.network_hub_function_pattern(prefix)],
                    **baseline,
                ),
                _deny(
                    "ProtectManagedByTag",
                    ["*"],  # tagging APIs and tag-on-create alike
                    **baseline,
                    **{"ForAnyValue:StringEquals": {"aws:TagKeys": [managed_by]}},
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
    ]
