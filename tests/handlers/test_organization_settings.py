"""The organisation-settings handler: idempotent, complete, and always answers CloudFormation."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.handlers import organization_settings as handler_module
from tests.handlers.validating import Validated, validated


class AlreadyEnabledError(Exception):
    """What the fake Organizations client raises for a type enabled already."""


class AlreadyRegisteredError(Exception):
    """What the fake Organizations client raises for a registered administrator."""


class FakeOrganizations:
    class exceptions:  # noqa: N801 - mirrors boto3's client.exceptions
        PolicyTypeAlreadyEnabledException = AlreadyEnabledError
        AccountAlreadyRegisteredException = AlreadyRegisteredError

    def __init__(self, enabled: list[str]) -> None:
        self.enabled = list(enabled)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.parents: dict[str, str] = {}

    def list_roots(self) -> dict[str, Any]:
        return {
            "Roots": [
                {
                    "Id": "r-ab12",
                    "PolicyTypes": [{"Type": t, "Status": "ENABLED"} for t in self.enabled],
                }
            ]
        }

    def enable_policy_type(self, **kwargs: Any) -> None:
        self.calls.append(("enable_policy_type", kwargs))
        self.enabled.append(kwargs["PolicyType"])

    def enable_aws_service_access(self, **kwargs: Any) -> None:
        self.calls.append(("enable_aws_service_access", kwargs))

    def list_parents(self, ChildId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {"Parents": [{"Id": self.parents.get(ChildId, "r-ab12")}]}

    def move_account(self, **kwargs: Any) -> None:
        self.calls.append(("move_account", kwargs))
        self.parents[kwargs["AccountId"]] = kwargs["DestinationParentId"]

    def register_delegated_administrator(self, **kwargs: Any) -> None:
        if ("register_delegated_administrator", kwargs) in self.calls:
            raise AlreadyRegisteredError
        self.calls.append(("register_delegated_administrator", kwargs))


class FakeCloudFormation:
    def __init__(self) -> None:
        self.activations = 0

    def activate_organizations_access(self) -> None:
        self.activations += 1


class FakeIam:
    def __init__(self, features: list[str]) -> None:
        self.features = list(features)
        self.calls: list[str] = []

    def list_organizations_features(self) -> dict[str, Any]:
        return {"EnabledFeatures": list(self.features)}

    def enable_organizations_root_credentials_management(self) -> None:
        self.calls.append("credentials")
        self.features.append("RootCredentialsManagement")

    def enable_organizations_root_sessions(self) -> None:
        self.calls.append("sessions")
        self.features.append("RootSessions")


class FakeAccount:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_alternate_contact(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


CONTACT = {
    "Name": "SOC",
    "Title": "Security",
    "EmailAddress": "soc@example.com",
    "PhoneNumber": "+44 20 7946 0000",
}
PROPERTIES = {
    "RootId": "r-ab12",
    "PolicyTypes": ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY"],
    "ServicePrincipals": ["iam.amazonaws.com", "account.amazonaws.com"],
    "CentralizedRootAccess": "true",
    "SecurityContact": CONTACT,
    "ManagementAccountId": "111111111111",
    "AccountIds": ["111111111111", "222222222222", "333333333333"],
    "StackSetsAccess": "true",
    "RamSharing": "true",
    "DelegatedAdministrators": [
        {
            "AccountId": "222222222222",
            "ServicePrincipal": "member.org.stacksets.cloudformation.amazonaws.com",
        }
    ],
}


class FakeRam:
    def __init__(self) -> None:
        self.calls = 0

    def enable_sharing_with_aws_organization(self) -> dict[str, bool]:
        self.calls += 1  # idempotent in RAM: true again when sharing is already on
        return {"returnValue": True}


def _clients(enabled: list[str], features: list[str]) -> tuple[dict[str, Any], Any]:
    clients = {
        "organizations": FakeOrganizations(enabled),
        "iam": FakeIam(features),
        "account": FakeAccount(),
        "cloudformation": FakeCloudFormation(),
        "ram": FakeRam(),
    }
    return clients, validated(clients)  # every call validated against the service model


def test_enables_everything_on_a_fresh_organisation() -> None:
    clients, factory = _clients(["SERVICE_CONTROL_POLICY"], [])
    result = handler_module.apply(PROPERTIES, factory)
    assert result["PolicyTypes"] == ["RESOURCE_CONTROL_POLICY", "TAG_POLICY"]
    assert result["TrustedAccess"] == ["iam.amazonaws.com", "account.amazonaws.com"]
    assert result["RootAccess"] == ["RootCredentialsManagement", "RootSessions"]
    assert result["SecurityContacts"] == 3
    assert result["StackSetsAccess"] is True
    assert result["RamSharing"] is True
    assert clients["ram"].calls == 1
    assert result["DelegatedAdministrators"] == [
        "222222222222:member.org.stacksets.cloudformation.amazonaws.com"
    ]


def test_is_idempotent() -> None:
    _, factory = _clients(["SERVICE_CONTROL_POLICY"], [])
    handler_module.apply(PROPERTIES, factory)
    again = handler_module.apply(PROPERTIES, factory)
    assert again["PolicyTypes"] == []
    assert again["RootAccess"] == []
    assert again["DelegatedAdministrators"] == []


def test_the_management_account_is_set_without_account_id() -> None:
    clients, factory = _clients([], [])
    handler_module.apply(PROPERTIES, factory)
    calls = clients["account"].calls
    own = [c for c in calls if "AccountId" not in c]
    assert len(own) == 1 and own[0]["AlternateContactType"] == "SECURITY"
    assert sorted(c["AccountId"] for c in calls if "AccountId" in c) == [
        "222222222222",
        "333333333333",
    ]


def test_a_race_on_enabling_a_policy_type_is_not_an_error() -> None:
    clients, factory = _clients([], [])

    def already(**kwargs: Any) -> None:
        clients["organizations"].enabled.append(kwargs["PolicyType"])  # another caller won
        raise AlreadyEnabledError

    clients["organizations"].enable_policy_type = already
    assert (
        handler_module.apply({**PROPERTIES, "CentralizedRootAccess": "false"}, factory)[
            "PolicyTypes"
        ]
        == []
    )


def test_fails_for_a_root_of_another_organisation() -> None:
    _, factory = _clients([], [])
    with pytest.raises(ValueError, match="root r-zz99 is not a root of this organisation"):
        handler_module.apply({**PROPERTIES, "RootId": "r-zz99"}, factory)


def _event(request_type: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResourceProperties": PROPERTIES,
        "StackId": "stack",
        "RequestId": "req",
        "LogicalResourceId": "Settings",
        "ResponseURL": "https://example.invalid/response",
    }


def test_handler_answers_success_and_changes_nothing_on_delete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        handler_module,
        "send",
        lambda event, status, reason="": sent.append((status, reason)),
    )
    clients, factory = _clients([], [])
    handler_module.handler(_event("Delete"), None, client=factory)
    assert sent == [("SUCCESS", "")]
    assert clients["organizations"].calls == [] and clients["account"].calls == []


def test_handler_reports_failure_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        handler_module,
        "send",
        lambda event, status, reason="": sent.append((status, reason)),
    )
    _, factory = _clients([], [])
    event = _event("Create")
    event["ResourceProperties"] = {**PROPERTIES, "RootId": "r-zz99"}
    handler_module.handler(event, None, client=factory)
    assert sent[0][0] == "FAILED"
    assert "r-zz99" in sent[0][1]


class _ShortOfTime:
    """A Lambda context with less time left than the answer needs."""

    def get_remaining_time_in_millis(self) -> int:
        return (handler_module.cfn_response.ANSWER_MARGIN_SECONDS - 1) * 1000


def test_a_stack_of_more_accounts_than_the_time_allows_answers_how_far_it_got(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lambda stops a function at its timeout without an answer, and CloudFormation then
    waits for one: with accounts left when time runs short, the function answers FAILED,
    saying how many it did and what to change."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        handler_module, "send", lambda event, status, reason="": sent.append((status, reason))
    )
    clients, factory = _clients([], [])
    event = _event("Update")
    event["ResourceProperties"] = {
        "Placements": [
            {"AccountId": f"{222222222222 + i}", "ParentId": "ou-ab12-prod0001"} for i in range(3)
        ]
    }
    handler_module.handler(event, _ShortOfTime(), client=factory)
    ((status, reason),) = sent
    assert status == "FAILED" and reason.endswith(
        "placements: 0 of 3 accounts done when the function's time ran short; raise "
        "organization.account_stacks so that each account stack holds fewer accounts, "
        "and deploy again"
    )
    assert not [c for c in clients["organizations"].calls if c[0] == "move_account"]


def test_accounts_are_moved_to_their_ou_once() -> None:
    clients, factory = _clients([], [])
    placements = {
        "Placements": [
            {"AccountId": "222222222222", "ParentId": "ou-ab12-prod0001"},
            {"AccountId": "333333333333", "ParentId": "r-ab12"},  # already there
        ]
    }
    assert handler_module.apply(placements, factory)["Placements"] == [
        "222222222222:r-ab12->ou-ab12-prod0001"
    ]
    assert handler_module.apply(placements, factory)["Placements"] == []
    assert [c for c in clients["organizations"].calls if c[0] == "move_account"] == [
        (
            "move_account",
            {
                "AccountId": "222222222222",
                "SourceParentId": "r-ab12",
                "DestinationParentId": "ou-ab12-prod0001",
            },
        )
    ]


def test_an_account_stack_touches_nothing_organisation_wide() -> None:
    clients, factory = _clients([], [])
    result = handler_module.apply(
        {
            "SecurityContact": CONTACT,
            "ManagementAccountId": "111111111111",
            "AccountIds": ["222222222222"],
        },
        factory,
    )
    assert result["SecurityContacts"] == 1
    assert "PolicyTypes" not in result and "RootAccess" not in result
    assert clients["organizations"].calls == []


class FakeServiceAdmin:
    """One detective service in one region: lists and designates administrators."""

    def __init__(self, admins: list[dict[str, str]], key: str) -> None:
        self.admins = admins
        self.key = key
        self.enabled: list[dict[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("list_"):
            return lambda: {self.key: self.admins}
        return lambda **kwargs: self.enabled.append(kwargs)


def test_the_audit_account_administers_every_detective_service_in_every_region() -> None:
    regions = ["eu-west-1", "eu-central-1"]
    fakes: dict[tuple[str, str], FakeServiceAdmin] = {}
    for service, (_, key, field, _, _) in handler_module.SERVICE_ADMIN_CALLS.items():
        for region in regions:
            # GuardDuty in eu-west-1 is already delegated to the audit account
            admins = (
                [{field: "222222222222"}] if (service, region) == ("guardduty", "eu-west-1") else []
            )
            fakes[(service, region)] = FakeServiceAdmin(admins, key)
    settings = {
        "AccountId": "222222222222",
        "Regions": regions,
        "Services": list(handler_module.SERVICE_ADMIN_CALLS),
    }
    done = handler_module.designate_service_administrators(
        lambda service, region=None: Validated(service, fakes[(service, region)]), settings
    )
    assert "guardduty@eu-west-1" not in done
    assert len(done) == 2 * len(handler_module.SERVICE_ADMIN_CALLS) - 1
    assert fakes[("inspector2", "eu-central-1")].enabled == [
        {"delegatedAdminAccountId": "222222222222"}
    ]
    assert fakes[("securityhub", "eu-west-1")].enabled == [{"AdminAccountId": "222222222222"}]


# --- policy types, through botocore's request and response validation -------------------


def _organizations_stub() -> tuple[Any, Any]:
    import botocore.session
    from botocore.stub import Stubber

    client = botocore.session.get_session().create_client(
        "organizations",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def _roots(**statuses: str) -> dict[str, Any]:
    return {
        "Roots": [
            {
                "Id": "r-ab12",
                "Arn": "arn:aws:organizations::111122223333:root/o-abc123defg/r-ab12",
                "Name": "Root",
                "PolicyTypes": [{"Type": t, "Status": s} for t, s in statuses.items()],
            }
        ]
    }


def test_enabling_policy_types_waits_until_each_is_enabled() -> None:
    client, stub = _organizations_stub()
    scp, rcp = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
    stub.add_response("list_roots", _roots(**{scp: "ENABLED"}), {})
    stub.add_response(
        "enable_policy_type",
        {"Root": _roots(**{scp: "ENABLED", rcp: "PENDING_ENABLE"})["Roots"][0]},
        {"RootId": "r-ab12", "PolicyType": rcp},
    )
    stub.add_response("list_roots", _roots(**{scp: "ENABLED", rcp: "PENDING_ENABLE"}), {})
    stub.add_response("list_roots", _roots(**{scp: "ENABLED", rcp: "ENABLED"}), {})
    sleeps: list[float] = []
    with stub:
        newly = handler_module.enable_policy_types(client, "r-ab12", [scp, rcp], sleeps.append)
        stub.assert_no_pending_responses()
    assert newly == [rcp]
    assert sleeps == [handler_module.POLICY_TYPE_POLL_SECONDS]  # polled once more, then done


def test_a_type_already_pending_is_not_enabled_again_but_awaited() -> None:
    client, stub = _organizations_stub()
    rcp = "RESOURCE_CONTROL_POLICY"
    stub.add_response("list_roots", _roots(**{rcp: "PENDING_ENABLE"}), {})
    stub.add_response("list_roots", _roots(**{rcp: "ENABLED"}), {})
    with stub:
        assert handler_module.enable_policy_types(client, "r-ab12", [rcp], lambda _: None) == []
        stub.assert_no_pending_responses()


def test_fails_with_a_clear_message_when_a_type_stays_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler_module, "POLICY_TYPE_POLLS", 3)
    client, stub = _organizations_stub()
    tag = "TAG_POLICY"
    for _ in range(4):
        stub.add_response("list_roots", _roots(**{tag: "PENDING_ENABLE"}), {})
    with (
        stub,
        pytest.raises(TimeoutError, match="TAG_POLICY of root r-ab12 were still not ENABLED"),
    ):
        handler_module.enable_policy_types(client, "r-ab12", [tag], lambda _: None)


def test_a_root_busy_with_the_type_before_is_asked_again() -> None:
    # Organizations answers ConcurrentModificationException while the root is still
    # PENDING_ENABLE for the type before, and botocore's retries do not cover it.
    client, stub = _organizations_stub()
    scp, rcp, tag = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY"
    stub.add_response("list_roots", _roots(**{scp: "ENABLED"}), {})
    stub.add_response(
        "enable_policy_type",
        {"Root": _roots(**{scp: "ENABLED", rcp: "PENDING_ENABLE"})["Roots"][0]},
        {"RootId": "r-ab12", "PolicyType": rcp},
    )
    for _ in range(2):
        stub.add_client_error(
            "enable_policy_type",
            service_error_code="ConcurrentModificationException",
            http_status_code=409,
            expected_params={"RootId": "r-ab12", "PolicyType": tag},
        )
    stub.add_response(
        "enable_policy_type",
        {"Root": _roots(**{scp: "ENABLED", rcp: "ENABLED", tag: "PENDING_ENABLE"})["Roots"][0]},
        {"RootId": "r-ab12", "PolicyType": tag},
    )
    stub.add_response("list_roots", _roots(**{scp: "ENABLED", rcp: "ENABLED", tag: "ENABLED"}), {})
    sleeps: list[float] = []
    with stub:
        newly = handler_module.enable_policy_types(client, "r-ab12", [scp, rcp, tag], sleeps.append)
        stub.assert_no_pending_responses()
    assert newly == [rcp, tag]
    assert sleeps == [handler_module.BUSY_SECONDS, 2 * handler_module.BUSY_SECONDS]


def test_a_busy_organisation_that_stays_busy_fails_the_resource() -> None:
    client, stub = _organizations_stub()
    for _ in range(handler_module.BUSY_TRIES):
        stub.add_client_error(
            "move_account",
            service_error_code="ConcurrentModificationException",
            http_status_code=409,
        )
    slept: list[float] = []
    with stub, pytest.raises(client.exceptions.ConcurrentModificationException):
        handler_module._patiently(
            client.move_account,
            slept.append,
            AccountId="222222222222",
            SourceParentId="r-ab12",
            DestinationParentId="ou-ab12-prod0001",
        )
    assert len(slept) == handler_module.BUSY_TRIES - 1
    assert max(slept) == handler_module.BUSY_MAX_SECONDS


def test_another_error_is_not_asked_again() -> None:
    client, stub = _organizations_stub()
    stub.add_client_error(
        "move_account", service_error_code="AccountNotFoundException", http_status_code=400
    )
    with stub, pytest.raises(client.exceptions.AccountNotFoundException):
        handler_module._patiently(
            client.move_account,
            lambda _: pytest.fail("no pause for an error that is not about being busy"),
            AccountId="222222222222",
            SourceParentId="r-ab12",
            DestinationParentId="ou-ab12-prod0001",
        )


def test_root_access_waits_for_iam_to_see_the_trusted_access_just_enabled() -> None:
    """IAM may answer ServiceAccessNotEnabledException for a moment after Organizations
    has enabled its trusted access, in the same invocation: asked again, not failed."""
    import botocore.session
    from botocore.stub import Stubber

    iam = botocore.session.get_session().create_client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stub = Stubber(iam)
    not_yet = {"service_error_code": "ServiceAccessNotEnabledException", "http_status_code": 400}
    stub.add_client_error("list_organizations_features", **not_yet)
    stub.add_response("list_organizations_features", {"EnabledFeatures": []}, {})
    stub.add_client_error("enable_organizations_root_credentials_management", **not_yet)
    stub.add_response(
        "enable_organizations_root_credentials_management",
        {"EnabledFeatures": ["RootCredentialsManagement"]},
        {},
    )
    stub.add_response("enable_organizations_root_sessions", {}, {})
    sleeps: list[float] = []
    with stub:
        newly = handler_module.enable_root_access(iam, sleeps.append)
        stub.assert_no_pending_responses()
    assert newly == ["RootCredentialsManagement", "RootSessions"]
    assert sleeps == [handler_module.BUSY_SECONDS, handler_module.BUSY_SECONDS]
    # any other error is the resource's at once
    stub = Stubber(iam)
    stub.add_client_error("list_organizations_features", "AccessDenied", http_status_code=403)
    with stub, pytest.raises(iam.exceptions.ClientError, match="AccessDenied"):
        handler_module.enable_root_access(iam, sleeps.append)
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("service", "status"),
    [
        ("guardduty", {"AdminStatus": "DISABLE_IN_PROGRESS"}),
        ("securityhub", {"Status": "DISABLE_IN_PROGRESS"}),
        ("inspector2", {"status": "DISABLE_IN_PROGRESS"}),
        ("macie2", {"status": "DISABLING_IN_PROGRESS"}),
    ],
)
def test_an_administrator_being_disabled_is_designated_again(
    service: str, status: dict[str, str]
) -> None:
    _, key, field, _, parameter = handler_module.SERVICE_ADMIN_CALLS[service]
    fake = FakeServiceAdmin([{field: "222222222222", **status}], key)
    settings = {"AccountId": "222222222222", "Regions": ["eu-west-1"], "Services": [service]}
    done = handler_module.designate_service_administrators(
        lambda service, region=None: Validated(service, fake), settings
    )
    assert done == [f"{service}@eu-west-1"]
    assert fake.enabled == [{parameter: "222222222222"}]
    # enabled, it is left as it is
    fake.admins = [{field: "222222222222", **dict.fromkeys(status, "ENABLED")}]
    fake.enabled.clear()
    assert (
        handler_module.designate_service_administrators(
            lambda service, region=None: Validated(service, fake), settings
        )
        == []
    )
