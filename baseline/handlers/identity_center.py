"""``Custom::AssignmentLookups``: what an assignment stack can only learn at deploy time.

- The ids of Identity Center groups the config gives by display name: only the identity
  store knows them (``identitystore:GetGroupId``), returned as ``Group0``, ``Group1``, ...
  in the order of ``Names``.
- The ids of the accounts the landing zone creates, found by e-mail in the organisation
  (``organizations:ListAccounts``, which the management account and a delegated
  administrator may call), returned as ``Account0``, ... in the order of
  ``AccountEmails``. A lookup instead of a cross-stack reference: the delegated
  administrator cannot reference the management account's Accounts stacks, and each
  reference would be an output of those stacks, which hold at most 200.

One resource per assignment stack; an unknown name or e-mail fails the deploy with a
message that names it. Read-only; on Delete nothing changes.

Standard library and boto3 only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

try:  # in the function's package the handlers are top-level modules
    import cfn_response  # type: ignore[import-not-found]
except ImportError:  # as part of the baseline package (tests)
    from baseline.handlers import cfn_response

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

ClientFactory = Callable[[str], Any]


def _boto3_client(service: str) -> Any:  # pragma: no cover - exercised in AWS only
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 10}))


def group_ids(client: Any, identity_store_id: str, names: list[str]) -> cfn_response.ResponseData:
    """``Group<i>`` -> the id of the group displayed as ``names[i]``; every unknown name
    is named in one error."""
    found = cfn_response.ResponseData()
    unknown = []
    for index, name in enumerate(names):
        try:
            answer = client.get_group_id(
                IdentityStoreId=identity_store_id,
                AlternateIdentifier={
                    "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name}
                },
            )
        except client.exceptions.ResourceNotFoundException:
            unknown.append(name)
            continue
        found[f"Group{index}"] = answer["GroupId"]
    if unknown:
        raise LookupError(
            f"no group of identity store {identity_store_id} is displayed as "
            + ", ".join(repr(n) for n in unknown)
            + " (identity_center.assignments names it)"
        )
    return found


def account_ids(client: Any, emails: list[str]) -> cfn_response.ResponseData:
    """``Account<i>`` -> the id of the organisation's account with e-mail ``emails[i]``
    (compared without case); every unknown e-mail is named in one error."""
    by_email = {
        account["Email"].lower(): account["Id"]
        for page in client.get_paginator("list_accounts").paginate()
        for account in page["Accounts"]
    }
    found = cfn_response.ResponseData()
    unknown = []
    for index, email in enumerate(emails):
        if email.lower() in by_email:
            found[f"Account{index}"] = by_email[email.lower()]
        else:
            unknown.append(email)
    if unknown:
        raise LookupError(
            "no account of the organisation has the e-mail "
            + ", ".join(unknown)
            + " (identity_center.assignments reach it; its Accounts stack creates it)"
        )
    return found


def lookups(properties: dict[str, Any], client: ClientFactory) -> cfn_response.ResponseData:
    found = cfn_response.ResponseData()
    names = list(properties.get("Names", []))
    emails = list(properties.get("AccountEmails", []))
    if names:
        found.update(group_ids(client("identitystore"), properties["IdentityStoreId"], names))
    if emails:
        found.update(account_ids(client("organizations"), emails))
    return found


def handler(event: dict[str, Any], context: Any, client: ClientFactory = _boto3_client) -> None:
    """The Lambda entry point: always answer CloudFormation."""
    cfn_response.handle(event, lambda: lookups(event["ResourceProperties"], client), _send)


def _send(event: dict[str, Any], status: str, reason: str = "", data: Any = None) -> None:
    cfn_response.send(event, status, "assignment-lookups", reason, data)  # pragma: no cover
