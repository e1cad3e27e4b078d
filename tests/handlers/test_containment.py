"""The containment function, end to end against botocore's Stubber (every request and
response validated against the service models): a high finding on an instance with three
volumes, an instance profile and an Auto Scaling group in an OU that isolates; the second
delivery of the same finding; a failed snapshot; a role's credentials; an OU that only
notifies."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from baseline import defaults, naming
from baseline.handlers import containment
from baseline.handlers.containment import Settings, handle

ACCOUNT = "867890123456"  # orders-staging, Workloads/NonProd
REGION = "eu-central-1"
FINDING_ID = "16afba5c5c43e07c9e3e5e2e544e95df"
CASE = f"gd-{FINDING_ID}"
INSTANCE = "i-0123456789abcdef0"
VPC = "vpc-0a1b2c3d4e5f60718"
VOLUMES = ["vol-0aaaaaaaaaaaaaaa1", "vol-0aaaaaaaaaaaaaaa2", "vol-0aaaaaaaaaaaaaaa3"]
INTERFACE = "eni-0bbbbbbbbbbbbbbb1"
APP_GROUP = "sg-0ddddddddddddddd1"
GROUP = "sg-0ccccccccccccccc1"
BUCKET = "nwl-evidence-290123456789-eu-west-1"
TOPIC = "arn:aws:sns:eu-west-1:423456789012:nwl-security-findings"
QUARANTINE = f"arn:aws:iam::{ACCOUNT}:instance-profile/nwl-quarantine"
SETTINGS = Settings(
    prefix="nwl",
    modes={"Sandbox": "isolate", "Workloads/NonProd": "isolate", "Workloads/Prod": "notify"},
    topic_arn=TOPIC,
    evidence_bucket=BUCKET,
    evidence_region="eu-west-1",
)
DEFAULT_EGRESS = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
OPEN_IN = [{"IpProtocol": "-1", **containment.ANYWHERE}]
OPEN_OUT = [*DEFAULT_EGRESS, {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]


BITCOIN = "CryptoCurrency:EC2/BitcoinTool.B!DNS"
TAKEN = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"


def event(
    resource: dict[str, Any], severity: float = 8.0, finding_type: str = BITCOIN
) -> dict[str, Any]:
    """An EventBridge GuardDuty event in the shape GuardDuty documents."""
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": "423456789012",
        "time": "2026-12-01T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "schemaVersion": "2.0",
            "accountId": ACCOUNT,
            "region": REGION,
            "partition": "aws",
            "id": FINDING_ID,
            "type": finding_type,
            "resource": resource,
            "severity": severity,
            "createdAt": "2026-12-01T11:58:00.000Z",
            "updatedAt": "2026-12-01T11:59:00.000Z",
            "title": "EC2 instance is querying a domain name associated with Bitcoin activity.",
        },
    }


INSTANCE_RESOURCE = {"resourceType": "Instance", "instanceDetails": {"instanceId": INSTANCE}}
ROLE_RESOURCE = {
    "resourceType": "AccessKey",
    "accessKeyDetails": {
        "accessKeyId": "ASIAEXAMPLE000000001",
        "principalId": "AROAEXAMPLE000000001:i-0123456789abcdef0",
        "userName": "orders-app",
        "userType": "AssumedRole",
    },
}


class Clients:
    """Stubbed clients of the function (organizations, s3, sns) and of the member account
    (one stub per service, whichever of ``regions`` it is asked in)."""

    def __init__(self, regions: set[str] | None = None) -> None:
        self.stubs: dict[str, tuple[Any, Stubber]] = {}
        self.regions = regions or {REGION}
        self.asked: list[str] = []  # the regions the responder was asked for, in order

    def __call__(self, service: str, region: str | None = None) -> Any:
        return self.get(service)[0]

    def get(self, service: str) -> tuple[Any, Stubber]:
        if service not in self.stubs:
            client = boto3.client(
                service,
                region_name="eu-west-1",
                aws_access_key_id="t",
                aws_secret_access_key="t",
            )
            stub = Stubber(client)
            stub.activate()
            self.stubs[service] = (client, stub)
        return self.stubs[service]

    def stub(self, service: str) -> Stubber:
        return self.get(service)[1]

    def members(self, account: str, region: str, case: str) -> Any:
        assert (account, case) == (ACCOUNT, CASE) and region in self.regions
        self.asked.append(region)
        return lambda service: self.get(service)[0]

    def done(self) -> None:
        for _, stub in self.stubs.values():
            stub.assert_no_pending_responses()


def ou_path(clients: Clients, *units: tuple[str, str]) -> None:
    """The account's parents, innermost first, up to the root."""
    organizations = clients.stub("organizations")
    child = ACCOUNT
    for unit_id, name in units:
        organizations.add_response(
            "list_parents",
            {"Parents": [{"Id": unit_id, "Type": "ORGANIZATIONAL_UNIT"}]},
            {"ChildId": child},
        )
        organizations.add_response(
            "describe_organizational_unit",
            {"OrganizationalUnit": {"Id": unit_id, "Name": name}},
            {"OrganizationalUnitId": unit_id},
        )
        child = unit_id
    organizations.add_response(
        "list_parents", {"Parents": [{"Id": "r-nw7k", "Type": "ROOT"}]}, {"ChildId": child}
    )


NONPROD = (("ou-nw7k-n0npr0d1", "NonProd"), ("ou-nw7k-w0rk10ad", "Workloads"))


def kept(clients: Clients, name: str, content_type: str = "application/json") -> None:
    clients.stub("s3").add_response(
        "put_object",
        {},
        {
            "Bucket": BUCKET,
            "Key": f"{ACCOUNT}/{CASE}/{name}",
            "Body": ANY,
            "ContentType": content_type,
            "ChecksumAlgorithm": "SHA256",
            "Tagging": "lz%3Aincident-case=" + CASE,
        },
    )


