"""Custom resource: organisation-wide auto-enable of the detective services (audit account).

Runs in the delegated administrator (audit) account, once per governed region, after the
management account made it the administrator. On Create and Update, idempotently:

- GuardDuty: every member, present and future, with the protection plans asked for;
- Inspector: EC2, ECR and Lambda scanning for the existing members and every new one;
- Macie and Detective: the existing members enrolled, and every new one.

The existing members are read from AWS Organizations at run time (the administrator may
list them); accounts that join later are covered by the services' auto-enable.

CloudFormation has no resource type for these organisation settings. On Delete it changes
nothing: removing the stack must not turn detection off. Standard library and boto3 only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

try:  # in the function's package the handlers are top-level modules
    import cfn_response  # type: ignore[import-not-found]
except ImportError:  # as part of the baseline package (tests)
    from baseline.handlers import cfn_response

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

PHYSICAL_ID = "security-services"

ClientFactory = Callable[[str], Any]


def _boto3_client(service: str) -> Any:  # pragma: no cover - exercised in AWS only
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 10}))


def guardduty(client: Any, features: list[str]) -> str:
    detectors = client.list_detectors()["DetectorIds"]
    detector_id = str(
        detectors[0] if detectors else client.create_detector(Enable=True)["DetectorId"]
    )
    client.update_detector(
        DetectorId=detector_id,
        Enable=True,
        FindingPublishingFrequency="FIFTEEN_MINUTES",
        Features=[{"Name": name, "Status": "ENABLED"} for name in features],
    )
    client.update_organization_configuration(
        DetectorId=detector_id,
        AutoEnableOrganizationMembers="ALL",
        Features=[{"Name": name, "AutoEnable": "ALL"} for name in features],
    )
    return detector_id


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def inspector(client: Any, account_id: str, members: list[dict[str, str]]) -> int:
    """Scanning for the administrator, every existing member, and every new one."""
    client.update_organization_configuration(autoEnable={"ec2": True, "ecr": True, "lambda": True})
    ids = [account_id] + [m["AccountId"] for m in members]
    for member in members:
        client.associate_member(accountId=member["AccountId"])  # idempotent for org members
    for batch in _batches(ids, 100):  # Enable takes at most 100 accounts
        client.enable(accountIds=batch, resourceTypes=["EC2", "ECR", "LAMBDA"])
    return len(ids)


def macie(client: Any, members: list[dict[str, str]]) -> int:
    """Macie for the administrator, every existing member, and every new one."""
    # Designating the administrator may have enabled Macie already.
    with contextlib.suppress(client.exceptions.ConflictException):
        client.enable_macie(status="ENABLED", findingPublishingFrequency="FIFTEEN_MINUTES")
    client.update_organization_configuration(autoEnable=True)
    for member in members:
        with contextlib.suppress(client.exceptions.ConflictException):  # already a member
            client.create_member(
                account={"accountId": member["AccountId"], "email": member["Email"]}
            )
    return len(members)


def detective(client: Any, members: list[dict[str, str]]) -> str:
    """The behaviour graph, every existing member in it, and every new one."""
    graphs = client.list_graphs()["GraphList"]
    graph_arn = str(graphs[0]["Arn"] if graphs else client.create_graph()["GraphArn"])
    client.update_organization_configuration(GraphArn=graph_arn, AutoEnable=True)
    for batch in _batches(members, 50):  # CreateMembers takes at most 50 accounts
        client.create_members(
            GraphArn=graph_arn,
            Accounts=[{"AccountId": m["AccountId"], "EmailAddress": m["Email"]} for m in batch],
        )
    return graph_arn


def organization_members(organizations: Any, administrator: str) -> list[dict[str, str]]:
    """Every active account of the organisation but the administrator, read at run time.

    Accounts created moments earlier (by the account stacks) are included: the services'
    auto-enable would miss them, as it only takes accounts that join after it is set.
    """
    members: list[dict[str, str]] = []
    token: str | None = None
    while True:
        page = organizations.list_accounts(**({"NextToken": token} if token else {}))
        members += [
            {"AccountId": a["Id"], "Email": a["Email"]}
            for a in page["Accounts"]
            if a.get("Status", "ACTIVE") == "ACTIVE" and a["Id"] != administrator
        ]
        token = page.get("NextToken")
        if not token:
            return members


def apply(properties: dict[str, Any], client: ClientFactory) -> dict[str, Any]:
    """Enable what the properties name; returns what it did."""
    done: dict[str, Any] = {}
    services = set(properties.get("Services", []))
    if "guardduty" in services:
        done["guardduty"] = guardduty(client("guardduty"), properties.get("GuardDutyFeatures", []))
    members = (
        organization_members(client("organizations"), properties["AccountId"])
        if services & {"inspector2", "macie2", "detective"}
        else []
    )
    if "inspector2" in services:
        done["inspector2"] = inspector(client("inspector2"), properties["AccountId"], members)
    if "macie2" in services:
        done["macie2"] = macie(client("macie2"), members)
    if "detective" in services:
        done["detective"] = detective(client("detective"), members)
    return done


def send(event: dict[str, Any], status: str, reason: str = "") -> None:  # pragma: no cover
    cfn_response.send(event, status, PHYSICAL_ID, reason)


def handler(event: dict[str, Any], context: Any, client: ClientFactory = _boto3_client) -> None:
    """The Lambda entry point: apply, then always answer CloudFormation."""
    cfn_response.handle(event, lambda: apply(event["ResourceProperties"], client), send)
