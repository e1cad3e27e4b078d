"""Custom resources of the network hub (network account, one function per region).

Two things CloudFormation cannot express:

- ``Custom::TransitGatewayDefaults``: associate the egress VPC's attachment with the
  egress table, then make the hub's own route tables the transit gateway's defaults.
  New spoke attachments then associate with the spokes table (whose only way out is the
  inspected egress VPC) and propagate into the egress table (so replies find them).
  CloudFormation cannot set this itself: the route tables need the gateway's id, so the
  gateway cannot name them. The egress association is made here, not by CloudFormation,
  because an attachment created while the defaults are on (a replaced egress VPC) is
  associated with the spokes table at once and must be moved. On Delete the defaults are
  turned off again, so the route tables can be deleted with the stack.
- ``Custom::ManagedDomainLists``: the ids of the AWS managed DNS Firewall domain lists,
  which differ per region, returned as attributes named after the lists. Read-only; on
  Delete nothing changes.

Standard library and boto3 only.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
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

    retries = {"mode": "standard", "max_attempts": cfn_response.CALL_ATTEMPTS}
    return boto3.client(service, config=Config(retries=retries))


def _sleep(seconds: float) -> None:
    """``time.sleep``, looked up when called (so a test can stop the waiting)."""
    time.sleep(seconds)


#: Seconds kept back from the function's timeout to answer CloudFormation.
ANSWER_SECONDS: int = cfn_response.ANSWER_MARGIN_SECONDS


def _deadline(context: Any) -> float:
    """When the waiting must stop, on ``time.monotonic``'s clock, for this invocation."""
    left = context.get_remaining_time_in_millis() / 1000 if context is not None else 900.0
    return time.monotonic() + left - ANSWER_SECONDS


def _wait(
    check: Callable[[], bool],
    what: str,
    sleep: Callable[[float], None],
    deadline: float | None = None,
) -> None:
    """Up to five minutes of checks, and never past the invocation's deadline (one
    invocation may wait three times)."""
    for _ in range(60):
        if check():
            return
        if deadline is not None and time.monotonic() + 5 > deadline:
            break
        sleep(5)
    raise TimeoutError(f"gave up waiting for {what}")


def _association(client: Any, attachment: str) -> dict[str, Any]:
    """The attachment's route-table association; none once it is disassociated (EC2 may
    show that state for a while instead of no association) or the attachment is gone."""
    try:
        found = client.describe_transit_gateway_attachments(
            TransitGatewayAttachmentIds=[attachment]
        )["TransitGatewayAttachments"]
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code == "InvalidTransitGatewayAttachmentID.NotFound":
            return {}
        raise
    current: dict[str, Any] = (found[0].get("Association") or {}) if found else {}
    return {} if current.get("State") == "disassociated" else current


def associate_egress(
    client: Any,
    properties: dict[str, Any],
    sleep: Callable[[float], None] = _sleep,
    deadline: float | None = None,
) -> str:
    """The egress attachment associated with the egress table, and with nothing else."""
    attachment = properties["EgressAttachmentId"]
    table = properties["PropagationDefaultRouteTableId"]

    def association() -> dict[str, Any]:
        return _association(client, attachment)

    current = association()
    if current.get("TransitGatewayRouteTableId") == table and current.get("State") == "associated":
        return "kept"
    if current.get("TransitGatewayRouteTableId") not in (None, table):
        client.disassociate_transit_gateway_route_table(
            TransitGatewayRouteTableId=current["TransitGatewayRouteTableId"],
            TransitGatewayAttachmentId=attachment,
        )
        _wait(lambda: not association(), "the old association to go", sleep, deadline)
    if not association():
        client.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=attachment
        )
    _wait(
        lambda: association().get("State") == "associated",
        "the egress association",
        sleep,
        deadline,
    )
    return "associated"


