"""SecureFunction: grants in a managed policy, encrypted logs and queue, traced, in a VPC."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_lambda as lambda_

from baseline.constructs import (
    LayeredVpc,
    SecureBucket,
    SecureFunction,
    declare_availability_zones,
)
from tests.constructs.helpers import nag_violations, new_stack

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
REASON = (
    "The data is rebuilt from its source system, which keeps its own cross-region backups, "
    "so a replica of this bucket adds no independent copy."
)


def _build(**kwargs: Any) -> tuple[Any, assertions.Template, SecureFunction]:
    app, stack = new_stack()
    declare_availability_zones(stack, ["eu-west-1a", "eu-west-1b"])
    vpc = LayeredVpc(stack, "Vpc", isolated_only=True)
    bucket = SecureBucket(stack, "Data", unreplicated_reason=REASON)
    function = SecureFunction(
        stack,
        "Fn",
        code=CODE,
        handler="index.handler",
        **({"vpc": vpc.vpc, "reserved_concurrency": 2} | kwargs),
    )
    bucket.grant_read(function)
    return app, assertions.Template.from_stack(stack), function


@pytest.fixture(scope="module")
def built() -> tuple[Any, assertions.Template, SecureFunction]:
    return _build()


def test_reading_a_secure_bucket_takes_one_line_and_passes_every_pack(built: Any) -> None:
    app, _, _ = built
    assert nag_violations(app) == []


def test_grants_land_in_the_functions_managed_policy_never_inline(built: Any) -> None:
    _, template, _ = built
    assert template.find_resources("AWS::IAM::Policy") == {}  # no inline policy at all
    policies = [
        p
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        if "What the function may do" in p["Properties"].get("Description", "")
    ]
    assert len(policies) == 1
    actions = {
        a
        for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    # the bucket grant, the dead-letter queue, tracing, logs and the VPC interfaces
    assert {"s3:GetObject", "s3:ListBucket", "sqs:SendMessage", "xray:PutTraceSegments"} <= actions
    assert {"logs:PutLogEvents", "ec2:CreateNetworkInterface"} <= actions
    roles = template.find_resources("AWS::IAM::Role")
    (role,) = [
        r for r in roles.values() if "workload function" in r["Properties"].get("Description", "")
    ]
    assert "AWSLambdaVPCAccessExecutionRole" not in str(role)  # no AWS-managed policy


def test_the_function_is_traced_encrypted_queued_bounded_and_in_the_vpc(built: Any) -> None:
    _, template, _ = built
    functions = template.find_resources("AWS::Lambda::Function")
    (function,) = [
        f for f in functions.values() if f["Properties"].get("Handler") == "index.handler"
    ]
    props = function["Properties"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == 2
    assert "DeadLetterConfig" in props and "KmsKeyArn" in props
    assert props["VpcConfig"]["SubnetIds"]
    (queue,) = template.find_resources("AWS::SQS::Queue").values()
    assert "KmsMasterKeyId" in queue["Properties"]
    assert queue["DeletionPolicy"] == "RetainExceptOnCreate"
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert any(
        "KmsKeyId" in g["Properties"] and g["Properties"]["RetentionInDays"] == 365
        for g in groups.values()
    )


def _subnet_ids(template: assertions.Template) -> list[Any]:
    (function,) = [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if "VpcConfig" in f["Properties"]
    ]
    return list(function["Properties"]["VpcConfig"]["SubnetIds"])


def test_in_a_vpc_joined_to_the_hub_the_function_goes_where_the_hub_is_reached() -> None:
    """A LayeredVpc on a transit gateway has Private subnets routed to the hub, typed
    isolated: the function goes there only, not also into the Isolated tier (no route)."""
    _, stack = new_stack()
    declare_availability_zones(stack, ["eu-west-1a", "eu-west-1b"])
    vpc = LayeredVpc(stack, "Vpc", transit_gateway_id="tgw-0123456789abcdef0")
    SecureFunction(
        stack, "Fn", code=CODE, handler="index.handler", vpc=vpc.vpc, reserved_concurrency=2
    )
    subnets = _subnet_ids(assertions.Template.from_stack(stack))
    assert len(subnets) == 2 and all("Private" in str(s) for s in subnets), subnets


def test_a_function_deep_in_a_construct_tree_gets_an_alias_kms_takes() -> None:
    """A unique id may be 255 characters; an alias takes 250 after alias/."""
    from constructs import Construct

    _, stack = new_stack("OrdersPlatformProductionEuWest1")
    scope: Construct = stack
    for level in range(6):
        scope = Construct(scope, f"OrdersServiceComponentLayer{level}Abcdefghij")
    function = SecureFunction(scope, "IndexerFunction", code=CODE, handler="index.handler")
    (alias,) = assertions.Template.from_stack(stack).find_resources("AWS::KMS::Alias").values()
    name = alias["Properties"]["AliasName"]
    assert len(name) <= 256 and name.endswith(cdk.Names.unique_id(function)[-8:])


def test_without_a_vpc_or_reserved_concurrency_the_packs_say_so() -> None:
    """No default acknowledgement hides the choice: the regulated packs report it."""
    app, _, _ = _build(vpc=None, reserved_concurrency=None)
    rules = sorted({v.split(":")[0] for v in nag_violations(app)})
    assert rules == [
        "HIPAA.Security-LambdaConcurrency",
        "HIPAA.Security-LambdaInsideVPC",
        "NIST.800.53.R5-LambdaConcurrency",
        "NIST.800.53.R5-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reserved_concurrency": 0}, "reserved_concurrency must be at least 1"),
        ({"vpc": None, "vpc_subnets": object()}, "vpc_subnets needs vpc"),
        ({"memory_size": 20_000}, "memory_size must be 128 to 10,240 MiB"),
        ({"memory_size": 64}, "memory_size must be 128 to 10,240 MiB"),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build(**kwargs)
