"""LayeredVpc: a VPC with public, private and isolated tiers and least traffic by default."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53resolver as resolver
from aws_cdk import aws_s3 as s3
from constructs import Construct

from baseline import naming
from baseline.compliance import GUARD_PLUGIN, acknowledge, acknowledge_each
from baseline.constructs import endpoint_policy
from baseline.constructs.secure_log_group import SecureLogGroup
from baseline.defaults import ADMIN_PORTS, ANYWHERE_IPV4
from baseline.trust import ORGANIZATION_ID

#: Interface endpoints every VPC gets by default: Systems Manager, KMS, CloudWatch Logs, STS.
DEFAULT_INTERFACE_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages", "kms", "logs", "sts")


class LayeredVpc(Construct):
    """A VPC in tiers across at least two AZs, every flow logged, admin ports closed.

    Implements SEC05-BP01 (network layers: public, private with egress, isolated),
    SEC05-BP02 (least traffic: per-tier network ACLs, the default security group closed,
    no public IPs on launch, endpoints restricted to the organisation), SEC04-BP01 and
    CIS 3.7 (flow logs of all traffic to the central log bucket and an encrypted log
    group), CIS 5.1/5.2 (no admin ports open to the world in network ACLs) and CIS 5.4.

    ``isolated_only=True`` gives a VPC with no internet or NAT gateway at all. With
    ``transit_gateway_id`` the private tier routes through the organisation's transit
    gateway (centralised, inspected egress) instead of a NAT gateway of its own.

    Example::

        vpc = LayeredVpc(self, "Vpc", cidr="10.20.0.0/16", organization_id="o-abc123defg",
                         flow_log_bucket_name="acme-logs-111122223333-eu-west-1")
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str = "10.0.0.0/16",
        max_azs: int = 2,
        isolated_only: bool = False,
        nat_gateways: int = 1,
        transit_gateway_id: str | None = None,
        organization_id: str | None = None,
        flow_log_bucket_name: str | None = None,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        flow_log_key_alias: str | None = None,
        availability_zones: Sequence[str] | None = None,
        interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS,
        dns_firewall_rule_group_id: str | None = None,
        query_log_config_id: str | None = None,
        resource_perimeter: bool = True,
        perimeter_exceptions: Sequence[str] = (),
        aws_owned_objects: Sequence[str] = (),
    ) -> None:
        """Create the VPC, its tiers, network ACLs, flow logs and endpoints.

        :param cidr: the VPC's IPv4 range, /16 to /24, large enough for the tiers: /18
            for two or three AZs with a transit gateway, /18 for two AZs and /17 for three
            with public subnets, /23 for two AZs and /22 for three isolated only. Default:
            10.0.0.0/16.
        :param max_azs: availability zones, at least 2. Default: 2. In a stack with a
            concrete account and region, name them in ``availability_zones`` instead.
        :param availability_zones: the AZ names to use (2 or more). Default: ``max_azs``
            of the stack's AZs. In a stack with a concrete account and region, declare
            the stack's AZs first with :func:`declare_availability_zones` (at the start of
            the stack, before any construct), or synth looks them up with credentials;
            the VPC warns (``lz:LayeredVpc.AvailabilityZonesLookedUp``) when nobody did.
        :param isolated_only: only the isolated tier (no internet or NAT gateway).
            Default: False.
        :param nat_gateways: NAT gateways (1 to ``max_azs``; one per AZ survives an AZ
            outage). Ignored with ``transit_gateway_id`` or ``isolated_only``. Default: 1.
        :param transit_gateway_id: route the private tier through this transit gateway
            instead of NAT (the organisation's, shared through RAM). Default: none.
        :param organization_id: endpoint policies allow only principals of this
            organisation. Default: none (the endpoints then allow this account only).
        :param resource_perimeter: the S3 and DynamoDB gateway endpoints also admit only
            requests to the organisation's resources (or this account's), besides the
            AWS-owned objects that AWS's agents read in the region
            (:data:`baseline.constructs.endpoint_policy.AWS_OWNED_OBJECTS`), so a role of
            the organisation cannot copy data to a bucket of another owner through them.
            Default: True; False warns at synth (``lz:LayeredVpc.ResourcePerimeterOff``).
        :param perimeter_exceptions: ARNs of S3 buckets, their objects, or DynamoDB tables
            outside the organisation that its principals may reach through the gateway
            endpoints (a partner's bucket). Default: none.
        :param aws_owned_objects: ARNs of more AWS-owned S3 objects (``arn:aws:s3:::bucket/*``)
            that anyone in the VPC may read through the S3 endpoint, as the default list's:
            a service's bucket the list lacks, or CodeArtifact's in a region
            :data:`~baseline.constructs.endpoint_policy.CODEARTIFACT_ASSET_ACCOUNTS` does
            not know (also in a stack without a fixed region). Default: none.
        :param flow_log_bucket_name: the central log bucket for flow logs (the log
            archive's). Default: none (flow logs go to the log group only).
        :param flow_log_retention: how long the flow-log group keeps records. Default: 1 year.
        :param flow_log_key_alias: the alias of the flow-log group's key (a landing zone's
            own VPC names it under its prefix, which its guardrails protect). Default:
            ``alias/vpc/<the construct's unique id>-flow-logs``.
        :param interface_endpoints: services with a private interface endpoint.
            Default: ssm, ssmmessages, ec2messages, kms, logs, sts; leaving one out warns
            at synth (``lz:LayeredVpc.EndpointsDropped``).
        :param dns_firewall_rule_group_id: associate this DNS Firewall rule group (the
            network hub's, shared through RAM). Default: none.
        :param query_log_config_id: log this VPC's DNS queries with this Resolver query
            logging configuration (the hub's, shared through RAM). Default: none.

        The hub's ids: :func:`network_hub_ids` reads them from the parameters the network
        account shares.
        """
        super().__init__(scope, construct_id)
        zones = None if availability_zones is None else list(availability_zones)
        problems = _argument_problems(
            cidr=cidr,
            max_azs=max_azs,
            isolated_only=isolated_only,
            nat_gateways=nat_gateways,
            transit_gateway_id=transit_gateway_id,
            zones=zones,
        ) + endpoint_policy.exception_problems(perimeter_exceptions, aws_owned_objects)
        if organization_id is not None and not (
            cdk.Token.is_unresolved(organization_id) or ORGANIZATION_ID.match(organization_id)
        ):
            problems.append(
                "organization_id must be an organisation id (o- and 10-32 lower-case letters "
                f"or digits), got {organization_id!r}"
            )
        if (perimeter_exceptions or aws_owned_objects) and not resource_perimeter:
            problems.append(
                "perimeter_exceptions, aws_owned_objects: without the resource perimeter "
                "there is none to make exceptions to"
            )
        if problems:
            raise ValueError("LayeredVpc: " + "; ".join(problems))
        _warn_of_a_zone_lookup(self)
        if dropped := [e for e in DEFAULT_INTERFACE_ENDPOINTS if e not in interface_endpoints]:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:LayeredVpc.EndpointsDropped",
                f"interface_endpoints leaves out {', '.join(dropped)}: calls to those services "
                "leave the VPC through NAT to public endpoints (or fail in an isolated VPC), "
                "outside the endpoint policy that limits them to the organisation.",
            )
        if not resource_perimeter:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:LayeredVpc.ResourcePerimeterOff",
                "resource_perimeter=False: the S3 and DynamoDB gateway endpoints check who "
                "calls, not whose bucket or table is called, so a role of the organisation "
                "can copy data to anyone's bucket through them, past every firewall.",
            )

        tiers = [
            ec2.SubnetConfiguration(
                name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            )
        ]
        if transit_gateway_id is not None:
            tiers.insert(
                0,
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
                ),
            )
        elif not isolated_only:
            tiers[:0] = [
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ]
        self.vpc = ec2.Vpc(
            self,
            "Resource",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            **({"availability_zones": zones} if zones is not None else {"max_azs": max_azs}),
            subnet_configuration=tiers,
            nat_gateways=0 if isolated_only or transit_gateway_id else nat_gateways,
            restrict_default_security_group=True,
            enable_dns_hostnames=True,
            enable_dns_support=True,
        )
        acknowledge_default_security_group_provider(cdk.Stack.of(self))
        self._network_acls(cidr, has_public=not isolated_only and transit_gateway_id is None)
        acknowledge_public_routes(
            self.vpc.public_subnets,
            "The public tier exists for internet-facing load balancers and NAT gateways, "
            "so its route to the internet gateway is its purpose; workloads run in the "
            "private and isolated tiers, which have no such route.",
        )
        self._flow_logs(flow_log_bucket_name, flow_log_retention, flow_log_key_alias)
        self._endpoints(
            organization_id,
            interface_endpoints,
            cidr,
            perimeter=(perimeter_exceptions, aws_owned_objects) if resource_perimeter else None,
        )
        if transit_gateway_id is not None:
            self._attach_transit_gateway(transit_gateway_id)
        if dns_firewall_rule_group_id is not None:
            resolver.CfnFirewallRuleGroupAssociation(
                self,
                "DnsFirewall",
                firewall_rule_group_id=dns_firewall_rule_group_id,
                vpc_id=self.vpc.vpc_id,
                priority=101,
                # ENABLED would stop CloudFormation itself from updating or deleting it
                mutation_protection="DISABLED",
            )
        if query_log_config_id is not None:
            resolver.CfnResolverQueryLoggingConfigAssociation(
                self,
                "QueryLogging",
                resolver_query_log_config_id=query_log_config_id,
                resource_id=self.vpc.vpc_id,
            )

    # --- network ACLs ---------------------------------------------------------------

    def _network_acls(self, cidr: str, *, has_public: bool) -> None:
        """One ACL per tier; admin ports are denied from the world before anything is allowed."""
        self.network_acls: dict[str, ec2.NetworkAcl] = {}
        non_public = [*self.vpc.private_subnets, *self.vpc.isolated_subnets]
        groups = {
            "Public": list(self.vpc.public_subnets),
            "Private": [s for s in non_public if _tier_of(s) == "Private"],
            "Isolated": [s for s in non_public if _tier_of(s) == "Isolated"],
        }
        for tier, tier_subnets in groups.items():
            if not tier_subnets:
                continue
            acl = admin_port_acl(
                self,
                f"{tier}Acl",
                self.vpc,
                tier_subnets,
                "Per-tier network ACLs are a deliberate second layer under security groups "
                "(SEC05-BP02): they deny remote-administration ports from the internet in every "
                "tier and keep the isolated tier to the VPC and HTTPS out (which its routes take "
                "only to the S3 and DynamoDB gateway endpoints), whatever a security group says.",
            )
            inside = ec2.AclCidr.ipv4(cidr)
            acl.add_entry(
                "FromVpc",
                cidr=inside,
                rule_number=100,
                traffic=ec2.AclTraffic.all_traffic(),
                direction=ec2.TrafficDirection.INGRESS,
            )
            acl.add_entry(
                "ToVpc",
                cidr=inside,
                rule_number=100,
                traffic=ec2.AclTraffic.all_traffic(),
                direction=ec2.TrafficDirection.EGRESS,
            )
            world = ec2.AclCidr.ipv4(ANYWHERE_IPV4)
            # Replies to connections the tier opened (NAT and load balancers answer from
            # here; for the isolated tier, S3 and DynamoDB through the gateway endpoints),
            # on the ephemeral ports but RDP's: no entry from the world covers 22 or 3389
            # (the deny entries above keep WinRM's 5985 and 5986 shut first).
            for name, rule_number, ports in (
                ("RepliesFromWorld", 200, (1024, 3388)),
                ("RepliesFromWorldAboveRdp", 201, (3390, 65535)),
            ):
                acl.add_entry(
                    name,
                    cidr=world,
                    rule_number=rule_number,
                    traffic=ec2.AclTraffic.tcp_port_range(*ports),
                    direction=ec2.TrafficDirection.INGRESS,
                )
            # The gateway endpoints' traffic goes to S3's and DynamoDB's public addresses,
            # which a network ACL cannot name (it takes no prefix list). The isolated tier
            # stays isolated by its routes: its route table has the VPC and the gateway
            # endpoints only, so HTTPS to anywhere else has no route.
            acl.add_entry(
                "HttpsToWorld",
                cidr=world,
                rule_number=200,
                traffic=ec2.AclTraffic.tcp_port(443),
                direction=ec2.TrafficDirection.EGRESS,
            )
            if tier == "Isolated":
                self.network_acls[tier] = acl
                continue
            acl.add_entry(
                "HttpToWorld",
                cidr=world,
                rule_number=210,
                traffic=ec2.AclTraffic.tcp_port(80),
                direction=ec2.TrafficDirection.EGRESS,
            )
            if tier == "Public" and has_public:
                acl.add_entry(
                    "HttpsFromWorld",
                    cidr=world,
                    rule_number=300,
                    traffic=ec2.AclTraffic.tcp_port(443),
                    direction=ec2.TrafficDirection.INGRESS,
                )
                acl.add_entry(
                    "RepliesToWorld",
                    cidr=world,
                    rule_number=300,
                    traffic=ec2.AclTraffic.tcp_port_range(1024, 65535),
                    direction=ec2.TrafficDirection.EGRESS,
                )
            self.network_acls[tier] = acl

    # --- flow logs -----------------------------------------------------------------

    def _flow_logs(
        self, bucket_name: str | None, retention: logs.RetentionDays, key_alias: str | None
    ) -> None:
        self.flow_logs = add_flow_logs(
            self, self.vpc, bucket_name=bucket_name, retention=retention, key_alias=key_alias
        )
        self.flow_log_group = self.flow_logs.log_group

    # --- endpoints ---------------------------------------------------------------------

    def _endpoints(
        self,
        organization_id: str | None,
        services: Sequence[str],
        cidr: str,
        *,
        perimeter: tuple[Sequence[str], Sequence[str]] | None,
    ) -> None:
        """The endpoints and their policies: the organisation's principals (or this
        account's); on the gateway endpoints, with ``perimeter`` (its exceptions and more
        AWS-owned objects) not None, only to the organisation's resources and the named
        others."""
        stack = cdk.Stack.of(self)
        condition = (
            {"StringEquals": {"aws:PrincipalOrgID": organization_id}}
            if organization_id
            else {"StringEquals": {"aws:PrincipalAccount": stack.account}}
        )

        def restrict(endpoint: ec2.GatewayVpcEndpoint | ec2.InterfaceVpcEndpoint) -> None:
            endpoint.add_to_policy(
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=["*"],
                    resources=["*"],
                    conditions=condition,
                )
            )

        self.gateway_endpoints = {
            "s3": self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3),
            "dynamodb": self.vpc.add_gateway_endpoint(
                "DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
            ),
        }
        for service, endpoint in self.gateway_endpoints.items():
            if perimeter is None:
                restrict(endpoint)
                continue
            for statement in endpoint_policy.gateway_statements(
                service,
                organization_id=organization_id,
                account=stack.account,
                region=stack.region,
                exceptions=perimeter[0],
                aws_owned=perimeter[1],
            ):
                endpoint.add_to_policy(iam.PolicyStatement.from_json(statement))
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="HTTPS from this VPC to its interface endpoints",
        )
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        # The isolated tier exists in every variant: endpoints live there, one per AZ.
        subnets = ec2.SubnetSelection(subnet_group_name="Isolated")
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for name in services:
            interface = self.vpc.add_interface_endpoint(
                f"{name.capitalize()}Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(name),
                private_dns_enabled=True,
                security_groups=[self.endpoint_security_group],
                subnets=subnets,
                open=False,
            )
            restrict(interface)
            self.interface_endpoints[name] = interface

    def _attach_transit_gateway(self, transit_gateway_id: str) -> None:
        private = self.vpc.select_subnets(subnet_group_name="Private").subnets
        self.transit_gateway_attachment = ec2.CfnTransitGatewayAttachment(
            self,
            "TransitGatewayAttachment",
            transit_gateway_id=transit_gateway_id,
            vpc_id=self.vpc.vpc_id,
            subnet_ids=[s.subnet_id for s in private],
        )
        for index, subnet in enumerate(private):
            route = ec2.CfnRoute(
                self,
                f"EgressThroughHub{index}",
                route_table_id=subnet.route_table.route_table_id,
                destination_cidr_block=ANYWHERE_IPV4,
                transit_gateway_id=transit_gateway_id,
            )
            route.node.add_dependency(self.transit_gateway_attachment)


