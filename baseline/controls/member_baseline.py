"""Member baseline controls: the StackSet that reaches every member account, and what its
template sets up there (AWS Config, account settings, access roles)."""

from __future__ import annotations

import ast
import fnmatch
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from baseline.controls.model import (
    DENY_UNLESS,
    Control,
    Evidence,
    Template,
    Templates,
    actions,
    as_list,
    condition_values,
    control,
    org_policies,
    properties,
    resources,
    retained,
)

CONTROLS: list[Control] = []


#: The stacks of the management account's copy of the baseline: ``ManagementBaseline-<region>``.
MANAGEMENT_BASELINE = "ManagementBaseline-"


@dataclass(frozen=True)
class BaselineCopy:
    """One copy of the account baseline and where CloudFormation deploys it: a StackSet's
    member template to the regions of its instance groups, or a ManagementBaseline stack
    to its own region."""

    name: str
    template: Template
    regions: tuple[str, ...]
    #: the accounts the copy reaches: its StackSet's, or the management account's
    accounts: str

    def holds(self, condition: Any, region: str) -> bool:
        """Whether a condition (its name, or an expression) holds in a region; one that
        cannot be read (a parameter, an unknown function) is not shown to hold."""
        return _evaluate(self.template.get("Conditions", {}), condition, region, 0) is True

    def regions_of(self, resource: Mapping[str, Any]) -> tuple[str, ...]:
        """The regions of the copy where CloudFormation creates the resource: all of them
        without a ``Condition``, else those where it holds."""
        condition = resource.get("Condition")
        if condition is None:
            return self.regions
        return tuple(r for r in self.regions if self.holds(condition, r))


#: The condition functions, each on the values of its arguments (None: not known).
_CONDITION_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "Fn::Equals": lambda v: None if len(v) != 2 or None in v else v[0] == v[1],
    "Fn::Not": lambda v: not v[0] if len(v) == 1 and v[0] in (True, False) else None,
    "Fn::And": lambda v: False if False in v else (True if all(x is True for x in v) else None),
    "Fn::Or": lambda v: True if True in v else (False if all(x is False for x in v) else None),
}


def _evaluate(conditions: Mapping[str, Any], expression: Any, region: str, depth: int) -> Any:
    """A condition expression's value in a region: a bool, a string, or None when it
    depends on anything but ``AWS::Region``. A string is a condition's name at the top
    (``depth`` 0), a literal below it."""
    if isinstance(expression, str):
        return (
            _evaluate(conditions, conditions.get(expression), region, 1)
            if depth == 0
            else expression
        )
    if not isinstance(expression, dict) or len(expression) != 1 or depth > 32:
        return None
    ((function, args),) = expression.items()
    if function == "Ref":
        return region if args == "AWS::Region" else None
    if function == "Condition":
        named = conditions.get(args) if isinstance(args, str) else None
        return _evaluate(conditions, named, region, depth + 1)
    values = [_evaluate(conditions, a, region, depth + 1) for a in as_list(args)]
    operation = _CONDITION_FUNCTIONS.get(function)
    return operation(values) if operation else None


#: The accounts of the ManagementBaseline stacks' copies (``BaselineCopy.accounts``).
MANAGEMENT_ACCOUNT = "the management account"


def created_by_accounts(
    copies: Iterable[BaselineCopy], pick: Callable[[BaselineCopy], Iterable[Mapping[str, Any]]]
) -> dict[str, bool]:
    """For the accounts of each copy (a StackSet's, the management account), whether some
    copy that reaches them creates one of the resources ``pick`` finds in it, in a region
    the copy deploys to: a resource whose condition holds in none is never created."""
    created: dict[str, bool] = {}
    for copy in copies:
        made = any(copy.regions_of(resource) for resource in pick(copy))
        created[copy.accounts] = created.get(copy.accounts, False) or made
    return created


