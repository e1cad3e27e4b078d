"""The network hub's custom resources: route-table defaults and managed domain-list ids."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.handlers import cfn_response
from baseline.handlers import network_hub as handler_module
from tests.handlers.validating import Validated, validated

DEFAULTS = {
    "TransitGatewayId": "tgw-0123456789abcdef0",
    "AssociationDefaultRouteTableId": "tgw-rtb-spokes",
    "PropagationDefaultRouteTableId": "tgw-rtb-egress",
    "EgressAttachmentId": "tgw-attach-egress",
}


class Ec2:
    """The transit gateway as EC2 shows it: associations settle one poll after a change;
    with ``shows_disassociated``, a removed association stays listed as disassociated."""

    def __init__(self, associated_with: str | None = None) -> None:
        self.table = associated_with
        self.pending = False
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.gateway_polls = 0
        self.shows_disassociated = False
        self.removed: str | None = None

    def describe_transit_gateway_attachments(self, **kwargs: Any) -> dict[str, Any]:
        association = {}
        if self.table is not None:
            association = {
                "TransitGatewayRouteTableId": self.table,
                "State": "associating" if self.pending else "associated",
            }
        elif self.shows_disassociated and self.removed is not None:
            association = {"TransitGatewayRouteTableId": self.removed, "State": "disassociated"}
        self.pending = False
        return {"TransitGatewayAttachments": [{"Association": association}]}

    def disassociate_transit_gateway_route_table(self, **kwargs: Any) -> None:
        self.calls.append(("disassociate", kwargs))
        self.removed, self.table = self.table, None

    def associate_transit_gateway_route_table(self, **kwargs: Any) -> None:
        self.calls.append(("associate", kwargs))
        self.table, self.pending = kwargs["TransitGatewayRouteTableId"], True

    def modify_transit_gateway(self, **kwargs: Any) -> None:
        self.calls.append(("modify", kwargs))
        self.gateway_polls = 0

    def describe_transit_gateways(self, **kwargs: Any) -> dict[str, Any]:
        self.gateway_polls += 1
        state = "available" if self.gateway_polls > 1 else "modifying"
        return {"TransitGateways": [{"State": state}]}


def _no_sleep(seconds: float) -> None:
    """Tests do not wait: the fake EC2 settles on the next poll."""


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


def test_egress_goes_on_its_table_before_spokes_default_to_theirs() -> None:
    ec2 = Ec2()
    done = handler_module.set_defaults(Validated("ec2", ec2), DEFAULTS, sleep=_no_sleep)
    assert [name for name, _ in ec2.calls] == ["associate", "modify"]
    assert ec2.calls[0][1] == {
        "TransitGatewayRouteTableId": "tgw-rtb-egress",
        "TransitGatewayAttachmentId": "tgw-attach-egress",
    }
    assert ec2.calls[1][1] == {
        "TransitGatewayId": "tgw-0123456789abcdef0",
        "Options": {
            "DefaultRouteTableAssociation": "enable",
            "AssociationDefaultRouteTableId": "tgw-rtb-spokes",
            "DefaultRouteTablePropagation": "enable",
            "PropagationDefaultRouteTableId": "tgw-rtb-egress",
        },
    }
    assert done["EgressAssociation"] == "associated"
    assert ec2.gateway_polls == 2  # answered only once the gateway is available again


def test_a_replaced_egress_attachment_is_moved_off_the_spokes_table() -> None:
    """Made while the defaults are on, a new egress attachment lands on the spokes table."""
    ec2 = Ec2(associated_with="tgw-rtb-spokes")
    handler_module.set_defaults(Validated("ec2", ec2), DEFAULTS, sleep=_no_sleep)
    assert [name for name, _ in ec2.calls] == ["disassociate", "associate", "modify"]
    assert ec2.calls[0][1]["TransitGatewayRouteTableId"] == "tgw-rtb-spokes"
    assert ec2.table == "tgw-rtb-egress"


def test_an_update_keeps_a_correct_association() -> None:
    ec2 = Ec2(associated_with="tgw-rtb-egress")
    assert (
        handler_module.set_defaults(Validated("ec2", ec2), DEFAULTS, sleep=_no_sleep)[
            "EgressAssociation"
        ]
        == "kept"
    )
    assert [name for name, _ in ec2.calls] == ["modify"]


def test_waiting_gives_up_with_a_clear_error() -> None:
    with pytest.raises(TimeoutError, match="the egress association"):
        handler_module._wait(lambda: False, "the egress association", _no_sleep)


def test_waiting_stops_in_time_to_answer_cloudformation() -> None:
    """One invocation may wait three times: the waits share the function's time, less
    what answering CloudFormation needs, or the function is stopped mid-wait and the
    stack hangs for an hour."""

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return (handler_module.ANSWER_SECONDS + 3) * 1000  # 3 s left to wait

    slept: list[float] = []
    deadline = handler_module._deadline(Context())
    with pytest.raises(TimeoutError, match="the transit gateway"):
        handler_module._wait(lambda: False, "the transit gateway", slept.append, deadline)
    assert slept == []  # no 5-second sleep fits in what is left


def test_managed_lists_are_found_across_pages_and_never_confused_with_own_lists() -> None:
    resolver = Resolver(PAGES)
    found = handler_module.managed_domain_lists(
        Validated("route53resolver", resolver),
        ["AWSManagedDomainsMalwareDomainList", "AWSManagedDomainsBotnetCommandandControl"],
    )
    assert found == {
        "AWSManagedDomainsMalwareDomainList": "rslvr-fdl-1",
        "AWSManagedDomainsBotnetCommandandControl": "rslvr-fdl-2",  # not the account's own list
    }
    assert resolver.tokens == [None, "1"]


def test_a_missing_managed_list_fails_by_name() -> None:
    with pytest.raises(LookupError, match="AWSManagedDomainsAggregateThreatList"):
        handler_module.managed_domain_lists(
            Validated("route53resolver", Resolver(PAGES)), ["AWSManagedDomainsAggregateThreatList"]
        )


def _run(monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], clients: dict[str, Any]) -> Any:
    sent: list[dict[str, Any]] = []

    def send(
        event: dict[str, Any], status: str, physical_id: str, reason: str = "", data: Any = None
    ) -> None:
        sent.append({"status": status, "id": physical_id, "reason": reason, "data": data})

    monkeypatch.setattr(cfn_response, "send", send)
    handler_module.handler(event, None, client=validated(clients))
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
    """And takes the egress attachment off the egress table: a table with an association
    cannot be deleted, and CloudFormation deletes the table and the attachment at once."""
    ec2 = Ec2(associated_with="tgw-rtb-egress")
    monkeypatch.setattr(handler_module.time, "sleep", _no_sleep)
    _own_ids(monkeypatch)
    event = {
        "RequestType": "Delete",
        "ResourceType": "Custom::TransitGatewayDefaults",
        "ResourceProperties": DEFAULTS,
    }
    answer = _run(monkeypatch, event, {"ec2": ec2})
    assert answer["status"] == "SUCCESS" and answer["id"] == "tgw-0123456789abcdef0"
    assert ec2.calls == [
        (
            "modify",
            {
                "TransitGatewayId": "tgw-0123456789abcdef0",
                "Options": {
                    "DefaultRouteTableAssociation": "disable",
                    "DefaultRouteTablePropagation": "disable",
                },
            },
        ),
        (
            "disassociate",
            {
                "TransitGatewayRouteTableId": "tgw-rtb-egress",
                "TransitGatewayAttachmentId": "tgw-attach-egress",
            },
        ),
    ]


class GoneAttachmentError(Exception):
    """EC2's answer for an attachment that no longer exists."""

    def __init__(self) -> None:
        super().__init__("gone")
        self.response = {"Error": {"Code": "InvalidTransitGatewayAttachmentID.NotFound"}}


