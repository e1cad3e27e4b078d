"""Detection controls (baseline/controls/detection.py): each fails once its property is removed."""

from __future__ import annotations

import pytest

from tests.conftest import Synthesized
from tests.controls.helpers import MutableTemplates, Weakening, assert_weakening_breaks, first

WEAKENINGS: dict[str, Weakening] = {
    "LZ-DET-01": lambda t: first(t, "Custom::OrganizationSettings")["Properties"].update(
        ServiceAdministrators={}
    ),
    "LZ-DET-02": lambda t: first(t, "AWS::SecurityHub::ConfigurationPolicy")["Properties"][
        "ConfigurationPolicy"
    ]["SecurityHub"].update(EnabledStandardIdentifiers=[]),
    "LZ-DET-03": lambda t: first(
        t,
        "AWS::Events::Rule",
        lambda r: r["Properties"]["EventPattern"]["source"] == ["aws.guardduty"],
    )["Properties"].pop("Targets"),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_without_a_finding_aggregator(synthesized: Synthesized) -> None:
    def drop_aggregators(templates: MutableTemplates) -> None:
        for stack in templates.values():
            for logical_id, resource in list(stack.get("Resources", {}).items()):
                if resource["Type"] == "AWS::SecurityHub::FindingAggregator":
                    del stack["Resources"][logical_id]

    assert_weakening_breaks("LZ-DET-02", drop_aggregators, synthesized)
