"""``python -m baseline import-organization``: a starting landing-zone config from an
existing organisation, read with the caller's credentials and nothing written.

It reads (Describe and List calls only: ``READ_OPERATIONS``) the organisation, its root,
the OU tree with every OU's id, every account with its id, e-mail, place and state, the
delegated administrators, and the SCPs and RCPs attached that AWS does not manage; it
guesses the core accounts (only among the ACTIVE ones) from what they administer and from
their names, and marks each guess to confirm; what it cannot know (the prefix, the regions,
the contacts, where a closed or suspended account belongs) it leaves as ``FILL-IN``
placeholders, which ``validate`` reports by field. The attached policies it lists in a
comment: the Organization stack's own attachments fail beside too many of them.

Every name AWS gives (an OU's, an account's, a policy's) is written escaped and quoted, in
values and comments alike, so that no name can break the YAML or add a line to it.

The standard credential chain, ``AWS_ENDPOINT_URL``, botocore's standard retries, and
every list paginated. No CDK here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from baseline import naming
from baseline.config import ROOT_OU
from baseline.operations import CommandError

#: Where the importer cannot know the answer (``validate`` lists each one left).
PLACEHOLDER = "FILL-IN"

#: Every AWS operation the importer may call: reads only (a test holds it to this list).
READ_OPERATIONS = frozenset(
    {
        "sts:GetCallerIdentity",
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        "organizations:ListDelegatedAdministrators",
        "organizations:ListDelegatedServicesForAccount",
        "organizations:ListPolicies",
        "organizations:ListTargetsForPolicy",
    }
)

#: The policy types whose attachments the Organization stack competes with (five a target).
POLICY_TYPES = {"SERVICE_CONTROL_POLICY": "SCP", "RESOURCE_CONTROL_POLICY": "RCP"}

#: Where the deploy guide says what existing policies on a target do to the first deploy.
POLICIES_DOC = "docs/deploy.md#3-deploy-the-organization-stack"

#: Delegated services that make an account the landing zone's core account of a role.
_SERVICE_ROLES = {
    "guardduty.amazonaws.com": "audit",
    "securityhub.amazonaws.com": "audit",
    "inspector2.amazonaws.com": "audit",
    "macie.amazonaws.com": "audit",
    "detective.amazonaws.com": "audit",
    "access-analyzer.amazonaws.com": "audit",
    "config.amazonaws.com": "audit",
    "config-multiaccountsetup.amazonaws.com": "audit",
    "member.org.stacksets.cloudformation.amazonaws.com": "audit",
    "ipam.amazonaws.com": "network",
    "network-firewall.amazonaws.com": "network",
    "sso.amazonaws.com": "shared_services",
}
#: Account-name patterns of each core role, tried when no delegation decides.
_NAME_ROLES = (
    (re.compile(r"log.?archive|logging|logs?$"), "log_archive"),
    (re.compile(r"audit|security.?tooling|sec.?ops"), "audit"),
    (re.compile(r"network|connectivity|transit"), "network"),
    (re.compile(r"shared.?services|shared|tooling"), "shared_services"),
    (re.compile(r"forensic"), "forensics"),
)
_CORE_ROLES = ("log_archive", "audit", "network", "shared_services", "forensics")


@dataclass
class ImportedUnit:
    name: str  # the name the config gives it (a config-safe form of the AWS name)
    id: str
    children: list[ImportedUnit] = field(default_factory=list)
    aws_name: str = ""  # the OU's name in AWS, where the config's differs


def unit_name(aws_name: str, taken: set[str], parent: str = "") -> str:
    """A name the config accepts for an OU under ``parent`` (its path; the root: ""),
    from its AWS name: characters the config refuses (``.``, ``/``, ...) become ``-``, a
    name must start with a letter and cannot be ``Root``, and no two OU paths of the
    organisation may make one resource (``taken``: their logical ids, ``Prod-EU`` and
    ``prod eu`` alike, and ``Workloads-Prod`` beside ``Workloads/Prod``). The config names
    an existing OU by its id, so its name in AWS stays as it is."""
    name = re.sub(r"[^A-Za-z0-9 _-]+", "-", aws_name).strip(" -_")[:120] or "OU"
    if not name[0].isalpha():
        name = f"OU-{name}"
    if name == ROOT_OU:
        name = "Root-OU"

    def resource(candidate: str) -> str:
        return naming.logical_id(f"{parent}/{candidate}" if parent else candidate)

    base, number = name, 1
    while resource(name) in taken:
        number += 1
        name = f"{base}-{number}"
    taken.add(resource(name))
    return name


@dataclass
class ImportedAccount:
    id: str
    name: str
    email: str
    ou: str  # "Root" or an OU path
    status: str
    role: str = "workload"
    why: str = ""  # why the role was guessed


@dataclass
class ImportedPolicy:
    """An SCP or RCP that AWS does not manage, and where it is attached."""

    id: str
    name: str
    kind: str  # "SCP" or "RCP"
    targets: list[tuple[str, str]]  # (ROOT | ORGANIZATIONAL_UNIT | ACCOUNT, its id)


@dataclass
class ImportedOrganization:
    id: str
    root_id: str
    management_account_id: str
    units: list[ImportedUnit]
    accounts: list[ImportedAccount]
    policies: list[ImportedPolicy] = field(default_factory=list)


def _pages(client: Any, operation: str, key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**arguments):
        yield from page.get(key, [])


def _refusal(error: Exception, operation: str) -> CommandError:
    """The one line a person can act on, for an AWS error of a read."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    service, _, call = operation.rpartition(":")
    service = service or "organizations"
    name = "".join(part.capitalize() for part in call.split("_"))
    if code in ("AccessDeniedException", "AccessDenied"):
        return CommandError(
            [
                f"access denied: the credentials may not call {service}:{name}; give "
                "them read access to AWS Organizations (e.g. AWSOrganizationsReadOnlyAccess)"
            ]
        )
    if code == "AWSOrganizationsNotInUseException":
        return CommandError(["this account is in no organisation: nothing to import"])
    if code in ("TooManyRequestsException", "ThrottlingException", "Throttling"):
        return CommandError(
            [f"{service}:{name} was throttled after every retry: run it again later"]
        )
    return CommandError([f"{service}:{name} failed: {error}"])


