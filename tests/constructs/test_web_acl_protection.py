"""WebAclProtection: AWS managed rules, a rate limit, redacted and encrypted logs."""

from __future__ import annotations

import pytest
from aws_cdk import assertions

from baseline.constructs import WebAclProtection
from baseline.constructs.web_acl_protection import MANAGED_RULE_GROUPS
from tests.constructs.helpers import nag_violations, new_stack

ALB = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/orders/abc"


def test_managed_rules_rate_limit_logging_and_association() -> None:
    app, stack = new_stack()
    WebAclProtection(stack, "Waf", name="orders-api", resource_arns=[ALB])
    template = assertions.Template.from_stack(stack)
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    rules = acl["Properties"]["Rules"]
    managed = [
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules
        if "ManagedRuleGroupStatement" in r["Statement"]
    ]
    assert managed == list(MANAGED_RULE_GROUPS)
    rate = next(r for r in rules if "RateBasedStatement" in r["Statement"])
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"}
    assert rate["Action"] == {"Block": {}}
    (logging,) = template.find_resources("AWS::WAFv2::LoggingConfiguration").values()
    assert "aws-waf-logs-orders-api" in str(logging["Properties"]["LogDestinationConfigs"])
    assert {f["SingleHeader"]["Name"] for f in logging["Properties"]["RedactedFields"]} == {
        "authorization",
        "cookie",
    }
    (group,) = template.find_resources("AWS::Logs::LogGroup").values()
    assert "KmsKeyId" in group["Properties"]
    template.has_resource_properties("AWS::WAFv2::WebACLAssociation", {"ResourceArn": ALB})
    assert nag_violations(app) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_limit": 10}, "rate_limit must be between"),
        ({"cloudfront": True, "resource_arns": [ALB]}, "CloudFront web ACL"),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        WebAclProtection(stack, "Waf", name="x", **kwargs)  # type: ignore[arg-type]
