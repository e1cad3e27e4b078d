"""Guardrail controls: the organisation's structure, its SCPs, RCPs and other
organisation policies, and the protection of root credentials."""

from __future__ import annotations

import json

from baseline.controls.model import (
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


@control(
    CONTROLS,
    id="LZ-ORG-02",
    title="Declarative EC2, tag, AI opt-out and backup policies are attached at the root",
    explanation=(
        "The root has at least one policy of each type: the declarative EC2 policy, the "
        "data-classification tag policy, the AI-services opt-out policy and the backup policy."
    ),
    best_practices=("SEC07-BP01", "SEC08-BP02", "SEC10-BP03"),
    implemented_by="baseline.guardrails.org_policies",
)
def check_org_policy_types(templates: Templates) -> Evidence:
    """The declarative EC2, tag, AI opt-out and backup policies are attached at the root."""
    evidence = Evidence()
    for policy_type in (
        "DECLARATIVE_POLICY_EC2",
        "TAG_POLICY",
        "AISERVICES_OPT_OUT_POLICY",
        "BACKUP_POLICY",
    ):
        names = [name for name, _ in org_policies(templates, policy_type, at_root=True)]
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
        "`arn:aws:iam::*:root`."
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
                "arn:aws:iam::*:root" in as_list(v) for v in condition_values(s, "aws:PrincipalArn")
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
        "conditioned on aws:RequestedRegion."
    ),
    best_practices=("SEC01-BP05",),
    implemented_by="baseline.guardrails.scps (SCP-REGION-DENY)",
)
def check_region_deny(templates: Templates) -> Evidence:
    """An SCP at the root denies everything but global services outside the regions."""
    return root_denies(
        templates,
        "SERVICE_CONTROL_POLICY",
        lambda s: bool(condition_values(s, "aws:RequestedRegion")) and "NotAction" in s,
    )


@control(
    CONTROLS,
    id="LZ-GR-06",
    title="Instances use IMDSv2: required at launch and the account default",
    explanation=(
        "An SCP attached at the root denies ec2:RunInstances unless ec2:MetadataHttpTokens "
        "is required, and a declarative EC2 policy at the root sets http_tokens to "
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
            and "required" in condition_values(s, "ec2:MetadataHttpTokens")
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


@control(
    CONTROLS,
    id="LZ-GR-07",
    title="Data perimeter: only the organisation and TLS reach its data",
    explanation=(
        "An RCP attached at the root denies access to principals outside the organisation "
        "(aws:PrincipalOrgID), to services not acting for it (aws:SourceOrgID) and over "
        "plain HTTP (aws:SecureTransport)."
    ),
    best_practices=("SEC03-BP07", "SEC03-BP08", "SEC09-BP02"),
    implemented_by="baseline.guardrails.rcps",
)
def check_data_perimeter(templates: Templates) -> Evidence:
    """RCPs at the root deny on each perimeter key: principal org, source org and TLS."""
    evidence = root_denies(
        templates,
        "RESOURCE_CONTROL_POLICY",
        lambda s: any(condition_values(s, key) for key in _PERIMETER_KEYS),
    )
    denied_on = {
        key
        for _, content in org_policies(templates, "RESOURCE_CONTROL_POLICY", at_root=True)
        for statement in as_list(content.get("Statement", []))
        if statement.get("Effect") == "Deny"
        for key in _PERIMETER_KEYS
        if condition_values(statement, key)
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
        "a security contact on the accounts it holds."
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
        ok = bool(props.get("SecurityContact")) and bool(props.get("AccountIds"))
        evidence.record(
            f"{name}: security contact on {len(props.get('AccountIds', []))} accounts", ok
        )
    return evidence
