"""NetworkHub: spokes reach only the inspected egress path, every flow is logged."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs.network_hub import NetworkHub
from baseline.controls import RETAINED
from tests.constructs.helpers import nag_violations, new_stack

BUCKET = "acme-logs-111122223333-eu-west-1"
ZONES = ["eu-west-1a", "eu-west-1b"]
OU = "arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-cd34ef56"
#: SSH, RDP, WinRM over HTTP and HTTPS (CIS 5.1, 5.2), spelled out rather than imported.
ADMIN_PORTS = (22, 3389, 5985, 5986)


def _build(**kwargs: Any) -> tuple[cdk.App, assertions.Template]:
    app, stack = new_stack()
    settings: dict[str, Any] = {
        "name": "acme-hub",
        "availability_zones": ZONES,
        "log_bucket_name": BUCKET,
        "share_with": [OU],
        "parameter_prefix": "/acme/network",
        **kwargs,
    }
    NetworkHub(stack, "Hub", **settings)
    return app, assertions.Template.from_stack(stack)


@pytest.fixture(scope="module")
def default() -> tuple[cdk.App, assertions.Template]:
    return _build(allowed_domains=[".amazonaws.com", "pypi.org"], blocked_domains=[".bad.example"])


def _of(template: assertions.Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return dict(template.find_resources(resource_type))


def _one(template: assertions.Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = _of(template, resource_type).items()
    return item


def _subnet_ids(template: assertions.Template, tier: str) -> list[str]:
    """Logical ids of a tier's subnets, in AZ order."""
    subnets = _of(template, "AWS::EC2::Subnet")
    tagged = {
        k: s
        for k, s in subnets.items()
        if {"Key": "aws-cdk:subnet-name", "Value": tier} in s["Properties"]["Tags"]
    }
    return sorted(tagged, key=lambda k: tagged[k]["Properties"]["AvailabilityZone"])


def _route_table_of(template: assertions.Template, subnet_id: str) -> str:
    for association in _of(template, "AWS::EC2::SubnetRouteTableAssociation").values():
        if association["Properties"]["SubnetId"] == {"Ref": subnet_id}:
            return str(association["Properties"]["RouteTableId"]["Ref"])
    raise AssertionError(subnet_id)


def _routes_of(template: assertions.Template, subnet_id: str) -> dict[str, dict[str, Any]]:
    table = _route_table_of(template, subnet_id)
    return {
        r["Properties"]["DestinationCidrBlock"]: r["Properties"]
        for r in _of(template, "AWS::EC2::Route").values()
        if r["Properties"]["RouteTableId"] == {"Ref": table}
    }


def _endpoint_firewall(route: dict[str, Any]) -> str:
    """The firewall whose endpoint a route targets (one-AZ firewalls: its first endpoint)."""
    select = route["VpcEndpointId"]["Fn::Select"]
    assert select[0] == 1
    inner = select[1]["Fn::Split"][1]["Fn::Select"]
    assert inner[0] == 0
    return str(inner[1]["Fn::GetAtt"][0])


def test_each_az_routes_through_its_own_firewall_endpoint(default: Any) -> None:
    _, template = default
    firewalls = _of(template, "AWS::NetworkFirewall::Firewall")
    subnet_of_firewall = {
        k: f["Properties"]["SubnetMappings"][0]["SubnetId"]["Ref"] for k, f in firewalls.items()
    }
    firewall_subnets = _subnet_ids(template, "Firewall")
    for index, (transit, public) in enumerate(
        zip(_subnet_ids(template, "Transit"), _subnet_ids(template, "Public"), strict=True)
    ):
        out = _routes_of(template, transit)["0.0.0.0/0"]
        back = _routes_of(template, public)["10.0.0.0/8"]
        # out and back through the firewall whose one endpoint is in this AZ
        assert subnet_of_firewall[_endpoint_firewall(out)] == firewall_subnets[index]
        assert _endpoint_firewall(back) == _endpoint_firewall(out)
        inspected = _routes_of(template, firewall_subnets[index])
        assert "NatGatewayId" in inspected["0.0.0.0/0"]
        assert "TransitGatewayId" in inspected["10.0.0.0/8"]
    assert len(firewalls) == len(ZONES)
    assert all(f["Properties"]["DeleteProtection"] is True for f in firewalls.values())


