"""``Custom::IdentityStoreGroups``: the ids of Identity Center groups given by display name.

The config may name a group by its display name; an assignment needs its id, which only
the identity store knows, at deploy time. One resource per assignment stack looks every
name up (``identitystore:GetGroupId``) and returns the ids as attributes ``Group0``,
``Group1``, ... in the order of ``Names``. An unknown name fails the deploy with a
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


def handler(event: dict[str, Any], context: Any, client: ClientFactory = _boto3_client) -> None:
    """The Lambda entry point: always answer CloudFormation."""
    properties = event["ResourceProperties"]
    cfn_response.handle(
        event,
        lambda: group_ids(
            client("identitystore"), properties["IdentityStoreId"], list(properties["Names"])
        ),
        _send,
    )


def _send(event: dict[str, Any], status: str, reason: str = "", data: Any = None) -> None:
    cfn_response.send(event, status, "identity-store-groups", reason, data)  # pragma: no cover
