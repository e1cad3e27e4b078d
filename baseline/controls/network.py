"""Network controls: closed admin ports, isolated spokes, inspected egress, DNS Firewall,
and the guardrail that keeps the hub's network controls in the baseline's hands.

The checks spell out their own ports and ranges instead of importing the constructs'
defaults (``baseline.defaults``): a default changed there must trip the check, not move
with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from baseline.controls.model import (
    Control,
    Evidence,
    Template,
    Templates,
    actions,
    control,
    properties,
    resources,
    root_denies,
)

CONTROLS: list[Control] = []

#: Ports of remote administration that nothing opens to the world (CIS 5.1, 5.2).
_ADMIN_PORTS = (22, 3389, 5985, 5986)
#: Everywhere on the IPv4 internet.
_WORLD = "0.0.0.0/0"
#: Everywhere on the IPv6 internet.
_WORLD_V6 = "::/0"


def _covers(entry: Mapping[str, Any], port: int) -> bool:
    """A network ACL entry (or a rule in its shape) applies to ``port``."""
    if str(entry.get("Protocol")) == "-1":
        return True
    span = entry.get("PortRange") or {}
    return int(span.get("From", 0)) <= port <= int(span.get("To", -1))


def _in_stack(templates: Templates, name: str, resource_type: str) -> list[dict[str, Any]]:
    """Resources of a type in the stack that ``name`` (``stack/logical id``) belongs to."""
    stack = name.split("/", 1)[0]
    return [r for _, r in resources({stack: templates[stack]}, resource_type)]


def _world_inbound_entries(templates: Templates) -> dict[str, list[dict[str, Any]]]:
    """The inbound network ACL entries from the whole internet, per ACL and address family
    (``stack/acl`` for IPv4, ``stack/acl (IPv6)``): a network ACL weighs IPv4 entries for
    IPv4 traffic and IPv6 entries for IPv6, so each family's first covering entry counts."""
    by_acl: dict[str, list[dict[str, Any]]] = {}
    for name, entry in resources(templates, "AWS::EC2::NetworkAclEntry"):
        props = properties(entry)
        if props.get("Egress", False):
            continue
        if props.get("CidrBlock") == _WORLD:
            family = ""
        elif props.get("Ipv6CidrBlock") == _WORLD_V6:
            family = " (IPv6)"
        else:
            continue
        stack = name.split("/")[0]
        acl = f"{stack}/{json.dumps(props.get('NetworkAclId'))}{family}"
        by_acl.setdefault(acl, []).append(props)
    return by_acl


@control(
    CONTROLS,
    id="LZ-NET-01",
    applies_to="vpcs",
    title="No NACL or security group opens SSH, RDP or WinRM; every VPC logs all traffic",
    explanation=(
        "In every network ACL the first inbound entry from 0.0.0.0/0 that covers port 22, "
        "3389, 5985 or 5986 denies it, and so does the first from ::/0 (a network ACL "
        "weighs IPv4 and IPv6 entries apart), no security group or standalone ingress rule lets "
        "the world in on one of those ports, and every VPC's stack closes its default security group and has a flow "
        "log of all traffic."
    ),
    best_practices=("SEC05-BP01", "SEC05-BP02", "SEC04-BP01", "SEC06-BP03"),
    cis=("3.7", "5.1", "5.2", "5.4"),
    implemented_by=(
        "baseline.constructs.layered_vpc.LayeredVpc, baseline.constructs.network_hub.NetworkHub"
    ),
)
def check_no_admin_ports_open(templates: Templates) -> Evidence:
    """No network ACL lets the world reach an admin port first; no security group opens one."""
    evidence = Evidence()
    for acl, entries in sorted(_world_inbound_entries(templates).items()):
        for port in _ADMIN_PORTS:
            covering = [e for e in entries if _covers(e, port)]
            if covering and min(covering, key=lambda e: e["RuleNumber"])["RuleAction"] != "deny":
                evidence.violations.append(f"{acl}: port {port} open to the world")
        evidence.found.append(acl)
    rules = [
        (name, rule)
        for name, group in resources(templates, "AWS::EC2::SecurityGroup")
        for rule in properties(group).get("SecurityGroupIngress", [])
    ]
    # The CDK writes a rule as a resource of its own when the group lives in another stack.
    rules += [
        (name, properties(ingress))
        for name, ingress in resources(templates, "AWS::EC2::SecurityGroupIngress")
    ]
    for name, rule in rules:
        world = rule.get("CidrIp") == _WORLD or rule.get("CidrIpv6") == "::/0"
        span = {
            "Protocol": rule.get("IpProtocol"),
            "PortRange": {"From": rule.get("FromPort", 0), "To": rule.get("ToPort", 65535)},
        }
        if world and any(_covers(span, p) for p in _ADMIN_PORTS):
            evidence.violations.append(f"{name}: admin port open to the world")
    for name, _ in resources(templates, "AWS::EC2::VPC"):
        closed = _in_stack(templates, name, "Custom::VpcRestrictDefaultSG")
        logged = [
            f
            for f in _in_stack(templates, name, "AWS::EC2::FlowLog")
            if properties(f).get("TrafficType") == "ALL"
        ]
        if not closed:
            evidence.violations.append(f"{name}: default security group not closed")
        if not logged:
            evidence.violations.append(f"{name}: no flow log of all traffic")
    return evidence


