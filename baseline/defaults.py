"""Defaults and rules that the constructs and the config share: plain data, no CDK.

A leaf module: ``baseline.constructs`` and ``baseline.config`` both import it, and it
imports nothing of the kit, the CDK or pydantic. A workload team that reuses a construct
therefore never pulls in the YAML schema. The controls' checks (``baseline.controls``)
keep their own literals on purpose: a default changed here trips the check that guards
it instead of moving with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

#: Everywhere on the IPv4 internet.
ANYWHERE_IPV4 = "0.0.0.0/0"

#: Ports of remote administration that no network ACL of the kit lets in from the internet
#: (CIS 5.1, 5.2): SSH, RDP, and WinRM over HTTP and HTTPS.
ADMIN_PORTS = (22, 3389, 5985, 5986)

# --- the network hub ----------------------------------------------------------------------

#: The egress VPC's range in every region (carrier-grade NAT space, clear of workloads).
HUB_EGRESS_CIDR = "100.64.0.0/24"
#: The ranges of the workload (spoke) VPCs.
HUB_WORKLOAD_CIDRS = ("10.0.0.0/8",)
#: The transit gateway's private ASN (the lowest of the private range 64512-65534).
HUB_AMAZON_SIDE_ASN = 64512
#: Domains the workloads may reach through the firewall: the AWS service endpoints.
HUB_ALLOWED_DOMAINS = (".amazonaws.com",)
#: Domains the allow-list holds at most (its rule group's capacity is fixed at creation).
MAX_ALLOWED_DOMAINS = 250

#: AWS managed stateful rule groups (strict order) of Network Firewall the hub uses by default.
DEFAULT_THREAT_RULE_GROUPS = (
    "ThreatSignaturesBotnetStrictOrder",
    "ThreatSignaturesMalwareStrictOrder",
    "ThreatSignaturesEmergingEventsStrictOrder",
    "MalwareDomainsStrictOrder",
    "BotNetCommandAndControlDomainsStrictOrder",
)

#: AWS managed domain lists of Route 53 Resolver DNS Firewall (their ids differ per region).
MANAGED_DOMAIN_LISTS = (
    "AWSManagedDomainsMalwareDomainList",
    "AWSManagedDomainsBotnetCommandandControl",
    "AWSManagedDomainsAggregateThreatList",
    "AWSManagedDomainsAmazonGuardDutyThreatList",
)

#: The managed lists the hub blocks unless told otherwise.
DEFAULT_MANAGED_DOMAIN_LISTS = MANAGED_DOMAIN_LISTS[:3]

#: DNS Firewall Advanced: what it recognises in the queries themselves (Route 53 Resolver's
#: DnsThreatProtection), whatever the domain: generated domains and data tunnelled in names.
DNS_THREATS = ("DGA", "DICTIONARY_DGA", "DNS_TUNNELING")
#: How sure DNS Firewall Advanced must be before it blocks (LOW, MEDIUM or HIGH).
DNS_THREAT_CONFIDENCE = "HIGH"


@dataclass(frozen=True)
class HubProblem:
    """One thing wrong with a hub's settings.

    :param argument: the ``NetworkHub`` argument at fault (``egress_cidr``, ...); the
        config names its own field for it.
    :param index: the position in a list argument, when one item is at fault.
    :param message: what is wrong, without the argument's name.
    """

    argument: str
    message: str
    index: int | None = None


#: Each of the hub's subnets is a /28.
HUB_SUBNET_ADDRESSES = 16


def _special_range_problems(
    argument: str, network: ipaddress.IPv4Network, index: int | None = None
) -> list[HubProblem]:
    """A range no VPC can hold or route: link-local, multicast, loopback, reserved, or
    this-network (0.0.0.0/8)."""
    kinds = [
        ("link-local", network.is_link_local),
        ("multicast", network.is_multicast),
        ("loopback", network.is_loopback),
        ("reserved", network.is_reserved),
        ("this-network", network.subnet_of(ipaddress.IPv4Network("0.0.0.0/8"))),
    ]
    return [
        HubProblem(argument, f"{network} is a {kind} range, which no VPC can hold or route", index)
        for kind, special in kinds
        if special
    ][:1]


def _zone_list_problems(zones: list[str]) -> list[HubProblem]:
    """Two AZs at least, each once. (Their order is kept as given: the subnets, NAT
    gateways and firewalls are laid out by position, so a hub deployed with one order
    must keep it.)"""
    problems = []
    if len(zones) < 2:
        problems.append(
            HubProblem("availability_zones", "give at least 2 AZs (one AZ fails with its hub)")
        )
    for zone in sorted({z for z in zones if zones.count(z) > 1}):
        problems.append(
            HubProblem("availability_zones", f"{zone!r} is listed {zones.count(zone)} times")
        )
    return problems


def hub_problems(
    *,
    availability_zones: Sequence[str],
    egress_cidr: str,
    workload_cidrs: Sequence[str],
    firewall: bool,
    allowed_domains: Sequence[str],
) -> list[HubProblem]:
    """Every reason a network hub with these settings would not work (empty: it would)."""
    zones = list(availability_zones)
    problems = _zone_list_problems(zones)
    try:
        egress = ipaddress.IPv4Network(egress_cidr)
    except ValueError:
        return [*problems, HubProblem("egress_cidr", f"{egress_cidr!r} is not an IPv4 range")]
    if not 16 <= egress.prefixlen <= 24:
        problems.append(HubProblem("egress_cidr", f"must be a /16 to /24 range, got {egress_cidr}"))
    problems += _special_range_problems("egress_cidr", egress)
    # public, firewall (its addresses kept without it), transit: a /28 each in every AZ
    tiers = 3
    if tiers * len(zones) * HUB_SUBNET_ADDRESSES > egress.num_addresses:
        fit = egress.num_addresses // (tiers * HUB_SUBNET_ADDRESSES)
        problems.append(
            HubProblem(
                "availability_zones",
                f"{len(zones)} AZs; {egress_cidr} holds {tiers} /28 subnets in at most {fit} "
                "(give a larger egress range, or fewer AZs)",
            )
        )
    first: dict[ipaddress.IPv4Network, int] = {}
    for index, cidr in enumerate(workload_cidrs):
        try:
            network = ipaddress.IPv4Network(cidr)
        except ValueError:
            problems.append(HubProblem("workload_cidrs", f"{cidr!r} is not an IPv4 range", index))
            continue
        earlier = first.setdefault(network, index)
        if earlier != index:
            # one route per range: a second route to the same range is refused
            problems.append(
                HubProblem(
                    "workload_cidrs", f"{cidr} is listed twice (first at [{earlier}])", index
                )
            )
            continue
        special = _special_range_problems("workload_cidrs", network, index)
        if special:
            problems += special
            continue
        if network.overlaps(egress):
            problems.append(
                HubProblem(
                    "workload_cidrs",
                    f"{cidr} overlaps the egress range {egress_cidr}; return routes would be "
                    "ambiguous",
                    index,
                )
            )
    if not workload_cidrs:
        problems.append(HubProblem("workload_cidrs", "give at least one range"))
    if firewall and not allowed_domains:
        problems.append(
            HubProblem(
                "allowed_domains",
                "empty, so every flow out would be dropped; name the domains workloads need",
            )
        )
    if len(allowed_domains) > MAX_ALLOWED_DOMAINS:
        problems.append(
            HubProblem(
                "allowed_domains",
                f"{len(allowed_domains)} domains; at most {MAX_ALLOWED_DOMAINS} fit the "
                "allow-list's fixed capacity",
            )
        )
    return problems


#: How long the organisation's backup policy keeps each daily backup, and the least time
#: the member baseline's vault lock keeps a recovery point (SEC10-BP03): the same number,
#: so the lock refuses no backup the policy makes.
BACKUP_RETENTION_DAYS = 35


# --- incident response and forensics --------------------------------------------------------

#: The tags the incident responder may set: the case a resource belongs to, and (only on a
#: security group as it is created) quarantine.
CASE_TAG = "lz:incident-case"
QUARANTINE_TAG = "lz:quarantine"
#: The tag that marks a snapshot as evidence (its value: the case id). The guardrail
#: SCP-EVIDENCE-PROTECT keeps such a snapshot from being deleted, untagged, or shared with
#: anyone but the forensics account.
EVIDENCE_TAG = "lz:evidence"
#: The forensics account's isolated analysis VPC (no route out; overlaps do not matter).
FORENSICS_VPC_CIDR = "10.255.0.0/22"


#: What would let a public package stand in for an internal one in the kit's CodeArtifact
#: domain: origin controls, package groups, external connections and upstreams. The
#: domain policy and SCP-PACKAGES-ACCOUNT leave them to the landing zone's CloudFormation.
PACKAGE_ORIGIN_ACTIONS = (
    "codeartifact:AssociateExternalConnection",
    "codeartifact:CreatePackageGroup",
    "codeartifact:DeletePackageGroup",
    "codeartifact:DisassociateExternalConnection",
    "codeartifact:PutPackageOriginConfiguration",
    "codeartifact:UpdatePackageGroup",
    "codeartifact:UpdatePackageGroupOriginConfiguration",
    "codeartifact:UpdateRepository",
)
#: What would replace or remove the domain's and repositories' policies, or the domain.
#: CodeArtifact does not consult the domain policy for these: only an SCP binds them.
PACKAGE_POLICY_ACTIONS = (
    "codeartifact:DeleteDomain",
    "codeartifact:DeleteDomainPermissionsPolicy",
    "codeartifact:DeleteRepository",
    "codeartifact:DeleteRepositoryPermissionsPolicy",
    "codeartifact:PutDomainPermissionsPolicy",
    "codeartifact:PutRepositoryPermissionsPolicy",
)