def read_organization(
    organizations: Any, sts: Any, progress: Callable[[str], None] | None = None
) -> ImportedOrganization:
    """Everything the config needs from the organisation; CommandError with the reason
    when the credentials cannot read it."""
    from botocore.exceptions import BotoCoreError, ClientError

    say = progress or (lambda _: None)
    operation = "describe_organization"
    caller = management = None
    try:
        organization = organizations.describe_organization()["Organization"]
        operation = "sts:get_caller_identity"
        caller = sts.get_caller_identity()["Account"]
        management = organization["MasterAccountId"]
        operation = "list_roots"
        (root,) = list(_pages(organizations, "list_roots", "Roots"))
        accounts: list[ImportedAccount] = []
        delegated: dict[str, list[str]] = {}

        taken: set[str] = set()  # the logical ids of the OU paths named so far

        def walk(parent_id: str, path: str) -> list[ImportedUnit]:
            nonlocal operation
            operation = "list_accounts_for_parent"
            for account in _pages(
                organizations, "list_accounts_for_parent", "Accounts", ParentId=parent_id
            ):
                accounts.append(
                    ImportedAccount(
                        account["Id"],
                        account["Name"],
                        account["Email"],
                        path or "Root",
                        # State replaced Status (retired on 9 September 2026)
                        account.get("State") or account.get("Status") or "ACTIVE",
                    )
                )
            say(f"read {len(accounts)} accounts")
            operation = "list_organizational_units_for_parent"
            units = []
            # by name and id, not as AWS lists them: two OUs whose names make one resource
            # get the same names in the config at every import
            listed = _pages(
                organizations,
                "list_organizational_units_for_parent",
                "OrganizationalUnits",
                ParentId=parent_id,
            )
            for unit in sorted(listed, key=lambda u: (u["Name"], u["Id"])):
                name = unit_name(unit["Name"], taken, path)
                child_path = f"{path}/{name}" if path else name
                units.append(
                    ImportedUnit(
                        name,
                        unit["Id"],
                        walk(unit["Id"], child_path),
                        "" if name == unit["Name"] else unit["Name"],
                    )
                )
            return units

        units = walk(root["Id"], "")
        operation = "list_delegated_administrators"
        for admin in _pages(
            organizations, "list_delegated_administrators", "DelegatedAdministrators"
        ):
            operation = "list_delegated_services_for_account"
            delegated[admin["Id"]] = [
                service["ServicePrincipal"]
                for service in _pages(
                    organizations,
                    "list_delegated_services_for_account",
                    "DelegatedServices",
                    AccountId=admin["Id"],
                )
            ]
        policies: list[ImportedPolicy] = []
        for policy_type, kind in POLICY_TYPES.items():
            operation = "list_policies"
            for policy in _pages(organizations, "list_policies", "Policies", Filter=policy_type):
                if policy.get("AwsManaged"):  # FullAWSAccess, RCPFullAWSAccess
                    continue
                operation = "list_targets_for_policy"
                targets = [
                    (target["Type"], target["TargetId"])
                    for target in _pages(
                        organizations,
                        "list_targets_for_policy",
                        "Targets",
                        PolicyId=policy["Id"],
                    )
                ]
                if targets:
                    policies.append(ImportedPolicy(policy["Id"], policy["Name"], kind, targets))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        denied = code in ("AccessDeniedException", "AccessDenied")
        if denied and management is not None and caller != management:
            raise CommandError(
                [
                    f"these credentials are of account {caller}, not the management "
                    f"account {management}: run with the management account's "
                    "credentials (only it lists the whole organisation)"
                ]
            ) from None
        raise _refusal(error, operation) from None
    except BotoCoreError as error:  # no credentials, no endpoint
        raise CommandError([f"cannot reach AWS Organizations: {error}"]) from None
    accounts.sort(key=lambda a: a.id)  # roles and names guessed alike at every import
    _guess_roles(accounts, management, delegated)
    return ImportedOrganization(
        organization["Id"], root["Id"], management, units, accounts, policies
    )