def described(
    clients: Clients, *, groups: list[str], tags: list[dict[str, str]], profile: str = ""
) -> None:
    """The instance as EC2 describes it; ``profile``: its instance profile's ARN (its own,
    ``orders-app``, unless a run gave it another)."""
    clients.stub("ec2").add_response(
        "describe_instances",
        {
            "Reservations": [
                {
                    "Instances": [
                        {
                            "InstanceId": INSTANCE,
                            "VpcId": VPC,
                            "Tags": tags,
                            "BlockDeviceMappings": [
                                {"DeviceName": f"/dev/xvd{c}", "Ebs": {"VolumeId": v}}
                                for c, v in zip("abc", VOLUMES, strict=True)
                            ],
                            "NetworkInterfaces": [
                                {
                                    "NetworkInterfaceId": INTERFACE,
                                    "Groups": [{"GroupId": g} for g in groups],
                                }
                            ],
                            "IamInstanceProfile": {
                                "Arn": profile or APP_PROFILE,
                                "Id": "AIPAEXAMPLE0000000001",
                            },
                        }
                    ]
                }
            ]
        },
        {"InstanceIds": [INSTANCE]},
    )


def snapshots(clients: Clients, *, existing: bool, fail: str | None = None) -> None:
    ec2 = clients.stub("ec2")
    for number, volume in enumerate(VOLUMES, start=1):
        ec2.add_response(
            "describe_snapshots",
            {"Snapshots": [{"SnapshotId": f"snap-0eeeeeeeeeeeeeee{number}"}] if existing else []},
            {
                "OwnerIds": ["self"],
                "Filters": [
                    {"Name": "volume-id", "Values": [volume]},
                    {"Name": "tag:lz:incident-case", "Values": [CASE]},
                ],
            },
        )
        if existing:
            continue
        if volume == fail:
            ec2.add_client_error(
                "create_snapshot",
                service_error_code="SnapshotCreationPerVolumeRateExceeded",
                service_message="The maximum per volume CreateSnapshot request rate has been exceeded.",
            )
            continue
        ec2.add_response(
            "create_snapshot",
            {"SnapshotId": f"snap-0eeeeeeeeeeeeeee{number}"},
            {
                "VolumeId": volume,
                "Description": f"Evidence of case {CASE}, {INSTANCE}",
                "TagSpecifications": [
                    {
                        "ResourceType": "snapshot",
                        "Tags": [
                            {"Key": "lz:incident-case", "Value": CASE},
                            {"Key": "lz:evidence", "Value": CASE},
                        ],
                    }
                ],
            },
        )


def interfaces_tagged(clients: Clients, *interfaces: str, case: str = CASE) -> None:
    """The instance's interfaces get the case tag, which the guardrail then keeps."""
    clients.stub("ec2").add_response(
        "create_tags",
        {},
        {
            "Resources": list(interfaces or (INTERFACE,)),
            "Tags": [{"Key": "lz:incident-case", "Value": case}],
        },
    )


def group_lookup(clients: Clients, found: list[dict[str, Any]], vpc: str = VPC) -> None:
    clients.stub("ec2").add_response(
        "describe_security_groups",
        {"SecurityGroups": found},
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "group-name", "Values": [f"nwl-quarantine-{CASE}-{INSTANCE}"]},
                {"Name": "tag:lz:quarantine", "Values": ["true"]},
                {"Name": "tag:lz:incident-case", "Values": [CASE]},
            ]
        },
    )


def asg(clients: Clients, state: str | None) -> None:
    autoscaling = clients.stub("autoscaling")
    found = (
        [
            {
                "InstanceId": INSTANCE,
                "AutoScalingGroupName": "orders-web",
                "AvailabilityZone": "eu-central-1a",
                "LifecycleState": state,
                "HealthStatus": "HEALTHY",
                "ProtectedFromScaleIn": False,
            }
        ]
        if state
        else []
    )
    autoscaling.add_response(
        "describe_auto_scaling_instances",
        {"AutoScalingInstances": found},
        {"InstanceIds": [INSTANCE]},
    )
    if state == "InService":
        autoscaling.add_response(
            "detach_instances",
            {"Activities": []},
            {
                "InstanceIds": [INSTANCE],
                "AutoScalingGroupName": "orders-web",
                "ShouldDecrementDesiredCapacity": False,
            },
        )


def associations(clients: Clients, profile: str, *, replace: bool) -> None:
    ec2 = clients.stub("ec2")
    ec2.add_response(
        "describe_iam_instance_profile_associations",
        {
            "IamInstanceProfileAssociations": [
                {
                    "AssociationId": "iip-assoc-0123456789abcdef0",
                    "InstanceId": INSTANCE,
                    "IamInstanceProfile": {"Arn": profile, "Id": "AIPAEXAMPLE0000000001"},
                    "State": "associated",
                }
            ]
        },
        {
            "Filters": [
                {"Name": "instance-id", "Values": [INSTANCE]},
                {"Name": "state", "Values": ["associated"]},
            ]
        },
    )
    if replace:
        ec2.add_response(
            "replace_iam_instance_profile_association",
            {},
            {
                "AssociationId": "iip-assoc-0123456789abcdef0",
                "IamInstanceProfile": {"Arn": QUARANTINE},
            },
        )


APP_PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/orders-app"
ISSUED_POLICY = f"DenyContainedInstance-{INSTANCE}"


def issued_denied(clients: Clients, *, already: bool, region: str = REGION) -> None:
    """The instance's own role denies the credentials it issued to this instance."""
    iam = clients.stub("iam")
    iam.add_response(
        "get_instance_profile",
        {
            "InstanceProfile": {
                "Path": "/",
                "InstanceProfileName": "orders-app",
                "InstanceProfileId": "AIPAEXAMPLE0000000001",
                "Arn": APP_PROFILE,
                "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
                "Roles": [
                    {
                        "Path": "/",
                        "RoleName": "orders-app",
                        "RoleId": "AROAEXAMPLE0000000001",
                        "Arn": f"arn:aws:iam::{ACCOUNT}:role/orders-app",
                        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
                    }
                ],
            }
        },
        {"InstanceProfileName": "orders-app"},
    )
    lookup = {"RoleName": "orders-app", "PolicyName": ISSUED_POLICY}
    if already:
        iam.add_response(
            "get_role_policy",
            {**lookup, "PolicyDocument": json.dumps(ISSUED_DOCUMENT)},
            lookup,
        )
        return
    iam.add_client_error("get_role_policy", "NoSuchEntity", expected_params=lookup)
    iam.add_response(
        "put_role_policy", {}, {**lookup, "PolicyDocument": json.dumps(issued_document(region))}
    )


