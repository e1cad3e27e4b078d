"""IAM Identity Center from the config: permission sets, OU targets expanded, assignments
created a few at a time; and the config's identity_center section refused when wrong."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from baseline.config import ConfigError, load_config, parse_config
from baseline.stacks.identity_center import ASSIGNMENT_LANES
from tests.conftest import Synthesized

SECURITY_TEAM = "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"
ORDERS_TEAM = "906754b2c4-3c4d5e6f-7081-92a3-b4c5-d6e7f8091021"


def _resources(synthesized: Synthesized, stack: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in synthesized.templates[stack]["Resources"].values() if r["Type"] == kind]


def _assigned(synthesized: Synthesized, permission_set: str, group: str) -> set[str]:
    """Account names (or ids) a group gets a permission set on."""
    sets = {
        logical_id: r["Properties"]["Name"]
        for logical_id, r in synthesized.templates["IdentityCenter"]["Resources"].items()
        if r["Type"] == "AWS::SSO::PermissionSet"
    }
    ids = {a.id: a.name for a in synthesized.config.accounts if a.id}
    found = set()
    for assignment in _resources(synthesized, "IdentityAssignments00", "AWS::SSO::Assignment"):
        props = assignment["Properties"]
        arn = json.dumps(props["PermissionSetArn"])
        name = next(n for logical_id, n in sets.items() if logical_id in arn)
        if name == permission_set and props["PrincipalId"] == group:
            target = props["TargetId"]
            found.add(ids.get(target, "new") if isinstance(target, str) else "new")
    return found


def test_the_permission_sets_have_their_sessions_policies_and_boundary(
    synthesized: Synthesized,
) -> None:
    sets = {
        r["Properties"]["Name"]: r["Properties"]
        for r in _resources(synthesized, "IdentityCenter", "AWS::SSO::PermissionSet")
    }
    assert sets["Administrator"]["SessionDuration"] == "PT1H"
    assert sets["Administrator"]["ManagedPolicies"] == [
        "arn:aws:iam::aws:policy/AdministratorAccess"
    ]
    assert sets["PowerUser"]["PermissionsBoundary"] == {
        "CustomerManagedPolicyReference": {"Name": "nwl-workload-boundary"}
    }
    inline = sets["DataScientist"]["InlinePolicy"]
    assert inline["Statement"][0]["Sid"] == "WorkInTheTeamsOwnBuckets"  # from the file
    assert sets["DataScientist"]["SessionDuration"] == "PT4H"
    for props in sets.values():
        assert props["InstanceArn"] == "arn:aws:sso:::instance/ssoins-7223c1d9e4a5b6f0"
    (abac,) = _resources(
        synthesized, "IdentityCenter", "AWS::SSO::InstanceAccessControlAttributeConfiguration"
    )
    keys = {a["Key"] for a in abac["Properties"]["AccessControlAttributes"]}
    assert keys == {"team", "cost-center"}


def test_an_ou_reaches_every_account_under_it_but_not_the_management_account(
    synthesized: Synthesized,
) -> None:
    audited = _assigned(synthesized, "SecurityAudit", SECURITY_TEAM)
    everyone = {a.name for a in synthesized.config.accounts if a.id} | {"new"}
    assert audited == everyone  # the management account because it is named explicitly
    assert _assigned(synthesized, "PowerUser", ORDERS_TEAM) == {"orders-prod", "orders-staging"}
    assert "management" not in _assigned(
        synthesized, "Administrator", "906754b2c4-2b3c4d5e-6f70-8192-a3b4-c5d6e7f80910"
    )


def test_a_new_account_is_assigned_through_the_stack_that_creates_it(
    synthesized: Synthesized,
) -> None:
    targets = [
        a["Properties"]["TargetId"]
        for a in _resources(synthesized, "IdentityAssignments00", "AWS::SSO::Assignment")
    ]
    references = [t for t in targets if not isinstance(t, str)]
    assert references and all("nwl-accounts-" in json.dumps(t) for t in references)


def test_assignments_are_created_a_few_at_a_time(synthesized: Synthesized) -> None:
    resources = synthesized.templates["IdentityAssignments00"]["Resources"]
    assignments = [k for k, r in resources.items() if r["Type"] == "AWS::SSO::Assignment"]
    free = [k for k in assignments if not resources[k].get("DependsOn")]
    assert len(free) == ASSIGNMENT_LANES  # at most this many in flight at once
    assert len(assignments) > ASSIGNMENT_LANES


def _load(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "landing-zone.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c.update(instance_arn="arn:aws:sso:::instance/nope"),
            "identity_center.instance_arn: 'arn:aws:sso:::instance/nope' is not an Identity Center instance ARN",
        ),
        (
            lambda c: c["permission_sets"][0].update(session_hours=13),
            "identity_center.permission_sets[0].session_hours: Input should be less than or equal to 12",
        ),
        (
            lambda c: c["permission_sets"][0].update(name="x" * 33),
            "identity_center.permission_sets[0].name: '" + "x" * 33 + "' must be 1-32 letters",
        ),
        (
            lambda c: c["assignments"][0].update(accounts=["audti"]),
            "identity_center.assignments[0].accounts[0]: 'audti' is not an account of the config (did you mean audit?)",
        ),
        (
            lambda c: c["assignments"][1].update(ous=["Workload"]),
            "identity_center.assignments[1].ous[0]: 'Workload' is not an OU path of the config",
        ),
        (
            lambda c: c["assignments"][0].update(permission_set="Admin"),
            "identity_center.assignments[0].permission_set: 'Admin' is not a permission set",
        ),
        (
            lambda c: c["assignments"][0].update(groups=[" engineers"]),
            "' engineers' is not a group id or display name",
        ),
        (
            lambda c: c["assignments"][0].update(users=["alice"]),
            "'alice' is not an identity-store user id",
        ),
    ],
)
def test_fails_on_a_wrong_identity_center_section(
    edit: Any, message: str, example_data: dict[str, Any]
) -> None:
    data = copy.deepcopy(example_data)
    edit(data["identity_center"])
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_fails_on_a_missing_inline_policy_file(
    example_data: dict[str, Any], tmp_path: Path
) -> None:
    data = copy.deepcopy(example_data)
    data["identity_center"]["permission_sets"][0]["inline_policy_file"] = "policies/missing.json"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, data)
    (problem,) = caught.value.problems
    assert problem.startswith("identity_center.permission_sets[0].inline_policy_file: ")
    assert "missing.json' does not exist" in problem


def test_fails_on_an_inline_policy_that_is_not_a_policy(
    example_data: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bad.json").write_text('{"Version": "2012-10-17"}')
    data = copy.deepcopy(example_data)
    data["identity_center"]["permission_sets"][0]["inline_policy_file"] = "policies/bad.json"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, data)
    assert "is not a policy document (no Statement)" in caught.value.problems[0]


def test_fails_when_one_stack_would_hold_too_many_assignments(
    example_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(example_data)
    data["accounts"] += [
        {
            "name": f"lab-{i:03d}",
            "email": f"aws-lab-{i:03d}@northwind.example.com",
            "ou": "Sandbox",
            "id": f"{600000000000 + i}",
        }
        for i in range(230)
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    (problem,) = [p for p in caught.value.problems if "assignment_stacks" in p]
    assert problem.startswith(
        "identity_center.assignment_stacks: 1 of the 1 stacks would hold over 450"
    )
    assert "need at least 2 stacks" in problem and problem.endswith("raise assignment_stacks")
    data["identity_center"]["assignment_stacks"] = 3
    assert parse_config(data).identity_center is not None


def test_a_group_given_by_name_is_looked_up_once_per_stack(synthesized: Synthesized) -> None:
    resources = synthesized.templates["IdentityAssignments00"]["Resources"]
    (lookup_id,) = [k for k, r in resources.items() if r["Type"] == "Custom::IdentityStoreGroups"]
    lookup = resources[lookup_id]["Properties"]
    assert lookup["Names"] == ["finance"]
    assert lookup["IdentityStoreId"] == "d-93671a2b3c"
    by_name = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::SSO::Assignment"
        and r["Properties"]["PrincipalId"] == {"Fn::GetAtt": [lookup_id, "Group0"]}
    ]
    assert len(by_name) == 1 and by_name[0]["TargetId"] == "210987654321"  # Billing, management
