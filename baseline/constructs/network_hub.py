"""NetworkHub: the organisation's transit gateway, inspected egress and DNS Firewall."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_networkfirewall as nfw
from aws_cdk import aws_ram as ram
from aws_cdk import aws_route53resolver as resolver
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from baseline.compliance import GUARD_PLUGIN, acknowledge
from baseline.constructs.baseline_function import (
    HANDLER_DIGEST,
    BaselineFunction,
    answer_within,
    handler_code,
    handler_digest,
)
from baseline.constructs.layered_vpc import (
    acknowledge_default_security_group_provider,
    acknowledge_public_routes,
    add_archive_flow_log,
    admin_port_acl,
)
from baseline.defaults import (
    ANYWHERE_IPV4,
    DEFAULT_MANAGED_DOMAIN_LISTS,
    DEFAULT_THREAT_RULE_GROUPS,
    DNS_THREAT_CONFIDENCE,
    DNS_THREATS,
    HUB_ALLOWED_DOMAINS,
    HUB_AMAZON_SIDE_ASN,
    HUB_EGRESS_CIDR,
    HUB_WORKLOAD_CIDRS,
    hub_problems,
)

#: Capacity of the allow-list rule group. Capacity cannot change after creation (the
#: group would be replaced under its own name), so it is fixed and the list is capped.
ALLOWLIST_CAPACITY = 1000


class NetworkHub(Construct):
    """A region's network hub: shared transit gateway, inspected egress, DNS Firewall.

    Implements SEC05-BP01 (a hub layer between workloads and the internet), SEC05-BP02
    (least traffic: spokes reach only the egress path, never each other; egress is
    dropped unless its domain is allowed), SEC05-BP03 (automated inspection with AWS
    Network Firewall and its managed threat signatures; DNS Firewall with the AWS managed
    malware and botnet lists) and SEC04-BP01 (firewall alert and flow logs, DNS query
    logs and VPC flow logs to the central log bucket).

    Routing: spoke attachments associate with the *spokes* route table (0.0.0.0/0 to the
    egress VPC, the workload ranges black-holed) and propagate into the *egress* table,
    which the egress VPC's attachment uses for the replies. In the egress VPC, traffic
    from the transit subnets goes to the firewall endpoint of its AZ, then to the NAT
    gateway of that AZ; replies from the internet pass the same endpoint (appliance mode
    keeps each flow in one AZ).

    One firewall per AZ: CloudFormation returns a multi-AZ firewall's endpoints unordered,
    while a one-AZ firewall's single endpoint can be read in the template; the price is
    the same (it is charged per endpoint).

    Example::

        NetworkHub(self, "Hub", name="acme-hub", availability_zones=["eu-west-1a", "eu-west-1b"],
                   log_bucket_name="acme-logs-111122223333-eu-west-1",
                   share_with=["arn:aws:organizations::111122223333:ou/o-abc123defg/ou-ab12-cd34ef56"])
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        availability_zones: Sequence[str],
        log_bucket_name: str,
        egress_cidr: str = HUB_EGRESS_CIDR,
        workload_cidrs: Sequence[str] = HUB_WORKLOAD_CIDRS,
        share_with: Sequence[str] = (),
        amazon_side_asn: int = HUB_AMAZON_SIDE_ASN,
        auto_accept_shared_attachments: bool = True,
        firewall: bool = True,
        allowed_domains: Sequence[str] = HUB_ALLOWED_DOMAINS,
        managed_rule_groups: Sequence[str] = DEFAULT_THREAT_RULE_GROUPS,
        dns_firewall: bool = True,
        managed_domain_lists: Sequence[str] = DEFAULT_MANAGED_DOMAIN_LISTS,
        blocked_domains: Sequence[str] = (),
        dns_threats: Sequence[str] = DNS_THREATS,
        dns_threat_confidence: str = DNS_THREAT_CONFIDENCE,
        parameter_prefix: str | None = None,
        policy_path: str | None = None,
    ) -> None:
        """Create the hub.

        :param name: prefix of every name the hub gives (firewalls, rule groups, shares).
        :param availability_zones: the AZs of the egress VPC (2 or more); each gets a NAT
            gateway and, with ``firewall``, a firewall endpoint.
        :param log_bucket_name: the central log bucket (firewall, DNS query, flow logs).
        :param egress_cidr: the egress VPC's range, /16 to /24. Default: 100.64.0.0/24.
        :param workload_cidrs: the ranges of the spoke VPCs: replies are routed back to
            them, spoke-to-spoke traffic to them is dropped, and the firewall treats them
            as the home network. Default: 10.0.0.0/8.
        :param share_with: RAM principals (OU or account ARNs of this organisation) the
            transit gateway, DNS Firewall rules and query logging are shared with.
            Default: none.
        :param amazon_side_asn: the gateway's private ASN. Default: 64512.
        :param auto_accept_shared_attachments: accept spoke attachments without review.
            Default: True (the share is limited to ``share_with``).
        :param firewall: inspect egress with AWS Network Firewall. Default: True; False
            warns at synth (``lz:NetworkHub.FirewallOff``).
        :param allowed_domains: domains reachable over HTTP and TLS (a leading '.'
            allows subdomains); all other flows are dropped. Default: .amazonaws.com.
        :param managed_rule_groups: AWS managed stateful rule groups (strict order names),
            evaluated before the allow-list. Default: the threat-signature and domain groups
            ThreatSignaturesBotnet, ThreatSignaturesMalware, ThreatSignaturesEmergingEvents,
            MalwareDomains and BotNetCommandAndControlDomains (each ``...StrictOrder``);
            leaving one out warns (``lz:NetworkHub.ThreatSignaturesDropped``).
        :param dns_firewall: DNS Firewall rules and query logging. Default: True; False
            warns at synth (``lz:NetworkHub.DnsFirewallOff``).
        :param managed_domain_lists: AWS managed domain lists that are blocked.
            Default: AWSManagedDomainsMalwareDomainList,
            AWSManagedDomainsBotnetCommandandControl and AWSManagedDomainsAggregateThreatList;
            leaving one out warns (``lz:NetworkHub.ManagedDomainListsDropped``).
        :param blocked_domains: further domains blocked, with their subdomains.
            Default: none.
        :param dns_threats: what DNS Firewall Advanced blocks in the queries themselves,
            whatever their domain: ``DGA``, ``DICTIONARY_DGA`` (generated domains of
            malware) and ``DNS_TUNNELING`` (data carried in names, past every IP filter).
            Default: all three; leaving one out warns (``lz:NetworkHub.DnsThreatsDropped``).
        :param dns_threat_confidence: how sure it must be to block: ``LOW``, ``MEDIUM`` or
            ``HIGH``. Default: ``HIGH`` (the fewest false positives).
        :param parameter_prefix: publish the ids spokes need as SSM parameters below this
            path (``/acme/network``), shared with ``share_with``. Default: none.
        :param policy_path: IAM path (``/acme/``) under which the hub function's policy is
            named after the function. Default: none (a generated name at ``/``).

        In a stack with a concrete environment, call :func:`declare_availability_zones`
        first, or ``cdk synth`` looks the account's AZs up with credentials.
        """
        super().__init__(scope, construct_id)
        zones = list(availability_zones)
        _validate(zones, egress_cidr, workload_cidrs, firewall, allowed_domains)
        unknown = sorted(set(dns_threats) - set(DNS_THREATS))
        if unknown or dns_threat_confidence not in ("LOW", "MEDIUM", "HIGH"):
            raise ValueError(
                f"NetworkHub: dns_threats must be among {', '.join(DNS_THREATS)} (got "
                f"{unknown}) and dns_threat_confidence LOW, MEDIUM or HIGH (got "
                f"{dns_threat_confidence!r})"
            )
        self._warn_weakenings(firewall, managed_rule_groups, dns_firewall, managed_domain_lists)
        if dns_firewall and (dropped := [t for t in DNS_THREATS if t not in dns_threats]):
            cdk.Annotations.of(self).add_warning_v2(
                "lz:NetworkHub.DnsThreatsDropped",
                f"dns_threats leaves out {', '.join(dropped)}: DNS Firewall answers queries "
                "it recognises as generated domains or as data tunnelled in names, a way out "
                "that no firewall of addresses or domain lists sees.",
            )
        stack = cdk.Stack.of(self)
        self.name = name
        self.workload_cidrs = list(workload_cidrs)
        self.egress_cidr = egress_cidr

        self.lookups = BaselineFunction(
            self,
            "Lookups",
            function_name=f"{name}-network-hub",
            description="Sets the hub's transit gateway route-table defaults and finds managed domain lists",
            code=handler_code("network_hub"),
            handler="network_hub.handler",
            log_group_name=f"/{name}/network-hub",
            statements=[],  # granted below, once the gateway and tables exist
            wildcard_reasons={
                "Resource::*": (
                    "X-Ray, the EC2 describe calls and route53resolver:ListFirewallDomainLists "
                    "accept no resource-level permissions"
                )
            },
            timeout=cdk.Duration.minutes(15),  # waits for the gateway's state changes
            policy_path=policy_path,
        )

        self._egress_vpc(zones, egress_cidr, firewall, log_bucket_name)
        self._transit_gateway(amazon_side_asn, auto_accept_shared_attachments)
        if firewall:
            self._firewall(zones, allowed_domains, managed_rule_groups, log_bucket_name)
        else:
            self.firewalls: list[nfw.CfnFirewall] = []
        self._routes(zones, firewall)

        shared = [self.transit_gateway.attr_transit_gateway_arn]
        ids = {"transit-gateway-id": self.transit_gateway.ref}
        self.dns_rule_group: resolver.CfnFirewallRuleGroup | None = None
        self.query_logging: resolver.CfnResolverQueryLoggingConfig | None = None
        if dns_firewall:
            self._dns(
                managed_domain_lists,
                blocked_domains,
                log_bucket_name,
                dns_threats=tuple(t for t in DNS_THREATS if t in dns_threats),
                confidence=dns_threat_confidence,
            )
            assert self.dns_rule_group is not None and self.query_logging is not None
            shared += [self.dns_rule_group.attr_arn, self.query_logging.attr_arn]
            ids["dns-firewall-rule-group-id"] = self.dns_rule_group.attr_id
            ids["query-log-config-id"] = self.query_logging.attr_id
        self.parameters: dict[str, ssm.CfnParameter] = {}
        if parameter_prefix is not None:
            for key, value in ids.items():
                parameter = ssm.CfnParameter(
                    self,
                    f"Parameter-{key}",
                    name=f"{parameter_prefix}/{key}",
                    type="String",
                    value=value,
                    tier="Advanced",  # RAM shares advanced parameters only
                    description=f"The network hub's {key.replace('-', ' ')}, for spoke VPCs",
                )
                self.parameters[key] = parameter
                shared.append(
                    f"arn:{stack.partition}:ssm:{stack.region}:{stack.account}:parameter"
                    f"{parameter_prefix}/{key}"
                )
        self.share: ram.CfnResourceShare | None = None
        if share_with:
            self.share = ram.CfnResourceShare(
                self,
                "Share",
                name=f"{name}-network-hub",
                allow_external_principals=False,
                principals=list(share_with),
                resource_arns=shared,
            )
            for parameter in self.parameters.values():
                self.share.node.add_dependency(parameter)
            # a spoke that attached before the gateway's default tables were set would be
            # accepted, and neither associated nor propagated: shared only once they are
            self.share.node.add_dependency(self.route_table_defaults)
        for parameter in self.parameters.values():
            parameter.node.add_dependency(self.route_table_defaults)

    def _warn_weakenings(
        self,
        firewall: bool,
        managed_rule_groups: Sequence[str],
        dns_firewall: bool,
        managed_domain_lists: Sequence[str],
    ) -> None:
        """A synth warning for each control the caller turned off (docs/weakenings.md)."""
        warnings = cdk.Annotations.of(self)
        if not firewall:
            warnings.add_warning_v2(
                "lz:NetworkHub.FirewallOff",
                "firewall=False: egress from every spoke VPC leaves through NAT uninspected; "
                "no domain allow-list, no threat signatures and no firewall alert or flow logs, "
                "so exfiltration and command-and-control traffic pass unseen.",
            )
        elif missing := [g for g in DEFAULT_THREAT_RULE_GROUPS if g not in managed_rule_groups]:
            warnings.add_warning_v2(
                "lz:NetworkHub.ThreatSignaturesDropped",
                f"managed_rule_groups leaves out {', '.join(missing)}: the firewall no longer "
                "drops the traffic those AWS managed signatures recognise (botnets, malware, "
                "emerging threats) before the allow-list is applied.",
            )
        if not dns_firewall:
            warnings.add_warning_v2(
                "lz:NetworkHub.DnsFirewallOff",
                "dns_firewall=False: no DNS Firewall rules and no DNS query logging for the hub "
                "or the spokes it shares with; lookups of known malware and botnet domains are "
                "answered, and no record of DNS queries reaches the log archive.",
            )
        elif missing := [d for d in DEFAULT_MANAGED_DOMAIN_LISTS if d not in managed_domain_lists]:
            warnings.add_warning_v2(
                "lz:NetworkHub.ManagedDomainListsDropped",
                f"managed_domain_lists leaves out {', '.join(missing)}: DNS Firewall answers "
                "lookups of the domains on those AWS managed threat lists again.",
            )

    # --- egress VPC --------------------------------------------------------------------

    def _egress_vpc(
        self, zones: list[str], cidr: str, firewall: bool, log_bucket_name: str
    ) -> None:
        tiers = [
            ec2.SubnetConfiguration(
                name="Public",
                subnet_type=ec2.SubnetType.PUBLIC,
                cidr_mask=28,
                map_public_ip_on_launch=False,
            )
        ]
        # the firewall tier's addresses are kept without the firewall (reserved): the
        # transit subnets stay where they are, so turning inspection on again (or off)
        # adds or removes the firewall subnets instead of moving, and so replacing, them
        tiers.append(
            ec2.SubnetConfiguration(
                name="Firewall",
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                cidr_mask=28,
                reserved=not firewall,
            )
        )
        tiers.append(
            ec2.SubnetConfiguration(
                name="Transit",
                # without a firewall, the transit subnets reach NAT directly
                subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                if firewall
                else ec2.SubnetType.PRIVATE_WITH_EGRESS,
                cidr_mask=28,
            )
        )
        self.vpc = ec2.Vpc(
            self,
            "EgressVpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=zones,
            subnet_configuration=tiers,
            nat_gateways=len(zones),
            restrict_default_security_group=True,
            enable_dns_hostnames=True,
            enable_dns_support=True,
        )
        acknowledge_default_security_group_provider(cdk.Stack.of(self))
        acknowledge_public_routes(
            self.vpc.public_subnets,
            "The egress VPC's public tier holds only its NAT gateways: the route to the "
            "internet gateway is the organisation's one inspected way out.",
        )
        acl = admin_port_acl(
            self,
            "EgressAcl",
            self.vpc,
            [*self.vpc.public_subnets, *self.vpc.private_subnets, *self.vpc.isolated_subnets],
            "The egress VPC's network ACL is a deliberate second layer under the firewall "
            "(SEC05-BP02): it denies remote-administration ports from the internet in every "
            "subnet of the hub, whatever else is configured.",
        )
        for direction in (ec2.TrafficDirection.INGRESS, ec2.TrafficDirection.EGRESS):
            # the firewall, not the ACL, decides what passes; the ACL keeps admin ports shut
            entry = acl.add_entry(
                f"All{direction.name.title()}",
                cidr=ec2.AclCidr.ipv4(ANYWHERE_IPV4),
                rule_number=100,
                traffic=ec2.AclTraffic.all_traffic(),
                direction=direction,
            )
            if direction == ec2.TrafficDirection.INGRESS:
                acknowledge(
                    entry,
                    f"{GUARD_PLUGIN}::nacl_no_unrestricted_ssh_rdp_check",
                    "The ACL's deny entries for ports 22, 3389, 5985 and 5986 from the internet "
                    "have lower rule numbers, so they are evaluated first and those ports stay "
                    "closed; the rule reads this allow entry alone, without the denies before it.",
                )
        self.network_acl = acl
        # The hub runs no workloads: its flow logs are evidence, kept in the log archive
        # with the firewall's own flow and alert logs (no log group and key per region).
        add_archive_flow_log(self, self.vpc, log_bucket_name)
        self._tiers = {
            group.name: {
                s.availability_zone: s
                for s in self.vpc.select_subnets(subnet_group_name=group.name).subnets
            }
            for group in tiers
            if not group.reserved
        }

    def _subnets(self, group: str) -> dict[str, ec2.ISubnet]:
        return self._tiers.get(group, {})

    # --- transit gateway ---------------------------------------------------------------

    def _transit_gateway(self, asn: int, auto_accept: bool) -> None:
        stack = cdk.Stack.of(self)
        tag = [cdk.CfnTag(key="Name", value=self.name)]
        self.transit_gateway = ec2.CfnTransitGateway(
            self,
            "TransitGateway",
            amazon_side_asn=asn,
            auto_accept_shared_attachments="enable" if auto_accept else "disable",
            # set to the hub's own tables by Custom::TransitGatewayDefaults below
            default_route_table_association="disable",
            default_route_table_propagation="disable",
            dns_support="enable",
            vpn_ecmp_support="enable",
            multicast_support="disable",
            description="The organisation's network hub: spokes reach the inspected egress VPC only",
            tags=tag,
        )
        if auto_accept:
            acknowledge(
                self.transit_gateway,
                f"{GUARD_PLUGIN}::ec2_transit_gateway_auto_vpc_attach_disabled_check",
                "Attachments are accepted automatically only from accounts of the OUs the "
                "resource share names, and each lands on the spoke route table, which reaches "
                "only the inspected egress VPC and blackholes spoke-to-spoke traffic; the "
                "config chose this (network.transit_gateway.auto_accept_shared_attachments) "
                "so spoke stacks deploy without a manual acceptance.",
            )
        self.spoke_routes = ec2.CfnTransitGatewayRouteTable(
            self,
            "SpokeRoutes",
            transit_gateway_id=self.transit_gateway.ref,
            tags=[cdk.CfnTag(key="Name", value=f"{self.name}-spokes")],
        )
        self.egress_routes = ec2.CfnTransitGatewayRouteTable(
            self,
            "EgressRoutes",
            transit_gateway_id=self.transit_gateway.ref,
            tags=[cdk.CfnTag(key="Name", value=f"{self.name}-egress")],
        )
        self.egress_attachment = ec2.CfnTransitGatewayVpcAttachment(
            self,
            "EgressAttachment",
            transit_gateway_id=self.transit_gateway.ref,
            vpc_id=self.vpc.vpc_id,
            subnet_ids=[s.subnet_id for s in self._subnets("Transit").values()],
            # both directions of a flow through the same AZ's firewall endpoint
            options={"ApplianceModeSupport": "enable", "DnsSupport": "enable"},
            tags=tag,
        )
        # deleted before the tables: a table with an association cannot be deleted
        self.egress_attachment.add_resource_dependency(self.egress_routes)
        self.egress_attachment.add_resource_dependency(self.spoke_routes)
        ec2.CfnTransitGatewayRoute(
            self,
            "SpokesToEgress",
            transit_gateway_route_table_id=self.spoke_routes.ref,
            destination_cidr_block=ANYWHERE_IPV4,
            transit_gateway_attachment_id=self.egress_attachment.ref,
        )
        # nor into the egress VPC itself: the transit subnets' local route would deliver
        # it beside the firewall, to the NAT gateways' and endpoints' addresses
        ec2.CfnTransitGatewayRoute(
            self,
            "NoSpokeToTheEgressVpc",
            transit_gateway_route_table_id=self.spoke_routes.ref,
            destination_cidr_block=self.egress_cidr,
            blackhole=True,
        )
        for cidr in self.workload_cidrs:
            ec2.CfnTransitGatewayRoute(
                self,
                f"NoSpokeToSpoke{range_id(cidr)}",
                transit_gateway_route_table_id=self.spoke_routes.ref,
                destination_cidr_block=cidr,
                blackhole=True,
            )
        arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
        tables = [
            f"{arn}:transit-gateway-route-table/{self.spoke_routes.ref}",
            f"{arn}:transit-gateway-route-table/{self.egress_routes.ref}",
        ]
        self.lookups.policy.add_statements(
            iam.PolicyStatement(
                sid="SetTheHubsRouteTableDefaults",
                actions=["ec2:ModifyTransitGateway"],
                resources=[self.transit_gateway.attr_transit_gateway_arn, *tables],
            ),
            iam.PolicyStatement(
                sid="KeepTheEgressAttachmentOnItsTable",
                actions=[
                    "ec2:AssociateTransitGatewayRouteTable",
                    "ec2:DisassociateTransitGatewayRouteTable",
                ],
                resources=[
                    *tables,
                    f"{arn}:transit-gateway-attachment/{self.egress_attachment.ref}",
                ],
            ),
            iam.PolicyStatement(
                sid="WatchTheGatewayAndAttachment",
                actions=[
                    "ec2:DescribeTransitGatewayAttachments",
                    "ec2:DescribeTransitGateways",
                ],
                resources=["*"],
            ),
        )
        # The function acts on the hub's own ids only, from its configuration, whatever a
        # request names (baseline/handlers/network_hub.py refuses any other).
        for variable, value in (
            ("HUB_TRANSIT_GATEWAY_ID", self.transit_gateway.ref),
            ("HUB_SPOKE_ROUTE_TABLE_ID", self.spoke_routes.ref),
            ("HUB_EGRESS_ROUTE_TABLE_ID", self.egress_routes.ref),
            ("HUB_EGRESS_ATTACHMENT_ID", self.egress_attachment.ref),
        ):
            self.lookups.function.add_environment(variable, value)
        self.route_table_defaults = cdk.CustomResource(
            self,
            "RouteTableDefaults",
            service_token=self.lookups.function.function_arn,
            resource_type="Custom::TransitGatewayDefaults",
            service_timeout=answer_within(self.lookups.timeout),
            properties={
                HANDLER_DIGEST: handler_digest("network_hub"),
                "TransitGatewayId": self.transit_gateway.ref,
                "AssociationDefaultRouteTableId": self.spoke_routes.ref,
                "PropagationDefaultRouteTableId": self.egress_routes.ref,
                "EgressAttachmentId": self.egress_attachment.ref,
                # a change to the gateway's template options runs this again, in case
                # CloudFormation sends the template's "disable" with the change
                "GatewayOptions": f"{asn}/{str(auto_accept).lower()}",
            },
        )

    # --- Network Firewall --------------------------------------------------------------

    def _firewall(
        self,
        zones: list[str],
        allowed_domains: Sequence[str],
        managed_rule_groups: Sequence[str],
        log_bucket_name: str,
    ) -> None:
        stack = cdk.Stack.of(self)
        home_net = {"HOME_NET": {"definition": self.workload_cidrs}}
        self.allowed_domains = nfw.CfnRuleGroup(
            self,
            "AllowedDomains",
            rule_group_name=f"{self.name}-allowed-domains",
            type="STATEFUL",
            capacity=ALLOWLIST_CAPACITY,
            description="Domains the workloads may reach over HTTP and TLS; nothing else",
            rule_group=nfw.CfnRuleGroup.RuleGroupProperty(
                rule_variables=nfw.CfnRuleGroup.RuleVariablesProperty(ip_sets=home_net),
                rules_source=nfw.CfnRuleGroup.RulesSourceProperty(
                    rules_source_list=nfw.CfnRuleGroup.RulesSourceListProperty(
                        generated_rules_type="ALLOWLIST",
                        target_types=["HTTP_HOST", "TLS_SNI"],
                        targets=list(allowed_domains),
                    )
                ),
                stateful_rule_options=nfw.CfnRuleGroup.StatefulRuleOptionsProperty(
                    rule_order="STRICT_ORDER"
                ),
            ),
        )
        # The default action drops established flows only: a connection's first packets
        # pass. TCP cannot become established without a pass rule; one-way UDP and ICMP
        # (a query to an outside resolver, a beacon) would, so they are dropped outright,
        # from any source: a spoke whose range is outside the workload ranges (a pod
        # range, say) is not in $HOME_NET, and its UDP would pass
        self.other_egress = nfw.CfnRuleGroup(
            self,
            "DropOtherEgress",
            rule_group_name=f"{self.name}-drop-other-egress",
            type="STATEFUL",
            capacity=10,
            description="Drops UDP and ICMP from the workloads to the internet",
            rule_group=nfw.CfnRuleGroup.RuleGroupProperty(
                rule_variables=nfw.CfnRuleGroup.RuleVariablesProperty(ip_sets=home_net),
                rules_source=nfw.CfnRuleGroup.RulesSourceProperty(
                    rules_string="\n".join(
                        f'drop {protocol} any any -> $EXTERNAL_NET any (msg:"{protocol} '
                        f'from the workloads to the internet"; sid:{sid}; rev:1;)'
                        for sid, protocol in ((1000001, "udp"), (1000002, "icmp"))
                    )
                ),
                stateful_rule_options=nfw.CfnRuleGroup.StatefulRuleOptionsProperty(
                    rule_order="STRICT_ORDER"
                ),
            ),
        )
        managed = [
            nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty(
                resource_arn=(
                    f"arn:{stack.partition}:network-firewall:{stack.region}:aws-managed:"
                    f"stateful-rulegroup/{group}"
                ),
                priority=100 * (index + 1),
            )
            for index, group in enumerate(managed_rule_groups)
        ]
        self.policy = nfw.CfnFirewallPolicy(
            self,
            "FirewallPolicy",
            firewall_policy_name=f"{self.name}-egress",
            description="Threat signatures first, then the domain allow-list; every other flow dropped",
            firewall_policy=nfw.CfnFirewallPolicy.FirewallPolicyProperty(
                # every packet goes to the stateful engine
                stateless_default_actions=["aws:forward_to_sfe"],
                stateless_fragment_default_actions=["aws:forward_to_sfe"],
                stateful_engine_options=nfw.CfnFirewallPolicy.StatefulEngineOptionsProperty(
                    rule_order="STRICT_ORDER", stream_exception_policy="DROP"
                ),
                stateful_default_actions=["aws:drop_established", "aws:alert_established"],
                stateful_rule_group_references=[
                    *managed,
                    nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty(
                        resource_arn=self.allowed_domains.attr_rule_group_arn,
                        priority=100 * (len(managed) + 1),
                    ),
                    nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty(
                        resource_arn=self.other_egress.attr_rule_group_arn,
                        priority=100 * (len(managed) + 2),
                    ),
                ],
                policy_variables=nfw.CfnFirewallPolicy.PolicyVariablesProperty(
                    rule_variables=home_net
                ),
            ),
        )
        subnets = self._subnets("Firewall")
        self.firewalls = []
        self.firewall_endpoints: dict[str, str] = {}
        for index, zone in enumerate(zones, start=1):
            firewall = nfw.CfnFirewall(
                self,
                f"Firewall{index}",
                firewall_name=f"{self.name}-egress-{zone}",
                description=f"Inspects the organisation's egress in {zone}",
                firewall_policy_arn=self.policy.attr_firewall_policy_arn,
                vpc_id=self.vpc.vpc_id,
                subnet_mappings=[
                    nfw.CfnFirewall.SubnetMappingProperty(subnet_id=subnets[zone].subnet_id)
                ],
                delete_protection=True,
                subnet_change_protection=True,
                firewall_policy_change_protection=False,  # policy updates are the point
            )
            acknowledge(
                firewall,
                f"{GUARD_PLUGIN}::netfw_multi_az_enabled_check",
                "The hub runs one firewall in each of its availability zones (at least two), "
                "and each zone's traffic is routed to its own zone's endpoint, so losing a zone "
                "stops only that zone's traffic, which is what a multi-AZ firewall achieves.",
            )
            # one endpoint, "<az>:<vpce id>"
            self.firewall_endpoints[zone] = cdk.Fn.select(
                1, cdk.Fn.split(":", cdk.Fn.select(0, firewall.attr_endpoint_ids))
            )
            nfw.CfnLoggingConfiguration(
                self,
                f"FirewallLogging{index}",
                firewall_arn=firewall.attr_firewall_arn,
                logging_configuration=nfw.CfnLoggingConfiguration.LoggingConfigurationProperty(
                    log_destination_configs=[
                        nfw.CfnLoggingConfiguration.LogDestinationConfigProperty(
                            log_destination={"bucketName": log_bucket_name},
                            log_destination_type="S3",
                            log_type=log_type,
                        )
                        for log_type in ("ALERT", "FLOW")
                    ]
                ),
            )
            self.firewalls.append(firewall)

    def _routes(self, zones: list[str], firewall: bool) -> None:
        """The egress VPC's routes beyond the ones the VPC made (public: IGW; else: NAT)."""
        attachment = self.egress_attachment
        public = self._subnets("Public")
        transit = self._subnets("Transit")
        firewall_subnets = self._subnets("Firewall") if firewall else {}

        # each read is a call into the CDK: a subnet's table and the gateway's id, once
        tables: dict[ec2.ISubnet, str] = {}
        gateway = self.transit_gateway.ref

        def route(subnet: ec2.ISubnet, name: str, cidr: str, **target: str) -> None:
            table = tables.get(subnet)
            if table is None:
                table = tables[subnet] = subnet.route_table.route_table_id
            resource = ec2.CfnRoute(
                subnet,  # type: ignore[arg-type]
                name,
                route_table_id=table,
                destination_cidr_block=cidr,
                **target,
            )
            resource.add_resource_dependency(attachment)

        for zone in zones:
            for cidr in self.workload_cidrs:
                back = f"ToWorkloads{range_id(cidr)}"
                if firewall:
                    # replies from the internet pass this AZ's firewall endpoint again
                    endpoint = self.firewall_endpoints[zone]
                    route(public[zone], back, cidr, vpc_endpoint_id=endpoint)
                    route(
                        firewall_subnets[zone],
                        back,
                        cidr,
                        transit_gateway_id=gateway,
                    )
                else:
                    route(public[zone], back, cidr, transit_gateway_id=gateway)
            if firewall:
                route(
                    transit[zone],
                    "ToFirewall",
                    ANYWHERE_IPV4,
                    vpc_endpoint_id=self.firewall_endpoints[zone],
                )

    # --- DNS Firewall and query logging ---------------------------------------------------

    def _dns(
        self,
        managed_domain_lists: Sequence[str],
        blocked_domains: Sequence[str],
        log_bucket_name: str,
        *,
        dns_threats: Sequence[str],
        confidence: str,
    ) -> None:
        stack = cdk.Stack.of(self)
        self.lookups.policy.add_statements(
            iam.PolicyStatement(
                sid="FindManagedDomainLists",
                actions=["route53resolver:ListFirewallDomainLists"],
                resources=["*"],
            )
        )
        lists = cdk.CustomResource(
            self,
            "ManagedDomainLists",
            service_token=self.lookups.function.function_arn,
            resource_type="Custom::ManagedDomainLists",
            service_timeout=answer_within(self.lookups.timeout),
            properties={
                HANDLER_DIGEST: handler_digest("network_hub"),
                "Names": list(managed_domain_lists),
            },
        )
        rules = [
            resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                action="BLOCK",
                block_response="NODATA",
                firewall_domain_list_id=lists.get_att_string(list_name),
                priority=100 * (index + 1),
            )
            for index, list_name in enumerate(managed_domain_lists)
        ]
        if blocked_domains:
            names = sorted({d.lstrip(".") for d in blocked_domains})
            blocked = resolver.CfnFirewallDomainList(
                self,
                "BlockedDomains",
                name=f"{self.name}-blocked-domains",
                domains=[entry for d in names for entry in (d, f"*.{d}")],
            )
            rules.append(
                resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                    action="BLOCK",
                    block_response="NODATA",
                    firewall_domain_list_id=blocked.attr_id,
                    priority=100 * (len(rules) + 1),
                )
            )
        rules += [
            resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                action="BLOCK",
                block_response="NODATA",
                dns_threat_protection=threat,
                confidence_threshold=confidence,
                priority=100 * (len(rules) + 1 + index),
            )
            for index, threat in enumerate(dns_threats)
        ]
        self.dns_rule_group = resolver.CfnFirewallRuleGroup(
            self,
            "DnsFirewall",
            name=f"{self.name}-dns-firewall",
            firewall_rules=rules,
        )
        resolver.CfnFirewallRuleGroupAssociation(
            self,
            "DnsFirewallAssociation",
            name=f"{self.name}-egress-vpc",
            firewall_rule_group_id=self.dns_rule_group.attr_id,
            vpc_id=self.vpc.vpc_id,
            priority=101,
            # ENABLED would stop CloudFormation itself from updating or deleting it
            mutation_protection="DISABLED",
        )
        self.query_logging = resolver.CfnResolverQueryLoggingConfig(
            self,
            "QueryLogging",
            name=f"{self.name}-dns-queries",
            destination_arn=f"arn:{stack.partition}:s3:::{log_bucket_name}",
        )
        resolver.CfnResolverQueryLoggingConfigAssociation(
            self,
            "QueryLoggingAssociation",
            resolver_query_log_config_id=self.query_logging.attr_id,
            resource_id=self.vpc.vpc_id,
        )


def range_id(cidr: str) -> str:
    """A route's construct-id part, from its range (``10.0.0.0/8`` -> ``10x0x0x0n8``): a
    route named by its place in ``workload_cidrs`` was replaced when an earlier range left
    the list, and the replacement, created first, collided with the route still there."""
    return cidr.replace(".", "x").replace("/", "n")


def _validate(
    zones: list[str],
    egress_cidr: str,
    workload_cidrs: Sequence[str],
    firewall: bool,
    allowed_domains: Sequence[str],
) -> None:
    problems = hub_problems(
        availability_zones=zones,
        egress_cidr=egress_cidr,
        workload_cidrs=workload_cidrs,
        firewall=firewall,
        allowed_domains=allowed_domains,
    )
    if problems:
        raise ValueError(
            "NetworkHub: "
            + "; ".join(
                f"{p.argument}{'' if p.index is None else f'[{p.index}]'}: {p.message}"
                for p in problems
            )
        )