def issued_document(region: str) -> dict[str, Any]:
    """The deny of what an instance of ``region`` issued (step 6)."""
    document = json.loads(json.dumps(ISSUED_DOCUMENT))
    condition = document["Statement"][0]["Condition"]["StringEquals"]
    condition["ec2:SourceInstanceARN"] = f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{INSTANCE}"
    return document


ISSUED_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyCredentialsIssuedToTheContainedInstance",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "ec2:SourceInstanceARN": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{INSTANCE}"
                }
            },
        }
    ],
}


def notified(clients: Clients, subject: str = "Contained") -> None:
    clients.stub("sns").add_response(
        "publish",
        {"MessageId": "5f9b3c1e-0000-4000-8000-000000000001"},
        {"TopicArn": TOPIC, "Subject": subject, "Message": ANY},
    )


def group_rules(clients: Clients, ids: list[tuple[str, bool]], group: str = GROUP) -> None:
    clients.stub("ec2").add_response(
        "describe_security_group_rules",
        {
            "SecurityGroupRules": [
                {"SecurityGroupRuleId": rule, "GroupId": group, "IsEgress": egress}
                for rule, egress in ids
            ]
        },
        {"Filters": [{"Name": "group-id", "Values": [group]}]},
    )


RULES = [
    ("sgr-0000000000000000a", False),
    ("sgr-0000000000000000b", True),
    ("sgr-0000000000000000c", True),
]


def closed(clients: Clients, *, fail: bool = False, group: str = GROUP) -> None:
    ec2 = clients.stub("ec2")
    group_rules(clients, RULES, group)
    ec2.add_response(
        "revoke_security_group_ingress",
        {"Return": True},
        {"GroupId": group, "SecurityGroupRuleIds": ["sgr-0000000000000000a"]},
    )
    ec2.add_response(
        "revoke_security_group_egress",
        {"Return": True},
        {
            "GroupId": group,
            "SecurityGroupRuleIds": ["sgr-0000000000000000b", "sgr-0000000000000000c"],
        },
    )
    if not fail:
        group_rules(clients, [], group)
        return
    for _ in range(containment.CLOSE_ATTEMPTS - 1):  # the revocations never take
        group_rules(clients, RULES)
        ec2.add_client_error("revoke_security_group_ingress", "RequestLimitExceeded")


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containment, "CLOSE_BACKOFF", 0)


