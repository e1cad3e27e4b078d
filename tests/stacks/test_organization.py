"""The Organization stack: OU tree, new accounts, and policy attachments."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.app import cdk_json_context
from baseline.config import parse_config
from baseline.controls import RETAINED
from baseline.landing_zone import LandingZone
from tests.conftest import Synthesized

WORKLOADS_OU = "ou-nw7k-w0rk10ad"  # exists already: the config gives its id
ROOT_ID = "r-nw7k"


def _resources(synthesized: Synthesized, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        lid: r
        for lid, r in synthesized.templates["Organization"]["Resources"].items()
        if r["Type"] == resource_type
    }


def test_stack_lives_in_the_management_account(synthesized: Synthesized) -> None:
    stack = synthesized.landing_zone.organization
    assert stack.account == "210987654321" and stack.region == "eu-west-1"
    assert stack.termination_protection

    # every other stack deploys after the organisation exists (directly or through another)
    def upstream(of: cdk.Stack) -> set[str]:
        found: set[str] = set()
        todo = list(of.dependencies)
        while todo:
            dependency = todo.pop()
            if dependency.artifact_id not in found:
                found.add(dependency.artifact_id)
                todo += dependency.dependencies
        return found

    for other in synthesized.landing_zone.stacks[1:]:
        assert stack.artifact_id in upstream(other), other.artifact_id


def test_ou_tree_matches_the_config(synthesized: Synthesized) -> None:
    ous = _resources(synthesized, "AWS::Organizations::OrganizationalUnit")
    by_lid = {lid: (r["Properties"]["Name"], r["Properties"]["ParentId"]) for lid, r in ous.items()}

    existing = {ou_id: path for path, ou_id in synthesized.config.ou_ids().items()}

    def path(lid: str) -> str:
        name, parent = by_lid[lid]
        if parent == ROOT_ID:
            return name
        if isinstance(parent, str):  # below an OU that exists already (referenced by id)
            return f"{existing[parent]}/{name}"
        return f"{path(parent['Fn::GetAtt'][0])}/{name}"

    # the OUs the config gives an id exist already: referenced, not created
    assert sorted([*(path(lid) for lid in by_lid), *existing.values()]) == sorted(
        synthesized.config.ou_paths()
    )
    assert existing == {"ou-nw7k-w0rk10ad": "Workloads"}
    for resource in ous.values():
        assert (
            resource["DeletionPolicy"] in RETAINED and resource["UpdateReplacePolicy"] == "Retain"
        )


def test_ou_ids_are_published_for_the_account_stacks(synthesized: Synthesized) -> None:
    from baseline import naming

    parameters = {
        r["Properties"]["Name"]: r["Properties"]["Value"]
        for r in _resources(synthesized, "AWS::SSM::Parameter").values()
    }
    assert parameters[naming.ou_id_parameter("nwl", "Root")] == ROOT_ID
    assert parameters[naming.ou_id_parameter("nwl", "Workloads/Prod")] == {
        "Fn::GetAtt": ["OuWorkloadsProd", "Id"]
    }
    assert len(parameters) == 1 + len(synthesized.config.ou_paths())


def test_policies_attach_where_the_library_says(synthesized: Synthesized) -> None:
    policies = _resources(synthesized, "AWS::Organizations::Policy")
    targets = {r["Properties"]["Name"]: r["Properties"]["TargetIds"] for r in policies.values()}
    guardrails = {
        r["Properties"]["Name"]: r["Properties"]["Description"] for r in policies.values()
    }

    def attached(guardrail_id: str) -> list[Any]:
        return [t for name, ts in targets.items() if guardrail_id in guardrails[name] for t in ts]

    assert targets["nwl-scp-root-1"] == [ROOT_ID]
    assert targets["nwl-rcp-root-1"] == [ROOT_ID]
    assert attached("SCP-NETWORK-OWNED") == [WORKLOADS_OU]
    assert attached("SCP-SUSPENDED") == [{"Fn::GetAtt": ["OuSuspended", "Id"]}]
    assert attached("SCP-SANDBOX-LIMITS") == [{"Fn::GetAtt": ["OuSandbox", "Id"]}]
    assert attached("SCP-ROOT-USER") == [ROOT_ID]
    assert targets["nwl-ec2-no-internet-gateways"] == [WORKLOADS_OU]
    types = {r["Properties"]["Type"] for r in policies.values()}
    assert types == {
        "SERVICE_CONTROL_POLICY",
        "RESOURCE_CONTROL_POLICY",
        "DECLARATIVE_POLICY_EC2",
        "TAG_POLICY",
        "AISERVICES_OPT_OUT_POLICY",
        "BACKUP_POLICY",
    }


def test_policy_contents_are_the_packed_documents(synthesized: Synthesized) -> None:
    from baseline.guardrails import packed_policies

    policies = {
        r["Properties"]["Name"]: r
        for r in _resources(synthesized, "AWS::Organizations::Policy").values()
    }
    for packed in packed_policies(synthesized.config):
        content = policies[packed.name]["Properties"]["Content"]
        assert json.dumps(content, separators=(",", ":")) == packed.content


def test_declarative_policy_locks_imdsv2_and_sharing(synthesized: Synthesized) -> None:
    policies = {
        r["Properties"]["Name"]: r
        for r in _resources(synthesized, "AWS::Organizations::Policy").values()
    }
    attributes = policies["nwl-ec2-baseline"]["Properties"]["Content"]["ec2_attributes"]
    assert attributes["instance_metadata_defaults"]["http_tokens"] == {
        "@@assign": "required",
        "@@operators_allowed_for_child_policies": ["@@none"],
    }
    assert attributes["snapshot_block_public_access"]["state"]["@@assign"] == "block_all_sharing"
    assert attributes["image_block_public_access"]["state"]["@@assign"] == "block_new_sharing"
    ai = policies["nwl-ai-opt-out"]["Properties"]["Content"]
    assert ai["services"]["default"]["opt_out_policy"]["@@assign"] == "optOut"
    assert ai["services"]["@@operators_allowed_for_child_policies"] == ["@@none"]


@pytest.fixture
def greenfield(example_data: dict[str, Any]) -> LandingZone:
    data = copy.deepcopy(example_data)
    data["organization"] = {"name": "Greenfield", "prefix": "gf", "create": True}
    for account in data["accounts"]:
        if account.get("role") != "management":
            account.pop("id", None)
    app = cdk.App(context=cdk_json_context())
    return LandingZone(app, "LandingZone", config=parse_config(data))


def test_greenfield_creates_the_organisation_and_its_accounts_first(
    greenfield: LandingZone,
) -> None:
    ids = [s.artifact_id for s in greenfield.stacks]
    assert ids[0] == "Organization"
    assert all(i.startswith("Accounts") for i in ids[1:])  # nothing else until phase 2
    template = assertions.Template.from_stack(greenfield.organization)
    template.has_resource(
        "AWS::Organizations::Organization",
        {"Properties": {"FeatureSet": "ALL"}, "DeletionPolicy": "Retain"},
    )
    template.has_resource_properties(
        "AWS::Organizations::OrganizationalUnit",
        {"Name": "Security", "ParentId": {"Fn::GetAtt": ["Organization", "RootId"]}},
    )
    # an account named as an image provider has no id in phase 1: the policy would be
    # refused with its name in it, so it waits for the account
    providers = _ec2_baseline(template.to_json(), "gf")["image_criteria"]["criteria_1"]
    assert providers["allowed_image_providers"]["@@assign"] == ["amazon", "aws_backup_vault"]
    # the perimeter needs the organisation id, so RCPs wait for the second phase
    assert not template.find_resources(
        "AWS::Organizations::Policy", {"Properties": {"Type": "RESOURCE_CONTROL_POLICY"}}
    )
    created = sum(
        len(assertions.Template.from_stack(s).find_resources("AWS::Organizations::Account"))
        for s in greenfield.accounts
    )
    assert created == 10


def test_fails_existing_organisation_without_ids(example_data: dict[str, Any]) -> None:
    from baseline.config import ConfigError

    data = copy.deepcopy(example_data)
    del data["organization"]["id"]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert (
        "organization.id: required for an existing organisation (set create: true to create one)"
        in caught.value.problems
    )


def test_an_existing_ou_is_referenced_not_created(variant: LandingZone) -> None:
    template = assertions.Template.from_stack(variant.organization)
    names = [
        r["Properties"]["Name"]
        for r in template.find_resources("AWS::Organizations::OrganizationalUnit").values()
    ]
    assert "Workloads" not in names
    template.has_resource_properties(
        "AWS::Organizations::OrganizationalUnit", {"Name": "Prod", "ParentId": "ou-nw7k-workload1"}
    )
    template.has_resource_properties(
        "AWS::Organizations::Policy",
        {
            "Description": (
                "Guardrails: SCP-EVIDENCE-PROTECT, SCP-NETWORK-OWNED, SCP-PERMISSIONS-BOUNDARY"
            ),
            "TargetIds": ["ou-nw7k-workload1"],
        },
    )


def test_security_hub_is_designated_in_every_governed_region(synthesized: Synthesized) -> None:
    """Designating the administrator enables Security Hub in the audit account in that region.

    AWS documents that designation enables Security Hub for the delegated administrator in
    the current region, and that central configuration (the SecurityTooling stack of the home
    region) enables it in every linked region, so no stack enables it separately; what must
    hold is the designation in every governed region, before the SecurityTooling stacks.
    """
    template = synthesized.templates["Organization"]
    (settings,) = [
        r for r in template["Resources"].values() if r["Type"] == "Custom::OrganizationSettings"
    ]
    admins = settings["Properties"]["ServiceAdministrators"]
    assert admins["AccountId"] == "423456789012"
    assert "securityhub" in admins["Services"]
    assert admins["Regions"] == ["eu-west-1", "eu-central-1", "us-east-1"]
    for tooling in synthesized.landing_zone.security_tooling:
        assert synthesized.landing_zone.organization in tooling.dependencies


def _ec2_baseline(template: dict[str, Any], prefix: str = "nwl") -> dict[str, Any]:
    (policy,) = [
        r["Properties"]["Content"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Organizations::Policy"
        and r["Properties"]["Name"] == f"{prefix}-ec2-baseline"
    ]
    settings: dict[str, Any] = policy["ec2_attributes"]["allowed_images_settings"]
    return settings


def test_images_come_only_from_amazon_backup_and_the_image_factory(
    synthesized: Synthesized,
) -> None:
    settings = _ec2_baseline(synthesized.templates["Organization"])
    assert settings["state"]["@@assign"] == "enabled"
    assert settings["state"]["@@operators_allowed_for_child_policies"] == ["@@none"]
    providers = settings["image_criteria"]["criteria_1"]["allowed_image_providers"]
    assert providers["@@assign"] == ["amazon", "aws_backup_vault", "645678901234"]


def test_images_in_audit_mode_warn_at_synth(example_data: dict[str, Any]) -> None:
    from baseline.stacks.organization import OrganizationStack, OrganizationStackSettings

    data = copy.deepcopy(example_data)
    data["guardrails"]["allowed_images"]["mode"] = "audit_mode"
    app = cdk.App(context=cdk_json_context())  # the Organization stack alone: one small synth
    organization = OrganizationStack(
        app,
        "Organization",
        settings=OrganizationStackSettings.from_config(parse_config(data)),
        env=cdk.Environment(account="210987654321", region="eu-west-1"),
    )
    warnings = assertions.Annotations.from_stack(organization).find_warning(
        "*", assertions.Match.string_like_regexp("AllowedImagesAuditOnly")
    )
    assert warnings
    template = assertions.Template.from_stack(organization).to_json()
    assert _ec2_baseline(template)["state"]["@@assign"] == "audit_mode"


def test_fails_on_an_unknown_image_provider(example_data: dict[str, Any]) -> None:
    from baseline.config import ConfigError

    data = copy.deepcopy(example_data)
    data["guardrails"]["allowed_images"]["providers"] = ["image-factory"]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert (
        "guardrails.allowed_images.providers[0]: 'image-factory' is not aws_marketplace, a "
        "12-digit account id or an account of the config" in caught.value.problems
    )


def test_fails_a_new_account_placed_directly_in_the_root(example_data: dict[str, Any]) -> None:
    """Its policy target would be its id, which it does not have yet: refused by the config,
    with its field, rather than a traceback from the synth."""
    from baseline.config import ConfigError

    data = copy.deepcopy(example_data)
    data["accounts"].append({"name": "tools", "email": "tools@example.com", "ou": "Root"})
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    (problem,) = caught.value.problems
    assert problem.startswith(
        f"accounts[{len(data['accounts']) - 1}] (tools).ou: a new account cannot be placed "
        "directly in the root"
    )
    # without the evidence guardrail below the root, nothing targets it by its id
    from baseline.guardrails import packed_policies

    disabled = copy.deepcopy(data)
    disabled["guardrails"]["disabled"] = ["SCP-EVIDENCE-PROTECT"]
    assert all("tools" not in p.targets for p in packed_policies(parse_config(disabled)))


def test_an_account_in_the_root_with_its_id_is_a_target_of_its_own(variant: LandingZone) -> None:
    """The variant's ``tools`` account (777788889999) sits directly in the root."""
    targets = [
        r["Properties"]["TargetIds"]
        for r in assertions.Template.from_stack(variant.organization)
        .find_resources("AWS::Organizations::Policy")
        .values()
    ]
    assert any("777788889999" in t for t in targets)


def test_guardrail_policies_change_one_after_the_other(synthesized: Synthesized) -> None:
    """In the packer's order of targets: a policy that drops a target (shared policies of
    0.2.0) lets go of it before that target's own policy is created and attached, so no
    target holds more than five at once; Organizations also refuses concurrent changes."""
    from baseline.guardrails import packed_policies
    from baseline.naming import logical_id

    resources = synthesized.templates["Organization"]["Resources"]
    ids = {
        r["Properties"]["Name"]: k
        for k, r in resources.items()
        if r["Type"] == "AWS::Organizations::Policy"
    }
    order = [ids[p.name] for p in packed_policies(synthesized.config)]
    assert len(order) > 5
    for earlier, later in itertools.pairwise(order):
        assert earlier in resources[later]["DependsOn"], later
    assert all(k.startswith("Policy" + logical_id("nwl")) for k in order)
