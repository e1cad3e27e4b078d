"""The home region's finding rules, as synthesized, against sample events in the shape
each service documents: high and critical findings page, lower ones do not, and a finding
pages once (natively in the home region, through Security Hub from the others)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from baseline.gameday import DEFAULT_TYPES
from tests.conftest import Synthesized
from tests.detection.matcher import matches

HOME = "eu-west-1"
AUDIT = "423456789012"


def _envelope(
    source: str, detail_type: str, detail: dict[str, Any], region: str = HOME
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type,
        "source": source,
        "account": AUDIT,
        "time": "2026-12-01T12:00:00Z",
        "region": region,
        "resources": [],
        "detail": detail,
    }


def guardduty(severity: float, finding_type: str = DEFAULT_TYPES[0]) -> dict[str, Any]:
    return _envelope(
        "aws.guardduty",
        "GuardDuty Finding",
        {
            "schemaVersion": "2.0",
            "accountId": "756789012345",
            "region": HOME,
            "partition": "aws",
            "id": "16afba5c5c43e07c9e3e5e2e544e95df",
            "type": finding_type,
            "resource": {
                "resourceType": "Instance",
                "instanceDetails": {"instanceId": "i-99999999"},
            },
            "service": {"serviceName": "guardduty", "additionalInfo": {"sample": True}},
            "severity": severity,
            "title": "Sample finding",
        },
    )


def inspector(severity: str, status: str = "ACTIVE") -> dict[str, Any]:
    return _envelope(
        "aws.inspector2",
        "Inspector2 Finding",
        {
            "awsAccountId": "756789012345",
            "findingArn": f"arn:aws:inspector2:{HOME}:756789012345:finding/0123456789abcdef",
            "severity": severity,
            "status": status,
            "type": "PACKAGE_VULNERABILITY",
            "resources": [{"id": "i-99999999", "region": HOME, "type": "AWS_EC2_INSTANCE"}],
        },
    )


def access_analyzer(status: str) -> dict[str, Any]:
    return _envelope(
        "aws.access-analyzer",
        "Access Analyzer Finding",
        {
            "accountId": "756789012345",
            "region": HOME,
            "resourceType": "AWS::S3::Bucket",
            "isPublic": True,
            "status": status,
        },
    )


def security_hub(
    product: str, label: str, region: str = HOME, workflow: str = "NEW", state: str = "ACTIVE"
) -> dict[str, Any]:
    finding = {
        "SchemaVersion": "2018-10-08",
        "ProductName": product,
        "Region": region,
        "Severity": {"Label": label, "Normalized": 70},
        "Workflow": {"Status": workflow},
        "RecordState": state,
        "AwsAccountId": "756789012345",
    }
    return _envelope(
        "aws.securityhub", "Security Hub Findings - Imported", {"findings": [finding]}, region=HOME
    )


def _rules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    template = synthesized.templates[f"SecurityTooling-{HOME}"]
    return {
        r["Properties"]["Name"]: r["Properties"]["EventPattern"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
        and r["Properties"]["Name"] not in ("nwl-containment", "nwl-remediation")
    }


CASES = [
    # (event, the rules that must page for it; every other rule must stay quiet)
    ("GuardDuty high (the game day's types)", guardduty(8.0), {"nwl-guardduty-findings"}),
    ("GuardDuty at the threshold", guardduty(7.0), {"nwl-guardduty-findings"}),
    ("GuardDuty medium", guardduty(5.0), set()),
    ("GuardDuty low", guardduty(2.0), set()),
    ("Inspector critical", inspector("CRITICAL"), {"nwl-inspector-findings"}),
    ("Inspector medium", inspector("MEDIUM"), set()),
    ("Inspector high but closed", inspector("HIGH", "CLOSED"), set()),
    ("Access Analyzer active", access_analyzer("ACTIVE"), {"nwl-accessanalyzer-findings"}),
    ("Access Analyzer archived", access_analyzer("ARCHIVED"), set()),
    (
        "Macie high through Security Hub",
        security_hub("Macie", "HIGH"),
        {"nwl-securityhub-findings"},
    ),
    ("Macie low through Security Hub", security_hub("Macie", "LOW"), set()),
    ("Macie high, already notified", security_hub("Macie", "HIGH", workflow="NOTIFIED"), set()),
    # GuardDuty in the home region pages natively, not a second time through Security Hub
    ("GuardDuty high in the home region, aggregated", security_hub("GuardDuty", "HIGH"), set()),
    (
        "GuardDuty high in another region, aggregated",
        security_hub("GuardDuty", "CRITICAL", region="eu-central-1"),
        {"nwl-securityhubotherregions-findings"},
    ),
    (
        "GuardDuty low in another region",
        security_hub("GuardDuty", "LOW", region="us-east-1"),
        set(),
    ),
    (
        "GuardDuty high in another region, archived",
        security_hub("GuardDuty", "HIGH", region="us-east-1", state="ARCHIVED"),
        set(),
    ),
    ("Macie high, archived", security_hub("Macie", "HIGH", state="ARCHIVED"), set()),
    # Access Analyzer pages on every active finding, natively or from another region
    (
        "Access Analyzer medium in another region",
        security_hub("IAM Access Analyzer", "MEDIUM", region="us-east-1"),
        {"nwl-accessanalyzerotherregions-findings"},
    ),
    (
        "Access Analyzer in the home region, aggregated",
        security_hub("IAM Access Analyzer", "HIGH"),
        set(),
    ),
    (
        "Access Analyzer in another region, archived",
        security_hub("IAM Access Analyzer", "HIGH", region="us-east-1", state="ARCHIVED"),
        set(),
    ),
]


@pytest.mark.parametrize(("case", "event", "paging"), CASES, ids=[c[0] for c in CASES])
def test_which_rules_page_for_a_finding(
    case: str, event: dict[str, Any], paging: set[str], synthesized: Synthesized
) -> None:
    rules = _rules(synthesized)
    assert set(rules) >= paging
    fired = {name for name, pattern in rules.items() if matches(pattern, copy.deepcopy(event))}
    assert fired == paging, case


def _at(event: Any, path: str) -> Any:
    """The value at an input path (``$.detail.findings[0].Region``) of an event."""
    value = event
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.removeprefix("$.")):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]
    return value


@pytest.mark.parametrize(
    ("case", "event", "paging"), [c for c in CASES if c[2]], ids=[c[0] for c in CASES if c[2]]
)
def test_a_page_names_the_findings_account_and_region(
    case: str, event: dict[str, Any], paging: set[str], synthesized: Synthesized
) -> None:
    """Not the event's: it names the audit account, and the home region for Security Hub's
    aggregated findings of other regions."""
    template = synthesized.templates[f"SecurityTooling-{HOME}"]
    for rule in template["Resources"].values():
        if rule["Type"] != "AWS::Events::Rule" or rule["Properties"]["Name"] not in paging:
            continue
        (target,) = rule["Properties"]["Targets"]
        paths = target["InputTransformer"]["InputPathsMap"]
        template_text = target["InputTransformer"]["InputTemplate"]
        (account,) = re.findall(r'"account":<([^>]+)>', template_text)
        (region,) = re.findall(r'"region":<([^>]+)>', template_text)
        assert _at(event, paths[account]) == "756789012345", case
        assert _at(event, paths[region]) == _finding_region(event["detail"]), case


def _finding_region(detail: dict[str, Any]) -> str:
    """Where each sample puts its finding's region."""
    if "findings" in detail:
        return str(detail["findings"][0]["Region"])
    if "resources" in detail:
        return str(detail["resources"][0]["region"])
    return str(detail["region"])


