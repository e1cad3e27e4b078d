"""Network controls (baseline/controls/network.py): each fails once its property is removed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from baseline.controls import resources
from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    drop_scp_statements,
    first,
)

WEAKENINGS: dict[str, Weakening] = {
    "LZ-NET-01": lambda t: first(
        t, "AWS::EC2::NetworkAclEntry", lambda e: e["Properties"]["RuleAction"] == "deny"
    )["Properties"].update(RuleAction="allow"),
    "LZ-NET-02": lambda t: first(
        t, "AWS::EC2::TransitGatewayRoute", lambda r: r["Properties"].get("Blackhole") is True
    )["Properties"].update(Blackhole=False),
    "LZ-NET-03": lambda t: first(t, "AWS::NetworkFirewall::FirewallPolicy")["Properties"][
        "FirewallPolicy"
    ].update(StatefulDefaultActions=[]),
    "LZ-NET-04": lambda t: first(t, "AWS::Route53Resolver::FirewallRuleGroup")["Properties"][
        "FirewallRules"
    ][0].update(Action="ALERT"),
    "LZ-NET-05": drop_scp_statements("ProtectHubFirewalls", "ProtectHubRoutingAndDns"),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def _add_to_hub_stack(
    templates: MutableTemplates, logical_id: str, resource: dict[str, Any]
) -> None:
    templates["Network-eu-west-1"]["Resources"][logical_id] = resource


def test_fails_when_a_security_group_opens_ssh_to_the_world(synthesized: Synthesized) -> None:
    open_ssh = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "too open",
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
            ],
        },
    }
    assert_weakening_breaks(
        "LZ-NET-01", lambda t: _add_to_hub_stack(t, "OpenSsh", open_ssh), synthesized
    )


def test_fails_when_a_standalone_ingress_rule_opens_rdp_to_the_world(
    synthesized: Synthesized,
) -> None:
    """A rule the CDK writes as its own resource counts as much as an inline one."""
    open_rdp = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": "sg-0123456789abcdef0",
            "IpProtocol": "tcp",
            "FromPort": 3389,
            "ToPort": 3389,
            "CidrIp": "0.0.0.0/0",
        },
    }
    assert_weakening_breaks(
        "LZ-NET-01", lambda t: _add_to_hub_stack(t, "OpenRdp", open_rdp), synthesized
    )


def _world_v6_entries(templates: MutableTemplates, first_rule: str) -> None:
    """An IPv6 allow-all on the first NACL the hub denies admin ports in (numbered after
    its IPv4 deny entries), behind an IPv6 entry for port 22 that ``first_rule`` decides."""
    deny = first(
        {"Network-eu-west-1": templates["Network-eu-west-1"]},
        "AWS::EC2::NetworkAclEntry",
        lambda e: e["Properties"]["RuleAction"] == "deny",
    )["Properties"]
    for logical_id, rule_number, action, ports in (
        ("Ssh6", 1, first_rule, {"From": 22, "To": 22}),
        ("All6", 32000, "allow", None),
    ):
        entry = {
            "NetworkAclId": deny["NetworkAclId"],
            "RuleNumber": rule_number,
            "Protocol": 6 if ports else -1,
            "RuleAction": action,
            "Egress": False,
            "Ipv6CidrBlock": "::/0",
        }
        if ports:
            entry["PortRange"] = ports
        _add_to_hub_stack(
            templates, logical_id, {"Type": "AWS::EC2::NetworkAclEntry", "Properties": entry}
        )


def test_fails_when_a_nacl_lets_the_ipv6_world_reach_an_admin_port(
    synthesized: Synthesized,
) -> None:
    """The IPv4 entries deny the admin ports; an IPv6 allow-all still opens them over IPv6."""
    assert_weakening_breaks(
        "LZ-NET-01", lambda t: _world_v6_entries(t, first_rule="allow"), synthesized
    )


def test_an_ipv6_nacl_entry_that_denies_first_passes(synthesized: Synthesized) -> None:
    """Only the first IPv6 entry for a port counts: a deny before the allow-all passes for
    that port (the other admin ports stay open over IPv6)."""
    from baseline.controls.network import check_no_admin_ports_open

    templates = copy.deepcopy(synthesized.templates)
    _world_v6_entries(templates, first_rule="deny")
    violations = check_no_admin_ports_open(templates).violations
    assert [v for v in violations if "(IPv6)" in v and "port 22 " in v] == []
    assert [v.rpartition(": ")[2] for v in violations if "(IPv6)" in v] == [
        "port 3389 open to the world",
        "port 5985 open to the world",
        "port 5986 open to the world",
    ]


def test_fails_when_a_vpc_logs_only_rejected_traffic(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-NET-01",
        lambda t: [
            flow_log["Properties"].update(TrafficType="REJECT")
            for flow_log in t["Forensics"]["Resources"].values()
            if flow_log["Type"] == "AWS::EC2::FlowLog"
        ],
        synthesized,
    )


def test_fails_when_one_regions_firewall_drops_its_flow_logs(synthesized: Synthesized) -> None:
    """Every region's hub has the same logical ids; another region's logging must not count."""

    def alert_only(templates: MutableTemplates) -> None:
        config = first(templates, "AWS::NetworkFirewall::LoggingConfiguration")
        destinations = config["Properties"]["LoggingConfiguration"]["LogDestinationConfigs"]
        destinations[:] = [d for d in destinations if d["LogType"] != "FLOW"]

    assert_weakening_breaks("LZ-NET-03", alert_only, synthesized)


def test_fails_when_one_region_stops_logging_dns_queries(synthesized: Synthesized) -> None:
    def drop_query_logging(templates: MutableTemplates) -> None:
        hub = templates["Network-eu-west-1"]["Resources"]
        for logical_id, resource in list(hub.items()):
            if resource["Type"].startswith("AWS::Route53Resolver::ResolverQueryLoggingConfig"):
                del hub[logical_id]

    assert_weakening_breaks("LZ-NET-04", drop_query_logging, synthesized)


def _hub(templates: MutableTemplates) -> dict[str, Any]:
    return templates["Network-eu-west-1"]["Resources"]


def _policy_references(templates: MutableTemplates) -> list[dict[str, Any]]:
    (policy,) = [r for r in _hub(templates).values() if r["Type"].endswith("FirewallPolicy")]
    references: list[dict[str, Any]] = policy["Properties"]["FirewallPolicy"][
        "StatefulRuleGroupReferences"
    ]
    return references


def _drop_allow_list_reference(templates: MutableTemplates) -> None:
    references = _policy_references(templates)
    references[:] = [r for r in references if "AllowedDomains" not in str(r["ResourceArn"])]


def _allow_list_first(templates: MutableTemplates) -> None:
    for reference in _policy_references(templates):
        if "AllowedDomains" in str(reference["ResourceArn"]):
            reference["Priority"] = 1


def _allow_list_becomes_deny_list(templates: MutableTemplates) -> None:
    for resource in _hub(templates).values():
        source = resource["Properties"].get("RuleGroup", {}).get("RulesSource", {})
        if "RulesSourceList" in source:
            source["RulesSourceList"]["GeneratedRulesType"] = "DENYLIST"


@pytest.mark.parametrize(
    "weaken", [_drop_allow_list_reference, _allow_list_first, _allow_list_becomes_deny_list]
)
def test_fails_without_the_domain_allow_list_after_the_signatures(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-NET-03", weaken, synthesized)


def _spokes_propagate_to_their_own_table(templates: MutableTemplates) -> None:
    for _, defaults in resources(templates, "Custom::TransitGatewayDefaults"):
        props = defaults["Properties"]
        props["PropagationDefaultRouteTableId"] = props["AssociationDefaultRouteTableId"]


def _black_hole_elsewhere(templates: MutableTemplates) -> None:
    for _, route in resources(templates, "AWS::EC2::TransitGatewayRoute"):
        if route["Properties"].get("Blackhole") is True:
            route["Properties"]["DestinationCidrBlock"] = "192.0.2.0/24"


@pytest.mark.parametrize("weaken", [_spokes_propagate_to_their_own_table, _black_hole_elsewhere])
def test_fails_when_spokes_can_reach_each_other(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-NET-02", weaken, synthesized)


def _drop_every(resource_type: str) -> Weakening:
    def drop(templates: MutableTemplates) -> None:
        for template in templates.values():
            for logical_id, resource in list(template["Resources"].items()):
                if resource["Type"] == resource_type:
                    del template["Resources"][logical_id]

    return drop


@pytest.mark.parametrize(
    "association",
    [
        "AWS::Route53Resolver::FirewallRuleGroupAssociation",
        "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation",
    ],
)
def test_fails_when_dns_firewall_or_query_logging_is_attached_to_no_vpc(
    association: str, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-NET-04", _drop_every(association), synthesized)


@pytest.mark.parametrize("sid", ["ProtectHubRoutingAndDns", "ProtectHubFirewalls"])
def test_fails_when_one_part_of_the_hub_is_left_unprotected(
    sid: str, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-NET-05", drop_scp_statements(sid), synthesized)


def _fragments_pass(templates: MutableTemplates) -> None:
    """Every firewall policy lets fragments skip the stateful engine."""
    for _, policy in resources(templates, "AWS::NetworkFirewall::FirewallPolicy"):
        policy["Properties"]["FirewallPolicy"]["StatelessFragmentDefaultActions"] = ["aws:pass"]


def _a_stateless_group_passes(templates: MutableTemplates) -> None:
    """One hub's policy references a stateless rule group of its stack that passes all
    traffic around the stateful engine."""
    hub = _hub(templates)
    hub["PassEverything"] = {
        "Type": "AWS::NetworkFirewall::RuleGroup",
        "Properties": {
            "Type": "STATELESS",
            "Capacity": 10,
            "RuleGroupName": "pass-everything",
            "RuleGroup": {
                "RulesSource": {
                    "StatelessRulesAndCustomActions": {
                        "StatelessRules": [
                            {
                                "Priority": 1,
                                "RuleDefinition": {
                                    "Actions": ["aws:pass"],
                                    "MatchAttributes": {},
                                },
                            }
                        ]
                    }
                }
            },
        },
    }
    (policy,) = [r for r in hub.values() if r["Type"] == "AWS::NetworkFirewall::FirewallPolicy"]
    policy["Properties"]["FirewallPolicy"]["StatelessRuleGroupReferences"] = [
        {"Priority": 1, "ResourceArn": {"Fn::GetAtt": ["PassEverything", "RuleGroupArn"]}}
    ]


@pytest.mark.parametrize(
    "weaken", [_fragments_pass, _a_stateless_group_passes], ids=["fragments", "rule group"]
)
def test_fails_when_stateless_traffic_may_skip_the_stateful_engine(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-NET-03", weaken, synthesized)


def test_fails_when_spokes_may_route_into_the_egress_vpc(synthesized: Synthesized) -> None:
    """The egress VPC's own range must be black-holed in the spokes' table: its local route
    would deliver a spoke's packet to the NAT gateways and endpoints beside the firewall."""

    def reopen(templates: MutableTemplates) -> None:
        for template in templates.values():
            held = template["Resources"]
            for logical_id in [
                k
                for k, r in held.items()
                if r["Type"] == "AWS::EC2::TransitGatewayRoute"
                and r["Properties"].get("DestinationCidrBlock") == "100.64.0.0/24"
            ]:
                del held[logical_id]

    assert_weakening_breaks("LZ-NET-02", reopen, synthesized)
