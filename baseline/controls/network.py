"""Network controls: closed admin ports, isolated spokes, inspected egress, DNS Firewall,
and the guardrail that keeps the hub's network controls in the baseline's hands.

The checks spell out their own ports and ranges instead of importing the constructs'
defaults (``baseline.defaults``): a default changed there must trip the check, not move
with it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from baseline.controls.model import (
    Control,
    Evidence,
    Template,
    Templates,
    actions,
    as_list,
    control,
    org_policies,
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
        "propagation, and associates spokes by default with one route table, which is not "
        "the table they propagate to, has a route to 0.0.0.0/0 through the attachment of "
        "a VPC with a Network Firewall (the egress path), and black-holes every range of "
        "the firewall policies' HOME_NET (the workload ranges) and the range of that VPC "
        "itself, whose local route would deliver beside the firewall."
    ),
    best_practices=("SEC05-BP01", "SEC05-BP02"),
    implemented_by="baseline.constructs.network_hub.NetworkHub",
)
def check_hub_isolates_spokes(templates: Templates) -> Evidence:
    """Spokes default to a table whose only way is the egress VPC; spoke ranges black-holed."""
    evidence = Evidence()
    for name, gateway in resources(templates, "AWS::EC2::TransitGateway"):
        props = properties(gateway)
        defaults = [
            properties(d) for d in _in_stack(templates, name, "Custom::TransitGatewayDefaults")
        ]
        routes = [
            properties(r) for r in _in_stack(templates, name, "AWS::EC2::TransitGatewayRoute")
        ]
        problems = []
        if props.get("DefaultRouteTableAssociation") != "disable":
            problems.append("default route table association on")
        if props.get("DefaultRouteTablePropagation") != "disable":
            problems.append("default route table propagation on")
        if len(defaults) != 1:
            problems.append(f"{len(defaults)} default route table settings (one)")
        for default in defaults:
            spokes = default.get("AssociationDefaultRouteTableId")
            propagation = default.get("PropagationDefaultRouteTableId")
            if not spokes or not propagation or propagation == spokes:
                # spokes propagating their ranges into their own table would reach each
                # other by those more specific routes, around the firewall
                problems.append("spokes propagate into the table they are associated with")
            spoke_routes = [r for r in routes if r.get("TransitGatewayRouteTableId") == spokes]
            egress = _inspected_attachments(templates, name)
            if not any(
                r.get("DestinationCidrBlock") == _WORLD
                and r.get("Blackhole") is not True
                and r.get("TransitGatewayAttachmentId") in egress
                for r in spoke_routes
            ):
                problems.append("no route to 0.0.0.0/0 through the inspected egress VPC")
            holes = [
                ipaddress.ip_network(r["DestinationCidrBlock"], strict=False)
                for r in spoke_routes
                if r.get("Blackhole") is True and isinstance(r.get("DestinationCidrBlock"), str)
            ]
            home = _home_net(templates, name)
            open_ranges = [str(n) for n in home if not any(_within(n, h) for h in holes)]
            if not home or open_ranges:
                problems.append(
                    f"workload ranges not black-holed: {', '.join(open_ranges) or 'no HOME_NET'}"
                )
            # the egress VPC's own addresses: its local route would deliver them beside
            # the firewall
            open_egress = [
                str(n)
                for n in _inspected_ranges(templates, name)
                if not any(_within(n, h) for h in holes)
            ]
            if open_egress:
                problems.append(f"the egress VPC's range not black-holed: {', '.join(open_egress)}")
        evidence.record(f"{name}: {'; '.join(problems)}" if problems else name, not problems)
    return evidence


def _inspected_attachments(templates: Templates, name: str) -> list[dict[str, Any]]:
    """``Ref``s to the transit gateway attachments of ``name``'s stack whose VPC has a
    Network Firewall."""
    stack = name.split("/", 1)[0]
    inspected = _inspected_vpcs(templates, name)
    return [
        {"Ref": attachment.split("/", 1)[1]}
        for attachment, resource in resources(
            {stack: templates[stack]}, "AWS::EC2::TransitGatewayVpcAttachment"
        )
        if properties(resource).get("VpcId") in inspected
    ]


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _inspected_vpcs(templates: Templates, name: str) -> list[Any]:
    """The ``VpcId`` values of the Network Firewalls of ``name``'s stack."""
    return [
        properties(f).get("VpcId")
        for f in _in_stack(templates, name, "AWS::NetworkFirewall::Firewall")
    ]


def _inspected_ranges(templates: Templates, name: str) -> list[_Network]:
    """The address ranges of the VPCs of ``name``'s stack that have a Network Firewall."""
    stack = name.split("/", 1)[0]
    inspected = _inspected_vpcs(templates, name)
    return [
        ipaddress.ip_network(cidr, strict=False)
        for vpc_name, vpc in resources({stack: templates[stack]}, "AWS::EC2::VPC")
        if {"Ref": vpc_name.split("/", 1)[1]} in inspected
        and isinstance(cidr := properties(vpc).get("CidrBlock"), str)
    ]