def _with_resource(event: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    event["detail"]["resource"] = resource
    return event


KEY = {
    "resourceType": "AccessKey",
    "accessKeyDetails": {"userName": "orders-app", "userType": "AssumedRole"},
}
BUCKET = {"resourceType": "S3Bucket", "s3BucketDetails": [{"name": "orders-data"}]}
CONTAINMENT_CASES = [
    ("high, on an instance", guardduty(8.0), True),
    ("at the threshold", guardduty(7.0), True),
    ("just below it", guardduty(6.9), False),
    ("low", guardduty(2.0), False),
    ("high, on a role's credentials", _with_resource(guardduty(8.0), KEY), True),
    ("high, on a bucket", _with_resource(guardduty(8.0), BUCKET), False),
]


@pytest.mark.parametrize("region", ["eu-west-1", "eu-central-1", "us-east-1"])
@pytest.mark.parametrize(
    ("case", "event", "contained"), CONTAINMENT_CASES, ids=[c[0] for c in CONTAINMENT_CASES]
)
def test_which_findings_start_containment(
    region: str, case: str, event: dict[str, Any], contained: bool, synthesized: Synthesized
) -> None:
    """The containment rule of every region: high findings on instances and credentials."""
    (pattern,) = [
        r["Properties"]["EventPattern"]
        for r in synthesized.templates[f"SecurityTooling-{region}"]["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"]["Name"] == "nwl-containment"
    ]
    assert matches(pattern, copy.deepcopy(event)) is contained, case


SECURITY_HUB = "arn:aws:securityhub:eu-central-1::product/aws/securityhub"


def _control(
    control: str, status: str = "FAILED", workflow: str = "NEW", product: str = SECURITY_HUB
) -> dict[str, Any]:
    return _envelope(
        "aws.securityhub",
        "Security Hub Findings - Imported",
        {
            "findings": [
                {
                    "AwsAccountId": "867890123456",
                    "Region": "eu-central-1",
                    "ProductArn": product,
                    "ProductName": "Security Hub",
                    "Compliance": {"Status": status, "SecurityControlId": control},
                    "Workflow": {"Status": workflow},
                    "RecordState": "ACTIVE",
                    "Severity": {"Label": "HIGH"},
                    "Resources": [{"Id": "arn:aws:s3:::orders-exports", "Type": "AwsS3Bucket"}],
                }
            ]
        },
    )


REMEDIATION_CASES = [
    ("SSH open to the world", _control("EC2.13"), True),
    ("RDP open to the world", _control("EC2.14"), True),
    ("admin ports open to the world (CIS v5)", _control("EC2.53"), True),
    ("high-risk ports open (FSBP)", _control("EC2.19"), True),
    (
        "a member's own finding of that control",
        _control(
            "EC2.13",
            product="arn:aws:securityhub:eu-central-1:867890123456:product/867890123456/default",
        ),
        False,
    ),
    ("a bucket open to the public", _control("S3.8"), True),
    ("fixed since", _control("S3.8", status="PASSED"), False),
    ("already notified", _control("EC2.13", workflow="NOTIFIED"), False),
    ("a control not remediated", _control("EC2.2"), False),
]


@pytest.mark.parametrize(
    ("case", "event", "remediated"), REMEDIATION_CASES, ids=[c[0] for c in REMEDIATION_CASES]
)
def test_which_findings_start_remediation(
    case: str, event: dict[str, Any], remediated: bool, synthesized: Synthesized
) -> None:
    (pattern,) = [
        r["Properties"]["EventPattern"]
        for r in synthesized.templates[f"SecurityTooling-{HOME}"]["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"]["Name"] == "nwl-remediation"
    ]
    assert matches(pattern, copy.deepcopy(event)) is remediated, case