def first_delivery(
    clients: Clients,
    *,
    fail: str | None = None,
    close_fails: bool = False,
    put_back_fails: bool = False,
    finding_type: str = BITCOIN,
    region: str = REGION,
) -> None:
    """The stubs of a first containment; for credentials taken from the instance, it is
    found first, in ``region`` (after the finding's, where it is not, if that is another)."""
    subject = "Containment incomplete" if fail or close_fails else "Contained"
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    if finding_type == TAKEN:
        if region != REGION:
            not_here(clients)
        described(clients, groups=[APP_GROUP], tags=[{"Key": "team", "Value": "orders"}])
    described(clients, groups=[APP_GROUP], tags=[{"Key": "team", "Value": "orders"}])
    clients.stub("ec2").add_response(
        "create_tags",
        {},
        {"Resources": [INSTANCE], "Tags": [{"Key": "lz:incident-case", "Value": CASE}]},
    )
    asg(clients, "InService")
    kept(clients, "instance.json")
    clients.stub("ec2").add_response(
        "get_console_output",
        {"InstanceId": INSTANCE, "Output": "Y3J5cHRvbWluZXIgc3RhcnRlZAo="},
        {"InstanceId": INSTANCE, "Latest": True},
    )
    kept(clients, "console-output.txt", "text/plain; charset=utf-8")
    snapshots(clients, existing=False, fail=fail)
    ec2 = clients.stub("ec2")
    interfaces_tagged(clients)
    group_lookup(clients, [])
    ec2.add_response(
        "create_security_group",
        {"GroupId": GROUP},
        {
            "GroupName": f"nwl-quarantine-{CASE}-{INSTANCE}",
            "Description": f"Quarantine of case {CASE}: no traffic",
            "VpcId": VPC,
            "TagSpecifications": [
                {
                    "ResourceType": "security-group",
                    "Tags": [
                        {"Key": "lz:incident-case", "Value": CASE},
                        {"Key": "lz:quarantine", "Value": "true"},
                    ],
                }
            ],
        },
    )
    ec2.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": GROUP, "IpPermissionsEgress": DEFAULT_EGRESS}]},
        {"GroupIds": [GROUP]},
    )
    # opened to everything first, so that no flow of the instance is tracked ...
    ec2.add_response(
        "authorize_security_group_ingress",
        {"Return": True},
        {"GroupId": GROUP, "IpPermissions": OPEN_IN},
    )
    ec2.add_response(
        "authorize_security_group_egress",
        {"Return": True},
        {
            "GroupId": GROUP,
            "IpPermissions": [{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
        },
    )
    ec2.add_response(
        "modify_network_interface_attribute",
        {},
        {"NetworkInterfaceId": INTERFACE, "Groups": [GROUP]},
    )
    # ... then closed, rule by rule, and read again until no rule is left
    closed(clients, fail=close_fails)
    if close_fails and put_back_fails:
        ec2.add_client_error("modify_network_interface_attribute", "RequestLimitExceeded")
    elif close_fails:  # an open group is worse than its own: back there
        ec2.add_response(
            "modify_network_interface_attribute",
            {},
            {"NetworkInterfaceId": INTERFACE, "Groups": [APP_GROUP]},
        )
    associations(clients, APP_PROFILE, replace=True)
    issued_denied(clients, already=False, region=region)
    kept(clients, "case.json")
    notified(clients, f"{subject}: {finding_type}")


def not_here(clients: Clients) -> None:
    """EC2 of the region asked knows no such instance."""
    clients.stub("ec2").add_client_error(
        "describe_instances",
        service_error_code="InvalidInstanceID.NotFound",
        http_status_code=400,
        expected_params={"InstanceIds": [INSTANCE]},
    )


def test_an_instance_is_isolated_kept_as_evidence_and_reported() -> None:
    clients = Clients()
    first_delivery(clients)
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()
    assert record["outcome"] == f"instance {INSTANCE} contained"
    steps = [(s["name"], s["passed"]) for s in record["steps"]]
    assert all(passed for _, passed in steps), steps
    assert [name for name, _ in steps] == [
        "keep the finding",
        "act as the account's responder role",
        "read the instance",
        "tag it with the case (no stop, no termination)",
        "leave its Auto Scaling group",  # before isolation fails its health checks
        "keep its description",
        "keep its console output",
        *(f"snapshot {v}" for v in VOLUMES),
        "tag its network interfaces with the case",  # the guardrail keeps their groups
        "its quarantine group",
        "open it, so that no flow is tracked",
        f"isolate {INTERFACE}",
        "close it: no traffic",
        # its own role while the profile still names it, then the profile
        "deny the credentials its role issued to it",
        "give it the deny-all instance profile",
    ]
    assert record["ou"] == "Workloads/NonProd"


def test_the_notification_says_what_was_done_and_where_the_evidence_is() -> None:
    record = {
        "case": CASE,
        "account": ACCOUNT,
        "region": REGION,
        "ou": "Workloads/NonProd",
        "finding_type": "CryptoCurrency:EC2/BitcoinTool.B!DNS",
        "severity": 8.0,
        "outcome": f"instance {INSTANCE} contained",
        "steps": [{"name": "snapshot vol-1", "passed": True, "seconds": 0.2, "detail": "snap-1"}],
    }
    text = containment.message(record, f"s3://{BUCKET}/{ACCOUNT}/{CASE}/")
    lines = text.splitlines()
    assert lines[0] == f"Case {CASE}: instance {INSTANCE} contained."
    assert lines[1] == f"Account {ACCOUNT} (Workloads/NonProd), region {REGION}."
    assert "CryptoCurrency:EC2/BitcoinTool.B!DNS, severity 8.0" in lines[2]
    assert "PASS" in text and "snapshot vol-1: snap-1" in text
    assert f"Evidence: s3://{BUCKET}/{ACCOUNT}/{CASE}/" in text


def test_the_second_delivery_of_a_finding_makes_one_case() -> None:
    clients = Clients()
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    contained_already(clients)
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()  # no second tag, snapshot, group, rule change, detach or profile swap
    _found_done(record)


def contained_already(clients: Clients) -> None:
    """The instance as EC2 describes it after a first run (in the group, with the deny-all
    profile), and what a run then finds done: only evidence and the report are written."""
    described(
        clients,
        groups=[GROUP],
        tags=[{"Key": "lz:incident-case", "Value": CASE}],
        profile=QUARANTINE,
    )
    after_the_read(clients)


def after_the_read(clients: Clients) -> None:
    asg(clients, "Detached")
    kept(clients, "instance.json")
    clients.stub("ec2").add_response(
        "get_console_output", {"InstanceId": INSTANCE}, {"InstanceId": INSTANCE, "Latest": True}
    )
    kept(clients, "console-output.txt", "text/plain; charset=utf-8")
    snapshots(clients, existing=True)
    interfaces_tagged(clients)
    group_lookup(clients, [{"GroupId": GROUP, "IpPermissions": [], "IpPermissionsEgress": []}])
    group_rules(clients, [])
    # nothing in IAM: the deny-all profile's role is the kit's, not the instance's
    kept(clients, "case.json")
    notified(clients, "Contained: CryptoCurrency:EC2/BitcoinTool.B!DNS")


def _found_done(record: dict[str, Any]) -> None:
    details = {s["name"]: s["detail"] for s in record["steps"]}
    assert all(s["passed"] is not False for s in record["steps"])
    assert details["tag it with the case (no stop, no termination)"].startswith(
        f"already lz:incident-case={CASE}"
    )
    assert "already taken for this case" in details[f"snapshot {VOLUMES[0]}"]
    assert details[f"isolate {INTERFACE}"] == f"already only in {GROUP}"
    assert "open it, so that no flow is tracked" not in details
    assert details["close it: no traffic"] == "0 rules revoked; none left"
    assert "give it the deny-all instance profile" not in details
    skipped = [s for s in record["steps"] if s["name"].startswith("deny the credentials")]
    assert [s["passed"] for s in skipped] == [None]
    assert skipped[0]["detail"].startswith("it has the deny-all profile already")


def tag_refused(clients: Clients) -> None:
    """A run's first steps, up to its tag, which the guardrail refuses (another run, or this
    one's own retry, tagged the instance first)."""
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    described(clients, groups=[APP_GROUP], tags=[])  # read before the tag
    clients.stub("ec2").add_client_error(
        "create_tags",
        "UnauthorizedOperation",
        expected_params={
            "Resources": [INSTANCE],
            "Tags": [{"Key": "lz:incident-case", "Value": CASE}],
        },
    )


def test_a_refused_tag_of_its_own_case_goes_on_from_the_instance_as_it_is() -> None:
    """The tag refused, and the instance carries this very case: this call's retry after a
    lost answer, or the same finding delivered twice. Nothing tells them apart, so the run
    goes on (stopping would leave an instance nobody contains), from the instance read
    again: isolated already, its group is not opened again."""
    clients = Clients()
    tag_refused(clients)
    contained_already(clients)  # read again: as the other run (or this one) left it
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()
    _found_done(record)


def test_a_failed_snapshot_is_recorded_and_the_rest_still_done() -> None:
    clients = Clients()
    first_delivery(clients, fail=VOLUMES[1])
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()  # the isolation, the detach, the profile swap and the report still happened
    failed = [s for s in record["steps"] if s["passed"] is False]
    assert [s["name"] for s in failed] == [f"snapshot {VOLUMES[1]}"]
    assert "SnapshotCreationPerVolumeRateExceeded" in failed[0]["detail"]
    assert record["outcome"].endswith("but 1 of 17 steps failed")


def test_a_group_that_does_not_close_leaves_the_instance_in_its_own_groups() -> None:
    clients = Clients()
    first_delivery(clients, close_fails=True)
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()  # put back, and the profile swap and the report still happened
    steps = [(s["name"], s["passed"]) for s in record["steps"]]
    at = steps.index(("close it: no traffic", False))
    assert steps[at + 1] == (
        f"put {INTERFACE} back in its own groups: the quarantine group is open",
        True,
    )
    assert "RequestLimitExceeded" in record["steps"][at]["detail"]
    first = containment.message(record, "s3://...").splitlines()[0]
    assert first.startswith("THE QUARANTINE GROUP COULD NOT BE CLOSED")
    assert "NOT isolated" in first


def test_an_instance_left_in_an_open_group_is_said_loudly() -> None:
    clients = Clients()
    first_delivery(clients, close_fails=True, put_back_fails=True)
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()
    failed = [s["name"] for s in record["steps"] if s["passed"] is False]
    assert failed == [
        "close it: no traffic",
        f"put {INTERFACE} back in its own groups: the quarantine group is open",
    ]
    text = containment.message(record, "s3://...")
    assert text.splitlines()[0].startswith("THE QUARANTINE GROUP IS OPEN TO ALL TRAFFIC")


def test_an_instance_of_an_earlier_case_stays_in_it() -> None:
    """A second finding on a contained instance: its case, its group, its snapshots."""
    earlier = "gd-0000aaaa0000aaaa0000aaaa0000aaaa"
    clients = Clients()
    containment_of = containment.Containment(
        containment.Target("nwl", ACCOUNT, REGION, INSTANCE, CASE),
        clients.members(ACCOUNT, REGION, CASE),
    )
    described(clients, groups=[GROUP], tags=[{"Key": "lz:incident-case", "Value": earlier}])
    asg(clients, None)
    ec2 = clients.stub("ec2")
    for number, volume in enumerate(VOLUMES, start=1):
        ec2.add_response(
            "describe_snapshots",
            {"Snapshots": [{"SnapshotId": f"snap-0eeeeeeeeeeeeeee{number}"}]},
            {
                "OwnerIds": ["self"],
                "Filters": [
                    {"Name": "volume-id", "Values": [volume]},
                    {"Name": "tag:lz:incident-case", "Values": [earlier]},
                ],
            },
        )
    interfaces_tagged(clients, case=earlier)
    ec2.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": GROUP}]},
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "group-name", "Values": [f"nwl-quarantine-{earlier}-{INSTANCE}"]},
                {"Name": "tag:lz:quarantine", "Values": ["true"]},
                {"Name": "tag:lz:incident-case", "Values": [earlier]},
            ]
        },
    )
    group_rules(clients, [])
    associations(clients, QUARANTINE, replace=False)
    issued_denied(clients, already=True)
    steps = list(containment_of.run())
    clients.done()  # no new case, snapshot or group, and the group is not opened again
    assert containment_of.case == earlier
    assert all(s.passed for s in steps), [s.line() for s in steps]


