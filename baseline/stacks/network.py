"""Network: the network account's hub in one governed region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from baseline import naming
from baseline.config import AccountRole, LandingZoneConfig, Network
from baseline.constructs.layered_vpc import declare_availability_zones
from baseline.constructs.network_hub import NetworkHub


@dataclass(frozen=True)
class NetworkSettings:
    """What the Network stacks need, derived once from the config."""

    prefix: str
    #: region -> the AZs the hub uses there
    availability_zones: dict[str, tuple[str, ...]]
    log_bucket_name: str
    #: RAM principals: the ARNs of the OUs the hub is shared with
    share_with: tuple[str, ...]
    network: Network

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> NetworkSettings:
        prefix = config.organization.prefix
        management = config.account_id_for(AccountRole.MANAGEMENT)
        org_id = str(config.organization.id)
        return cls(
            prefix=prefix,
            availability_zones={r: tuple(config.network.zones(r)) for r in config.governed_regions},
            log_bucket_name=naming.log_bucket(
                prefix, config.account_id_for(AccountRole.LOG_ARCHIVE), config.home_region
            ),
            share_with=tuple(
                naming.ou_arn(management, org_id, str(config.known_id(path)))
                for path in config.network_share_ous()
            ),
            network=config.network,
        )


class NetworkStack(cdk.Stack):
    """The organisation's network hub in one region of the network account.

    A transit gateway shared through RAM with the workload OUs, the inspected egress VPC
    and DNS Firewall; their ids are published as SSM parameters (shared too) under
    ``naming.network_parameter_path``, so a workload's ``LayeredVpc`` finds them by name.
    Logs go to the log archive bucket, addressed by name (the log archive deploys first).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: NetworkSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        prefix = settings.prefix
        network = settings.network
        zones = list(settings.availability_zones[self.region])
        # The config names the hub's AZs: no lookup of the account's AZs at synth.
        declare_availability_zones(self, zones)
        self.hub = NetworkHub(
            self,
            "Hub",
            name=naming.network_hub_name(prefix, self.region),
            availability_zones=zones,
            log_bucket_name=settings.log_bucket_name,
            egress_cidr=network.egress_vpc_cidr,
            workload_cidrs=network.workload_cidrs,
            share_with=list(settings.share_with),
            amazon_side_asn=network.transit_gateway.amazon_side_asn,
            auto_accept_shared_attachments=network.transit_gateway.auto_accept_shared_attachments,
            firewall=network.firewall.enabled,
            allowed_domains=network.firewall.allowed_domains,
            managed_rule_groups=network.firewall.managed_rule_groups,
            dns_firewall=network.dns_firewall.enabled,
            managed_domain_lists=network.dns_firewall.managed_domain_lists,
            blocked_domains=network.dns_firewall.blocked_domains,
            dns_threats=network.dns_firewall.threat_protection,
            dns_threat_confidence=network.dns_firewall.threat_confidence,
            parameter_prefix=naming.network_parameter_path(prefix),
            policy_path=naming.baseline_policy_path(prefix),
        )
