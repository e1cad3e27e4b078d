"""Identity controls: how people get into the accounts (IAM Identity Center)."""

from __future__ import annotations

import re

from baseline.controls.model import Control, Evidence, Templates, control, properties, resources

CONTROLS: list[Control] = []

_SESSION = re.compile(r"^PT(\d+)H$")


@control(
    CONTROLS,
    id="LZ-ID-01",
    title="People sign in through Identity Center for sessions of at most 12 hours",
    explanation=(
        "Every permission set has a session of 1 to 12 hours, the Administrator set one "
        "hour, and every assignment gives a group or user a permission set on one "
        "account."
    ),
    best_practices=("SEC02-BP04", "SEC03-BP01", "SEC03-BP02"),
    implemented_by="baseline.stacks.identity_center.IdentityCenterStack",
)
def check_identity_center_sessions(templates: Templates) -> Evidence:
    """Sessions of 1-12 hours, Administrator's 1; assignments target accounts."""
    evidence = Evidence()
    for name, permission_set in resources(templates, "AWS::SSO::PermissionSet"):
        props = properties(permission_set)
        match = _SESSION.match(str(props.get("SessionDuration", "")))
        hours = int(match.group(1)) if match else 0
        limit = 1 if props.get("Name") == "Administrator" else 12
        evidence.record(f"{name} ({props.get('Name')})", 1 <= hours <= limit)
    for name, assignment in resources(templates, "AWS::SSO::Assignment"):
        props = properties(assignment)
        ok = props.get("TargetType") == "AWS_ACCOUNT" and props.get("PrincipalType") in (
            "GROUP",
            "USER",
        )
        evidence.record(name, ok)
    return evidence