def test_spokes_reach_only_the_egress_vpc_never_each_other(default: Any) -> None:
    _, template = default
    _, gateway = _one(template, "AWS::EC2::TransitGateway")
    assert gateway["Properties"]["DefaultRouteTableAssociation"] == "disable"
    assert gateway["Properties"]["DefaultRouteTablePropagation"] == "disable"
    tables = _of(template, "AWS::EC2::TransitGatewayRouteTable")
    spokes = next(k for k in tables if "SpokeRoutes" in k)
    egress = next(k for k in tables if "EgressRoutes" in k)
    attachment, props = _one(template, "AWS::EC2::TransitGatewayVpcAttachment")
    assert props["Properties"]["Options"]["ApplianceModeSupport"] == "enable"
    routes = {
        r["Properties"]["DestinationCidrBlock"]: r["Properties"]
        for r in _of(template, "AWS::EC2::TransitGatewayRoute").values()
    }
    assert routes["0.0.0.0/0"]["TransitGatewayRouteTableId"] == {"Ref": spokes}
    assert routes["0.0.0.0/0"]["TransitGatewayAttachmentId"] == {"Ref": attachment}
    assert routes["10.0.0.0/8"] == {
        "TransitGatewayRouteTableId": {"Ref": spokes},
        "DestinationCidrBlock": "10.0.0.0/8",
        "Blackhole": True,
    }
    # the egress attachment is put on its own table by the custom resource, before the
    # defaults change (an attachment made while they are on would land on the spokes table)
    assert not _of(template, "AWS::EC2::TransitGatewayRouteTableAssociation")
    _, defaults = _one(template, "Custom::TransitGatewayDefaults")
    assert defaults["Properties"]["AssociationDefaultRouteTableId"] == {"Ref": spokes}
    assert defaults["Properties"]["PropagationDefaultRouteTableId"] == {"Ref": egress}
    assert defaults["Properties"]["EgressAttachmentId"] == {"Ref": attachment}


def test_the_firewall_drops_what_is_not_allowed_after_the_threat_signatures(default: Any) -> None:
    _, template = default
    _, policy = _one(template, "AWS::NetworkFirewall::FirewallPolicy")
    settings = policy["Properties"]["FirewallPolicy"]
    assert settings["StatelessDefaultActions"] == ["aws:forward_to_sfe"]
    assert settings["StatelessFragmentDefaultActions"] == ["aws:forward_to_sfe"]
    assert settings["StatefulEngineOptions"]["RuleOrder"] == "STRICT_ORDER"
    assert settings["StatefulDefaultActions"] == ["aws:drop_established", "aws:alert_established"]
    assert settings["PolicyVariables"]["RuleVariables"]["HOME_NET"] == {
        "Definition": ["10.0.0.0/8"]
    }
    references = sorted(settings["StatefulRuleGroupReferences"], key=lambda r: r["Priority"])
    assert [r["Priority"] for r in references] == [100, 200, 300, 400, 500, 600, 700]
    assert [r["ResourceArn"] for r in references[:-2]] == [
        f"arn:aws:network-firewall:eu-west-1:aws-managed:stateful-rulegroup/{group}"
        for group in (
            "ThreatSignaturesBotnetStrictOrder",
            "ThreatSignaturesMalwareStrictOrder",
            "ThreatSignaturesEmergingEventsStrictOrder",
            "MalwareDomainsStrictOrder",
            "BotNetCommandAndControlDomainsStrictOrder",
        )
    ]
    assert settings["StatefulEngineOptions"]["StreamExceptionPolicy"] == "DROP"
    groups = _of(template, "AWS::NetworkFirewall::RuleGroup")
    allow_list_id = next(k for k in groups if "AllowedDomains" in k)
    allow_list = groups[allow_list_id]
    drop_id = next(k for k in groups if "DropOtherEgress" in k)
    assert references[-2]["ResourceArn"] == {"Fn::GetAtt": [allow_list_id, "RuleGroupArn"]}
    # one-way UDP and ICMP never become "established": dropped outright, last
    assert references[-1]["ResourceArn"] == {"Fn::GetAtt": [drop_id, "RuleGroupArn"]}
    rules = groups[drop_id]["Properties"]["RuleGroup"]["RulesSource"]["RulesString"]
    # from any source: a spoke range outside the workload ranges is not in $HOME_NET
    assert rules.startswith("drop udp any any -> $EXTERNAL_NET any")
    assert "drop icmp any any -> $EXTERNAL_NET any" in rules
    source = allow_list["Properties"]["RuleGroup"]["RulesSource"]["RulesSourceList"]
    assert source == {
        "GeneratedRulesType": "ALLOWLIST",
        "TargetTypes": ["HTTP_HOST", "TLS_SNI"],
        "Targets": [".amazonaws.com", "pypi.org"],
    }
    assert allow_list["Properties"]["RuleGroup"]["StatefulRuleOptions"] == {
        "RuleOrder": "STRICT_ORDER"
    }


