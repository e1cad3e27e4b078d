"""``python -m baseline contain``: contain a compromised EC2 instance, from the audit account.

The playbook's first hour as one command (docs/incident-response.md), the same steps the
audit account's containment function takes on a high GuardDuty finding
(``baseline/handlers/containment.py`` says each one). Run with the audit account's
IncidentResponse credentials: it assumes the member account's ``<prefix>-incident-responder``
role, which can contain and collect and never destroy, and prints each step with PASS or
FAIL. It keeps no evidence in the evidence bucket (only the containment function writes
there); the snapshots it takes are evidence, tagged with the case.

It is idempotent and safe on partial failure, and never stops, terminates or deletes
anything. Standard library and boto3 only.
"""

from __future__ import annotations

import re
from typing import Any

from baseline import naming
from baseline.config import LandingZoneConfig
from baseline.defaults import CASE_TAG, EVIDENCE_TAG, QUARANTINE_TAG
from baseline.handlers import containment
from baseline.handlers.containment import DENY_ALL, ClientFactory, Containment, Target
from baseline.operations import CommandError, created_account, governed_region

__all__ = ["DENY_ALL", "Containment", "Target", "calls", "responder_clients", "target_for"]

_INSTANCE = re.compile(r"^i-[0-9a-f]{8,17}\Z")
_CASE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


def calls(target: Target) -> list[str]:
    """What a run calls, for ``--dry-run``."""
    return [
        f"sts AssumeRole {target.responder_role_arn}",
        f"ec2 DescribeInstances {target.instance_id} in {target.region}",
        f"ec2 CreateTags {CASE_TAG}={target.case_id} on {target.instance_id} (unless it has a "
        "case: then that case is used throughout)",
        "autoscaling DescribeAutoScalingInstances and DetachInstances (keeping the "
        "group's size: it launches a replacement)",
        "ec2 DescribeSnapshots (this case's, per volume) and CreateSnapshot for each "
        f"volume without one, tagged {CASE_TAG}={target.case_id} and {EVIDENCE_TAG}={target.case_id}",
        f"ec2 CreateTags {CASE_TAG} (the case) on each of its network interfaces, whose "
        "groups the guardrail then keeps",
        f"ec2 DescribeSecurityGroups / CreateSecurityGroup {target.group_name} in each VPC "
        f"of its interfaces (tagged {QUARANTINE_TAG}=true), AuthorizeSecurityGroupIngress/"
        "Egress of all traffic (so that no flow is tracked)",
        "ec2 ModifyNetworkInterfaceAttribute of each interface to that group alone",
        "ec2 DescribeSecurityGroupRules and RevokeSecurityGroupIngress/Egress of the group's "
        "every rule, until none is left (if it stays open: ModifyNetworkInterfaceAttribute "
        "of each interface back to its own groups)",
        "ec2 DescribeIamInstanceProfileAssociations and ReplaceIamInstanceProfileAssociation "
        f"with {target.quarantine_profile_arn}",
        "iam GetInstanceProfile, GetRolePolicy and PutRolePolicy "
        f"{containment.CONTAINED_INSTANCE_POLICY}{target.instance_id} on its role: a deny of "
        "every request made with credentials the role issued to this instance "
        "(ec2:SourceInstanceARN)",
        *(
            ["iam GetInstanceProfile and AttachRolePolicy AWSDenyAll to its role"]
            if target.quarantine_role
            else []
        ),
    ]


def target_for(
    config: LandingZoneConfig,
    *,
    account: str,
    instance: str,
    case: str,
    region: str | None = None,
    quarantine_role: bool = False,
) -> Target:
    """The target, or a :class:`CommandError` naming every bad input."""
    problems: list[str] = []
    found = created_account(config, account, problems)
    if found is not None and found.role.value == "management":
        problems.append(
            "--account: the management account has no responder role (no SCP would bound "
            "it); contain there by hand, with break-glass"
        )
    region = governed_region(config, region, problems)
    if not _INSTANCE.match(instance):
        problems.append(f"--instance: {instance!r} is not an instance id like i-0123456789abcdef0")
    if not _CASE.match(case):
        problems.append(f"--case: {case!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if problems:
        raise CommandError(problems)
    assert found is not None and found.id is not None
    return Target(
        prefix=config.organization.prefix,
        account_name=found.name,
        account_id=found.id,
        region=region,
        instance_id=instance,
        case_id=case,
        quarantine_role=quarantine_role,
    )


def responder_clients(target: Target, sts: Any) -> ClientFactory:
    """Clients in the member account, as its incident-responder role."""
    assert target.responder_role_arn.endswith(naming.incident_responder_role(target.prefix))
    return containment.responder_clients(
        target.account_id, target.prefix, target.region, target.case_id, sts
    )
