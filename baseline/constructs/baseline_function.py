"""BaselineFunction: the Lambda function behind each of the baseline's custom resources."""

from __future__ import annotations

import functools
import hashlib
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

from baseline.compliance import GUARD_PLUGIN, acknowledge, acknowledge_each
from baseline.constructs.encryption_key import EncryptionKey

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


@functools.cache
def _failed_events_kept() -> cdk.Duration:
    """How long a dead-letter queue keeps failed events (14 days, SQS's longest), made
    once: a Duration is immutable, and each one made is a call into the CDK."""
    return cdk.Duration.days(14)


def acknowledge_dead_letter_queue(queue: sqs.Queue, of: str) -> None:
    """The finding that a function's dead-letter queue has no dead-letter queue itself, in
    every suite that reports it, with the reason."""
    acknowledge(
        queue.node.default_child,  # type: ignore[arg-type]
        ["Serverless-SQSRedrivePolicy", f"{GUARD_PLUGIN}::sqs_dlq_check"],
        f"This queue is itself the dead-letter queue of {of}, fed by Lambda and not by "
        "another queue; a dead-letter queue of a dead-letter queue would only move failed "
        "events again.",
    )


def outside_vpc_and_unreserved_reasons(
    no_vpc: str = _NO_VPC, no_reservation: str = _NO_RESERVATION
) -> dict[str, str]:
    """The acknowledgements of a function that runs outside any VPC and reserves no
    concurrency, in every suite that reports either (by default a custom-resource
    function's reasons)."""
    return {
        **{
            f"{pack}-LambdaInsideVPC": no_vpc
            for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
        },
        f"{GUARD_PLUGIN}::lambda_inside_vpc_check": no_vpc,
        "CKV_AWS_117": no_vpc,
        # PCI DSS has no concurrency rule
        **{
            f"{pack}-LambdaConcurrency": no_reservation
            for pack in ("NIST.800.53.R5", "HIPAA.Security")
        },
        "CKV_AWS_115": no_reservation,
    }


def answer_within(timeout: cdk.Duration) -> cdk.Duration:
    """How long CloudFormation waits for a custom resource's answer from a function that
    runs at most ``timeout`` and is not retried: one invocation and two minutes, instead of
    CloudFormation's default hour, so that a function that timed out fails its stack soon."""
    return cdk.Duration.seconds(min(timeout.to_seconds() + 120, 3600))


class BaselineFunction(Construct):
    """A custom-resource function, secure by default.

    Implements SEC04-BP01 (its log group is kept a year), SEC08-BP02 (its logs, failed
    events and environment under a customer-managed key), SEC06-BP05 and SEC11-BP06 (no
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
        encryption_key: kms.IKey | EncryptionKey | None = None,
        wildcard_reasons: Mapping[str, str] | None = None,
        timeout: cdk.Duration = cdk.Duration.minutes(5),
        policy_path: str | None = None,
        placement_reasons: Mapping[str, str] | None = None,
    ) -> None:
        """Create the function, its role, log group and dead-letter queue.

        :param function_name: name of the function and its role (may hold tokens).
        :param description: what the function does (the function's and role's description).
        :param code: the handler's code: :func:`handler_code` or inline code.
        :param handler: the handler, ``module.function``.
        :param statements: what the function may do; exact actions and resources.
        :param log_group_name: the function's log group, kept one year and retained.
        :param encryption_key: customer-managed key for the log group, the queue and the
            environment: an :class:`EncryptionKey`, whose policy gets the CloudWatch Logs
            statement for the log group, or a ``kms.IKey`` whose policy already allows it.
            Default: a key of the function's own, ``alias/<function_name>``.
        :param wildcard_reasons: cdk-nag IAM5 finding (e.g. ``Resource::*``) -> why the
            wildcard is needed; each becomes an acknowledgement on the policy.
            Default: none (only the function's own X-Ray and log-stream wildcards are
            acknowledged).
        :param timeout: how long one invocation may run. Default: 5 minutes.
        :param policy_path: give the role's managed policy the function's name under this
            IAM path (``/acme/``), so a guardrail can protect the policies behind exempt
            roles by path. Default: none (a generated name at ``/``).
        :param placement_reasons: why the function runs outside a VPC (``no_vpc``) and
            reserves no concurrency (``no_reservation``), for a function that is not a
            custom resource's. Default: a custom-resource function's reasons.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        account = stack.account  # each read of the stack is a call into the CDK: once
        self.key: EncryptionKey | None = None
        sid = "AllowCloudWatchLogs"
        if encryption_key is None:
            self.key = EncryptionKey(
                self,
                "Key",
                alias=f"alias/{function_name}",
                description=f"Encrypts the logs, failed events and environment of {function_name}",
            )
        elif isinstance(encryption_key, EncryptionKey):
            self.key = encryption_key
            sid = f"AllowCloudWatchLogs{construct_id}"  # the key may serve several groups
        if self.key is not None:
            self.key.grant_cloudwatch_logs(
                log_group_arn=f"arn:aws:logs:{stack.region}:{account}:log-group:{log_group_name}",
                sid=sid,
            )
            self.encryption_key: kms.IKey = self.key.key
        else:
            assert not isinstance(encryption_key, EncryptionKey) and encryption_key is not None
            self.encryption_key = encryption_key
        encryption_key = self.encryption_key
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
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=_failed_events_kept(),
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,  # failed events are evidence
        )
        acknowledge_dead_letter_queue(self.dead_letter_queue, "a baseline function")

        log_group_arn = self.log_group.log_group_arn
        own = [
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group_arn}:*"],
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
        reasons = {
            "Resource::*": "X-Ray accepts no resource-level permissions",
            f"Resource::{as_finding(stack, log_group_arn)}:*": (
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
                conditions={"StringEquals": {"aws:SourceAccount": account}},
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
            environment_encryption=encryption_key,
            retry_attempts=0,
        )
        #: how long one invocation may run (custom resources wait for its answer)
        self.timeout = timeout
        function_node = self.function.node
        function_node.add_dependency(self.policy)
        function_resource = function_node.default_child
        assert function_resource is not None
        acknowledge_each(
            function_resource, outside_vpc_and_unreserved_reasons(**(placement_reasons or {}))
        )


#: The custom-resource handlers (``baseline/handlers``).
HANDLERS = Path(__file__).resolve().parent.parent / "handlers"


def handler_code(module: str, *shared: str) -> lambda_.Code:
    """The asset of one handler module, the ``cfn_response`` helper and the handler
    modules it shares code with (``shared``), nothing else."""
    return lambda_.Code.from_asset(
        str(HANDLERS),
        exclude=["*", f"!{module}.py", "!cfn_response.py", *(f"!{m}.py" for m in shared)],
    )


#: The property by which a custom resource carries its handler's digest.
HANDLER_DIGEST = "HandlerSha256"


@functools.cache
def handler_digest(module: str, *shared: str) -> str:
    """The SHA-256 of the code :func:`handler_code` packages for ``module``.

    A custom resource passes it as the property ``HandlerSha256``: CloudFormation sends a
    custom resource an Update only when one of its properties changes, so without it a
    changed handler would run for new resources only and leave the deployed ones as the
    old code made them. The handlers ignore the property."""
    digest = hashlib.sha256()
    for name in sorted({module, "cfn_response", *shared}):
        digest.update(f"{name}.py\0".encode())
        digest.update((HANDLERS / f"{name}.py").read_bytes())
    return digest.hexdigest()


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
