"""The remediation function against botocore's Stubber (every request and response
validated): a security group open to the world on SSH in an OU that remediates (only its
world-open admin rules revoked), a public bucket (the AWS runbook), a production account
that is only notified about, the responder's quarantine group, a runbook that fails or
is still running, a control that passes, a finding of another product."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.stub import ANY

from baseline import naming
from baseline.handlers import remediation
from baseline.handlers.remediation import CONTROLS, Settings, handle, message
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
        "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
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


def started(clients: Clients, status: str) -> None:
    ssm = clients.stub("ssm")
    ssm.add_response(
        "start_automation_execution",
        {"AutomationExecutionId": EXECUTION},
        {
            "DocumentName": "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
            "Parameters": {"BucketName": ["orders-exports"], "AutomationAssumeRole": [ROLE]},
        },
    )
    ssm.add_response(
        "get_automation_execution",
        {"AutomationExecution": {"AutomationExecutionStatus": status}},
        {"AutomationExecutionId": EXECUTION},
    )


def mailed(clients: Clients, subject: str) -> None:
    """The security topic told ``subject``; the finding left as it is (NEW)."""
    clients.stub("sns").add_response(
        "publish",
        {"MessageId": "5f9b3c1e-0000-4000-8000-000000000002"},
        {"TopicArn": TOPIC, "Subject": subject, "Message": ANY},
    )


def reported(
    clients: Clients,
    subject: str,
    finding_id: str,
    unprocessed: list[dict[str, Any]] | None = None,
) -> None:
    """The security topic told ``subject``, and the finding marked NOTIFIED (or, with
    ``unprocessed``, Security Hub refused to)."""
    mailed(clients, subject)
    clients.stub("securityhub").add_response(
        "batch_update_findings",
        {"ProcessedFindings": [], "UnprocessedFindings": unprocessed or []},
        {
            "FindingIdentifiers": [
                {
                    "Id": finding_id,
                    "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
                }
            ],
            "Workflow": {"Status": "NOTIFIED"},
            "Note": {"Text": ANY, "UpdatedBy": "nwl-remediator"},
        },
    )


def group_read(clients: Clients, tags: list[dict[str, str]], rules: list[dict[str, Any]]) -> None:
    ec2 = clients.stub("ec2")
    ec2.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": GROUP, "Tags": tags}]},
        {"GroupIds": [GROUP]},
    )
    if any(t["Key"] == "lz:quarantine" for t in tags):
        return
    ec2.add_response(
        "describe_security_group_rules",
        {"SecurityGroupRules": rules},
        {"Filters": [{"Name": "group-id", "Values": [GROUP]}]},
    )


def rule(
    rule_id: str, protocol: str, low: int, high: int, source: str, *, egress: bool = False
) -> dict[str, Any]:
    cidr = {"CidrIpv6": source} if ":" in source else {"CidrIpv4": source}
    return {
        "SecurityGroupRuleId": rule_id,
        "GroupId": GROUP,
        "IsEgress": egress,
        "IpProtocol": protocol,
        "FromPort": low,
        "ToPort": high,
        **cidr,
    }


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remediation, "POLL_SECONDS", 0)


def test_only_the_world_open_admin_rules_are_revoked() -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    rules = [
        rule("sgr-00000000000000001", "tcp", 22, 22, "0.0.0.0/0"),  # SSH to the world
        rule("sgr-00000000000000002", "tcp", 3000, 4000, "::/0"),  # a range with RDP in it
        rule("sgr-00000000000000003", "-1", -1, -1, "0.0.0.0/0"),  # all traffic
        rule("sgr-00000000000000004", "tcp", 443, 443, "0.0.0.0/0"),  # the web: kept
        rule("sgr-00000000000000005", "tcp", 22, 22, "10.0.0.0/8"),  # SSH from inside: kept
        rule("sgr-00000000000000006", "-1", -1, -1, "0.0.0.0/0", egress=True),  # egress: kept
    ]
    group_read(clients, [], rules)
    clients.stub("ec2").add_response(
        "revoke_security_group_ingress",
        {"Return": True},
        {
            "GroupId": GROUP,
            "SecurityGroupRuleIds": [
                "sgr-00000000000000001",
                "sgr-00000000000000002",
                "sgr-00000000000000003",
            ],
        },
    )
    found = finding("EC2.53", group())
    reported(clients, f"Remediated: EC2.53 {GROUP}", found["Id"])
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    assert record["ou"] == "Workloads/NonProd" and record["execution"] is None
    text = remediation.message(record)
    assert text.splitlines()[0].startswith("EC2.53 (Security groups should not allow")
    assert "revoked sgr-00000000000000001" in text


def test_rules_another_finding_of_the_group_revoked_first_are_no_failure() -> None:
    """FSBP's EC2.19 and CIS's EC2.53 are two findings of one open group, each handled by
    its own invocation: the one that revokes second finds some rules gone."""
    clients = Members()
    ou_path(clients, *NONPROD)
    ssh = rule("sgr-00000000000000001", "tcp", 22, 22, "0.0.0.0/0")
    rdp = rule("sgr-00000000000000002", "tcp", 3389, 3389, "0.0.0.0/0")
    group_read(clients, [], [ssh, rdp])
    ec2 = clients.stub("ec2")
    both = {
        "GroupId": GROUP,
        "SecurityGroupRuleIds": [ssh["SecurityGroupRuleId"], rdp["SecurityGroupRuleId"]],
    }
    ec2.add_client_error(
        "revoke_security_group_ingress",
        service_error_code="InvalidSecurityGroupRuleId.NotFound",
        http_status_code=400,
        expected_params=both,
    )
    ec2.add_response(
        "describe_security_group_rules",
        {"SecurityGroupRules": [rdp]},
        {"Filters": [{"Name": "group-id", "Values": [GROUP]}]},
    )
    ec2.add_response(
        "revoke_security_group_ingress",
        {"Return": True},
        {"GroupId": GROUP, "SecurityGroupRuleIds": [rdp["SecurityGroupRuleId"]]},
    )
    found = finding("EC2.19", group())
    reported(clients, f"Remediated: EC2.19 {GROUP}", found["Id"])
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    assert (
        "revoked sgr-00000000000000002; sgr-00000000000000001 revoked already, by another "
        "finding of the group"
    ) in remediation.message(record)


def test_rules_another_finding_of_the_group_revoked_already_are_said_so() -> None:
    """The likelier race: the other finding's invocation revoked every rule first."""
    clients = Members()
    ou_path(clients, *NONPROD)
    ssh = rule("sgr-00000000000000001", "tcp", 22, 22, "0.0.0.0/0")
    group_read(clients, [], [ssh])
    ec2 = clients.stub("ec2")
    ec2.add_client_error(
        "revoke_security_group_ingress",
        service_error_code="InvalidSecurityGroupRuleId.NotFound",
        http_status_code=400,
        expected_params={"GroupId": GROUP, "SecurityGroupRuleIds": [ssh["SecurityGroupRuleId"]]},
    )
    ec2.add_response(
        "describe_security_group_rules",
        {"SecurityGroupRules": []},
        {"Filters": [{"Name": "group-id", "Values": [GROUP]}]},
    )
    found = finding("EC2.53", group())
    reported(clients, f"Remediated: EC2.53 {GROUP}", found["Id"])
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    text = remediation.message(record)
    assert "sgr-00000000000000001 revoked already, by another finding of the group" in text
    assert "revoked sgr-00000000000000001 revoked" not in text and "revoked ;" not in text


