"""LayeredVpc: tiers, least traffic, flow logs, endpoints, and no admin port open to the world."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs import LayeredVpc
from baseline.controls import RETAINED
from baseline.defaults import ADMIN_PORTS
from tests.constructs.helpers import nag_violations, new_stack

BUCKET = "acme-logs-111122223333-eu-west-1"


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


def test_no_network_acl_or_security_group_opens_admin_ports_to_the_world(default: Any) -> None:
    _, template = default
    entries = _resources(template, "AWS::EC2::NetworkAclEntry")
    for port in ADMIN_PORTS:
        covering = [
            e["Properties"]
            for e in entries
            if e["Properties"].get("CidrBlock") == "0.0.0.0/0"
            and not e["Properties"].get("Egress", False)
            and (
                e["Properties"].get("Protocol") in (-1, "-1")
                or (
                    e["Properties"].get("PortRange", {}).get("From", 0)
                    <= port
                    <= e["Properties"].get("PortRange", {}).get("To", -1)
                )
            )
        ]
        # the first matching rule (lowest number) for the port, per ACL, must deny
        by_acl: dict[str, list[dict[str, Any]]] = {}
        for entry in covering:
            by_acl.setdefault(str(entry["NetworkAclId"]), []).append(entry)
        for acl_entries in by_acl.values():
            first = min(acl_entries, key=lambda e: e["RuleNumber"])
            assert first["RuleAction"] == "deny", (port, first)
    for group in _resources(template, "AWS::EC2::SecurityGroup"):
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0", rule


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
    assert allows and all(e["CidrBlock"] == "10.0.0.0/16" for e in allows)


def test_flow_logs_of_all_traffic_to_the_log_archive_and_an_encrypted_group(default: Any) -> None:
    _, template = default
    logs = [f["Properties"] for f in _resources(template, "AWS::EC2::FlowLog")]
    assert {f["LogDestinationType"] for f in logs} == {"s3", "cloud-watch-logs"}
    assert all(f["TrafficType"] == "ALL" for f in logs)
    s3_log = next(f for f in logs if f["LogDestinationType"] == "s3")
    assert BUCKET in str(s3_log["LogDestination"])
    (group,) = _resources(template, "AWS::Logs::LogGroup")
    assert "KmsKeyId" in group["Properties"] and group["DeletionPolicy"] in RETAINED


def test_default_security_group_is_closed(default: Any) -> None:
    _, template = default
    assert _resources(template, "Custom::VpcRestrictDefaultSG")


def test_endpoints_are_private_and_limited_to_the_organisation(default: Any) -> None:
    _, template = default
    endpoints = [e["Properties"] for e in _resources(template, "AWS::EC2::VPCEndpoint")]
    gateways = [e for e in endpoints if e.get("VpcEndpointType", "Gateway") == "Gateway"]
    interfaces = [e for e in endpoints if e.get("VpcEndpointType") == "Interface"]
    assert len(gateways) == 2 and len(interfaces) == 6
    for endpoint in endpoints:
        (statement,) = endpoint["PolicyDocument"]["Statement"]
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    assert all(e["PrivateDnsEnabled"] is True for e in interfaces)


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
        ({"nat_gateways": 3}, "nat_gateways must be between 1 and max_azs"),
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
