"""Network: the hub in the network account, in every governed region, wired by name."""

from __future__ import annotations

import json
from typing import Any

from baseline import naming
from tests.conftest import Synthesized

NETWORK = "534567890123"
MANAGEMENT = "210987654321"
WORKLOADS_OU = f"arn:aws:organizations::{MANAGEMENT}:ou/o-nw7k2m9q4x/ou-nw7k-w0rk10ad"


def _of_type(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_one_hub_per_governed_region_in_the_network_account(synthesized: Synthesized) -> None:
    hubs = synthesized.landing_zone.network
    assert [h.region for h in hubs] == synthesized.config.governed_regions
    for hub in hubs:
        assert hub.account == NETWORK
        assert hub.termination_protection
        # RAM sharing in the organisation and the log bucket exist first
        assert synthesized.landing_zone.organization in hub.dependencies
        assert synthesized.landing_zone.log_archive in hub.dependencies


def test_every_hub_logs_to_the_home_region_archive(synthesized: Synthesized) -> None:
    bucket = naming.log_bucket("nwl", "312345678901", "eu-west-1")
    for region in synthesized.config.governed_regions:
        template = synthesized.templates[f"Network-{region}"]
        for config in _of_type(template, "AWS::NetworkFirewall::LoggingConfiguration"):
            destinations = config["Properties"]["LoggingConfiguration"]["LogDestinationConfigs"]
            assert {d["LogDestination"]["bucketName"] for d in destinations} == {bucket}
        (query_logging,) = _of_type(template, "AWS::Route53Resolver::ResolverQueryLoggingConfig")
        assert query_logging["Properties"]["DestinationArn"] == f"arn:aws:s3:::{bucket}"


def test_shared_with_the_workload_ous_through_ram(synthesized: Synthesized) -> None:
    for region in synthesized.config.governed_regions:
        template = synthesized.templates[f"Network-{region}"]
        (share,) = _of_type(template, "AWS::RAM::ResourceShare")
        assert share["Properties"]["Principals"] == [WORKLOADS_OU]
        assert share["Properties"]["AllowExternalPrincipals"] is False
        names = sorted(p["Properties"]["Name"] for p in _of_type(template, "AWS::SSM::Parameter"))
        assert names == [
            "/nwl/network/dns-firewall-rule-group-id",
            "/nwl/network/query-log-config-id",
            "/nwl/network/transit-gateway-id",
        ]
        arn = naming.network_parameter_arn("nwl", NETWORK, region, "transit-gateway-id")
        assert arn in share["Properties"]["ResourceArns"]


def test_the_firewall_allows_the_configured_domains(synthesized: Synthesized) -> None:
    template = synthesized.templates["Network-us-east-1"]
    (allow_list,) = [
        g
        for g in _of_type(template, "AWS::NetworkFirewall::RuleGroup")
        if "RulesSourceList" in g["Properties"]["RuleGroup"]["RulesSource"]
    ]
    targets = allow_list["Properties"]["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]
    assert targets == synthesized.config.network.firewall.allowed_domains
    zones = {
        f["Properties"]["SubnetMappings"][0]["SubnetId"]["Ref"]
        for f in _of_type(template, "AWS::NetworkFirewall::Firewall")
    }
    assert len(zones) == 2


def test_the_network_owned_guardrail_leaves_hub_attachments_to_workloads(
    synthesized: Synthesized,
) -> None:
    """Workload accounts may attach to the shared gateway, never build their own way out."""
    policies = [
        r["Properties"]
        for r in synthesized.templates["Organization"]["Resources"].values()
        if r["Type"] == "AWS::Organizations::Policy"
    ]
    denied = " ".join(str(p["Content"]) for p in policies if "-scp-workloads-" in p["Name"])
    assert "ec2:CreateInternetGateway" in denied and "ec2:CreateTransitGateway" in denied
    assert "ec2:CreateTransitGatewayVpcAttachment" not in denied


def test_the_organization_turns_ram_sharing_on_for_the_hub(synthesized: Synthesized) -> None:
    resources = synthesized.templates["Organization"]["Resources"]
    (settings,) = [r for r in resources.values() if r["Type"] == "Custom::OrganizationSettings"]
    assert settings["Properties"]["RamSharing"] == "true"
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    (enable,) = [s for s in statements if s.get("Sid") == "EnableRamSharingWithTheOrganization"]
    assert enable["Action"] == "ram:EnableSharingWithAwsOrganization"
    (role,) = [s for s in statements if s.get("Sid") == "CreateRamServiceLinkedRole"]
    assert role["Resource"].endswith("/ram.amazonaws.com/AWSServiceRoleForResourceAccessManager")


def test_the_app_needs_no_aws_lookups_at_synth(synthesized: Synthesized) -> None:
    """A missing context value makes `cdk synth` call AWS with credentials, and fail without.

    The hub's VPC checks its AZs against the stack's; the config's AZs answer that.
    """
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest, manifest.get("missing")


def test_the_hub_guardrail_names_what_the_hub_creates(synthesized: Synthesized) -> None:
    """SCP-NETWORK-HUB-PROTECT matches the hub by name: the names must keep matching."""
    from fnmatch import fnmatch

    from baseline.guardrails.scps import GuardrailContext, scp_library

    context = GuardrailContext(
        prefix="nwl",
        organization_id="o-nw7k2m9q4x",
        governed_regions=("eu-west-1",),
        workload_ous=(),
        sandbox_ous=(),
        suspended_ous=(),
        network_hub=True,
    )
    library = {g.id: g for g in scp_library(context)}
    statements = {s["Sid"]: s for s in library["SCP-NETWORK-HUB-PROTECT"].statements}
    firewall_patterns = statements["ProtectHubFirewalls"]["Resource"]
    exempt = statements["ProtectHubRoutingAndDns"]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    (role_pattern,) = [p for p in exempt if p.endswith("-network-hub")]
    # nobody else may pass or assume the hub function's role
    protect = {s["Sid"]: s for s in library["SCP-BASELINE-PROTECT"].statements}
    assert role_pattern in protect["ProtectExemptRoles"]["Resource"]
    for region in synthesized.config.governed_regions:
        template = synthesized.templates[f"Network-{region}"]
        named = (
            [
                ("firewall", r["Properties"]["FirewallName"])
                for r in _of_type(template, "AWS::NetworkFirewall::Firewall")
            ]
            + [
                ("firewall-policy", r["Properties"]["FirewallPolicyName"])
                for r in _of_type(template, "AWS::NetworkFirewall::FirewallPolicy")
            ]
            + [
                ("stateful-rulegroup", r["Properties"]["RuleGroupName"])
                for r in _of_type(template, "AWS::NetworkFirewall::RuleGroup")
            ]
        )
        for kind, name in named:
            arn = f"arn:aws:network-firewall:{region}:{NETWORK}:{kind}/{name}"
            assert any(fnmatch(arn, p) for p in firewall_patterns), arn
        roles = [
            r["Properties"]["RoleName"]
            for r in _of_type(template, "AWS::IAM::Role")
            if "RoleName" in r["Properties"]
        ]
        hub_roles = [n for n in roles if fnmatch(f"arn:aws:iam::{NETWORK}:role/{n}", role_pattern)]
        assert hub_roles == [f"nwl-hub-{region}-network-hub"]
