"""``python -m baseline contain``: its input, its dry run, the responder role it assumes,
its run without an evidence store (against botocore's Stubber), and every change that it
and the containment function make, allowed by the synthesized responder policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

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


def _client(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service, region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    stub = Stubber(client)
    stub.activate()
    return client, stub


def _group_lookup() -> dict[str, Any]:
    return {
        "Filters": [
            {"Name": "vpc-id", "Values": [VPC]},
            {"Name": "group-name", "Values": [f"nwl-quarantine-{CASE}-{INSTANCE}"]},
            {"Name": "tag:lz:quarantine", "Values": ["true"]},
            {"Name": "tag:lz:incident-case", "Values": [CASE]},
        ]
    }


def _target(config: LandingZoneConfig, **kwargs: Any) -> Any:
    return target_for(config, account="orders-prod", instance=INSTANCE, case=CASE, **kwargs)


def test_the_command_keeps_no_evidence_and_denies_the_role_when_asked(
    example_config: LandingZoneConfig,
) -> None:
    """The steps themselves are tested with the containment function
    (tests/handlers/test_containment.py); the command runs them without an evidence store
    and, with --quarantine-role, attaches AWSDenyAll to the instance's own role."""
    ec2_client, ec2 = _client("ec2")
    iam_client, iam = _client("iam")
    asg_client, asg = _client("autoscaling")
    profile = "arn:aws:iam::756789012345:instance-profile/orders-app"
    ec2.add_response(
        "describe_instances",
        {
            "Reservations": [
                {
                    "Instances": [
                        {
                            "InstanceId": INSTANCE,
                            "VpcId": VPC,
                            "Tags": [{"Key": "lz:incident-case", "Value": CASE}],
                            "NetworkInterfaces": [
                                {
                                    "NetworkInterfaceId": INTERFACES[0],
                                    "Groups": [{"GroupId": GROUP}],
                                }
                            ],
                            "IamInstanceProfile": {"Arn": profile, "Id": "AIPAEXAMPLE0000000001"},
                        }
                    ]
                }
            ]
        },
        {"InstanceIds": [INSTANCE]},
    )
    ec2.add_response(  # the interface carries the case, so the guardrail keeps its groups
        "create_tags",
        {},
        {"Resources": [INTERFACES[0]], "Tags": [{"Key": "lz:incident-case", "Value": CASE}]},
    )
    ec2.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": GROUP, "IpPermissions": [], "IpPermissionsEgress": []}]},
        _group_lookup(),
    )
    asg.add_response(
        "describe_auto_scaling_instances", {"AutoScalingInstances": []}, {"InstanceIds": [INSTANCE]}
    )
    ec2.add_response(
        "describe_security_group_rules",
        {"SecurityGroupRules": []},
        {"Filters": [{"Name": "group-id", "Values": [GROUP]}]},
    )
    ec2.add_response(
        "describe_iam_instance_profile_associations",
        {"IamInstanceProfileAssociations": []},
        {
            "Filters": [
                {"Name": "instance-id", "Values": [INSTANCE]},
                {"Name": "state", "Values": ["associated"]},
            ]
        },
    )
    instance_profile = {
        "InstanceProfile": {
            "Path": "/",
            "InstanceProfileName": "orders-app",
            "InstanceProfileId": "AIPAEXAMPLE0000000001",
            "Arn": profile,
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
    }
    iam.add_response(
        "get_instance_profile", instance_profile, {"InstanceProfileName": "orders-app"}
    )
    lookup = {"RoleName": "orders-app", "PolicyName": f"DenyContainedInstance-{INSTANCE}"}
    iam.add_client_error("get_role_policy", "NoSuchEntity", expected_params=lookup)
    iam.add_response("put_role_policy", {}, {**lookup, "PolicyDocument": ANY})
    iam.add_response(
        "get_instance_profile", instance_profile, {"InstanceProfileName": "orders-app"}
    )
    iam.add_response("attach_role_policy", {}, {"RoleName": "orders-app", "PolicyArn": DENY_ALL})
    clients = {"ec2": ec2_client, "iam": iam_client, "autoscaling": asg_client}
    containment = Containment(_target(example_config, quarantine_role=True), clients.__getitem__)
    steps = list(containment.run())
    assert containment.passed, [s.line() for s in steps]
    assert not any(s.name.startswith("keep") for s in steps)  # no evidence bucket
    (denied,) = [s for s in steps if s.name == "deny its own role everything"]
    assert denied.detail == "orders-app"
    assert steps[-1].name == "give it the deny-all instance profile"  # once the role is known
    for stub in (ec2, iam, asg):
        stub.assert_no_pending_responses()


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


def test_an_endpoint_botocore_cannot_use_stops_the_command_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS_ENDPOINT_URL for every service, or one service's only: the second passes the
    role assumption (stubbed here) and failed at the first EC2 call."""
    import baseline.contain

    args = ["contain", "--account", "orders-prod", "--instance", INSTANCE, "--case", CASE]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "not a url")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot use the AWS settings: Invalid endpoint") and (
        len(err.splitlines()) == 1
    ), err
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "not a url")

    def clients(target: Any, sts: Any) -> Any:
        return lambda service: boto3.client(service, region_name=target.region)

    monkeypatch.setattr(baseline.contain, "responder_clients", clients)
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert err.startswith("cannot use the AWS settings: Invalid endpoint"), err
    assert "  " not in out  # no step ran


def test_an_instance_ec2_does_not_know_is_named_and_nothing_changes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import baseline.contain

    ec2_client, ec2 = _client("ec2")
    ec2.add_client_error("describe_instances", "InvalidInstanceID.NotFound")
    monkeypatch.setattr(
        baseline.contain, "responder_clients", lambda target, sts: {"ec2": ec2_client}.get
    )
    args = ["contain", "--account", "orders-prod", "--instance", INSTANCE, "--case", CASE]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (
        f"--instance: {INSTANCE} is not an instance of orders-prod ({ACCOUNT}) in eu-west-1 "
        "(nothing was changed)\n"
    )
    ec2.assert_no_pending_responses()


def test_every_service_the_containment_calls_is_made_before_it_runs() -> None:
    import re

    from baseline.handlers import containment

    source = Path(containment.__file__).read_text(encoding="utf-8")
    called = set(re.findall(r'self\.client\("([a-z0-9-]+)"\)', source))
    assert called and called == set(containment.CONTAINMENT_SERVICES)


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
    ("open it inbound", "ec2:AuthorizeSecurityGroupIngress", SG_ARN, QUARANTINED),
    ("open it outbound", "ec2:AuthorizeSecurityGroupEgress", SG_ARN, QUARANTINED),
    ("close it inbound", "ec2:RevokeSecurityGroupIngress", SG_ARN, QUARANTINED),
    ("close it outbound", "ec2:RevokeSecurityGroupEgress", SG_ARN, QUARANTINED),
    (
        "give it the deny-all profile",
        "ec2:ReplaceIamInstanceProfileAssociation",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/{INSTANCE}",
        {"ec2:NewInstanceProfile": f"arn:aws:iam::{ACCOUNT}:instance-profile/nwl-quarantine"},
    ),
    (
        "pass the deny-all role to EC2",
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/nwl-quarantine",
        {"iam:PassedToService": "ec2.amazonaws.com"},
    ),
    (
        "read its console output",
        "ec2:GetConsoleOutput",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/{INSTANCE}",
        {},
    ),
    (
        "read its profile associations",
        "ec2:DescribeIamInstanceProfileAssociations",
        "*",
        {},
    ),
    (
        "revoke a role's older sessions",
        "iam:PutRolePolicy",
        f"arn:aws:iam::{ACCOUNT}:role/orders-app",
        {},
    ),
    ("read the revocation", "iam:GetRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/orders-app", {}),
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

    from baseline.guardrails.evaluator import Request, decide

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
    others = {
        "ec2:ReplaceIamInstanceProfileAssociation": {
            "ec2:NewInstanceProfile": f"arn:aws:iam::{ACCOUNT}:instance-profile/admin"
        },
        "iam:PassRole": {"iam:PassedToService": "lambda.amazonaws.com"},
        "ec2:AuthorizeSecurityGroupIngress": {"aws:ResourceTag/lz:quarantine": "false"},
    }
    if action in others:
        assert decide([[policy]], Request(action, resource, responder, context=others[action])) == (
            "Deny"
        ), case
    if action == "iam:PassRole":
        admin = f"arn:aws:iam::{ACCOUNT}:role/admin"
        assert decide([[policy]], Request(action, admin, responder, context=context)) == "Deny"
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


def test_every_change_the_code_makes_is_in_the_table() -> None:
    """The member-account calls of the containment code (on the ec2, autoscaling and iam
    clients it gets as the responder): each write is one of CHANGES above, so the
    evaluation above covers it; the reads come from the SecurityAudit policy or CHANGES."""
    import re
    from pathlib import Path

    import botocore.session

    source = (Path(__file__).parents[1] / "baseline/handlers/containment.py").read_text()
    session = botocore.session.get_session()
    called = set()
    # calls and methods passed on to be called (ec2.authorize_security_group_ingress)
    for client, method in re.findall(r"\b(ec2|autoscaling|iam)\.([a-z_]+)\b", source):
        model = session.get_service_model(client)
        names = {botocore.xform_name(op): op for op in model.operation_names}
        if method in names:
            called.add(
                f"{model.signing_name if client != 'autoscaling' else client}:{names[method]}"
            )
    # the reader reads calls and methods passed on
    assert {
        "ec2:CreateSnapshot",
        "iam:PutRolePolicy",
        "ec2:AuthorizeSecurityGroupIngress",
    } <= called
    writes = {a for a in called if not a.split(":")[1].startswith(("Describe", "Get", "List"))}
    assert sorted(writes - {action for _, action, _, _ in CHANGES}) == []