def baseline_copies(templates: Templates) -> list[BaselineCopy]:
    """Every copy of the account baseline, with the regions it deploys to."""
    copies = []
    for name, stack_set in resources(templates, "AWS::CloudFormation::StackSet"):
        props = properties(stack_set)
        body = props.get("TemplateBody")
        if isinstance(body, str):
            regions = [
                r
                for group in as_list(props.get("StackInstancesGroup", []))
                for r in as_list(group.get("Regions", []))
                if isinstance(r, str)
            ]
            copies.append(
                BaselineCopy(
                    f"{name}/TemplateBody", json.loads(body), tuple(dict.fromkeys(regions)), name
                )
            )
    for stack, template in sorted(templates.items()):
        if stack.startswith(MANAGEMENT_BASELINE):
            region = stack.removeprefix(MANAGEMENT_BASELINE)
            copies.append(BaselineCopy(stack, template, (region,), MANAGEMENT_ACCOUNT))
    return copies


@control(
    CONTROLS,
    id="LZ-MB-01",
    title="The member baseline reaches every account of the target OUs, now and later",
    explanation=(
        "Every StackSet is service-managed with automatic deployment on, keeps its stacks "
        "when an account leaves, targets OUs in named regions in every instance group, "
        "and is itself retained."
    ),
    best_practices=("SEC01-BP06", "SEC01-BP01"),
    implemented_by="baseline.stacks.member_baseline.MemberBaselineStackSetStack",
)
def check_stack_set_rollout(templates: Templates) -> Evidence:
    """Every StackSet auto-deploys to OUs in every region, keeps stacks and is retained."""
    evidence = Evidence()
    for name, stack_set in resources(templates, "AWS::CloudFormation::StackSet"):
        props = properties(stack_set)
        auto = props.get("AutoDeployment", {})
        groups = props.get("StackInstancesGroup", [])
        ok = (
            props.get("PermissionModel") == "SERVICE_MANAGED"
            and auto.get("Enabled") is True
            and auto.get("RetainStacksOnAccountRemoval") is True
            and all(
                g.get("Regions") and g.get("DeploymentTargets", {}).get("OrganizationalUnitIds")
                for g in groups
            )
            and bool(groups)
            and retained(stack_set)
        )
        evidence.record(name, ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-MB-02",
    title="AWS Config records every supported resource type in every member account",
    explanation=(
        "Every member template, and the management account's ManagementBaseline stack of "
        "every region, has an unconditional configuration recorder of all supported "
        "resource types and a delivery channel to the log archive's Config bucket."
    ),
    best_practices=("SEC04-BP01", "SEC04-BP02"),
    cis=("3.3",),
    implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
)
def check_member_config_recorder(templates: Templates) -> Evidence:
    """Every member template and management baseline stack records all supported types
    and delivers to a Config bucket."""
    evidence = Evidence()
    for copy in baseline_copies(templates):
        name, member = copy.name, copy.template
        recorders = list(resources({name: member}, "AWS::Config::ConfigurationRecorder"))
        channels = list(resources({name: member}, "AWS::Config::DeliveryChannel"))
        ok = (
            bool(recorders)
            and bool(channels)
            and all(
                properties(r).get("RecordingGroup", {}).get("AllSupported") is True
                and "Condition" not in r
                for _, r in recorders
            )
        )
        ok = ok and all(
            "-config-" in str(properties(c).get("S3BucketName", "")) for _, c in channels
        )
        evidence.record(name, ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-MB-03",
    title="Every member account gets the CIS account settings",
    explanation=(
        "Every member template, and the management account's ManagementBaseline stack of "
        "every region, has the account-settings resource with default VPCs closed or "
        "deleted, its home-region settings on in one region the copy deploys to (a "
        "condition that holds in none of them sets them nowhere), and the function it names "
        "calls from apply() the APIs that set the CIS password policy (length 14 or more, "
        "24 passwords remembered), EBS encryption by default and account S3 Block Public "
        "Access, and that close the default security groups."
    ),
    best_practices=("SEC08-BP02", "SEC06-BP02", "SEC05-BP01", "SEC02-BP01"),
    cis=("1.8", "1.9", "2.2.1", "2.1.4", "5.4"),
    implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
)
def check_member_account_settings(templates: Templates) -> Evidence:
    """Every member template and management baseline stack has the settings resource and
    code applying each setting."""
    evidence = Evidence()
    home_set: dict[str, bool] = {}
    for copy, resource, code in _account_settings(templates, evidence):
        props = properties(resource)
        problems = []
        if props.get("DefaultVpcs") not in ("close_default_security_groups", "delete"):
            problems.append(f"DefaultVpcs {props.get('DefaultVpcs')!r}")
        problems += _settings_code_problems(code)
        evidence.record(f"{copy.name}: {', '.join(problems) or 'all settings'}", not problems)
        home = props.get("HomeRegion")
        branches = home.get("Fn::If", []) if isinstance(home, dict) else []
        home_set[copy.accounts] = home_set.get(copy.accounts, False) or any(
            home == "true"
            or (len(branches) == 3 and branches[1] == "true" and copy.holds(branches[0], region))
            for region in copy.regions_of(resource)
        )
    for accounts, ok in home_set.items():
        # the account-wide settings, in the one region whose copy says it is the home region
        evidence.record(
            f"{accounts}: password policy and Block Public Access "
            + ("set in the home region" if ok else "set in no region"),
            ok,
        )
    return evidence


