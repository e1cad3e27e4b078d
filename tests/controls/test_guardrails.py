"""Guardrail controls (baseline/controls/guardrails.py): each fails once its guardrail is removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from baseline.controls import resources
from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Statement,
    Weakening,
    assert_weakening_breaks,
    detach_policy_type,
    drop_policy_statements,
    drop_scp_statements,
    edit_policy_statement,
    first,
    policy_statements,
    rename_operator,
    sid,
)


def _bloat_an_scp(templates: MutableTemplates) -> None:
    """One SCP grows past the 5,120-character quota."""
    statements = policy_statements(templates, "SERVICE_CONTROL_POLICY")
    statements[0]["Action"] = [
        *statements[0]["Action"],
        *[f"svc:Action{i:05d}" for i in range(400)],
    ]


def _imds_default_optional(templates: MutableTemplates) -> None:
    """The declarative EC2 policy makes IMDSv1 the default again."""
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == "DECLARATIVE_POLICY_EC2":
            attributes = policy["Properties"]["Content"]["ec2_attributes"]
            if "instance_metadata_defaults" in attributes:
                attributes["instance_metadata_defaults"]["http_tokens"]["@@assign"] = "optional"


WEAKENINGS: dict[str, Weakening] = {
    "LZ-ORG-01": lambda t: first(t, "AWS::Organizations::OrganizationalUnit").update(
        DeletionPolicy="Delete"
    ),
    "LZ-ORG-02": lambda t: detach_policy_type(t, "AISERVICES_OPT_OUT_POLICY"),
    "LZ-GR-01": _bloat_an_scp,
    "LZ-GR-02": drop_scp_statements("DenyRootUser"),
    "LZ-GR-03": drop_scp_statements("ProtectSecurityServices"),
    "LZ-GR-04": drop_scp_statements("DenyLongTermCredentials"),
    "LZ-GR-05": drop_scp_statements("DenyUngovernedRegions"),
    "LZ-GR-06": _imds_default_optional,
    "LZ-GR-07": lambda t: detach_policy_type(t, "RESOURCE_CONTROL_POLICY"),
    "LZ-ROOT-01": lambda t: first(t, "Custom::OrganizationSettings")["Properties"].update(
        CentralizedRootAccess="false"
    ),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_when_a_target_has_five_scps(synthesized: Synthesized) -> None:
    def attach_a_fifth(templates: MutableTemplates) -> None:
        root_policies = [
            p
            for _, p in resources(templates, "AWS::Organizations::Policy")
            if p["Properties"]["Type"] == "SERVICE_CONTROL_POLICY"
            and any(str(t).startswith("r-") for t in p["Properties"]["TargetIds"])
        ]
        for index in range(5 - len(root_policies)):
            templates["Organization"]["Resources"][f"ExtraScp{index}"] = root_policies[0]

    assert_weakening_breaks("LZ-GR-01", attach_a_fifth, synthesized)


def test_fails_without_security_contacts(synthesized: Synthesized) -> None:
    def drop_account_stacks(templates: MutableTemplates) -> None:
        for stack in templates.values():
            for logical_id, resource in list(stack.get("Resources", {}).items()):
                if resource["Type"] == "Custom::OrganizationAccounts":
                    del stack["Resources"][logical_id]

    assert_weakening_breaks("LZ-ROOT-01", drop_account_stacks, synthesized)


def test_fails_without_the_imdsv2_scp(synthesized: Synthesized) -> None:
    """The declarative default alone does not hold: launches must also require IMDSv2."""
    assert_weakening_breaks("LZ-GR-06", drop_scp_statements("RequireImdsv2"), synthesized)


@pytest.mark.parametrize(
    "statement",
    ["EnforceOrgIdentities", "EnforceConfusedDeputyProtection", "EnforceSecureTransport"],
)
def test_fails_without_one_of_the_perimeter_statements(
    statement: str, synthesized: Synthesized
) -> None:
    """Each perimeter statement counts: the other two do not stand in for it."""
    assert_weakening_breaks(
        "LZ-GR-07",
        lambda t: drop_policy_statements(t, "RESOURCE_CONTROL_POLICY", sid(statement)),
        synthesized,
    )


def test_fails_when_the_root_has_no_free_slot(synthesized: Synthesized) -> None:
    def take_the_spare_slot(templates: MutableTemplates) -> None:
        root_policies = [
            p
            for _, p in resources(templates, "AWS::Organizations::Policy")
            if p["Properties"]["Type"] == "SERVICE_CONTROL_POLICY"
            and any(str(t).startswith("r-") for t in p["Properties"]["TargetIds"])
        ]
        assert len(root_policies) == 3  # the example uses every slot it may
        templates["Organization"]["Resources"]["FourthRootScp"] = root_policies[0]

    assert_weakening_breaks("LZ-GR-01", take_the_spare_slot, synthesized)


def _secure_transport_true(statement: Statement) -> None:
    statement["Condition"]["BoolIfExists"]["aws:SecureTransport"] = "true"


@pytest.mark.parametrize(
    ("control_id", "policy_type", "statement_sid", "edit"),
    [
        (
            "LZ-GR-02",
            "SERVICE_CONTROL_POLICY",
            "DenyRootUser",
            lambda s: rename_operator(s, "ArnLike", "ArnNotLike"),
        ),
        (
            "LZ-GR-05",
            "SERVICE_CONTROL_POLICY",
            "DenyUngovernedRegions",
            lambda s: rename_operator(s, "StringNotEquals", "StringEquals"),
        ),
        (
            "LZ-GR-06",
            "SERVICE_CONTROL_POLICY",
            "RequireImdsv2",
            lambda s: rename_operator(s, "StringNotEquals", "StringEquals"),
        ),
        ("LZ-GR-07", "RESOURCE_CONTROL_POLICY", "EnforceSecureTransport", _secure_transport_true),
        (
            "LZ-GR-07",
            "RESOURCE_CONTROL_POLICY",
            "EnforceOrgIdentities",
            lambda s: rename_operator(s, "StringNotEqualsIfExists", "StringEqualsIfExists"),
        ),
        (
            "LZ-GR-07",
            "RESOURCE_CONTROL_POLICY",
            "EnforceConfusedDeputyProtection",
            lambda s: rename_operator(s, "StringNotEqualsIfExists", "StringEqualsIfExists"),
        ),
    ],
    ids=[
        "GR-02 root user spared",
        "GR-05 governed regions denied",
        "GR-06 IMDSv2 launches denied",
        "GR-07 TLS denied",
        "GR-07 the organisation denied",
        "GR-07 services acting for the organisation denied",
    ],
)
def test_fails_when_the_condition_operator_is_inverted(
    control_id: str,
    policy_type: str,
    statement_sid: str,
    edit: Callable[[Statement], None],
    synthesized: Synthesized,
) -> None:
    """The same key and value under the opposite operator denies the wrong requests."""
    assert_weakening_breaks(
        control_id, edit_policy_statement(policy_type, statement_sid, edit), synthesized
    )


def _account_settings(templates: MutableTemplates, stack: str) -> dict[str, Any]:
    settings: dict[str, Any]
    (settings,) = [
        r["Properties"]
        for r in templates[stack]["Resources"].values()
        if r["Type"] == "Custom::OrganizationAccounts"
    ]
    return settings


def _created_account_left_out(templates: MutableTemplates) -> None:
    """The account the stack creates (fleet-dev) gets no security contact."""
    settings = _account_settings(templates, "Accounts03")
    settings["AccountIds"] = [a for a in settings["AccountIds"] if not isinstance(a, dict)]


def _placed_account_left_out(templates: MutableTemplates) -> None:
    """An account the stack places in an OU gets no security contact."""
    settings = _account_settings(templates, "Accounts02")
    placed = settings["Placements"][-1]["AccountId"]
    settings["AccountIds"] = [a for a in settings["AccountIds"] if a != placed]


def _contact_without(*keys: str) -> Weakening:
    def weaken(templates: MutableTemplates) -> None:
        for _, resource in resources(templates, "Custom::OrganizationAccounts"):
            for key in keys:
                resource["Properties"]["SecurityContact"].pop(key)

    return weaken


@pytest.mark.parametrize(
    "weaken",
    [
        _created_account_left_out,
        _placed_account_left_out,
        _contact_without("EmailAddress"),
        _contact_without("PhoneNumber"),
        _contact_without("EmailAddress", "PhoneNumber", "Title"),
    ],
    ids=["created account", "placed account", "no email", "no phone", "a name only"],
)
def test_fails_when_an_account_has_no_reachable_security_contact(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-ROOT-01", weaken, synthesized)


def _edit_root_policy(policy_type: str, edit: Callable[[dict[str, Any]], None]) -> Weakening:
    """A weakening: apply ``edit`` to the content of every policy of a type."""

    def weaken(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::Organizations::Policy"):
            if policy["Properties"]["Type"] == policy_type:
                edit(policy["Properties"]["Content"])

    return weaken


def _assign(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(content: dict[str, Any]) -> None:
        node = content
        for key in path:
            if key not in node:
                return  # a policy of the type without this setting
            node = node[key]
        node["@@assign"] = value

    return edit


@pytest.mark.parametrize(
    "weaken",
    [
        _edit_root_policy("DECLARATIVE_POLICY_EC2", lambda c: c.update(ec2_attributes={})),
        _edit_root_policy("TAG_POLICY", lambda c: c.update(tags={})),
        _edit_root_policy("AISERVICES_OPT_OUT_POLICY", lambda c: c.update(services={})),
        _edit_root_policy("BACKUP_POLICY", lambda c: c.update(plans={})),
        _edit_root_policy(
            "DECLARATIVE_POLICY_EC2",
            _assign("ec2_attributes", "snapshot_block_public_access", "state", value="unblocked"),
        ),
        _edit_root_policy(
            "DECLARATIVE_POLICY_EC2",
            _assign("ec2_attributes", "serial_console_access", "status", value="enabled"),
        ),
        _edit_root_policy(
            "TAG_POLICY", _assign("tags", "data-classification", "tag_value", value=["public"])
        ),
        _edit_root_policy(
            "AISERVICES_OPT_OUT_POLICY",
            _assign("services", "default", "opt_out_policy", value="optIn"),
        ),
        _edit_root_policy(
            "BACKUP_POLICY", lambda c: next(iter(c["plans"].values())).pop("selections")
        ),
    ],
    ids=[
        "EC2 empty",
        "tags empty",
        "AI opt-out empty",
        "backup empty",
        "public snapshots",
        "serial console on",
        "one classification value",
        "AI opt in",
        "backup selects nothing",
    ],
)
def test_fails_when_a_root_policy_is_emptied_or_weakened(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-ORG-02", weaken, synthesized)
