"""Detection controls (baseline/controls/detection.py): each fails once its property is removed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from baseline.controls import resources
from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    control,
    first,
    weakened,
)


def _guardduty_to_topic(t: MutableTemplates) -> dict[str, Any]:
    """The EventBridge rule that sends GuardDuty findings to a topic (by ``Ref``)."""
    return first(
        t,
        "AWS::Events::Rule",
        lambda r: (
            r["Properties"]["EventPattern"]["source"] == ["aws.guardduty"]
            and any("Ref" in target["Arn"] for target in r["Properties"].get("Targets", []))
        ),
    )


WEAKENINGS: dict[str, Weakening] = {
    "LZ-DET-01": lambda t: first(t, "Custom::OrganizationSettings")["Properties"].update(
        ServiceAdministrators={}
    ),
    "LZ-DET-02": lambda t: first(t, "AWS::SecurityHub::ConfigurationPolicy")["Properties"][
        "ConfigurationPolicy"
    ]["SecurityHub"].update(EnabledStandardIdentifiers=[]),
    # the rule that routes GuardDuty findings to the topic, not a containment rule
    "LZ-DET-03": lambda t: _guardduty_to_topic(t)["Properties"].pop("Targets"),
    "LZ-DET-04": lambda t: first(
        t,
        "AWS::Config::OrganizationConfigRule",
        lambda r: "OrganizationCustomPolicyRuleMetadata" in r["Properties"],
    )[
        "Properties"
    ][
        "OrganizationCustomPolicyRuleMetadata"
    ].update(PolicyText='rule is_role { resourceType == "AWS::IAM::Role" }'),
    "LZ-DET-05": lambda t: first(
        t,
        "AWS::Config::OrganizationConfigRule",
        lambda r: (
            r["Properties"].get("OrganizationManagedRuleMetadata", {}).get("RuleIdentifier")
            == "ACCESS_KEYS_ROTATED"
        ),
    )[
        "Properties"
    ]["OrganizationManagedRuleMetadata"].update(InputParameters='{"maxAccessKeyAge":"365"}'),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_without_a_finding_aggregator(synthesized: Synthesized) -> None:
    def drop_aggregators(templates: MutableTemplates) -> None:
        for stack in templates.values():
            for logical_id, resource in list(stack.get("Resources", {}).items()):
                if resource["Type"] == "AWS::SecurityHub::FindingAggregator":
                    del stack["Resources"][logical_id]

    assert_weakening_breaks("LZ-DET-02", drop_aggregators, synthesized)


def test_fails_with_a_finding_aggregator_that_leaves_a_region_out(
    synthesized: Synthesized,
) -> None:
    def link_fewer(templates: MutableTemplates) -> None:
        for stack in templates.values():
            for resource in stack.get("Resources", {}).values():
                if resource["Type"] == "AWS::SecurityHub::FindingAggregator":
                    resource["Properties"]["Regions"] = ["eu-central-1"]

    assert_weakening_breaks("LZ-DET-02", link_fewer, synthesized)


def _rules(templates: MutableTemplates, source: str) -> list[dict[str, Any]]:
    """Every finding rule of a source, in every stack."""
    return [
        rule["Properties"]
        for _, rule in resources(templates, "AWS::Events::Rule")
        if source in rule["Properties"].get("EventPattern", {}).get("source", [])
    ]


def _disable(templates: MutableTemplates) -> None:
    for props in _rules(templates, "aws.inspector2"):
        props["State"] = "DISABLED"


def _guardduty_only_critical(templates: MutableTemplates) -> None:
    for props in _rules(templates, "aws.guardduty"):
        props["EventPattern"]["detail"]["severity"] = [{"numeric": [">=", 9]}]


def _guardduty_only_high(templates: MutableTemplates) -> None:
    for props in _rules(templates, "aws.guardduty"):
        props["EventPattern"]["detail"]["severity"] = [{"numeric": [">=", 7, "<", 9]}]


def _security_hub_only_critical(templates: MutableTemplates) -> None:
    for props in _rules(templates, "aws.securityhub"):
        if "Severity" in props["EventPattern"]["detail"]["findings"]:  # not the remediation's
            props["EventPattern"]["detail"]["findings"]["Severity"]["Label"] = ["CRITICAL"]


def _inspector_to_a_queue(templates: MutableTemplates) -> None:
    for props in _rules(templates, "aws.inspector2"):
        props["Targets"] = [{"Arn": "arn:aws:sqs:eu-west-1:111111111111:elsewhere", "Id": "q"}]


def _routing_rules(templates: MutableTemplates, source: str) -> list[dict[str, Any]]:
    """The rules that route a source's findings to people (not to a function), each
    Security Hub one for all products but those routed on their own."""
    return [
        props
        for props in _rules(templates, source)
        if props.get("Targets")
        and all("Ref" in target["Arn"] for target in props["Targets"])
        and "Region" not in json.dumps(props["EventPattern"])
    ]


def _narrow(source: str, edit: Callable[[dict[str, Any]], None]) -> Weakening:
    """A weakening: ``edit`` on the event pattern of every routing rule of a source."""

    def weaken(templates: MutableTemplates) -> None:
        rules = _routing_rules(templates, source)
        assert rules, source
        for props in rules:
            edit(props["EventPattern"])

    return weaken


@pytest.mark.parametrize(
    "weaken",
    [
        _narrow("aws.guardduty", lambda p: p["detail"].update(type=["Recon:EC2/Portscan"])),
        _narrow("aws.inspector2", lambda p: p["detail"].update(status=["SUPPRESSED"])),
        _narrow("aws.access-analyzer", lambda p: p.update(account=["111111111111"])),
        _narrow("aws.guardduty", lambda p: p["detail"].update(status=["ACTIVE"])),
        _narrow(
            "aws.securityhub",
            lambda p: p["detail"]["findings"].update(
                ProductName=[{"anything-but": ["GuardDuty", "Macie"]}]
            ),
        ),
        _narrow(
            "aws.securityhub",
            lambda p: p["detail"]["findings"].update(Workflow={"Status": ["RESOLVED"]}),
        ),
        _narrow(
            "aws.securityhub",
            lambda p: p["detail"]["findings"].update(ProductName=["Security Hub"]),
        ),
    ],
    ids=[
        "GuardDuty one type",
        "Inspector suppressed only",
        "Access Analyzer one account",
        "GuardDuty by a status it has not",
        "Security Hub without Macie",
        "Security Hub resolved only",
        "Security Hub one product",
    ],
)
def test_fails_when_a_routing_rule_leaves_findings_out(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    """Beside severity, a rule may only drop closed findings, and, for Security Hub, the
    products that have rules of their own: anything else leaves findings unrouted."""
    assert_weakening_breaks("LZ-DET-03", weaken, synthesized)


def test_a_security_hub_rule_may_leave_out_fewer_products(synthesized: Synthesized) -> None:
    templates = weakened(
        synthesized,
        _narrow(
            "aws.securityhub",
            lambda p: p["detail"]["findings"].update(ProductName=[{"anything-but": "GuardDuty"}]),
        ),
    )
    assert control("LZ-DET-03").check(templates).holds


@pytest.mark.parametrize(
    "weaken",
    [
        _disable,
        _guardduty_only_critical,
        _guardduty_only_high,
        _security_hub_only_critical,
        _inspector_to_a_queue,
    ],
)
def test_fails_when_high_and_critical_findings_do_not_reach_the_topic(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-DET-03", weaken, synthesized)


def test_fails_without_the_root_access_key_rule(synthesized: Synthesized) -> None:
    def drop(templates: MutableTemplates) -> None:
        for stack in templates.values():
            for logical_id, resource in list(stack.get("Resources", {}).items()):
                metadata = resource.get("Properties", {}).get("OrganizationManagedRuleMetadata", {})
                if metadata.get("RuleIdentifier") == "IAM_ROOT_ACCESS_KEY_CHECK":
                    del stack["Resources"][logical_id]

    assert_weakening_breaks("LZ-DET-05", drop, synthesized)


def _drop_security_services(region: str) -> Weakening:
    """A weakening: the region's SecurityTooling stack turns no service on."""

    def drop(templates: MutableTemplates) -> None:
        stack = templates[f"SecurityTooling-{region}"]["Resources"]
        for logical_id, resource in list(stack.items()):
            if resource["Type"] == "Custom::SecurityServices":
                del stack[logical_id]

    return drop