def _argument_problems(
    *,
    cidr: str,
    max_azs: int,
    isolated_only: bool,
    nat_gateways: int,
    transit_gateway_id: str | None,
    zones: list[str] | None,
) -> list[str]:
    """Every reason the arguments cannot make a working VPC."""
    problems = []
    azs = len(zones) if zones is not None else max_azs
    try:
        network = ipaddress.ip_network(cidr)
        if not 16 <= network.prefixlen <= 24:
            problems.append(f"cidr must be a /16 to /24 range, got {cidr}")
        elif not _tiers_fit(network.prefixlen, _tier_masks(isolated_only, transit_gateway_id), azs):
            problems.append(
                f"cidr {cidr} is too small for the tiers in {azs} AZs (each AZ takes a /20 "
                "private subnet and /24 public and isolated ones; an isolated-only VPC a /24): "
                "give a larger range"
            )
    except ValueError:
        problems.append(f"cidr must be an IPv4 range like 10.0.0.0/16, got {cidr!r}")
    if max_azs < 2:
        problems.append(
            f"max_azs must be at least 2 (a tier in one AZ fails with it), got {max_azs}"
        )
    if not isolated_only and transit_gateway_id is None and not 1 <= nat_gateways <= azs:
        problems.append(
            f"nat_gateways must be between 1 and the number of AZs ({azs}), got {nat_gateways}"
        )
    if isolated_only and transit_gateway_id is not None:
        problems.append("isolated_only and transit_gateway_id: an isolated VPC has no route out")
    if zones is not None and (len(zones) < 2 or len(set(zones)) != len(zones)):
        problems.append(f"availability_zones must name 2 or more distinct AZs, got {zones}")
    return problems


