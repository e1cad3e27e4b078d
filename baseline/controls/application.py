"""Application security controls: packages through one governed place, which only the
organisation reads, only named roles publish to, and public sources cannot impersonate."""

from __future__ import annotations

import re
from typing import Any

from baseline.controls.model import (
    Control,
    Evidence,
    Templates,
    as_list,
    control,
    properties,
    resources,
    retained,
)
from baseline.naming import PACKAGE_INTERNAL_REPOSITORY

CONTROLS: list[Control] = []

_PUBLISH = {"codeartifact:PublishPackageVersion", "codeartifact:CopyPackageVersions"}


def _allows_outside_the_organisation(policy: dict[str, Any]) -> list[str]:
    """Allow statements of a CodeArtifact policy that no aws:PrincipalOrgID condition binds."""
    loose = []
    for statement in as_list(policy.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        org = statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID")
        if not org:
            loose.append(str(statement.get("Sid", "?")))
    return loose


#: A publisher names one account and a role name (or a prefix of one), never all roles.
_PUBLISHER = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+\*?$")


def _denies_publishing(statement: dict[str, Any]) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ({"AWS": "*"}, "*")
        and set(as_list(statement.get("Action", []))) >= _PUBLISH
    )


def _publish_denied_to_all_but_publishers(policy: dict[str, Any]) -> bool:
    """A deny of publishing to everyone, or to everyone but named roles."""
    for statement in as_list(policy.get("Statement", [])):
        if not _denies_publishing(statement) or "Resource" not in statement:
            continue
        condition = statement.get("Condition", {})
        if not condition:
            return True  # nobody publishes
        publishers = as_list(condition.get("ArnNotLike", {}).get("aws:PrincipalArn", []))
        if (
            set(condition) == {"ArnNotLike"}
            and publishers
            and all(_PUBLISHER.match(str(arn)) for arn in publishers)
        ):
            return True
    return False


def _only_internal_names_published(policy: dict[str, Any]) -> bool:
    """A deny of publishing, to everyone, of anything outside the internal repository."""
    for statement in as_list(policy.get("Statement", [])):
        allowed = as_list(statement.get("NotResource", []))
        if (
            _denies_publishing(statement)
            and not statement.get("Condition")
            and all(f"/{PACKAGE_INTERNAL_REPOSITORY}/" in str(arn) for arn in allowed)
        ):
            return True
    return False


@control(
    CONTROLS,
    id="LZ-APP-01",
    title="Packages come from one CodeArtifact domain; internal names never from upstream",
    explanation=(
        "Every CodeArtifact domain is encrypted with a customer-managed key, is kept on "
        "deletion and replacement, and its policy denies publishing and copying package "
        "versions to every principal but named roles, and to everyone outside the internal "
        "repository; every Allow of a domain or repository policy "
        "is bound to the organisation (aws:PrincipalOrgID); and at least one package group "
        "blocks the external upstreams and lets package versions be published only to "
        "named repositories (dependency confusion)."
    ),
    best_practices=("SEC11-BP05", "SEC06-BP04", "SEC03-BP08"),
    implemented_by="baseline.stacks.packages.PackagesStack",
    applies_to="packages",
)
def check_package_repositories(templates: Templates) -> Evidence:
    """Each domain and each repository policy as evidence, with the package groups that
    block the public sources; a domain without one such group is a violation."""
    evidence = Evidence()
    domains = list(resources(templates, "AWS::CodeArtifact::Domain"))
    for name, domain in domains:
        props = properties(domain)
        policy = props.get("PermissionsPolicyDocument", {})
        evidence.record(
            name,
            bool(props.get("EncryptionKey"))
            and retained(domain)
            and _publish_denied_to_all_but_publishers(policy)
            and _only_internal_names_published(policy)
            and not _allows_outside_the_organisation(policy),
        )
    for name, repository in resources(templates, "AWS::CodeArtifact::Repository"):
        policy = properties(repository).get("PermissionsPolicyDocument")
        if policy is not None:
            evidence.record(name, not _allows_outside_the_organisation(policy))
    groups = [
        name
        for name, group in resources(templates, "AWS::CodeArtifact::PackageGroup")
        if _blocks_upstream(properties(group))
    ]
    if domains and not groups:
        evidence.violations.append("no package group blocks the external upstreams")
    evidence.found += groups
    return evidence


def _blocks_upstream(props: dict[str, Any]) -> bool:
    restrictions = props.get("OriginConfiguration", {}).get("Restrictions", {})
    publish = restrictions.get("Publish", {})
    return bool(
        restrictions.get("ExternalUpstream", {}).get("RestrictionMode") == "BLOCK"
        and publish.get("RestrictionMode") == "ALLOW_SPECIFIC_REPOSITORIES"
        and publish.get("Repositories")
    )
