"""Detection controls: the threat-detection services, Security Hub's standards, and the
routing of findings to the security topic."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from baseline.controls.model import (
    SECURITY_TOOLING,
    Control,
    Evidence,
    Templates,
    as_list,
    control,
    is_root,
    properties,
    resources,
    tooled_regions,
)

CONTROLS: list[Control] = []

#: The standards' ARNs (any region): AWS FSBP, and CIS AWS Foundations of v5.0.0 exactly.
_FSBP = re.compile(
    r"^arn:aws[a-z-]*:securityhub:[a-z0-9-]+::standards/aws-foundational-security-best-practices/v/"
)
_CIS_V5 = re.compile(
    r"^arn:aws[a-z-]*:securityhub:[a-z0-9-]+::standards/cis-aws-foundations-benchmark/v/5\.0\.0$"
)


@control(
    CONTROLS,
    id="LZ-DET-01",
    title="GuardDuty, Inspector, Macie and Detective run for every member in every region",
    explanation=(
        "In every governed region where the organisation settings make the audit account "
        "their delegated administrator, a SecurityTooling stack turns the four services on "
        "for every member (a region whose stack is missing fails)."
    ),
    best_practices=("SEC04-BP01", "SEC04-BP02", "SEC06-BP01", "SEC07-BP03", "SEC06-BP05"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_detective_services(templates: Templates) -> Evidence:
    """The audit account administers every service, turned on for every member, in every region."""
    evidence = Evidence()
    wanted = {"guardduty", "inspector2", "macie2", "detective"}
    turned_on: dict[str, set[str]] = {}
    for name, resource in resources(templates, "Custom::SecurityServices"):
        region = name.split("/")[0].removeprefix(SECURITY_TOOLING)
        turned_on.setdefault(region, set()).update(properties(resource).get("Services", []))
    # a region designated for a service, with security tooling, that turns nothing on counts
    designated = {s: tooled_regions(templates, s) for s in wanted}
    regions = set(turned_on).union(*designated.values())
    for region in sorted(regions):
        services = turned_on.get(region, set())
        ok = wanted <= services and all(region in designated[s] for s in wanted)
        evidence.record(f"{region}: {sorted(services) or 'no security services'}", ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-DET-02",
    title="Security Hub runs AWS FSBP and CIS v5.0.0 everywhere, findings aggregated",
    explanation=(
        "Every Security Hub configuration policy enables the service with the AWS "
        "Foundational Security Best Practices and CIS AWS Foundations v5.0.0 standards and "
        "is associated with the organisation root, its stack's organisation configuration "
        "is CENTRAL, and one finding aggregator in the home region links every other "
        "region that runs the security tooling."
    ),
    best_practices=("SEC04-BP02", "SEC04-BP03", "SEC01-BP03"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_security_hub_standards(templates: Templates) -> Evidence:
    """Every configuration policy enables FSBP and CIS v5.0.0 at the root, centrally; one
    finding aggregator links the other regions."""
    evidence = Evidence()
    for name, policy in resources(templates, "AWS::SecurityHub::ConfigurationPolicy"):
        hub = properties(policy).get("ConfigurationPolicy", {}).get("SecurityHub", {})
        standards = [str(s) for s in hub.get("EnabledStandardIdentifiers", [])]
        ok = (
            hub.get("ServiceEnabled") is True
            and any(_FSBP.search(s) for s in standards)
            and any(_CIS_V5.search(s) for s in standards)
        )
        evidence.record(name, ok)
        stack, logical_id = name.split("/", 1)
        at_root = any(
            properties(a).get("ConfigurationPolicyId") == {"Fn::GetAtt": [logical_id, "Id"]}
            and properties(a).get("TargetType") == "ROOT"
            and is_root(properties(a).get("TargetId"))
            for _, a in resources({stack: templates[stack]}, "AWS::SecurityHub::PolicyAssociation")
        )
        if not at_root:
            evidence.violations.append(f"{name}: not associated with the organisation root")
        central = [
            properties(c).get("ConfigurationType")
            for _, c in resources(
                {stack: templates[stack]}, "AWS::SecurityHub::OrganizationConfiguration"
            )
        ]
        if not central or any(c != "CENTRAL" for c in central):
            evidence.violations.append(f"{name}: its stack's configuration is not CENTRAL")
    # the aggregator (CloudFormation's, or, with one region, the security-services
    # function's Custom::FindingAggregator) must link every other region that runs the
    # security tooling
    tooled = {
        stack.removeprefix("SecurityTooling-")
        for stack in templates
        if stack.startswith("SecurityTooling-")
    }
    aggregators = [
        *resources(templates, "AWS::SecurityHub::FindingAggregator"),
        *resources(templates, "Custom::FindingAggregator"),
    ]
    for name, aggregator in aggregators:
        home = name.split("/", 1)[0].removeprefix("SecurityTooling-")
        props = properties(aggregator)
        if aggregator.get("Type") == "Custom::FindingAggregator":
            linked = set(props.get("LinkedRegions", []))
        else:
            specified = props.get("RegionLinkingMode") == "SPECIFIED_REGIONS"
            linked = set(props.get("Regions", [])) if specified else {"not SPECIFIED_REGIONS"}
        evidence.record(name, linked == tooled - {home})
    if len(aggregators) != 1:
        evidence.violations.append(
            f"{len(aggregators)} Security Hub finding aggregators (one, in the home region)"
        )
    return evidence


#: The detail-type of each finding source's findings events.
_FINDINGS_DETAIL_TYPE = {
    "aws.guardduty": "GuardDuty Finding",
    "aws.securityhub": "Security Hub Findings - Imported",
    "aws.access-analyzer": "Access Analyzer Finding",
    "aws.inspector2": "Inspector2 Finding",
}


@control(
    CONTROLS,
    id="LZ-DET-03",
    title="GuardDuty, Security Hub, Access Analyzer and Inspector findings are routed",
    explanation=(
        "For each of the four services an enabled EventBridge rule matches its findings "
        "(its source, and its findings' detail-type where the rule names one) with a "
        "filter that lets HIGH and CRITICAL ones through and narrows them by nothing else "
        "(no account, region or finding type; only the open status, and for Security Hub "
        "only products routed by rules of their own), and targets the security topic of "
        "its stack."
    ),
    best_practices=("SEC04-BP03", "SEC10-BP01"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_findings_routed(templates: Templates) -> Evidence:
    """Each finding source has an enabled rule, targeting a topic, that admits HIGH and CRITICAL."""
    evidence = Evidence()
    sources = {"aws.guardduty", "aws.securityhub", "aws.access-analyzer", "aws.inspector2"}
    routed = set()
    for name, rule in resources(templates, "AWS::Events::Rule"):
        props = properties(rule)
        pattern = props.get("EventPattern", {})
        detail_types = pattern.get("detail-type")
        # a rule of another detail-type (a malware scan result, say) routes no finding
        source = {
            s
            for s in set(pattern.get("source", [])) & sources
            if detail_types is None or _FINDINGS_DETAIL_TYPE[s] in as_list(detail_types)
        }
        if not source:
            continue
        stack = name.split("/", 1)[0]
        topics = {
            logical_id
            for logical_id, resource in templates[stack].get("Resources", {}).items()
            if resource.get("Type") == "AWS::SNS::Topic"
        }
        targets_topic = any(
            isinstance(t.get("Arn"), dict) and t["Arn"].get("Ref") in topics
            for t in props.get("Targets", [])
        )
        functions = {
            logical_id
            for logical_id, resource in templates[stack].get("Resources", {}).items()
            if resource.get("Type") == "AWS::Lambda::Function"
        }
        if props.get("Targets") and all(
            isinstance(t.get("Arn"), dict) and t["Arn"].get("Fn::GetAtt", [None])[0] in functions
            for t in props["Targets"]
        ):
            continue  # automation that acts on findings (LZ-IR-03), not their routing to people
        if props.get("State", "ENABLED") != "ENABLED":
            evidence.violations.append(f"{name} is not enabled")
        elif not targets_topic:
            evidence.violations.append(f"{name} does not target a topic of its stack")
        elif not all(_admits_high_and_critical(s, pattern.get("detail", {})) for s in source):
            evidence.violations.append(f"{name} filters out HIGH or CRITICAL findings")
        elif _narrowed_by(pattern, source):
            # a rule for part of the findings (of some regions, some products) may sit
            # beside one for all of them, but routes none of the sources on its own
            continue
        else:
            routed |= source
            evidence.found.append(name)
    evidence.violations += [f"{s} not routed" for s in sorted(sources - routed)]
    return evidence


#: Role-name patterns the guardrails exempt in every account (as the rule's Guard policy
#: writes them); the rule must hold a check for each.
_EXEMPT_IN_EVERY_ACCOUNT = ("stacksets\\-exec\\-", "cdk\\-lzbaseline\\-")


@control(
    CONTROLS,
    id="LZ-DET-04",
    title="A role that looks like an exempt one but is not reported in every account",
    explanation=(
        "An organisation AWS Config rule reads every IAM role and reports one whose name "
        "the guardrails exempt (the StackSets execution role, the landing zone's bootstrap "
        "roles, the baseline's functions, break-glass) but whose account or trust is not "
        "that of the real role, such as one that existed before the guardrails. The rule "
        "excludes no account (no ExcludedAccounts)."
    ),
    best_practices=("SEC03-BP07", "SEC04-BP01", "SEC01-BP06"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_reserved_role_look_alikes(templates: Templates) -> Evidence:
    """A Guard rule over AWS::IAM::Role, run on every change, checks each exempt name."""
    evidence = Evidence()
    for name, rule in resources(templates, "AWS::Config::OrganizationConfigRule"):
        metadata = properties(rule).get("OrganizationCustomPolicyRuleMetadata")
        if not metadata or metadata.get("ResourceTypesScope") != ["AWS::IAM::Role"]:
            continue
        text = str(metadata.get("PolicyText", ""))
        ok = "ConfigurationItemChangeNotification" in metadata.get(
            "OrganizationConfigRuleTriggerTypes", []
        ) and all(pattern in text for pattern in _EXEMPT_IN_EVERY_ACCOUNT)
        excluded = properties(rule).get("ExcludedAccounts")
        evidence.record(f"{name}: excludes {excluded}" if excluded else name, ok and not excluded)
    return evidence


#: The credential-hygiene rules LZ-DET-05 looks for (AWS Config managed rule identifiers).
CREDENTIAL_RULE_IDS = (
    "ACCESS_KEYS_ROTATED",
    "IAM_ROOT_ACCESS_KEY_CHECK",
    "IAM_USER_UNUSED_CREDENTIALS_CHECK",
    "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
)


@control(
    CONTROLS,
    id="LZ-DET-05",
    title="Access-key age, unused credentials, root keys and console MFA are checked",
    explanation=(
        "Organisation AWS Config rules report, for every account, access keys older than "
        "90 days, credentials unused for 45 days, a root access key, and IAM users who "
        "sign in to the console without MFA; no rule excludes an account (no "
        "ExcludedAccounts)."
    ),
    best_practices=("SEC02-BP05", "SEC02-BP01", "SEC03-BP04"),
    cis=("1.4", "1.10", "1.12", "1.14"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_credential_hygiene(templates: Templates) -> Evidence:
    """Each of the four managed rules is an organisation rule, the key age at most 90 days
    and the unused-credential age at most 45."""
    evidence = Evidence()
    found: dict[str, dict[str, Any]] = {}
    for name, rule in resources(templates, "AWS::Config::OrganizationConfigRule"):
        metadata = properties(rule).get("OrganizationManagedRuleMetadata") or {}
        if metadata.get("RuleIdentifier") in CREDENTIAL_RULE_IDS:
            found[metadata["RuleIdentifier"]] = metadata
            if excluded := properties(rule).get("ExcludedAccounts"):
                evidence.violations.append(f"{name} excludes {excluded}")
    limits = {
        "ACCESS_KEYS_ROTATED": ("maxAccessKeyAge", 90),
        "IAM_USER_UNUSED_CREDENTIALS_CHECK": ("maxCredentialUsageAge", 45),
    }
    for identifier in CREDENTIAL_RULE_IDS:
        metadata = found.get(identifier)
        ok = metadata is not None
        if ok and identifier in limits:
            key, most = limits[identifier]
            value = _parameters(metadata).get(key)  # type: ignore[arg-type]
            ok = value is not None and int(value) <= most
        evidence.record(identifier, ok)
    return evidence


def _parameters(metadata: dict[str, Any]) -> dict[str, Any]:
    """A managed rule's input parameters (CloudFormation holds them as a JSON string)."""
    raw = metadata.get("InputParameters")
    if isinstance(raw, str):
        parsed: dict[str, Any] = json.loads(raw)
        return parsed
    return dict(raw or {})


