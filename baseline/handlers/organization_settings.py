"""Custom resource: organisation settings CloudFormation has no resource type for.

Runs in the management account and, on Create and Update, idempotently:

1. enables trusted access for the services the baseline needs (IAM, Account Management,
   service-managed StackSets) and registers delegated administrators;
2. enables the organisation policy types the kit attaches (SCP, RCP, declarative, tag,
   AI opt-out, backup) on the root;
3. enables centralised root access for member accounts (root credentials management and
   privileged root sessions), so member accounts need no root passwords (SEC01-BP02);
4. makes the audit account the administrator of GuardDuty, Security Hub, Inspector,
   Macie and Detective in every governed region (an API call per service and region);
5. moves accounts into the OU the config names for them;
6. sets the security alternate contact on every account (CIS 1.2).

Each custom resource passes only the properties of the steps it wants: the organisation
stack the organisation-wide ones, each account stack the placements and contacts of its
accounts.

On Delete it changes nothing: removing the stack must not weaken the organisation. It
depends only on the Python standard library and the boto3 of the Lambda runtime.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

try:  # in the function's package the handlers are top-level modules
    import cfn_response  # type: ignore[import-not-found]
except ImportError:  # as part of the baseline package (tests)
    from baseline.handlers import cfn_response

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

PHYSICAL_ID = "organization-settings"
ROOT_FEATURES = ("RootCredentialsManagement", "RootSessions")

ClientFactory = Callable[..., Any]  # (service, region=None) -> client

#: How each detective service lists and designates its delegated administrator:
#: service -> (list call, list key, account field, enable call, enable parameter).
SERVICE_ADMIN_CALLS: dict[str, tuple[str, str, str, str, str]] = {
    "guardduty": (
        "list_organization_admin_accounts",
        "AdminAccounts",
        "AdminAccountId",
        "enable_organization_admin_account",
        "AdminAccountId",
    ),
    "securityhub": (
        "list_organization_admin_accounts",
        "AdminAccounts",
        "AccountId",
        "enable_organization_admin_account",
        "AdminAccountId",
    ),
    "inspector2": (
        "list_delegated_admin_accounts",
        "delegatedAdminAccounts",
        "accountId",
        "enable_delegated_admin_account",
        "delegatedAdminAccountId",
    ),
    "macie2": (
        "list_organization_admin_accounts",
        "adminAccounts",
        "accountId",
        "enable_organization_admin_account",
        "adminAccountId",
    ),
    "detective": (
        "list_organization_admin_accounts",
        "Administrators",
        "AccountId",
        "enable_organization_admin_account",
        "AccountId",
    ),
}


def _boto3_client(service: str, region: str | None = None) -> Any:  # pragma: no cover
    import boto3  # the Lambda runtime provides it
    from botocore.config import Config

    return boto3.client(
        service, region_name=region, config=Config(retries={"mode": "standard", "max_attempts": 10})
    )


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


#: Organizations refuses a change while another is still modifying the same entity (the
#: root after EnablePolicyType, an OU that parallel account stacks move accounts into):
#: ConcurrentModificationException, which botocore's retries leave alone. Tries, and the
#: first wait in seconds, doubled each time up to BUSY_MAX_SECONDS (about 90 s in all).
BUSY = ("ConcurrentModificationException", "PolicyChangesInProgressException")
BUSY_TRIES = 7
BUSY_SECONDS = 2.0
BUSY_MAX_SECONDS = 30.0


#: IAM's answer while the trusted access the function has just enabled for it is not yet
#: seen there (the root-access calls follow EnableAWSServiceAccess in one invocation)
NOT_YET_TRUSTED = ("ServiceAccessNotEnabledException",)


def _patiently(
    call: Callable[..., Any],
    sleep: Callable[[float], None] = time.sleep,
    *,
    busy: tuple[str, ...] = BUSY,
    **kwargs: Any,
) -> Any:
    """``call(**kwargs)``, again after a pause while the service says it is busy (the
    error codes ``busy``)."""
    for attempt in range(BUSY_TRIES - 1):
        try:
            return call(**kwargs)
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code not in busy:
                raise
            LOG.info("%s: %s, again in a moment", getattr(call, "__name__", "call"), code)
        sleep(min(BUSY_SECONDS * 2**attempt, BUSY_MAX_SECONDS))
    return call(**kwargs)  # the last try: its error is the resource's


def enable_trusted_access(organizations: Any, principals: Iterable[str]) -> list[str]:
    done = []
    for principal in principals:
        _patiently(organizations.enable_aws_service_access, ServicePrincipal=principal)
        done.append(principal)
    return done


#: How long to wait for enabled policy types to leave PENDING_ENABLE: polls and seconds apart.
POLICY_TYPE_POLLS = 60
POLICY_TYPE_POLL_SECONDS = 5.0


def _root(organizations: Any, root_id: str) -> dict[str, Any]:
    roots = organizations.list_roots()["Roots"]
    root = next((r for r in roots if r["Id"] == root_id), None)
    if root is None:
        raise ValueError(
            f"root {root_id} is not a root of this organisation ({[r['Id'] for r in roots]})"
        )
    return dict(root)


def _statuses(root: dict[str, Any]) -> dict[str, str]:
    return {p["Type"]: p["Status"] for p in root.get("PolicyTypes", [])}


def enable_policy_types(
    organizations: Any,
    root_id: str,
    wanted: Iterable[str],
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Enable each policy type on the root, then wait until every one shows ENABLED.

    EnablePolicyType is asynchronous: the root shows PENDING_ENABLE for a while, and a
    policy of the type attached meanwhile fails with PolicyTypeNotEnabledException. The
    Organization stack attaches its policies right after this resource, so it waits.
    """
    wanted = list(wanted)
    statuses = _statuses(_root(organizations, root_id))
    newly = []
    for policy_type in wanted:
        if statuses.get(policy_type) in ("ENABLED", "PENDING_ENABLE"):
            continue
        try:  # the root is busy while the type before this one is being enabled
            _patiently(
                organizations.enable_policy_type, sleep, RootId=root_id, PolicyType=policy_type
            )
        except organizations.exceptions.PolicyTypeAlreadyEnabledException:
            continue
        newly.append(policy_type)
    for _ in range(POLICY_TYPE_POLLS):
        now = _statuses(_root(organizations, root_id))
        pending = sorted(t for t in wanted if now.get(t) != "ENABLED")
        if not pending:
            return newly
        sleep(POLICY_TYPE_POLL_SECONDS)
    raise TimeoutError(
        f"policy types {', '.join(pending)} of root {root_id} were still not ENABLED after "
        f"{POLICY_TYPE_POLLS * POLICY_TYPE_POLL_SECONDS:.0f} s; check them with "
        "`aws organizations list-roots` and deploy again"
    )


