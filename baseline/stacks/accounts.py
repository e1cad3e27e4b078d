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

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from baseline import naming
from baseline.config import ROOT_OU, Account, AccountRole, LandingZoneConfig

#: New accounts created at once: AWS Organizations limits concurrent CreateAccount
#: requests, so each new account waits for the one this many places before it.
PARALLEL_ACCOUNT_CREATIONS = 5


def parent_id(config: LandingZoneConfig, path: str) -> str:
    """The id of an OU path or the root: literal if the config has it, else from SSM."""
    if path == ROOT_OU and config.organization.root_id and not config.organization.create:
        return config.organization.root_id
    known = config.ou_ids()
    if path in known:
        return known[path]
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
        config: LandingZoneConfig,
        accounts: list[Account],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.organization.prefix
        management_id = config.account_id_for(AccountRole.MANAGEMENT)
        self.created: dict[str, organizations.CfnAccount] = {}
        previous: list[organizations.CfnAccount] = []
        for account in accounts:
            if account.id is not None:
                continue
            created = organizations.CfnAccount(
                self,
                f"Account{_logical(account.name)}",
                account_name=account.name,
                email=account.email,
                parent_ids=[parent_id(config, account.ou)],
                tags=[cdk.CfnTag(key="lz:role", value=account.role.value)],
            )
            created.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            if len(previous) >= PARALLEL_ACCOUNT_CREATIONS:
                created.add_resource_dependency(previous[-PARALLEL_ACCOUNT_CREATIONS])
            previous.append(created)
            self.created[account.name] = created

        contact = config.security_contact
        self.settings = cdk.CustomResource(
            self,
            "AccountSettings",
            service_token=naming.organization_settings_function_arn(
                prefix, management_id, config.home_region
            ),
            resource_type="Custom::OrganizationAccounts",
            properties={
                "ManagementAccountId": management_id,
                "AccountIds": [self.account_id(a) for a in accounts],
                # Existing member accounts move into their OU; created ones start there.
                "Placements": [
                    {"AccountId": a.id, "ParentId": parent_id(config, a.ou)}
                    for a in accounts
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

    def account_id(self, account: Account) -> str:
        return account.id or self.created[account.name].attr_account_id


def shard_accounts(config: LandingZoneConfig) -> dict[int, list[Account]]:
    """Account stack index -> its accounts, in config order; empty shards are left out."""
    shards: dict[int, list[Account]] = {}
    for account in config.accounts:
        index = naming.account_stack_index(account.name, config.organization.account_stacks)
        shards.setdefault(index, []).append(account)
    return dict(sorted(shards.items()))


def _logical(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