def test_fails_when_a_governed_region_turns_no_service_on(synthesized: Synthesized) -> None:
    assert_weakening_breaks("LZ-DET-01", _drop_security_services("us-east-1"), synthesized)


def _drop_root_association(templates: MutableTemplates) -> None:
    for template in templates.values():
        for logical_id, resource in list(template["Resources"].items()):
            if resource["Type"] == "AWS::SecurityHub::PolicyAssociation":
                del template["Resources"][logical_id]


def _cis_v1_2(templates: MutableTemplates) -> None:
    hub = first(templates, "AWS::SecurityHub::ConfigurationPolicy")["Properties"][
        "ConfigurationPolicy"
    ]["SecurityHub"]
    hub["EnabledStandardIdentifiers"] = [
        s.replace("/v/5.0.0", "/v/1.2.0") for s in hub["EnabledStandardIdentifiers"]
    ]


def _local_configuration(templates: MutableTemplates) -> None:
    first(templates, "AWS::SecurityHub::OrganizationConfiguration")["Properties"].update(
        ConfigurationType="LOCAL"
    )


def _link_no_region(templates: MutableTemplates) -> None:
    # what the one-region custom resource writes, in a stack whose other regions exist
    aggregator = first(templates, "AWS::SecurityHub::FindingAggregator")
    aggregator.update(Type="Custom::FindingAggregator", Properties={"LinkedRegions": []})


