"""The package repositories: one CodeArtifact domain in the shared-services account, which
only the organisation reads, only the publishers write, and whose internal names never come
from a public source; and the config's ``packages`` refused when it cannot be built."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import aws_cdk as cdk
import pytest

from baseline.config import ConfigError, parse_config
from baseline.stacks.packages import (
    ORIGIN_ACTIONS,
    PUBLISH_ACTIONS,
    PackagesSettings,
    PackagesStack,
)
from tests.conftest import Synthesized

SHARED = "645678901234"
ORG = "o-nw7k2m9q4x"


def _of_type(synthesized: Synthesized, kind: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in synthesized.templates["Packages"]["Resources"].values()
        if r["Type"] == kind
    ]


def _domain_policy(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    (domain,) = _of_type(synthesized, "AWS::CodeArtifact::Domain")
    return {s["Sid"]: s for s in domain["PermissionsPolicyDocument"]["Statement"]}


def test_it_deploys_in_the_shared_services_account_after_the_organisation(
    synthesized: Synthesized,
) -> None:
    stack = next(s for s in synthesized.landing_zone.stacks if s.artifact_id == "Packages")
    assert (stack.account, stack.region, stack.stack_name) == (SHARED, "eu-west-1", "nwl-packages")
    assert {d.artifact_id for d in stack.dependencies} == {"Organization"}


def test_the_domain_is_encrypted_under_its_own_key_and_kept(synthesized: Synthesized) -> None:
    resources = synthesized.templates["Packages"]["Resources"]
    (domain,) = [r for r in resources.values() if r["Type"] == "AWS::CodeArtifact::Domain"]
    assert domain["Properties"]["DomainName"] == "nwl"
    key_id = domain["Properties"]["EncryptionKey"]["Fn::GetAtt"][0]
    assert resources[key_id]["Type"] == "AWS::KMS::Key"
    assert (domain["DeletionPolicy"], domain["UpdateReplacePolicy"]) == ("Retain", "Retain")
    aliases = [a["AliasName"] for a in _of_type(synthesized, "AWS::KMS::Alias")]
    assert aliases == ["alias/nwl/codeartifact"]


def test_only_the_organisation_gets_tokens(synthesized: Synthesized) -> None:
    tokens = _domain_policy(synthesized)["OrganizationGetsTokens"]
    assert tokens["Effect"] == "Allow"
    assert "codeartifact:GetAuthorizationToken" in tokens["Action"]
    assert tokens["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}


def test_only_the_publishers_put_package_versions_into_the_domain(
    synthesized: Synthesized,
) -> None:
    deny = _domain_policy(synthesized)["OnlyThePublishersPublish"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(deny["Action"]) == set(PUBLISH_ACTIONS)
    assert deny["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{SHARED}:role/package-release-*"]}
    }


def test_only_internal_names_go_into_the_internal_repository(synthesized: Synthesized) -> None:
    deny = _domain_policy(synthesized)["OnlyInternalNamesArePublished"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(deny["Action"]) == set(PUBLISH_ACTIONS) and "Condition" not in deny
    packages = f"arn:aws:codeartifact:eu-west-1:{SHARED}:package/nwl/internal"
    assert deny["NotResource"] == [f"{packages}/pypi//northwind-*", f"{packages}/npm/northwind/*"]


def test_origin_controls_change_only_through_cloudformation(synthesized: Synthesized) -> None:
    deny = _domain_policy(synthesized)["OriginControlsOnlyThroughCloudFormation"]
    assert deny["Effect"] == "Deny" and set(deny["Action"]) == set(ORIGIN_ACTIONS)
    # upstreams and external connections are origins too
    assert {"codeartifact:UpdateRepository", "codeartifact:DisassociateExternalConnection"} <= set(
        ORIGIN_ACTIONS
    )
    assert deny["Condition"] == {
        "ArnNotLike": {
            "aws:PrincipalArn": f"arn:aws:iam::{SHARED}:role/cdk-lzbaseline-cfn-exec-role-{SHARED}-*"
        }
    }


def test_one_store_per_source_and_the_internal_repository_above_them(
    synthesized: Synthesized,
) -> None:
    repositories = {
        r["RepositoryName"]: r for r in _of_type(synthesized, "AWS::CodeArtifact::Repository")
    }
    assert set(repositories) == {"pypi-store", "npm-store", "internal"}
    assert repositories["pypi-store"]["ExternalConnections"] == ["public:pypi"]
    assert repositories["npm-store"]["ExternalConnections"] == ["public:npmjs"]
    # nobody outside the account calls a store: no policy of its own
    assert "PermissionsPolicyDocument" not in repositories["pypi-store"]
    assert "PermissionsPolicyDocument" not in repositories["npm-store"]
    internal = repositories["internal"]
    assert [u["Fn::GetAtt"][0] for u in internal["Upstreams"]] == ["PypiStore", "NpmStore"]
    statements = {s["Sid"]: s for s in internal["PermissionsPolicyDocument"]["Statement"]}
    assert statements["OrganizationReads"]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": ORG}
    }
    assert "codeartifact:PublishPackageVersion" not in statements["OrganizationReads"]["Action"]
    assert statements["PublishersPublish"]["Condition"]["ArnLike"] == {
        "aws:PrincipalArn": [f"arn:aws:iam::{SHARED}:role/package-release-*"]
    }


def test_internal_names_never_come_from_a_public_source(synthesized: Synthesized) -> None:
    groups = {g["Pattern"]: g for g in _of_type(synthesized, "AWS::CodeArtifact::PackageGroup")}
    assert set(groups) == {"/pypi//northwind-~", "/npm/northwind/*"}
    for group in groups.values():
        restrictions = group["OriginConfiguration"]["Restrictions"]
        assert restrictions["ExternalUpstream"] == {"RestrictionMode": "BLOCK"}
        assert restrictions["Publish"]["RestrictionMode"] == "ALLOW_SPECIFIC_REPOSITORIES"
        assert restrictions["Publish"]["Repositories"] == [{"Fn::GetAtt": ["Internal", "Name"]}]


def test_a_groups_logical_id_follows_its_name_not_its_place(
    synthesized: Synthesized, example_config: Any
) -> None:
    """A group's pattern is create-only and names it in its domain: a group re-keyed by a
    name added before it would be replaced by one whose pattern the old still holds, and
    the update would fail."""
    resources = synthesized.templates["Packages"]["Resources"]
    by_id = {
        logical_id: r["Properties"]["Pattern"]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::CodeArtifact::PackageGroup"
    }
    assert sorted(by_id.values()) == ["/npm/northwind/*", "/pypi//northwind-~"]
    assert {i[:-8] for i in by_id} == {"InternalNamesPythonnorthwind", "InternalNamesNpmnorthwind"}
    settings = PackagesSettings.from_config(example_config)
    assert settings is not None
    more = dataclasses.replace(
        settings,
        python_prefixes=("contoso-", *settings.python_prefixes, "northwind"),
        npm_scopes=(*settings.npm_scopes, "@contoso"),
    )
    for construct_id, pattern in settings.groups.items():
        assert more.groups[construct_id] == pattern
    assert len(set(more.groups.values())) == len(more.groups) == 5
    stack = PackagesStack(cdk.App(), "Packages", settings=more)
    logical_ids = {stack.get_logical_id(g) for g in stack.groups}
    assert len(logical_ids) == 5  # "northwind" and "northwind-" are two resources


def test_without_publishers_nobody_publishes(example_config: Any) -> None:
    settings = PackagesSettings.from_config(example_config)
    assert settings is not None
    app = cdk.App()
    stack = PackagesStack(
        app,
        "Packages",
        settings=dataclasses.replace(settings, publishers=()),
        env=cdk.Environment(account=SHARED, region="eu-west-1"),
    )
    template = app.synth().get_stack_by_name(stack.stack_name).template
    resources = template["Resources"]
    (domain,) = [r for r in resources.values() if r["Type"] == "AWS::CodeArtifact::Domain"]
    statements = {
        s["Sid"]: s for s in domain["Properties"]["PermissionsPolicyDocument"]["Statement"]
    }
    assert "Condition" not in statements["OnlyThePublishersPublish"]  # a deny for everyone
    (internal,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CodeArtifact::Repository"
        and r["Properties"]["RepositoryName"] == "internal"
    ]
    sids = [s["Sid"] for s in internal["PermissionsPolicyDocument"]["Statement"]]
    assert sids == ["OrganizationReads"]


# --- the config ------------------------------------------------------------------------


def _problems(config_data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    return caught.value.problems


def test_packages_need_the_shared_services_account(config_data: dict[str, Any]) -> None:
    for account in config_data["accounts"]:
        if account.get("role") == "shared_services":
            account["role"] = "workload"
    assert any(
        p.startswith("packages: the package repositories live") for p in _problems(config_data)
    )


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("internal_python_prefixes", ["Northwind_"], "normalized Python name prefix"),
        ("internal_python_prefixes", ["northwind--"], "normalized Python name prefix"),
        ("internal_npm_scopes", ["northwind"], "npm scope like '@northwind'"),
        ("publishers", ["arn:aws:iam::*:role/x"], "must be a role ARN"),
        ("domain", "Bad_Domain", "2-50 lower-case letters"),
        ("upstreams", ["maven"], "packages.upstreams"),
    ],
)
def test_bad_package_settings_are_refused_by_field(
    config_data: dict[str, Any], field: str, value: Any, says: str
) -> None:
    data = copy.deepcopy(config_data)
    data["packages"][field] = value
    problems = _problems(data)
    assert any(p.startswith(f"packages.{field}") and says in p for p in problems), problems


def test_repeated_internal_names_are_refused(config_data: dict[str, Any]) -> None:
    config_data["packages"]["internal_npm_scopes"] = ["@northwind", "@northwind"]
    assert "packages.internal_npm_scopes: @northwind given more than once" in _problems(config_data)


def test_no_packages_section_no_stack(config_data: dict[str, Any]) -> None:
    del config_data["packages"]
    assert PackagesSettings.from_config(parse_config(config_data)) is None


def test_packages_without_internal_names_are_refused(config_data: dict[str, Any]) -> None:
    config_data["packages"]["internal_python_prefixes"] = []
    config_data["packages"]["internal_npm_scopes"] = []
    assert any("dependency confusion" in p for p in _problems(config_data))