def _within(inner: _Network, outer: _Network) -> bool:
    """Every address of ``inner`` is in ``outer``."""
    return inner.version == outer.version and int(outer.network_address) <= int(
        inner.network_address
    ) <= int(inner.broadcast_address) <= int(outer.broadcast_address)


def _home_net(templates: Templates, name: str) -> list[_Network]:
    """The HOME_NET ranges of the firewall policies of ``name``'s stack: the workloads'."""
    return [
        ipaddress.ip_network(cidr, strict=False)
        for policy in _in_stack(templates, name, "AWS::NetworkFirewall::FirewallPolicy")
        for cidr in properties(policy)
        .get("FirewallPolicy", {})
        .get("PolicyVariables", {})
        .get("RuleVariables", {})
        .get("HOME_NET", {})
        .get("Definition", [])
        if isinstance(cidr, str)
    ]


def _passing_stateless_groups(template: Template, settings: dict[str, Any]) -> list[str]:
    """The stateless rule groups a firewall policy references that may pass a packet
    (``aws:pass``) around the stateful engine, or that are not in its stack to be read."""
    found = []
    for reference in settings.get("StatelessRuleGroupReferences", []):
        arn = reference.get("ResourceArn")
        logical_id = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, dict) else None
        group = template.get("Resources", {}).get(logical_id) if logical_id else None
        rules = (
            properties(group)
            .get("RuleGroup", {})
            .get("RulesSource", {})
            .get("StatelessRulesAndCustomActions", {})
            .get("StatelessRules", [])
            if group
            else None
        )
        if rules is None or any(
            "aws:pass" in r.get("RuleDefinition", {}).get("Actions", []) for r in rules
        ):
            found.append(str(logical_id or arn))
    return found


@control(
    CONTROLS,
    id="LZ-NET-03",
    applies_to="network_hub",
    title="Egress passes AWS Network Firewall: threat signatures, allow-list, drop",
    explanation=(
        "Every firewall policy evaluates in strict order, references the AWS managed "
        "threat-signature rule groups and, after them, a domain allow-list rule group of "
        "its stack, forwards all stateless traffic to the stateful "
        "engine (the stateless default and fragment default actions are both "
        "aws:forward_to_sfe, and no stateless rule group of its stack, nor one outside it, "
        "passes traffic) and drops every established flow no rule allows; every firewall sends "
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
            and settings.get("StatelessFragmentDefaultActions") == ["aws:forward_to_sfe"]
        )
        evidence.record(name, ok)
        evidence.violations += [
            f"{name}: stateless rule group {r} may pass traffic around the stateful engine"
            for r in _passing_stateless_groups(templates[name.split("/")[0]], settings)
        ]
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
        "and botnet command-and-control domain lists and is associated with a VPC of its "
        "stack, its stack logs DNS queries, and every query logging configuration "
        "delivers to S3 (the log archive) and is associated with a VPC of its stack."
    ),
    best_practices=("SEC05-BP03", "SEC04-BP01", "SEC05-BP04"),
    implemented_by="baseline.constructs.network_hub.NetworkHub",
)
def check_dns_firewall(templates: Templates) -> Evidence:
    """The AWS managed malware and botnet lists are blocked in a VPC; its DNS queries are
    logged to S3."""
    evidence = Evidence()
    wanted = ("AWSManagedDomainsMalwareDomainList", "AWSManagedDomainsBotnetCommandandControl")
    for name, group in resources(templates, "AWS::Route53Resolver::FirewallRuleGroup"):
        blocked = " ".join(
            json.dumps(r.get("FirewallDomainListId"))
            for r in properties(group).get("FirewallRules", [])
            if r.get("Action") == "BLOCK"
        )
        evidence.record(name, all(w in blocked for w in wanted))
        if not _associated_with_a_vpc(
            templates,
            name,
            "AWS::Route53Resolver::FirewallRuleGroupAssociation",
            "FirewallRuleGroupId",
            "VpcId",
        ):
            evidence.violations.append(f"{name}: associated with no VPC of its stack")
        if not _in_stack(templates, name, "AWS::Route53Resolver::ResolverQueryLoggingConfig"):
            evidence.violations.append(f"{name}: DNS queries of its stack not logged")
    for name, config in resources(templates, "AWS::Route53Resolver::ResolverQueryLoggingConfig"):
        to_s3 = str(properties(config).get("DestinationArn", "")).startswith("arn:aws:s3:::")
        evidence.record(name, to_s3)
        if not _associated_with_a_vpc(
            templates,
            name,
            "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation",
            "ResolverQueryLogConfigId",
            "ResourceId",
        ):
            evidence.violations.append(f"{name}: associated with no VPC of its stack")
    return evidence


