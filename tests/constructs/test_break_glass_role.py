"""BreakGlassRole: named principals, MFA, an hour; refused when it would trust more."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs import BreakGlassRole
from tests.constructs.helpers import nag_violations, new_stack

USER = "arn:aws:iam::210987654321:user/break-glass-1"


def test_trusts_the_named_principals_with_mfa_for_an_hour() -> None:
    app, stack = new_stack()
    BreakGlassRole(stack, "BreakGlass", principals=[USER], role_name="acme-break-glass")
    (role,) = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    assert trust["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": [USER]},
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
    }
    assert role["Properties"]["MaxSessionDuration"] == 3600
    assert nag_violations(app) == []


def test_keeps_the_logical_id_of_a_plain_role_in_its_place() -> None:
    """Construct ids are a contract: the member baseline's role was a plain iam.Role."""
    from aws_cdk import aws_iam as iam

    _, stack = new_stack()
    glass = BreakGlassRole(stack, "BreakGlass", principals=[USER])
    _, other = new_stack("Other")
    plain = iam.Role(other, "BreakGlass", assumed_by=iam.AccountRootPrincipal())
    assert stack.get_logical_id(glass.role.node.default_child) == other.get_logical_id(  # type: ignore[arg-type]
        plain.node.default_child  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("principals", "hours", "message"),
    [
        ([], 1, "name at least one"),
        (["arn:aws:iam::210987654321:root"], 1, "is not an IAM user or role ARN"),
        ([USER, "arn:aws:iam::111122223333:user/x"], 1, "all of one account"),
        ([USER], 13, "max_session must be between 1 and 12 hours"),
    ],
)
def test_fails_on_a_trust_wider_than_named_people(
    principals: list[str], hours: int, message: str
) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        BreakGlassRole(
            stack, "BreakGlass", principals=principals, max_session=cdk.Duration.hours(hours)
        )
