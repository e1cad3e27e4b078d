"""Guardrail controls: the organisation's structure, its SCPs, RCPs and other
organisation policies, and the protection of root credentials."""

from __future__ import annotations

import json
from typing import Any

from baseline.controls.model import (
    DENY_UNLESS,
    ONLY_IF,
    Control,
    Evidence,
    Templates,
    actions,
    as_list,
    condition_values,
    control,
    is_root,
    org_policies,
    properties,
    resources,
    retained,
    root_denies,
)

CONTROLS: list[Control] = []


@control(
    CONTROLS,
    id="LZ-ORG-01",
    title="OUs and accounts created by the kit survive stack deletion and replacement",
    explanation=(
        "Every organisational unit and account resource is kept (Retain or "
        "RetainExceptOnCreate, and Retain on replacement) when its stack deletes or "
        "replaces it."
    ),
    best_practices=("SEC01-BP01",),
    implemented_by="baseline.stacks.organization.OrganizationStack",
)
def check_structure_retained(templates: Templates) -> Evidence:
    """Every OU and account resource is retained."""
    evidence = Evidence()
    for resource_type in ("AWS::Organizations::OrganizationalUnit", "AWS::Organizations::Account"):
        for name, resource in resources(templates, resource_type):
            evidence.record(name, retained(resource))
    return evidence


def _assigned(node: Any, *path: str) -> Any:
    """The ``@@assign`` value at a path of an organisation policy document (None if absent)."""
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node.get("@@assign") if isinstance(node, dict) else None


def _ec2_baseline(content: dict[str, Any]) -> bool:
    """Allowed AMIs on (enabled or audit mode), no public snapshot sharing, no new public
    AMI sharing, serial console off."""
    attributes = content.get("ec2_attributes", {})
    return (
        _assigned(attributes, "allowed_images_settings", "state") in ("enabled", "audit_mode")
        and _assigned(attributes, "snapshot_block_public_access", "state") == "block_all_sharing"
        and _assigned(attributes, "image_block_public_access", "state") == "block_new_sharing"
        and _assigned(attributes, "serial_console_access", "status") == "disabled"
    )


#: The data-classification tag and its values (baseline.guardrails.org_policies).
_CLASSIFICATION_TAG = "data-classification"
_CLASSIFICATION_VALUES = {"public", "internal", "confidential", "restricted"}


def _classification_tag(content: dict[str, Any]) -> bool:
    """The data-classification tag key, its four values, enforced on some resource type."""
    tag = content.get("tags", {}).get(_CLASSIFICATION_TAG, {})
    values = _assigned(tag, "tag_value")
    return (
        _assigned(tag, "tag_key") == _CLASSIFICATION_TAG
        and isinstance(values, list)
        and set(values) == _CLASSIFICATION_VALUES
        and bool(_assigned(tag, "enforced_for"))
    )


def _ai_opt_out(content: dict[str, Any]) -> bool:
    """Every AI service (``default``) opted out."""
    return bool(_assigned(content.get("services", {}), "default", "opt_out_policy") == "optOut")


def _backup_plan(content: dict[str, Any]) -> bool:
    """A plan with regions, every rule scheduled into a named vault, and a tag selection
    naming a role."""
    plans = [p for p in content.get("plans", {}).values() if isinstance(p, dict)]
    return any(
        bool(_assigned(plan, "regions"))
        and bool(rules := [r for r in plan.get("rules", {}).values() if isinstance(r, dict)])
        and all(
            _assigned(r, "schedule_expression") and _assigned(r, "target_backup_vault_name")
            for r in rules
        )
        and bool(selections := list(plan.get("selections", {}).get("tags", {}).values()))
        and all(_assigned(sel, "tag_key") and _assigned(sel, "iam_role_arn") for sel in selections)
        for plan in plans
    )


_ROOT_POLICY_CONTENT = {
    "DECLARATIVE_POLICY_EC2": _ec2_baseline,
    "TAG_POLICY": _classification_tag,
    "AISERVICES_OPT_OUT_POLICY": _ai_opt_out,
    "BACKUP_POLICY": _backup_plan,
}