def test_a_second_run_at_the_same_time_leaves_the_instance_to_the_first() -> None:
    """Two findings on one instance start two runs at once. The guardrail refuses the
    second case's tag: that run finds the first case on the instance and stops, so no
    second set of snapshots, and no group opened again while the first closes it."""
    first = "gd-0000aaaa0000aaaa0000aaaa0000aaaa"
    clients = Clients()
    tag_refused(clients)
    described(clients, groups=[APP_GROUP], tags=[{"Key": "lz:incident-case", "Value": first}])
    kept(clients, "case.json")
    notified(clients, "Contained: CryptoCurrency:EC2/BitcoinTool.B!DNS")
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()  # nothing else: no detach, snapshot, group or profile swap
    assert record["outcome"] == f"instance {INSTANCE} left to the run of case {first}"
    assert [(s["name"], s["passed"]) for s in record["steps"]][-2:] == [
        ("tag it with the case (no stop, no termination)", True),
        ("leave the rest to that run", None),
    ]


def test_a_refused_tag_on_an_instance_without_a_case_is_a_failure() -> None:
    clients = Clients()
    described(clients, groups=[APP_GROUP], tags=[])
    ec2 = clients.stub("ec2")
    ec2.add_client_error("create_tags", "UnauthorizedOperation")
    described(clients, groups=[APP_GROUP], tags=[])
    target = containment.Target("nwl", ACCOUNT, REGION, INSTANCE, CASE)
    contain = containment.Containment(target, clients.members(ACCOUNT, REGION, CASE))
    steps = contain.run()
    next(steps)  # read
    tag = next(steps)
    assert tag.passed is False and "UnauthorizedOperation" in tag.detail
    assert not contain.left_to_another_run


def _new_group(clients: Clients) -> containment.Containment:
    clients.stub("ec2").add_response(
        "create_security_group",
        {"GroupId": GROUP},
        {
            "GroupName": f"nwl-quarantine-{CASE}-{INSTANCE}",
            "Description": f"Quarantine of case {CASE}: no traffic",
            "VpcId": VPC,
            "TagSpecifications": ANY,
        },
    )
    target = containment.Target("nwl", ACCOUNT, REGION, INSTANCE, CASE)
    contain = containment.Containment(target, clients.members(ACCOUNT, REGION, CASE))
    contain.case = CASE
    return contain


def test_a_group_ec2_does_not_know_yet_is_read_again() -> None:
    """EC2 is eventually consistent: the group just made can be unknown for a moment."""
    clients = Clients()
    group_lookup(clients, [])
    contain = _new_group(clients)
    ec2 = clients.stub("ec2")
    for _ in range(2):
        ec2.add_client_error(
            "describe_security_groups",
            "InvalidGroup.NotFound",
            expected_params={"GroupIds": [GROUP]},
        )
    ec2.add_response(
        "describe_security_groups", {"SecurityGroups": [{"GroupId": GROUP}]}, {"GroupIds": [GROUP]}
    )
    group: dict[str, Any] = {}
    assert contain._quarantine_group(clients("ec2"), VPC, group) == f"{GROUP} (made)"
    assert group["id"] == GROUP
    clients.done()


def test_another_error_about_the_new_group_is_not_retried() -> None:
    clients = Clients()
    group_lookup(clients, [])
    contain = _new_group(clients)
    clients.stub("ec2").add_client_error(
        "describe_security_groups", "UnauthorizedOperation", expected_params={"GroupIds": [GROUP]}
    )
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        contain._quarantine_group(clients("ec2"), VPC, {})
    clients.done()


SECOND_VPC = "vpc-0f1e2d3c4b5a69788"
SECOND_INTERFACE = "eni-0bbbbbbbbbbbbbbb2"
SECOND_GROUP = "sg-0ccccccccccccccc2"


