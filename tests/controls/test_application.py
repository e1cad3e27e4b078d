"""Application security controls (baseline/controls/application.py): each fails once its
property is removed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Synthesized
from tests.controls.helpers import MutableTemplates, Weakening, assert_weakening_breaks


def _of_type(t: MutableTemplates, resource_type: str) -> list[dict[str, Any]]:
    return [r for r in t["Packages"]["Resources"].values() if r["Type"] == resource_type]


def _domain(t: MutableTemplates) -> dict[str, Any]:
    (domain,) = _of_type(t, "AWS::CodeArtifact::Domain")
    return domain


def _domain_statements(t: MutableTemplates) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = _domain(t)["Properties"]["PermissionsPolicyDocument"][
        "Statement"
    ]
    return statements


def _let_upstream_in(t: MutableTemplates) -> None:
    for group in _of_type(t, "AWS::CodeArtifact::PackageGroup"):
        restrictions = group["Properties"]["OriginConfiguration"]["Restrictions"]
        restrictions["ExternalUpstream"]["RestrictionMode"] = "ALLOW"


WEAKENINGS: dict[str, Weakening] = {
    "LZ-APP-01": _let_upstream_in,
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_on_a_domain_under_the_aws_managed_key(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-APP-01", lambda t: _domain(t)["Properties"].pop("EncryptionKey"), synthesized
    )


def test_fails_on_a_domain_lost_with_its_stack(synthesized: Synthesized) -> None:
    assert_weakening_breaks("LZ-APP-01", lambda t: _domain(t).pop("DeletionPolicy"), synthesized)


def test_fails_when_anyone_may_publish(synthesized: Synthesized) -> None:
    def drop_the_publish_deny(t: MutableTemplates) -> None:
        statements = _domain_statements(t)
        statements[:] = [s for s in statements if s.get("Sid") != "OnlyThePublishersPublish"]

    assert_weakening_breaks("LZ-APP-01", drop_the_publish_deny, synthesized)


@pytest.mark.parametrize("where", ["domain", "repository"])
def test_fails_when_a_policy_admits_principals_outside_the_organisation(
    where: str, synthesized: Synthesized
) -> None:
    def unbind(t: MutableTemplates) -> None:
        if where == "domain":
            statements = _domain_statements(t)
        else:
            (internal,) = [
                r
                for r in _of_type(t, "AWS::CodeArtifact::Repository")
                if "PermissionsPolicyDocument" in r["Properties"]
            ]
            statements = internal["Properties"]["PermissionsPolicyDocument"]["Statement"]
        allow = next(s for s in statements if s["Effect"] == "Allow")
        allow.pop("Condition")

    assert_weakening_breaks("LZ-APP-01", unbind, synthesized)


def test_fails_when_internal_names_may_be_published_anywhere(synthesized: Synthesized) -> None:
    def publish_anywhere(t: MutableTemplates) -> None:
        for group in _of_type(t, "AWS::CodeArtifact::PackageGroup"):
            group["Properties"]["OriginConfiguration"]["Restrictions"]["Publish"] = {
                "RestrictionMode": "ALLOW"
            }

    assert_weakening_breaks("LZ-APP-01", publish_anywhere, synthesized)


@pytest.mark.parametrize("publishers", [["*"], ["arn:aws:iam::*:role/*"], []])
def test_fails_when_the_publish_deny_exempts_everyone(
    publishers: list[str], synthesized: Synthesized
) -> None:
    def exempt(t: MutableTemplates) -> None:
        deny = next(s for s in _domain_statements(t) if s["Sid"] == "OnlyThePublishersPublish")
        deny["Condition"] = {"ArnNotLike": {"aws:PrincipalArn": publishers}}

    assert_weakening_breaks("LZ-APP-01", exempt, synthesized)


def test_fails_when_any_name_may_be_published(synthesized: Synthesized) -> None:
    def any_name(t: MutableTemplates) -> None:
        statements = _domain_statements(t)
        statements[:] = [s for s in statements if s.get("Sid") != "OnlyInternalNamesArePublished"]

    assert_weakening_breaks("LZ-APP-01", any_name, synthesized)


def test_fails_when_the_stores_may_be_published_to(synthesized: Synthesized) -> None:
    def stores_too(t: MutableTemplates) -> None:
        deny = next(s for s in _domain_statements(t) if s["Sid"] == "OnlyInternalNamesArePublished")
        deny["NotResource"].append(deny["NotResource"][0].replace("/internal/", "/pypi-store/"))

    assert_weakening_breaks("LZ-APP-01", stores_too, synthesized)


def test_fails_on_a_domain_replaced_without_being_kept(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-APP-01", lambda t: _domain(t).update(UpdateReplacePolicy="Delete"), synthesized
    )
