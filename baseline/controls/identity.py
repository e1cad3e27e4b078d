"""Identity controls: how people get into the accounts (IAM Identity Center, emergency
access) and how machines and third parties are trusted."""

from __future__ import annotations

import re

from baseline.controls.log_patterns import catches
from baseline.controls.logs import alarmed_trail_filters
from baseline.controls.member_baseline import (
    _is_named,
    _names_principals,
    baseline_copies,
    baseline_roles,
    created_by_accounts,
    roles_ending,
    trust_statements,
)
from baseline.controls.model import (
    ONLY_IF,
    Control,
    Evidence,
    Templates,
    as_list,
    condition_values,
    control,
    properties,
    resources,
)

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
    applies_to="identity_center",
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


#: The resources of Identity Center's permission sets and assignments.
_SSO_TYPES = ("AWS::SSO::PermissionSet", "AWS::SSO::Assignment")


@control(
    CONTROLS,
    id="LZ-ID-02",
    title="Sessions carry the identity provider's attributes; groups are given access",
    explanation=(
        "Identity Center passes at least one attribute, each taken from the identity "
        "provider (${path:...}), into every session for attribute-based access control, "
        "and at least one assignment gives a permission set to a group rather than a user."
    ),
    best_practices=("SEC02-BP06", "SEC03-BP06"),
    implemented_by="baseline.stacks.identity_center.IdentityCenterStack",
    applies_to="identity_center",
)
def check_groups_and_attributes(templates: Templates) -> Evidence:
    """Each attribute configuration whose every attribute comes from the identity
    provider, and each group assignment, as evidence; with no group assignment or no
    attribute configuration the control does not hold; with no Identity Center resource
    at all there is no evidence and no violation."""
    evidence = Evidence()
    configurations = list(
        resources(templates, "AWS::SSO::InstanceAccessControlAttributeConfiguration")
    )
    for name, configuration in configurations:
        attributes = properties(configuration).get("AccessControlAttributes", [])
        sources = [s for a in attributes for s in a.get("Value", {}).get("Source", [])]
        evidence.record(name, bool(sources) and all(str(s).startswith("${path:") for s in sources))
    groups = [
        name
        for name, assignment in resources(templates, "AWS::SSO::Assignment")
        if properties(assignment).get("PrincipalType") == "GROUP"
    ]
    # without Identity Center there is nothing to prove (the control then does not apply)
    used = configurations or any(True for kind in _SSO_TYPES for _ in resources(templates, kind))
    if used and (not configurations or not groups):
        evidence.violations.append("no attribute configuration or no group assignment")
    evidence.found += groups
    return evidence


_GITHUB = "token.actions.githubusercontent.com"
_EXACT_REPOSITORY = re.compile(r"^repo:[A-Za-z0-9_.-]+(@\d+)?/[A-Za-z0-9_.-]+(@\d+)?:[^*]+$")


def _names_an_account(statement: dict[str, object]) -> bool:
    """An AWS principal other than a service: an account, a role or user, anyone (``*``),
    or a value computed at deploy time (an intrinsic function), which may be any of them."""
    principal = statement.get("Principal", {})
    if principal == "*":
        return True
    aws = principal.get("AWS", []) if isinstance(principal, dict) else []
    return bool(as_list(aws))


#: The account of an account principal: its id, or the account of an IAM ARN.
_PRINCIPAL_ACCOUNT = re.compile(r"^(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::|$)")


def _organisation_accounts(templates: Templates) -> set[str]:
    """The ids of the accounts the templates place in the organisation: the management
    account and every account of an account stack."""
    found: set[str] = set()
    for resource_type in ("Custom::OrganizationAccounts", "Custom::OrganizationSettings"):
        for _, resource in resources(templates, resource_type):
            props = properties(resource)
            ids = [props.get("ManagementAccountId"), *as_list(props.get("AccountIds", []))]
            found |= {i for i in ids if isinstance(i, str)}
    return found


