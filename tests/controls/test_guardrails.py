"""Guardrail controls (baseline/controls/guardrails.py): each fails once its guardrail is removed."""

from __future__ import annotations

import pytest

from baseline.controls import resources
from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    detach_policy_type,
    drop_policy_statements,
    drop_scp_statements,
    first,
    policy_statements,
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