#: The states of an account that is, or is about to be, in use: Organizations lists a
#: new or invited account as PENDING_ACTIVATION for a while before ACTIVE.
LIVE_STATES = ("ACTIVE", "PENDING_ACTIVATION")


def _guess_roles(
    accounts: list[ImportedAccount], management: str, delegated: dict[str, list[str]]
) -> None:
    """The management account, then a core role for an ACTIVE account at most: a closed
    or suspended account named "Log Archive" is not the log archive of the landing zone."""
    taken: set[str] = set()
    for account in accounts:
        if account.id == management:
            account.role, account.why = "management", "the organisation's management account"
    candidates = [a for a in accounts if a.status in LIVE_STATES]
    for role in _CORE_ROLES:  # by delegation first, one account per role
        for account in candidates:
            services = sorted(
                s for s in delegated.get(account.id, []) if _SERVICE_ROLES.get(s) == role
            )
            if account.role == "workload" and services and role not in taken:
                account.role = role
                account.why = f"guessed: delegated administrator of {', '.join(services)}; confirm"
                taken.add(role)
    for pattern, role in _NAME_ROLES:  # then by name
        if role in taken:
            continue
        for account in candidates:
            if account.role == "workload" and pattern.search(account.name.lower()):
                account.role, account.why = role, "guessed from its name; confirm"
                taken.add(role)
                break


# --- the YAML ---------------------------------------------------------------------------


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug if slug and slug[0].isalpha() else f"account-{slug}".strip("-")


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote(value: str) -> str:
    """A YAML double-quoted string of ``value``, safe in a value and in a comment alike:
    the quote and the backslash escaped, and every character that is not printable (line
    breaks, YAML's own among them, and the other control characters) written as an
    escape, so that the text stays on its line, whatever name AWS gave."""
    out = []
    for character in value:
        if character in '"\\':
            out.append("\\" + character)
        elif character in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[character])
        elif character.isprintable():
            out.append(character)
        elif ord(character) <= 0xFF:
            out.append(f"\\x{ord(character):02x}")
        elif ord(character) <= 0xFFFF:
            out.append(f"\\u{ord(character):04x}")
        else:
            out.append(f"\\U{ord(character):08x}")
    return '"' + "".join(out) + '"'


def _sorted_accounts(org: ImportedOrganization) -> list[tuple[str, ImportedAccount]]:
    """The accounts in the config's order, each with its name there (unique in the config)."""
    used = {unit.name for unit in org.units}  # a top-level OU's name would be ambiguous
    named = []
    for account in sorted(org.accounts, key=lambda a: (a.role == "workload", a.ou, a.name, a.id)):
        name = base = _slug(account.name)
        number = 1
        while name in used:
            number += 1
            name = f"{base}-{number}"
        used.add(name)
        named.append((name, account))
    return named


