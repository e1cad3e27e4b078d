"""WebAclProtection: AWS managed rules, a rate limit, redacted and encrypted logs."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs import WebAclProtection
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
    assert managed == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ]
    for rule in rules[:3]:
        # "None" keeps each managed rule's own block action; "Count" would only count
        assert rule["OverrideAction"] == {"None": {}}
        assert rule["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS"
        assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True
    rate = rules[3]
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"}
    assert rate["Action"] == {"Block": {}}
    assert [r["Priority"] for r in rules] == [10, 20, 30, 40]
    assert acl["Properties"]["Scope"] == "REGIONAL"
    (logging,) = template.find_resources("AWS::WAFv2::LoggingConfiguration").values()
    assert logging["Properties"]["LogDestinationConfigs"] == [
        "arn:aws:logs:eu-west-1:111122223333:log-group:aws-waf-logs-orders-api"
    ]
    assert {f["SingleHeader"]["Name"] for f in logging["Properties"]["RedactedFields"]} == {
        "authorization",
        "cookie",
    }
    (group,) = template.find_resources("AWS::Logs::LogGroup").values()
    (key_id,) = template.find_resources("AWS::KMS::Key")
    assert group["Properties"] == {
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "LogGroupName": "aws-waf-logs-orders-api",
        "RetentionInDays": 365,
    }
    (acl_id,) = template.find_resources("AWS::WAFv2::WebACL")
    (association,) = template.find_resources("AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"] == {
        "ResourceArn": ALB,
        "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]},
    }
    assert nag_violations(app) == []


def test_cloudfront_acl_is_global_and_associates_nothing() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Edge", env=cdk.Environment(account="111122223333", region="us-east-1"))
    WebAclProtection(stack, "Waf", name="site", cloudfront=True, rate_limit=500)
    template = assertions.Template.from_stack(stack)
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert acl["Properties"]["Rules"][3]["Statement"]["RateBasedStatement"]["Limit"] == 500
    assert not template.find_resources("AWS::WAFv2::WebACLAssociation")
    # The region is known: checked at construction, no deploy-time rule needed.
    assert not [name for name in template.to_json()["Rules"] if "CloudFrontRegion" in name]


def test_a_cloudfront_acl_in_a_stack_without_a_region_is_checked_before_deploying() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Edge")
    WebAclProtection(stack, "Waf", name="site", cloudfront=True)
    rules = assertions.Template.from_stack(stack).to_json()["Rules"]
    (assertion,) = next(rule for name, rule in rules.items() if "CloudFrontRegion" in name)[
        "Assertions"
    ]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    assert "us-east-1" in assertion["AssertDescription"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_limit": 9}, "rate_limit must be between 10 and"),
        ({"name": "All"}, "'All' is a metric name WAF reserves"),
        ({"resource_arns": [ALB, ALB]}, rf"resource_arns: {ALB} given more than once"),
        ({"cloudfront": True, "resource_arns": [ALB]}, "CloudFront web ACL"),
        ({"name": "orders api"}, r"name must be 1-128 letters, digits and hyphens .*'orders api'"),
        ({"name": "orders/api"}, "name must be 1-128 letters"),
        ({"cloudfront": True}, "must be in us-east-1; this stack is in eu-west-1"),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        WebAclProtection(stack, "Waf", **({"name": "x"} | kwargs))  # type: ignore[arg-type]


def test_an_association_keeps_its_id_when_another_leaves_the_list() -> None:
    """Both of an association's properties are create-only: one named by its place would
    be replaced by the next resource's, which the old one still holds."""
    other = ALB.replace("/app/", "/app/other-")

    def association_ids(arns: list[str]) -> dict[str, str]:
        _, stack = new_stack()
        WebAclProtection(stack, "Waf", name="orders", resource_arns=arns, rate_limit=10)
        found = assertions.Template.from_stack(stack).find_resources(
            "AWS::WAFv2::WebACLAssociation"
        )
        return {r["Properties"]["ResourceArn"]: logical_id for logical_id, r in found.items()}

    both = association_ids([ALB, other])
    assert association_ids([other]) == {other: both[other]}
    assert association_ids([other, ALB]) == both


def test_a_rate_limit_known_only_at_deploy_is_left_to_waf() -> None:
    import aws_cdk as cdk

    _, stack = new_stack()
    limit = cdk.CfnParameter(stack, "Limit", type="Number").value_as_number
    WebAclProtection(stack, "Waf", name="orders", rate_limit=limit)  # type: ignore[arg-type]