def _admits_high_and_critical(source: str, detail: dict[str, Any]) -> bool:
    """Whether a rule's ``detail`` filter lets a source's HIGH and CRITICAL findings through.

    GuardDuty scores severity as a number (HIGH from 7.0, CRITICAL from 9.0); Inspector and
    Security Hub as a label. Access Analyzer findings carry no severity.
    """
    if source == "aws.guardduty":
        severity = detail.get("severity")
        return severity is None or any(_numeric_admits_from(f, 7) for f in severity)
    if source == "aws.inspector2":
        labels = detail.get("severity")
    elif source == "aws.securityhub":
        labels = detail.get("findings", {}).get("Severity", {}).get("Label")
    else:
        return True
    return labels is None or {"HIGH", "CRITICAL"} <= set(labels)


#: Security Hub products that have routing rules of their own (LZ-DET-03's other sources):
#: a Security Hub rule may leave their findings out.
_ROUTED_ON_THEIR_OWN = {"GuardDuty", "Inspector", "IAM Access Analyzer"}
#: What a rule may match beside severity without leaving out a finding someone must see:
#: (source, path in the detail, the one filter allowed there).
_HARMLESS_FILTERS: dict[tuple[str, str], Any] = {
    ("aws.inspector2", "status"): ["ACTIVE"],
    ("aws.access-analyzer", "status"): ["ACTIVE"],
    ("aws.securityhub", "findings.Workflow.Status"): ["NEW"],
    ("aws.securityhub", "findings.RecordState"): ["ACTIVE"],
}
#: Where each source's severity sits in its findings' detail.
_SEVERITY_PATH = {
    "aws.guardduty": "severity",
    "aws.inspector2": "severity",
    "aws.securityhub": "findings.Severity.Label",
}


