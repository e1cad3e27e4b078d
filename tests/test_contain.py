"""Containment of an EC2 instance through the responder role, against botocore's Stubber
(every request and response validated): three volumes, two interfaces, an instance
profile; the second run of the same case; a failed snapshot."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from baseline.__main__ import main
from baseline.config import LandingZoneConfig
from baseline.contain import DENY_ALL, Containment, responder_clients, target_for
from baseline.operations import CommandError

INSTANCE = "i-0123456789abcdef0"
VPC = "vpc-0a1b2c3d4e5f60718"
VOLUMES = ["vol-0aaaaaaaaaaaaaaa1", "vol-0aaaaaaaaaaaaaaa2", "vol-0aaaaaaaaaaaaaaa3"]
INTERFACES = ["eni-0bbbbbbbbbbbbbbb1", "eni-0bbbbbbbbbbbbbbb2"]
GROUP = "sg-0ccccccccccccccc1"
CASE = "IR-42"
EGRESS = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def _client(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service, region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    stub = Stubber(client)
    stub.activate()
    return client, stub


def _target(config: LandingZoneConfig, **kwargs: Any) -> Any:
    return target_for(config, account="orders-prod", instance=INSTANCE, case=CASE, **kwargs)


def _describe(ec2: Stubber) -> None:
    ec2.add_response(
        "describe_instances",
        {
            "Reservations": [
                {
                    "Instances": [
                        {
                            "InstanceId": INSTANCE,
                            "VpcId": VPC,
                            "BlockDeviceMappings": [
                                {"DeviceName": f"/dev/xvd{c}", "Ebs": {"VolumeId": v}}
                                for c, v in zip("abc", VOLUMES, strict=True)
                            ],
                            "NetworkInterfaces": [{"NetworkInterfaceId": n} for n in INTERFACES],
                            "IamInstanceProfile": {
                                "Arn": "arn:aws:iam::756789012345:instance-profile/orders-app",
                                "Id": "AIPAEXAMPLE0000000001",
                            },
                        }
                    ]
                }
            ]
        },
        {"InstanceIds": [INSTANCE]},
    )


def _snapshot_filters(volume: str) -> dict[str, Any]:
    return {
        "OwnerIds": ["self"],
        "Filters": [
            {"Name": "volume-id", "Values": [volume]},
            {"Name": "tag:lz:incident-case", "Values": [CASE]},
        ],
    }


def _created_snapshot(ec2: Stubber, volume: str, number: int) -> None:
    ec2.add_response("describe_snapshots", {"Snapshots": []}, _snapshot_filters(volume))
    ec2.add_response(
        "create_snapshot",
        {"SnapshotId": f"snap-0ddddddddddddddd{number}"},
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


def _group_lookup() -> dict[str, Any]:
    return {
        "Filters": [
            {"Name": "vpc-id", "Values": [VPC]},
            {"Name": "tag:lz:quarantine", "Values": ["true"]},
            {"Name": "tag:lz:incident-case", "Values": [CASE]},
        ]
    }


def _isolations(ec2: Stubber) -> None:
    for interface in INTERFACES:
        ec2.add_response(
            "modify_network_interface_attribute",
            {},
            {"NetworkInterfaceId": interface, "Groups": [GROUP]},
        )


def test_an_instance_is_snapshotted_isolated_and_tagged(example_config: LandingZoneConfig) -> None:
    ec2_client, ec2 = _client("ec2")
    iam_client, iam = _client("iam")
    asg_client, asg = _client("autoscaling")
    asg.add_response(
        "describe_auto_scaling_instances",
        {
            "AutoScalingInstances": [
                {
                    "InstanceId": INSTANCE,
                    "AutoScalingGroupName": "orders-web",
                    "AvailabilityZone": "eu-west-1a",
                    "LifecycleState": "InService",
                    "HealthStatus": "HEALTHY",
                    "ProtectedFromScaleIn": False,
                }
            ]
        },
        {"InstanceIds": [INSTANCE]},
    )
    asg.add_response(
        "detach_instances",
        {"Activities": []},
        {
            "InstanceIds": [INSTANCE],
            "AutoScalingGroupName": "orders-web",
            "ShouldDecrementDesiredCapacity": False,
        },
    )
    _describe(ec2)
    for number, volume in enumerate(VOLUMES, start=1):
        _created_snapshot(ec2, volume, number)
    ec2.add_response("describe_security_groups", {"SecurityGroups": []}, _group_lookup())
    ec2.add_response(
        "create_security_group",
        {"GroupId": GROUP},
        {
            "GroupName": f"nwl-quarantine-{CASE}",
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
        {"SecurityGroups": [{"GroupId": GROUP, "IpPermissionsEgress": EGRESS}]},
        {"GroupIds": [GROUP]},
    )
    ec2.add_response(
        "revoke_security_group_egress", {}, {"GroupId": GROUP, "IpPermissions": EGRESS}
    )
    _isolations(ec2)
    iam.add_response(
        "get_instance_profile",
        {
            "InstanceProfile": {
                "Path": "/",
                "InstanceProfileName": "orders-app",
                "InstanceProfileId": "AIPAEXAMPLE0000000001",
                "Arn": "arn:aws:iam::756789012345:instance-profile/orders-app",
                "CreateDate": "2026-01-01T00:00:00Z",
                "Roles": [
                    {
                        "Path": "/",
                        "RoleName": "orders-app",
                        "RoleId": "AROAEXAMPLE0000000001",
                        "Arn": "arn:aws:iam::756789012345:role/orders-app",
                        "CreateDate": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        },
        {"InstanceProfileName": "orders-app"},
    )
    iam.add_response("attach_role_policy", {}, {"RoleName": "orders-app", "PolicyArn": DENY_ALL})
    ec2.add_response(
        "create_tags",
        {},
        {"Resources": [INSTANCE], "Tags": [{"Key": "lz:incident-case", "Value": CASE}]},
    )
    clients = {"ec2": ec2_client, "iam": iam_client, "autoscaling": asg_client}
    containment = Containment(_target(example_config, quarantine_role=True), clients.__getitem__)
    steps = list(containment.run())
    assert [s.passed for s in steps] == [True] * 10, [s.line() for s in steps]
    assert "detached from orders-web" in steps[-3].detail
    assert containment.passed
    for stub in (ec2, iam, asg):
        stub.assert_no_pending_responses()


def _with_no_group(ec2_client: Any) -> Any:
    """Clients where the instance is in no Auto Scaling group (any more)."""
    asg_client, asg = _client("autoscaling")
    asg.add_response(
        "describe_auto_scaling_instances", {"AutoScalingInstances": []}, {"InstanceIds": [INSTANCE]}
    )
    return {"ec2": ec2_client, "autoscaling": asg_client}.__getitem__


def test_the_second_run_of_a_case_makes_nothing_twice(example_config: LandingZoneConfig) -> None:
    ec2_client, ec2 = _client("ec2")
    _describe(ec2)
    for number, volume in enumerate(VOLUMES, start=1):
        ec2.add_response(
            "describe_snapshots",
            {"Snapshots": [{"SnapshotId": f"snap-0ddddddddddddddd{number}", "VolumeId": volume}]},
            _snapshot_filters(volume),
        )
    ec2.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": GROUP, "IpPermissionsEgress": []}]},
        _group_lookup(),
    )  # made and closed the first time: nothing to revoke
    _isolations(ec2)
    ec2.add_response(
        "create_tags",
        {},
        {"Resources": [INSTANCE], "Tags": [{"Key": "lz:incident-case", "Value": CASE}]},
    )
    containment = Containment(_target(example_config), _with_no_group(ec2_client))
    steps = list(containment.run())
    assert "already taken for this case" in steps[1].detail
    assert "already made" in steps[4].detail
    # not asked to deny the role: left to a person, named
    assert steps[-2].passed is None and "--quarantine-role" in steps[-2].detail
    assert containment.passed
    ec2.assert_no_pending_responses()  # no CreateSnapshot, no CreateSecurityGroup


def test_a_failed_snapshot_is_recorded_and_the_rest_still_done(
    example_config: LandingZoneConfig,
) -> None:
    ec2_client, ec2 = _client("ec2")
    _describe(ec2)
    _created_snapshot(ec2, VOLUMES[0], 1)
    ec2.add_response("describe_snapshots", {"Snapshots": []}, _snapshot_filters(VOLUMES[1]))
    ec2.add_client_error("create_snapshot", "SnapshotCreationPerVolumeRateExceeded")
    _created_snapshot(ec2, VOLUMES[2], 3)
    ec2.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": GROUP, "IpPermissionsEgress": EGRESS}]},
        _group_lookup(),
    )
    ec2.add_response(
        "revoke_security_group_egress", {}, {"GroupId": GROUP, "IpPermissions": EGRESS}
    )
    _isolations(ec2)
    ec2.add_response(
        "create_tags",
        {},
        {"Resources": [INSTANCE], "Tags": [{"Key": "lz:incident-case", "Value": CASE}]},
    )
    containment = Containment(_target(example_config), _with_no_group(ec2_client))
    steps = list(containment.run())
    failed = [s for s in steps if s.passed is False]
    assert [s.name for s in failed] == [f"snapshot {VOLUMES[1]}"]
    assert "SnapshotCreationPerVolumeRateExceeded" in failed[0].detail
    assert steps[-1].name == "tag the instance with the case" and steps[-1].passed
    assert not containment.passed
    ec2.assert_no_pending_responses()


def test_an_unreadable_instance_stops_before_anything_changes(
    example_config: LandingZoneConfig,
) -> None:
    ec2_client, ec2 = _client("ec2")
    ec2.add_client_error("describe_instances", "InvalidInstanceID.NotFound")
    steps = list(Containment(_target(example_config), {"ec2": ec2_client}.__getitem__).run())
    assert [s.passed for s in steps] == [False]
    ec2.assert_no_pending_responses()


def test_the_responder_role_is_assumed_for_the_case(example_config: LandingZoneConfig) -> None:
    sts, stub = _client("sts")
    stub.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLE000000001",
                "SecretAccessKey": "s" * 40,
                "SessionToken": "token",
                "Expiration": "2026-12-01T13:00:00Z",
            }
        },
        {
            "RoleArn": "arn:aws:iam::756789012345:role/nwl-incident-responder",
            "RoleSessionName": f"contain-{CASE}",
            "DurationSeconds": 3600,
        },
    )
    clients = responder_clients(_target(example_config), sts)
    ec2 = clients("ec2")
    assert ec2.meta.region_name == "eu-west-1"
    assert ec2._request_signer._credentials.access_key == "ASIAEXAMPLE000000001"
    stub.assert_no_pending_responses()


def test_fails_on_bad_input_with_one_line_each(example_config: LandingZoneConfig) -> None:
    with pytest.raises(CommandError) as caught:
        target_for(example_config, account="orders-prd", instance="i-1", case="x y")
    assert caught.value.problems == [
        "--account: 'orders-prd' is not an account of the config (did you mean orders-prod?)",
        "--instance: 'i-1' is not an instance id like i-0123456789abcdef0",
        "--case: 'x y' must be 1-64 letters, digits, '.', '_' or '-'",
    ]


def test_the_dry_run_needs_no_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("boto3.client", lambda *a, **k: pytest.fail("no client on a dry run"))
    args = ["contain", "--account", "orders-prod", "--instance", INSTANCE, "--case", CASE]
    assert main([*args, "--dry-run"]) == 0
    assert "would call sts AssumeRole arn:aws:iam::756789012345:role/nwl-incident-responder" in (
        capsys.readouterr().out
    )
    assert main(["contain", "--account", "management", "--instance", INSTANCE, "--case", CASE]) == 2


ACCOUNT = "756789012345"
SG_ARN = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:security-group/{GROUP}"
QUARANTINED = {"aws:ResourceTag/lz:quarantine": "true"}

#: Every change the command makes, as IAM sees the request (CreateSnapshot and
#: CreateSecurityGroup authorise their tags on create as CreateTags).
CHANGES = [
    (
        "snapshot a volume",
        "ec2:CreateSnapshot",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/{VOLUMES[0]}",
        {},
    ),
    ("the snapshot it makes", "ec2:CreateSnapshot", "arn:aws:ec2:eu-west-1::snapshot/snap-1", {}),
    (
        "tag the snapshot as evidence",
        "ec2:CreateTags",
        "arn:aws:ec2:eu-west-1::snapshot/snap-1",
        {"aws:TagKeys": ["lz:incident-case", "lz:evidence"], "ec2:CreateAction": "CreateSnapshot"},
    ),
    (
        "make the quarantine group",
        "ec2:CreateSecurityGroup",
        SG_ARN,
        {
            "aws:RequestTag/lz:quarantine": "true",
            "aws:TagKeys": ["lz:incident-case", "lz:quarantine"],
        },
    ),
    (
        "in the instance's VPC",
        "ec2:CreateSecurityGroup",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:vpc/{VPC}",
        {},
    ),
    (
        "tag it as it is made",
        "ec2:CreateTags",
        SG_ARN,
        {
            "ec2:CreateAction": "CreateSecurityGroup",
            "aws:TagKeys": ["lz:incident-case", "lz:quarantine"],
        },
    ),
    ("revoke its outbound rules", "ec2:RevokeSecurityGroupEgress", SG_ARN, QUARANTINED),
    (
        "move an interface",
        "ec2:ModifyNetworkInterfaceAttribute",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:network-interface/{INTERFACES[0]}",
        {},
    ),
    ("into the quarantine group", "ec2:ModifyNetworkInterfaceAttribute", SG_ARN, QUARANTINED),
    (
        "leave its Auto Scaling group",
        "autoscaling:DetachInstances",
        f"arn:aws:autoscaling:eu-west-1:{ACCOUNT}:autoScalingGroup:0f1e2d3c:autoScalingGroupName/orders-web",
        {},
    ),
    (
        "deny the instance role",
        "iam:AttachRolePolicy",
        f"arn:aws:iam::{ACCOUNT}:role/orders-app",
        {"iam:PolicyARN": DENY_ALL},
    ),
    (
        "tag the instance",
        "ec2:CreateTags",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/{INSTANCE}",
        {"aws:TagKeys": ["lz:incident-case"]},
    ),
]


@pytest.mark.parametrize(
    ("case", "action", "resource", "context"), CHANGES, ids=[c[0] for c in CHANGES]
)
def test_the_responder_role_allows_every_change_it_makes(
    case: str, action: str, resource: str, context: dict[str, Any], synthesized: Any
) -> None:
    """The command's writes against the synthesized responder policy: what the code calls,
    the role grants (its reads come from the SecurityAudit policy it also has)."""
    import json

    from tests.guardrails.evaluator import Request, decide

    (stack_set,) = [
        r
        for r in synthesized.templates["MemberBaseline"]["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::StackSet"
    ]
    member = json.loads(stack_set["Properties"]["TemplateBody"])
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in member["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and r["Properties"].get("Description")
        == "Contain and collect evidence during an incident; never destroy"
    ]
    policy = _resolved(policy)
    responder = f"arn:aws:iam::{ACCOUNT}:role/nwl-incident-responder"
    assert decide([[policy]], Request(action, resource, responder, context=context)) == "Allow", (
        case
    )
    # and never the same change to something that is not the case's
    if action == "iam:AttachRolePolicy":
        other = Request(
            action,
            resource,
            responder,
            context={"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
        )
        assert decide([[policy]], other) == "Deny"


def _resolved(value: Any) -> Any:
    """The policy as it is in the member account: its pseudo parameters filled in."""
    pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": "eu-west-1", "AWS::Partition": "aws"}
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in pseudo:
            return pseudo[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(_resolved(part)) for part in parts)
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value