@control(
    CONTROLS,
    id="LZ-ORG-02",
    title="Declarative EC2, tag, AI opt-out and backup policies are attached at the root",
    explanation=(
        "The root has a policy of each type with its content: a declarative EC2 policy "
        "that turns allowed AMIs on (enabled or audit mode), blocks all public snapshot "
        "sharing and new public AMI sharing and turns the serial console off; a tag "
        "policy of the data-classification key with its four values, enforced for some "
        "resource types; an AI-services opt-out policy opting every service out; and a "
        "backup policy with a plan whose rules are scheduled into a named vault and whose "
        "tag selection names a role."
    ),
    best_practices=("SEC07-BP01", "SEC10-BP03"),
    implemented_by="baseline.guardrails.org_policies",
)
def check_org_policy_types(templates: Templates) -> Evidence:
    """The declarative EC2, tag, AI opt-out and backup policies are attached at the root,
    each with its content."""
    evidence = Evidence()
    for policy_type, holds in _ROOT_POLICY_CONTENT.items():
        names = [
            name
            for name, content in org_policies(templates, policy_type, at_root=True)
            if holds(content)
        ]
        evidence.record(f"{policy_type}: {names}", bool(names))
    return evidence


@control(
    CONTROLS,
    id="LZ-GR-01",
    title="Every SCP and RCP fits the size quota; a free slot at the root",
    explanation=(
        "Every SCP and RCP is at most 5,120 characters, and no target has more than four "
        "of a type attached, which leaves the fifth place to the AWS-managed policy; the "
        "root has at most three, so one slot stays free for CloudFormation to attach a "
        "replacing policy before it detaches the old one."
    ),
    best_practices=("SEC03-BP05", "SEC01-BP06"),
    implemented_by="baseline.guardrails.packer",
)
def check_policy_limits(templates: Templates) -> Evidence:
    """Every SCP and RCP fits 5,120 characters; at most four of a type per target, three at
    the root."""
    evidence = Evidence()
    per_target: dict[tuple[str, str], int] = {}
    roots: set[str] = set()
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        for name, policy in resources(templates, "AWS::Organizations::Policy"):
            props = properties(policy)
            if props.get("Type") != policy_type:
                continue
            content = props["Content"]
            size = len(
                content if isinstance(content, str) else json.dumps(content, separators=(",", ":"))
            )
            evidence.record(f"{name}: {size}", size <= 5120)
            for target in props.get("TargetIds", []):
                key = (policy_type, json.dumps(target, sort_keys=True))
                per_target[key] = per_target.get(key, 0) + 1
                if is_root(target):
                    roots.add(key[1])
    evidence.violations += [
        f"{t}: {n} {p}" for (p, t), n in per_target.items() if n > (3 if t in roots else 4)
    ]
    return evidence


@control(
    CONTROLS,
    id="LZ-GR-02",
    title="The root user of every member account is denied all actions",
    explanation=(
        "An SCP attached at the root denies every action (`*`) to principals matching "
        "`arn:aws:iam::*:root` (aws:PrincipalArn under ArnLike, ArnEquals, StringLike or "
        "StringEquals)."
    ),
    best_practices=("SEC01-BP02",),
    cis=("1.3", "1.6"),
    implemented_by="baseline.guardrails.scps (SCP-ROOT-USER)",
)
def check_root_user_denied(templates: Templates) -> Evidence:
    """An SCP at the root denies ``*`` to the root user of every account."""
    return root_denies(
        templates,
        "SERVICE_CONTROL_POLICY",
        lambda s: (
            "*" in actions(s)
            and any(
                "arn:aws:iam::*:root" in as_list(v)
                for v in condition_values(s, "aws:PrincipalArn", operators=ONLY_IF)
            )
        ),
    )


