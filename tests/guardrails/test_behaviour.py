"""Guardrail behaviour: real requests evaluated against the synthesized policies.

For each case the SCPs (or RCPs) attached on the path from the root to the account are
read from the synthesized Organization template, with the AWS-managed full-access policy
at every level, and the request is evaluated with ``tests/guardrails/evaluator.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from baseline.guardrails.evaluator import FULL_ACCESS, Request, decide
from tests.conftest import Synthesized

ORG = "o-nw7k2m9q4x"
ROOT_ID = "r-nw7k"
PROD = "756789012345"  # orders-prod, Workloads/Prod
NETWORK = "534567890123"  # network, Infrastructure
SANDBOX = "189012345678"  # sandbox-data-science, Sandbox
AUDIT_ACCOUNT = "423456789012"  # audit, Security

ADMIN = f"arn:aws:iam::{PROD}:role/AWSReservedSSO_Administrator_0123456789abcdef"
STACKSET = f"arn:aws:iam::{PROD}:role/stacksets-exec-4f1c2d3e4b5a6978"
LOG_ARCHIVE = "312345678901"  # log-archive, Security
# The landing zone's CDK roles exist only in the accounts its stacks deploy into.
CDK_EXEC = f"arn:aws:iam::{NETWORK}:role/cdk-lzbaseline-cfn-exec-role-{NETWORK}-eu-west-1"
CDK_DEPLOY = f"arn:aws:iam::{NETWORK}:role/cdk-lzbaseline-deploy-role-{NETWORK}-eu-west-1"
IMPOSTOR_CDK_EXEC = f"arn:aws:iam::{PROD}:role/cdk-lzbaseline-cfn-exec-role-{PROD}-eu-west-1"
FORENSICS = "290123456789"  # forensics, Security
FORENSICS_ADMIN = f"arn:aws:iam::{FORENSICS}:role/AWSReservedSSO_Administrator_01"
EVIDENCE_SNAPSHOT = f"arn:aws:ec2:eu-west-1:{PROD}:snapshot/snap-0123456789abcdef0"
CONTAINED_INSTANCE = f"arn:aws:ec2:eu-west-1:{PROD}:instance/i-0123456789abcdef0"
# an interface of it: a change of an interface's groups is authorised on the interface
CONTAINED_INTERFACE = f"arn:aws:ec2:eu-west-1:{PROD}:network-interface/eni-0bbbbbbbbbbbbbbb1"
LEGACY_INSTANCE = f"arn:aws:ec2:eu-west-1:{PROD}:instance/i-0fedcba9876543210"
EVIDENCE = {"aws:ResourceTag/lz:evidence": "case-1"}
CONTAINED = {"aws:ResourceTag/lz:incident-case": "gd-16afba5c5c43e07c9e3e5e2e544e95df"}
QUARANTINE_GROUP = f"arn:aws:ec2:eu-west-1:{PROD}:security-group/sg-0ccccccccccccccc1"
QUARANTINED = {"aws:ResourceTag/lz:quarantine": "true"}
SHARED_SERVICES = "645678901234"  # shared-services, Infrastructure: Identity Center's admin
IDENTITY_CDK_EXEC = (
    f"arn:aws:iam::{SHARED_SERVICES}:role/cdk-lzbaseline-cfn-exec-role-{SHARED_SERVICES}-eu-west-1"
)
AUDIT_ADMIN = f"arn:aws:iam::{AUDIT_ACCOUNT}:role/AWSReservedSSO_Admin_01"
SHARED_ADMIN = f"arn:aws:iam::{SHARED_SERVICES}:role/AWSReservedSSO_Admin_01"
PACKAGE_DOMAIN = f"arn:aws:codeartifact:eu-west-1:{SHARED_SERVICES}:domain/nwl"
PACKAGE_REPOSITORY = f"arn:aws:codeartifact:eu-west-1:{SHARED_SERVICES}:repository/nwl"
AUDIT_CDK_EXEC = (
    f"arn:aws:iam::{AUDIT_ACCOUNT}:role/cdk-lzbaseline-cfn-exec-role-{AUDIT_ACCOUNT}-eu-west-1"
)
LOG_ADMIN = f"arn:aws:iam::{LOG_ARCHIVE}:role/AWSReservedSSO_Admin_01"
SETTINGS_FUNCTION = f"arn:aws:iam::{PROD}:role/nwl-account-settings-eu-west-1"
BREAK_GLASS = f"arn:aws:iam::{PROD}:role/nwl-break-glass"
RESPONDER = f"arn:aws:iam::{PROD}:role/nwl-incident-responder"
ROOT_USER = f"arn:aws:iam::{PROD}:root"
BOUNDARY_NAME = "nwl-workload-boundary"
NETWORK_ADMIN = f"arn:aws:iam::{NETWORK}:role/AWSReservedSSO_NetworkAdmin_01"


def _levels(
    synthesized: Synthesized, account_id: str, policy_type: str, ou_path: str | None = None
) -> list[list[dict[str, Any]]]:
    """Policies of one type attached at each level from the root down to the account."""
    template = synthesized.templates["Organization"]
    resources = template["Resources"]
    ous = {
        lid: r
        for lid, r in resources.items()
        if r["Type"] == "AWS::Organizations::OrganizationalUnit"
    }
    config = synthesized.config
    if ou_path is None:
        account = next(a for a in config.accounts if a.id == account_id)
        ou_path = account.ou
    chain: list[Any] = []  # how policies name each OU (GetAtt or an existing OU's id), root first
    if ou_path != "Root":
        by_name = {}
        for lid, ou in ous.items():
            parent = ou["Properties"]["ParentId"]
            parent_ref = json.dumps(parent)
            by_name[(parent_ref, ou["Properties"]["Name"])] = {"Fn::GetAtt": [lid, "Id"]}
        existing = config.ou_ids()  # OUs the config gives an id are referenced, not created
        parent_ref = json.dumps(ROOT_ID)
        path = ""
        for name in ou_path.split("/"):
            path = f"{path}/{name}" if path else name
            target = existing.get(path) or by_name[(parent_ref, name)]
            chain.append(target)
            parent_ref = json.dumps(target)

    def attached(target: Any) -> list[dict[str, Any]]:
        found = [FULL_ACCESS]
        for resource in resources.values():
            props = resource.get("Properties", {})
            if (
                resource["Type"] == "AWS::Organizations::Policy"
                and props["Type"] == policy_type
                and target in props["TargetIds"]
            ):
                content = props["Content"]
                found.append(json.loads(content) if isinstance(content, str) else content)
        return found

    levels = [attached(ROOT_ID)]
    levels += [attached(target) for target in chain]
    levels.append(attached(account_id))
    return levels


SCP_CASES: list[tuple[str, str, Request, str]] = [
    # (case, account, request, expected)
    (
        "workload writes its own bucket",
        PROD,
        Request("s3:PutObject", "arn:aws:s3:::orders-documents/a.pdf", ADMIN),
        "Allow",
    ),
    (
        "workload launches an IMDSv2 instance",
        PROD,
        Request(
            "ec2:RunInstances",
            "arn:aws:ec2:eu-west-1:756789012345:instance/*",
            ADMIN,
            context={
                "ec2:MetadataHttpTokens": "required",
                "ec2:MetadataHttpPutResponseHopLimit": "2",
            },
        ),
        "Allow",
    ),
    (
        "workload writes DynamoDB",
        PROD,
        Request("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:756789012345:table/orders", ADMIN),
        "Allow",
    ),
    (
        "IAM from the global endpoint",
        PROD,
        Request(
            "iam:CreateRole",
            "arn:aws:iam::756789012345:role/app",
            ADMIN,
            region="us-east-1",
            context={
                "iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/nwl-workload-boundary"
            },
        ),
        "Allow",
    ),
    (
        "IAM while working in an ungoverned region",
        PROD,
        Request(
            "iam:GetRole", "arn:aws:iam::756789012345:role/app", ADMIN, region="ap-southeast-2"
        ),
        "Allow",
    ),
    ("STS anywhere", PROD, Request("sts:AssumeRole", "*", ADMIN, region="ap-southeast-2"), "Allow"),
    (
        "workload changes its own role",
        PROD,
        Request("iam:PutRolePolicy", f"arn:aws:iam::{PROD}:role/orders-api", ADMIN),
        "Allow",
    ),
    (
        "StackSet role deploys the baseline stack",
        PROD,
        Request(
            "cloudformation:CreateChangeSet",
            f"arn:aws:cloudformation:eu-west-1:{PROD}:stack/StackSet-nwl-member-baseline-1a2b/9f",
            STACKSET,
        ),
        "Allow",
    ),
    (
        "StackSet role sets up Config",
        PROD,
        Request("config:PutConfigurationRecorder", "*", STACKSET),
        "Allow",
    ),
    (
        "StackSet role sets EBS encryption defaults",
        PROD,
        Request("ec2:EnableEbsEncryptionByDefault", "*", STACKSET),
        "Allow",
    ),
    (
        "StackSet role sets account S3 Block Public Access",
        PROD,
        Request("s3:PutAccountPublicAccessBlock", "*", STACKSET),
        "Allow",
    ),
    (
        "CDK deployment role updates a baseline role",
        NETWORK,
        Request("iam:PutRolePolicy", f"arn:aws:iam::{NETWORK}:role/nwl-audit-readonly", CDK_EXEC),
        "Allow",
    ),
    (
        "CDK deploy role creates a change set on a baseline stack",
        NETWORK,
        Request(
            "cloudformation:CreateChangeSet",
            f"arn:aws:cloudformation:eu-west-1:{NETWORK}:stack/nwl-network-hub/1",
            CDK_DEPLOY,
        ),
        "Allow",
    ),
    (
        "a CDK execution role's name in a workload account gets nothing",
        PROD,
        Request(
            "iam:PutRolePolicy", f"arn:aws:iam::{PROD}:role/nwl-audit-readonly", IMPOSTOR_CDK_EXEC
        ),
        "Deny",
    ),
    (
        "the CDK role of Identity Center's delegated administrator manages permission sets",
        SHARED_SERVICES,
        Request(
            "sso:CreatePermissionSet",
            "arn:aws:sso:::instance/ssoins-7223c1d9e4a5b6f0",
            IDENTITY_CDK_EXEC,
        ),
        "Allow",
    ),
    (
        "an impostor CDK role cannot even read",
        PROD,
        Request("s3:GetObject", "arn:aws:s3:::orders-documents/a.pdf", IMPOSTOR_CDK_EXEC),
        "Deny",
    ),
    (
        "the services function's name outside the audit account gets nothing",
        PROD,
        Request(
            "guardduty:UpdateDetector",
            "*",
            f"arn:aws:iam::{PROD}:role/nwl-security-services-eu-west-1",
        ),
        "Deny",
    ),
    (
        "the hub function's name outside the network account gets nothing",
        PROD,
        Request(
            "ec2:CreateRoute",
            f"arn:aws:ec2:eu-west-1:{PROD}:route-table/rtb-1",
            f"arn:aws:iam::{PROD}:role/nwl-hub-eu-west-1-network-hub",
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Deny",
    ),
    (
        "an administrator writes a new version of a baseline function's policy",
        PROD,
        Request(
            "iam:CreatePolicyVersion",
            f"arn:aws:iam::{PROD}:policy/nwl/nwl-account-settings-eu-west-1",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "an administrator makes an old version of a baseline policy the default",
        PROD,
        Request(
            "iam:SetDefaultPolicyVersion",
            f"arn:aws:iam::{PROD}:policy/nwl/nwl-account-settings-eu-west-1",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "the StackSet role updates a baseline function's policy",
        PROD,
        Request(
            "iam:CreatePolicyVersion",
            f"arn:aws:iam::{PROD}:policy/nwl/nwl-account-settings-eu-west-1",
            STACKSET,
        ),
        "Allow",
    ),
    (
        "an administrator versions a workload policy",
        PROD,
        Request("iam:CreatePolicyVersion", f"arn:aws:iam::{PROD}:policy/orders-api", ADMIN),
        "Allow",
    ),
    *(
        (
            f"an administrator calls {action} on a baseline function",
            PROD,
            Request(
                action,
                f"arn:aws:lambda:eu-west-1:{PROD}:function:nwl-account-settings-eu-west-1",
                ADMIN,
            ),
            "Deny",
        )
        for action in (
            "lambda:PutFunctionConcurrency",
            "lambda:PutFunctionEventInvokeConfig",
            "lambda:UpdateFunctionEventInvokeConfig",
            "lambda:CreateFunctionUrlConfig",
            "lambda:InvokeFunction",
            "lambda:UpdateFunctionCode",
            "lambda:AddPermission",
        )
    ),
    (
        "an administrator reads a baseline function",
        PROD,
        Request(
            "lambda:GetFunction",
            f"arn:aws:lambda:eu-west-1:{PROD}:function:nwl-account-settings-eu-west-1",
            ADMIN,
        ),
        "Allow",
    ),
    (
        "an administrator sets the concurrency of a workload function",
        PROD,
        Request(
            "lambda:PutFunctionConcurrency",
            f"arn:aws:lambda:eu-west-1:{PROD}:function:orders-api",
            ADMIN,
        ),
        "Allow",
    ),
    # the audit account: StackSets, findings, their rules and topic
    *(
        (
            f"an audit administrator calls {action}",
            AUDIT_ACCOUNT,
            Request(action, resource, AUDIT_ADMIN),
            "Deny",
        )
        for action, resource in (
            ("cloudformation:CreateStackSet", "*"),
            (
                "cloudformation:UpdateStackSet",
                f"arn:aws:cloudformation:eu-west-1:{AUDIT_ACCOUNT}:stackset/nwl-member-baseline:1",
            ),
            (
                "cloudformation:DeleteStackInstances",
                f"arn:aws:cloudformation:eu-west-1:{AUDIT_ACCOUNT}:stackset/nwl-member-baseline:1",
            ),
            ("securityhub:CreateAutomationRule", "*"),
            ("securityhub:CreateAutomationRuleV2", "*"),
            ("guardduty:UpdateFilter", "*"),
            ("inspector2:CreateFilter", "*"),
            ("macie2:CreateFindingsFilter", "*"),
            ("access-analyzer:CreateArchiveRule", "*"),
            (
                "events:DisableRule",
                f"arn:aws:events:eu-west-1:{AUDIT_ACCOUNT}:rule/nwl-guardduty-findings",
            ),
            (
                "events:RemoveTargets",
                f"arn:aws:events:eu-west-1:{AUDIT_ACCOUNT}:rule/nwl-guardduty-findings",
            ),
            ("sns:DeleteTopic", f"arn:aws:sns:eu-west-1:{AUDIT_ACCOUNT}:nwl-security-findings"),
            (
                "sns:SetTopicAttributes",
                f"arn:aws:sns:eu-west-1:{AUDIT_ACCOUNT}:nwl-security-findings",
            ),
            ("sns:Unsubscribe", "*"),
        )
    ),
    (
        "the landing zone's deployment updates the member-baseline StackSet",
        AUDIT_ACCOUNT,
        Request(
            "cloudformation:UpdateStackSet",
            f"arn:aws:cloudformation:eu-west-1:{AUDIT_ACCOUNT}:stackset/nwl-member-baseline:1",
            AUDIT_CDK_EXEC,
        ),
        "Allow",
    ),
    (
        "the network account's CDK role is no deployer of the audit account",
        AUDIT_ACCOUNT,
        Request(
            "cloudformation:CreateStackSet",
            "*",
            f"arn:aws:iam::{AUDIT_ACCOUNT}:role/cdk-lzbaseline-cfn-exec-role-{NETWORK}-eu-west-1",
        ),
        "Deny",
    ),
    (
        "an audit administrator reads findings",
        AUDIT_ACCOUNT,
        Request("securityhub:GetFindings", "*", AUDIT_ADMIN),
        "Allow",
    ),
    (
        "an administrator of a workload account makes a StackSet of its own",
        PROD,
        Request("cloudformation:CreateStackSet", "*", ADMIN),
        "Allow",
    ),
    # the log-archive account: no erasure, no unlocking
    *(
        (
            f"a log-archive administrator calls {action}",
            LOG_ARCHIVE,
            Request(action, resource, LOG_ADMIN),
            "Deny",
        )
        for action, resource in (
            ("s3:DeleteObjectVersion", f"arn:aws:s3:::nwl-config-{LOG_ARCHIVE}-eu-west-1/a"),
            ("s3:DeleteObjectVersion", f"arn:aws:s3:::nwl-s3-access-{LOG_ARCHIVE}-eu-west-1/a"),
            ("s3:BypassGovernanceRetention", f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/a"),
            ("s3:PutObjectRetention", f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/a"),
            ("s3:PutObjectLegalHold", f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/a"),
            # a delete marker hides the version, and the lifecycle rules then delete it
            ("s3:DeleteObject", f"arn:aws:s3:::nwl-s3-access-{LOG_ARCHIVE}-eu-west-1/a"),
            ("s3:DeleteObject", f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/AWSLogs/a"),
            ("s3:DeleteObject", f"arn:aws:s3:::nwl-config-{LOG_ARCHIVE}-eu-west-1/AWSLogs/a"),
        )
    ),
    (
        "break-glass bypasses a GOVERNANCE lock in the log archive",
        LOG_ARCHIVE,
        Request(
            "s3:BypassGovernanceRetention",
            f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/a",
            f"arn:aws:iam::{LOG_ARCHIVE}:role/nwl-break-glass",
        ),
        "Allow",
    ),
    (
        "a log-archive administrator reads a log",
        LOG_ARCHIVE,
        Request("s3:GetObject", f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/a", LOG_ADMIN),
        "Allow",
    ),
    (
        "an administrator creates a change set on a baseline stack",
        PROD,
        Request(
            "cloudformation:CreateChangeSet",
            f"arn:aws:cloudformation:eu-west-1:{PROD}:stack/nwl-workload-baseline/1",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "an administrator creates a workload role, with the boundary",
        PROD,
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{PROD}:role/orders-api",
            ADMIN,
            context={"iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/{BOUNDARY_NAME}"},
        ),
        "Allow",
    ),
    (
        "an administrator creates a workload role with a look-alike boundary",
        PROD,
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{PROD}:role/orders-api",
            ADMIN,
            context={
                "iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/x:policy/{BOUNDARY_NAME}"
            },
        ),
        "Deny",
    ),
    (
        "the StackSet role creates a baseline role",
        PROD,
        Request("iam:CreateRole", f"arn:aws:iam::{PROD}:role/nwl-audit-readonly", STACKSET),
        "Allow",
    ),
    (
        # cdk bootstrap --custom-permissions-boundary nwl-workload-boundary
        #   --apply-permissions-boundary-to-all-roles (docs/identity.md)
        "a workload team bootstraps the CDK with the default qualifier and the boundary",
        PROD,
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-deploy-role-{PROD}-eu-west-1",
            ADMIN,
            context={"iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/{BOUNDARY_NAME}"},
        ),
        "Allow",
    ),
    (
        "a workload team bootstraps the CDK without the boundary",
        PROD,
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-deploy-role-{PROD}-eu-west-1",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "the member baseline's settings function sets account S3 Block Public Access",
        PROD,
        Request("s3:PutAccountPublicAccessBlock", "*", SETTINGS_FUNCTION),
        "Allow",
    ),
    (
        "the settings function works in a suspended account",
        PROD,
        Request("ec2:EnableEbsEncryptionByDefault", "*", SETTINGS_FUNCTION),
        "Allow",
    ),
    (
        "the audit account's services function updates the GuardDuty detector",
        AUDIT_ACCOUNT,
        Request(
            "guardduty:UpdateDetector",
            "*",
            f"arn:aws:iam::{AUDIT_ACCOUNT}:role/nwl-security-services-eu-west-1",
        ),
        "Allow",
    ),
    (
        "an administrator in the audit account stops GuardDuty",
        AUDIT_ACCOUNT,
        Request(
            "guardduty:UpdateDetector",
            "*",
            f"arn:aws:iam::{AUDIT_ACCOUNT}:role/AWSReservedSSO_Admin_01",
        ),
        "Deny",
    ),
    (
        "a privileged root session from the management account",
        PROD,
        Request(
            "s3:PutBucketPolicy",
            "arn:aws:s3:::locked-out",
            ROOT_USER,
            context={"aws:AssumedRoot": "true"},
        ),
        "Allow",
    ),
    (
        "an administrator deactivates a leaked access key",
        PROD,
        Request("iam:UpdateAccessKey", f"arn:aws:iam::{PROD}:user/legacy", ADMIN),
        "Allow",
    ),
    (
        "network account creates an internet gateway",
        NETWORK,
        Request(
            "ec2:CreateInternetGateway",
            "*",
            f"arn:aws:iam::{NETWORK}:role/AWSReservedSSO_NetworkAdmin_01",
        ),
        "Allow",
    ),
    (
        "sandbox creates an internet gateway",
        SANDBOX,
        Request(
            "ec2:CreateInternetGateway",
            "*",
            f"arn:aws:iam::{SANDBOX}:role/AWSReservedSSO_Sandbox_01",
        ),
        "Allow",
    ),
    (
        "break-glass creates an emergency user",
        PROD,
        Request("iam:CreateUser", "*", BREAK_GLASS),
        "Allow",
    ),
    # denied
    (
        "an administrator creates a role named like the StackSet role",
        PROD,
        Request("iam:CreateRole", f"arn:aws:iam::{PROD}:role/stacksets-exec-mine", ADMIN),
        "Deny",
    ),
    (
        "an administrator creates a role named like the CDK deploy role",
        PROD,
        Request("iam:CreateRole", f"arn:aws:iam::{PROD}:role/cdk-lzbaseline-deploy-role-x", ADMIN),
        "Deny",
    ),
    (
        "an administrator creates a role named like break-glass",
        PROD,
        Request("iam:CreateRole", f"arn:aws:iam::{PROD}:role/nwl-break-glass", ADMIN),
        "Deny",
    ),
    (
        "an administrator rewrites the trust of the StackSet role",
        PROD,
        Request(
            "iam:UpdateAssumeRolePolicy",
            f"arn:aws:iam::{PROD}:role/stacksets-exec-4f1c2d3e4b5a6978",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "a queue is created with the perimeter exception tag",
        PROD,
        Request(
            "sqs:CreateQueue",
            f"arn:aws:sqs:eu-west-1:{PROD}:q",
            ADMIN,
            context={"aws:TagKeys": ["nwl:perimeter-exception"]},
        ),
        "Deny",
    ),
    (
        "an administrator assumes the landing zone's CDK deploy role",
        PROD,
        Request("sts:AssumeRole", CDK_DEPLOY, ADMIN),
        "Deny",
    ),
    (
        "an administrator passes the landing zone's CDK execution role",
        PROD,
        Request("iam:PassRole", CDK_EXEC, ADMIN),
        "Deny",
    ),
    (
        "an administrator replaces the settings function's code",
        PROD,
        Request(
            "lambda:UpdateFunctionCode",
            f"arn:aws:lambda:eu-west-1:{PROD}:function:nwl-account-settings-eu-west-1",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "an administrator in the audit account turns Security Hub off for the organisation",
        AUDIT_ACCOUNT,
        Request(
            "securityhub:UpdateOrganizationConfiguration",
            "*",
            f"arn:aws:iam::{AUDIT_ACCOUNT}:role/AWSReservedSSO_Admin_01",
        ),
        "Deny",
    ),
    (
        "leave the organisation",
        PROD,
        Request("organizations:LeaveOrganization", "*", ADMIN),
        "Deny",
    ),
    (
        "workload admin creates a role without the boundary",
        PROD,
        Request("iam:CreateRole", f"arn:aws:iam::{PROD}:role/orders-api", ADMIN),
        "Deny",
    ),
    (
        "workload admin creates a role with the boundary",
        PROD,
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{PROD}:role/orders-api",
            ADMIN,
            context={"iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/{BOUNDARY_NAME}"},
        ),
        "Allow",
    ),
    (
        "workload admin bounds a role with another policy",
        PROD,
        Request(
            "iam:PutRolePermissionsBoundary",
            f"arn:aws:iam::{PROD}:role/orders-api",
            ADMIN,
            context={"iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/wide-open"},
        ),
        "Deny",
    ),
    (
        "workload admin removes a role's boundary",
        PROD,
        Request("iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{PROD}:role/orders-api", ADMIN),
        "Deny",
    ),
    (
        "workload admin rewrites the boundary",
        PROD,
        Request("iam:CreatePolicyVersion", f"arn:aws:iam::{PROD}:policy/{BOUNDARY_NAME}", ADMIN),
        "Deny",
    ),
    (
        "the member baseline creates its roles without the boundary",
        PROD,
        Request("iam:CreateRole", f"arn:aws:iam::{PROD}:role/nwl-audit", STACKSET),
        "Allow",
    ),
    (
        "a sandbox creates a role without the boundary (the guardrail is for workload OUs)",
        SANDBOX,
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{SANDBOX}:role/experiment",
            f"arn:aws:iam::{SANDBOX}:role/AWSReservedSSO_Administrator_01",
        ),
        "Allow",
    ),
    (
        "share resources outside the organisation",
        PROD,
        Request(
            "ram:CreateResourceShare",
            "*",
            ADMIN,
            context={"ram:RequestedAllowsExternalPrincipals": "true"},
        ),
        "Deny",
    ),
    (
        "open an existing share to outside principals",
        PROD,
        Request(
            "ram:UpdateResourceShare",
            "*",
            ADMIN,
            context={"ram:RequestedAllowsExternalPrincipals": "true"},
        ),
        "Deny",
    ),
    (
        "share resources inside the organisation",
        PROD,
        Request(
            "ram:CreateResourceShare",
            "*",
            ADMIN,
            context={"ram:RequestedAllowsExternalPrincipals": "false"},
        ),
        "Allow",
    ),
    ("root user does anything", PROD, Request("s3:ListAllMyBuckets", "*", ROOT_USER), "Deny"),
    ("stop CloudTrail", PROD, Request("cloudtrail:StopLogging", "*", ADMIN), "Deny"),
    (
        "stop the Config recorder",
        PROD,
        Request("config:StopConfigurationRecorder", "*", ADMIN),
        "Deny",
    ),
    (
        "delete the GuardDuty detector",
        PROD,
        Request("guardduty:DeleteDetector", "*", ADMIN),
        "Deny",
    ),
    ("disable Security Hub", PROD, Request("securityhub:DisableSecurityHub", "*", ADMIN), "Deny"),
    (
        "delete the Access Analyzer",
        PROD,
        Request("access-analyzer:DeleteAnalyzer", "*", ADMIN),
        "Deny",
    ),
    ("disable Macie", PROD, Request("macie2:DisableMacie", "*", ADMIN), "Deny"),
    ("disable Inspector", PROD, Request("inspector2:Disable", "*", ADMIN), "Deny"),
    ("leave Detective", PROD, Request("detective:DisassociateMembership", "*", ADMIN), "Deny"),
    ("delete flow logs", PROD, Request("ec2:DeleteFlowLogs", "*", ADMIN), "Deny"),
    (
        "delete a baseline alarm",
        PROD,
        Request(
            "cloudwatch:DeleteAlarms",
            f"arn:aws:cloudwatch:eu-west-1:{PROD}:alarm:nwl-root-usage",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "change a baseline role",
        PROD,
        Request(
            "iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{PROD}:role/nwl-audit-readonly", ADMIN
        ),
        "Deny",
    ),
    (
        "open the log bucket policy",
        PROD,
        Request("s3:PutBucketPolicy", "arn:aws:s3:::nwl-logs-312345678901-eu-west-1", ADMIN),
        "Deny",
    ),
    (
        "lift the lock of the backup vault, to delete the backups before the data",
        PROD,
        Request(
            "backup:DeleteBackupVaultLockConfiguration",
            f"arn:aws:backup:eu-west-1:{PROD}:backup-vault:nwl-backup-vault",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "let another account read the backup vault",
        PROD,
        Request(
            "backup:PutBackupVaultAccessPolicy",
            f"arn:aws:backup:eu-west-1:{PROD}:backup-vault:nwl-backup-vault",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "the member baseline's StackSet locks the vault",
        PROD,
        Request(
            "backup:PutBackupVaultLockConfiguration",
            f"arn:aws:backup:eu-west-1:{PROD}:backup-vault:nwl-backup-vault",
            STACKSET,
        ),
        "Allow",
    ),
    (
        "a workload's own vault stays the workload's",
        PROD,
        Request(
            "backup:DeleteBackupVaultLockConfiguration",
            f"arn:aws:backup:eu-west-1:{PROD}:backup-vault:orders-backups",
            ADMIN,
        ),
        "Allow",
    ),
    (
        "schedule deletion of a baseline key",
        PROD,
        Request(
            "kms:ScheduleKeyDeletion",
            f"arn:aws:kms:eu-west-1:{PROD}:key/1234",
            ADMIN,
            context={"kms:ResourceAliases": ["alias/nwl/log-archive"]},
        ),
        "Deny",
    ),
    (
        "disable the key of a baseline function (the containment function's)",
        AUDIT_ACCOUNT,
        Request(
            "kms:DisableKey",
            f"arn:aws:kms:eu-west-1:{AUDIT_ACCOUNT}:key/9abc",
            AUDIT_ADMIN,
            context={"kms:ResourceAliases": ["alias/nwl-containment-eu-west-1"]},
        ),
        "Deny",
    ),
    (
        "schedule deletion of a workload key",
        PROD,
        Request(
            "kms:ScheduleKeyDeletion",
            f"arn:aws:kms:eu-west-1:{PROD}:key/5678",
            ADMIN,
            context={"kms:ResourceAliases": ["alias/orders/data"]},
        ),
        "Allow",
    ),
    (
        "delete the baseline StackSet stack",
        PROD,
        Request(
            "cloudformation:DeleteStack",
            f"arn:aws:cloudformation:eu-west-1:{PROD}:stack/StackSet-nwl-member-baseline-1a2b/9f",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "tag a resource out of the perimeter",
        PROD,
        Request(
            "s3:PutBucketTagging",
            "arn:aws:s3:::orders-documents",
            ADMIN,
            context={"aws:TagKeys": ["nwl:perimeter-exception"]},
        ),
        "Deny",
    ),
    ("create an IAM user", PROD, Request("iam:CreateUser", "*", ADMIN), "Deny"),
    ("create an access key", PROD, Request("iam:CreateAccessKey", "*", ADMIN), "Deny"),
    ("create a console password", PROD, Request("iam:CreateLoginProfile", "*", ADMIN), "Deny"),
    (
        "launch in an ungoverned region",
        PROD,
        Request(
            "ec2:RunInstances",
            "arn:aws:ec2:ap-southeast-2:756789012345:instance/*",
            ADMIN,
            region="ap-southeast-2",
            context={"ec2:MetadataHttpTokens": "required"},
        ),
        "Deny",
    ),
    (
        "launch with IMDSv1",
        PROD,
        Request(
            "ec2:RunInstances",
            "arn:aws:ec2:eu-west-1:756789012345:instance/*",
            ADMIN,
            context={"ec2:MetadataHttpTokens": "optional"},
        ),
        "Deny",
    ),
    (
        "launch without saying the IMDS version",
        PROD,
        Request("ec2:RunInstances", "arn:aws:ec2:eu-west-1:756789012345:instance/*", ADMIN),
        "Deny",
    ),
    (
        "launch with a hop limit of 3",
        PROD,
        Request(
            "ec2:RunInstances",
            "arn:aws:ec2:eu-west-1:756789012345:instance/*",
            ADMIN,
            context={
                "ec2:MetadataHttpTokens": "required",
                "ec2:MetadataHttpPutResponseHopLimit": "3",
            },
        ),
        "Deny",
    ),
    (
        "move an instance back to IMDSv1",
        PROD,
        Request(
            "ec2:ModifyInstanceMetadataOptions",
            LEGACY_INSTANCE,
            ADMIN,
            context={"ec2:MetadataHttpTokens": "optional"},
        ),
        "Deny",
    ),
    (
        "change an instance's metadata options without saying IMDSv2",
        PROD,
        Request(
            "ec2:ModifyInstanceMetadataOptions",
            LEGACY_INSTANCE,
            ADMIN,
            context={"ec2:MetadataHttpPutResponseHopLimit": "1"},
        ),
        "Deny",
    ),
    (
        "raise an instance's hop limit above 2",
        PROD,
        Request(
            "ec2:ModifyInstanceMetadataOptions",
            LEGACY_INSTANCE,
            ADMIN,
            context={
                "ec2:MetadataHttpTokens": "required",
                "ec2:MetadataHttpPutResponseHopLimit": "3",
            },
        ),
        "Deny",
    ),
    (
        "move an older instance to IMDSv2 (what Security Hub's EC2.8 asks)",
        PROD,
        Request(
            "ec2:ModifyInstanceMetadataOptions",
            LEGACY_INSTANCE,
            ADMIN,
            context={"ec2:MetadataHttpTokens": "required"},
        ),
        "Allow",
    ),
    (
        "change the account's instance metadata defaults",
        PROD,
        Request("ec2:ModifyInstanceMetadataDefaults", "*", ADMIN),
        "Deny",
    ),
    (
        "the baseline sets the account's instance metadata defaults",
        PROD,
        Request("ec2:ModifyInstanceMetadataDefaults", "*", SETTINGS_FUNCTION),
        "Allow",
    ),
    (
        "disable EBS encryption by default",
        PROD,
        Request("ec2:DisableEbsEncryptionByDefault", "*", ADMIN),
        "Deny",
    ),
    (
        "change account S3 Block Public Access",
        PROD,
        Request("s3:PutAccountPublicAccessBlock", "*", ADMIN),
        "Deny",
    ),
    ("create a default VPC", PROD, Request("ec2:CreateDefaultVpc", "*", ADMIN), "Deny"),
    (
        "workload creates an internet gateway",
        PROD,
        Request("ec2:CreateInternetGateway", "*", ADMIN),
        "Deny",
    ),
    ("workload peers a VPC", PROD, Request("ec2:CreateVpcPeeringConnection", "*", ADMIN), "Deny"),
    (
        "sandbox peers a VPC",
        SANDBOX,
        Request(
            "ec2:CreateVpcPeeringConnection",
            "*",
            f"arn:aws:iam::{SANDBOX}:role/AWSReservedSSO_Sandbox_01",
        ),
        "Deny",
    ),
    (
        "sandbox buys reserved instances",
        SANDBOX,
        Request(
            "ec2:PurchaseReservedInstancesOffering",
            "*",
            f"arn:aws:iam::{SANDBOX}:role/AWSReservedSSO_Sandbox_01",
        ),
        "Deny",
    ),
    (
        "network admin lets everything through the hub firewall",
        NETWORK,
        Request(
            "network-firewall:UpdateFirewallPolicy",
            f"arn:aws:network-firewall:eu-west-1:{NETWORK}:firewall-policy/nwl-hub-eu-west-1-egress",
            NETWORK_ADMIN,
        ),
        "Deny",
    ),
    (
        "the landing zone's deployment updates the hub firewall policy",
        NETWORK,
        Request(
            "network-firewall:UpdateFirewallPolicy",
            f"arn:aws:network-firewall:eu-west-1:{NETWORK}:firewall-policy/nwl-hub-eu-west-1-egress",
            f"arn:aws:iam::{NETWORK}:role/cdk-lzbaseline-cfn-exec-role-{NETWORK}-eu-west-1",
        ),
        "Allow",
    ),
    (
        "network admin routes a spoke around the firewall",
        NETWORK,
        Request(
            "ec2:ReplaceRoute",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:route-table/rtb-0transit",
            NETWORK_ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Deny",
    ),
    (
        "network admin opens spoke-to-spoke routing on the hub",
        NETWORK,
        Request(
            "ec2:DeleteTransitGatewayRoute",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:transit-gateway-route-table/tgw-rtb-0spokes",
            NETWORK_ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Deny",
    ),
    (
        "the hub's function sets the gateway's default tables",
        NETWORK,
        Request(
            "ec2:ModifyTransitGateway",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:transit-gateway/tgw-0hub",
            f"arn:aws:iam::{NETWORK}:role/nwl-hub-eu-west-1-network-hub",
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Allow",
    ),
    (
        "network admin borrows the hub function's role",
        NETWORK,
        Request(
            "iam:PassRole",
            f"arn:aws:iam::{NETWORK}:role/nwl-hub-eu-west-1-network-hub",
            NETWORK_ADMIN,
        ),
        "Deny",
    ),
    (
        "network admin strips the landing zone's tag to change the hub",
        NETWORK,
        Request(
            "ec2:DeleteTags",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:route-table/rtb-0transit",
            NETWORK_ADMIN,
            context={"aws:TagKeys": ["lz:managed-by"]},
        ),
        "Deny",
    ),
    (
        "network admin disassociates the hub's DNS Firewall",
        NETWORK,
        Request(
            "route53resolver:DisassociateFirewallRuleGroup",
            f"arn:aws:route53resolver:eu-west-1:{NETWORK}:firewall-rule-group-association/rslvr-frgassoc-1",
            NETWORK_ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Deny",
    ),
    (
        "network admin routes in a VPC of their own",
        NETWORK,
        Request(
            "ec2:CreateRoute",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:route-table/rtb-0lab",
            NETWORK_ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "network-team"},
        ),
        "Allow",
    ),
    (
        "workload attaches its VPC to the shared hub",
        PROD,
        Request(
            "ec2:CreateTransitGatewayVpcAttachment",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:transit-gateway/tgw-0hub",
            ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Allow",
    ),
    (
        "network admin moves a hub subnet onto a route table of their own",
        NETWORK,
        Request(
            "ec2:ReplaceRouteTableAssociation",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:subnet/subnet-0transit",
            NETWORK_ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Deny",
    ),
    (
        "network admin injects a prefix-list route into the spokes table",
        NETWORK,
        Request(
            "ec2:CreateTransitGatewayPrefixListReference",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:transit-gateway-route-table/tgw-rtb-0spokes",
            NETWORK_ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Deny",
    ),
    (
        "network admin runs a proxy in a hub subnet",
        NETWORK,
        Request(
            "ec2:RunInstances",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:subnet/subnet-0firewall",
            NETWORK_ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Deny",
    ),
    (
        "forensics responder starts an analysis instance in the kit's forensics VPC",
        FORENSICS,
        Request(
            "ec2:RunInstances",
            f"arn:aws:ec2:eu-west-1:{FORENSICS}:subnet/subnet-0analysis",
            FORENSICS_ADMIN,
            context={
                "aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone",
                "aws:ResourceAccount": FORENSICS,
            },
        ),
        "Allow",
    ),
    (
        "network admin runs a proxy in a hub subnet, the account named",
        NETWORK,
        Request(
            "ec2:RunInstances",
            f"arn:aws:ec2:eu-west-1:{NETWORK}:subnet/subnet-0firewall",
            NETWORK_ADMIN,
            context={
                "aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone",
                "aws:ResourceAccount": NETWORK,
            },
        ),
        "Deny",
    ),
    (
        "network admin points spokes at another transit gateway",
        NETWORK,
        Request(
            "ssm:PutParameter",
            f"arn:aws:ssm:eu-west-1:{NETWORK}:parameter/nwl/network/transit-gateway-id",
            NETWORK_ADMIN,
        ),
        "Deny",
    ),
    (
        "workload stops logging its own VPC's DNS queries when it deletes the VPC",
        PROD,
        Request(
            "route53resolver:DisassociateResolverQueryLogConfig",
            f"arn:aws:route53resolver:eu-west-1:{NETWORK}:resolver-query-log-config/rqlc-1",
            ADMIN,
            context={"aws:ResourceTag/lz:managed-by": "aws-secure-landing-zone"},
        ),
        "Allow",
    ),
    (
        "workload removes its own VPC's DNS Firewall association",
        PROD,
        Request(
            "route53resolver:DisassociateFirewallRuleGroup",
            f"arn:aws:route53resolver:eu-west-1:{PROD}:firewall-rule-group-association/rslvr-frgassoc-2",
            ADMIN,
        ),
        "Allow",
    ),
    # SCP-EVIDENCE-PROTECT: evidence snapshots stay, tagged, and go only to forensics
    (
        "an administrator cannot delete an evidence snapshot",
        PROD,
        Request("ec2:DeleteSnapshot", EVIDENCE_SNAPSHOT, ADMIN, context=EVIDENCE),
        "Deny",
    ),
    (
        "break-glass can delete an evidence snapshot",
        PROD,
        Request("ec2:DeleteSnapshot", EVIDENCE_SNAPSHOT, BREAK_GLASS, context=EVIDENCE),
        "Allow",
    ),
    (
        "an ordinary snapshot can be deleted",
        PROD,
        Request("ec2:DeleteSnapshot", EVIDENCE_SNAPSHOT, ADMIN),
        "Allow",
    ),
    (
        "the evidence tag cannot be removed",
        SANDBOX,
        Request("ec2:DeleteTags", EVIDENCE_SNAPSHOT, ADMIN, context=EVIDENCE),
        "Deny",
    ),
    (
        "evidence is shared with the forensics account",
        PROD,
        Request(
            "ec2:ModifySnapshotAttribute",
            EVIDENCE_SNAPSHOT,
            ADMIN,
            context={**EVIDENCE, "ec2:Add/userId": [FORENSICS]},
        ),
        "Allow",
    ),
    (
        "evidence is not shared with another account",
        PROD,
        Request(
            "ec2:ModifySnapshotAttribute",
            EVIDENCE_SNAPSHOT,
            ADMIN,
            context={**EVIDENCE, "ec2:Add/userId": [FORENSICS, "111122223333"]},
        ),
        "Deny",
    ),
    (
        "evidence is never made public",
        PROD,
        Request(
            "ec2:ModifySnapshotAttribute",
            EVIDENCE_SNAPSHOT,
            ADMIN,
            context={**EVIDENCE, "ec2:Add/group": ["all"]},
        ),
        "Deny",
    ),
    # ... and a contained instance is neither stopped, terminated nor untagged
    *(
        (
            f"an administrator cannot {verb} a contained instance",
            ou_account,
            Request(action, CONTAINED_INSTANCE, ADMIN, context=CONTAINED),
            "Deny",
        )
        for verb, action in (
            ("stop", "ec2:StopInstances"),
            ("terminate", "ec2:TerminateInstances"),
            ("untag", "ec2:DeleteTags"),
        )
        for ou_account in (PROD, SANDBOX)
    ),
    (
        "nor give it another case",
        PROD,
        Request(
            "ec2:CreateTags",
            CONTAINED_INSTANCE,
            ADMIN,
            context={**CONTAINED, "aws:TagKeys": ["lz:incident-case"]},
        ),
        "Deny",
    ),
    (
        "it may still be tagged otherwise",
        PROD,
        Request(
            "ec2:CreateTags",
            CONTAINED_INSTANCE,
            ADMIN,
            context={**CONTAINED, "aws:TagKeys": ["note"]},
        ),
        "Allow",
    ),
    (
        "break-glass can terminate a contained instance",
        PROD,
        Request("ec2:TerminateInstances", CONTAINED_INSTANCE, BREAK_GLASS, context=CONTAINED),
        "Allow",
    ),
    # only the responder sets the incident tags ...
    *(
        (
            f"an administrator cannot set {key}",
            PROD,
            Request(
                "ec2:CreateTags",
                f"arn:aws:ec2:eu-west-1:{PROD}:{kind}",
                ADMIN,
                context={"aws:TagKeys": [key]},
            ),
            "Deny",
        )
        for key, kind in (
            ("lz:incident-case", "instance/i-0fedcba987654321f"),
            ("lz:quarantine", "security-group/sg-0123456789abcdef0"),
            ("lz:evidence", "snapshot/snap-0123456789abcdef0"),
        )
    ),
    (
        "the responder sets the case tag",
        SANDBOX,
        Request(
            "ec2:CreateTags",
            f"arn:aws:ec2:eu-west-1:{SANDBOX}:instance/i-0fedcba987654321f",
            RESPONDER,
            context={"aws:TagKeys": ["lz:incident-case"]},
        ),
        "Allow",
    ),
    # ... and a contained instance stays isolated: only the responder moves it
    *(
        (
            f"an administrator cannot {verb} a contained instance",
            PROD,
            Request(action, CONTAINED_INSTANCE, ADMIN, context=CONTAINED),
            "Deny",
        )
        for verb, action in (
            ("regroup the interfaces of", "ec2:ModifyNetworkInterfaceAttribute"),
            ("change the attributes of", "ec2:ModifyInstanceAttribute"),
            ("give another profile to", "ec2:ReplaceIamInstanceProfileAssociation"),
            ("take the profile of", "ec2:DisassociateIamInstanceProfile"),
            ("attach another interface to", "ec2:AttachNetworkInterface"),
        )
    ),
    # ... nor its quarantine group opened, which would let it out without touching it
    *(
        (
            f"an administrator cannot {verb} a quarantine group",
            PROD,
            Request(action, QUARANTINE_GROUP, ADMIN, context=QUARANTINED),
            "Deny",
        )
        for verb, action in (
            ("add an inbound rule to", "ec2:AuthorizeSecurityGroupIngress"),
            ("add an outbound rule to", "ec2:AuthorizeSecurityGroupEgress"),
            ("change a rule of", "ec2:ModifySecurityGroupRules"),
            ("untag", "ec2:DeleteTags"),
        )
    ),
    (
        "the responder opens its quarantine group before closing it",
        PROD,
        Request(
            "ec2:AuthorizeSecurityGroupIngress", QUARANTINE_GROUP, RESPONDER, context=QUARANTINED
        ),
        "Allow",
    ),
    (
        "an administrator adds a rule to an ordinary security group",
        PROD,
        Request(
            "ec2:AuthorizeSecurityGroupIngress",
            f"arn:aws:ec2:eu-west-1:{PROD}:security-group/sg-0ddddddddddddddd1",
            ADMIN,
        ),
        "Allow",
    ),
    (
        "the responder denies the credentials a contained instance's role issued to it",
        PROD,
        Request("iam:PutRolePolicy", f"arn:aws:iam::{PROD}:role/orders-app", RESPONDER),
        "Allow",
    ),
    # the responder tags the interfaces too: their groups and their tag stay
    *(
        (
            f"workload admin {what} of a contained instance",
            PROD,
            Request(action, CONTAINED_INTERFACE, ADMIN, context=CONTAINED),
            "Deny",
        )
        for what, action in (
            ("regroups an interface", "ec2:ModifyNetworkInterfaceAttribute"),
            ("untags an interface", "ec2:DeleteTags"),
        )
    ),
    (
        "workload admin regroups an interface of no case",
        PROD,
        Request("ec2:ModifyNetworkInterfaceAttribute", CONTAINED_INTERFACE, ADMIN),
        "Allow",
    ),
    (
        "the responder isolates an interface of a contained instance",
        PROD,
        Request(
            "ec2:ModifyNetworkInterfaceAttribute",
            CONTAINED_INTERFACE,
            RESPONDER,
            context=CONTAINED,
        ),
        "Allow",
    ),
    (
        "the responder isolates a contained instance",
        PROD,
        Request(
            "ec2:ModifyNetworkInterfaceAttribute", CONTAINED_INSTANCE, RESPONDER, context=CONTAINED
        ),
        "Allow",
    ),
    (
        "nobody but the baseline changes the quarantine profile",
        PROD,
        Request(
            "iam:AddRoleToInstanceProfile",
            f"arn:aws:iam::{PROD}:instance-profile/nwl-quarantine",
            ADMIN,
        ),
        "Deny",
    ),
    (
        "the StackSet makes the quarantine profile",
        PROD,
        Request(
            "iam:AddRoleToInstanceProfile",
            f"arn:aws:iam::{PROD}:instance-profile/nwl-quarantine",
            STACKSET,
        ),
        "Allow",
    ),
    (
        "an instance of no case can be stopped",
        PROD,
        Request("ec2:StopInstances", CONTAINED_INSTANCE, ADMIN),
        "Allow",
    ),
    # SCP-FORENSICS-ACCOUNT: evidence objects stay, and the analysis network stays closed
    (
        "nobody in the forensics account deletes evidence",
        FORENSICS,
        Request(
            "s3:DeleteObject",
            f"arn:aws:s3:::nwl-evidence-{FORENSICS}-eu-west-1/case-1/finding.json",
            FORENSICS_ADMIN,
        ),
        "Deny",
    ),
    (
        "the forensics account reads evidence",
        FORENSICS,
        Request(
            "s3:GetObject",
            f"arn:aws:s3:::nwl-evidence-{FORENSICS}-eu-west-1/case-1/finding.json",
            FORENSICS_ADMIN,
        ),
        "Allow",
    ),
    (
        "no internet gateway in the forensics account",
        FORENSICS,
        Request(
            "ec2:CreateInternetGateway",
            f"arn:aws:ec2:eu-west-1:{FORENSICS}:internet-gateway/*",
            FORENSICS_ADMIN,
        ),
        "Deny",
    ),
    (
        "a workload account may still make an internet gateway",
        SANDBOX,
        Request(
            "ec2:CreateInternetGateway",
            f"arn:aws:ec2:eu-west-1:{SANDBOX}:internet-gateway/*",
            ADMIN.replace(PROD, SANDBOX),
        ),
        "Allow",
    ),
    # the shared-services account: the package domain's policies and origin controls
    *(
        (
            f"a shared-services administrator calls {action}",
            SHARED_SERVICES,
            Request(action, resource, SHARED_ADMIN),
            "Deny",
        )
        for action, resource in (
            ("codeartifact:PutDomainPermissionsPolicy", PACKAGE_DOMAIN),
            ("codeartifact:DeleteDomainPermissionsPolicy", PACKAGE_DOMAIN),
            ("codeartifact:DeleteDomain", PACKAGE_DOMAIN),
            ("codeartifact:PutRepositoryPermissionsPolicy", f"{PACKAGE_REPOSITORY}/internal"),
            ("codeartifact:UpdateRepository", f"{PACKAGE_REPOSITORY}/internal"),
            ("codeartifact:DisassociateExternalConnection", f"{PACKAGE_REPOSITORY}/pypi-store"),
            (
                "codeartifact:UpdatePackageGroupOriginConfiguration",
                f"arn:aws:codeartifact:eu-west-1:{SHARED_SERVICES}:package-group/nwl/pypi//northwind-~",
            ),
            (
                "codeartifact:PutPackageOriginConfiguration",
                f"arn:aws:codeartifact:eu-west-1:{SHARED_SERVICES}:package/nwl/internal/pypi//northwind-billing",
            ),
        )
    ),
    (
        "the shared-services account's CDK role updates the package domain's policy",
        SHARED_SERVICES,
        Request("codeartifact:PutDomainPermissionsPolicy", PACKAGE_DOMAIN, IDENTITY_CDK_EXEC),
        "Allow",
    ),
    (
        "a shared-services administrator changes a domain of its own",
        SHARED_SERVICES,
        Request(
            "codeartifact:PutDomainPermissionsPolicy",
            f"arn:aws:codeartifact:eu-west-1:{SHARED_SERVICES}:domain/team-tools",
            SHARED_ADMIN,
        ),
        "Allow",
    ),
    (
        "a shared-services administrator reads the package domain",
        SHARED_SERVICES,
        Request("codeartifact:GetDomainPermissionsPolicy", PACKAGE_DOMAIN, SHARED_ADMIN),
        "Allow",
    ),
]


@pytest.mark.parametrize(
    ("case", "account", "request_", "expected"), SCP_CASES, ids=[c[0] for c in SCP_CASES]
)
def test_scp_behaviour(
    case: str, account: str, request_: Request, expected: str, synthesized: Synthesized
) -> None:
    levels = _levels(synthesized, account, "SERVICE_CONTROL_POLICY")
    assert decide(levels, request_) == expected, case


def test_suspended_ou_denies_everything(synthesized: Synthesized) -> None:
    levels = _levels(synthesized, "999999999999", "SERVICE_CONTROL_POLICY", ou_path="Suspended")
    assert (
        decide(
            levels,
            Request("s3:GetObject", "arn:aws:s3:::any/x", "arn:aws:iam::999999999999:role/x"),
        )
        == "Deny"
    )
    assert (
        decide(
            levels,
            Request(
                "s3:GetObject",
                "arn:aws:s3:::any/x",
                "arn:aws:iam::999999999999:role/stacksets-exec-1",
            ),
        )
        == "Allow"
    )


OUTSIDER = "arn:aws:iam::444455556666:role/partner"


def _load_balancer_logs(account: str, region: str) -> Request:
    """An access-log object written by Elastic Load Balancing's log account of a region
    (the older regions' way: an AWS account, neither a service nor of the organisation)."""
    return Request(
        "s3:PutObject",
        f"arn:aws:s3:::orders-alb-logs/AWSLogs/{PROD}/elasticloadbalancing/{region}/x.log.gz",
        f"arn:aws:iam::{account}:root",
        region=region,
        context={
            "aws:PrincipalAccount": account,
            "aws:PrincipalIsAWSService": "false",
            "aws:SecureTransport": "true",
        },
    )


RCP_CASES: list[tuple[str, Request, str]] = [
    # the example governs eu-west-1, eu-central-1 and us-east-1
    (
        "load balancer logs of a governed region",
        _load_balancer_logs("156460612806", "eu-west-1"),
        "Allow",
    ),
    (
        "load balancer logs of a region not governed",
        _load_balancer_logs("582318560864", "ap-northeast-1"),
        "Deny",
    ),
    *(
        (
            f"outside principal reaches {what}",
            Request(
                action,
                resource,
                OUTSIDER,
                context={
                    "aws:PrincipalOrgID": "o-otherorg123",
                    "aws:PrincipalIsAWSService": "false",
                    "aws:SecureTransport": "true",
                },
            ),
            "Deny",
        )
        for what, action, resource in (
            ("a table", "dynamodb:GetItem", f"arn:aws:dynamodb:eu-west-1:{PROD}:table/orders"),
            (
                "a container image",
                "ecr:BatchGetImage",
                f"arn:aws:ecr:eu-west-1:{PROD}:repository/orders",
            ),
            (
                "a log group",
                "logs:GetLogEvents",
                f"arn:aws:logs:eu-west-1:{PROD}:log-group:/orders:log-stream:a",
            ),
        )
    ),
    (
        "organisation principal reads a table",
        Request(
            "dynamodb:GetItem",
            f"arn:aws:dynamodb:eu-west-1:{PROD}:table/orders",
            ADMIN,
            context={
                "aws:PrincipalOrgID": ORG,
                "aws:PrincipalIsAWSService": "false",
                "aws:SecureTransport": "true",
            },
        ),
        "Allow",
    ),
    (
        "organisation principal reads a bucket",
        Request(
            "s3:GetObject",
            "arn:aws:s3:::orders-documents/a",
            ADMIN,
            context={
                "aws:PrincipalOrgID": ORG,
                "aws:PrincipalIsAWSService": "false",
                "aws:SecureTransport": "true",
            },
        ),
        "Allow",
    ),
    (
        "outside principal reads a bucket",
        Request(
            "s3:GetObject",
            "arn:aws:s3:::orders-documents/a",
            OUTSIDER,
            context={
                "aws:PrincipalOrgID": "o-otherorg123",
                "aws:PrincipalIsAWSService": "false",
                "aws:SecureTransport": "true",
            },
        ),
        "Deny",
    ),
    (
        "principal without an organisation assumes a role",
        Request(
            "sts:AssumeRole",
            f"arn:aws:iam::{PROD}:role/app",
            OUTSIDER,
            context={"aws:PrincipalIsAWSService": "false", "aws:SecureTransport": "true"},
        ),
        "Deny",
    ),
    (
        "outside principal on an excepted resource",
        Request(
            "sts:AssumeRole",
            f"arn:aws:iam::{PROD}:role/vendor",
            OUTSIDER,
            context={
                "aws:PrincipalIsAWSService": "false",
                "aws:SecureTransport": "true",
                "aws:ResourceTag/nwl:perimeter-exception": "true",
            },
        ),
        "Allow",
    ),
    (
        "CloudTrail writes for the organisation",
        Request(
            "s3:PutObject",
            "arn:aws:s3:::nwl-logs/AWSLogs/x",
            "cloudtrail.amazonaws.com",
            context={
                "aws:PrincipalIsAWSService": "true",
                "aws:SourceOrgID": ORG,
                "aws:SourceAccount": "210987654321",
                "aws:SecureTransport": "true",
            },
        ),
        "Allow",
    ),
    (
        "a service acts for another organisation",
        Request(
            "s3:PutObject",
            "arn:aws:s3:::nwl-logs/AWSLogs/x",
            "cloudtrail.amazonaws.com",
            context={
                "aws:PrincipalIsAWSService": "true",
                "aws:SourceOrgID": "o-otherorg123",
                "aws:SourceAccount": "444455556666",
                "aws:SecureTransport": "true",
            },
        ),
        "Deny",
    ),
    (
        "a service request with no source",
        Request(
            "kms:Decrypt",
            "*",
            "s3.amazonaws.com",
            context={"aws:PrincipalIsAWSService": "true", "aws:SecureTransport": "true"},
        ),
        "Allow",
    ),
    (
        "plain HTTP",
        Request(
            "s3:GetObject",
            "arn:aws:s3:::orders-documents/a",
            ADMIN,
            context={
                "aws:PrincipalOrgID": ORG,
                "aws:PrincipalIsAWSService": "false",
                "aws:SecureTransport": "false",
            },
        ),
        "Deny",
    ),
    (
        "a service outside the perimeter is untouched",
        Request(
            "sns:Publish",
            "*",
            OUTSIDER,
            context={"aws:PrincipalOrgID": "o-otherorg123", "aws:PrincipalIsAWSService": "false"},
        ),
        "Allow",
    ),
]


@pytest.mark.parametrize(("case", "request_", "expected"), RCP_CASES, ids=[c[0] for c in RCP_CASES])
def test_rcp_behaviour(
    case: str, request_: Request, expected: str, synthesized: Synthesized
) -> None:
    levels = _levels(synthesized, PROD, "RESOURCE_CONTROL_POLICY")
    assert decide(levels, request_) == expected, case


def test_the_load_balancer_log_accounts_are_the_cdks() -> None:
    """The perimeter spares the account Elastic Load Balancing logs through in each region
    that has one, as the CDK's region facts name it, and no other."""
    from aws_cdk import region_info

    from baseline.config import AWS_REGIONS
    from baseline.guardrails.rcps import ELB_LOG_DELIVERY_ACCOUNTS

    assert {
        region: account
        for region in sorted(AWS_REGIONS)
        if (account := region_info.RegionInfo.get(region).elbv2_account)
    } == ELB_LOG_DELIVERY_ACCOUNTS


def test_every_key_the_landing_zone_makes_is_one_its_guardrail_keeps(
    synthesized: Synthesized,
) -> None:
    """SCP-BASELINE-PROTECT knows the kit's keys by their aliases: a key aliased outside
    its patterns (the forensics VPC's flow-log key was alias/vpc/...) could be scheduled
    for deletion by any administrator of its account."""
    from fnmatch import fnmatchcase

    from baseline.assembly import templates_with_stack_sets

    statements = [
        statement
        for level in _levels(synthesized, FORENSICS, "SERVICE_CONTROL_POLICY")
        for policy in level
        for statement in policy["Statement"]
        if statement.get("Sid") == "ProtectBaselineKeys"
    ]
    (patterns,) = [
        s["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"] for s in statements
    ]
    aliases = {
        resource["Properties"]["AliasName"]
        for _, template in templates_with_stack_sets(synthesized.outdir)
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == "AWS::KMS::Alias"
    }
    assert "alias/nwl/forensics-flow-logs" in aliases
    unkept = sorted(a for a in aliases if not any(fnmatchcase(a, p) for p in patterns))
    assert unkept == []


def test_without_a_forensics_account_only_evidence_stays_unshared(
    example_data: dict[str, Any],
) -> None:
    import copy

    from baseline.config import parse_config
    from baseline.guardrails import context_for
    from baseline.guardrails.scps import evidence_guardrail

    data = copy.deepcopy(example_data)
    data["accounts"] = [a for a in data["accounts"] if a.get("role") != "forensics"]
    guardrail = evidence_guardrail(context_for(parse_config(data)))
    levels = [[FULL_ACCESS, {"Version": "2012-10-17", "Statement": list(guardrail.statements)}]]
    share = {"ec2:Add/userId": ["111122223333"]}
    ordinary = Request("ec2:ModifySnapshotAttribute", EVIDENCE_SNAPSHOT, ADMIN, context=share)
    evidence = Request(
        "ec2:ModifySnapshotAttribute", EVIDENCE_SNAPSHOT, ADMIN, context={**share, **EVIDENCE}
    )
    assert decide(levels, ordinary) == "Allow"  # a DR copy or an AMI pipeline still works
    assert decide(levels, evidence) == "Deny"


def test_the_vendor_can_assume_the_third_party_role_it_was_given(
    synthesized: Synthesized,
) -> None:
    """The identity perimeter lets the vendor in only because the synthesized role carries
    the exception tag; the same request on the role without its tags is denied."""
    (role,) = [
        r["Properties"]
        for r in synthesized.templates["MachineAccess-audit"]["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    ]
    tags = {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in role.get("Tags", [])}
    audit = "423456789012"
    levels = _levels(synthesized, audit, "RESOURCE_CONTROL_POLICY")

    def assume(resource_tags: dict[str, str]) -> str:
        return decide(
            levels,
            Request(
                "sts:AssumeRole",
                f"arn:aws:iam::{audit}:role/{role['RoleName']}",
                "arn:aws:iam::999988887777:role/scanner",
                context={
                    "aws:PrincipalIsAWSService": "false",
                    "aws:SecureTransport": "true",
                    "sts:ExternalId": "northwind-posture-7f3c91",
                    **resource_tags,
                },
            ),
        )

    assert assume(tags) == "Allow"
    assert assume({}) == "Deny"


def test_the_shared_services_account_is_a_kit_account_with_packages_only(
    example_data: dict[str, Any],
) -> None:
    """Its CDK roles are pinned to it (so the Packages stack deploys there) because of the
    packages, even where it is not Identity Center's delegated administrator."""
    import copy

    from baseline.config import parse_config
    from baseline.guardrails import context_for

    data = copy.deepcopy(example_data)
    data["identity_center"].pop("delegated_administrator", None)
    with_packages = context_for(parse_config(data))
    assert SHARED_SERVICES in {a.id for a in with_packages.kit_accounts}
    del data["packages"]
    without = context_for(parse_config(data))
    assert SHARED_SERVICES not in {a.id for a in without.kit_accounts}
    assert without.package_domain is None