def quarantine_made(clients: Clients, vpc: str, group: str) -> None:
    """No quarantine group of the case in ``vpc`` yet: it is made, read, and opened."""
    group_lookup(clients, [], vpc)
    ec2 = clients.stub("ec2")
    ec2.add_response(
        "create_security_group",
        {"GroupId": group},
        {
            "GroupName": f"nwl-quarantine-{CASE}-{INSTANCE}",
            "Description": f"Quarantine of case {CASE}: no traffic",
            "VpcId": vpc,
            "TagSpecifications": ANY,
        },
    )
    ec2.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": group, "IpPermissionsEgress": OPEN_OUT}]},
        {"GroupIds": [group]},
    )
    ec2.add_response(
        "authorize_security_group_ingress",
        {"Return": True},
        {"GroupId": group, "IpPermissions": OPEN_IN},
    )


def test_an_interface_in_another_vpc_goes_into_a_quarantine_group_of_that_vpc() -> None:
    """A multi-VPC attachment: a group of the instance's VPC cannot hold an interface of
    another, so each VPC gets its own quarantine group, and each is closed."""
    clients = Clients()
    instance = {
        "InstanceId": INSTANCE,
        "VpcId": VPC,
        "NetworkInterfaces": [
            {"NetworkInterfaceId": INTERFACE, "VpcId": VPC, "Groups": [{"GroupId": APP_GROUP}]},
            {
                "NetworkInterfaceId": SECOND_INTERFACE,
                "VpcId": SECOND_VPC,
                "Groups": [{"GroupId": "sg-0ddddddddddddddd2"}],
            },
        ],
    }
    interfaces_tagged(clients, INTERFACE, SECOND_INTERFACE)
    quarantine_made(clients, VPC, GROUP)
    quarantine_made(clients, SECOND_VPC, SECOND_GROUP)
    ec2 = clients.stub("ec2")
    for interface, group in ((INTERFACE, GROUP), (SECOND_INTERFACE, SECOND_GROUP)):
        ec2.add_response(
            "modify_network_interface_attribute",
            {},
            {"NetworkInterfaceId": interface, "Groups": [group]},
        )
    closed(clients, group=GROUP)
    closed(clients, group=SECOND_GROUP)
    target = containment.Target("nwl", ACCOUNT, REGION, INSTANCE, CASE)
    contain = containment.Containment(target, clients.members(ACCOUNT, REGION, CASE))
    contain.case = CASE
    steps = list(contain._isolation_steps(clients("ec2"), instance, [INTERFACE, SECOND_INTERFACE]))
    clients.done()
    assert [(s.name, s.passed) for s in steps] == [
        ("tag its network interfaces with the case", True),
        (f"its quarantine group in {VPC}", True),
        (f"open it, so that no flow is tracked in {VPC}", True),
        (f"its quarantine group in {SECOND_VPC}", True),
        (f"open it, so that no flow is tracked in {SECOND_VPC}", True),
        (f"isolate {INTERFACE}", True),
        (f"isolate {SECOND_INTERFACE}", True),
        (f"close it: no traffic in {VPC}", True),
        (f"close it: no traffic in {SECOND_VPC}", True),
    ]
    assert steps[6].detail == f"only in {SECOND_GROUP}"


def test_console_output_of_an_instance_before_nitro() -> None:
    clients = Clients()
    ec2 = clients.stub("ec2")
    ec2.add_client_error(
        "get_console_output",
        "UnsupportedOperation",
        expected_params={"InstanceId": INSTANCE, "Latest": True},
    )
    ec2.add_response(
        "get_console_output",
        {"InstanceId": INSTANCE, "Output": "booted"},
        {"InstanceId": INSTANCE},
    )
    kept_bodies: list[bytes] = []
    target = containment.Target("nwl", ACCOUNT, REGION, INSTANCE, CASE)
    contain = containment.Containment(target, clients.members(ACCOUNT, REGION, CASE))
    where = contain._console(
        clients("ec2"), lambda name, body, kind: kept_bodies.append(body) or name
    )
    assert where == "console-output.txt" and kept_bodies == [b"booted"]
    clients.done()


def test_a_roles_older_sessions_are_revoked_once() -> None:
    now = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
    clients = Clients()
    iam = clients.stub("iam")
    iam.add_client_error(
        "get_role_policy",
        service_error_code="NoSuchEntity",
        http_status_code=404,
        expected_params={"RoleName": "orders-app", "PolicyName": "AWSRevokeOlderSessions"},
    )
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RevokeOlderSessionsgd16afba5c5c43e07c9e3e5e2e544e95df",
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-12-01T12:00:05Z"}},
            }
        ],
    }
    iam.add_response(
        "put_role_policy",
        {},
        {
            "RoleName": "orders-app",
            "PolicyName": "AWSRevokeOlderSessions",
            "PolicyDocument": json.dumps(document),
        },
    )
    revocation = containment.Revocation(
        "orders-app", CASE, clients.members(ACCOUNT, REGION, CASE), now
    )
    (step,) = list(revocation.run())
    assert step.passed, step.line()
    # the same finding again: the revocation of this case is there, nothing is written
    iam.add_response(
        "get_role_policy",
        {
            "RoleName": "orders-app",
            "PolicyName": "AWSRevokeOlderSessions",
            "PolicyDocument": json.dumps(document),
        },
        {"RoleName": "orders-app", "PolicyName": "AWSRevokeOlderSessions"},
    )
    again = containment.Revocation(
        "orders-app", CASE, clients.members(ACCOUNT, REGION, CASE), last_seen="2026-12-01T12:00:00Z"
    )
    (step,) = list(again.run())
    assert step.detail == (
        "already revoked for this case (AWSRevokeOlderSessions, 2026-12-01T12:00:05Z)"
    )
    # activity seen after the revocation (GuardDuty delivers the finding again as it
    # recurs): the newer sessions are revoked too
    iam.add_response(
        "get_role_policy",
        {
            "RoleName": "orders-app",
            "PolicyName": "AWSRevokeOlderSessions",
            "PolicyDocument": json.dumps(document),
        },
        {"RoleName": "orders-app", "PolicyName": "AWSRevokeOlderSessions"},
    )
    later = json.loads(json.dumps(document))
    later["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] = (
        "2026-12-01T13:00:00Z"
    )
    iam.add_response(
        "put_role_policy",
        {},
        {
            "RoleName": "orders-app",
            "PolicyName": "AWSRevokeOlderSessions",
            "PolicyDocument": json.dumps(later),
        },
    )
    recurring = containment.Revocation(
        "orders-app",
        CASE,
        clients.members(ACCOUNT, REGION, CASE),
        now=datetime(2026, 12, 1, 13, 0, 0, tzinfo=UTC),
        last_seen="2026-12-01T12:40:00Z",
    )
    (step,) = list(recurring.run())
    assert step.passed and "2026-12-01T13:00:00Z" in step.detail
    clients.done()


