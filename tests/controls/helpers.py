"""Template-editing helpers shared by the controls' weakening cases.

A weakening case edits a deep copy of the synthesized example so that one control's
check must fail; ``assert_weakening_breaks`` runs it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from baseline.controls import CONTROLS, Control, resources
from tests.conftest import Synthesized

MutableTemplates = dict[str, Any]
Weakening = Callable[[MutableTemplates], None]
Statement = dict[str, Any]


def control(control_id: str) -> Control:
    """The registered control with an id."""
    (found,) = [c for c in CONTROLS if c.id == control_id]
    return found


def weakened(synthesized: Synthesized, weaken: Weakening) -> MutableTemplates:
    """A deep copy of the example's templates with one edit applied."""
    templates: MutableTemplates = copy.deepcopy(synthesized.templates)
    weaken(templates)
    assert templates != synthesized.templates, "the weakening changed nothing"
    return templates


def assert_weakening_breaks(control_id: str, weaken: Weakening, synthesized: Synthesized) -> None:
    """The control holds in the example and no longer holds once weakened."""
    check = control(control_id).check
    assert check(synthesized.templates).holds, f"{control_id} does not hold in the example"
    evidence = check(weakened(synthesized, weaken))
    assert not evidence.holds, f"{control_id} still holds after it was weakened"


def first(
    templates: MutableTemplates,
    resource_type: str,
    predicate: Callable[[dict[str, Any]], bool] = lambda r: True,
) -> dict[str, Any]:
    """The first resource of a type (matching ``predicate``) in any stack."""
    for _, resource in resources(templates, resource_type):
        if predicate(resource):
            return resource
    raise AssertionError(resource_type)


def is_log_bucket(resource: dict[str, Any]) -> bool:
    return "-logs-" in str(resource["Properties"].get("BucketName", ""))


def drop_bucket_statements(
    templates: MutableTemplates, predicate: Callable[[Statement], bool]
) -> None:
    """Remove matching statements from every bucket policy."""
    for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [s for s in statements if not predicate(s)]


def policy_statements(templates: MutableTemplates, policy_type: str) -> list[Statement]:
    """The statements of every organisation policy of a type."""
    found = []
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == policy_type:
            found += policy["Properties"]["Content"]["Statement"]
    return found


def drop_policy_statements(
    templates: MutableTemplates, policy_type: str, predicate: Callable[[Statement], bool]
) -> None:
    """Remove matching statements from every organisation policy of a type."""
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == policy_type:
            statements = policy["Properties"]["Content"]["Statement"]
            statements[:] = [s for s in statements if not predicate(s)]


def sid(*sids: str) -> Callable[[Statement], bool]:
    """A predicate: the statement has one of these Sids."""
    return lambda s: s.get("Sid") in sids


def drop_scp_statements(*sids: str) -> Weakening:
    """A weakening: remove the SCP statements with these Sids."""
    return lambda t: drop_policy_statements(t, "SERVICE_CONTROL_POLICY", sid(*sids))


def detach_policy_type(templates: MutableTemplates, policy_type: str) -> None:
    """Detach every organisation policy of a type from all its targets."""
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == policy_type:
            policy["Properties"]["TargetIds"] = []


def edit_member_template(
    templates: MutableTemplates, edit: Callable[[dict[str, Any]], None]
) -> None:
    """Apply ``edit`` to the member template inside the one StackSet."""
    (stack_set,) = [r for _, r in resources(templates, "AWS::CloudFormation::StackSet")]
    member = json.loads(stack_set["Properties"]["TemplateBody"])
    edit(member)
    stack_set["Properties"]["TemplateBody"] = json.dumps(member)


def member_resources(member: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """Resources of a type in a member template."""
    return [r for r in member["Resources"].values() if r["Type"] == resource_type]


def rename_operator(statement: Statement, old: str, new: str) -> None:
    """Put a statement's condition block under another operator (``StringNotEquals`` ->
    ``StringEquals``): the same keys and values, the opposite meaning."""
    conditions = statement["Condition"]
    assert old in conditions, old
    conditions[new] = conditions.pop(old)


def edit_policy_statement(
    policy_type: str, statement_sid: str, edit: Callable[[Statement], None]
) -> Weakening:
    """A weakening: apply ``edit`` to every organisation policy statement with this Sid."""

    def weaken(templates: MutableTemplates) -> None:
        matching = [
            s for s in policy_statements(templates, policy_type) if s.get("Sid") == statement_sid
        ]
        assert matching, statement_sid
        for statement in matching:
            edit(statement)

    return weaken
