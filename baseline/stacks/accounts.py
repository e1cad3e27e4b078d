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

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from baseline import naming
from baseline.config import ROOT_OU, Account, AccountRole, LandingZoneConfig, SecurityContact
from baseline.constructs.baseline_function import HANDLER_DIGEST, answer_within, handler_digest
from baseline.constructs.organization_settings import SETTINGS_TIMEOUT

if TYPE_CHECKING:
    from aws_cdk.cloudformation_include import CfnInclude

#: New accounts created at once in a stack: one. The AWS::Organizations::Account reference
#: says the accounts of one template must be chained with DependsOn and created one after
#: another ("If you create multiple accounts at the same time, Organizations returns an
#: error and the stack operation fails"), so each new account waits for the one before it.
PARALLEL_ACCOUNT_CREATIONS = 1

#: The context value under which the CDK writes each resource's construct path into its
#: metadata (the CDK CLI sets it), and the metadata key it writes.
PATH_METADATA_CONTEXT = "aws:cdk:enable-path-metadata"
PATH_METADATA_KEY = "aws:cdk:path"


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
        #: account name -> the logical id of the account this stack creates
        self.created_ids: dict[str, str] = {}
        resources: dict[str, dict[str, Any]] = {}  # logical id -> resource
        chain: list[str] = []  # their logical ids in config order, the order of creation
        for account in settings.accounts:
            if account.id is not None:
                continue
            logical_id = naming.created_account_logical_id(account.name)
            if logical_id in resources:  # the config refuses this; never write one over another
                raise ValueError(f"two accounts of {construct_id} would be {logical_id}")
            resource: dict[str, Any] = {
                "Type": "AWS::Organizations::Account",
                "Properties": {
                    "AccountName": account.name,
                    "Email": account.email,
                    "ParentIds": [settings.parent_ids[account.ou]],
                    "Tags": [{"Key": "lz:role", "Value": account.role.value}],
                },
            }
            if len(chain) >= PARALLEL_ACCOUNT_CREATIONS:
                resource["DependsOn"] = [chain[-PARALLEL_ACCOUNT_CREATIONS]]
            chain.append(logical_id)
            resources[logical_id] = resource
            self.created_ids[account.name] = logical_id
        self._created_accounts: CfnInclude | None = None
        if resources:
            node = self.node
            if node.try_get_context(PATH_METADATA_CONTEXT):
                # what the CDK writes on a resource under the CLI, which an included one
                # does not get: the path these accounts have always had in the template,
                # so that no deploy sees a change
                path = node.path
                for logical_id, resource in resources.items():
                    resource["Metadata"] = {PATH_METADATA_KEY: f"{path}/{logical_id}"}
            self._created_accounts = _include(self, resources)
            # kept when they leave the stack (an account is closed by a person, never by a
            # stack update): one aspect for the stack instead of a call per account
            cdk.RemovalPolicies.of(self).retain(
                apply_to_resource_types=["AWS::Organizations::Account"]
            )

        contact = settings.security_contact
        management_id = settings.management_account_id
        self.account_settings = cdk.CustomResource(
            self,
            naming.ACCOUNT_SETTINGS_LOGICAL_ID,
            service_token=naming.organization_settings_function_arn(
                settings.prefix, management_id, settings.home_region
            ),
            resource_type="Custom::OrganizationAccounts",
            service_timeout=answer_within(SETTINGS_TIMEOUT),
            properties={
                HANDLER_DIGEST: handler_digest("organization_settings"),
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
        return {"Fn::GetAtt": [self.created_ids[account.name], "AccountId"]}

    @property
    def created(self) -> dict[str, organizations.CfnAccount]:
        """Account name -> the ``AWS::Organizations::Account`` resource this stack creates
        (each asked of the CDK when read)."""
        included = self._created_accounts
        if included is None:
            return {}
        created: dict[str, organizations.CfnAccount] = {}
        for name, logical_id in self.created_ids.items():
            resource = included.get_resource(logical_id)
            assert isinstance(resource, organizations.CfnAccount)  # the include parses its type
            created[name] = resource
        return created


def _include(stack: cdk.Stack, resources: dict[str, dict[str, Any]]) -> CfnInclude:
    """The accounts a stack creates, as resources of one included template.

    One call into the CDK for all of them, where a ``CfnAccount`` construct each, with its
    place in the chain of creations, took two (at 2,000 accounts, 667 new: about half a
    second). The CDK parses the template into the same ``CfnAccount`` resources, with the
    same logical ids and properties; the template is read when the include is made, so it
    lives in a directory of its own only until then.
    """
    from aws_cdk import cloudformation_include  # only an organisation that creates accounts

    with tempfile.TemporaryDirectory(prefix="lz-accounts-") as scratch:
        template = Path(scratch) / "accounts.json"
        template.write_text(json.dumps({"Resources": resources}), encoding="utf-8")
        return cloudformation_include.CfnInclude(
            stack, "CreatedAccounts", template_file=str(template), preserve_logical_ids=True
        )


def shard_accounts(config: LandingZoneConfig) -> dict[int, list[Account]]:
    """Account stack index -> its accounts, in config order; empty shards are left out."""
    shards: dict[int, list[Account]] = {}
    for account in config.accounts:
        index = naming.account_stack_index(account.name, config.organization.account_stacks)
        shards.setdefault(index, []).append(account)
    return dict(sorted(shards.items()))
