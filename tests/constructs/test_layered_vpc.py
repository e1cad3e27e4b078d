"""LayeredVpc: tiers, least traffic, flow logs, endpoints, and no admin port open to the world."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs import LayeredVpc
from baseline.controls import RETAINED
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


def test_isolated_tier_talks_only_inside_the_vpc(default: Any) -> None:
    _, template = default
    acls = template.find_resources("AWS::EC2::NetworkAcl")
    isolated = next(k for k in acls if "IsolatedAcl" in k)
    entries = [
        e["Properties"]
        for e in _resources(template, "AWS::EC2::NetworkAclEntry")
        if e["Properties"]["NetworkAclId"] == {"Ref": isolated}
    ]
    allows = [e for e in entries if e["RuleAction"] == "allow"]
    assert sorted((e["Egress"], e["CidrBlock"], e["Protocol"]) for e in allows) == [
        (False, "10.0.0.0/16", -1),
        (True, "10.0.0.0/16", -1),
    ]


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
    for endpoint in endpoints:
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
    for endpoint in endpoints:
        (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}


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
