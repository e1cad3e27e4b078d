"""Identity controls (baseline/controls/identity.py): each fails once its property is removed."""

from __future__ import annotations

import pytest

from tests.conftest import Synthesized
from tests.controls.helpers import Weakening, assert_weakening_breaks, first

WEAKENINGS: dict[str, Weakening] = {
    "LZ-ID-01": lambda t: first(
        t, "AWS::SSO::PermissionSet", lambda r: r["Properties"]["Name"] == "Administrator"
    )["Properties"].update(SessionDuration="PT8H"),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_on_a_session_over_twelve_hours(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-ID-01",
        lambda t: first(
            t, "AWS::SSO::PermissionSet", lambda r: r["Properties"]["Name"] == "ReadOnly"
        )["Properties"].update(SessionDuration="PT13H"),
        synthesized,
    )


def test_fails_on_an_assignment_that_is_not_to_one_account(synthesized: Synthesized) -> None:
    """The assignments live in the nested shard templates; the check reads them there."""
    assert_weakening_breaks(
        "LZ-ID-01",
        lambda t: first(t, "AWS::SSO::Assignment")["Properties"].update(
            TargetType="ALL_PROVISIONED_ACCOUNTS"
        ),
        synthesized,
    )
