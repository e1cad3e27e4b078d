"""OrganizationSettings: the organisation settings CloudFormation has no resource type for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baseline.compliance import acknowledge
from baseline.constructs.encryption_key import EncryptionKey

HANDLERS = Path(__file__).resolve().parent.parent / "handlers"

#: Service principals whose trusted access the baseline needs: IAM (centralised root
#: access) and Account Management (alternate contacts).
TRUSTED_SERVICES = ("account.amazonaws.com", "iam.amazonaws.com")


@dataclass(frozen=True)
class SecurityContact:
    """The security alternate contact (CIS 1.2)."""

    name: str
    title: str
    email: str
    phone: str


class OrganizationSettings(Construct):
    """Trusted access, policy types, centralised root access and security contacts.

    Implements SEC01-BP02 (centralised root access: member accounts need no root
    credentials), SEC10-BP01 (a security contact on every account, CIS 1.2), and enables
    the policy types the guardrails need. A custom resource in the management account
    applies them idempotently; deleting it changes nothing.

    The function is encrypted, traced, limited to one concurrent run, has a dead-letter
    queue, and its role lists exact actions; ``baseline/handlers/organization_settings.py``
    is its code.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        organization_id: str,
        root_id: str,
        management_account_id: str,
        account_ids: Sequence[str],
        policy_types: Sequence[str],
        security_contact: SecurityContact | None,
        centralized_root_access: bool = True,
    ) -> None:
        """Create the function and the custom resource.

        :param organization_id: the organisation id (a token when the stack creates it).
        :param root_id: the root whose policy types are enabled.
        :param account_ids: every account that gets the security contact.
        :param policy_types: AWS Organizations policy types to enable on the root.
        :param security_contact: the contact; None leaves alternate contacts alone.
        :param centralized_root_access: enable root credentials management and root
            sessions. Default: True.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        name = f"{prefix}-organization-settings"
        log_group_name = f"/{prefix}/organization-settings"
        self.key = EncryptionKey(
            self,
            "Key",
            alias=f"alias/{prefix}/organization-settings",
            description="Encrypts the organisation-settings function's logs and dead-letter queue",
        )
        self.key.grant_cloudwatch_logs(
            log_group_arn=f"arn:aws:logs:{stack.region}:{stack.account}:log-group:{log_group_name}"
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            encryption_key=self.key.key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=cdk.RemovalPolicy.RETAIN,  # failed events are evidence
        )
        acknowledge(
            self.dead_letter_queue.node.default_child,  # type: ignore[arg-type]
            "Serverless-SQSRedrivePolicy",
            "This queue is itself the dead-letter queue of the organisation-settings "
            "function; a dead-letter queue of a dead-letter queue would only move failed "
            "events again.",
        )

        org_arn = f"arn:aws:organizations::{management_account_id}"
        policy = iam.ManagedPolicy(
            self,
            "Permissions",
            description="What the organisation-settings function needs, and no more",
            statements=[
                iam.PolicyStatement(
                    sid="ReadAndEnableOrganizationFeatures",
                    actions=[
                        "organizations:DescribeOrganization",
                        "organizations:EnableAWSServiceAccess",
                        "organizations:ListAWSServiceAccessForOrganization",
                        "organizations:ListRoots",
                        "iam:EnableOrganizationsRootCredentialsManagement",
                        "iam:EnableOrganizationsRootSessions",
                        "iam:ListOrganizationsFeatures",
                        "xray:PutTelemetryRecords",
                        "xray:PutTraceSegments",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="EnablePolicyTypesOnTheRoot",
                    actions=["organizations:EnablePolicyType"],
                    resources=[f"{org_arn}:root/{organization_id}/{root_id}"],
                ),
                iam.PolicyStatement(
                    sid="SetSecurityContacts",
                    actions=["account:PutAlternateContact"],
                    resources=[
                        f"arn:aws:account::{management_account_id}:account",
                        f"arn:aws:account::{management_account_id}:account/{organization_id}/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="WriteOwnLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{self.log_group.log_group_arn}:*"],
                ),
                iam.PolicyStatement(
                    sid="SendFailedEvents",
                    actions=["sqs:SendMessage"],
                    resources=[self.dead_letter_queue.queue_arn],
                ),
                iam.PolicyStatement(
                    sid="UseOwnKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
            ],
        )
        for finding, why in (
            (
                "Resource::*",
                "these Organizations, IAM and X-Ray actions accept no resource-level permissions",
            ),
            (
                f"Resource::arn:aws:account::{management_account_id}:account/{_as_finding(stack, organization_id)}/*",
                "every member account of the organisation gets the security contact",
            ),
            (
                f"Resource::{_as_finding(stack, self.log_group.log_group_arn)}:*",
                "the function writes only log streams of its own log group",
            ),
        ):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[{finding}]",
                f"The function's permissions are exact: {why}.",
            )

        self.role = iam.Role(
            self,
            "Role",
            role_name=name,
            description="Runs the organisation-settings custom resource",
            assumed_by=iam.ServicePrincipal(
                "lambda.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            managed_policies=[policy],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description="Applies organisation settings CloudFormation has no resource type for",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="organization_settings.handler",
            code=lambda_.Code.from_asset(
                str(HANDLERS), exclude=["__pycache__", "*.pyc", "__init__.py"]
            ),
            role=self.role.without_policy_updates(),
            timeout=cdk.Duration.minutes(15),
            memory_size=256,
            reserved_concurrent_executions=1,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            log_group=self.log_group,
            retry_attempts=0,
        )
        self.function.node.add_dependency(policy)
        acknowledge(
            self.function.node.default_child,  # type: ignore[arg-type]
            "NIST.800.53.R5-LambdaInsideVPC",
            "The function only calls the AWS Organizations, IAM and Account Management control "
            "planes; the management account runs no VPC, and one would add a network path "
            "without protecting anything.",
        )
        for pack in ("HIPAA.Security", "PCI.DSS.321"):
            acknowledge(
                self.function.node.default_child,  # type: ignore[arg-type]
                f"{pack}-LambdaInsideVPC",
                "The function only calls the AWS Organizations, IAM and Account Management control "
                "planes; the management account runs no VPC, and one would add a network path "
                "without protecting anything.",
            )

        properties: dict[str, object] = {
            "RootId": root_id,
            "PolicyTypes": sorted(policy_types),
            "ServicePrincipals": list(TRUSTED_SERVICES),
            "CentralizedRootAccess": str(centralized_root_access).lower(),
            "ManagementAccountId": management_account_id,
            "AccountIds": list(account_ids),
        }
        if security_contact is not None:
            properties["SecurityContact"] = {
                "Name": security_contact.name,
                "Title": security_contact.title,
                "EmailAddress": security_contact.email,
                "PhoneNumber": security_contact.phone,
            }
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type="Custom::OrganizationSettings",
            properties=properties,
        )


def _as_finding(stack: cdk.Stack, value: str) -> str:
    """How cdk-nag writes a value in a finding id: tokens become ``<LogicalId.Attribute>``."""
    if not cdk.Token.is_unresolved(value):
        return value
    resolved = stack.resolve(value)
    logical_id, attribute = resolved["Fn::GetAtt"]
    return f"<{logical_id}.{attribute}>"
