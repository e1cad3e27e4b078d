"""SecureFunction: a workload's Lambda function that passes the compliance packs as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baseline.compliance import acknowledge, acknowledge_each
from baseline.constructs.baseline_function import (
    RUNTIME,
    acknowledge_dead_letter_queue,
    as_finding,
)
from baseline.constructs.secure_log_group import SecureLogGroup

#: What a function in a VPC needs to manage its network interfaces; EC2 grants the
#: Describe call on "*" only.
_VPC_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:UnassignPrivateIpAddresses",
)
#: The AWS-managed policy the Lambda construct would attach for a VPC; its statements are
#: written into the function's own managed policy instead.
_VPC_MANAGED_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"
#: How long one invocation may run unless the caller says otherwise.
DEFAULT_TIMEOUT = cdk.Duration.seconds(30)


class _GrantsRole(iam.Role):
    """A role whose grants land in a customer-managed policy, never an inline one.

    ``bucket.grant_read(function)`` and the Lambda construct's own permissions call
    ``add_to_principal_policy``; a plain role writes those into an inline policy, which the
    compliance packs flag (IAMNoInlinePolicy).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, grants: iam.ManagedPolicy, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._grants = grants

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self._grants.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._grants)

    def add_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        if policy.managed_policy_arn.endswith(f"policy/{_VPC_MANAGED_POLICY}"):
            return  # replaced by the exact statements in the function's own policy
        super().add_managed_policy(policy)