def test_firewall_alert_and_flow_logs_go_to_the_log_archive(default: Any) -> None:
    _, template = default
    configs = _of(template, "AWS::NetworkFirewall::LoggingConfiguration").values()
    assert len(configs) == len(ZONES)
    for config in configs:
        destinations = config["Properties"]["LoggingConfiguration"]["LogDestinationConfigs"]
        assert sorted(d["LogType"] for d in destinations) == ["ALERT", "FLOW"]
        assert all(d["LogDestinationType"] == "S3" for d in destinations)
        assert all(d["LogDestination"] == {"bucketName": BUCKET} for d in destinations)


def test_vpc_flow_logs_of_all_traffic_to_the_log_archive(default: Any) -> None:
    _, template = default
    (flow_log,) = [f["Properties"] for f in _of(template, "AWS::EC2::FlowLog").values()]
    assert flow_log["LogDestinationType"] == "s3" and flow_log["TrafficType"] == "ALL"
    assert BUCKET in str(flow_log["LogDestination"])
    (vpc,) = _of(template, "AWS::EC2::VPC")
    assert flow_log["ResourceId"] == {"Ref": vpc}
    assert flow_log["LogDestination"] == f"arn:aws:s3:::{BUCKET}"
    # the hub's one log group is its function's, and it is kept
    (group,) = _of(template, "AWS::Logs::LogGroup").values()
    assert group["Properties"]["LogGroupName"] == "/acme-hub/network-hub"
    assert group["DeletionPolicy"] in RETAINED