def attached_policies(org: ImportedOrganization) -> list[tuple[str, list[str]]]:
    """Per target (``Root``, ``OU <path>``, ``account <name>``, as the config names them),
    the SCPs and RCPs attached there that AWS does not manage."""
    labels = {org.root_id: ROOT_OU}  # the root, the OUs from the top, the accounts

    def label_units(units: list[ImportedUnit], path: str) -> None:
        for unit in units:
            child = f"{path}/{unit.name}" if path else unit.name
            labels[unit.id] = f"OU {child}"
            label_units(unit.children, child)

    label_units(org.units, "")
    labels.update({a.id: f"account {name}" for name, a in _sorted_accounts(org)})
    rank = {label: number for number, label in enumerate(labels.values())}
    by_target: dict[str, list[str]] = {}
    for policy in org.policies:
        for _, target in policy.targets:
            label = labels.get(target, f"target {_quote(target)}")
            by_target.setdefault(label, []).append(
                f"{policy.kind} {_quote(policy.name)} (id {_quote(policy.id)})"
            )
    return sorted(by_target.items(), key=lambda item: rank.get(item[0], len(rank)))


def policy_warning(org: ImportedOrganization) -> str | None:
    """The one stderr line about the attached SCPs and RCPs, if there are any."""
    attached = attached_policies(org)
    if not attached:
        return None
    count = sum(len(names) for _, names in attached)
    where = ", ".join(f"{target}: {len(names)}" for target, names in attached)
    return (
        f"warning: {count} SCP/RCP attachment(s) AWS does not manage are in the organisation "
        f"({where}); they are not imported and are listed at the top of the config: move "
        f"them into guardrails.custom or detach them before the first deploy ({POLICIES_DOC})"
    )


def inactive_warning(org: ImportedOrganization) -> str | None:
    """The one stderr line about accounts that are not ACTIVE, if there are any."""
    count = sum(1 for a in org.accounts if a.status not in LIVE_STATES)
    if not count:
        return None
    return (
        f"warning: {count} account(s) are not ACTIVE in AWS (closed or suspended): no core "
        "role is guessed for them, and their comment in the config says what to decide"
    )


def _placement(
    org: ImportedOrganization, account: ImportedAccount, guesses: dict[str, list[str]]
) -> list[str]:
    """An account's ``ou`` line, with what a person must know or decide about it."""
    status = _quote(account.status)
    if account.id == org.management_account_id and account.ou != ROOT_OU:
        # the config keeps it in the root (validate refuses it elsewhere); the kit
        # never moves it, and no SCP or RCP applies to it wherever it is
        return [
            f"    # in the OU {_quote(account.ou)} in AWS: the config keeps the management",
            "    # account in the root, and the landing zone does not move it (no SCP or",
            "    # RCP applies to it wherever it is)",
            f"    ou: {ROOT_OU}",
        ]
    if account.status == "PENDING_ACTIVATION":
        return [
            "    # still being activated in AWS: placed and guessed as an active one",
            f"    ou: {_quote(account.ou)}",
        ]
    if account.status == "ACTIVE":
        return [f"    ou: {_quote(account.ou)}"]
    if account.ou.split("/")[0] in guesses["suspended_ous"]:
        return [
            f"    # status {status} in AWS (closed or suspended), in a suspended OU",
            "    # already: confirm that OU in guardrails.suspended_ous",
            f"    ou: {_quote(account.ou)}",
        ]
    # validate refuses the file until someone decides where it belongs
    return [
        f"    # status {status} in AWS (closed or suspended), in {_quote(account.ou)}",
        "    # there, where it would be one more workload account: give it a suspended",
        "    # OU (one of guardrails.suspended_ous), or delete this entry. No core role",
        "    # is guessed for it.",
        f"    ou: {PLACEHOLDER}",
    ]