@jsii.implements(iam.IGrantable)
class SecureFunction(Construct):
    """A Lambda function for a workload, secure by default.

    Implements SEC03-BP02 (its own role, whose grants, ``bucket.grant_read(fn)`` included,
    go into one customer-managed policy, never an inline one), SEC04-BP01 (a log group under
    its own key, kept a year and retained; active tracing), SEC08-BP02 (the dead-letter
    queue and environment variables under that key) and SEC05-BP01 (in the VPC's private
    subnets when given one). Failed asynchronous events go to the dead-letter queue.

    The NIST 800-53 and HIPAA packs ask for reserved concurrency and a VPC: give
    ``reserved_concurrency`` and ``vpc``, or they report the function, so the choice is
    made and explained in the workload, not hidden by a default acknowledgement.

    Example::

        fn = SecureFunction(self, "Api", code=lambda_.Code.from_asset("src"),
                            handler="app.handler", vpc=vpc.vpc, reserved_concurrency=5)
        bucket.grant_read(fn)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        runtime: lambda_.Runtime = RUNTIME,
        description: str | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        reserved_concurrency: int | None = None,
        timeout: cdk.Duration = DEFAULT_TIMEOUT,
        memory_size: int = 256,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        """Create the function, its role and policy, its log group and key, and its queue.

        :param code: the function's code.
        :param handler: the entry point, e.g. ``app.handler``.
        :param runtime: Default: the newest Python runtime the kit is tested with.
        :param description: Default: none.
        :param vpc: run in this VPC's private subnets (or ``vpc_subnets``). Default: none,
            which the NIST 800-53, HIPAA and PCI packs report (LambdaInsideVPC).
        :param vpc_subnets: where in ``vpc``. Default: the private subnets.
        :param reserved_concurrency: reserved concurrent executions. Default: none, which
            the NIST 800-53 and HIPAA packs report (LambdaConcurrency).
        :param timeout: Default: 30 seconds.
        :param memory_size: in MiB. Default: 256.
        :param environment: environment variables, encrypted with the function's key.
            Default: none.
        :param log_retention: how long the log group keeps events. Default: 1 year.
        """
        super().__init__(scope, construct_id)
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(
                f"SecureFunction: reserved_concurrency must be at least 1 (0 stops the "
                f"function), got {reserved_concurrency}"
            )
        if vpc_subnets is not None and vpc is None:
            raise ValueError("SecureFunction: vpc_subnets needs vpc")
        if not cdk.Token.is_unresolved(memory_size) and not 128 <= memory_size <= 10_240:
            raise ValueError(
                f"SecureFunction: memory_size must be 128 to 10,240 MiB (Lambda's range), "
                f"got {memory_size}"
            )
        unique = cdk.Names.unique_id(self)
        self.logs = SecureLogGroup(
            self,
            "Logs",
            log_group_name=f"/lambda/{unique}",
            # the id's end is its hash: an alias of at most 250 characters, still unique
            key_alias=f"alias/lambda/{unique[-200:]}",
            retention=log_retention,
            key_description="Encrypts the function's logs, dead-letter queue and environment",
        )
        self.key = self.logs.encryption_key
        self.log_group = self.logs.log_group
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,  # failed events
        )
        acknowledge_dead_letter_queue(self.dead_letter_queue, "the function")
        self.policy = iam.ManagedPolicy(
            self,
            "Permissions",
            description="What the function may do: its own logs, queue and key, and its grants",
            statements=[
                iam.PolicyStatement(
                    sid="WriteOwnLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{self.log_group.log_group_arn}:*"],
                ),
                iam.PolicyStatement(
                    sid="UseOwnKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
            ],
        )
        self.role = _GrantsRole(
            self,
            "Role",
            grants=self.policy,
            assumed_by=iam.ServicePrincipal(
                "lambda.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ),
            description=description or "A workload function's role",
            managed_policies=[self.policy],
        )
        if vpc is not None:
            self.policy.add_statements(
                iam.PolicyStatement(
                    sid="ManageOwnNetworkInterfaces",
                    actions=list(_VPC_ACTIONS),
                    resources=["*"],
                )
            )
            acknowledge(
                self.policy,
                "CKV_AWS_111",
                "Lambda creates and removes the function's network interfaces in the VPC with "
                "these actions; their ids do not exist before Lambda creates them, and AWS's "
                "own policy for this (AWSLambdaVPCAccessExecutionRole) grants them on '*' too.",
            )
        self.function = lambda_.Function(
            self,
            "Function",
            code=code,
            handler=handler,
            runtime=runtime,
            description=description,
            role=self.role,
            timeout=timeout,
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            log_group=self.log_group,
            environment=dict(environment or {}),
            environment_encryption=self.key,
            reserved_concurrent_executions=reserved_concurrency,
            vpc=vpc,
            vpc_subnets=vpc_subnets or (_default_subnets(vpc) if vpc is not None else None),
            retry_attempts=0,
        )
        self.function.node.add_dependency(self.policy)
        stack = cdk.Stack.of(self)
        acknowledge_each(
            self.policy,
            {
                "AwsSolutions-IAM5[Resource::*]": (
                    "X-Ray tracing and, in a VPC, the function's network interfaces are "
                    "granted on '*' only: neither accepts resource-level permissions."
                ),
                f"AwsSolutions-IAM5[Resource::{as_finding(stack, self.log_group.log_group_arn)}:*]": (
                    "The function writes only log streams of its own log group, which it "
                    "names at run time; the wildcard stays inside that group."
                ),
                **{
                    f"AwsSolutions-IAM5[Action::{action}]": (
                        "Sending failed events to the function's KMS-encrypted dead-letter "
                        "queue needs these key actions, granted on the function's own key only."
                    )
                    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
                },
            },
        )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The role, for ``bucket.grant_read(function)`` and the like."""
        return self.role

    @property
    def function_arn(self) -> str:
        return self.function.function_arn


def _default_subnets(vpc: ec2.IVpc) -> ec2.SubnetSelection:
    """The subnets a function goes in without ``vpc_subnets``: those with a way out (NAT),
    else a ``Private`` group (a :class:`LayeredVpc` joined to a transit gateway, whose
    private subnets are routed to the hub but typed isolated: by type, the function would
    also land in the ``Isolated`` tier, which has no route out), else the isolated ones."""
    if vpc.private_subnets:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
    try:
        vpc.select_subnets(subnet_group_name="Private")
    except RuntimeError:  # no such group
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    return ec2.SubnetSelection(subnet_group_name="Private")