def _warn_of_a_zone_lookup(vpc: Construct) -> None:
    """In a stack with a fixed account and region whose AZs nobody declared, say so: synth
    then looks them up with credentials (and fails without), or, run without the CDK CLI,
    writes placeholder zones into the template."""
    stack = cdk.Stack.of(vpc)
    if cdk.Token.is_unresolved(stack.account) or cdk.Token.is_unresolved(stack.region):
        return  # environment-agnostic: CloudFormation picks the AZs
    lookup = f"availability-zones:account={stack.account}:region={stack.region}"
    if vpc.node.try_get_context(lookup) is None:
        cdk.Annotations.of(vpc).add_warning_v2(
            "lz:LayeredVpc.AvailabilityZonesLookedUp",
            f"the stack is in {stack.account}/{stack.region} and its AZs are not declared, so "
            "synth looks them up with AWS credentials (and fails without them) or writes "
            "placeholder zones: call baseline.constructs.declare_availability_zones(stack, "
            f"['{stack.region}a', '{stack.region}b']) at the start of the stack.",
        )


def _tier_masks(isolated_only: bool, transit_gateway_id: str | None) -> list[int]:
    """The subnet masks of the tiers, in the order the VPC allocates them."""
    if transit_gateway_id is not None:
        return [20, 24]  # Private (routed to the hub), Isolated
    return [24] if isolated_only else [24, 20, 24]  # Public, Private, Isolated


