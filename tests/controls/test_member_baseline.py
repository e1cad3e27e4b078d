"""Member baseline controls (baseline/controls/member_baseline.py): each fails once its
property is removed from the StackSet or the member template it carries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from baseline.controls import resources
from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    control,
    edit_member_template,
    edit_policy_statement,
    first,
    member_resources,
    rename_operator,
    weakened,
)


def _home_region(expression: Any) -> Callable[[dict[str, Any]], None]:
    """An edit of a baseline copy: its IsHomeRegion condition replaced by ``expression``."""
    return lambda template: template["Conditions"].update(IsHomeRegion=expression)


#: A home region none of the copies deploys to: the account-wide resources are created nowhere.
_NOWHERE = _home_region({"Fn::Equals": [{"Ref": "AWS::Region"}, "ap-south-2"]})


WEAKENINGS: dict[str, Weakening] = {
    "LZ-MB-01": lambda t: first(t, "AWS::CloudFormation::StackSet")["Properties"][
        "AutoDeployment"
    ].update(Enabled=False),
    "LZ-MB-02": lambda t: edit_member_template(
        t,
        lambda m: member_resources(m, "AWS::Config::ConfigurationRecorder")[0]["Properties"][
            "RecordingGroup"
        ].update(AllSupported=False),
    ),
    "LZ-MB-03": lambda t: edit_member_template(
        t,
        lambda m: member_resources(m, "AWS::Lambda::Function")[0]["Properties"]["Code"].update(
            ZipFile="def handler(e, c): pass"
        ),
    ),
    "LZ-MB-04": lambda t: edit_member_template(t, _NOWHERE),
    "LZ-MB-05": lambda t: edit_member_template(t, _boundary_without_its_cap),
    "LZ-MB-06": lambda t: edit_member_template(
        t,
        lambda m: member_resources(m, "Custom::AccountSettings")[0]["Properties"].pop(
            "SessionPrefs"
        ),
    ),
    "LZ-MB-07": lambda t: edit_member_template(
        t,
        lambda m: member_resources(m, "AWS::Backup::BackupVault")[0]["Properties"].pop(
            "LockConfiguration"
        ),
    ),
}


def test_fails_when_the_lock_keeps_backups_less_long_than_the_policy(
    synthesized: Synthesized,
) -> None:
    def shorter(member: dict[str, Any]) -> None:
        vault = member_resources(member, "AWS::Backup::BackupVault")[0]
        vault["Properties"]["LockConfiguration"]["MinRetentionDays"] = 7

    assert_weakening_breaks("LZ-MB-07", lambda t: edit_member_template(t, shorter), synthesized)


def test_fails_when_the_backup_vault_goes_with_its_stack(synthesized: Synthesized) -> None:
    def deletable(member: dict[str, Any]) -> None:
        member_resources(member, "AWS::Backup::BackupVault")[0]["DeletionPolicy"] = "Delete"

    assert_weakening_breaks("LZ-MB-07", lambda t: edit_member_template(t, deletable), synthesized)


def test_fails_when_anyone_may_lift_the_vault_lock(synthesized: Synthesized) -> None:
    def unprotected(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::Organizations::Policy"):
            content = policy["Properties"]["Content"]
            for statement in content.get("Statement", []) if isinstance(content, dict) else []:
                if statement.get("Sid") == "ProtectBaselineStorage":
                    statement["Action"] = [
                        a for a in statement["Action"] if not a.startswith("backup:")
                    ]

    assert_weakening_breaks("LZ-MB-07", unprotected, synthesized)


def _session_input(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set one input of the member template's Session Manager preferences."""

    def edit(member: dict[str, Any]) -> None:
        props = member_resources(member, "Custom::AccountSettings")[0]["Properties"]
        separator, parts = props["SessionPrefs"]["Fn::Join"]
        prefs = json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))
        prefs["inputs"][key] = value
        props["SessionPrefs"] = {"Fn::Join": [separator, [json.dumps(prefs)]]}

    return edit


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("maxSessionDuration", "1440"),
        ("idleSessionTimeout", "60"),
        ("s3EncryptionEnabled", False),
        ("runAsEnabled", True),
        ("kmsKeyId", ""),
        ("cloudWatchLogGroupName", ""),
    ],
)
def test_fails_with_session_manager_preferences_that_leave_sessions_open(
    key: str, value: Any, synthesized: Synthesized
) -> None:
    assert_weakening_breaks(
        "LZ-MB-06", lambda t: edit_member_template(t, _session_input(key, value)), synthesized
    )


