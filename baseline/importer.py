"""``python -m baseline import-organization``: a starting landing-zone config from an
existing organisation, read with the caller's credentials and nothing written.

It reads (Describe and List calls only: ``READ_OPERATIONS``) the organisation, its root,
the OU tree with every OU's id, every account with its id, e-mail and place, and the
delegated administrators; it guesses the core accounts from what they administer and from
their names, and marks each guess to confirm; what it cannot know (the prefix, the regions,
the contacts) it leaves as ``FILL-IN`` placeholders, which ``validate`` reports by field.

The standard credential chain, ``AWS_ENDPOINT_URL``, botocore's standard retries, and
every list paginated. No CDK here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
    }
)

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


def unit_name(aws_name: str, taken: set[str]) -> str:
    """A name the config accepts for an OU, from its AWS name and unique among its
    siblings: characters the config refuses (``.``, ``/``, ...) become ``-``, a name must
    start with a letter and cannot be ``Root``. The config names an existing OU by its id,
    so its name in AWS stays as it is."""
    name = re.sub(r"[^A-Za-z0-9 _-]+", "-", aws_name).strip(" -_")[:120] or "OU"
    if not name[0].isalpha():
        name = f"OU-{name}"
    if name == ROOT_OU:
        name = "Root-OU"
    base, number = name, 1
    while name.lower() in taken:  # OU names are unique among siblings, whatever the case
        number += 1
        name = f"{base}-{number}"
    taken.add(name.lower())
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
class ImportedOrganization:
    id: str
    root_id: str
    management_account_id: str
    units: list[ImportedUnit]
    accounts: list[ImportedAccount]


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
            taken: set[str] = set()
            for unit in _pages(
                organizations,
                "list_organizational_units_for_parent",
                "OrganizationalUnits",
                ParentId=parent_id,
            ):
                name = unit_name(unit["Name"], taken)
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
    _guess_roles(accounts, management, delegated)
    return ImportedOrganization(organization["Id"], root["Id"], management, units, accounts)


def _guess_roles(
    accounts: list[ImportedAccount], management: str, delegated: dict[str, list[str]]
) -> None:
    taken: set[str] = set()
    for account in accounts:
        if account.id == management:
            account.role, account.why = "management", "the organisation's management account"
    for role in _CORE_ROLES:  # by delegation first, one account per role
        for account in accounts:
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
        for account in accounts:
            if account.role == "workload" and pattern.search(account.name.lower()):
                account.role, account.why = role, "guessed from its name; confirm"
                taken.add(role)
                break


# --- the YAML ---------------------------------------------------------------------------


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug if slug and slug[0].isalpha() else f"account-{slug}".strip("-")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(org: ImportedOrganization) -> str:
    """A starting config: every fact read, every guess marked, every unknown a placeholder."""
    lines = [
        "# yaml-language-server: $schema=../docs/landing-zone.schema.json",
        f"# Imported from the organisation {org.id} by python -m baseline import-organization.",
        f"# Replace every {PLACEHOLDER} and confirm every line marked 'confirm'; then",
        "# python -m baseline validate <this file> lists whatever is still missing.",
        "organization:",
        f"  name: {PLACEHOLDER}                  # the organisation's display name",
        f"  prefix: {PLACEHOLDER}                # 2-12 lower-case letters and digits: names every resource",
        f"  id: {org.id}",
        f"  root_id: {org.root_id}",
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
            lines.append(f"{pad}  id: {unit.id}")
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
    used: set[str] = set()
    for account in sorted(org.accounts, key=lambda a: (a.role == "workload", a.ou, a.name)):
        name = base = _slug(account.name)
        number = 1
        while name in used:  # a name is unique in the config
            number += 1
            name = f"{base}-{number}"
        used.add(name)
        lines.append(
            f"  - name: {name}" + (f"   # {account.name!r} in AWS" if name != account.name else "")
        )
        lines.append(f"    email: {_quote(account.email)}")
        lines.append(f'    id: "{account.id}"')
        lines.append(f"    ou: {_quote(account.ou)}")
        if account.role != "workload":
            lines.append(f"    role: {account.role}   # {account.why}")
        if account.status != "ACTIVE":
            lines.append(
                f"    # status {account.status} in AWS: move it to a suspended OU or drop it"
            )
    roles = {a.role for a in org.accounts}
    for role in ("log_archive", "audit", "network"):  # the config needs one account of each
        if role not in roles:
            lines += [
                f"  - name: {PLACEHOLDER}   # no account looked like the {role} account: name "
                "the one that is (and delete its entry above), or one to create",
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