@control(
    CONTROLS,
    id="LZ-GR-03",
    title="No member account can stop CloudTrail, Config, GuardDuty or Security Hub",
    explanation=(
        "An SCP attached at the root denies, in one statement, cloudtrail:StopLogging, "
        "config:StopConfigurationRecorder, guardduty:DeleteDetector and "
        "securityhub:DisableSecurityHub."
    ),
    best_practices=("SEC04-BP01", "SEC03-BP05"),
    cis=("3.1", "3.3"),
    implemented_by="baseline.guardrails.scps (SCP-SECURITY-SERVICES)",
)
def check_security_services_protected(templates: Templates) -> Evidence:
    """An SCP at the root denies stopping or deleting the four security services."""
    return root_denies(
        templates,
        "SERVICE_CONTROL_POLICY",
        lambda s: (
            {
                "cloudtrail:stoplogging",
                "config:stopconfigurationrecorder",
                "guardduty:deletedetector",
                "securityhub:disablesecurityhub",
            }
            <= actions(s)
        ),
    )


@control(
    CONTROLS,
    id="LZ-GR-04",
    title="IAM users and access keys are denied: temporary credentials only",
    explanation=(
        "An SCP attached at the root denies, in one statement, iam:CreateUser and "
        "iam:CreateAccessKey."
    ),
    best_practices=("SEC02-BP02",),
    implemented_by="baseline.guardrails.scps (SCP-NO-IAM-USERS)",
)
def check_no_iam_users(templates: Templates) -> Evidence:
    """An SCP at the root denies creating IAM users and access keys."""
    return root_denies(
        templates,
        "SERVICE_CONTROL_POLICY",
        lambda s: {"iam:createuser", "iam:createaccesskey"} <= actions(s),
    )


@control(
    CONTROLS,
    id="LZ-GR-05",
    title="Requests outside the governed regions are denied, global services excepted",
    explanation=(
        "An SCP attached at the root has a Deny on a NotAction list (the global services) "
        "unless aws:RequestedRegion is a governed region (StringNotEquals or StringNotLike)."
    ),
    best_practices=("SEC01-BP05",),
    implemented_by="baseline.guardrails.scps (SCP-REGION-DENY)",
)
def check_region_deny(templates: Templates) -> Evidence:
    """An SCP at the root denies everything but global services outside the regions."""
    return root_denies(
        templates,
        "SERVICE_CONTROL_POLICY",
        lambda s: (
            bool(condition_values(s, "aws:RequestedRegion", operators=DENY_UNLESS))
            and "NotAction" in s
        ),
    )


@control(
    CONTROLS,
    id="LZ-GR-06",
    title="Instances use IMDSv2: required at launch and the account default",
    explanation=(
        "An SCP attached at the root denies ec2:RunInstances unless ec2:MetadataHttpTokens "
        "is required (StringNotEquals or StringNotLike), and a declarative EC2 policy at the root sets http_tokens to "
        "required as the account default."
    ),
    best_practices=("SEC06-BP02",),
    implemented_by="baseline.guardrails.scps (SCP-IMDSV2), baseline.guardrails.org_policies",
)
def check_imdsv2_required(templates: Templates) -> Evidence:
    """IMDSv2 is required at launch by an SCP and the default by a declarative policy."""
    evidence = root_denies(
        templates,
        "SERVICE_CONTROL_POLICY",
        lambda s: (
            "ec2:runinstances" in actions(s)
            and "required" in condition_values(s, "ec2:MetadataHttpTokens", operators=DENY_UNLESS)
        ),
    )
    declarative = [
        name
        for name, content in org_policies(templates, "DECLARATIVE_POLICY_EC2", at_root=True)
        if content.get("ec2_attributes", {})
        .get("instance_metadata_defaults", {})
        .get("http_tokens", {})
        .get("@@assign")
        == "required"
    ]
    if not evidence.found:
        evidence.violations.append("no SCP at the root requires IMDSv2 at launch")
    if not declarative:
        evidence.violations.append(
            "no declarative EC2 policy at the root requires IMDSv2 by default"
        )
    evidence.found += declarative
    return evidence


#: The condition keys of the data perimeter: who may reach the data, which services acting
#: for whom, and over which transport.
_PERIMETER_KEYS = ("aws:PrincipalOrgID", "aws:SourceOrgID", "aws:SecureTransport")