def render_config(org: ImportedOrganization) -> str:
    """A starting config: every fact read, every guess marked, every unknown a placeholder."""
    lines = [
        "# yaml-language-server: $schema=../docs/landing-zone.schema.json",
        f"# Imported from the organisation {_quote(org.id)} by python -m baseline "
        "import-organization.",
        f"# Replace every {PLACEHOLDER} and confirm every line marked 'confirm'; then",
        "# python -m baseline validate <this file> lists whatever is still missing.",
    ]
    attached = attached_policies(org)
    if attached:
        lines += [
            "#",
            "# SCPs and RCPs attached in the organisation that AWS does not manage (not",
            "# imported; the landing zone's own, if it is deployed already, are among them).",
            "# A target holds at most five of each type, and the Organization stack attaches",
            "# the kit's next to these: with too many, its attachments fail and the stack rolls",
            f"# back ({POLICIES_DOC}). Move each one into guardrails.custom, or",
            "# detach it, before the first deploy:",
        ]
        for target, names in attached:
            lines.append(f"#   {target}: {', '.join(names)}")
    lines += [
        "organization:",
        f"  name: {PLACEHOLDER}                  # the organisation's display name",
        f"  prefix: {PLACEHOLDER}                # 2-12 lower-case letters and digits: names every resource",
        f"  id: {_quote(org.id)}",
        f"  root_id: {_quote(org.root_id)}",
        f"home_region: {PLACEHOLDER}             # e.g. eu-west-1",
        f"governed_regions: [{PLACEHOLDER}]      # every region workloads may use",
        f"security_notification_email: {PLACEHOLDER}",
        "security_contact:                # the security alternate contact of every account",
        f"  name: {PLACEHOLDER}",
        f"  title: {PLACEHOLDER}",
        f"  email: {PLACEHOLDER}",
        f"  phone: {PLACEHOLDER}",
        "organizational_units:" + ("" if org.units else " []"),
    ]

    def units(items: list[ImportedUnit], indent: int) -> None:
        pad = " " * indent
        for unit in items:
            lines.append(
                f"{pad}- name: {_quote(unit.name)}"
                + (f"   # {_quote(unit.aws_name)} in AWS" if unit.aws_name else "")
            )
            lines.append(f"{pad}  id: {_quote(unit.id)}")
            if unit.children:
                lines.append(f"{pad}  children:")
                units(unit.children, indent + 4)

    units(org.units, 2)
    top = [u.name for u in org.units]
    lines.append("guardrails:                       # where the OU guardrails attach: confirm")
    placed: set[str] = set()
    guesses: dict[str, list[str]] = {}
    for key, pattern in (  # the specific kinds first: an OU gets one kind at most
        ("suspended_ous", r"suspend|closed|quarantine|decommission"),
        ("sandbox_ous", r"sandbox|playground|experiment"),
        ("workload_ous", r"workload|prod|non.?prod|dev|test|staging"),
    ):
        guesses[key] = [n for n in top if n not in placed and re.search(pattern, n.lower())]
        placed.update(guesses[key])
    for key in ("workload_ous", "sandbox_ous", "suspended_ous"):
        matched = guesses[key]
        guessed = "   # guessed from the OU names" if matched else ""
        lines.append(f"  {key}: [{', '.join(_quote(n) for n in matched)}]{guessed}")
    lines.append("accounts:")
    for name, account in _sorted_accounts(org):
        lines.append(
            f"  - name: {name}"
            + (f"   # {_quote(account.name)} in AWS" if name != account.name else "")
        )
        lines.append(f"    email: {_quote(account.email)}")
        lines.append(f"    id: {_quote(account.id)}")
        lines += _placement(org, account, guesses)
        if account.role != "workload":
            lines.append(f"    role: {account.role}   # {account.why}")
    roles = {a.role for a in org.accounts}
    for role in ("log_archive", "audit", "network"):  # the config needs one account of each
        if role not in roles:
            lines += [
                f"  - name: {PLACEHOLDER}   # no active account looked like the {role} account: "
                "name the one that is (and delete its entry above), or one to create",
                f"    email: {PLACEHOLDER}",
                f"    ou: {PLACEHOLDER}",
                f"    role: {role}",
            ]
    return "\n".join(lines) + "\n"


def clients() -> tuple[Any, Any]:
    """boto3 clients with the standard credential chain, AWS_ENDPOINT_URL and standard retries."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 10})
    try:
        return boto3.client("organizations", config=config), boto3.client("sts", config=config)
    except ValueError as error:  # an endpoint or region botocore cannot make a URL of
        raise CommandError([f"cannot use the AWS credentials: {error}"]) from None


def progress_printer() -> Callable[[str], None] | None:
    """Progress on a terminal (stderr), nothing when piped."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        print(f"\r{message}", end="", file=sys.stderr, flush=True)

    return show


def placeholders(data: Any, path: str = "") -> list[str]:
    """The field path of every value still ``FILL-IN`` in parsed config data."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += placeholders(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += placeholders(value, f"{path}[{index}]")
    elif data == PLACEHOLDER:
        found.append(path)
    return found