def _associated_with_a_vpc(
    templates: Templates, name: str, association_type: str, reference: str, vpc: str
) -> bool:
    """An association of its stack names the resource ``name`` (``stack/logical id``, by
    ``Fn::GetAtt [id, Id]`` in the ``reference`` property) and a VPC of that stack (by
    ``Ref`` in the ``vpc`` property)."""
    stack, logical_id = name.split("/", 1)
    vpcs = {n.split("/", 1)[1] for n, _ in resources({stack: templates[stack]}, "AWS::EC2::VPC")}
    return any(
        properties(a).get(reference) == {"Fn::GetAtt": [logical_id, "Id"]}
        and isinstance(properties(a).get(vpc), dict)
        and properties(a)[vpc].get("Ref") in vpcs
        for a in _in_stack(templates, name, association_type)
    )


#: Changes to the hub that only the baseline's principals may make (LZ-NET-05), one list
#: per part of the hub: every one must be denied at the root.
_HUB_CHANGES = {
    "firewalls": (
        "network-firewall:UpdateFirewallPolicy",
        "network-firewall:UpdateRuleGroup",
        "network-firewall:UpdateLoggingConfiguration",
        "network-firewall:DeleteFirewall",
        "network-firewall:DisassociateSubnets",
    ),
    "routing": (
        "ec2:CreateTransitGatewayRoute",
        "ec2:ReplaceTransitGatewayRoute",
        "ec2:DeleteTransitGatewayRoute",
        "ec2:ModifyTransitGateway",
        "ec2:EnableTransitGatewayRouteTablePropagation",
        "ec2:AssociateTransitGatewayRouteTable",
        "ec2:CreateRoute",
        "ec2:ReplaceRoute",
        "ec2:DeleteRoute",
    ),
    "DNS Firewall": (
        "route53resolver:DisassociateFirewallRuleGroup",
        "route53resolver:UpdateFirewallRule",
        "route53resolver:DeleteFirewallRule",
        "route53resolver:DeleteFirewallRuleGroup",
        "route53resolver:UpdateFirewallDomains",
        "route53resolver:DeleteResolverQueryLogConfig",
    ),
    "sharing": (
        "ram:AssociateResourceShare",
        "ram:DisassociateResourceShare",
        "ram:UpdateResourceShare",
        "ram:DeleteResourceShare",
    ),
}


@control(
    CONTROLS,
    id="LZ-NET-05",
    applies_to="network_hub",
    title="The hub's network controls change only through the baseline's principals",
    explanation=(
        "Deny statements of SCPs attached at the root, each exempting only principals named "
        "by aws:PrincipalArn, together deny every listed change to the hub's firewalls, "
        "routing (transit gateway and VPC routes), DNS Firewall and resource sharing."
    ),
    best_practices=("SEC05-BP02", "SEC05-BP03", "SEC01-BP06"),
    implemented_by="baseline.guardrails.scps (SCP-NETWORK-HUB-PROTECT)",
)
def check_hub_protected(templates: Templates) -> Evidence:
    """Every listed change to the hub is denied at the root to all but named principals."""
    evidence = Evidence()
    exempting = root_denies(templates, "SERVICE_CONTROL_POLICY", _exempts_only_principals)
    statements = {
        f"{name}: {statement.get('Sid', '?')}": actions(statement)
        for name, content in org_policies(templates, "SERVICE_CONTROL_POLICY", at_root=True)
        for statement in as_list(content.get("Statement", []))
    }
    for part, changes in _HUB_CHANGES.items():
        for change in changes:
            denied_by = [
                found
                for found in exempting.found
                if any(fnmatchcase(change.lower(), a) for a in statements[found])
            ]
            evidence.record(
                f"{part}: {change}: {denied_by[0] if denied_by else 'not denied at the root'}",
                bool(denied_by),
            )
    return evidence


#: Condition keys that leave a hub Deny whole: who asks (the exemption) and which
#: resource (the kit's tag, the forensics account left out). A key of the request (such
#: as ``aws:TagKeys``) would let the same change through without it.
_RESOURCE_SCOPE_KEYS = ("aws:principalarn", "aws:resourceaccount", "aws:resourcetag/")


def _exempts_only_principals(statement: dict[str, Any]) -> bool:
    """A Deny that exempts principals by ``aws:PrincipalArn`` (ArnNotLike) and is otherwise
    narrowed only to the resources it protects."""
    conditions = statement.get("Condition", {})
    keys = [key.lower() for block in conditions.values() for key in block]
    return bool(conditions.get("ArnNotLike", {}).get("aws:PrincipalArn")) and all(
        key.startswith(_RESOURCE_SCOPE_KEYS) for key in keys
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
