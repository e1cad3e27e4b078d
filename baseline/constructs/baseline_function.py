"""BaselineFunction: the Lambda function behind each of the baseline's custom resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baseline.compliance import acknowledge, acknowledge_each

RUNTIME = lambda_.Runtime.PYTHON_3_14

_NO_RESERVATION = (
    "New accounts start with a Lambda concurrency quota of 10, all of which must stay "
    "unreserved, so reserving any would fail the deployment; the function runs only when "
    "CloudFormation invokes it, once per stack operation."
)

_NO_VPC = (
    "The function only calls AWS control-plane APIs; it handles no data and needs no "
    "network path of its own, and a VPC would add one without protecting anything."
)


class BaselineFunction(Construct):
    """A custom-resource function, secure by default.

    Implements SEC04-BP01 (its log group is kept a year), SEC06-BP05 and SEC11-BP06 (no
    retries, traced), SEC03-BP02 (a role with exactly the actions the
    caller lists, in a customer-managed policy) and keeps failed invocations in a
    dead-letter queue. Code comes from the caller: an asset where the account is
    bootstrapped, inline code in StackSet templates (which cannot read assets).

    Example::

        BaselineFunction(self, "Fn", function_name="acme-settings", description="...",
                         code=lambda_.Code.from_inline(source), handler="index.handler",
                         statements=[iam.PolicyStatement(actions=[...], resources=[...])],
                         log_group_name="/acme/settings")
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        description: str,
        code: lambda_.Code,
        handler: str,
        statements: Sequence[iam.PolicyStatement],
        log_group_name: str,
        encryption_key: kms.IKey | None = None,
        wildcard_reasons: Mapping[str, str] | None = None,
        timeout: cdk.Duration = cdk.Duration.minutes(5),
        policy_path: str | None = None,
    ) -> None:
        """Create the function, its role, log group and dead-letter queue.

        :param function_name: name of the function and its role (may hold tokens).
        :param description: what the function does (the function's and role's description).
        :param code: the handler's code: :func:`handler_code` or inline code.
        :param handler: the handler, ``module.function``.
        :param statements: what the function may do; exact actions and resources.
        :param log_group_name: the function's log group, kept one year and retained.
        :param encryption_key: customer-managed key for the log group and the queue.
            Default: none (AWS-owned encryption; an acknowledged, named weakening: a key
            per account and region would cost more than the logs it protects).
        :param wildcard_reasons: cdk-nag IAM5 finding (e.g. ``Resource::*``) -> why the
            wildcard is needed; each becomes an acknowledgement on the policy.
            Default: none (only the function's own X-Ray and log-stream wildcards are
            acknowledged).
        :param timeout: how long one invocation may run. Default: 5 minutes.
        :param policy_path: give the role's managed policy the function's name under this
            IAM path (``/acme/``), so a guardrail can protect the policies behind exempt
            roles by path. Default: none (a generated name at ``/``).
        """
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS
            if encryption_key
            else sqs.QueueEncryption.SQS_MANAGED,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,  # failed events are evidence
        )
        acknowledge(
            self.dead_letter_queue.node.default_child,  # type: ignore[arg-type]
            "Serverless-SQSRedrivePolicy",
            "This queue is itself the dead-letter queue of a baseline function; a dead-letter "
            "queue of a dead-letter queue would only move failed events again.",
        )
        if encryption_key is None:
            acknowledge(
                self.log_group.node.default_child,  # type: ignore[arg-type]
                [
                    "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                    "HIPAA.Security-CloudWatchLogGroupEncrypted",
                    "PCI.DSS.321-CloudWatchLogGroupEncrypted",
                ],
                "CloudWatch Logs encrypts this log group with AWS-owned keys; it holds only "
                "the function's progress messages, and a customer-managed key in every "
                "member account and region would cost more than it protects.",
            )

        own = [
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
                sid="WriteTraces",
                actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                resources=["*"],
            ),
        ]
        if encryption_key is not None:
            own.append(
                iam.PolicyStatement(
                    sid="UseOwnKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                )
            )
        self.policy = iam.ManagedPolicy(
            self,
            "Permissions",
            description=f"What {description[:1].lower()}{description[1:]} needs, and no more",
            statements=[*statements, *own],
            managed_policy_name=function_name if policy_path is not None else None,
            path=policy_path,
        )
        stack = cdk.Stack.of(self)
        reasons = {
            "Resource::*": "X-Ray accepts no resource-level permissions",
            f"Resource::{as_finding(stack, self.log_group.log_group_arn)}:*": (
                "the function writes only log streams of its own log group"
            ),
            **(wildcard_reasons or {}),
        }
        acknowledge_each(
            self.policy,
            {
                f"AwsSolutions-IAM5[{finding}]": f"The permissions are exact: {why}."
                for finding, why in reasons.items()
            },
        )

        self.role = iam.Role(
            self,
            "Role",
            role_name=function_name,
            description=description,
            assumed_by=iam.ServicePrincipal(
                "lambda.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            managed_policies=[self.policy],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            handler=handler,
            code=code,
            role=self.role.without_policy_updates(),
            timeout=timeout,
            memory_size=256,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            log_group=self.log_group,
            retry_attempts=0,
        )
        self.function.node.add_dependency(self.policy)
        function_resource = self.function.node.default_child
        assert function_resource is not None
        acknowledge_each(
            function_resource,
            {
                **{
                    f"{pack}-LambdaInsideVPC": _NO_VPC
                    for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
                },
                # PCI DSS has no concurrency rule
                **{
                    f"{pack}-LambdaConcurrency": _NO_RESERVATION
                    for pack in ("NIST.800.53.R5", "HIPAA.Security")
                },
            },
        )


#: The custom-resource handlers (``baseline/handlers``).
HANDLERS = Path(__file__).resolve().parent.parent / "handlers"


def handler_code(module: str) -> lambda_.Code:
    """The asset of one handler module and the shared ``cfn_response`` helper, nothing else."""
    return lambda_.Code.from_asset(
        str(HANDLERS), exclude=["*", f"!{module}.py", "!cfn_response.py"]
    )


def service_linked_roles_statement(account_id: str, services: Sequence[str]) -> iam.PolicyStatement:
    """Let a function create the service-linked roles of the named services, and no others."""
    return iam.PolicyStatement(
        sid="CreateTheServicesLinkedRoles",
        actions=["iam:CreateServiceLinkedRole"],
        resources=[f"arn:aws:iam::{account_id}:role/aws-service-role/*"],
        conditions={"StringLike": {"iam:AWSServiceName": sorted(services)}},
    )


def as_finding(stack: cdk.Stack, value: str) -> str:
    """How cdk-nag writes a value in a finding id: ``<LogicalId.Attribute>`` for a token."""
    if not cdk.Token.is_unresolved(value):
        return value
    resolved = stack.resolve(value)
    logical_id, attribute = resolved["Fn::GetAtt"]
    return f"<{logical_id}.{attribute}>"
