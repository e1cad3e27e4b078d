"""IAM Identity Center from the config: permission sets split between the management
account and the delegated administrator, OU targets expanded, assignments in nested
stacks created a few at a time; and the config's identity_center section refused when
wrong."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from baseline.assembly import templates_with_stack_sets
from baseline.assignments import LANES, Side, plan
from baseline.config import ConfigError, load_config, parse_config
from baseline.landing_zone import LandingZone
from baseline.naming import logical_id
from tests.conftest import Synthesized

SECURITY_TEAM = "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"
ORDERS_TEAM = "906754b2c4-3c4d5e6f-7081-92a3-b4c5-d6e7f8091021"
PLATFORM_TEAM = "906754b2c4-2b3c4d5e-6f70-8192-a3b4-c5d6e7f80910"
CENTERS = ("IdentityCenter", "IdentityCenterDelegated")
ASSIGNMENT_STACKS = ("IdentityAssignments00", "IdentityAssignmentsDelegated00")


def _resources(synthesized: Synthesized, stack: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in synthesized.templates[stack]["Resources"].values() if r["Type"] == kind]


def _shards(synthesized: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    """The nested templates of an assignment stack, by ``<stack>/<logical id>``."""
    return {
        name: template
        for name, template in templates_with_stack_sets(synthesized.outdir)
        if name.startswith(f"{stack}/")
    }


def _assignments(synthesized: Synthesized, stack: str) -> list[dict[str, Any]]:
    return [
        r
        for template in _shards(synthesized, stack).values()
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SSO::Assignment"
    ]


def _sets(synthesized: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["Name"]: r["Properties"]
        for r in _resources(synthesized, stack, "AWS::SSO::PermissionSet")
    }


def _assigned(synthesized: Synthesized, permission_set: str, group: str) -> set[str]:
    """Account names (or "new") a group gets a permission set on, from either side."""
    ids = {a.id: a.name for a in synthesized.config.accounts if a.id}
    found = set()
    for stack in ASSIGNMENT_STACKS:
        for assignment in _assignments(synthesized, stack):
            props = assignment["Properties"]
            wanted = {"Ref": f"PermissionSet{logical_id(permission_set)}"}
            if props["PermissionSetArn"] == wanted and props["PrincipalId"] == group:
                target = props["TargetId"]
                found.add(ids[target] if isinstance(target, str) else "new")
    return found


def test_the_permission_sets_have_their_sessions_policies_and_boundary(
    synthesized: Synthesized,
) -> None:
    sets = {name: p for stack in CENTERS for name, p in _sets(synthesized, stack).items()}
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


def test_sets_given_on_the_management_account_are_managed_from_it(
    synthesized: Synthesized,
) -> None:
    """The delegated administrator cannot manage a set provisioned in the management
    account: those stay there, with all their assignments; the rest move to it."""
    stacks = {s.artifact_id: s for s in synthesized.landing_zone.stacks}
    assert stacks["IdentityCenter"].account == "210987654321"  # management
    assert set(_sets(synthesized, "IdentityCenter")) == {"Billing", "SecurityAudit"}
    shared_services = "645678901234"
    for name in ("IdentityCenterDelegated", "IdentityAssignmentsDelegated00"):
        assert stacks[name].account == shared_services
    assert set(_sets(synthesized, "IdentityCenterDelegated")) == {
        "Administrator",
        "DataScientist",
        "IncidentResponse",
        "PowerUser",
        "ReadOnly",
    }
    delegated_targets = {
        a["Properties"]["TargetId"]
        for a in _assignments(synthesized, "IdentityAssignmentsDelegated00")
    }
    assert "210987654321" not in delegated_targets


def test_the_delegated_administrator_is_registered_for_identity_center(
    synthesized: Synthesized,
) -> None:
    (settings,) = _resources(synthesized, "Organization", "Custom::OrganizationSettings")
    assert {
        "AccountId": "645678901234",
        "ServicePrincipal": "sso.amazonaws.com",
    } in settings["Properties"]["DelegatedAdministrators"]
    registering = [
        s
        for policy in _resources(synthesized, "Organization", "AWS::IAM::ManagedPolicy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "RegisterDelegatedAdministrator645678901234"
    ]
    (statement,) = registering
    assert statement["Condition"] == {
        "StringEquals": {"organizations:ServicePrincipal": ["sso.amazonaws.com"]}
    }
    assert "645678901234" in json.dumps(statement["Resource"])


def test_permission_sets_are_changed_one_at_a_time(synthesized: Synthesized) -> None:
    for stack in CENTERS:
        resources = synthesized.templates[stack]["Resources"]
        sets = [k for k, r in resources.items() if r["Type"] == "AWS::SSO::PermissionSet"]
        free = [k for k in sets if not resources[k].get("DependsOn")]
        assert len(free) == 1 and len(sets) >= 2, stack


def test_an_ou_reaches_every_account_under_it_but_not_the_management_account(
    synthesized: Synthesized,
) -> None:
    audited = _assigned(synthesized, "SecurityAudit", SECURITY_TEAM)
    everyone = {a.name for a in synthesized.config.accounts if a.id} | {"new"}
    assert audited == everyone  # the management account because it is named explicitly
    assert _assigned(synthesized, "PowerUser", ORDERS_TEAM) == {"orders-prod", "orders-staging"}
    administered = _assigned(synthesized, "Administrator", PLATFORM_TEAM)
    assert administered == {"log-archive", "audit", "network", "shared-services", "forensics"}


def test_a_new_account_is_assigned_once_the_stack_that_creates_it_ran(
    synthesized: Synthesized,
) -> None:
    targets = [a["Properties"]["TargetId"] for a in _assignments(synthesized, ASSIGNMENT_STACKS[0])]
    assert {"Ref": "AccountFleetDev"} in targets
    (shard,) = _resources(synthesized, ASSIGNMENT_STACKS[0], "AWS::CloudFormation::Stack")
    (lookup_id,) = [
        k
        for k, r in synthesized.templates[ASSIGNMENT_STACKS[0]]["Resources"].items()
        if r["Type"] == "Custom::AssignmentLookups"
    ]
    assert shard["Properties"]["Parameters"]["AccountFleetDev"] == {
        "Fn::GetAtt": [lookup_id, "Account0"]
    }
    stack = next(
        s for s in synthesized.landing_zone.stacks if s.artifact_id == ASSIGNMENT_STACKS[0]
    )
    assert {d.artifact_id for d in stack.dependencies} >= {"Accounts00", "Accounts03"}


def test_assignments_are_created_a_few_at_a_time(synthesized: Synthesized) -> None:
    for stack in ASSIGNMENT_STACKS:
        for name, template in _shards(synthesized, stack).items():
            resources = template["Resources"]
            assignments = [k for k, r in resources.items() if r["Type"] == "AWS::SSO::Assignment"]
            free = [k for k in assignments if not resources[k].get("DependsOn")]
            assert len(free) == LANES, name  # at most this many in flight at once
            assert len(assignments) > LANES
            # each account's assignments in one chain, so two in flight are never in one
            # account, where Identity Center provisions one permission set at a time
            chain_of: dict[str, str] = {}
            for key in assignments:
                head = key
                while resources[head].get("DependsOn"):
                    (head,) = resources[head]["DependsOn"]
                chain_of[key] = head
            by_account: dict[str, set[str]] = {}
            for key in assignments:
                target = json.dumps(resources[key]["Properties"]["TargetId"], sort_keys=True)
                by_account.setdefault(target, set()).add(chain_of[key])
            assert all(len(chains) == 1 for chains in by_account.values()), name


def _load(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "landing-zone.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    load_config(path)


def _policies(count: int) -> dict[str, list[str]]:
    aws = [f"arn:aws:iam::aws:policy/Policy{i}" for i in range(min(count, 12))]
    return {
        "managed_policies": aws,
        "customer_managed_policies": [f"policy-{i}" for i in range(count - len(aws))],
    }


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
        (
            lambda c: c.update(kms_key_arn="alias/identity-center"),
            "identity_center.kms_key_arn: 'alias/identity-center' is not a KMS key ARN",
        ),
        (
            lambda c: c["permission_sets"][0].update(_policies(21)),
            "identity_center.permission_sets[0]: 21 managed_policies and "
            "customer_managed_policies; a permission set takes at most 20 in all",
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


def test_fails_on_an_inline_policy_nested_deeper_than_json_reads(
    example_data: dict[str, Any], tmp_path: Path
) -> None:
    """A file of 200,000 nested arrays: Python's JSON reader gives up with a
    RecursionError, which validate reports as one line, not a traceback."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    data = copy.deepcopy(example_data)
    data["identity_center"]["permission_sets"][0]["inline_policy_file"] = "policies/deep.json"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, data)
    (problem,) = caught.value.problems
    assert problem.startswith("identity_center.permission_sets[0].inline_policy_file: ")
    assert problem.endswith("deep.json' is nested deeper than a policy can be")


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
        for i in range(460)
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    (problem,) = [p for p in caught.value.problems if "assignment_stacks" in p]
    assert problem.startswith(
        "identity_center.assignment_stacks: with 1, 2 would hold over 450 assignments "
        "(management stack 00: 472)"
    ), problem
    assert "need at least 2 stacks" in problem and problem.endswith("raise assignment_stacks")
    data["identity_center"]["assignment_stacks"] = 3
    assert parse_config(data).identity_center is not None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "shared-service",
            "'shared-service' is not an account of the config (did you mean shared-services?)",
        ),
        ("management", "'management' is the management account; name a member account"),
        ("fleet-dev", "'fleet-dev' has no id yet; it can be registered once it exists"),
    ],
)
def test_fails_on_a_wrong_delegated_administrator(
    name: str, message: str, example_data: dict[str, Any]
) -> None:
    data = copy.deepcopy(example_data)
    data["identity_center"]["delegated_administrator"] = name
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    expected = f"identity_center.delegated_administrator: {message}"
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_the_delegated_administrator_assigns_a_new_account_by_looking_it_up(
    example_data: dict[str, Any],
) -> None:
    """A new account's id comes from the management account's Accounts stacks, which a
    stack in the delegated administrator cannot reference: it finds the id by e-mail."""
    data = copy.deepcopy(example_data)
    power_user = next(
        a for a in data["identity_center"]["assignments"] if a["permission_set"] == "PowerUser"
    )
    power_user["exclude_accounts"] = ["fleet-prod"]  # fleet-dev has no id yet
    config = parse_config(data)
    (delegated,) = [side for side in plan(config) if side.side == Side.DELEGATED]
    assert [s.new_accounts for s in delegated.shards] == [("fleet-dev",)]