def _account_settings(
    templates: Templates, evidence: Evidence
) -> Iterator[tuple[BaselineCopy, dict[str, Any], str]]:
    """Each baseline copy's account-settings resource: the copy, the resource and the
    inline code of the function its ServiceToken names. A copy without one is a
    violation."""
    for copy in baseline_copies(templates):
        settings = list(resources({copy.name: copy.template}, "Custom::AccountSettings"))
        if not settings:
            evidence.violations.append(f"{copy.name}: no account-settings resource")
        for _, resource in settings:
            token = properties(resource).get("ServiceToken", {})
            function = copy.template.get("Resources", {}).get(
                token.get("Fn::GetAtt", [None])[0] if isinstance(token, dict) else None, {}
            )
            code = properties(function).get("Code", {}).get("ZipFile", "")
            yield copy, resource, code if isinstance(code, str) else ""


#: The APIs the account-settings function must call from its apply().
_SETTINGS_APIS = (
    "update_account_password_policy",
    "enable_ebs_encryption_by_default",
    "put_public_access_block",
    "revoke_security_group_ingress",
)
#: CIS 1.8 and 1.9: the least values of the password policy.
_PASSWORD_MINIMUMS = {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24}


def _called(node: ast.AST) -> list[ast.Call]:
    """Every call below a node of the syntax tree."""
    return [n for n in ast.walk(node) if isinstance(n, ast.Call)]


def _call_name(call: ast.Call) -> str:
    """The name a call calls: ``f`` of ``f(...)`` and of ``client.f(...)``."""
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else ""


def _boundaries(copy: BaselineCopy) -> list[dict[str, Any]]:
    """The workload boundary policies of a baseline copy."""
    return [
        policy
        for _, policy in resources({copy.name: copy.template}, "AWS::IAM::ManagedPolicy")
        if str(properties(policy).get("ManagedPolicyName", "")).endswith("-workload-boundary")
    ]