def _leaves(matcher: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Each field an event pattern's ``detail`` matches on, as (dotted path, its filter)."""
    if isinstance(matcher, dict):
        for key, value in matcher.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    else:
        yield path, matcher


def _narrowed_by(pattern: dict[str, Any], sources: set[str]) -> list[str]:
    """The fields of a finding rule's pattern, beyond its source, detail-type and severity,
    that may leave a HIGH or CRITICAL finding of one of its sources out: an account, a
    region, a finding type; a status other than the open one; for Security Hub, products
    other than those routed on their own."""
    narrowed = sorted(set(pattern) - {"source", "detail-type", "detail"})
    for path, matcher in _leaves(pattern.get("detail", {})):
        for source in sources:
            harmless = (
                path == _SEVERITY_PATH.get(source)
                or _HARMLESS_FILTERS.get((source, path)) == matcher
                or (
                    source == "aws.securityhub"
                    and path == "findings.ProductName"
                    and isinstance(matcher, list)
                    and len(matcher) == 1
                    and isinstance(matcher[0], dict)
                    and set(matcher[0]) == {"anything-but"}
                    and set(as_list(matcher[0]["anything-but"])) <= _ROUTED_ON_THEIR_OWN
                )
            )
            if not harmless:
                narrowed.append(f"detail.{path}")
    return sorted(set(narrowed))


def _numeric_admits_from(matcher: Any, low: float) -> bool:
    """Whether an EventBridge matcher is a lone lower bound admitting every value from ``low``."""
    bounds = matcher.get("numeric") if isinstance(matcher, dict) else None
    if not (isinstance(bounds, list) and len(bounds) == 2):
        return False
    comparator, bound = bounds
    if not isinstance(bound, (int, float)):
        return False
    return (comparator == ">=" and bound <= low) or (comparator == ">" and bound < low)