def test_fails_without_the_daily_patch_scan_or_default_host_management(
    synthesized: Synthesized,
) -> None:
    def no_scan(member: dict[str, Any]) -> None:
        member["Resources"] = {
            k: r for k, r in member["Resources"].items() if r["Type"] != "AWS::SSM::Association"
        }

    def no_role(member: dict[str, Any]) -> None:
        member_resources(member, "Custom::AccountSettings")[0]["Properties"].pop("InstanceRole")

    def monthly_scan(member: dict[str, Any]) -> None:
        for association in member_resources(member, "AWS::SSM::Association"):
            association["Properties"]["ScheduleExpression"] = "cron(0 2 1 * ? *)"

    for edit in (no_scan, no_role, monthly_scan):
        assert_weakening_breaks(
            "LZ-MB-06", lambda t, e=edit: edit_member_template(t, e), synthesized
        )


def _boundary_without_its_cap(member: dict[str, Any]) -> None:
    (boundary,) = [
        p
        for p in member_resources(member, "AWS::IAM::ManagedPolicy")
        if str(p["Properties"].get("ManagedPolicyName", "")).endswith("-workload-boundary")
    ]
    document = boundary["Properties"]["PolicyDocument"]
    document["Statement"] = [
        s for s in document["Statement"] if s.get("Sid") != "NoPrincipalWithoutTheBoundary"
    ]


