"""Network: the network account's hub in one governed region."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from baseline import naming
from baseline.config import AccountRole, LandingZoneConfig
from baseline.constructs.network_hub import NetworkHub, declare_availability_zones


class NetworkStack(cdk.Stack):
    """The organisation's network hub in one region of the network account.

    A transit gateway shared through RAM with the workload OUs, the inspected egress VPC
    and DNS Firewall; their ids are published as SSM parameters (shared too) under
    ``naming.network_parameter_path``, so a workload's ``LayeredVpc`` finds them by name.
    Logs go to the log archive bucket, addressed by name (the log archive deploys first).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LandingZoneConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.organization.prefix
        network = config.network
        # The config names the hub's AZs: no lookup of the account's AZs at synth.
        declare_availability_zones(self, network.zones(self.region))
        management = config.account_id_for(AccountRole.MANAGEMENT)
        org_id = config.organization.id
        ou_ids = config.ou_ids()
        share_with = [
            f"arn:{self.partition}:organizations::{management}:ou/{org_id}/{ou_ids[path]}"
            for path in config.network_share_ous()
        ]
        self.hub = NetworkHub(
            self,
            "Hub",
            name=naming.network_hub_name(prefix, self.region),
            availability_zones=network.zones(self.region),
            log_bucket_name=naming.log_bucket(
                prefix, config.account_id_for(AccountRole.LOG_ARCHIVE), config.home_region
            ),
            egress_cidr=network.egress_vpc_cidr,
            workload_cidrs=network.workload_cidrs,
            share_with=share_with,
            amazon_side_asn=network.transit_gateway.amazon_side_asn,
            auto_accept_shared_attachments=network.transit_gateway.auto_accept_shared_attachments,
            firewall=network.firewall.enabled,
            allowed_domains=network.firewall.allowed_domains,
            managed_rule_groups=network.firewall.managed_rule_groups,
            dns_firewall=network.dns_firewall.enabled,
            managed_domain_lists=network.dns_firewall.managed_domain_lists,
            blocked_domains=network.dns_firewall.blocked_domains,
            parameter_prefix=naming.network_parameter_path(prefix),
        )