def test_dns_firewall_blocks_the_managed_lists_and_logs_every_query(default: Any) -> None:
    _, template = default
    lists_id, lists = _one(template, "Custom::ManagedDomainLists")
    names = lists["Properties"]["Names"]
    assert names == [
        "AWSManagedDomainsMalwareDomainList",
        "AWSManagedDomainsBotnetCommandandControl",
        "AWSManagedDomainsAggregateThreatList",
    ]
    group_id, group = _one(template, "AWS::Route53Resolver::FirewallRuleGroup")
    rules = sorted(group["Properties"]["FirewallRules"], key=lambda r: r["Priority"])
    assert [r["FirewallDomainListId"] for r in rules[:3]] == [
        {"Fn::GetAtt": [lists_id, name]} for name in names
    ]
    assert all(r["Action"] == "BLOCK" and r["BlockResponse"] == "NODATA" for r in rules)
    # DNS Firewall Advanced, last: what no domain list names (generated domains, data in
    # names), blocked when it is sure
    assert [(r.get("DnsThreatProtection"), r.get("ConfidenceThreshold")) for r in rules[-3:]] == [
        ("DGA", "HIGH"),
        ("DICTIONARY_DGA", "HIGH"),
        ("DNS_TUNNELING", "HIGH"),
    ]
    assert len({r["Priority"] for r in rules}) == len(rules)
    _, blocked = _one(template, "AWS::Route53Resolver::FirewallDomainList")
    assert blocked["Properties"]["Domains"] == ["bad.example", "*.bad.example"]
    _, association = _one(template, "AWS::Route53Resolver::FirewallRuleGroupAssociation")
    assert association["Properties"]["FirewallRuleGroupId"] == {"Fn::GetAtt": [group_id, "Id"]}
    # DISABLED: with ENABLED, CloudFormation could not update or delete the association
    assert association["Properties"]["MutationProtection"] == "DISABLED"
    (vpc,) = _of(template, "AWS::EC2::VPC")
    assert association["Properties"]["VpcId"] == {"Ref": vpc}
    query_id, query_logging = _one(template, "AWS::Route53Resolver::ResolverQueryLoggingConfig")
    assert query_logging["Properties"]["DestinationArn"] == f"arn:aws:s3:::{BUCKET}"
    _, logged = _one(template, "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation")
    assert logged["Properties"] == {
        "ResolverQueryLogConfigId": {"Fn::GetAtt": [query_id, "Id"]},
        "ResourceId": {"Ref": vpc},
    }


def test_shared_with_the_named_ous_only_with_ids_published(default: Any) -> None:
    _, template = default
    _, share = _one(template, "AWS::RAM::ResourceShare")
    assert share["Properties"]["Principals"] == [OU]
    assert share["Properties"]["AllowExternalPrincipals"] is False
    shared = share["Properties"]["ResourceArns"]
    gateway, _ = _one(template, "AWS::EC2::TransitGateway")
    assert {"Fn::GetAtt": [gateway, "TransitGatewayArn"]} in shared
    parameters = [p["Properties"] for p in _of(template, "AWS::SSM::Parameter").values()]
    assert sorted(p["Name"] for p in parameters) == [
        "/acme/network/dns-firewall-rule-group-id",
        "/acme/network/query-log-config-id",
        "/acme/network/transit-gateway-id",
    ]
    assert all(p["Tier"] == "Advanced" for p in parameters)  # RAM shares advanced ones only
    assert "arn:aws:ssm:eu-west-1:111122223333:parameter/acme/network/transit-gateway-id" in shared
    assert len(shared) == 6


def test_no_network_acl_or_security_group_opens_admin_ports_to_the_world(default: Any) -> None:
    _, template = default
    entries = [e["Properties"] for e in _of(template, "AWS::EC2::NetworkAclEntry").values()]
    (acl,) = _of(template, "AWS::EC2::NetworkAcl")
    assert all(e["NetworkAclId"] == {"Ref": acl} for e in entries) and entries
    for port in ADMIN_PORTS:
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
        assert covering, port
        first = min(covering, key=lambda e: e["RuleNumber"])
        assert first["RuleAction"] == "deny", port
        assert first["Protocol"] == 6 and first["PortRange"] == {"From": port, "To": port}
    # the four denials, then the one allow-all per direction behind them
    ingress = sorted(
        (e["RuleNumber"], e["RuleAction"]) for e in entries if not e.get("Egress", False)
    )
    assert ingress == [(10, "deny"), (20, "deny"), (30, "deny"), (40, "deny"), (100, "allow")]
    # every subnet of the hub has the ACL, not only some tier of it
    covered = {
        a["Properties"]["SubnetId"]["Ref"]
        for a in _of(template, "AWS::EC2::SubnetNetworkAclAssociation").values()
        if a["Properties"]["NetworkAclId"] == {"Ref": acl}
    }
    assert covered == set(_of(template, "AWS::EC2::Subnet")) and len(covered) == 6
    assert not _of(template, "AWS::EC2::SecurityGroup")  # the hub creates none
    (vpc,) = _of(template, "AWS::EC2::VPC")
    _, restrict = _one(template, "Custom::VpcRestrictDefaultSG")
    assert restrict["Properties"]["DefaultSecurityGroupId"] == {
        "Fn::GetAtt": [vpc, "DefaultSecurityGroup"]
    }


