"""Custom resources of the network hub (network account, one function per region).

Two things CloudFormation cannot express:

- ``Custom::TransitGatewayDefaults``: make the hub's own route tables the transit
  gateway's defaults. New spoke attachments then associate with the spokes table (whose
  only way out is the inspected egress VPC) and propagate into the egress table (so
  replies find them). CloudFormation cannot set this itself: the route tables need the
  gateway's id, so the gateway cannot name them. On Delete the defaults are turned off
  again, so the route tables can be deleted with the stack.
- ``Custom::ManagedDomainLists``: the ids of the AWS managed DNS Firewall domain lists,
  which differ per region, returned as attributes named after the lists. Read-only; on
  Delete nothing changes.

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


def set_defaults(client: Any, properties: dict[str, Any]) -> dict[str, Any]:
    """Point the gateway's default association and propagation at the hub's tables."""
    options = {
        "DefaultRouteTableAssociation": "enable",
        "AssociationDefaultRouteTableId": properties["AssociationDefaultRouteTableId"],
        "DefaultRouteTablePropagation": "enable",
        "PropagationDefaultRouteTableId": properties["PropagationDefaultRouteTableId"],
    }
    client.modify_transit_gateway(TransitGatewayId=properties["TransitGatewayId"], Options=options)
    return options


def clear_defaults(client: Any, properties: dict[str, Any]) -> dict[str, Any]:
    """Turn the defaults off, so the route tables are no longer in use by the gateway."""
    options = {"DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"}
    client.modify_transit_gateway(TransitGatewayId=properties["TransitGatewayId"], Options=options)
    return options


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


def handler(event: dict[str, Any], context: Any, client: ClientFactory = _boto3_client) -> None:
    """The Lambda entry point: dispatch on the resource type, always answer CloudFormation."""
    properties = event["ResourceProperties"]
    kind = event["ResourceType"]
    if kind == "Custom::TransitGatewayDefaults":
        physical_id = str(properties["TransitGatewayId"])
        cfn_response.handle(
            event,
            lambda: set_defaults(client("ec2"), properties),
            _sender(physical_id),
            remove=lambda: clear_defaults(client("ec2"), properties),
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