def test_fails_when_one_lookup_would_answer_too_much(example_data: dict[str, Any]) -> None:
    data = copy.deepcopy(example_data)
    data["accounts"] += [
        {"name": f"lab-{i:03d}", "email": f"aws-lab-{i:03d}@northwind.example.com", "ou": "Sandbox"}
        for i in range(120)
    ]
    data["organization"]["account_stacks"] = 8
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    (problem,) = caught.value.problems
    assert problem.startswith(
        "identity_center.assignment_stacks: management stack 00 would look up 1 group names "
        "and 121 new accounts at deploy time"
    ), problem
    data["identity_center"]["assignment_stacks"] = 20  # two stacks of ten shards
    assert parse_config(data).identity_center is not None


def test_a_group_given_by_name_is_looked_up_once_per_stack(synthesized: Synthesized) -> None:
    resources = synthesized.templates["IdentityAssignments00"]["Resources"]
    (lookup_id,) = [k for k, r in resources.items() if r["Type"] == "Custom::AssignmentLookups"]
    lookup = resources[lookup_id]["Properties"]
    assert lookup["Names"] == ["finance"]
    assert lookup["IdentityStoreId"] == "d-93671a2b3c"
    assert lookup["AccountEmails"] == ["aws-fleet-dev@northwind.example.com"]
    (shard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudFormation::Stack"]
    assert shard["Properties"]["Parameters"]["GroupFinance"] == {
        "Fn::GetAtt": [lookup_id, "Group0"]
    }
    by_name = [
        r["Properties"]
        for r in _assignments(synthesized, "IdentityAssignments00")
        if r["Properties"]["PrincipalId"] == {"Ref": "GroupFinance"}
    ]
    assert len(by_name) == 1 and by_name[0]["TargetId"] == "210987654321"  # Billing, management


def test_fails_on_group_names_that_make_the_same_parameter(
    example_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(example_data)
    billing = next(
        a for a in data["identity_center"]["assignments"] if a["permission_set"] == "Billing"
    )
    billing["groups"] = ["finance", "Finance!"]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.problems == [
        "identity_center.assignments: the group names 'Finance!' and 'finance' differ only "
        "in spaces or punctuation; give one of them by its id"
    ]


INSTANCE_KEY = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("key", [None, INSTANCE_KEY], ids=["AWS-owned key", "customer key"])
def test_the_delegated_lookup_reads_the_management_accounts_identity_store(
    key: str | None, example_data: dict[str, Any]
) -> None:
    """By name, on the delegated side; with the instance under a customer-managed key,
    GetGroupId decrypts through it (an IAM dependency of the call), so the role may use
    that key through the identity store, for this store only."""
    import aws_cdk as cdk
    from aws_cdk import assertions

    from baseline.cdk_context import cdk_json_context
    from baseline.stacks.identity_center import IdentityCenterSettings, IdentityCenterStack

    data = copy.deepcopy(example_data)
    scientists = next(
        a for a in data["identity_center"]["assignments"] if a["permission_set"] == "DataScientist"
    )
    scientists["groups"] = ["data-scientists"]  # by name, on the delegated side
    if key is not None:
        data["identity_center"]["kms_key_arn"] = key
    sides = IdentityCenterSettings.for_each_side(parse_config(data))
    delegated = next(s for s in sides if s.side == Side.DELEGATED)
    app = cdk.App(context=cdk_json_context())
    stack = IdentityCenterStack(
        app,
        "Delegated",
        settings=delegated,
        env=cdk.Environment(account=delegated.account_id, region=delegated.region),
    )
    statements = {
        s.get("Sid"): s
        for policy in assertions.Template.from_stack(stack)
        .find_resources("AWS::IAM::ManagedPolicy")
        .values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    store = "arn:aws:identitystore::210987654321:identitystore/d-93671a2b3c"
    assert store in json.dumps(statements["FindTheGroupsByName"]["Resource"])
    if key is None:
        assert "DecryptTheIdentityStore" not in statements
        return
    decrypt = statements["DecryptTheIdentityStore"]
    assert (decrypt["Action"], decrypt["Resource"]) == ("kms:Decrypt", key)
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "identitystore.eu-west-1.amazonaws.com"},
        "ArnLike": {"kms:EncryptionContext:aws:identitystore:identitystore-arn": store},
    }
    # the example does not encrypt its instance so: the IAM reference reads it here
    from tests.test_iam_reference import missing_resources_of, problems_of

    document = {"Statement": [decrypt]}
    assert problems_of("lookup", document) == missing_resources_of("lookup", document) == []


def test_attribute_based_access_control_stays_without_a_management_set(
    example_data: dict[str, Any],
) -> None:
    from baseline.stacks.identity_center import IdentityCenterSettings

    data = copy.deepcopy(example_data)
    center = data["identity_center"]
    center["assignments"] = [a for a in center["assignments"] if a["permission_set"] != "Billing"]
    for assignment in center["assignments"]:
        assignment["accounts"] = [n for n in assignment.get("accounts", []) if n != "management"]
        if not assignment["accounts"] and not assignment.get("ous"):
            assignment["accounts"] = ["audit"]
    sides = IdentityCenterSettings.for_each_side(parse_config(data))
    management = next(s for s in sides if s.side == Side.MANAGEMENT)
    assert management.permission_sets == ()
    assert dict(management.access_control_attributes) == center["access_control_attributes"]


def test_fails_on_two_assignments_that_make_the_same_logical_id(
    example_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(example_data)
    data["accounts"].append(
        {
            "name": "orders",
            "email": "aws-orders@northwind.example.com",
            "ou": "Sandbox",
            "id": "199012345678",
        }
    )
    center = data["identity_center"]
    center["permission_sets"] += [
        {"name": "Reader", "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        {"name": "Prod-Reader", "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
    ]
    center["assignments"] += [
        {"permission_set": "Reader", "groups": [ORDERS_TEAM], "accounts": ["orders-prod"]},
        {"permission_set": "Prod-Reader", "groups": [ORDERS_TEAM], "accounts": ["orders"]},
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    (problem,) = [p for p in caught.value.problems if "logical id" in p]
    assert "make the same logical id; rename the permission set or the account" in problem


def test_a_user_is_assigned_by_id_as_rarely_as_the_example_does(synthesized: Synthesized) -> None:
    users = [
        a["Properties"]
        for stack in ASSIGNMENT_STACKS
        for a in _assignments(synthesized, stack)
        if a["Properties"]["PrincipalType"] == "USER"
    ]
    assert users == [
        {
            "InstanceArn": "arn:aws:sso:::instance/ssoins-7223c1d9e4a5b6f0",
            "PermissionSetArn": {"Ref": "PermissionSetReadonly"},
            "PrincipalType": "USER",
            "PrincipalId": "906754b2c4-6f708192-a3b4-c5d6-e7f8-091021324354",
            "TargetType": "AWS_ACCOUNT",
            "TargetId": "312345678901",
        }
    ]


def test_a_config_is_planned_once_for_validation_and_build(
    example_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validating a config plans its assignments; planning the same (frozen) config again
    reuses that plan, and another config is planned afresh."""
    import baseline.assignments

    planned: list[object] = []
    real = baseline.assignments._plan
    monkeypatch.setattr(
        baseline.assignments, "_plan", lambda config: planned.append(config) or real(config)
    )
    config = parse_config(copy.deepcopy(example_data))  # validation plans it
    assert planned == [config]
    sides = plan(config)
    assert plan(config) is sides and planned == [config]
    other = parse_config(copy.deepcopy(example_data))
    assert planned == [config, other] and plan(other) == sides


def test_an_assignment_stack_left_without_assignments_stays_and_empties(
    example_data: dict[str, Any], synthesized: Synthesized
) -> None:
    # A stack the app no longer has is not deleted by a deploy: its assignments, which
    # the config no longer asks for, would keep granting access. Every stack that
    # assignment_stacks makes is built, an empty one too.
    import dataclasses

    import aws_cdk as cdk

    from baseline.stacks.identity_center import IdentityAssignmentsStack

    data = copy.deepcopy(example_data)
    data["identity_center"]["assignment_stacks"] = 20  # two top-level stacks a side
    (management, *_) = plan(parse_config(data))
    assert management.stack_count == 2
    # its accounts all in the first stack's shards now: the second stays, empty
    first = tuple(s for s in management.shards if s.stack_index == 0)
    emptied = dataclasses.replace(management, shards=first)
    assert emptied.stacks() == {0: first, 1: ()}
    (settings,) = [c.settings for c in synthesized.landing_zone.identity_centers][:1]
    empty = IdentityAssignmentsStack(
        cdk.App(),
        "Emptied",
        settings=settings,
        shards=(),
        permission_set_arns={},
        env=cdk.Environment(account=settings.account_id, region=settings.region),
    )
    template = cdk.assertions.Template.from_stack(empty).to_json()
    kinds = [r["Type"] for r in template["Resources"].values()]
    assert kinds == ["AWS::CloudFormation::WaitConditionHandle"]


def test_takes_twenty_policies_and_set_names_the_trusts_do_not_admit(
    example_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(example_data)
    data["identity_center"]["permission_sets"].append(
        {"name": "IncidentResponseViewer", **_policies(20)}
    )
    parse_config(data)


def test_fails_on_an_inline_policy_identity_center_refuses_a_character_of(
    example_data: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "policies").mkdir()
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/city": "東京"}},
            }
        ],
    }
    (tmp_path / "policies" / "tokyo.json").write_text(json.dumps(policy), encoding="utf-8")
    data = copy.deepcopy(example_data)
    data["identity_center"]["permission_sets"][0]["inline_policy_file"] = "policies/tokyo.json"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, data)
    assert caught.value.problems == [
        "identity_center.permission_sets[0].inline_policy_file: the policy holds characters "
        "IAM Identity Center refuses in an inline policy (it takes ASCII, tabs, line breaks "
        "and Latin-1, up to U+00FF)"
    ]
    # Latin-1 is taken
    policy["Statement"][0]["Condition"]["StringEquals"]["aws:ResourceTag/city"] = "Zürich"
    (tmp_path / "policies" / "tokyo.json").write_text(json.dumps(policy), encoding="utf-8")
    _load(tmp_path, data)


def test_any_group_display_name_makes_ids_cloudformation_takes(
    example_data: dict[str, Any],
) -> None:
    """Display names of letters beyond ASCII, or long ones, would give logical ids and
    parameter names CloudFormation refuses (letters and digits, 255 at most): those take a
    digest of the name; a plain name keeps its readable id."""
    import re

    from baseline.assignments import plan
    from baseline.stacks.identity_center import IdentityCenterSettings, shard_template

    names = ["Entwickler-Zugänge", "開発チーム", "x" * 300, "---", "finance"]
    data = copy.deepcopy(example_data)
    billing = next(
        a for a in data["identity_center"]["assignments"] if a["permission_set"] == "Billing"
    )
    billing["groups"] = names
    config = parse_config(data)
    settings = {s.side: s for s in IdentityCenterSettings.for_each_side(config)}
    valid = re.compile(r"[A-Za-z0-9]{1,255}")
    seen = set()
    for side in plan(config):
        for shard in side.shards:
            template = shard_template(settings[side.side], shard)
            for key in (*template["Parameters"], *template["Resources"]):
                assert valid.fullmatch(key), key
            seen.update(shard.group_names)
            if "finance" in shard.group_names:
                assert "GroupFinance" in template["Parameters"]
    assert set(names) <= seen


def test_fails_on_a_bounded_set_where_the_member_baseline_does_not_reach(
    example_data: dict[str, Any],
) -> None:
    """The workload boundary is the member baseline's: where its StackSet does not deploy,
    the policy does not exist, and Identity Center cannot provision a set bounded by it."""
    data = copy.deepcopy(example_data)
    data["member_baseline"]["target_ous"] = ["Workloads"]
    data["identity_center"]["assignments"].append(
        {"permission_set": "PowerUser", "groups": ["platform"], "accounts": ["network"]}
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    index = len(data["identity_center"]["assignments"]) - 1
    # the example's DataScientist, bounded too, is on the sandbox account
    science, power = caught.value.problems
    assert "'DataScientist' carries the workload boundary" in science
    assert "sandbox-data-science is outside them" in science
    assert power.startswith(
        f"identity_center.assignments[{index}]: 'PowerUser' carries the workload boundary, "
        "which the member baseline makes only under member_baseline.target_ous; network is "
        "outside them"
    )
    data["member_baseline"]["target_ous"] = ["Workloads", "Infrastructure"]
    with pytest.raises(ConfigError):  # Infrastructure has no id: refused for that alone
        parse_config(data)
    data["member_baseline"]["target_ous"] = ["Root"]
    parse_config(data)


def test_new_accounts_are_assigned_with_identity_center_in_another_region(
    example_data: dict[str, Any],
) -> None:
    """The account stacks create accounts in the home region; the assignment stacks, in
    Identity Center's, look their ids up through Organizations, which answers anywhere."""
    from baseline.stacks.identity_center import IdentityCenterSettings

    data = copy.deepcopy(example_data)
    data["identity_center"]["region"] = "eu-central-1"
    config = parse_config(data)
    (management,) = [
        s for s in IdentityCenterSettings.for_each_side(config) if s.side == Side.MANAGEMENT
    ]
    assert management.region == "eu-central-1"
    assert management.new_account_emails["fleet-dev"] == "aws-fleet-dev@northwind.example.com"
    new = {n for _, shards in management.stacks for s in shards for n in s.new_accounts}
    assert new == {"fleet-dev"}


def test_the_delegated_side_deploys_after_the_management_side(synthesized: Synthesized) -> None:
    """Both sides provision permission sets into the same accounts (the audit account holds
    sets of each), and Identity Center provisions one at a time in an account."""
    stacks = {s.artifact_id: s for s in synthesized.landing_zone.stacks}
    after = {d.artifact_id for d in stacks["IdentityCenterDelegated"].dependencies}
    assert {"IdentityCenter", "IdentityAssignments00"} <= after


def test_a_side_without_sets_stays_to_remove_what_it_held(variant: LandingZone) -> None:
    """The delegated administrator's sets all gone from the config (the variant's): its
    stacks stay in the app, emptied, so that a deploy deletes the sets and assignments they
    held (left out of the app, they would stay, granting what the config no longer asks
    for)."""
    from aws_cdk import assertions

    stacks = {s.artifact_id: s for s in variant.stacks}
    delegated = assertions.Template.from_stack(stacks["IdentityCenterDelegated"]).to_json()
    assert [r["Type"] for r in delegated["Resources"].values()] == [
        "AWS::CloudFormation::WaitConditionHandle"
    ]
    assignments = assertions.Template.from_stack(stacks["IdentityAssignmentsDelegated00"]).to_json()
    assert not [
        r for r in assignments["Resources"].values() if r["Type"] == "AWS::CloudFormation::Stack"
    ]
    # the management side keeps its own
    management = assertions.Template.from_stack(stacks["IdentityCenter"])
    assert len(management.find_resources("AWS::SSO::PermissionSet")) == 2


@pytest.mark.parametrize(
    ("name", "field", "default"),
    [
        ("IncidentResponse_Viewer", "incident_responder_principals", False),
        ("SecurityAudit_Lite", "audit_principals", True),
    ],
    ids=["the responder trust, given", "the audit trust, by default"],
)
def test_fails_on_a_set_in_the_audit_account_a_trust_admits_by_accident(
    name: str, field: str, default: bool, example_data: dict[str, Any]
) -> None:
    """Set names may hold ``_``: ``*AWSReservedSSO_IncidentResponse_*`` admits the roles of
    ``IncidentResponse_Viewer`` too, where that set is given in the audit account."""
    data = copy.deepcopy(example_data)
    if default:
        data["member_baseline"].pop(field, None)
    center = data["identity_center"]
    center["permission_sets"].append({"name": name, "managed_policies": []})
    center["assignments"].append({"permission_set": name, "groups": ["x"], "accounts": ["audit"]})
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    (problem,) = caught.value.problems
    assert problem.startswith(
        f"identity_center.permission_sets[{len(center['permission_sets']) - 1}].name: "
        f"{name!r} makes roles named AWSReservedSSO_{name}_<suffix> in the audit account, "
        f"which member_baseline.{field}"
    )
    # given elsewhere only, its roles are in no account the trust names
    center["assignments"][-1]["accounts"] = ["network"]
    parse_config(data)