def _tiers_fit(prefix: int, masks: list[int], azs: int) -> bool:
    """Whether the tiers' subnets, one per AZ each, fit a range of this prefix length when
    laid out one after the other, each on a boundary of its own size (as the CDK does)."""
    used = 0
    for mask in masks:
        block = 1 << (32 - mask)
        for _ in range(azs):
            used = -(-used // block) * block + block
    return used <= 1 << (32 - prefix)


def _tier_of(subnet: ec2.ISubnet) -> str:
    """The subnet group name CDK gives a subnet (Private or Isolated for non-public ones)."""
    name = subnet.node.id  # e.g. "PrivateSubnet1", "IsolatedSubnet2"
    return "Private" if name.startswith("Private") else "Isolated"


def add_flow_logs(
    scope: Construct,
    vpc: ec2.IVpc,
    *,
    bucket_name: str | None,
    retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    key_alias: str | None = None,
) -> SecureLogGroup:
    """Flow logs of all traffic to an encrypted log group of ``scope`` and, when named,
    to the central log bucket (CIS 3.7). Returns the log group's construct.

    :param bucket_name: the central log bucket. None: the log group only.
    :param retention: how long the log group keeps records. Default: 1 year.
    :param key_alias: the alias of the group's key. Default:
        ``alias/vpc/<scope's unique id>-flow-logs``.
    """
    if bucket_name is not None:
        add_archive_flow_log(scope, vpc, bucket_name)
    stack = cdk.Stack.of(scope)
    flow_logs = SecureLogGroup(
        scope,
        "FlowLogs",
        log_group_name=f"/vpc/{cdk.Names.unique_id(scope)}/flow-logs",
        key_alias=key_alias or f"alias/vpc/{cdk.Names.unique_id(scope)[-200:]}-flow-logs",
        retention=retention,
        key_description="Encrypts the VPC's flow-log group",
    )
    log_group = flow_logs.log_group
    role = iam.Role(
        scope,
        "FlowLogRole",
        assumed_by=iam.ServicePrincipal(
            "vpc-flow-logs.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
        description="VPC Flow Logs writes this VPC's flow-log group",
    )
    policy = iam.ManagedPolicy(
        scope,
        "FlowLogPolicy",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[f"{log_group.log_group_arn}:*"],
            )
        ],
    )
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::<{stack.resolve(stack.get_logical_id(log_group.node.default_child))}.Arn>:*]",  # type: ignore[arg-type]
        "VPC Flow Logs creates one log stream per network interface in this VPC's own log "
        "group; the stream wildcard stays inside that group.",
    )
    _kept(
        vpc.add_flow_log(
            "ToLogGroup",
            # the role's one policy is the managed policy above; no inline grants on top
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                log_group, role.without_policy_updates()
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
    )
    return flow_logs


def _kept(flow_log: ec2.FlowLog) -> None:
    """A flow log stays when its stack is deleted or it is replaced: the guardrails deny
    ec2:DeleteFlowLogs to all but the baseline (SCP-SECURITY-SERVICES), so a delete would
    fail the stack's deletion; AWS removes a deleted VPC's flow logs itself."""
    flow_log.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


def add_archive_flow_log(scope: Construct, vpc: ec2.IVpc, bucket_name: str) -> None:
    """Flow logs of all traffic to the central log bucket (CIS 3.7)."""
    bucket = s3.Bucket.from_bucket_name(scope, "CentralLogBucket", bucket_name)
    _kept(
        vpc.add_flow_log(
            "ToLogArchive",
            destination=ec2.FlowLogDestination.to_s3(bucket),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
    )


#: The CDK's own function that closes a VPC's default security group, one per stack.
_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


def acknowledge_default_security_group_provider(stack: cdk.Stack) -> None:
    """Acknowledge, with reasons, what the scanners find on the CDK's function that closes
    the default security group of a VPC (``restrict_default_security_group``)."""
    provider = stack.node.try_find_child(_DEFAULT_SG_PROVIDER)
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if not isinstance(handler, cdk.CfnResource):
        return
    control_plane_only = (
        "The CDK's own function that removes the rules of the VPC's default security group "
        "only calls the EC2 API when CloudFormation creates the VPC; it handles no data, so "
        "a VPC or a reserved concurrency of its own would protect nothing."
    )
    acknowledge_each(
        handler,
        {
            f"{GUARD_PLUGIN}::lambda_inside_vpc_check": control_plane_only,
            "CKV_AWS_117": control_plane_only,
            "CKV_AWS_115": control_plane_only,
            "CKV_AWS_116": (
                "CloudFormation invokes the CDK's default-security-group function "
                "synchronously and records a failure in the stack events; there is no "
                "asynchronous event that a dead-letter queue could keep."
            ),
        },
    )


def acknowledge_public_routes(subnets: Sequence[ec2.ISubnet], reason: str) -> None:
    """A public tier's route to the internet gateway is its purpose: say so to each pack."""
    for subnet in subnets:
        rules = [
            f"{p}-VPCNoUnrestrictedRouteToIGW"
            for p in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
        ]
        acknowledge(subnet, rules, reason)


@dataclass(frozen=True)
class NetworkHubIds:
    """The network hub's ids in one region, as read by a workload stack."""

    transit_gateway_id: str
    dns_firewall_rule_group_id: str
    query_log_config_id: str


def network_hub_ids(scope: Construct, *, prefix: str, network_account_id: str) -> NetworkHubIds:
    """The hub's ids, from the SSM parameters the network account shares with the OU.

    CloudFormation reads a shared parameter by its full ARN as a template parameter
    (dynamic references cannot read shared parameters), so this adds three parameters to
    the stack of ``scope``, which must have a concrete region. Pass the result to
    :class:`LayeredVpc`::

        hub = network_hub_ids(self, prefix="acme", network_account_id="111122223333")
        LayeredVpc(self, "Vpc", transit_gateway_id=hub.transit_gateway_id,
                   dns_firewall_rule_group_id=hub.dns_firewall_rule_group_id,
                   query_log_config_id=hub.query_log_config_id)
    """
    stack = cdk.Stack.of(scope)
    if cdk.Token.is_unresolved(stack.region):
        raise ValueError("network_hub_ids needs a stack with a concrete region (env=...)")
    values = {}
    for key in ("transit-gateway-id", "dns-firewall-rule-group-id", "query-log-config-id"):
        parameter = cdk.CfnParameter(
            stack,
            "NetworkHub" + "".join(part.capitalize() for part in key.split("-")),
            type="AWS::SSM::Parameter::Value<String>",
            default=naming.network_parameter_arn(prefix, network_account_id, stack.region, key),
            description=f"The network hub's {key.replace('-', ' ')} (shared by the network account)",
        )
        values[key.replace("-", "_")] = parameter.value_as_string
    return NetworkHubIds(**values)


def admin_port_acl(
    scope: Construct, construct_id: str, vpc: ec2.IVpc, subnets: Sequence[ec2.ISubnet], why: str
) -> ec2.NetworkAcl:
    """A network ACL for ``subnets`` whose first rules deny SSH, RDP and WinRM from the
    internet (CIS 5.1); the caller adds what the subnets may do, from rule 100 on.

    :param why: why the subnets have an ACL of their own (cdk-nag AwsSolutions-VPC3).
    """
    acl = ec2.NetworkAcl(
        scope, construct_id, vpc=vpc, subnet_selection=ec2.SubnetSelection(subnets=list(subnets))
    )
    acknowledge(acl, "AwsSolutions-VPC3", why)
    for index, port in enumerate(ADMIN_PORTS):
        acl.add_entry(
            f"DenyAdmin{port}FromWorld",
            cidr=ec2.AclCidr.ipv4(ANYWHERE_IPV4),
            rule_number=10 * (index + 1),
            traffic=ec2.AclTraffic.tcp_port(port),
            direction=ec2.TrafficDirection.INGRESS,
            rule_action=ec2.Action.DENY,
        )
    return acl


def declare_availability_zones(stack: cdk.Stack, zones: Sequence[str]) -> None:
    """Tell the CDK a stack's AZs, so synth needs no AWS lookup.

    In a stack with a concrete account and region, the hub's VPC checks its AZs against
    the stack's, which the CDK CLI otherwise looks up with credentials (and fails
    without). Call it on the stack before adding a :class:`NetworkHub` to it;
    :class:`LayeredVpc` calls it itself when given ``availability_zones``.
    """
    stack.node.set_context(
        f"availability-zones:account={stack.account}:region={stack.region}", list(zones)
    )