@control(
    CONTROLS,
    id="LZ-NET-02",
    applies_to="network_hub",
    title="Spoke VPCs reach only the hub's inspected egress path",
    explanation=(
        "Every transit gateway turns off its default route table association and "
        "propagation, and associates spokes by default with one route table that has a "
        "route to 0.0.0.0/0 (the egress path) and black-holes the workload ranges."
    ),
    best_practices=("SEC05-BP01", "SEC05-BP02"),
    implemented_by="baseline.constructs.network_hub.NetworkHub",
)
def check_hub_isolates_spokes(templates: Templates) -> Evidence:
    """Spokes default to a table whose only way is the egress VPC; spoke ranges black-holed."""
    evidence = Evidence()
    for name, gateway in resources(templates, "AWS::EC2::TransitGateway"):
        props = properties(gateway)
        defaults = _in_stack(templates, name, "Custom::TransitGatewayDefaults")
        routes = [
            properties(r) for r in _in_stack(templates, name, "AWS::EC2::TransitGatewayRoute")
        ]
        spokes = [d["Properties"]["AssociationDefaultRouteTableId"] for d in defaults]
        out = [
            r
            for r in routes
            if r.get("DestinationCidrBlock") == _WORLD
            and r.get("TransitGatewayRouteTableId") in spokes
        ]
        holes = [
            r
            for r in routes
            if r.get("Blackhole") is True and r.get("TransitGatewayRouteTableId") in spokes
        ]
        ok = (
            props.get("DefaultRouteTableAssociation") == "disable"
            and props.get("DefaultRouteTablePropagation") == "disable"
            and len(defaults) == 1
            and bool(out)
            and bool(holes)
        )
        evidence.record(name, ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-NET-03",
    applies_to="network_hub",
    title="Egress passes AWS Network Firewall: threat signatures, allow-list, drop",
    explanation=(
        "Every firewall policy evaluates in strict order, references the AWS managed "
        "threat-signature rule groups and, after them, a domain allow-list rule group of "
        "its stack, forwards all stateless traffic to the stateful "
        "engine and drops every established flow no rule allows; every firewall sends "
        "its alert and flow logs, and only those, to S3."
    ),
    best_practices=("SEC05-BP02", "SEC05-BP03", "SEC04-BP01", "SEC05-BP04"),
    implemented_by="baseline.constructs.network_hub.NetworkHub",
)
def check_egress_inspected(templates: Templates) -> Evidence:
    """Every firewall: threat signatures, allow-list, drop by default; alert and flow logs kept."""
    evidence = Evidence()
    for name, policy in resources(templates, "AWS::NetworkFirewall::FirewallPolicy"):
        settings = properties(policy).get("FirewallPolicy", {})
        references = " ".join(
            str(r.get("ResourceArn")) for r in settings.get("StatefulRuleGroupReferences", [])
        )
        ok = (
            settings.get("StatefulEngineOptions", {}).get("RuleOrder") == "STRICT_ORDER"
            and "aws:drop_established" in settings.get("StatefulDefaultActions", [])
            and ":aws-managed:stateful-rulegroup/ThreatSignatures" in references
            and settings.get("StatelessDefaultActions") == ["aws:forward_to_sfe"]
        )
        evidence.record(name, ok)
        evidence.record(
            f"{name}: domain allow-list after the threat signatures",
            _allow_list_follows_signatures(templates[name.split("/")[0]], settings),
        )
    # Keyed by stack as well: every region's hub stack has the same logical ids.
    logged = {
        (config_name.split("/")[0], json.dumps(properties(c).get("FirewallArn"))): sorted(
            d.get("LogType")
            for d in properties(c)["LoggingConfiguration"]["LogDestinationConfigs"]
            if d.get("LogDestinationType") == "S3"
        )
        for config_name, c in resources(templates, "AWS::NetworkFirewall::LoggingConfiguration")
    }
    for name, _ in resources(templates, "AWS::NetworkFirewall::Firewall"):
        stack, logical_id = name.split("/")
        arn = json.dumps({"Fn::GetAtt": [logical_id, "FirewallArn"]})
        evidence.record(name, logged.get((stack, arn)) == ["ALERT", "FLOW"])
    return evidence