def _outside_accounts(statement: dict[str, object], organisation: set[str]) -> set[str]:
    """The accounts a trust statement names that are not of the organisation; a principal
    computed at deploy time or ``*`` names no account here."""
    principal = statement.get("Principal", {})
    aws = principal.get("AWS", []) if isinstance(principal, dict) else []
    accounts = {
        match.group(1)
        for p in as_list(aws)
        if isinstance(p, str) and (match := _PRINCIPAL_ACCOUNT.match(p))
    }
    return accounts - organisation


def _literals(statement: dict[str, object], key: str, operators: tuple[str, ...]) -> list[str]:
    """The values a key has under the operators, when each is more than wildcards."""
    values = [
        v for value in condition_values(statement, key, operators=operators) for v in as_list(value)
    ]
    return [str(v) for v in values] if values and all(str(v).strip("*") for v in values) else []


def _bound(statement: dict[str, object], organisation: set[str]) -> bool:
    """A condition that narrows an account principal to someone. A third party (an
    account outside the organisation) must give its external id (``sts:ExternalId`` under
    StringEquals); any other account principal may instead be narrowed to the
    organisation (``aws:PrincipalOrgID`` under StringEquals) or to named users or roles
    (``aws:PrincipalArn`` under ArnEquals, ArnLike, StringEquals or StringLike). A value of
    only ``*``, and a negated operator, narrow nothing."""
    external = _literals(statement, "sts:ExternalId", ("StringEquals",))
    if _outside_accounts(statement, organisation):
        return bool(external)
    organisation_ids = _literals(statement, "aws:PrincipalOrgID", ("StringEquals",))
    arns = [
        v
        for value in condition_values(statement, "aws:PrincipalArn", operators=ONLY_IF)
        for v in as_list(value)
    ]
    return bool(external or organisation_ids or (arns and all(_is_named(a) for a in arns)))


def _condition(statement: dict[str, object], key: str) -> list[str]:
    conditions = statement.get("Condition", {})
    equals = conditions.get("StringEquals", {}) if isinstance(conditions, dict) else {}
    value = equals.get(key, []) if isinstance(equals, dict) else []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


@control(
    CONTROLS,
    id="LZ-ID-03",
    title="Cross-account trust is bound; CI roles trust exact GitHub subjects",
    explanation=(
        "Every role trust that names an account outside the organisation (not the "
        "management account nor one of the account stacks) requires its sts:ExternalId "
        "under StringEquals; every other trust that names an account is narrowed by "
        "sts:ExternalId or aws:PrincipalOrgID under StringEquals, or by aws:PrincipalArn "
        "naming users or roles under ArnEquals, ArnLike, StringEquals or StringLike. Every "
        "role that trusts GitHub's OIDC provider "
        "requires the audience sts.amazonaws.com and a subject list (StringEquals) whose "
        "entries name the owner and repository exactly, without wildcards."
    ),
    best_practices=("SEC03-BP09", "SEC02-BP02", "SEC11-BP07"),
    implemented_by="baseline.stacks.machine_access.MachineAccessStack",
)
def check_machine_trust(templates: Templates) -> Evidence:
    """Each trust statement of a third-party or GitHub Actions role, checked for its
    external id or its exact subjects."""
    evidence = Evidence()
    organisation = _organisation_accounts(templates)
    for name, role in resources(templates, "AWS::IAM::Role"):
        for statement in trust_statements(role):
            principal = statement.get("Principal", {})
            federated = str(principal.get("Federated", "")) if isinstance(principal, dict) else ""
            if federated.endswith(f"oidc-provider/{_GITHUB}"):
                subjects = _condition(statement, f"{_GITHUB}:sub")
                evidence.record(
                    name,
                    _condition(statement, f"{_GITHUB}:aud") == ["sts.amazonaws.com"]
                    and bool(subjects)
                    and all(_EXACT_REPOSITORY.match(s) for s in subjects),
                )
            elif _names_an_account(statement):
                evidence.record(name, _bound(statement, organisation))
    return evidence


#: The longest an MFA sign-in may be old when it opens emergency access, in seconds.
_BREAK_GLASS_MFA_AGE = 3600


