"""Reading a cloud assembly: a StackSet's template is its body, or the file it names once
that file is shown to be the body with its cdk-nag acknowledgements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from baseline.assembly import (
    TEMPLATE_FILE_METADATA,
    templates_with_stack_sets,
    without_nag_acknowledgements,
)

NAG = {"rules_to_suppress": [{"id": "AwsSolutions-SQS3", "reason": "why"}]}
GUARD = {"SuppressedRules": ["sqs_dlq_check"], "Reasons": {"sqs_dlq_check": "why"}}
MEMBER: dict[str, Any] = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Metadata": {"cdk_nag": NAG, "guard": GUARD}},
        "Topic": {"Type": "AWS::SNS::Topic", "Metadata": {"cdk_nag": NAG}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}},
    }
}


def _assembly(tmp_path: Path, member: dict[str, Any], file_name: str | None) -> Path:
    resource: dict[str, Any] = {
        "Type": "AWS::CloudFormation::StackSet",
        "Properties": {"TemplateBody": json.dumps(without_nag_acknowledgements(MEMBER))},
    }
    if file_name is not None:
        resource["Metadata"] = {TEMPLATE_FILE_METADATA: file_name}
        (tmp_path / "Members.member-template.json").write_text(json.dumps(member))
    template = {"Resources": {"StackSet": resource}}
    (tmp_path / "Members.template.json").write_text(json.dumps(template))
    return tmp_path


def test_the_body_goes_without_nag_acknowledgements_only() -> None:
    body = without_nag_acknowledgements(MEMBER)
    assert body["Resources"] == {
        "Queue": {"Type": "AWS::SQS::Queue", "Metadata": {"guard": GUARD}},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Key": MEMBER["Resources"]["Key"],
    }
    assert MEMBER["Resources"]["Queue"]["Metadata"]["cdk_nag"] == NAG  # the given one kept


def test_a_stack_set_is_read_from_the_file_it_names(tmp_path: Path) -> None:
    read = dict(
        templates_with_stack_sets(_assembly(tmp_path, MEMBER, "Members.member-template.json"))
    )
    assert read["Members/StackSet"] == MEMBER


def test_a_stack_set_without_a_file_is_its_body(tmp_path: Path) -> None:
    read = dict(templates_with_stack_sets(_assembly(tmp_path, MEMBER, None)))
    assert read["Members/StackSet"] == without_nag_acknowledgements(MEMBER)


def test_fails_a_named_file_that_is_not_the_body(tmp_path: Path) -> None:
    other = json.loads(json.dumps(MEMBER))
    other["Resources"]["Key"]["Properties"]["EnableKeyRotation"] = False
    directory = _assembly(tmp_path, other, "Members.member-template.json")
    with pytest.raises(ValueError, match=r"is not the template of Members/StackSet"):
        list(templates_with_stack_sets(directory))


def test_fails_a_named_file_that_is_missing(tmp_path: Path) -> None:
    directory = _assembly(tmp_path, MEMBER, "Gone.member-template.json")
    with pytest.raises(ValueError, match=r"names Gone\.member-template\.json, which is not in"):
        list(templates_with_stack_sets(directory))


def test_fails_a_body_that_is_not_a_template(tmp_path: Path) -> None:
    resource = {"Type": "AWS::CloudFormation::StackSet", "Properties": {"TemplateBody": "[1]"}}
    (tmp_path / "Members.template.json").write_text(json.dumps({"Resources": {"S": resource}}))
    with pytest.raises(ValueError, match=r"TemplateBody of Members/S is not a CloudFormation"):
        list(templates_with_stack_sets(tmp_path))


def test_fails_a_named_file_outside_the_assembly(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps(MEMBER))
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    _assembly(assembly, MEMBER, "../elsewhere.json")
    with pytest.raises(ValueError, match=r"which is not a file of the assembly"):
        list(templates_with_stack_sets(assembly))