@control(
    CONTROLS,
    id="LZ-NET-04",
    applies_to="network_hub",
    title="DNS Firewall blocks the AWS managed malware and botnet domain lists",
    explanation=(
        "Every Route 53 Resolver DNS Firewall rule group blocks the AWS managed malware "
        "and botnet command-and-control domain lists, its stack logs DNS queries, and "
        "every query logging configuration delivers to S3 (the log archive)."
    ),
    best_practices=("SEC05-BP03", "SEC04-BP01", "SEC05-BP04"),
    implemented_by="baseline.constructs.network_hub.NetworkHub",
)
def check_dns_firewall(templates: Templates) -> Evidence:
    """The AWS managed malware and botnet lists are blocked; DNS queries are logged to S3."""
    evidence = Evidence()
    wanted = ("AWSManagedDomainsMalwareDomainList", "AWSManagedDomainsBotnetCommandandControl")
    for name, group in resources(templates, "AWS::Route53Resolver::FirewallRuleGroup"):
        blocked = " ".join(
            json.dumps(r.get("FirewallDomainListId"))
            for r in properties(group).get("FirewallRules", [])
            if r.get("Action") == "BLOCK"
        )
        evidence.record(name, all(w in blocked for w in wanted))
        if not _in_stack(templates, name, "AWS::Route53Resolver::ResolverQueryLoggingConfig"):
            evidence.violations.append(f"{name}: DNS queries of its stack not logged")
    for name, config in resources(templates, "AWS::Route53Resolver::ResolverQueryLoggingConfig"):
        to_s3 = str(properties(config).get("DestinationArn", "")).startswith("arn:aws:s3:::")
        evidence.record(name, to_s3)
    return evidence


@control(
    CONTROLS,
    id="LZ-NET-05",
    applies_to="network_hub",
    title="The hub's network controls change only through the baseline's principals",
    explanation=(
        "An SCP attached at the root denies changing the hub's firewalls, routing, DNS "
        "Firewall and sharing, and the landing zone's own tag, to every principal but "
        "the baseline's."
    ),
    best_practices=("SEC05-BP02", "SEC05-BP03", "SEC01-BP06"),
    implemented_by="baseline.guardrails.scps (SCP-NETWORK-HUB-PROTECT)",
)
def check_hub_protected(templates: Templates) -> Evidence:
    """An SCP at the root denies updating the hub's firewalls or its transit gateway."""
    return root_denies(
        templates,
        "SERVICE_CONTROL_POLICY",
        lambda s: {"network-firewall:update*", "ec2:modifytransitgateway"} & actions(s) != set(),
    )


def _allow_list_follows_signatures(template: Template, settings: dict[str, Any]) -> bool:
    """A policy references a non-empty ALLOWLIST rule group of its stack, ordered after
    every threat-signature group (in strict order, a pass on the allow-list would
    otherwise let a flow skip them)."""
    groups = template.get("Resources", {})
    signatures, allow_lists = [], []
    for reference in settings.get("StatefulRuleGroupReferences", []):
        arn, priority = reference.get("ResourceArn"), reference.get("Priority")
        if not isinstance(priority, int):
            return False
        if isinstance(arn, str) and ":aws-managed:stateful-rulegroup/" in arn:
            signatures.append(priority)
        elif isinstance(arn, dict) and "Fn::GetAtt" in arn:
            group = properties(groups.get(arn["Fn::GetAtt"][0], {}))
            source = group.get("RuleGroup", {}).get("RulesSource", {}).get("RulesSourceList", {})
            if source.get("GeneratedRulesType") == "ALLOWLIST" and source.get("Targets"):
                allow_lists.append(priority)
    return bool(signatures) and bool(allow_lists) and min(allow_lists) > max(signatures)
