"""LayeredVpc: tiers, least traffic, flow logs, endpoints, and no admin port open to the world."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs import LayeredVpc
from baseline.controls import RETAINED
from baseline.guardrails.evaluator import Request, evaluate
from tests.constructs.helpers import nag_violations, new_stack

BUCKET = "acme-logs-111122223333-eu-west-1"
#: SSH, RDP, WinRM over HTTP and HTTPS (CIS 5.1, 5.2), spelled out rather than imported.
ADMIN_PORTS = (22, 3389, 5985, 5986)


def _build(**kwargs: Any) -> tuple[cdk.App, assertions.Template]:
    app, stack = new_stack()
    LayeredVpc(stack, "Vpc", organization_id="o-abcdefghij", flow_log_bucket_name=BUCKET, **kwargs)
    return app, assertions.Template.from_stack(stack)


@pytest.fixture(scope="module")
def default() -> tuple[cdk.App, assertions.Template]:
    return _build()


def _resources(template: assertions.Template, resource_type: str) -> list[dict[str, Any]]:
    return list(template.find_resources(resource_type).values())


def test_three_tiers_across_two_azs(default: Any) -> None:
    _, template = default
    subnets = _resources(template, "AWS::EC2::Subnet")
    assert len(subnets) == 6
    names = sorted(
        {
            t["Value"]
            for s in subnets
            for t in s["Properties"]["Tags"]
            if t["Key"] == "aws-cdk:subnet-name"
        }
    )
    assert names == ["Isolated", "Private", "Public"]
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    assert len(_resources(template, "AWS::EC2::NatGateway")) == 1


def _first_world_ingress_rule(entries: list[dict[str, Any]], port: int) -> dict[str, Any]:
    """The lowest-numbered ingress entry from 0.0.0.0/0 that covers a TCP port: the one applied."""
    covering = [
        e
        for e in entries
        if e["CidrBlock"] == "0.0.0.0/0"
        and not e.get("Egress", False)
        and (
            e["Protocol"] == -1
            or (e["Protocol"] == 6 and e["PortRange"]["From"] <= port <= e["PortRange"]["To"])
        )
    ]
    assert covering, f"no rule decides port {port} from the internet"
    return min(covering, key=lambda e: e["RuleNumber"])


def test_no_network_acl_or_security_group_opens_admin_ports_to_the_world(default: Any) -> None:
    _, template = default
    acls = sorted(template.find_resources("AWS::EC2::NetworkAcl"))
    assert len(acls) == 3  # one per tier
    entries = [e["Properties"] for e in _resources(template, "AWS::EC2::NetworkAclEntry")]
    for acl in acls:
        of_acl = [e for e in entries if e["NetworkAclId"] == {"Ref": acl}]
        for port in ADMIN_PORTS:
            first = _first_world_ingress_rule(of_acl, port)
            assert first["RuleAction"] == "deny", (acl, port, first)
            assert first["Protocol"] == 6 and first["PortRange"] == {"From": port, "To": port}
        # the admin denials come before every allow rule of the ACL
        denials = sorted(
            e["RuleNumber"] for e in of_acl if e["RuleAction"] == "deny" and not e["Egress"]
        )
        assert denials == [10, 20, 30, 40], acl
        assert min(e["RuleNumber"] for e in of_acl if e["RuleAction"] == "allow") > 40
    groups = _resources(template, "AWS::EC2::SecurityGroup")
    assert len(groups) == 1  # the interface endpoints' group
    (ingress,) = groups[0]["Properties"]["SecurityGroupIngress"]
    assert ingress == {
        "CidrIp": "10.0.0.0/16",
        "Description": "HTTPS from the VPC",
        "FromPort": 443,
        "IpProtocol": "tcp",
        "ToPort": 443,
    }


def test_isolated_tier_talks_inside_the_vpc_and_to_its_gateway_endpoints_only(
    default: Any,
) -> None:
    """The S3 and DynamoDB gateway endpoints take the isolated tier's traffic to those
    services' public addresses, which a network ACL cannot name: the ACL lets HTTPS out
    (and its replies in), and the tier's routes take it to the endpoints and nowhere else."""
    _, template = default
    acls = template.find_resources("AWS::EC2::NetworkAcl")
    isolated = next(k for k in acls if "IsolatedAcl" in k)
    entries = [
        e["Properties"]
        for e in _resources(template, "AWS::EC2::NetworkAclEntry")
        if e["Properties"]["NetworkAclId"] == {"Ref": isolated}
    ]
    allows = [e for e in entries if e["RuleAction"] == "allow"]
    assert sorted(
        (e["Egress"], e["CidrBlock"], e["Protocol"], json.dumps(e.get("PortRange"))) for e in allows
    ) == [
        # replies on the ephemeral ports, RDP's left out (and WinRM's denied first)
        (False, "0.0.0.0/0", 6, json.dumps({"From": 1024, "To": 3388})),
        (False, "0.0.0.0/0", 6, json.dumps({"From": 3390, "To": 65535})),
        (False, "10.0.0.0/16", -1, "null"),
        (True, "0.0.0.0/0", 6, json.dumps({"From": 443, "To": 443})),
        (True, "10.0.0.0/16", -1, "null"),
    ]
    # no route out of the isolated subnets but the gateway endpoints' own
    isolated_tables = {
        json.dumps(a["Properties"]["RouteTableId"])
        for a in _resources(template, "AWS::EC2::SubnetRouteTableAssociation")
        if "Isolated" in json.dumps(a["Properties"]["SubnetId"])
    }
    assert isolated_tables
    assert not [
        r
        for r in _resources(template, "AWS::EC2::Route")
        if json.dumps(r["Properties"]["RouteTableId"]) in isolated_tables
    ]
    gateways = [
        e["Properties"]
        for e in _resources(template, "AWS::EC2::VPCEndpoint")
        if e["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    assert len(gateways) == 2
    for endpoint in gateways:
        assert isolated_tables <= {json.dumps(t) for t in endpoint["RouteTableIds"]}


def test_flow_logs_outlive_the_stack(default: Any) -> None:
    """The guardrails deny ec2:DeleteFlowLogs to all but the baseline: a flow log that the
    stack deleted would fail the deletion of a workload's stack (AWS removes a deleted
    VPC's flow logs itself), so neither a delete nor a replacement deletes one."""
    _, template = default
    flow_logs = template.find_resources("AWS::EC2::FlowLog")
    assert len(flow_logs) == 2
    for flow_log in flow_logs.values():
        assert flow_log["DeletionPolicy"] == flow_log["UpdateReplacePolicy"] == "Retain"


def test_flow_logs_of_all_traffic_to_the_log_archive_and_an_encrypted_group(default: Any) -> None:
    _, template = default
    (vpc,) = template.find_resources("AWS::EC2::VPC")
    logs = {
        f["Properties"]["LogDestinationType"]: f["Properties"]
        for f in _resources(template, "AWS::EC2::FlowLog")
    }
    assert sorted(logs) == ["cloud-watch-logs", "s3"]
    for flow_log in logs.values():
        assert flow_log["TrafficType"] == "ALL"
        assert flow_log["ResourceType"] == "VPC" and flow_log["ResourceId"] == {"Ref": vpc}
    assert logs["s3"]["LogDestination"] == f"arn:aws:s3:::{BUCKET}"
    groups = template.find_resources("AWS::Logs::LogGroup")
    (group_id,) = groups
    group = groups[group_id]
    assert logs["cloud-watch-logs"]["LogGroupName"] == {"Ref": group_id}
    (key_id,) = template.find_resources("AWS::KMS::Key")
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] in RETAINED and group["UpdateReplacePolicy"] == "Retain"


def test_flow_log_role_is_for_this_accounts_flow_logs_and_its_group_only(default: Any) -> None:
    _, template = default
    (group_id,) = template.find_resources("AWS::Logs::LogGroup")
    roles = template.find_resources(
        "AWS::IAM::Role",
        {"Properties": {"Description": "VPC Flow Logs writes this VPC's flow-log group"}},
    )
    (role_id,) = roles
    (trust,) = roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    assert "Policies" not in roles[role_id]["Properties"]  # no inline grants on top
    (policy,) = [
        p["Properties"]
        for p in _resources(template, "AWS::IAM::ManagedPolicy")
        if p["Properties"].get("Roles") == [{"Ref": role_id}]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    ]
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [group_id, "Arn"]}, ":*"]]}


