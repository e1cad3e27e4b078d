"""SecurityTooling: the detective services for the whole organisation, from the audit account."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Synthesized

AUDIT = "423456789012"
HOME = "eu-west-1"
REGIONS = (HOME, "eu-central-1", "us-east-1")


def _stack(synthesized: Synthesized, region: str) -> dict[str, Any]:
    template: dict[str, Any] = synthesized.templates[f"SecurityTooling-{region}"]
    return template


def _of_type(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_one_stack_per_governed_region_in_the_audit_account(synthesized: Synthesized) -> None:
    stacks = synthesized.landing_zone.security_tooling
    assert [s.region for s in stacks] == synthesized.config.governed_regions
    for stack in stacks:
        assert stack.account == AUDIT
        assert synthesized.landing_zone.organization in stack.dependencies


def test_the_management_account_delegates_every_service_to_the_audit_account(
    synthesized: Synthesized,
) -> None:
    (settings,) = [
        r
        for r in synthesized.templates["Organization"]["Resources"].values()
        if r["Type"] == "Custom::OrganizationSettings"
    ]
    props = settings["Properties"]
    assert props["ServiceAdministrators"] == {
        "AccountId": AUDIT,
        "Regions": synthesized.config.governed_regions,
        "Services": ["detective", "guardduty", "inspector2", "macie2", "securityhub"],
    }
    registered = {
        d["ServicePrincipal"] for d in props["DelegatedAdministrators"] if d["AccountId"] == AUDIT
    }
    assert registered == {
        "access-analyzer.amazonaws.com",
        "config.amazonaws.com",
        "config-multiaccountsetup.amazonaws.com",
    }
    assert {"guardduty.amazonaws.com", "securityhub.amazonaws.com", "macie.amazonaws.com"} <= set(
        props["ServicePrincipals"]
    )


def test_every_region_turns_the_services_on_for_every_member(synthesized: Synthesized) -> None:
    for region in synthesized.config.governed_regions:
        template = _stack(synthesized, region)
        (services,) = _of_type(template, "Custom::SecurityServices")
        props = services["Properties"]
        assert props["Services"] == ["detective", "guardduty", "inspector2", "macie2"]
        assert {
            "S3_DATA_EVENTS",
            "EKS_AUDIT_LOGS",
            "EBS_MALWARE_PROTECTION",
            "RDS_LOGIN_EVENTS",
            "LAMBDA_NETWORK_LOGS",
            "RUNTIME_MONITORING",
        } == set(props["GuardDutyFeatures"])
        analyzers = {
            a["Properties"]["Type"] for a in _of_type(template, "AWS::AccessAnalyzer::Analyzer")
        }
        assert "ORGANIZATION" in analyzers
        assert ("ORGANIZATION_UNUSED_ACCESS" in analyzers) == (region == HOME)
        rules = _of_type(template, "AWS::Config::OrganizationConfigRule")
        managed = [
            r["Properties"]["OrganizationManagedRuleMetadata"]["RuleIdentifier"]
            for r in rules
            if "OrganizationManagedRuleMetadata" in r["Properties"]
        ]
        # the rules over IAM (reserved role names, credential hygiene) run where IAM is
        # recorded: the home region only
        hygiene = [
            "ACCESS_KEYS_ROTATED",
            "IAM_ROOT_ACCESS_KEY_CHECK",
            "IAM_USER_UNUSED_CREDENTIALS_CHECK",
            "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
        ]
        assert sorted(managed) == sorted(["REQUIRED_TAGS", *(hygiene if region == HOME else [])])
        assert len(rules) == len(managed) + (1 if region == HOME else 0)


def test_security_hub_runs_fsbp_and_cis_everywhere_and_aggregates_home(
    synthesized: Synthesized,
) -> None:
    template = _stack(synthesized, HOME)
    (aggregator,) = _of_type(template, "AWS::SecurityHub::FindingAggregator")
    assert aggregator["Properties"] == {
        "RegionLinkingMode": "SPECIFIED_REGIONS",
        "Regions": ["eu-central-1", "us-east-1"],
    }
    (organization,) = _of_type(template, "AWS::SecurityHub::OrganizationConfiguration")
    assert organization["Properties"]["ConfigurationType"] == "CENTRAL"
    (policy,) = _of_type(template, "AWS::SecurityHub::ConfigurationPolicy")
    hub = policy["Properties"]["ConfigurationPolicy"]["SecurityHub"]
    assert hub["ServiceEnabled"] is True
    assert hub["EnabledStandardIdentifiers"] == [
        "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0",
        "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/5.0.0",
    ]
    (association,) = _of_type(template, "AWS::SecurityHub::PolicyAssociation")
    assert (
        association["Properties"]["TargetType"] == "ROOT"
        and association["Properties"]["TargetId"] == "r-nw7k"
    )
    for region in ("eu-central-1", "us-east-1"):
        assert not _of_type(_stack(synthesized, region), "AWS::SecurityHub::ConfigurationPolicy")


def test_one_governed_region_aggregates_no_other(synthesized: Synthesized) -> None:
    # SPECIFIED_REGIONS with no region fails to create (Regions needs one item at least)
    import dataclasses

    import aws_cdk as cdk

    from baseline.stacks.security_tooling import SecurityToolingSettings, SecurityToolingStack

    settings = SecurityToolingSettings.from_config(synthesized.config)
    alone = dataclasses.replace(settings, governed_regions=(HOME,))
    stack = SecurityToolingStack(
        cdk.App(),
        "Alone",
        settings=alone,
        env=cdk.Environment(account=settings.audit_account_id, region=HOME),
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    assert not _of_type(template, "AWS::SecurityHub::FindingAggregator")
    (aggregator,) = _of_type(template, "Custom::FindingAggregator")
    assert aggregator["Properties"]["LinkedRegions"] == []
    # and the function makes it with NO_REGIONS (tests/handlers/test_security_services.py);
    # the example governs three regions, so its lint never sees this stack: lint it here
    import json

    from cfnlint.api import ManualArgs, lint

    errors = [
        m
        for m in lint(json.dumps(template), ManualArgs(regions=[HOME]))
        if m.rule.id.startswith("E")
    ]
    assert not errors, [str(m) for m in errors]


#: What must outlive the SecurityTooling stacks, as the enablements of the security-services
#: function do: removing a stack, or replacing one of these, must not turn detection off.
KEPT_TYPES = (
    "AWS::AccessAnalyzer::Analyzer",
    "AWS::Config::OrganizationConfigRule",
    "AWS::Config::ConfigurationAggregator",
    "AWS::SecurityHub::FindingAggregator",
    "AWS::SecurityHub::OrganizationConfiguration",
    "AWS::SecurityHub::ConfigurationPolicy",
    "AWS::SecurityHub::PolicyAssociation",
)


@pytest.mark.parametrize("region", REGIONS)
def test_detection_outlives_the_stack(region: str, synthesized: Synthesized) -> None:
    template = _stack(synthesized, region)
    kept = [
        (logical_id, r)
        for logical_id, r in template["Resources"].items()
        if r["Type"] in KEPT_TYPES
    ]
    assert len(kept) >= (12 if region == HOME else 2)
    for logical_id, resource in kept:
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_the_finding_aggregator_comes_before_central_configuration(
    synthesized: Synthesized,
) -> None:
    # the logical id of 0.2.0: a stack deployed then updates the aggregator in place
    template = _stack(synthesized, HOME)
    assert not _of_type(template, "Custom::FindingAggregator")
    resources = template["Resources"]
    aggregator_id = "FindingAggregator"
    assert resources[aggregator_id]["Type"] == "AWS::SecurityHub::FindingAggregator"
    (central,) = [
        r for r in resources.values() if r["Type"] == "AWS::SecurityHub::OrganizationConfiguration"
    ]
    assert aggregator_id in central["DependsOn"]


def test_config_aggregates_every_account_and_governed_region(synthesized: Synthesized) -> None:
    (aggregator,) = _of_type(_stack(synthesized, HOME), "AWS::Config::ConfigurationAggregator")
    source = aggregator["Properties"]["OrganizationAggregationSource"]
    assert source["AwsRegions"] == synthesized.config.governed_regions
    assert source["AllAwsRegions"] is False


def test_high_and_critical_findings_reach_the_security_topic(synthesized: Synthesized) -> None:
    template = _stack(synthesized, HOME)
    rules = {
        r["Properties"]["Name"]: r["Properties"]
        for r in _of_type(template, "AWS::Events::Rule")
        # these act (below) and do not page
        if r["Properties"]["Name"] not in ("nwl-containment", "nwl-remediation")
    }
    assert set(rules) == {
        f"nwl-{n}-findings"
        for n in (
            "guardduty",
            "inspector",
            "accessanalyzer",
            "securityhub",
            "securityhubotherregions",
            "accessanalyzerotherregions",
        )
    }
    assert rules["nwl-guardduty-findings"]["EventPattern"]["detail"] == {
        "severity": [{"numeric": [">=", 7]}]
    }
    assert rules["nwl-guardduty-findings"]["EventPattern"]["detail-type"] == ["GuardDuty Finding"]
    hub = rules["nwl-securityhub-findings"]["EventPattern"]["detail"]["findings"]
    assert hub["Severity"]["Label"] == ["HIGH", "CRITICAL"]
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert "DeadLetterConfig" in target
        assert "needs a person" in str(target["InputTransformer"]["InputTemplate"])
    (topic,) = _of_type(template, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]


def test_every_region_contains_what_high_findings_name(synthesized: Synthesized) -> None:
    for region in synthesized.config.governed_regions:
        template = _stack(synthesized, region)
        (function,) = [
            f
            for f in _of_type(template, "AWS::Lambda::Function")
            if f["Properties"]["FunctionName"] == f"nwl-containment-{region}"
        ]
        environment = function["Properties"]["Environment"]["Variables"]
        assert json.loads(environment["MODES"]) == {
            "Sandbox": "isolate",
            "Workloads/NonProd": "isolate",
            "Workloads/Prod": "notify",
        }
        # one topic and one evidence bucket, in the home region, named not referenced
        assert environment["TOPIC_ARN"] == f"arn:aws:sns:{HOME}:{AUDIT}:nwl-security-findings"
        assert environment["EVIDENCE_BUCKET"] == "nwl-evidence-290123456789-eu-west-1"
        (rule,) = [
            r["Properties"]
            for r in _of_type(template, "AWS::Events::Rule")
            if r["Properties"]["Name"] == "nwl-containment"
        ]
        assert rule["EventPattern"]["detail"] == {
            "severity": [{"numeric": [">=", 7]}],
            "resource": {"resourceType": ["Instance", "AccessKey"]},
        }
        (target,) = rule["Targets"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 4
        assert "DeadLetterConfig" in target  # a finding that cannot be delivered is kept
        keys = _of_type(template, "AWS::KMS::Key")
        assert any(
            s.get("Principal") == {"Service": "events.amazonaws.com"}
            for k in keys
            for s in k["Properties"]["KeyPolicy"]["Statement"]
        ), region


def test_no_containment_where_no_ou_isolates(config_data: dict[str, Any]) -> None:
    from baseline.config import parse_config
    from baseline.stacks.containment import ContainmentSettings
    from baseline.stacks.member_baseline import MemberBaselineSettings

    config_data["incident_response"]["containment"] = {"Workloads": "notify"}
    config = parse_config(config_data)
    assert ContainmentSettings.from_config(config) is None
    responders = MemberBaselineSettings.from_config(config).principals("responder")
    assert not any("containment" in p for p in responders)


def test_an_unknown_ou_in_containment_is_named(config_data: dict[str, Any]) -> None:
    import pytest

    from baseline.config import ConfigError, parse_config

    config_data["incident_response"]["containment"] = {"Workloads/Dev": "isolate"}
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert caught.value.problems == [
        "incident_response.containment.Workloads/Dev: 'Workloads/Dev' is not an OU path "
        "(known: Security, Infrastructure, Workloads, Workloads/Prod, Workloads/NonProd, "
        "Sandbox, Suspended)"
    ]


def test_the_home_region_remediates_and_the_others_do_not(synthesized: Synthesized) -> None:
    for region in synthesized.config.governed_regions:
        names = {
            f["Properties"]["FunctionName"]
            for f in _of_type(_stack(synthesized, region), "AWS::Lambda::Function")
        }
        # findings of every region are aggregated into the home region: one remediator
        assert ("nwl-remediator" in names) is (region == HOME), region
    (function,) = [
        f
        for f in _of_type(_stack(synthesized, HOME), "AWS::Lambda::Function")
        if f["Properties"]["FunctionName"] == "nwl-remediator"
    ]
    assert json.loads(function["Properties"]["Environment"]["Variables"]["MODES"]) == {
        "Sandbox": "remediate",
        "Workloads/NonProd": "remediate",
        "Workloads/Prod": "notify",
    }


def test_only_this_accounts_rules_may_publish_findings(synthesized: Synthesized) -> None:
    """The finding rules publish as a role of the audit account: no statement of the
    topic's policy or of its key's lets events.amazonaws.com in without a condition (one
    a rule of any other account could use), and the role trusts EventBridge of this
    account only."""
    template = _stack(synthesized, HOME)
    resources = template["Resources"]
    (topic_policy,) = _of_type(template, "AWS::SNS::TopicPolicy")
    (topic_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]
    key_id = resources[topic_id]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = [
        *topic_policy["Properties"]["PolicyDocument"]["Statement"],
        *resources[key_id]["Properties"]["KeyPolicy"]["Statement"],
    ]
    events_grants = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events_grants and all(
        s["Condition"] == {"StringEquals": {"aws:SourceAccount": AUDIT}} for s in events_grants
    )
    roles = {
        t["RoleArn"]["Fn::GetAtt"][0]
        for r in _of_type(template, "AWS::Events::Rule")
        for t in r["Properties"]["Targets"]
        if t["Arn"] == {"Ref": topic_id}
    }
    (role_id,) = roles
    (trust,) = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": AUDIT}}
