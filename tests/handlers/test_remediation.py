"""The remediation function against botocore's Stubber (every request and response
validated): a security group open to the world on SSH in an OU that remediates, a public
bucket, a production account that is only notified about, the responder's quarantine
group, a runbook that fails, a control that passes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from baseline import naming
from baseline.handlers import remediation
from baseline.handlers.remediation import RUNBOOKS, Settings, handle
from tests.handlers.test_containment import NONPROD, Clients, ou_path

ACCOUNT = "867890123456"  # orders-staging, Workloads/NonProd (as in test_containment)
REGION = "eu-central-1"
GROUP = "sg-0123456789abcdef0"
TOPIC = "arn:aws:sns:eu-west-1:423456789012:nwl-security-findings"
SETTINGS = Settings(
    prefix="nwl",
    modes={"Sandbox": "remediate", "Workloads/NonProd": "remediate", "Workloads/Prod": "notify"},
    topic_arn=TOPIC,
)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/nwl-remediation"
EXECUTION = "4f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"


def finding(control: str, resource: dict[str, Any], status: str = "FAILED") -> dict[str, Any]:
    """A Security Hub finding (ASFF) of a consolidated control, as EventBridge carries it."""
    return {
        "SchemaVersion": "2018-10-08",
        "Id": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/{control}/finding/1",
        "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/securityhub",
        "GeneratorId": f"security-control/{control}",
        "AwsAccountId": ACCOUNT,
        "Region": REGION,
        "Title": "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22",
        "Compliance": {"Status": status, "SecurityControlId": control},
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
        "Severity": {"Label": "HIGH"},
        "Resources": [resource],
    }


def group(tags: dict[str, str] | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AwsEc2SecurityGroup",
        "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{GROUP}",
        "Region": REGION,
    }
    if tags is not None:
        resource["Tags"] = tags
    return resource


BUCKET = {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::orders-exports", "Region": REGION}


def event(*findings: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "9a3c8e2b-1111-4a2b-8c3d-0e1f2a3b4c5d",
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": "423456789012",
        "region": "eu-west-1",
        "detail": {"findings": list(findings)},
    }


class Members(Clients):
    def members(self, account: str, region: str, case: str = "") -> Any:  # type: ignore[override]
        assert (account, region) == (ACCOUNT, REGION)
        return lambda service: self.get(service)[0]


def started(clients: Clients, document: str, parameter: str, value: str, status: str) -> None:
    ssm = clients.stub("ssm")
    ssm.add_response(
        "start_automation_execution",
        {"AutomationExecutionId": EXECUTION},
        {
            "DocumentName": document,
            "Parameters": {parameter: [value], "AutomationAssumeRole": [ROLE]},
        },
    )
    ssm.add_response(
        "get_automation_execution",
        {"AutomationExecution": {"AutomationExecutionStatus": status}},
        {"AutomationExecutionId": EXECUTION},
    )


def notified(clients: Clients, subject: str) -> None:
    clients.stub("sns").add_response(
        "publish",
        {"MessageId": "5f9b3c1e-0000-4000-8000-000000000002"},
        {"TopicArn": TOPIC, "Subject": subject, "Message": ANY},
    )


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remediation, "POLL_SECONDS", 0)


def test_ssh_open_to_the_world_is_closed_by_the_aws_runbook() -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    started(clients, "AWS-DisablePublicAccessForSecurityGroup", "GroupId", GROUP, "Success")
    notified(clients, f"Remediated: EC2.13 {GROUP}")
    (record,) = handle(event(finding("EC2.13", group())), SETTINGS, clients, clients.members)
    clients.done()
    assert record["execution"] == EXECUTION and record["ou"] == "Workloads/NonProd"
    text = remediation.message(record)
    assert (
        text.splitlines()[0].startswith("EC2.13 (Security groups should not allow")
        and GROUP in text
    )
    assert "PASS" in text and EXECUTION in text


def test_a_public_bucket_is_blocked() -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    started(
        clients,
        "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
        "BucketName",
        "orders-exports",
        "Success",
    )
    notified(clients, "Remediated: S3.8 orders-exports")
    handle(event(finding("S3.8", BUCKET)), SETTINGS, clients, clients.members)
    clients.done()


def test_a_runbook_that_fails_is_reported_as_failed() -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    started(clients, "AWS-DisablePublicAccessForSecurityGroup", "GroupId", GROUP, "Failed")
    notified(clients, f"Remediation failed: EC2.14 {GROUP}")
    (record,) = handle(event(finding("EC2.14", group())), SETTINGS, clients, clients.members)
    clients.done()
    (step,) = record["steps"]
    assert step["passed"] is False and "Failed" in step["detail"]


def test_production_is_notified_only() -> None:
    clients = Members()
    ou_path(clients, ("ou-nw7k-pr0d0001", "Prod"), ("ou-nw7k-w0rk10ad", "Workloads"))
    assert handle(event(finding("EC2.13", group())), SETTINGS, clients, clients.members) == []
    clients.done()
    assert set(clients.stubs) == {"organizations"}  # no runbook, no second page


def test_the_responders_quarantine_group_is_left_alone() -> None:
    """It is open to all traffic for the seconds of an isolation, by design."""
    clients = Members()
    ou_path(clients, *NONPROD)
    quarantine = group({"lz:quarantine": "true", "lz:incident-case": "gd-1"})
    assert handle(event(finding("EC2.13", quarantine)), SETTINGS, clients, clients.members) == []
    clients.done()
    assert set(clients.stubs) == {"organizations"}


@pytest.mark.parametrize(
    "unremediated",
    [finding("EC2.13", group(), status="PASSED"), finding("EC2.2", group())],
    ids=["a passed control", "a control the kit does not remediate"],
)
def test_nothing_else_is_touched(unremediated: dict[str, Any]) -> None:
    clients = Members()
    assert handle(event(unremediated), SETTINGS, clients, clients.members) == []
    assert clients.stubs == {}


def test_the_handlers_names_are_the_kits() -> None:
    assert remediation.remediation_role("nwl") == naming.remediation_role("nwl")
    assert set(RUNBOOKS) == {"EC2.13", "EC2.14", "S3.8"}