def _settings_code_problems(code: str, apis: tuple[str, ...] = ()) -> list[str]:
    """What the account-settings function's code does not do: each API (``apis``, by
    default the CIS settings') called by a function that ``apply()`` calls (or by
    ``apply()`` itself), which the handler calls, and the password policy's values."""
    apis = apis or _SETTINGS_APIS
    try:
        module = ast.parse(code)
    except SyntaxError:
        return ["the function's code does not parse"]
    functions = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
    applied = (
        {_call_name(c) for c in _called(functions["apply"])} if "apply" in functions else set()
    )
    handled = (
        {_call_name(c) for c in _called(functions["handler"])} if "handler" in functions else set()
    )
    problems = [] if "apply" in handled else ["apply() not called by the handler"]
    for api in apis:
        callers = [f for f, node in functions.items() if api in map(_call_name, _called(node))]
        if not any(f == "apply" or f in applied for f in callers):
            problems.append(f"{api} not called by apply()")
    for call in _called(module):
        if _call_name(call) == "update_account_password_policy":
            values = {k.arg: k.value for k in call.keywords}
            for key, least in _PASSWORD_MINIMUMS.items():
                value = values.get(key)
                if not (
                    isinstance(value, ast.Constant)
                    and isinstance(value.value, int)
                    and value.value >= least
                ):
                    problems.append(f"{key} below {least}")
    return problems


@control(
    CONTROLS,
    id="LZ-MB-04",
    title="Audit, incident-response and support roles in every account, named principals",
    explanation=(
        "Every member template creates, in a region it deploys to, an audit read-only, an "
        "incident-responder and a support role, and the management account's "
        "ManagementBaseline stacks the audit read-only and support roles (containment acts "
        "in member accounts only, so the management account has no incident responder); "
        "these trust only named users or roles (by aws:PrincipalArn). The support role has "
        "the AWSSupportAccess managed policy; the audit role has only the SecurityAudit, "
        "ViewOnlyAccess or ReadOnlyAccess managed policies, and no other policy of its own."
    ),
    best_practices=("SEC03-BP02", "SEC10-BP05", "SEC02-BP02"),
    cis=("1.17",),
    implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
)
def check_member_roles(templates: Templates) -> Evidence:
    """Access roles are created in every account and trust only named principals."""
    evidence = Evidence()
    access = ("-audit-readonly", "-incident-responder", "-support")
    copies = baseline_copies(templates)
    for copy in copies:
        for role_name, role in baseline_roles(copy).items():
            managed = [_aws_managed(a) for a in properties(role).get("ManagedPolicyArns", [])]
            if role_name.endswith("-support"):
                evidence.record(
                    f"{copy.name}: {role_name} has AWSSupportAccess", "AWSSupportAccess" in managed
                )
            if role_name.endswith("-audit-readonly"):
                read_only = (
                    bool(managed)
                    and all(m in _READ_ONLY_POLICIES for m in managed)
                    and not properties(role).get("Policies")
                    and not _attached_policies(copy.template, role_name)
                )
                evidence.record(f"{copy.name}: {role_name} is read-only", read_only)
            if role_name.endswith(access):
                statements = trust_statements(role)
                evidence.record(
                    f"{copy.name}: {role_name} trusts only named users or roles",
                    bool(statements) and all(_names_principals(s) for s in statements),
                )
    for suffix in access:
        created = created_by_accounts(copies, functools.partial(roles_ending, suffix=suffix))
        for accounts, ok in created.items():
            # containment acts in member accounts only
            if not (suffix == "-incident-responder" and accounts == MANAGEMENT_ACCOUNT):
                evidence.record(f"{accounts}: role *{suffix}", ok)
    return evidence


def roles_ending(copy: BaselineCopy, suffix: str) -> list[dict[str, Any]]:
    """The roles of a baseline copy whose names end in ``suffix``."""
    return [role for name, role in baseline_roles(copy).items() if name.endswith(suffix)]


def baseline_roles(copy: BaselineCopy) -> dict[str, dict[str, Any]]:
    """The roles of a baseline copy, by their names."""
    return {
        str(properties(r).get("RoleName")): r
        for _, r in resources({copy.name: copy.template}, "AWS::IAM::Role")
    }


def trust_statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Allow statements of a role's trust policy."""
    document = properties(role).get("AssumeRolePolicyDocument", {})
    statements = as_list(document.get("Statement", [])) if isinstance(document, dict) else []
    return [s for s in statements if isinstance(s, dict) and s.get("Effect") == "Allow"]