def test_a_public_bucket_is_blocked_by_the_aws_runbook() -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    started(clients, "Success")
    found = finding("S3.8", BUCKET)
    reported(clients, "Remediated: S3.8 orders-exports", found["Id"])
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    assert record["execution"] == EXECUTION
    assert EXECUTION in remediation.message(record)


def test_a_finding_security_hub_does_not_update_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It stays NEW, so each sending again starts the remediation and pages again: the
    function's log says why."""
    clients = Members()
    ou_path(clients, *NONPROD)
    started(clients, "Success")
    found = finding("S3.8", BUCKET)
    refused = {
        "FindingIdentifier": {
            "Id": found["Id"],
            "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        },
        "ErrorCode": "FindingNotFound",
        "ErrorMessage": "Finding not found",
    }
    reported(clients, "Remediated: S3.8 orders-exports", found["Id"], [refused])
    with caplog.at_level(logging.WARNING):
        handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    assert f"finding {found['Id']} not marked NOTIFIED: FindingNotFound" in caplog.text


def test_a_runbook_that_fails_is_reported_as_failed() -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    started(clients, "Failed")
    found = finding("S3.8", BUCKET)
    reported(clients, "Remediation failed: S3.8 orders-exports", found["Id"])
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    (step,) = record["steps"]
    assert step["passed"] is False and "Failed" in step["detail"]


def test_a_runbook_still_running_when_time_runs_short_is_reported_as_started() -> None:
    """It may still fail: the finding stays NEW (no BatchUpdateFindings), so a failure is
    not hidden behind NOTIFIED, which no later evaluation of the control would undo."""
    clients = Members()
    ou_path(clients, *NONPROD)
    started(clients, "InProgress")
    found = finding("S3.8", BUCKET)
    mailed(clients, "Remediation started: S3.8 orders-exports")
    # the invocation has 50 s left: no time to wait for the runbook
    (record,) = handle(event(found), SETTINGS, clients, clients.members, remaining=lambda: 50)
    clients.done()
    (step,) = record["steps"]
    assert step["passed"] is True and step["detail"].endswith("InProgress")
    assert (record["outcome"], record["workflow"]) == ("Remediation started", "NEW")
    assert record["execution"] in message(record)


def test_production_is_notified_only() -> None:
    clients = Members()
    ou_path(clients, ("ou-nw7k-pr0d0001", "Prod"), ("ou-nw7k-w0rk10ad", "Workloads"))
    assert handle(event(finding("EC2.13", group())), SETTINGS, clients, clients.members) == []
    clients.done()
    assert set(clients.stubs) == {"organizations"}  # no change, no second page


def test_the_responders_quarantine_group_is_left_alone() -> None:
    """It is open to all traffic for the seconds of an isolation, by design; its tags are
    read from the group itself, not from the finding, which may not carry them yet."""
    clients = Members()
    ou_path(clients, *NONPROD)
    group_read(clients, [{"Key": "lz:quarantine", "Value": "true"}], [])
    found = finding("EC2.13", group())
    mailed(clients, f"Not remediated: EC2.13 {GROUP}")
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()  # no revocation, and the finding stays NEW
    assert record["steps"][0]["detail"] == "left alone: the quarantine group of an incident"
    assert record["workflow"] == "NEW"


def test_a_high_risk_port_the_kit_does_not_close_is_not_remediated() -> None:
    """FSBP's EC2.19 fails on MySQL open to the world too: nothing is revoked, the mail
    says so and names the rule, and the finding stays NEW (in the queue, paged about),
    where NOTIFIED would hide a group that is still open."""
    clients = Members()
    ou_path(clients, *NONPROD)
    mysql = rule("sgr-00000000000000007", "tcp", 3306, 3306, "0.0.0.0/0")
    group_read(clients, [], [mysql, rule("sgr-00000000000000008", "icmp", -1, -1, "0.0.0.0/0")])
    found = finding("EC2.19", group())
    mailed(clients, f"Not remediated: EC2.19 {GROUP}")
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()  # no revocation, no finding update
    (step,) = record["steps"]
    assert step["passed"] is True and step["detail"].startswith("nothing revoked: ")
    assert "tcp 3306 from 0.0.0.0/0 (sgr-00000000000000007)" in step["detail"]
    assert "sgr-00000000000000008" not in step["detail"]  # no port to fail on
    assert "The finding stays NEW" in remediation.message(record)


def test_ssh_closed_beside_a_high_risk_port_kept_open_is_partly_remediated() -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    ssh = rule("sgr-00000000000000001", "tcp", 22, 22, "0.0.0.0/0")
    postgres = rule("sgr-00000000000000009", "6", 5432, 5432, "::/0")
    group_read(clients, [], [ssh, postgres])
    clients.stub("ec2").add_response(
        "revoke_security_group_ingress",
        {"Return": True},
        {"GroupId": GROUP, "SecurityGroupRuleIds": [ssh["SecurityGroupRuleId"]]},
    )
    found = finding("EC2.19", group())
    mailed(clients, f"Partly remediated: EC2.19 {GROUP}")
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    assert record["workflow"] == "NEW"
    assert record["steps"][0]["detail"] == (
        "revoked sgr-00000000000000001; still open to anywhere, on ports the kit does not "
        "close (a person decides): tcp 5432 from ::/0 (sgr-00000000000000009)"
    )


def test_ssh_closed_already_is_not_remediated_by_the_kit_and_left_to_pass() -> None:
    """CIS's EC2.53 is about SSH and RDP only: the web port is no concern of it."""
    clients = Members()
    ou_path(clients, *NONPROD)
    group_read(clients, [], [rule("sgr-00000000000000004", "tcp", 443, 443, "0.0.0.0/0")])
    found = finding("EC2.53", group())
    mailed(clients, f"Not remediated: EC2.53 {GROUP}")
    (record,) = handle(event(found), SETTINGS, clients, clients.members)
    clients.done()
    assert record["steps"][0]["detail"] == (
        "nothing revoked: no inbound rule from anywhere takes in 22 or 3389 (any more)"
    )


@pytest.mark.parametrize(
    ("status", "remaining", "subject"),
    [
        ("CompletedWithSuccess", 300.0, "Remediated"),  # an end: not polled to the deadline
        ("Rejected", 50.0, "Remediation failed"),  # no time to wait: an end all the same
        ("Exited", 50.0, "Remediation failed"),
        ("ChangeCalendarOverrideRejected", 50.0, "Remediation failed"),
    ],
)
def test_every_status_a_runbook_ends_in_is_an_end_and_only_success_passes(
    status: str, remaining: float, subject: str
) -> None:
    clients = Members()
    ou_path(clients, *NONPROD)
    started(clients, status)  # one status read
    found = finding("S3.8", BUCKET)
    reported(clients, f"{subject}: S3.8 orders-exports", found["Id"])
    (record,) = handle(
        event(found), SETTINGS, clients, clients.members, remaining=lambda: remaining
    )
    clients.done()
    assert record["steps"][0]["detail"].endswith(status)


def test_the_terminal_statuses_are_the_services() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("ssm")
    statuses = set(model.shape_for("AutomationExecutionStatus").enum)
    assert remediation.TERMINAL.issubset(statuses)
    assert remediation.SUCCEEDED.issubset(remediation.TERMINAL)
    running = {
        "Pending",
        "InProgress",
        "Waiting",
        "Cancelling",
        "PendingApproval",
        "Approved",
        "Scheduled",
        "RunbookInProgress",
        "PendingChangeCalendarOverride",
        "ChangeCalendarOverrideApproved",
    }
    assert statuses - remediation.TERMINAL == running  # a new status needs a decision


@pytest.mark.parametrize(
    "unremediated",
    [
        finding("EC2.13", group(), status="PASSED"),
        finding("EC2.2", group()),
        {
            **finding("EC2.13", group()),
            "ProductArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
        },
    ],
    ids=["a passed control", "a control the kit does not remediate", "a member's own finding"],
)
def test_nothing_else_is_touched(unremediated: dict[str, Any]) -> None:
    clients = Members()
    assert handle(event(unremediated), SETTINGS, clients, clients.members) == []
    assert clients.stubs == {}


def test_the_handlers_names_are_the_kits() -> None:
    assert remediation.remediation_role("nwl") == naming.remediation_role("nwl")
    assert remediation.remediator("nwl") == naming.remediation_function("nwl")
    assert set(CONTROLS) == {"EC2.13", "EC2.14", "EC2.19", "EC2.53", "EC2.54", "S3.8"}