def enable_stacksets_access(cloudformation: Any) -> bool:
    """Trusted access for service-managed StackSets (CloudFormation's own API, idempotent)."""
    cloudformation.activate_organizations_access()
    return True


def enable_ram_sharing(ram: Any) -> bool:
    """RAM sharing with the organisation (trusted access and RAM's role; idempotent)."""
    return bool(ram.enable_sharing_with_aws_organization()["returnValue"])


def register_delegated_administrators(
    organizations: Any, registrations: Iterable[dict[str, str]]
) -> list[str]:
    done = []
    for registration in registrations:
        try:
            _patiently(
                organizations.register_delegated_administrator,
                AccountId=registration["AccountId"],
                ServicePrincipal=registration["ServicePrincipal"],
            )
        except organizations.exceptions.AccountAlreadyRegisteredException:
            continue
        done.append(f"{registration['AccountId']}:{registration['ServicePrincipal']}")
    return done


def designate_service_administrators(client: ClientFactory, settings: dict[str, Any]) -> list[str]:
    """Make one account the administrator of each detective service, in every region."""
    done = []
    for region in settings["Regions"]:
        for service in settings["Services"]:
            list_call, key, field, enable_call, parameter = SERVICE_ADMIN_CALLS[service]
            api = client(service, region)
            # an administrator being disabled is no longer one: enabled again (or the
            # service says why not), rather than left to go
            current = [
                a[field]
                for a in getattr(api, list_call)().get(key, [])
                if not any("DISABL" in str(value) for value in a.values())
            ]
            if settings["AccountId"] in current:
                continue
            getattr(api, enable_call)(**{parameter: settings["AccountId"]})
            done.append(f"{service}@{region}")
    return done