#: The AWS managed policies an audit read-only role may have: they read, never write.
_READ_ONLY_POLICIES = ("SecurityAudit", "job-function/ViewOnlyAccess", "ReadOnlyAccess")

_AWS_MANAGED = re.compile(r":iam::aws:policy/(.+)$")


def _joined(value: Any) -> str:
    """A string property as the template writes it, every reference in it a placeholder."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(p if isinstance(p, str) else "REF" for p in parts)
    return value if isinstance(value, str) else ""


def _aws_managed(arn: Any) -> str | None:
    """The path and name of an AWS managed policy (``job-function/ViewOnlyAccess``) from
    its ARN, written out or joined with the partition; None for any other policy."""
    match = _AWS_MANAGED.search(_joined(arn))
    return match.group(1) if match else None


def _attached_policies(member: Template, role_name: str) -> list[str]:
    """Policies of the member template that attach themselves to the role of that name."""
    logical_ids = {
        logical_id
        for logical_id, r in member.get("Resources", {}).items()
        if r.get("Type") == "AWS::IAM::Role" and properties(r).get("RoleName") == role_name
    }
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        for name, policy in resources({"member": member}, kind):
            props = properties(policy)
            attached = [*as_list(props.get("Roles", [])), props.get("RoleName")]
            if any(
                a == role_name or (isinstance(a, dict) and a.get("Ref") in logical_ids)
                for a in attached
            ):
                found.append(name)
    return found


_NAMED_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(?:user|role)/(.+)$")


def _names_principals(statement: dict[str, Any]) -> bool:
    """Whether a trust statement limits ``aws:PrincipalArn`` to named users or roles.

    Trusting an account (its ``:root``) lets every principal of that account that is
    allowed ``sts:AssumeRole`` in; the condition is what narrows it to the intended ones.
    """
    names: list[Any] = []
    for operator in ("ArnEquals", "ArnLike", "StringEquals", "StringLike"):
        values = statement.get("Condition", {}).get(operator, {}).get("aws:PrincipalArn", [])
        names += values if isinstance(values, list) else [values]
    return bool(names) and all(_is_named(n) for n in names)


def _is_named(arn: Any) -> bool:
    """A user or role ARN of one account whose name is more than wildcards."""
    match = _NAMED_PRINCIPAL.match(arn) if isinstance(arn, str) else None
    return match is not None and bool(match.group(1).strip("*/"))


@control(
    CONTROLS,
    id="LZ-MB-05",
    title="No workload role without the workload permissions boundary, nor a way around it",
    explanation=(
        "The member template, and the management account's ManagementBaseline stacks, "
        "create the workload boundary policy in a region they deploy to; it denies creating a "
        "role or user without it and removing it; an SCP attached to OUs (not the root) "
        "denies iam:CreateRole and iam:PutRolePermissionsBoundary unless the request names "
        "that boundary. Both denies name it under a negated operator (StringNotEquals, "
        "StringNotLike, ArnNotEquals or ArnNotLike), so they apply to a request without it."
    ),
    best_practices=("SEC03-BP02", "SEC03-BP05"),
    implemented_by=(
        "baseline.stacks.member_baseline.MemberBaselineStack, baseline.guardrails.scps "
        "(SCP-PERMISSIONS-BOUNDARY)"
    ),
)
def check_workload_boundary(templates: Templates) -> Evidence:
    """The member template's boundary caps creations; a guardrail requires it in OUs."""
    evidence = Evidence()
    boundary_names: set[str] = set()
    copies = baseline_copies(templates)
    for copy in copies:
        name = copy.name
        for policy in _boundaries(copy):
            props = properties(policy)
            policy_name = str(props.get("ManagedPolicyName", ""))
            statements = as_list(props.get("PolicyDocument", {}).get("Statement", []))
            ok = any(
                s.get("Effect") == "Deny"
                and {"iam:createrole", "iam:putrolepermissionsboundary"} <= actions(s)
                and any(
                    policy_name in str(v)
                    for v in condition_values(s, "iam:PermissionsBoundary", operators=DENY_UNLESS)
                )
                for s in statements
            ) and any(
                s.get("Effect") == "Deny" and "iam:deleterolepermissionsboundary" in actions(s)
                for s in statements
            )
            evidence.record(f"{name}: {policy_name}", ok)
            boundary_names.add(policy_name)
    for accounts, ok in created_by_accounts(copies, _boundaries).items():
        evidence.record(f"{accounts}: workload boundary policy created", ok)
    required = False
    # a policy attached to nothing guards nothing; the guardrail belongs to OUs, not the root
    for name, content in org_policies(templates, "SERVICE_CONTROL_POLICY", below_root=True):
        for statement in as_list(content.get("Statement", [])):
            if statement.get("Effect") == "Deny" and "iam:createrole" in actions(statement):
                named = condition_values(
                    statement, "iam:PermissionsBoundary", operators=DENY_UNLESS
                )
                if any(n in str(v) for n in boundary_names for v in named):
                    evidence.found.append(f"{name}: {statement.get('Sid', '?')}")
                    required = True
    if not required:
        evidence.violations.append(
            "no SCP attached to an OU requires the workload boundary on new roles"
        )
    return evidence


