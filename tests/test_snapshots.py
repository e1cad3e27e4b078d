"""syrupy snapshots of every synthesized template, with build-specific values masked.

A change that leaves the infrastructure alone leaves these alone; an unexplained
snapshot diff is a bug. Update deliberately with ``pytest --snapshot-update``.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import Synthesized

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
#: Parts of a template that change with the build, not with the infrastructure.
BUILD_SPECIFIC_RESOURCES = {"AWS::CDK::Metadata"}
BUILD_SPECIFIC_METADATA = (
    "aws:cdk:path",
    "aws:asset:path",
    "aws:asset:property",
    "aws:asset:is-bundled",
)


def mask(value: Any) -> Any:
    """The template with asset hashes, CDK metadata and source paths removed."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in BUILD_SPECIFIC_METADATA:
                continue
            if isinstance(item, dict) and item.get("Type") in BUILD_SPECIFIC_RESOURCES:
                continue
            out[key] = mask(item)
        return out
    if isinstance(value, list):
        return [mask(item) for item in value]
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset-hash>", value)
    return value


def test_mask_removes_build_specific_values() -> None:
    template = {
        "Resources": {
            "CDKMetadata": {
                "Type": "AWS::CDK::Metadata",
                "Properties": {"Analytics": "v2:deflate64:x"},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"aws:asset:path": "asset.abc"},
                "Properties": {"Code": {"S3Key": f"{'a' * 64}.zip"}},
            },
        }
    }
    assert mask(template) == {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {},
                "Properties": {"Code": {"S3Key": "<asset-hash>.zip"}},
            }
        }
    }


STACKS = [
    "Organization",
    *(f"Accounts{i:02d}" for i in range(4)),
    "LogArchive",
    "LogArchiveReplica",
    "MemberBaseline",
    "ManagementBaseline-eu-west-1",
    "ManagementBaseline-eu-central-1",
    "ManagementBaseline-us-east-1",
    "Trail",
    "SecurityTooling-eu-west-1",
    "SecurityTooling-eu-central-1",
    "SecurityTooling-us-east-1",
    "Network-eu-west-1",
    "Network-eu-central-1",
    "Network-us-east-1",
    "Forensics",
    "Packages",
    "IdentityCenter",
    "IdentityCenterDelegated",
    "IdentityAssignments00",
    "IdentityAssignmentsDelegated00",
    "MachineAccess-management",
    "MachineAccess-audit",
]
#: The nested templates of the Identity Center assignment stacks, one per shard.
SHARDS = ["IdentityAssignments00/Shard000", "IdentityAssignmentsDelegated00/Shard000"]
MEMBER_TEMPLATE_PLACEHOLDER = "<the member template: see test_member_template_snapshot>"


def _stack_set_body(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The StackSet resource and the member template it carries."""
    (stack_set,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"
    ]
    body: dict[str, Any] = json.loads(stack_set["Properties"]["TemplateBody"])
    return stack_set, body


@pytest.mark.parametrize("stack", STACKS)
def test_template_snapshot(
    stack: str, synthesized: Synthesized, snapshot: SnapshotAssertion
) -> None:
    template = copy.deepcopy(synthesized.templates[stack])
    if stack == "MemberBaseline":
        stack_set, _ = _stack_set_body(template)
        stack_set["Properties"]["TemplateBody"] = MEMBER_TEMPLATE_PLACEHOLDER
    assert mask(template) == snapshot(extension_class=JSONSnapshotExtension)


def test_member_template_snapshot(synthesized: Synthesized, snapshot: SnapshotAssertion) -> None:
    """The template every member account gets, read back from the StackSet, as a document."""
    _, body = _stack_set_body(synthesized.templates["MemberBaseline"])
    assert mask(body) == snapshot(extension_class=JSONSnapshotExtension)


@pytest.mark.parametrize("shard", SHARDS)
def test_assignment_shard_snapshot(
    shard: str, synthesized: Synthesized, snapshot: SnapshotAssertion
) -> None:
    """The assignments themselves: a nested template each shard's stack deploys."""
    assert mask(synthesized.templates[shard]) == snapshot(extension_class=JSONSnapshotExtension)


def test_every_stack_has_a_snapshot(synthesized: Synthesized) -> None:
    assert sorted(synthesized.templates) == sorted(STACKS + SHARDS)
