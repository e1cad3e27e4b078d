"""Accounts: the organisation's accounts, spread over stacks so any size fits.

Everything that grows with the number of accounts lives here, not in the Organization
stack: the accounts the kit creates (retained), the move of every account into the OU
the config names, and its security alternate contact. Accounts are spread over
``organization.account_stacks`` stacks by a stable hash of their names
(``naming.account_stack_index``), so adding or removing an account never moves another
one between stacks. Each stack finds the OU ids in SSM parameters the Organization stack
writes, and the organisation-settings function by its name: no CloudFormation exports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from baseline import naming
from baseline.config import ROOT_OU, Account, AccountRole, LandingZoneConfig, SecurityContact

#: New accounts created at once: AWS Organizations limits concurrent CreateAccount
#: requests, so each new account waits for the one this many places before it.
PARALLEL_ACCOUNT_CREATIONS = 5


@dataclass(frozen=True)
class AccountsSettings:
    """What one account stack needs, derived once from the config."""

    prefix: str
    management_account_id: str
    home_region: str
    #: the accounts of this shard, in config order
    accounts: tuple[Account, ...]
    #: OU path or ``Root`` -> its id: literal where the config has it, else read from the
    #: SSM parameter the Organization stack writes
    parent_ids: dict[str, str]
    security_contact: SecurityContact

    @classmethod
    def from_config(
        cls, config: LandingZoneConfig, accounts: Sequence[Account]
    ) -> AccountsSettings:
        return cls(
            prefix=config.organization.prefix,
            management_account_id=config.account_id_for(AccountRole.MANAGEMENT),
            home_region=config.home_region,
            accounts=tuple(accounts),
            parent_ids={path: parent_id(config, path) for path in [ROOT_OU, *config.ou_paths()]},
            security_contact=config.security_contact,
        )


def parent_id(config: LandingZoneConfig, path: str) -> str:
    """The id of an OU path or the root: literal if the config has it, else from SSM.

    The root of an organisation the kit creates always comes from SSM, as the Organization
    stack takes it from its own resource.
    """
    known = None if path == ROOT_OU and config.organization.create else config.known_id(path)
    if known is not None:
        return known
    parameter = naming.ou_id_parameter(config.organization.prefix, path)
    return f"{{{{resolve:ssm:{parameter}}}}}"


class AccountsStack(cdk.Stack):
    """One shard of the organisation's accounts (management account, home region).

    Implements SEC01-BP01 (every account sits in the OU whose guardrails it needs) and
    CIS 1.2 (a security contact on every account).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: AccountsSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.created: dict[str, organizations.CfnAccount] = {}
        previous: list[organizations.CfnAccount] = []
        for account in settings.accounts:
            if account.id is not None:
                continue
            created = organizations.CfnAccount(
                self,
                _account_construct_id(account.name),
                account_name=account.name,
                email=account.email,
                parent_ids=[settings.parent_ids[account.ou]],
                tags=[cdk.CfnTag(key="lz:role", value=account.role.value)],
            )
            if len(previous) >= PARALLEL_ACCOUNT_CREATIONS:
                created.add_resource_dependency(previous[-PARALLEL_ACCOUNT_CREATIONS])
            previous.append(created)
            self.created[account.name] = created
        if self.created:
            # kept when they leave the stack (an account is closed by a person, never by a
            # stack update): one aspect for the stack instead of a call per account
            cdk.RemovalPolicies.of(self).retain(
                apply_to_resource_types=["AWS::Organizations::Account"]
            )

        contact = settings.security_contact
        management_id = settings.management_account_id
        self.account_settings = cdk.CustomResource(
            self,
            "AccountSettings",
            service_token=naming.organization_settings_function_arn(
                settings.prefix, management_id, settings.home_region
            ),
            resource_type="Custom::OrganizationAccounts",
            properties={
                "ManagementAccountId": management_id,
                "AccountIds": [self.account_id(a) for a in settings.accounts],
                # Existing member accounts move into their OU; created ones start there.
                "Placements": [
                    {"AccountId": a.id, "ParentId": settings.parent_ids[a.ou]}
                    for a in settings.accounts
                    if a.id is not None and a.role != AccountRole.MANAGEMENT
                ],
                "SecurityContact": {
                    "Name": contact.name,
                    "Title": contact.title,
                    "EmailAddress": contact.email,
                    "PhoneNumber": contact.phone,
                },
            },
        )

    def account_id(self, account: Account) -> str | dict[str, list[str]]:
        """The account's id: literal, or for an account this stack creates the reference
        to its ``AccountId`` (within this stack; written out rather than asked of the CDK,
        which at 2,000 accounts saves a call into node for each of the 667 new ones)."""
        if account.id:
            return account.id
        assert account.name in self.created  # an account of this stack
        return {"Fn::GetAtt": [_account_construct_id(account.name), "AccountId"]}


def _account_construct_id(name: str) -> str:
    """A created account's construct id, which is also its logical id: the CDK gives a
    resource directly in a stack its construct id (no hash for a one-part path)."""
    return f"Account{naming.logical_id(name)}"


def shard_accounts(config: LandingZoneConfig) -> dict[int, list[Account]]:
    """Account stack index -> its accounts, in config order; empty shards are left out."""
    shards: dict[int, list[Account]] = {}
    for account in config.accounts:
        index = naming.account_stack_index(account.name, config.organization.account_stacks)
        shards.setdefault(index, []).append(account)
    return dict(sorted(shards.items()))