def test_no_responder_role_is_reported_not_lost() -> None:
    clients = Clients()
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    kept(clients, "case.json")
    notified(clients, "Containment incomplete: CryptoCurrency:EC2/BitcoinTool.B!DNS")

    def refused(account: str, region: str, case: str) -> Any:
        raise RuntimeError("AccessDenied: not authorized to perform sts:AssumeRole")

    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, refused)
    clients.done()
    assert record["outcome"].startswith("nothing: the responder role could not be assumed")
    assert record["steps"][1]["passed"] is False


def first_revocation(clients: Clients) -> None:
    """The role's older sessions revoked, the first time for the role."""
    iam = clients.stub("iam")
    iam.add_client_error("get_role_policy", service_error_code="NoSuchEntity", http_status_code=404)
    iam.add_response(
        "put_role_policy",
        {},
        {"RoleName": "orders-app", "PolicyName": "AWSRevokeOlderSessions", "PolicyDocument": ANY},
    )


def test_a_credential_finding_revokes_the_roles_sessions() -> None:
    # the session is named after an instance, but only GuardDuty's instance-credential
    # findings say the credentials came from one: any principal can name its session so
    clients = Clients()
    ou_path(clients, ("ou-nw7k-s4ndb0x1", "Sandbox"))
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    first_revocation(clients)
    kept(clients, "case.json")
    notified(clients, "Contained: CryptoCurrency:EC2/BitcoinTool.B!DNS")
    record = handle(event(ROLE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()
    assert record["outcome"] == "older sessions of role orders-app revoked"


def test_credentials_taken_from_an_instance_contain_the_instance() -> None:
    # The instance is where they leak from: containing it denies what was taken
    # (ec2:SourceInstanceARN) and leaves the role's other instances working, where a
    # revocation of the role's older sessions would stop them all.
    clients = Clients()
    first_delivery(clients, finding_type=TAKEN)  # no AWSRevokeOlderSessions expected
    record = handle(event(ROLE_RESOURCE, finding_type=TAKEN), SETTINGS, clients, clients.members)
    clients.done()
    assert record["outcome"] == (
        f"instance {INSTANCE} contained, where the credentials of role orders-app were taken"
    )
    steps = [(s["name"], s["passed"]) for s in record["steps"]]
    assert all(passed for _, passed in steps), steps
    assert ("deny the credentials its role issued to it", True) in steps


def test_credentials_taken_from_an_instance_elsewhere_contain_it_where_it_runs() -> None:
    """GuardDuty raised it in the region where the credentials were used (and sends
    IAM's and STS's global events to every region): the instance runs in another governed
    region, and is contained there, its role's other instances left working."""
    clients = Clients(regions={REGION, "eu-west-1"})
    first_delivery(clients, finding_type=TAKEN, region="eu-west-1")
    settings = dataclasses.replace(SETTINGS, regions=(REGION, "eu-west-1"))
    record = handle(event(ROLE_RESOURCE, finding_type=TAKEN), settings, clients, clients.members)
    clients.done()  # no AWSRevokeOlderSessions
    assert record["outcome"] == (
        f"instance {INSTANCE} contained in eu-west-1, where the credentials of role "
        "orders-app were taken"
    )
    details = {s["name"]: s["detail"] for s in record["steps"]}
    assert details[f"find {INSTANCE} in the governed regions"] == "in eu-west-1"
    assert clients.asked == [REGION, "eu-west-1"]


def test_a_region_that_does_not_answer_is_no_answer() -> None:
    """A governed region not enabled in the account (say) answers with an error: the
    search goes on, and since it could not look everywhere it does not say the instance
    runs nowhere; the role's older sessions are still revoked."""
    clients = Clients(regions={REGION, "eu-west-1", "us-east-1"})
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    not_here(clients)  # the finding's region
    clients.stub("ec2").add_client_error(
        "describe_instances", "AuthFailure", expected_params={"InstanceIds": [INSTANCE]}
    )  # eu-west-1
    not_here(clients)  # us-east-1: asked all the same
    first_revocation(clients)
    kept(clients, "case.json")
    notified(clients, f"Containment incomplete: {TAKEN}")
    settings = dataclasses.replace(SETTINGS, regions=("eu-west-1", REGION, "us-east-1"))
    record = handle(event(ROLE_RESOURCE, finding_type=TAKEN), settings, clients, clients.members)
    clients.done()
    (search,) = [s for s in record["steps"] if s["name"].startswith("find ")]
    assert search["passed"] is False and "not read in eu-west-1 (ClientError" in search["detail"]
    assert record["outcome"].startswith(
        f"older sessions of role orders-app revoked (instance {INSTANCE}, where they were"
        " taken, could not be read)"
    )


def test_credentials_taken_from_an_instance_that_is_gone_revoke_the_roles_sessions() -> None:
    clients = Clients(regions={REGION, "eu-west-1"})
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    not_here(clients)
    not_here(clients)  # in no governed region
    first_revocation(clients)
    kept(clients, "case.json")
    notified(clients, f"Contained: {TAKEN}")
    settings = dataclasses.replace(SETTINGS, regions=("eu-west-1", REGION))
    record = handle(event(ROLE_RESOURCE, finding_type=TAKEN), settings, clients, clients.members)
    clients.done()
    assert record["outcome"] == (
        f"older sessions of role orders-app revoked (instance {INSTANCE}, where they were"
        " taken, runs in no governed region)"
    )
    names = [(s["name"], s["passed"]) for s in record["steps"]]
    assert names[-2:] == [
        (f"find {INSTANCE} in the governed regions", True),
        ("revoke the older sessions of orders-app", True),
    ]
    assert [s["detail"] for s in record["steps"]][-2].startswith(
        f"in none of {REGION}, eu-west-1"  # the finding's region first
    )


@pytest.mark.parametrize(
    "principal", ["AROAEXAMPLE000000001:i-0123", "AROAEXAMPLE000000001:deploy-i-0123456789abcdef0"]
)
def test_a_session_not_named_after_an_instance_is_revoked(principal: str) -> None:
    clients = Clients()
    ou_path(clients, ("ou-nw7k-s4ndb0x1", "Sandbox"))
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    first_revocation(clients)
    kept(clients, "case.json")
    notified(clients, f"Contained: {TAKEN}")
    resource = {
        "resourceType": "AccessKey",
        "accessKeyDetails": {
            "principalId": principal,
            "userName": "orders-app",
            "userType": "AssumedRole",
        },
    }
    record = handle(event(resource, finding_type=TAKEN), SETTINGS, clients, clients.members)
    clients.done()
    assert record["outcome"] == "older sessions of role orders-app revoked"


def test_an_ou_that_notifies_is_left_alone() -> None:
    clients = Clients()
    ou_path(clients, ("ou-nw7k-pr0d0001", "Prod"), ("ou-nw7k-w0rk10ad", "Workloads"))
    record = handle(event(INSTANCE_RESOURCE), SETTINGS, clients, clients.members)
    clients.done()  # no member client, no evidence, no second notification
    assert record == {"case": CASE, "mode": "notify", "steps": []}
    assert set(clients.stubs) == {"organizations"}


@pytest.mark.parametrize(
    ("path", "mode"),
    [
        ("Workloads/NonProd", "isolate"),
        ("Workloads/NonProd/Team", "isolate"),  # the nearest OU listed
        ("Workloads/Prod", "notify"),
        ("Workloads", "notify"),  # not listed: notify
        ("Sandbox", "isolate"),
        ("", "notify"),  # directly under the root
    ],
)
def test_an_account_follows_the_nearest_ou_listed(path: str, mode: str) -> None:
    assert SETTINGS.mode_of(path) == mode


def test_the_handlers_names_are_the_kits() -> None:
    """The handler takes nothing from the package (it runs alone in Lambda): its copies
    of the kit's names must stay equal to the originals."""
    assert containment.CASE_TAG == defaults.CASE_TAG
    assert containment.EVIDENCE_TAG == defaults.EVIDENCE_TAG
    assert containment.QUARANTINE_TAG == defaults.QUARANTINE_TAG
    assert containment.responder_role("nwl") == naming.incident_responder_role("nwl")
    assert containment.quarantine_profile("nwl") == naming.quarantine_role("nwl")
    assert containment.REVOKE_POLICY == naming.REVOKE_SESSIONS_POLICY


def test_a_game_days_sample_finding_is_not_contained() -> None:
    clients = Clients()
    ou_path(clients, ("ou-nw7k-s4ndb0x1", "Sandbox"))
    sample = event(INSTANCE_RESOURCE)
    sample["detail"]["service"] = {"additionalInfo": {"sample": True}}
    record = handle(sample, SETTINGS, clients, clients.members)
    clients.done()
    assert record == {"case": CASE, "mode": "sample", "steps": []}
    assert set(clients.stubs) == {"organizations"}


@pytest.mark.parametrize(
    ("user", "kind", "outcome"),
    [
        # nothing acts on an IAM user's keys: a person does (the playbook)
        ("legacy-deployer", "IAMUser", "nothing: the finding names no instance"),
        # IAM refuses any change to Identity Center's roles: no call is made
        (
            "AWSReservedSSO_PowerUser_0123456789abcdef",
            "AssumedRole",
            "nothing: IAM refuses changes to role AWSReservedSSO_PowerUser_0123456789abcdef",
        ),
    ],
)
def test_credentials_nothing_can_contain_are_mailed_as_not_contained(
    user: str, kind: str, outcome: str
) -> None:
    """The mail's subject does not say they were contained, and what to do is named."""
    clients = Clients()
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    kept(clients, "case.json")
    caller = "UnauthorizedAccess:IAMUser/MaliciousIPCaller"
    notified(clients, f"Not contained, a person acts: {caller}")
    resource = {
        "resourceType": "AccessKey",
        "accessKeyDetails": {
            "accessKeyId": "ASIAEXAMPLE000000002",
            "principalId": "AROAEXAMPLE000000002:alice@example.com",
            "userName": user,
            "userType": kind,
        },
    }
    record = handle(event(resource, finding_type=caller), SETTINGS, clients, clients.members)
    clients.done()  # no IAM call
    assert record["outcome"].startswith(outcome)
    revoked = [s for s in record["steps"] if s["name"].startswith("revoke")]
    assert all(s["passed"] is None and "Identity Center" in s["detail"] for s in revoked)
    assert len(revoked) == (kind == "AssumedRole")


def test_an_empty_page_of_parents_is_read_on() -> None:
    """Organizations may answer with no parent and a token: the next page holds it."""
    from baseline.handlers.containment import ou_path as path_of

    clients = Clients()
    organizations = clients.stub("organizations")
    organizations.add_response(
        "list_parents", {"Parents": [], "NextToken": "more"}, {"ChildId": ACCOUNT}
    )
    organizations.add_response(
        "list_parents",
        {"Parents": [{"Id": "r-nw7k", "Type": "ROOT"}]},
        {"ChildId": ACCOUNT, "NextToken": "more"},
    )
    assert path_of(clients("organizations"), ACCOUNT) == ""
    clients.done()


def test_credentials_taken_from_a_terminated_instance_revoke_the_roles_sessions() -> None:
    """EC2 still describes a terminated instance for a while: nothing is left to isolate,
    so the role's older sessions are revoked, as for an instance EC2 no longer knows."""
    clients = Clients()
    ou_path(clients, *NONPROD)
    kept(clients, "finding-2026-12-01T11:59:00.000Z.json")
    gone = {"InstanceId": INSTANCE, "State": {"Code": 48, "Name": "terminated"}}
    for _ in range(2):  # found, then read
        clients.stub("ec2").add_response(
            "describe_instances",
            {"Reservations": [{"Instances": [gone]}]},
            {"InstanceIds": [INSTANCE]},
        )
    first_revocation(clients)
    kept(clients, "case.json")
    notified(clients, f"Containment incomplete: {TAKEN}")
    record = handle(event(ROLE_RESOURCE, finding_type=TAKEN), SETTINGS, clients, clients.members)
    clients.done()  # no tag, snapshot or group on what is gone
    assert record["outcome"].startswith(
        f"older sessions of role orders-app revoked (instance {INSTANCE}, where they were"
        " taken, could not be read)"
    )
    (read,) = [s for s in record["steps"] if s["name"] == "read the instance"]
    assert (read["passed"], read["detail"]) == (False, "it is terminated")
