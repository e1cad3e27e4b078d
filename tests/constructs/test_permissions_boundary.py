"""PermissionsBoundary: every role of a workload app carries the account's boundary."""

from __future__ import annotations

import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from baseline.constructs import PermissionsBoundary
from tests.constructs.helpers import nag_violations, new_stack

BOUNDARY = "arn:aws:iam::111122223333:policy/acme-workload-boundary"


def test_every_role_in_the_scope_gets_the_boundary() -> None:
    _, stack = new_stack()
    PermissionsBoundary(stack, "Boundary", prefix="acme")
    iam.Role(stack, "Direct", assumed_by=iam.AccountRootPrincipal())
    lambda_.Function(  # a role a construct makes for itself
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c):\n    return None\n"),
    )
    roles = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Role")
    assert len(roles) == 2
    for role in roles.values():
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY


def test_a_scope_without_it_has_no_boundary() -> None:
    _, stack = new_stack()
    iam.Role(stack, "Direct", assumed_by=iam.AccountRootPrincipal())
    (role,) = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    assert "PermissionsBoundary" not in role["Properties"]


def test_adds_no_finding() -> None:
    app, stack = new_stack()
    PermissionsBoundary(stack, "Boundary", prefix="acme")
    assert nag_violations(app) == []


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("", "'' must be 2-12 lower-case letters"),
        ("Bad Prefix", "'Bad Prefix' must be 2-12 lower-case letters"),
        ("sthree-lz", "'sthree-lz' starts with a prefix S3 reserves"),
    ],
)
def test_fails_a_prefix_no_landing_zone_can_have(prefix: str, message: str) -> None:
    """The boundary's name comes from the prefix: a typo would name a policy that does not
    exist, and every role of the app would fail to deploy."""
    _, stack = new_stack()
    with pytest.raises(ValueError, match=f"PermissionsBoundary: prefix {message}"):
        PermissionsBoundary(stack, "Boundary", prefix=prefix)