@pytest.mark.parametrize("left", ["none", "another table", "attachment gone"])
def test_delete_leaves_alone_an_association_that_is_not_there(left: str) -> None:
    ec2 = Ec2(associated_with="tgw-rtb-spokes" if left == "another table" else None)
    if left == "attachment gone":

        def gone(**kwargs: Any) -> dict[str, Any]:
            raise GoneAttachmentError

        ec2.describe_transit_gateway_attachments = gone  # type: ignore[method-assign]
    result = handler_module.clear_defaults(validated({"ec2": ec2})("ec2"), DEFAULTS, _no_sleep)
    assert result["EgressAssociation"] == "none"
    assert [name for name, _ in ec2.calls] == ["modify"]


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


def _own_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ids the construct puts into the function's environment."""
    for key, variable in handler_module.OWN_IDS.items():
        monkeypatch.setenv(variable, DEFAULTS[key])


def test_the_function_acts_on_its_own_hub_only(monkeypatch: pytest.MonkeyPatch) -> None:
    ec2 = Ec2()
    monkeypatch.setattr(handler_module.time, "sleep", _no_sleep)
    _own_ids(monkeypatch)
    event = {
        "RequestType": "Create",
        "ResourceType": "Custom::TransitGatewayDefaults",
        "ResourceProperties": {**DEFAULTS, "AssociationDefaultRouteTableId": "tgw-rtb-elsewhere"},
    }
    answer = _run(monkeypatch, event, {"ec2": ec2})
    assert answer["status"] == "FAILED"
    assert "AssociationDefaultRouteTableId other than this hub's own" in answer["reason"]
    assert ec2.calls == []  # nothing was touched


