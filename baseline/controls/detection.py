"""Detection controls: the threat-detection services, Security Hub's standards, and the
routing of findings to the security topic."""

from __future__ import annotations

from baseline.controls.model import Control, Evidence, Templates, control, properties, resources

CONTROLS: list[Control] = []


@control(
    CONTROLS,
    id="LZ-DET-01",
    title="GuardDuty, Inspector, Macie and Detective run for every member in every region",
    explanation=(
        "In every governed region the four services are turned on for every member, and "
        "the organisation settings make the audit account their delegated administrator "
        "there."
    ),
    best_practices=("SEC04-BP01", "SEC04-BP02", "SEC06-BP01", "SEC07-BP03"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_detective_services(templates: Templates) -> Evidence:
    """The audit account administers every service, turned on for every member, in every region."""
    evidence = Evidence()
    designated: set[str] = set()
    for _, settings in resources(templates, "Custom::OrganizationSettings"):
        admins = properties(settings).get("ServiceAdministrators") or {}
        designated |= {
            f"{s}@{r}" for s in admins.get("Services", []) for r in admins.get("Regions", [])
        }
    for name, resource in resources(templates, "Custom::SecurityServices"):
        region = name.split("/")[0].removeprefix("SecurityTooling-")
        services = set(properties(resource).get("Services", []))
        wanted = {"guardduty", "inspector2", "macie2", "detective"}
        ok = wanted <= services and all(f"{s}@{region}" in designated for s in wanted)
        evidence.record(f"{region}: {sorted(services)}", ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-DET-02",
    title="Security Hub runs AWS FSBP and CIS v5.0.0 everywhere, findings aggregated",
    explanation=(
        "Every Security Hub configuration policy enables the service with the AWS "
        "Foundational Security Best Practices and CIS AWS Foundations standards, and a "
        "finding aggregator gathers every region's findings in the home region."
    ),
    best_practices=("SEC04-BP02", "SEC04-BP03", "SEC01-BP03"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_security_hub_standards(templates: Templates) -> Evidence:
    """Every configuration policy enables FSBP and CIS; a finding aggregator exists."""
    evidence = Evidence()
    for name, policy in resources(templates, "AWS::SecurityHub::ConfigurationPolicy"):
        hub = properties(policy).get("ConfigurationPolicy", {}).get("SecurityHub", {})
        standards = " ".join(hub.get("EnabledStandardIdentifiers", []))
        ok = (
            hub.get("ServiceEnabled") is True
            and "foundational-security-best-practices" in standards
            and "cis-aws-foundations" in standards
        )
        evidence.record(name, ok)
    for name, _ in resources(templates, "AWS::SecurityHub::FindingAggregator"):
        evidence.found.append(name)
    if not list(resources(templates, "AWS::SecurityHub::FindingAggregator")):
        evidence.violations.append("no Security Hub finding aggregator")
    return evidence


@control(
    CONTROLS,
    id="LZ-DET-03",
    title="GuardDuty, Security Hub, Access Analyzer and Inspector findings are routed",
    explanation=(
        "For each of the four services an EventBridge rule with a target matches its "
        "findings, so that high and critical ones reach the security topic."
    ),
    best_practices=("SEC04-BP03", "SEC10-BP01"),
    implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
)
def check_findings_routed(templates: Templates) -> Evidence:
    """Each finding source has an EventBridge rule with a target."""
    evidence = Evidence()
    sources = {"aws.guardduty", "aws.securityhub", "aws.access-analyzer", "aws.inspector2"}
    routed = set()
    for name, rule in resources(templates, "AWS::Events::Rule"):
        props = properties(rule)
        source = set(props.get("EventPattern", {}).get("source", []))
        if source & sources and props.get("Targets"):
            routed |= source
            evidence.found.append(name)
    evidence.violations += [f"{s} not routed" for s in sorted(sources - routed)]
    return evidence