def set_defaults(
    client: Any,
    properties: dict[str, Any],
    sleep: Callable[[float], None] = _sleep,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Egress attachment on the egress table; the hub's tables as the gateway's defaults."""
    gateway = properties["TransitGatewayId"]
    egress = associate_egress(client, properties, sleep, deadline)
    options = {
        "DefaultRouteTableAssociation": "enable",
        "AssociationDefaultRouteTableId": properties["AssociationDefaultRouteTableId"],
        "DefaultRouteTablePropagation": "enable",
        "PropagationDefaultRouteTableId": properties["PropagationDefaultRouteTableId"],
    }
    client.modify_transit_gateway(TransitGatewayId=gateway, Options=options)
    _wait_available(client, gateway, sleep, deadline)
    return {"EgressAssociation": egress, **options}


def _wait_available(
    client: Any, gateway: str, sleep: Callable[[float], None], deadline: float | None = None
) -> None:
    def available() -> bool:
        found = client.describe_transit_gateways(TransitGatewayIds=[gateway])["TransitGateways"]
        return bool(found[0]["State"] == "available")

    _wait(available, "the transit gateway to apply its options", sleep, deadline)


def clear_defaults(
    client: Any,
    properties: dict[str, Any],
    sleep: Callable[[float], None] = _sleep,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Turn the defaults off and take the egress attachment off the egress table, so the
    route tables are no longer in use: a table with an association cannot be deleted."""
    options = {"DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"}
    gateway = properties["TransitGatewayId"]
    client.modify_transit_gateway(TransitGatewayId=gateway, Options=options)
    _wait_available(client, gateway, sleep, deadline)
    return {**options, "EgressAssociation": release_egress(client, properties, sleep, deadline)}


def release_egress(
    client: Any,
    properties: dict[str, Any],
    sleep: Callable[[float], None] = _sleep,
    deadline: float | None = None,
) -> str:
    """The egress attachment off the egress table (the association this resource made),
    once it is settled; nothing where it is gone already, or the attachment is."""
    attachment = properties["EgressAttachmentId"]
    table = properties["PropagationDefaultRouteTableId"]

    def state() -> str | None:
        """The association's state with the egress table; None when there is none."""
        current = _association(client, attachment)
        if current.get("TransitGatewayRouteTableId") != table:
            return None
        return str(current.get("State"))

    if state() is None:
        return "none"
    _wait(
        lambda: state() in ("associated", None), "the egress association to settle", sleep, deadline
    )
    if state() == "associated":
        client.disassociate_transit_gateway_route_table(
            TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=attachment
        )
    _wait(lambda: state() is None, "the egress association to go", sleep, deadline)
    return "released"


def managed_domain_lists(client: Any, names: list[str]) -> cfn_response.ResponseData:
    """Name -> id of the AWS managed domain lists asked for; fails if one is missing."""
    found: dict[str, str] = {}
    token = None
    while True:
        page = client.list_firewall_domain_lists(
            MaxResults=100, **({"NextToken": token} if token else {})
        )
        for domain_list in page.get("FirewallDomainLists", []):
            if domain_list.get("ManagedOwnerName"):  # AWS managed, not a list of this account
                found[domain_list["Name"]] = domain_list["Id"]
        token = page.get("NextToken")
        if not token:
            break
    missing = sorted(set(names) - set(found))
    if missing:
        raise LookupError(
            f"AWS managed domain lists not offered in this region: {', '.join(missing)}"
        )
    return cfn_response.ResponseData({name: found[name] for name in names})


#: The hub's own ids, set in the function's environment by the construct: the function
#: acts on these and nothing else, whatever a request names.
OWN_IDS = {
    "TransitGatewayId": "HUB_TRANSIT_GATEWAY_ID",
    "AssociationDefaultRouteTableId": "HUB_SPOKE_ROUTE_TABLE_ID",
    "PropagationDefaultRouteTableId": "HUB_EGRESS_ROUTE_TABLE_ID",
    "EgressAttachmentId": "HUB_EGRESS_ATTACHMENT_ID",
}


def own_ids(properties: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The request's properties with the hub's ids from the function's own configuration.

    :raises ValueError: the configuration lacks an id, or the request names another one.
    """
    missing = sorted(variable for variable in OWN_IDS.values() if not environ.get(variable))
    if missing:
        raise ValueError(f"the function's environment lacks {', '.join(missing)}")
    ids = {key: environ[variable] for key, variable in OWN_IDS.items()}
    foreign = sorted(k for k, v in ids.items() if properties.get(k) not in (None, v))
    if foreign:
        raise ValueError(
            f"the request names {', '.join(foreign)} other than this hub's own; refused"
        )
    return {**properties, **ids}


def handler(event: dict[str, Any], context: Any, client: ClientFactory = _boto3_client) -> None:
    """The Lambda entry point: dispatch on the resource type, always answer CloudFormation."""
    properties = event["ResourceProperties"]
    kind = event["ResourceType"]
    deadline = _deadline(context)
    if kind == "Custom::TransitGatewayDefaults":
        physical_id = str(os.environ.get(OWN_IDS["TransitGatewayId"], "transit-gateway"))
        cfn_response.handle(
            event,
            lambda: set_defaults(client("ec2"), own_ids(properties, os.environ), deadline=deadline),
            _sender(physical_id),
            remove=lambda: clear_defaults(
                client("ec2"), own_ids(properties, os.environ), deadline=deadline
            ),
        )
    elif kind == "Custom::ManagedDomainLists":
        cfn_response.handle(
            event,
            lambda: managed_domain_lists(client("route53resolver"), list(properties["Names"])),
            _sender("managed-domain-lists"),
        )
    else:
        _sender("unknown")(event, "FAILED", reason=f"unknown resource type {kind}")


def _sender(physical_id: str) -> Callable[..., None]:
    def send(event: dict[str, Any], status: str, reason: str = "", data: Any = None) -> None:
        cfn_response.send(event, status, physical_id, reason, data)  # pragma: no cover

    return send