@pytest.mark.parametrize(
    "weaken", [_drop_root_association, _cis_v1_2, _local_configuration, _link_no_region]
)
def test_fails_when_security_hub_is_not_everywhere_with_cis_v5(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-DET-02", weaken, synthesized)


def _exclude_workloads(rule_ids: tuple[str, ...]) -> Weakening:
    """A weakening: organisation Config rules (these managed rules, or with no ids every
    rule) exclude two member accounts."""

    def exclude(t: MutableTemplates) -> None:
        for _, rule in resources(t, "AWS::Config::OrganizationConfigRule"):
            metadata = rule["Properties"].get("OrganizationManagedRuleMetadata") or {}
            if not rule_ids or metadata.get("RuleIdentifier") in rule_ids:
                rule["Properties"]["ExcludedAccounts"] = ["756789012345", "867890123456"]

    return exclude


@pytest.mark.parametrize(
    ("control_id", "weaken"),
    [
        ("LZ-DET-04", _exclude_workloads(())),
        ("LZ-DET-05", _exclude_workloads(())),
        ("LZ-DET-05", _exclude_workloads(("MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",))),
    ],
    ids=["DET-04 every rule", "DET-05 every rule", "DET-05 the console MFA rule"],
)
def test_fails_when_a_rule_excludes_accounts(
    control_id: str, weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks(control_id, weaken, synthesized)


def test_the_guardduty_weakening_hits_the_routing_rule(synthesized: Synthesized) -> None:
    """Taking the routing rule's targets away fails LZ-DET-03 because GuardDuty is no
    longer routed, not because some other GuardDuty rule lost its targets."""
    templates = weakened(synthesized, WEAKENINGS["LZ-DET-03"])
    assert "aws.guardduty not routed" in control("LZ-DET-03").check(templates).violations


def test_fails_when_the_guardduty_rule_matches_another_detail_type(
    synthesized: Synthesized,
) -> None:
    assert_weakening_breaks(
        "LZ-DET-03",
        lambda t: _guardduty_to_topic(t)["Properties"]["EventPattern"].update(
            {"detail-type": ["GuardDuty Malware Protection Object Scan Result"]}
        ),
        synthesized,
    )


def test_fails_when_a_governed_regions_security_tooling_is_gone(synthesized: Synthesized) -> None:
    """The organisation settings designate the audit account in every governed region:
    a region whose SecurityTooling stack is missing turns nothing on there."""
    assert_weakening_breaks("LZ-DET-01", lambda t: t.pop("SecurityTooling-us-east-1"), synthesized)