@control(
    CONTROLS,
    id="LZ-ID-04",
    title="A break-glass role in every account: named principals, MFA, every use alarmed",
    explanation=(
        "Every copy of the account baseline (each StackSet's member template, the "
        "management account's ManagementBaseline stacks) creates the break-glass role in a "
        "region it deploys to; each statement of its trust names users or roles (by "
        "aws:PrincipalArn), requires MFA (aws:MultiFactorAuthPresent true under Bool) "
        "signed in at most an hour before (aws:MultiFactorAuthAge under NumericLessThan, "
        "3600 or less); a metric filter on the log group an organisation trail of every "
        "region delivers to, run against "
        "CloudTrail records, matches an AssumeRole of the role in either of two accounts "
        "by either of two callers, and not one of another role, and an alarm on its metric "
        "notifies at once."
    ),
    best_practices=("SEC03-BP03", "SEC10-BP05"),
    implemented_by=(
        "baseline.constructs.break_glass_role.BreakGlassRole, "
        "baseline.constructs.security_alarms.break_glass_alarm"
    ),
    applies_to="break_glass",
)
def check_break_glass(templates: Templates) -> Evidence:
    """The break-glass role in every account, its trust, and the alarm on its use. With
    no break-glass role anywhere there is no evidence, and no violation."""
    evidence = Evidence()
    names: set[str] = set()
    copies = baseline_copies(templates)
    for copy in copies:
        for role_name, role in baseline_roles(copy).items():
            if role_name.endswith("-break-glass"):
                names.add(role_name)
                problems = _break_glass_trust_problems(role)
                evidence.record(
                    f"{copy.name}: {role_name}: "
                    + (", ".join(problems) or "named principals with a fresh MFA sign-in"),
                    not problems,
                )
    if not names:
        return evidence
    created = created_by_accounts(copies, lambda c: roles_ending(c, "-break-glass"))
    for accounts, ok in created.items():
        evidence.record(f"{accounts}: break-glass role created", ok)
    filters = alarmed_trail_filters(templates)
    for role_name in sorted(names):
        alarmed = [name for name, pattern in filters.items() if _every_use(pattern, role_name)]
        evidence.record(
            f"every AssumeRole of {role_name}: " + (alarmed[0] if alarmed else "no alarm"),
            bool(alarmed),
        )
    return evidence


def _break_glass_trust_problems(role: dict[str, object]) -> list[str]:
    """What lets a break-glass role's trust be used by more than named people with MFA."""
    statements = trust_statements(role)
    problems = [] if statements else ["no trust statement"]
    for index, statement in enumerate(statements):
        conditions = statement.get("Condition", {})
        conditions = conditions if isinstance(conditions, dict) else {}
        mfa = conditions.get("Bool", {}).get("aws:MultiFactorAuthPresent")
        ages = [
            v
            for operator in ("NumericLessThan", "NumericLessThanEquals")
            for v in as_list(conditions.get(operator, {}).get("aws:MultiFactorAuthAge", []))
        ]
        if not _names_principals(statement):
            problems.append(f"statement {index} trusts more than named users or roles")
        if mfa not in ("true", ["true"], True):
            problems.append(f"statement {index} does not require MFA")
        if len(ages) != 1 or not str(ages[0]).isdigit() or int(ages[0]) > _BREAK_GLASS_MFA_AGE:
            problems.append(f"statement {index} accepts an MFA sign-in over an hour old")
    return problems


def _every_use(pattern: str, role_name: str) -> bool:
    """Whether a filter pattern matches every AssumeRole of the role, in any account and by
    any caller, and not another role's."""
    assume = {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}
    wanted = [
        {**assume, "requestParameters.roleArn": f"arn:aws:iam::{account}:role/{role_name}"}
        for account in ("111122223333", "444455556666")
    ]
    other = {**assume, "requestParameters.roleArn": "arn:aws:iam::111122223333:role/Operator"}
    return catches(pattern, wanted, [other])