def test_the_ids_come_from_the_functions_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert handler_module.own_ids(
        {"GatewayOptions": "64512/true"},
        {variable: DEFAULTS[key] for key, variable in handler_module.OWN_IDS.items()},
    ) == {**DEFAULTS, "GatewayOptions": "64512/true"}
    with pytest.raises(ValueError, match="lacks HUB_EGRESS_ATTACHMENT_ID"):
        handler_module.own_ids(
            DEFAULTS,
            {
                "HUB_TRANSIT_GATEWAY_ID": "tgw-0123456789abcdef0",
                "HUB_SPOKE_ROUTE_TABLE_ID": "tgw-rtb-spokes",
                "HUB_EGRESS_ROUTE_TABLE_ID": "tgw-rtb-egress",
            },
        )


def test_an_association_shown_as_disassociated_counts_as_gone() -> None:
    """EC2 may list a removed association as disassociated for a while: the move off the
    spokes table goes on, and a delete finds nothing left to release."""
    ec2 = Ec2(associated_with="tgw-rtb-spokes")
    ec2.shows_disassociated = True
    client = validated({"ec2": ec2})("ec2")
    assert handler_module.associate_egress(client, DEFAULTS, _no_sleep) == "associated"
    assert [name for name, _ in ec2.calls] == ["disassociate", "associate"]
    ec2.calls.clear()
    handler_module.release_egress(client, DEFAULTS, _no_sleep)
    assert [name for name, _ in ec2.calls] == ["disassociate"]
    assert handler_module.release_egress(client, DEFAULTS, _no_sleep) == "none"


@pytest.mark.parametrize("module", ["network_hub", "security_services"])
def test_the_time_kept_to_answer_outlasts_one_calls_retries(module: str) -> None:
    """A call started just before the margin may wait out every retry botocore's standard
    mode allows (its backoff cap, and the few seconds more an x-amz-retry-after answer
    adds); the function must still answer CloudFormation, or the stack waits an hour."""
    import importlib

    from botocore.retries.standard import ExponentialBackoff

    handler = importlib.import_module(f"baseline.handlers.{module}")
    margin = getattr(handler, "ANSWER_SECONDS", None) or handler.TIME_MARGIN_SECONDS
    longest_wait = ExponentialBackoff._MAX_BACKOFF + ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL
    assert margin > (cfn_response.CALL_ATTEMPTS - 1) * longest_wait