def test_the_function_may_change_only_this_gateway(default: Any) -> None:
    _, template = default
    gateway, _ = _one(template, "AWS::EC2::TransitGateway")
    attachment, _ = _one(template, "AWS::EC2::TransitGatewayVpcAttachment")
    statements = {
        s["Sid"]: s
        for p in _of(template, "AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "Sid" in s
    }
    modify = statements["SetTheHubsRouteTableDefaults"]
    assert modify["Action"] == "ec2:ModifyTransitGateway"
    assert modify["Resource"][0] == {"Fn::GetAtt": [gateway, "TransitGatewayArn"]}
    assert "*" not in str(modify["Resource"])
    keep = statements["KeepTheEgressAttachmentOnItsTable"]
    assert sorted(keep["Action"]) == [
        "ec2:AssociateTransitGatewayRouteTable",
        "ec2:DisassociateTransitGatewayRouteTable",
    ]
    assert "*" not in str(keep["Resource"]) and attachment in str(keep["Resource"])
    assert statements["WatchTheGatewayAndAttachment"]["Action"] == [
        "ec2:DescribeTransitGatewayAttachments",
        "ec2:DescribeTransitGateways",
    ]


def test_default_hub_passes_every_nag_pack(default: Any) -> None:
    app, _ = default
    assert nag_violations(app) == []


def test_without_the_firewall_egress_leaves_through_nat_only() -> None:
    app, template = _build(firewall=False, dns_firewall=False, share_with=[])
    assert not _of(template, "AWS::NetworkFirewall::Firewall")
    assert not _of(template, "AWS::Route53Resolver::FirewallRuleGroup")
    assert not _of(template, "AWS::RAM::ResourceShare")
    assert not _subnet_ids(template, "Firewall")
    transit_subnets = _subnet_ids(template, "Transit")
    public_subnets = _subnet_ids(template, "Public")
    assert len(transit_subnets) == len(public_subnets) == len(ZONES)
    for transit in transit_subnets:
        assert "NatGatewayId" in _routes_of(template, transit)["0.0.0.0/0"]
    for public in public_subnets:
        assert "TransitGatewayId" in _routes_of(template, public)["10.0.0.0/8"]
    assert nag_violations(app) == []


def test_spokes_find_the_gateway_only_once_its_default_tables_are_set() -> None:
    """An attachment made before the defaults would be accepted and never routed: the
    share and the parameters wait for the custom resource that sets them."""
    _, template = _build(firewall=True, dns_firewall=False, share_with=["ou-ab12-cdef3456"])
    (defaults,) = template.find_resources("Custom::TransitGatewayDefaults")
    for kind in ("AWS::RAM::ResourceShare", "AWS::SSM::Parameter"):
        for logical_id, resource in template.find_resources(kind).items():
            assert defaults in resource.get("DependsOn", []), logical_id


def test_spokes_cannot_route_into_the_egress_vpc_beside_the_firewall() -> None:
    _, template = _build(firewall=True, dns_firewall=False, share_with=[])
    routes = [
        r["Properties"]
        for r in template.find_resources("AWS::EC2::TransitGatewayRoute").values()
        if r["Properties"].get("Blackhole")
    ]
    assert {"DestinationCidrBlock": "100.64.0.0/24"} in [
        {"DestinationCidrBlock": r["DestinationCidrBlock"]} for r in routes
    ]


def test_the_transit_subnets_stay_where_they_are_with_or_without_the_firewall() -> None:
    """Turning inspection on again (or off) must not move the transit subnets: a moved
    subnet is replaced, and its new range meets the firewall subnets' on the way. The
    firewall tier's addresses are kept (reserved) without the firewall."""

    def transit_ranges(firewall: bool) -> list[str]:
        _, template = _build(firewall=firewall, dns_firewall=False, share_with=[])
        subnets = template.find_resources("AWS::EC2::Subnet")
        return sorted(
            subnets[s]["Properties"]["CidrBlock"] for s in _subnet_ids(template, "Transit")
        )

    assert transit_ranges(firewall=True) == transit_ranges(firewall=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"availability_zones": ["eu-west-1a"]}, "availability_zones: give at least 2 AZs"),
        (
            {"egress_cidr": "10.1.0.0/24"},
            "workload_cidrs\\[0\\]: 10.0.0.0/8 overlaps the egress range",
        ),
        ({"egress_cidr": "100.64.0.0/26"}, "/16 to /24"),
        ({"allowed_domains": []}, "every flow out would be dropped"),
        ({"allowed_domains": [f"d{i}.example.com" for i in range(251)]}, "at most 250"),
        ({"workload_cidrs": []}, "at least one range"),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build(**kwargs)


