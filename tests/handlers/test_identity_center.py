"""Custom::AssignmentLookups against botocore's Stubber (every request validated)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from baseline.handlers import identity_center as handler_module

STORE = "d-93671a2b3c"


def _client(service: str = "identitystore") -> tuple[Any, Stubber]:
    client = boto3.client(
        service,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def _arn(group_id: str) -> str:
    return f"arn:aws:identitystore::210987654321:group/{group_id}"


def _request(name: str) -> dict[str, Any]:
    return {
        "IdentityStoreId": STORE,
        "AlternateIdentifier": {
            "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name}
        },
    }


def test_each_name_becomes_its_group_id_in_order() -> None:
    client, stub = _client()
    stub.add_response(
        "get_group_id",
        {
            "GroupId": "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
            "IdentityStoreId": STORE,
            "GroupArn": _arn("906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"),
        },
        _request("security-team"),
    )
    stub.add_response(
        "get_group_id",
        {
            "GroupId": "906754b2c4-2b3c4d5e-6f70-8192-a3b4-c5d6e7f80910",
            "IdentityStoreId": STORE,
            "GroupArn": _arn("906754b2c4-2b3c4d5e-6f70-8192-a3b4-c5d6e7f80910"),
        },
        _request("platform-admins"),
    )
    with stub:
        found = handler_module.group_ids(client, STORE, ["security-team", "platform-admins"])
    assert dict(found) == {
        "Group0": "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
        "Group1": "906754b2c4-2b3c4d5e-6f70-8192-a3b4-c5d6e7f80910",
    }
    stub.assert_no_pending_responses()


def test_an_unknown_name_fails_the_deploy_and_is_named() -> None:
    client, stub = _client()
    stub.add_client_error(
        "get_group_id",
        service_error_code="ResourceNotFoundException",
        expected_params=_request("no-such-team"),
    )
    with stub, pytest.raises(LookupError, match="displayed as 'no-such-team'"):
        handler_module.group_ids(client, STORE, ["no-such-team"])


def test_the_handler_answers_cloudformation_with_the_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    client, stub = _client()
    stub.add_response(
        "get_group_id",
        {
            "GroupId": "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
            "IdentityStoreId": STORE,
            "GroupArn": _arn("906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"),
        },
        _request("security-team"),
    )
    sent = _answers(monkeypatch)
    with stub:
        handler_module.handler(_lookup("Create"), None, client=lambda service: client)
    assert sent == [("SUCCESS", "", {"Group0": "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"})]


def _answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    """What the handler answers CloudFormation: (status, reason, data), in order."""
    sent: list[tuple[str, str, Any]] = []
    monkeypatch.setattr(
        handler_module,
        "_send",
        lambda event, status, reason="", data=None: sent.append((status, reason, data)),
    )
    return sent


def _lookup(request_type: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResourceProperties": {"IdentityStoreId": STORE, "Names": ["security-team"]},
    }


def test_delete_looks_nothing_up(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(
        handler_module, "_send", lambda event, status, reason="", data=None: sent.append(status)
    )
    event = {
        "RequestType": "Delete",
        "ResourceProperties": {"IdentityStoreId": STORE, "Names": ["x"]},
    }
    handler_module.handler(event, None, client=lambda service: pytest.fail("no call on Delete"))
    assert sent == ["SUCCESS"]


def _account(account_id: str, email: str) -> dict[str, Any]:
    return {
        "Id": account_id,
        "Arn": f"arn:aws:organizations::210987654321:account/o-abcd123456/{account_id}",
        "Email": email,
        "Name": email.split("@", maxsplit=1)[0],
        "Status": "ACTIVE",
    }


def test_each_new_account_is_found_by_email_across_pages() -> None:
    client, stub = _client("organizations")
    stub.add_response(
        "list_accounts",
        {"Accounts": [_account("111111111111", "a@example.com")], "NextToken": "page-2"},
        {},
    )
    stub.add_response(
        "list_accounts",
        {"Accounts": [_account("222222222222", "Fleet-Dev@Example.com")]},
        {"NextToken": "page-2"},
    )
    with stub:
        found = handler_module.account_ids(client, ["fleet-dev@example.com", "a@example.com"])
    assert dict(found) == {"Account0": "222222222222", "Account1": "111111111111"}
    stub.assert_no_pending_responses()


def test_an_unknown_email_fails_the_deploy_and_is_named() -> None:
    client, stub = _client("organizations")
    stub.add_response(
        "list_accounts", {"Accounts": [_account("111111111111", "a@example.com")]}, {}
    )
    with stub, pytest.raises(LookupError, match=r"has the e-mail b@example\.com"):
        handler_module.account_ids(client, ["a@example.com", "b@example.com"])


def test_one_answer_carries_groups_and_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    store, store_stub = _client()
    store_stub.add_response(
        "get_group_id",
        {
            "GroupId": "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
            "IdentityStoreId": STORE,
            "GroupArn": _arn("906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"),
        },
        _request("finance"),
    )
    organizations, org_stub = _client("organizations")
    org_stub.add_response(
        "list_accounts", {"Accounts": [_account("111111111111", "a@example.com")]}, {}
    )
    sent: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        handler_module,
        "_send",
        lambda event, status, reason="", data=None: sent.append((status, data)),
    )
    event = {
        "RequestType": "Update",
        "ResourceProperties": {
            "IdentityStoreId": STORE,
            "Names": ["finance"],
            "AccountEmails": ["a@example.com"],
        },
    }
    clients = {"identitystore": store, "organizations": organizations}
    with store_stub, org_stub:
        handler_module.handler(event, None, client=clients.__getitem__)
    assert sent == [
        (
            "SUCCESS",
            {
                "Group0": "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
                "Account0": "111111111111",
            },
        )
    ]


def test_only_the_unknown_names_are_named_among_found_ones() -> None:
    client, stub = _client()
    stub.add_response(
        "get_group_id",
        {
            "GroupId": "906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
            "IdentityStoreId": STORE,
            "GroupArn": _arn("906754b2c4-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"),
        },
        _request("security-team"),
    )
    for name in ("gone-team", "never-team"):
        stub.add_client_error(
            "get_group_id",
            service_error_code="ResourceNotFoundException",
            expected_params=_request(name),
        )
    with stub, pytest.raises(LookupError) as caught:
        handler_module.group_ids(client, STORE, ["security-team", "gone-team", "never-team"])
    message = str(caught.value)
    assert "displayed as 'gone-team', 'never-team' " in message
    assert "security-team" not in message


@pytest.mark.parametrize(
    ("code", "status"), [("AccessDeniedException", 403), ("ThrottlingException", 400)]
)
def test_an_error_of_the_service_fails_the_resource_with_its_name(
    code: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a missing group: the error itself is the resource's reason (the standard retry
    mode of the real client has already retried a throttled call)."""
    client, stub = _client()
    stub.add_client_error(
        "get_group_id",
        service_error_code=code,
        http_status_code=status,
        expected_params=_request("security-team"),
    )
    sent = _answers(monkeypatch)
    with stub:
        handler_module.handler(_lookup("Update"), None, client=lambda service: client)
    ((answer, reason, _),) = sent
    assert answer == "FAILED"
    assert code in reason


def test_delete_after_a_failed_create_looks_nothing_up(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(
        handler_module, "_send", lambda event, status, reason="", data=None: sent.append(status)
    )
    event = {
        "RequestType": "Delete",
        "PhysicalResourceId": "assignment-lookups",
        "ResourceProperties": {"IdentityStoreId": STORE, "AccountEmails": ["a@example.com"]},
    }
    handler_module.handler(event, None, client=lambda service: pytest.fail("no call on Delete"))
    assert sent == ["SUCCESS"]
