"""WebAclProtection: an AWS WAF web ACL in front of a workload's public endpoints."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from baseline.constructs.encryption_key import EncryptionKey
from baseline.constructs.secure_log_group import SecureLogGroup

#: AWS managed rule groups every web ACL runs, in order.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
#: Request parts never written to the WAF logs.
REDACTED_HEADERS = ("authorization", "cookie")
#: Metric names WAF keeps for itself (a web ACL's name is its metric name).
RESERVED_METRIC_NAMES = ("All", "Default_Action")


class WebAclProtection(Construct):
    """A web ACL with AWS managed rules, a per-IP rate limit, and encrypted logs.

    Implements SEC05-BP03 (inspection-based protection at the edge), SEC05-BP04 (managed
    rules AWS keeps current) and SEC04-BP01 (every request logged, credentials redacted).

    Example::

        waf = WebAclProtection(self, "Waf", name="orders-api", resource_arns=[alb.load_balancer_arn])
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        cloudfront: bool = False,
        rate_limit: int = 2000,
        resource_arns: Sequence[str] = (),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        encryption_key: kms.IKey | EncryptionKey | None = None,
    ) -> None:
        """Create the web ACL, its log group and its associations.

        :param name: the web ACL's name (letters, digits, hyphens).
        :param cloudfront: a CloudFront web ACL (deploy in us-east-1). Default: False (a
            regional web ACL).
        :param rate_limit: requests per IP per 5 minutes before blocking (10 to 2,000,000,000).
            Default: 2,000.
        :param resource_arns: regional resources to protect (ALB, API Gateway stage, ...),
            each once. Each association is named after its resource, so taking one out of
            the list leaves the others' as they are. Default: none (associate the web ACL
            later, or set it on a distribution).
        :param log_retention: how long the WAF logs are kept. Default: 1 year.
        :param encryption_key: an existing key for the logs (see :class:`SecureLogGroup`).
            Default: none (a new key, ``alias/waf/<name>``).
        """
        super().__init__(scope, construct_id)
        if not cdk.Token.is_unresolved(rate_limit) and not 10 <= rate_limit <= 2_000_000_000:
            raise ValueError(f"rate_limit must be between 10 and 2,000,000,000, got {rate_limit}")
        if cloudfront and resource_arns:
            raise ValueError(
                "resource_arns: a CloudFront web ACL is set on the distribution, not associated"
            )
        if not cdk.Token.is_unresolved(name) and not re.fullmatch(r"[A-Za-z0-9-]{1,128}", name):
            raise ValueError(
                f"name must be 1-128 letters, digits and hyphens (it names the web ACL, its "
                f"log group and key alias), got {name!r}"
            )
        if name in RESERVED_METRIC_NAMES:  # the name is the web ACL's metric name too
            raise ValueError(f"name {name!r} is a metric name WAF reserves; choose another")
        stack = cdk.Stack.of(self)
        resolved = [json.dumps(stack.resolve(arn), sort_keys=True) for arn in resource_arns]
        repeated = sorted(
            {str(a) for a, r in zip(resource_arns, resolved, strict=True) if resolved.count(r) > 1}
        )
        if repeated:
            raise ValueError(
                f"resource_arns: {', '.join(repeated)} given more than once (a resource has "
                "one web ACL)"
            )
        if cloudfront:
            self._require_us_east_1(stack)
        log_group_name = f"aws-waf-logs-{name}"  # WAF requires this prefix

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=10 * (index + 1),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=visibility(group),
            )
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=10 * (len(MANAGED_RULE_GROUPS) + 1),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=rate_limit, aggregate_key_type="IP"
                    )
                ),
                visibility_config=visibility("RateLimitPerIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "Resource",
            name=name,
            scope="CLOUDFRONT" if cloudfront else "REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=visibility(name),
        )
        self.logs = SecureLogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            key_alias=None if encryption_key is not None else f"alias/waf/{name}",
            encryption_key=encryption_key,
            retention=log_retention,
            key_description=f"Encrypts the {name} web ACL's logs",
        )
        self.log_group = self.logs.log_group
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:"
                f"{log_group_name}"
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        )
        log_group_resource = self.log_group.node.default_child
        assert isinstance(log_group_resource, cdk.CfnResource)
        logging.add_resource_dependency(log_group_resource)
        for arn, value in zip(resource_arns, resolved, strict=True):
            # named after the resource (its ARN, or the reference that gives it): both of an
            # association's properties are create-only, and one named by its place would be
            # replaced by another resource's when the list changes before it
            digest = hashlib.sha256(value.encode()).hexdigest()[:12].upper()
            wafv2.CfnWebACLAssociation(
                self, f"Association{digest}", resource_arn=arn, web_acl_arn=self.web_acl.attr_arn
            )

    def _require_us_east_1(self, stack: cdk.Stack) -> None:
        """CloudFront takes web ACLs, and WAF writes their logs, only in us-east-1: refuse
        another region at construction, or, in a stack without a region, at deploy time
        before anything is created."""
        if not cdk.Token.is_unresolved(stack.region):
            if stack.region != "us-east-1":
                raise ValueError(
                    f"cloudfront=True: a CloudFront web ACL must be in us-east-1; this stack "
                    f"is in {stack.region}"
                )
            return
        cdk.CfnRule(
            self,
            "CloudFrontRegion",
            assertions=[
                cdk.CfnRuleAssertion(
                    assert_=cdk.Fn.condition_equals(cdk.Aws.REGION, "us-east-1"),
                    assert_description=(
                        "A CloudFront web ACL must be deployed in us-east-1 (WebAclProtection "
                        "with cloudfront=True)."
                    ),
                )
            ],
        )