#: The APIs that set the Session Manager preferences and default host management.
_SESSION_APIS = ("create_document", "update_document", "update_service_setting")
#: Session Manager preferences the baseline must set, and the longest sessions (minutes).
_SESSION_INPUTS = {"s3EncryptionEnabled": True, "cloudWatchEncryptionEnabled": True}
_SESSION_LIMITS = {"idleSessionTimeout": 20, "maxSessionDuration": 60}


def _at_least_daily(schedule: str) -> bool:
    """Whether a Systems Manager schedule runs at least once a day: ``rate(1 day)``, a rate
    of hours up to 24, or a cron expression on every day of the month and week."""
    rate = re.fullmatch(r"rate\((\d+) (hours?|days?)\)", schedule)
    if rate:
        count, unit = int(rate.group(1)), rate.group(2)
        return count >= 1 and (count <= 24 if unit.startswith("hour") else count == 1)
    cron = re.fullmatch(r"cron\((.+)\)", schedule)
    fields = cron.group(1).split() if cron else []
    return len(fields) >= 5 and fields[2] in ("*", "?") and fields[4] in ("*", "?")


def _session_problems(props: dict[str, Any]) -> list[str]:
    """What the account settings' Session Manager preferences leave open."""
    try:
        inputs = json.loads(_joined(props.get("SessionPrefs"))).get("inputs", {})
    except ValueError:
        return ["no Session Manager preferences"]
    problems = [
        f"{key} not {value}"
        for key, value in _SESSION_INPUTS.items()
        if inputs.get(key) is not value
    ]
    if not inputs.get("s3BucketName") or not inputs.get("kmsKeyId"):
        problems.append("sessions not logged to an encrypted bucket")
    if (
        not inputs.get("cloudWatchLogGroupName")
        or inputs.get("cloudWatchStreamingEnabled") is not True
    ):
        problems.append("sessions not streamed to a log group")
    if inputs.get("runAsEnabled") is not False:
        problems.append("sessions may run as another OS user")
    for key, most in _SESSION_LIMITS.items():
        value = str(inputs.get(key, ""))
        if not value.isdigit() or not 1 <= int(value) <= most:
            problems.append(f"{key} {value or 'unset'} (at most {most} minutes)")
    if not props.get("InstanceRole"):
        problems.append("no default host management role")
    return problems