def _denies_outside_perimeter(statement: dict[str, Any], key: str) -> bool:
    """The Deny applies outside the perimeter on ``key``: unless the organisation id
    matches (a negated operator), or when the transport is not TLS (``Bool`` false)."""
    if key == "aws:SecureTransport":
        values = condition_values(statement, key, operators=("Bool", "BoolIfExists"))
        return any(str(v).lower() == "false" for value in values for v in as_list(value))
    return bool(condition_values(statement, key, operators=DENY_UNLESS))


@control(
    CONTROLS,
    id="LZ-GR-07",
    title="Data perimeter: only the organisation and TLS reach its data",
    explanation=(
        "An RCP attached at the root denies access to principals outside the organisation "
        "(aws:PrincipalOrgID) and to services not acting for it (aws:SourceOrgID), each "
        "under a negated operator (StringNotEquals, StringNotLike, IfExists or not), and "
        "over plain HTTP (aws:SecureTransport false, under Bool or BoolIfExists)."
    ),
    best_practices=("SEC03-BP07", "SEC03-BP08", "SEC09-BP02"),
    implemented_by="baseline.guardrails.rcps",
)
def check_data_perimeter(templates: Templates) -> Evidence:
    """RCPs at the root deny on each perimeter key: principal org, source org and TLS."""
    evidence = root_denies(
        templates,
        "RESOURCE_CONTROL_POLICY",
        lambda s: any(_denies_outside_perimeter(s, key) for key in _PERIMETER_KEYS),
    )
    denied_on = {
        key
        for _, content in org_policies(templates, "RESOURCE_CONTROL_POLICY", at_root=True)
        for statement in as_list(content.get("Statement", []))
        if statement.get("Effect") == "Deny"
        for key in _PERIMETER_KEYS
        if _denies_outside_perimeter(statement, key)
    }
    evidence.violations += [
        f"no RCP at the root denies on {key}" for key in _PERIMETER_KEYS if key not in denied_on
    ]
    return evidence


@control(
    CONTROLS,
    id="LZ-ROOT-01",
    title="Members need no root credentials; every account has a security contact",
    explanation=(
        "Centralised root access is on for the organisation, and every account stack sets "
        "a security contact with an email address and a phone number on the accounts it "
        "holds: every account it creates and every account it places in an OU."
    ),
    best_practices=("SEC01-BP02", "SEC10-BP01"),
    cis=("1.2",),
    implemented_by="baseline.constructs.organization_settings.OrganizationSettings",
)
def check_root_protections(templates: Templates) -> Evidence:
    """Centralised root access on, and a security contact on the accounts of every account stack."""
    evidence = Evidence()
    for name, resource in resources(templates, "Custom::OrganizationSettings"):
        on = properties(resource).get("CentralizedRootAccess") == "true"
        evidence.record(f"{name}: centralised root access {'on' if on else 'off'}", on)
    shards = list(resources(templates, "Custom::OrganizationAccounts"))
    if not shards:
        evidence.violations.append("no account stack sets security contacts")
    for name, resource in shards:
        props = properties(resource)
        stack = name.split("/")[0]
        covered = [json.dumps(a, sort_keys=True) for a in as_list(props.get("AccountIds", []))]
        # every account the stack creates, and every account it places, gets the contact
        held = [
            json.dumps({"Fn::GetAtt": [account.split("/", 1)[1], "AccountId"]}, sort_keys=True)
            for account, _ in resources({stack: templates[stack]}, "AWS::Organizations::Account")
        ] + [
            json.dumps(p.get("AccountId"), sort_keys=True)
            for p in as_list(props.get("Placements", []))
            if isinstance(p, dict)
        ]
        uncovered = sorted(set(held) - set(covered))
        contact = props.get("SecurityContact")
        complete = isinstance(contact, dict) and all(
            isinstance(contact.get(k), str) and contact[k].strip()
            for k in ("EmailAddress", "PhoneNumber")
        )
        problems = [f"no security contact on {', '.join(uncovered)}"] if uncovered else []
        if not complete:
            problems.append("the security contact has no email address or phone number")
        if not covered:
            problems.append("no account")
        evidence.record(
            f"{name}: {'; '.join(problems)}"
            if problems
            else f"{name}: security contact on {len(covered)} accounts",
            not problems,
        )
    return evidence