def test_the_hub_function_is_configured_with_the_hubs_own_ids(default: Any) -> None:
    """The function reads the ids it may act on from its environment, not from requests."""
    _, template = default
    (gateway, _) = _one(template, "AWS::EC2::TransitGateway")
    tables = {
        r["Properties"]["Tags"][0]["Value"].rsplit("-", 1)[1]: logical
        for logical, r in _of(template, "AWS::EC2::TransitGatewayRouteTable").items()
    }
    (attachment, _) = _one(template, "AWS::EC2::TransitGatewayVpcAttachment")
    (function,) = [
        f
        for f in _of(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "network_hub.handler"
    ]
    assert function["Properties"]["Environment"]["Variables"] == {
        "HUB_TRANSIT_GATEWAY_ID": {"Ref": gateway},
        "HUB_SPOKE_ROUTE_TABLE_ID": {"Ref": tables["spokes"]},
        "HUB_EGRESS_ROUTE_TABLE_ID": {"Ref": tables["egress"]},
        "HUB_EGRESS_ATTACHMENT_ID": {"Ref": attachment},
    }


def test_a_workload_range_leaving_the_list_replaces_no_other_route() -> None:
    """Each route to a workload range is named after the range, not its place in the list:
    taking out the first range left the second's routes as they were, where by position
    they were replaced, and the replacements, created first, collided with the routes
    still in place (CloudFormation refuses two routes to one range in one table)."""
    routes = ("AWS::EC2::Route", "AWS::EC2::TransitGatewayRoute")

    def workload_routes(cidrs: list[str]) -> dict[str, dict[str, Any]]:
        _, template = _build(workload_cidrs=cidrs)
        return {
            logical_id: resource["Properties"]
            for kind in routes
            for logical_id, resource in _of(template, kind).items()
            if resource["Properties"].get("DestinationCidrBlock") in cidrs
        }

    both = workload_routes(["10.0.0.0/8", "172.16.0.0/12"])
    second = workload_routes(["172.16.0.0/12"])
    assert second and set(second) < set(both)
    assert all(both[logical_id] == properties for logical_id, properties in second.items())


def test_the_egress_attachment_goes_before_the_route_tables(default: Any) -> None:
    """CloudFormation deletes in reverse dependency order: without this it deleted the
    attachment and its tables at once, and a table still associated cannot be deleted."""
    _, template = default
    (attachment,) = _of(template, "AWS::EC2::TransitGatewayVpcAttachment").values()
    tables = set(_of(template, "AWS::EC2::TransitGatewayRouteTable"))
    assert len(tables) == 2
    assert tables <= set(attachment["DependsOn"])