@control(
    CONTROLS,
    id="LZ-MB-06",
    title="Instances are reached through Session Manager, every session logged and bounded",
    explanation=(
        "Every copy of the account baseline sets the Session Manager preferences: sessions "
        "logged to an S3 bucket and to CloudWatch Logs, both encrypted under a key, no run "
        "as another OS user, idle sessions closed after 20 minutes and every session after "
        "60; and default host management, which puts every instance under Systems Manager "
        "with a role of the baseline; the function the settings name applies both from "
        "apply(). Instances are scanned for missing patches every day."
    ),
    best_practices=("SEC06-BP03", "SEC06-BP01", "SEC04-BP01"),
    implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
)
def check_member_session_manager(templates: Templates) -> Evidence:
    """Every baseline copy's account settings set Session Manager and default host
    management, through code that does, and a daily patch scan covers every instance."""
    evidence = Evidence()
    for copy, resource, code in _account_settings(templates, evidence):
        problems = _session_problems(properties(resource))
        problems += _settings_code_problems(code, _SESSION_APIS)
        evidence.record(f"{copy.name}: {', '.join(problems) or 'Session Manager'}", not problems)
    for copy in baseline_copies(templates):
        name, member = copy.name, copy.template
        scans = [
            a
            for _, a in resources({name: member}, "AWS::SSM::Association")
            if properties(a).get("Name") == "AWS-RunPatchBaseline"
            and properties(a).get("Targets") == [{"Key": "InstanceIds", "Values": ["*"]}]
            and _at_least_daily(str(properties(a).get("ScheduleExpression", "")))
        ]
        evidence.record(f"{name}: daily patch scan of every instance", bool(scans))
    return evidence


def _backup_retentions(templates: Templates) -> dict[str, int]:
    """Each vault the root's backup policies name, and the fewest days a rule into it
    keeps a backup."""
    kept: dict[str, int] = {}
    for _, content in org_policies(templates, "BACKUP_POLICY", at_root=True):
        for plan in content.get("plans", {}).values():
            for rule in plan.get("rules", {}).values():
                vault = rule.get("target_backup_vault_name", {}).get("@@assign")
                days = rule.get("lifecycle", {}).get("delete_after_days", {}).get("@@assign")
                if vault and str(days).isdigit():
                    kept[vault] = min(kept.get(vault, int(days)), int(days))
    return kept


@control(
    CONTROLS,
    id="LZ-MB-07",
    title="Nobody in an account can delete its backups before they expire",
    explanation=(
        "Every copy of the account baseline has the vault the root's backup policy names, "
        "retained, with a Vault Lock whose minimum retention is at least as long as the "
        "policy keeps each backup: no recovery point is deleted, nor its lifecycle "
        "shortened, before then; the root's SCPs leave lifting the lock, the vault's access "
        "policy and the vault's deletion to the baseline's own principals."
    ),
    best_practices=("SEC10-BP03", "SEC01-BP06"),
    implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
)
def check_backups_locked(templates: Templates) -> Evidence:
    """The policy's vault is locked for at least the policy's retention in every copy,
    and a root SCP denies lifting the lock to all but the baseline."""
    evidence = Evidence()
    kept = _backup_retentions(templates)
    for copy in baseline_copies(templates):
        name, member = copy.name, copy.template
        for vault_name, days in sorted(kept.items()):
            vaults = [
                v
                for _, v in resources({name: member}, "AWS::Backup::BackupVault")
                if properties(v).get("BackupVaultName") == vault_name
            ]
            least = [
                properties(v).get("LockConfiguration", {}).get("MinRetentionDays", 0)
                for v in vaults
                if retained(v)
            ]
            ok = bool(least) and all(isinstance(d, int) and d >= days for d in least)
            evidence.record(f"{name}: {vault_name} locked for {days} days", ok)
    lifted = [
        s
        for _, content in org_policies(templates, "SERVICE_CONTROL_POLICY", at_root=True)
        for s in as_list(content.get("Statement", []))
        if s.get("Effect") == "Deny"
        and any(
            fnmatch.fnmatchcase("backup:deletebackupvaultlockconfiguration", a) for a in actions(s)
        )
        and any(
            str(r).endswith(f":backup-vault:{vault}")
            for r in as_list(s.get("Resource", []))
            for vault in kept
        )
    ]
    evidence.record("a root SCP keeps the vault lock to the baseline", bool(lifted) and bool(kept))
    return evidence