def enable_root_access(iam: Any, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Centralised root access, once IAM sees the trusted access enabled just before."""
    features = _patiently(iam.list_organizations_features, sleep, busy=NOT_YET_TRUSTED)
    enabled = set(features.get("EnabledFeatures", []))
    newly = []
    if "RootCredentialsManagement" not in enabled:
        _patiently(
            iam.enable_organizations_root_credentials_management, sleep, busy=NOT_YET_TRUSTED
        )
        newly.append("RootCredentialsManagement")
    if "RootSessions" not in enabled:
        _patiently(iam.enable_organizations_root_sessions, sleep, busy=NOT_YET_TRUSTED)
        newly.append("RootSessions")
    return newly


class OutOfTimeError(TimeoutError):
    """The function's time is nearly up with accounts left: answered as a failure that
    says how far it got, before Lambda stops the function without an answer."""


def _in_time(out_of_time: Callable[[], bool], what: str, done: int, total: int) -> None:
    if out_of_time():
        raise OutOfTimeError(
            f"{what}: {done} of {total} accounts done when the function's time ran short; "
            "raise organization.account_stacks so that each account stack holds fewer "
            "accounts, and deploy again"
        )


def set_security_contacts(
    account: Any,
    contact: dict[str, str],
    management_account_id: str,
    account_ids: Iterable[str],
    out_of_time: Callable[[], bool] = lambda: False,
) -> int:
    details = {
        "AlternateContactType": "SECURITY",
        "Name": contact["Name"],
        "Title": contact["Title"],
        "EmailAddress": contact["EmailAddress"],
        "PhoneNumber": contact["PhoneNumber"],
    }
    count = 0
    ordered = sorted(set(account_ids))
    for account_id in ordered:
        _in_time(out_of_time, "security contacts", count, len(ordered))
        if account_id == management_account_id:
            account.put_alternate_contact(**details)  # AWS: no AccountId for the caller's own
        else:
            account.put_alternate_contact(AccountId=account_id, **details)
        count += 1
    return count


def place_accounts(
    organizations: Any,
    placements: list[dict[str, str]],
    out_of_time: Callable[[], bool] = lambda: False,
) -> list[str]:
    """Move each account under its configured parent (the root or an OU), if elsewhere."""
    moved = []
    for done, placement in enumerate(placements):
        _in_time(out_of_time, "placements", done, len(placements))
        account_id, parent_id = placement["AccountId"], placement["ParentId"]
        current = organizations.list_parents(ChildId=account_id)["Parents"][0]["Id"]
        if current != parent_id:
            _patiently(
                organizations.move_account,
                AccountId=account_id,
                SourceParentId=current,
                DestinationParentId=parent_id,
            )
            moved.append(f"{account_id}:{current}->{parent_id}")
    return moved


def apply(
    properties: dict[str, Any],
    client: ClientFactory,
    out_of_time: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Apply the steps the properties ask for (and only those); returns what changed.

    :raises OutOfTimeError: time ran short in a step over accounts (placements, contacts).
    """
    organizations = client("organizations")
    result: dict[str, Any] = {}
    if properties.get("ServicePrincipals"):
        result["TrustedAccess"] = enable_trusted_access(
            organizations, properties["ServicePrincipals"]
        )
    if _true(properties.get("StackSetsAccess", "false")):
        result["StackSetsAccess"] = enable_stacksets_access(client("cloudformation"))
    if _true(properties.get("RamSharing", "false")):
        result["RamSharing"] = enable_ram_sharing(client("ram"))
    if properties.get("DelegatedAdministrators"):
        result["DelegatedAdministrators"] = register_delegated_administrators(
            organizations, properties["DelegatedAdministrators"]
        )
    if properties.get("ServiceAdministrators"):
        result["ServiceAdministrators"] = designate_service_administrators(
            client, properties["ServiceAdministrators"]
        )
    if "RootId" in properties:
        result["PolicyTypes"] = enable_policy_types(
            organizations, properties["RootId"], properties.get("PolicyTypes", [])
        )
    if _true(properties.get("CentralizedRootAccess", "false")):
        result["RootAccess"] = enable_root_access(client("iam"))
    if properties.get("Placements"):
        result["Placements"] = place_accounts(organizations, properties["Placements"], out_of_time)
    contact = properties.get("SecurityContact")
    if contact:
        result["SecurityContacts"] = set_security_contacts(
            client("account"),
            contact,
            properties["ManagementAccountId"],
            properties.get("AccountIds", []),
            out_of_time,
        )
    return result


def send(event: dict[str, Any], status: str, reason: str = "") -> None:  # pragma: no cover
    cfn_response.send(event, status, PHYSICAL_ID, reason)


def handler(event: dict[str, Any], context: Any, client: ClientFactory = _boto3_client) -> None:
    """The Lambda entry point: apply, then always answer CloudFormation, before the
    function's time runs out (``cfn_response.ANSWER_MARGIN_SECONDS`` kept for the answer)."""
    started = time.monotonic()
    budget = (
        context.get_remaining_time_in_millis() / 1000 - cfn_response.ANSWER_MARGIN_SECONDS
        if context is not None
        else float("inf")
    )
    cfn_response.handle(
        event,
        lambda: apply(
            event["ResourceProperties"], client, lambda: time.monotonic() - started > budget
        ),
        send,
    )