def test_default_security_group_is_closed(default: Any) -> None:
    """The CDK's custom resource strips every rule of this VPC's default security group."""
    _, template = default
    (vpc,) = template.find_resources("AWS::EC2::VPC")
    (restrict,) = _resources(template, "Custom::VpcRestrictDefaultSG")
    assert restrict["Properties"]["DefaultSecurityGroupId"] == {
        "Fn::GetAtt": [vpc, "DefaultSecurityGroup"]
    }
    assert restrict["Properties"]["Account"] == "111122223333"
    handler = restrict["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    role = template.find_resources("AWS::Lambda::Function")[handler]["Properties"]["Role"]
    provider = template.find_resources("AWS::IAM::Role")[role["Fn::GetAtt"][0]]
    (policy,) = provider["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == [
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
    ]
    assert statement["Resource"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:aws:ec2:eu-west-1:111122223333:security-group/",
                    {"Fn::GetAtt": [vpc, "DefaultSecurityGroup"]},
                ],
            ]
        }
    ]


def test_endpoints_are_private_and_limited_to_the_organisation(default: Any) -> None:
    _, template = default
    endpoints = [e["Properties"] for e in _resources(template, "AWS::EC2::VPCEndpoint")]
    gateways = [e for e in endpoints if e.get("VpcEndpointType", "Gateway") == "Gateway"]
    interfaces = [e for e in endpoints if e.get("VpcEndpointType") == "Interface"]
    assert len(gateways) == 2 and len(interfaces) == 6
    assert sorted(str(e["ServiceName"]) for e in interfaces) == sorted(
        f"com.amazonaws.eu-west-1.{name}"
        for name in ("ssm", "ssmmessages", "ec2messages", "kms", "logs", "sts")
    )
    for endpoint in interfaces:
        (statement,) = endpoint["PolicyDocument"]["Statement"]
        assert statement == {
            "Action": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Resource": "*",
        }
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    (group_id,) = groups
    isolated = {
        k
        for k, s in template.find_resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-name", "Value": "Isolated"} in s["Properties"]["Tags"]
    }
    assert len(isolated) == 2
    for interface in interfaces:
        assert interface["PrivateDnsEnabled"] is True
        assert interface["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
        assert {ref["Ref"] for ref in interface["SubnetIds"]} == isolated


def test_endpoints_without_an_organisation_admit_this_account_only() -> None:
    _, stack = new_stack()
    LayeredVpc(stack, "Vpc", interface_endpoints=["kms"])
    template = assertions.Template.from_stack(stack)
    endpoints = _resources(template, "AWS::EC2::VPCEndpoint")
    assert len(endpoints) == 3
    (interface,) = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    (statement,) = interface["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}
    for service in ("s3", "dynamodb"):
        policy = _gateway_policy(template, service)
        mine = {"aws:PrincipalAccount": "111122223333", "aws:ResourceAccount": "111122223333"}
        assert _allowed(policy, "s3:GetObject", "arn:aws:s3:::mine/x", **mine)
        assert not _allowed(
            policy,
            "s3:PutObject",
            "arn:aws:s3:::theirs/x",
            **{**mine, "aws:ResourceAccount": "999988887777"},
        )
        assert not _allowed(
            policy,
            "s3:GetObject",
            "arn:aws:s3:::mine/x",
            principal="arn:aws:iam::999988887777:role/outsider",
            **{**mine, "aws:PrincipalAccount": "999988887777"},
        )


ORG = "o-abcdefghij"
#: A role of the organisation, as the endpoint sees its request.
INSIDER = {"aws:PrincipalOrgID": ORG}


def _gateway_policy(template: assertions.Template, service: str) -> dict[str, Any]:
    (endpoint,) = [
        e["Properties"]
        for e in _resources(template, "AWS::EC2::VPCEndpoint")
        if e["Properties"].get("VpcEndpointType", "Gateway") == "Gateway"
        and f'.{service}"' in json.dumps(e["Properties"]["ServiceName"])
    ]
    return endpoint["PolicyDocument"]  # type: ignore[no-any-return]


def _allowed(
    policy: dict[str, Any],
    action: str,
    resource: str,
    *,
    principal: str = "arn:aws:iam::111122223333:role/analyst",
    **context: str,
) -> bool:
    """Whether the endpoint policy lets the request through."""
    request = Request(action, resource, principal_arn=principal, context=context)
    return evaluate([("endpoint", [("policy", policy)])], request).allowed


def test_the_gateway_endpoints_reach_only_the_organisations_data(default: Any) -> None:
    _, template = default
    s3 = _gateway_policy(template, "s3")
    ours = {**INSIDER, "aws:ResourceOrgID": ORG}
    assert _allowed(s3, "s3:PutObject", "arn:aws:s3:::acme-data/report.csv", **ours)
    # the exfiltration the perimeter stops: a role of the organisation writing to a bucket
    # that someone else owns (and whose policy admits the world)
    assert not _allowed(s3, "s3:PutObject", "arn:aws:s3:::attacker-drop/loot", **INSIDER)
    assert not _allowed(
        s3,
        "s3:PutObject",
        "arn:aws:s3:::attacker-drop/loot",
        **{**INSIDER, "aws:ResourceOrgID": "o-zzzzzzzzzz"},
    )
    # and credentials from outside the organisation, brought into the VPC
    assert not _allowed(
        s3,
        "s3:GetObject",
        "arn:aws:s3:::acme-data/report.csv",
        principal="arn:aws:iam::999988887777:user/dev",
        **{"aws:PrincipalOrgID": "o-zzzzzzzzzz", "aws:ResourceOrgID": ORG},
    )
    dynamodb = _gateway_policy(template, "dynamodb")
    table = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
    assert _allowed(dynamodb, "dynamodb:PutItem", table, **ours)
    assert not _allowed(
        dynamodb, "dynamodb:PutItem", table.replace("111122223333", "999988887777"), **INSIDER
    )


@pytest.mark.parametrize(
    "objects",
    [
        "aws-ssm-eu-west-1/Packages/doc",  # SSM Agent's documents and modules
        "amazon-ssm-eu-west-1/latest/linux_amd64/amazon-ssm-agent.rpm",
        "patch-baseline-snapshot-eu-west-1/snapshot.json",
        "al2023-repos-eu-west-1-de612dc2/core/mirrors/latest/x86_64/mirror.list",
        "amazonlinux-2-repos-eu-west-1/2/core/latest/x86_64/mirror.list",
        "prod-eu-west-1-starport-layer-bucket/layer",  # ECR's image layers
        "amazoncloudwatch-agent-eu-west-1/amazon_linux/amd64/latest/agent.rpm",
        # CodeArtifact's package assets in the region (an npm tarball, by a signed URL)
        "assets-438097961670-eu-west-1/asset",
    ],
)
def test_aws_owned_objects_are_read_without_credentials_and_only_read(
    default: Any, objects: str
) -> None:
    s3 = _gateway_policy(default[1], "s3")
    anonymous = {"principal": ""}
    assert _allowed(s3, "s3:GetObject", f"arn:aws:s3:::{objects}", **anonymous)
    assert not _allowed(s3, "s3:PutObject", f"arn:aws:s3:::{objects}", **anonymous)
    assert not _allowed(s3, "s3:PutObject", f"arn:aws:s3:::{objects}", **INSIDER)


def test_a_response_that_an_aws_service_signed_gets_through(default: Any) -> None:
    """CloudFormation's presigned URL for a custom resource's response, in the compact
    bucket name; the same write unsigned by a service does not."""
    s3 = _gateway_policy(default[1], "s3")
    response = "arn:aws:s3:::cloudformation-custom-resource-response-euwest1/stack/id"
    assert _allowed(
        s3, "s3:PutObject", response, principal="", **{"aws:PrincipalIsAWSService": "true"}
    )
    assert not _allowed(s3, "s3:PutObject", response, **INSIDER)


def test_named_resources_outside_the_organisation_are_reached_by_its_principals_only() -> None:
    partner = "arn:aws:s3:::partner-exchange/*"
    table = "arn:aws:dynamodb:eu-west-1:999988887777:table/shared"
    _, template = _build(perimeter_exceptions=[partner, table])
    s3 = _gateway_policy(template, "s3")
    assert _allowed(s3, "s3:PutObject", "arn:aws:s3:::partner-exchange/in/file", **INSIDER)
    assert not _allowed(
        s3,
        "s3:PutObject",
        "arn:aws:s3:::partner-exchange/in/file",
        principal="arn:aws:iam::999988887777:role/partner",
        **{"aws:PrincipalOrgID": "o-zzzzzzzzzz"},
    )
    assert not _allowed(s3, "s3:PutObject", "arn:aws:s3:::partner-other/file", **INSIDER)
    assert not _allowed(s3, "dynamodb:PutItem", table, **INSIDER)  # each service its own
    dynamodb = _gateway_policy(template, "dynamodb")
    assert _allowed(dynamodb, "dynamodb:PutItem", table, **INSIDER)
    assert not _allowed(dynamodb, "s3:PutObject", "arn:aws:s3:::partner-exchange/f", **INSIDER)


def test_more_aws_owned_objects_are_read_only_too() -> None:
    mirror = "arn:aws:s3:::aws-mgn-clients-eu-west-1/*"
    _, template = _build(aws_owned_objects=[mirror])
    s3 = _gateway_policy(template, "s3")
    client = "arn:aws:s3:::aws-mgn-clients-eu-west-1/latest/installer"
    assert _allowed(s3, "s3:GetObject", client, principal="")
    assert not _allowed(s3, "s3:PutObject", client, **INSIDER)
    assert not _allowed(s3, "s3:GetObject", "arn:aws:s3:::aws-mgn-internal-eu-west-1/x")


def test_a_region_codeartifact_does_not_list_reads_no_assets_bucket_of_a_guess() -> None:
    stack = cdk.Stack(
        cdk.App(), "Elsewhere", env=cdk.Environment(account="111122223333", region="ap-east-1")
    )
    LayeredVpc(stack, "Vpc", organization_id=ORG, availability_zones=["ap-east-1a", "ap-east-1b"])
    s3 = _gateway_policy(assertions.Template.from_stack(stack), "s3")
    (owned,) = [s for s in s3["Statement"] if s["Action"] == "s3:GetObject"]
    assert "arn:aws:s3:::aws-ssm-ap-east-1/*" in owned["Resource"]
    assert not [r for r in owned["Resource"] if r.startswith("arn:aws:s3:::assets-")]


@pytest.mark.parametrize(
    ("argument", "arn"),
    [
        # an exception that would open the perimeter again
        ("perimeter_exceptions", "*"),
        ("perimeter_exceptions", "arn:aws:s3:::*"),
        ("perimeter_exceptions", "arn:aws:s3:::*/*"),
        ("perimeter_exceptions", "arn:aws:s3:::partner-*/in/*"),
        ("perimeter_exceptions", "arn:aws:dynamodb:eu-west-1:*:table/shared"),
        ("perimeter_exceptions", "arn:aws:dynamodb:eu-west-1:999988887777:table/*"),
        ("perimeter_exceptions", "arn:aws:sqs:eu-west-1:999988887777:queue"),
        ("perimeter_exceptions", "partner-exchange"),
        # AWS-owned objects that are not one bucket's
        ("aws_owned_objects", "arn:aws:s3:::aws-mgn-clients-eu-west-1"),  # a bucket, not objects
        ("aws_owned_objects", "arn:aws:s3:::aws-*/*"),
        ("aws_owned_objects", "arn:aws:s3:::*/*"),
        ("aws_owned_objects", "arn:aws:dynamodb:eu-west-1:999988887777:table/shared"),
    ],
)
def test_fails_a_named_resource_that_opens_the_perimeter(argument: str, arn: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=argument) as error:
        LayeredVpc(stack, "Vpc", organization_id=ORG, **{argument: [arn]})
    assert repr(arn) in str(error.value)


@pytest.mark.parametrize("organization_id", ["111122223333", "", "o-ABC"])
def test_fails_an_organisation_id_that_is_none(organization_id: str) -> None:
    """Every endpoint policy would admit principals of that organisation only: a wrong id
    deploys, and then every call through the endpoints is denied."""
    _, stack = new_stack()
    with pytest.raises(ValueError, match="organization_id must be an organisation id"):
        LayeredVpc(stack, "Vpc", organization_id=organization_id)


def test_fails_exceptions_without_the_perimeter() -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match="without the resource perimeter"):
        LayeredVpc(
            stack,
            "Vpc",
            organization_id=ORG,
            resource_perimeter=False,
            perimeter_exceptions=["arn:aws:s3:::partner-exchange/*"],
        )


def test_without_the_perimeter_the_gateway_endpoints_check_only_the_caller() -> None:
    _, template = _build(resource_perimeter=False)
    s3 = _gateway_policy(template, "s3")
    assert _allowed(s3, "s3:PutObject", "arn:aws:s3:::attacker-drop/loot", **INSIDER)
    assert not _allowed(s3, "s3:GetObject", "arn:aws:s3:::acme-data/x", principal="")


def test_an_environment_agnostic_stack_names_the_objects_of_its_region() -> None:
    stack = cdk.Stack(cdk.App(), "Agnostic")
    LayeredVpc(stack, "Vpc", organization_id=ORG)
    s3 = _gateway_policy(assertions.Template.from_stack(stack), "s3")
    (owned,) = [s for s in s3["Statement"] if s["Action"] == "s3:GetObject"]
    # the region without its dashes, as CloudFormation's response buckets are named
    region_compact = {"Fn::Join": ["", {"Fn::Split": ["-", {"Ref": "AWS::Region"}]}]}
    response = ["arn:aws:s3:::cloudformation-custom-resource-response-", region_compact, "/*"]
    assert {"Fn::Join": ["", response]} in owned["Resource"]
    assert {"Fn::Join": ["", ["arn:aws:s3:::aws-ssm-", {"Ref": "AWS::Region"}, "/*"]]} in owned[
        "Resource"
    ]


def test_default_vpc_passes_every_nag_pack(default: Any) -> None:
    app, _ = default
    assert nag_violations(app) == []


def test_isolated_only_has_no_way_out() -> None:
    app, template = _build(isolated_only=True)
    assert not _resources(template, "AWS::EC2::InternetGateway")
    assert not _resources(template, "AWS::EC2::NatGateway")
    assert nag_violations(app) == []


def test_transit_gateway_replaces_nat() -> None:
    _, template = _build(transit_gateway_id="tgw-0123456789abcdef0")
    assert not _resources(template, "AWS::EC2::NatGateway")
    assert not _resources(template, "AWS::EC2::InternetGateway")
    (attachment,) = _resources(template, "AWS::EC2::TransitGatewayAttachment")
    assert attachment["Properties"]["TransitGatewayId"] == "tgw-0123456789abcdef0"
    routes = [
        r["Properties"]
        for r in _resources(template, "AWS::EC2::Route")
        if r["Properties"].get("TransitGatewayId")
    ]
    assert len(routes) == 2 and all(r["DestinationCidrBlock"] == "0.0.0.0/0" for r in routes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cidr": "10.0.0.0/8"}, "cidr must be a /16 to /24 range"),
        ({"cidr": "not-a-cidr"}, "cidr must be an IPv4 range"),
        ({"max_azs": 1}, "max_azs must be at least 2"),
        ({"nat_gateways": 3}, r"nat_gateways must be between 1 and the number of AZs \(2\)"),
        ({"cidr": "10.0.0.0/19"}, "cidr 10.0.0.0/19 is too small for the tiers in 2 AZs"),
        (
            {"cidr": "10.0.0.0/18", "max_azs": 3, "nat_gateways": 1},
            "cidr 10.0.0.0/18 is too small for the tiers in 3 AZs",
        ),
        (
            {"cidr": "10.0.0.0/24", "isolated_only": True},
            "cidr 10.0.0.0/24 is too small",
        ),
        (
            {"isolated_only": True, "transit_gateway_id": "tgw-1"},
            "an isolated VPC has no route out",
        ),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        LayeredVpc(stack, "Vpc", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cidr": "10.0.0.0/18"},
        {"cidr": "10.0.0.0/23", "isolated_only": True},
        {"cidr": "10.0.0.0/18", "transit_gateway_id": "tgw-0123456789abcdef0"},
    ],
    ids=["public tiers", "isolated only", "on a transit gateway"],
)
def test_the_smallest_range_the_tiers_fit_in_builds(kwargs: dict[str, Any]) -> None:
    _, stack = new_stack()
    LayeredVpc(stack, "Vpc", **kwargs)  # the CDK lays the subnets out without complaint
    subnets = assertions.Template.from_stack(stack).find_resources("AWS::EC2::Subnet")
    assert len(subnets) >= 2


def test_nat_gateways_count_the_zones_given() -> None:
    from baseline.constructs.layered_vpc import declare_availability_zones

    _, stack = new_stack()
    zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    declare_availability_zones(stack, zones)
    LayeredVpc(stack, "Vpc", availability_zones=zones, nat_gateways=3)
    template = assertions.Template.from_stack(stack)
    assert len(template.find_resources("AWS::EC2::NatGateway")) == 3


def test_joins_the_network_hub_by_the_shared_parameters() -> None:
    from baseline.constructs.layered_vpc import network_hub_ids

    app, stack = new_stack()
    hub = network_hub_ids(stack, prefix="acme", network_account_id="444455556666")
    LayeredVpc(
        stack,
        "Vpc",
        transit_gateway_id=hub.transit_gateway_id,
        dns_firewall_rule_group_id=hub.dns_firewall_rule_group_id,
        query_log_config_id=hub.query_log_config_id,
    )
    template = assertions.Template.from_stack(stack)
    parameters = template.to_json()["Parameters"]
    assert parameters["NetworkHubTransitGatewayId"] == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "arn:aws:ssm:eu-west-1:444455556666:parameter/acme/network/transit-gateway-id",
        "Description": "The network hub's transit gateway id (shared by the network account)",
    }
    (association,) = _resources(template, "AWS::Route53Resolver::FirewallRuleGroupAssociation")
    assert association["Properties"]["FirewallRuleGroupId"] == {
        "Ref": "NetworkHubDnsFirewallRuleGroupId"
    }
    assert association["Properties"]["MutationProtection"] == "DISABLED"  # or no stack delete
    (logging,) = _resources(template, "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation")
    assert logging["Properties"]["ResolverQueryLogConfigId"] == {
        "Ref": "NetworkHubQueryLogConfigId"
    }
    (attachment,) = _resources(template, "AWS::EC2::TransitGatewayAttachment")
    assert attachment["Properties"]["TransitGatewayId"] == {"Ref": "NetworkHubTransitGatewayId"}
    assert nag_violations(app) == []


def test_hub_ids_need_a_concrete_region() -> None:
    from baseline.constructs.layered_vpc import network_hub_ids

    stack = cdk.Stack(cdk.App(), "Agnostic")
    with pytest.raises(ValueError, match="concrete region"):
        network_hub_ids(stack, prefix="acme", network_account_id="444455556666")
