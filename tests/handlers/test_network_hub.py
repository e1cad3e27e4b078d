"""The network hub's custom resources: route-table defaults and managed domain-list ids."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.handlers import cfn_response
from baseline.handlers import network_hub as handler_module

DEFAULTS = {
    "TransitGatewayId": "tgw-0123456789abcdef0",
    "AssociationDefaultRouteTableId": "tgw-rtb-spokes",
    "PropagationDefaultRouteTableId": "tgw-rtb-egress",
}


class Ec2:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def modify_transit_gateway(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}


class Resolver:
    """Answers ListFirewallDomainLists in pages, like the service."""

    def __init__(self, pages: list[list[dict[str, str]]]) -> None:
        self.pages = pages
        self.tokens: list[str | None] = []

    def list_firewall_domain_lists(self, MaxResults: int, NextToken: str | None = None) -> Any:  # noqa: N803
        self.tokens.append(NextToken)
        index = int(NextToken or 0)
        page: dict[str, Any] = {"FirewallDomainLists": self.pages[index]}
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page


MANAGED = "Route 53 Resolver DNS Firewall"
PAGES = [
    [
        {
            "Name": "AWSManagedDomainsMalwareDomainList",
            "Id": "rslvr-fdl-1",
            "ManagedOwnerName": MANAGED,
        },
        {"Name": "AWSManagedDomainsBotnetCommandandControl", "Id": "rslvr-fdl-own"},
    ],
    [
        {
            "Name": "AWSManagedDomainsBotnetCommandandControl",
            "Id": "rslvr-fdl-2",
            "ManagedOwnerName": MANAGED,
        },
    ],
]


def test_defaults_point_spokes_at_the_spokes_table_and_replies_at_the_egress_table() -> None:
    ec2 = Ec2()
    handler_module.set_defaults(ec2, DEFAULTS)
    assert ec2.calls == [
        {
            "TransitGatewayId": "tgw-0123456789abcdef0",
            "Options": {
                "DefaultRouteTableAssociation": "enable",
                "AssociationDefaultRouteTableId": "tgw-rtb-spokes",
                "DefaultRouteTablePropagation": "enable",
                "PropagationDefaultRouteTableId": "tgw-rtb-egress",
            },
        }
    ]


def test_managed_lists_are_found_across_pages_and_never_confused_with_own_lists() -> None:
    resolver = Resolver(PAGES)
    found = handler_module.managed_domain_lists(
        resolver, ["AWSManagedDomainsMalwareDomainList", "AWSManagedDomainsBotnetCommandandControl"]
    )
    assert found == {
        "AWSManagedDomainsMalwareDomainList": "rslvr-fdl-1",
        "AWSManagedDomainsBotnetCommandandControl": "rslvr-fdl-2",  # not the account's own list
    }
    assert resolver.tokens == [None, "1"]


def test_a_missing_managed_list_fails_by_name() -> None:
    with pytest.raises(LookupError, match="AWSManagedDomainsAggregateThreatList"):
        handler_module.managed_domain_lists(
            Resolver(PAGES), ["AWSManagedDomainsAggregateThreatList"]
        )


def _run(monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], clients: dict[str, Any]) -> Any:
    sent: list[dict[str, Any]] = []

    def send(
        event: dict[str, Any], status: str, physical_id: str, reason: str = "", data: Any = None
    ) -> None:
        sent.append({"status": status, "id": physical_id, "reason": reason, "data": data})

    monkeypatch.setattr(cfn_response, "send", send)
    handler_module.handler(event, None, client=clients.__getitem__)
    (answer,) = sent
    return answer


def test_the_lists_reach_cloudformation_as_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    event = {
        "RequestType": "Create",
        "ResourceType": "Custom::ManagedDomainLists",
        "ResourceProperties": {"Names": ["AWSManagedDomainsMalwareDomainList"]},
    }
    answer = _run(monkeypatch, event, {"route53resolver": Resolver(PAGES)})
    assert answer["status"] == "SUCCESS"
    assert answer["data"] == {"AWSManagedDomainsMalwareDomainList": "rslvr-fdl-1"}


def test_delete_turns_the_defaults_off_so_the_tables_can_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ec2 = Ec2()
    event = {
        "RequestType": "Delete",
        "ResourceType": "Custom::TransitGatewayDefaults",
        "ResourceProperties": DEFAULTS,
    }
    answer = _run(monkeypatch, event, {"ec2": ec2})
    assert answer["status"] == "SUCCESS" and answer["id"] == "tgw-0123456789abcdef0"
    assert ec2.calls[0]["Options"] == {
        "DefaultRouteTableAssociation": "disable",
        "DefaultRouteTablePropagation": "disable",
    }


def test_failures_and_unknown_types_reach_cloudformation(monkeypatch: pytest.MonkeyPatch) -> None:
    event = {
        "RequestType": "Create",
        "ResourceType": "Custom::ManagedDomainLists",
        "ResourceProperties": {"Names": ["AWSManagedDomainsAggregateThreatList"]},
    }
    answer = _run(monkeypatch, event, {"route53resolver": Resolver(PAGES)})
    assert answer["status"] == "FAILED" and "AggregateThreatList" in answer["reason"]
    answer = _run(monkeypatch, {**event, "ResourceType": "Custom::Other"}, {})
    assert answer["status"] == "FAILED" and "Custom::Other" in answer["reason"]