def test_fails_when_no_guardrail_requires_the_boundary(synthesized: Synthesized) -> None:
    def drop_requirement(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::Organizations::Policy"):
            content = policy["Properties"]["Content"]
            if isinstance(content, dict):
                content["Statement"] = [
                    s
                    for s in content.get("Statement", [])
                    if s.get("Sid") != "RequireTheWorkloadBoundary"
                ]

    assert_weakening_breaks("LZ-MB-05", drop_requirement, synthesized)


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_when_the_stack_set_drops_stacks_of_leaving_accounts(
    synthesized: Synthesized,
) -> None:
    assert_weakening_breaks(
        "LZ-MB-01",
        lambda t: first(t, "AWS::CloudFormation::StackSet")["Properties"]["AutoDeployment"].update(
            RetainStacksOnAccountRemoval=False
        ),
        synthesized,
    )


def test_fails_without_the_incident_responder_role(synthesized: Synthesized) -> None:
    def drop_role(member: dict[str, Any]) -> None:
        member["Resources"] = {
            logical_id: resource
            for logical_id, resource in member["Resources"].items()
            if not str(resource.get("Properties", {}).get("RoleName", "")).endswith(
                "-incident-responder"
            )
        }

    assert_weakening_breaks("LZ-MB-04", lambda t: edit_member_template(t, drop_role), synthesized)


def _set_principal_arns(suffix: str, arns: list[str] | None) -> Weakening:
    """Replace (or, with None, drop) the aws:PrincipalArn condition of a role's trust."""

    def edit(member: dict[str, Any]) -> None:
        for role in member_resources(member, "AWS::IAM::Role"):
            if str(role["Properties"].get("RoleName", "")).endswith(suffix):
                for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                    for operator in ("ArnEquals", "ArnLike"):
                        conditions = statement.get("Condition", {}).get(operator)
                        if conditions and "aws:PrincipalArn" in conditions:
                            if arns is None:
                                del statement["Condition"][operator]
                            else:
                                conditions["aws:PrincipalArn"] = arns

    return lambda t: edit_member_template(t, edit)


@pytest.mark.parametrize(
    ("suffix", "arns"),
    [
        ("-support", None),
        ("-audit-readonly", ["arn:aws:iam::423456789012:role/*"]),
        ("-support", ["arn:aws:iam::423456789012:role/*/*"]),
        ("-incident-responder", ["*"]),
        ("-audit-readonly", ["arn:aws:iam::423456789012:role/x", "arn:aws:iam::*:role/x"]),
    ],
)
def test_fails_when_an_access_role_trusts_more_than_named_principals(
    suffix: str, arns: list[str] | None, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-MB-04", _set_principal_arns(suffix, arns), synthesized)


def _role(member: dict[str, Any], suffix: str) -> dict[str, Any]:
    (role,) = [
        r
        for r in member_resources(member, "AWS::IAM::Role")
        if str(r["Properties"].get("RoleName", "")).endswith(suffix)
    ]
    return role


def _support_without_support_access(templates: MutableTemplates) -> None:
    edit_member_template(
        templates, lambda m: _role(m, "-support")["Properties"].update(ManagedPolicyArns=[])
    )


def _audit_with_administrator_access(templates: MutableTemplates) -> None:
    edit_member_template(
        templates,
        lambda m: _role(m, "-audit-readonly")["Properties"].update(
            ManagedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"]
        ),
    )


@pytest.mark.parametrize(
    "weaken", [_support_without_support_access, _audit_with_administrator_access]
)
def test_fails_when_an_access_role_has_the_wrong_permissions(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-MB-04", weaken, synthesized)


def test_fails_when_the_boundary_guardrail_is_attached_to_nothing(
    synthesized: Synthesized,
) -> None:
    def detach(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::Organizations::Policy"):
            statements = policy["Properties"]["Content"].get("Statement", [])
            if any(s.get("Sid") == "RequireTheWorkloadBoundary" for s in statements):
                policy["Properties"]["TargetIds"] = []

    assert_weakening_breaks("LZ-MB-05", detach, synthesized)


def _edit_settings_code(old: str, new: str) -> Weakening:
    """A weakening: the account-settings function's code with ``old`` replaced."""

    def edit(member: dict[str, Any]) -> None:
        (function,) = member_resources(member, "AWS::Lambda::Function")
        code = function["Properties"]["Code"]
        assert old in code["ZipFile"], old
        code["ZipFile"] = code["ZipFile"].replace(old, new)

    return lambda t: edit_member_template(t, edit)


def _never_in_the_home_region(templates: MutableTemplates) -> None:
    edit_member_template(
        templates,
        lambda m: member_resources(m, "Custom::AccountSettings")[0]["Properties"].update(
            HomeRegion="false"
        ),
    )


@pytest.mark.parametrize(
    "weaken",
    [
        _edit_settings_code("MinimumPasswordLength=14", "MinimumPasswordLength=8"),
        _edit_settings_code("PasswordReusePrevention=24", "PasswordReusePrevention=1"),
        _edit_settings_code(" default_vpcs(p, ec2)\n", " pass\n"),
        _never_in_the_home_region,
    ],
    ids=["length 8", "reuse 1", "default VPCs left open", "home region never"],
)
def test_fails_when_the_account_settings_are_weaker_than_cis(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-MB-03", weaken, synthesized)


def _boundary_inverted(member: dict[str, Any]) -> None:
    """The boundary denies creating a principal only *with* the boundary."""
    (boundary,) = [
        p
        for p in member_resources(member, "AWS::IAM::ManagedPolicy")
        if str(p["Properties"].get("ManagedPolicyName", "")).endswith("-workload-boundary")
    ]
    for statement in boundary["Properties"]["PolicyDocument"]["Statement"]:
        if statement.get("Sid") == "NoPrincipalWithoutTheBoundary":
            rename_operator(statement, "ArnNotLike", "ArnLike")


@pytest.mark.parametrize(
    "weaken",
    [
        lambda t: edit_member_template(t, _boundary_inverted),
        edit_policy_statement(
            "SERVICE_CONTROL_POLICY",
            "RequireTheWorkloadBoundary",
            lambda s: rename_operator(s, "ArnNotLike", "ArnLike"),
        ),
    ],
    ids=["member boundary", "guardrail"],
)
def test_fails_when_the_boundary_is_required_under_an_inverted_operator(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-MB-05", weaken, synthesized)


def _in_the_management_baseline(stack: str, edit: Callable[[dict[str, Any]], None]) -> Weakening:
    """A weakening: ``edit`` the resources of one region's ManagementBaseline stack (the
    management account's copy of the baseline), the member template left as it is."""
    return lambda t: edit(t[f"ManagementBaseline-{stack}"]["Resources"])


def _drop_type(resource_type: str) -> Callable[[dict[str, Any]], None]:
    def drop(resources_: dict[str, Any]) -> None:
        for logical_id in [k for k, r in resources_.items() if r["Type"] == resource_type]:
            del resources_[logical_id]

    return drop


def _drop_role(suffix: str) -> Callable[[dict[str, Any]], None]:
    def drop(resources_: dict[str, Any]) -> None:
        (logical_id,) = [
            k
            for k, r in resources_.items()
            if r["Type"] == "AWS::IAM::Role"
            and str(r["Properties"].get("RoleName", "")).endswith(suffix)
        ]
        del resources_[logical_id]

    return drop


def _boundary_policy_inverted(resources_: dict[str, Any]) -> None:
    for statement in resources_["WorkloadBoundary"]["Properties"]["PolicyDocument"]["Statement"]:
        if statement.get("Sid") == "NoPrincipalWithoutTheBoundary":
            rename_operator(statement, "ArnNotLike", "ArnLike")


def _drop_workload_boundary(resources_: dict[str, Any]) -> None:
    del resources_["WorkloadBoundary"]


@pytest.mark.parametrize(
    ("control_id", "stack", "edit"),
    [
        ("LZ-MB-02", "eu-central-1", _drop_type("AWS::Config::ConfigurationRecorder")),
        ("LZ-MB-02", "us-east-1", _drop_type("AWS::Config::DeliveryChannel")),
        ("LZ-MB-03", "eu-west-1", _drop_type("Custom::AccountSettings")),
        ("LZ-MB-04", "eu-west-1", _drop_role("-support")),
        ("LZ-MB-04", "eu-west-1", _drop_role("-audit-readonly")),
        ("LZ-MB-05", "eu-west-1", _drop_workload_boundary),
        ("LZ-MB-05", "eu-west-1", _boundary_policy_inverted),
    ],
    ids=[
        "MB-02 no recorder",
        "MB-02 no delivery channel",
        "MB-03 no account settings",
        "MB-04 no support role",
        "MB-04 no audit role",
        "MB-05 no boundary",
        "MB-05 boundary inverted",
    ],
)
def test_fails_when_the_management_accounts_baseline_lacks_it(
    control_id: str,
    stack: str,
    edit: Callable[[dict[str, Any]], None],
    synthesized: Synthesized,
) -> None:
    assert_weakening_breaks(control_id, _in_the_management_baseline(stack, edit), synthesized)


def _in_every_management_baseline(edit: Callable[[dict[str, Any]], None]) -> Weakening:
    def weaken(templates: MutableTemplates) -> None:
        for stack, template in templates.items():
            if stack.startswith("ManagementBaseline-"):
                edit(template)

    return weaken


#: The home-region condition made false, or unreadable, everywhere it is read.
_HOME_REGIONS = {
    "nowhere": _NOWHERE,
    "an import": _home_region(
        {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Fn::ImportValue": "HomeRegion"}]}
    ),
    "a parameter": _home_region({"Fn::Equals": [{"Ref": "HomeRegion"}, "eu-west-1"]}),
    "and false": _home_region(
        {
            "Fn::And": [
                {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
                {"Fn::Equals": ["a", "b"]},
            ]
        }
    ),
}


@pytest.mark.parametrize("control_id", ["LZ-MB-03", "LZ-MB-04", "LZ-MB-05", "LZ-ID-04"])
@pytest.mark.parametrize("where", ["member", "management"])
@pytest.mark.parametrize("home", _HOME_REGIONS)
def test_fails_when_the_home_region_condition_holds_in_no_region(
    control_id: str, where: str, home: str, synthesized: Synthesized
) -> None:
    """The account-wide settings, roles and boundary are created only where IsHomeRegion
    holds: a copy whose condition holds in none of its regions creates none of them."""
    edit = _HOME_REGIONS[home]
    weaken = (
        (lambda t: edit_member_template(t, edit))
        if where == "member"
        else _in_every_management_baseline(edit)
    )
    assert_weakening_breaks(control_id, weaken, synthesized)


@pytest.mark.parametrize(
    "home",
    [
        {"Fn::Equals": ["eu-west-1", {"Ref": "AWS::Region"}]},
        {
            "Fn::Or": [
                {"Fn::Equals": [{"Ref": "Unknown"}, "x"]},
                {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
            ]
        },
        {"Fn::Not": [{"Condition": "Elsewhere"}]},
    ],
    ids=["reversed", "or", "not elsewhere"],
)
def test_a_home_region_condition_that_holds_in_a_region_of_the_copy_is_evidence(
    home: Any, synthesized: Synthesized
) -> None:
    """The other side of the cases above: the check reads the condition, not its form."""

    def edit(template: dict[str, Any]) -> None:
        template["Conditions"]["IsHomeRegion"] = home
        template["Conditions"]["Elsewhere"] = {
            "Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}]
        }

    templates = weakened(synthesized, lambda t: edit_member_template(t, edit))
    for control_id in ("LZ-MB-03", "LZ-MB-04", "LZ-MB-05", "LZ-ID-04"):
        assert control(control_id).check(templates).holds, control_id
