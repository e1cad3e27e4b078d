"""The detective-services handler: organisation-wide auto-enable, idempotent, never silent."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest

from baseline.handlers import security_services as handler_module
from tests.handlers.validating import validated


class ConflictError(Exception):
    """What the fake Macie client raises when Macie or a member exists already."""


class Recorder:
    """A fake boto3 client recording calls; answers list calls from ``answers``, or with a
    callable of the call's keywords."""

    exceptions = types.SimpleNamespace(ConflictException=ConflictError)

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            answer = self.answers.get(name, {})
            if isinstance(answer, Exception):
                raise answer
            return answer(kwargs) if callable(answer) else answer

        return call


FEATURES = ["S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS"]
ACCOUNTS = [
    {"Id": f"{700000000000 + i:012d}", "Email": f"aws-{i}@example.com", "Status": "ACTIVE"}
    for i in range(120)
] + [
    {"Id": "423456789012", "Email": "audit@example.com", "Status": "ACTIVE"},  # the administrator
    {"Id": "999999999999", "Email": "gone@example.com", "Status": "SUSPENDED"},
]
PROPERTIES = {
    "Services": ["guardduty", "inspector2", "macie2", "detective"],
    "GuardDutyFeatures": FEATURES,
    "AccountId": "423456789012",
}


class FakeOrganizations:
    """list_accounts in pages of 50, as AWS Organizations pages them."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def list_accounts(self, NextToken: str | None = None) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append("list_accounts")
        start = int(NextToken or 0)
        page: dict[str, Any] = {"Accounts": ACCOUNTS[start : start + 50]}
        if start + 50 < len(ACCOUNTS):
            page["NextToken"] = str(start + 50)
        return page


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The enrolment's waits for Inspector's associations, counted, not slept."""
    slept: list[float] = []
    monkeypatch.setattr(handler_module, "_sleep", slept.append)
    return slept


def _inspector_recorder() -> Recorder:
    """Inspector whose associations complete at once: list_members shows each one made."""
    associated: list[str] = []

    def associate(call: dict[str, Any]) -> dict[str, Any]:
        associated.append(call["accountId"])
        return {"accountId": call["accountId"]}

    return Recorder(
        update_organization_configuration={"autoEnable": {"ec2": True, "ecr": True}},
        associate_member=associate,
        list_members=lambda call: {
            "members": [{"accountId": a, "relationshipStatus": "ENABLED"} for a in associated]
        },
        enable={"accounts": [], "failedAccounts": []},
    )


def _clients(**overrides: Recorder) -> dict[str, Recorder]:
    clients = {
        "guardduty": Recorder(list_detectors={"DetectorIds": ["d-1"]}),
        "inspector2": _inspector_recorder(),
        "macie2": Recorder(),
        "detective": Recorder(list_graphs={"GraphList": [{"Arn": "arn:graph"}]}),
        "organizations": FakeOrganizations(),
    }
    clients.update(overrides)
    return clients  # type: ignore[return-value]


def test_enables_every_service_for_every_member() -> None:
    clients = _clients()
    done = handler_module.apply(PROPERTIES, validated(clients))
    assert done == {
        "guardduty": "d-1",
        "inspector2": 121,
        "macie2": 120,
        "detective": "arn:graph",
    }
    org = dict(clients["guardduty"].calls)["update_organization_configuration"]
    assert org["AutoEnableOrganizationMembers"] == "ALL"
    assert [f["Name"] for f in org["Features"]] == FEATURES
    assert all(f["AutoEnable"] == "ALL" for f in org["Features"])
    assert dict(clients["inspector2"].calls)["update_organization_configuration"] == {
        "autoEnable": {"ec2": True, "ecr": True, "lambda": True}
    }
    assert dict(clients["macie2"].calls)["update_organization_configuration"] == {
        "autoEnable": True
    }
    assert dict(clients["detective"].calls)["update_organization_configuration"] == {
        "GraphArn": "arn:graph",
        "AutoEnable": True,
    }


def test_runtime_monitoring_comes_with_the_agent_guardduty_manages() -> None:
    """Runtime Monitoring alone takes in no runtime event: GuardDuty deploys and manages
    its security agent (EKS add-on, ECS Fargate sidecar, EC2 through Systems Manager) only
    where its additional configurations say so, for the administrator and every member."""
    clients = _clients()
    features = [*FEATURES, "RUNTIME_MONITORING"]
    handler_module.apply({**PROPERTIES, "GuardDutyFeatures": features}, validated(clients))
    calls = dict(clients["guardduty"].calls)
    agents = ["EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT"]
    for call, key, value in (
        ("update_detector", "Status", "ENABLED"),
        ("update_organization_configuration", "AutoEnable", "ALL"),
    ):
        by_name = {f["Name"]: f for f in calls[call]["Features"]}
        assert list(by_name) == features
        assert by_name["RUNTIME_MONITORING"] == {
            "Name": "RUNTIME_MONITORING",
            key: value,
            "AdditionalConfiguration": [{"Name": name, key: value} for name in agents],
        }
        assert all("AdditionalConfiguration" not in by_name[f] for f in FEATURES)


def test_the_kits_guardduty_names_are_the_services() -> None:
    """botocore's validation checks no enum: the names are checked against the model."""
    import botocore.session

    from baseline.stacks.security_tooling import GUARDDUTY_FEATURES

    model = botocore.session.get_session().get_service_model("guardduty")
    for shape, extra in (
        ("DetectorFeatureConfiguration", "DetectorAdditionalConfiguration"),
        ("OrganizationFeatureConfiguration", "OrganizationAdditionalConfiguration"),
    ):
        assert set(GUARDDUTY_FEATURES) <= set(model.shape_for(shape).members["Name"].enum)
        names = model.shape_for(extra).members["Name"].enum
        assert set(handler_module.GUARDDUTY_ADDITIONAL) <= set(GUARDDUTY_FEATURES)
        assert all(set(n) <= set(names) for n in handler_module.GUARDDUTY_ADDITIONAL.values())


def test_existing_members_are_enrolled_in_batches_the_apis_accept() -> None:
    clients = _clients()
    handler_module.apply(PROPERTIES, validated(clients))
    enables = [c for name, c in clients["inspector2"].calls if name == "enable"]
    assert [len(c["accountIds"]) for c in enables] == [100, 21]  # the administrator and 120 members
    assert sum(1 for name, _ in clients["macie2"].calls if name == "create_member") == 120
    creates = [c for name, c in clients["detective"].calls if name == "create_members"]
    assert [len(c["Accounts"]) for c in creates] == [50, 50, 20]


def test_creates_the_detector_and_graph_when_missing() -> None:
    clients = _clients(
        guardduty=Recorder(
            list_detectors={"DetectorIds": []}, create_detector={"DetectorId": "d-new"}
        ),
        detective=Recorder(list_graphs={"GraphList": []}, create_graph={"GraphArn": "arn:new"}),
    )
    done = handler_module.apply(PROPERTIES, validated(clients))
    assert done["guardduty"] == "d-new" and done["detective"] == "arn:new"


def test_macie_already_enabled_is_fine() -> None:
    clients = _clients(macie2=Recorder(enable_macie=ConflictError()))
    assert handler_module.apply(PROPERTIES, validated(clients))["macie2"] == 120
    assert ("update_organization_configuration", {"autoEnable": True}) in clients["macie2"].calls


def test_only_the_named_services_are_touched() -> None:
    clients = _clients()
    handler_module.apply({"Services": ["guardduty"], "GuardDutyFeatures": []}, validated(clients))
    assert clients["macie2"].calls == [] and clients["detective"].calls == []


def test_delete_changes_nothing_and_failures_reach_cloudformation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        handler_module, "send", lambda event, status, reason="": sent.append((status, reason))
    )
    clients = _clients()
    event = {"RequestType": "Delete", "ResourceProperties": PROPERTIES}
    handler_module.handler(event, None, client=validated(clients))
    assert sent == [("SUCCESS", "")] and all(c.calls == [] for c in clients.values())
    broken = _clients(guardduty=Recorder(list_detectors=RuntimeError("denied")))
    handler_module.handler({**event, "RequestType": "Create"}, None, client=validated(broken))
    assert sent[-1][0] == "FAILED" and "denied" in sent[-1][1]


# --- resumable enrolment, through botocore's request and response validation -------------


def _stubbed(service: str) -> tuple[Any, Any]:
    import botocore.session
    from botocore.stub import Stubber

    client = botocore.session.get_session().create_client(
        service,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


MEMBERS = [
    {
        "Id": f"{100000000000 + i:012d}",
        "Arn": f"arn:aws:organizations::210987654321:account/o-abc123defg/{100000000000 + i:012d}",
        "Email": f"m{i}@example.com",
        "Name": f"m{i}",
        "Status": "ACTIVE",
    }
    for i in range(3)
]
INSPECTOR_ONLY = {"Services": ["inspector2"], "AccountId": "423456789012"}


class Context:
    """The Lambda context: the remaining time and the function's own ARN."""

    invoked_function_arn = (
        "arn:aws:lambda:eu-west-1:423456789012:function:nwl-security-services-eu-west-1"
    )

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_a_long_enrolment_goes_on_in_fresh_invocations_and_answers_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    organizations, org_stub = _stubbed("organizations")
    inspector2, stub = _stubbed("inspector2")
    # no time to spare: every invocation reads the members and takes one step, then hands
    # over; the last association is waited for in the next invocation
    steps = [
        (
            "update_organization_configuration",
            {"autoEnable": {"ec2": True, "ecr": True, "lambda": True}},
            {"autoEnable": {"ec2": True, "ecr": True}},
        ),
        *(("associate_member", {"accountId": m["Id"]}, {"accountId": m["Id"]}) for m in MEMBERS),
        (
            "enable",
            {
                "accountIds": [*(m["Id"] for m in MEMBERS), "423456789012"],  # by id
                "resourceTypes": ["EC2", "ECR", "LAMBDA"],
            },
            {"accounts": [], "failedAccounts": []},
        ),
    ]
    associated = [[], [], [MEMBERS[0]], MEMBERS[:2], MEMBERS]
    for (operation, params, response), members in zip(steps, associated, strict=True):
        org_stub.add_response("list_accounts", {"Accounts": MEMBERS}, {})
        if operation == "update_organization_configuration":  # the setup comes first
            stub.add_response(operation, response, params)
            _inspector_members(stub, [])
            continue
        _inspector_members(stub, [m["Id"] for m in members])
        stub.add_response(operation, response, params)
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        handler_module, "send", lambda event, status, reason="": sent.append((status, reason))
    )
    invoked: list[dict[str, Any]] = []
    clients = {"organizations": organizations, "inspector2": inspector2}
    event: dict[str, Any] = {"RequestType": "Create", "ResourceProperties": INSPECTOR_ONLY}
    context = Context(seconds=handler_module.TIME_MARGIN_SECONDS)
    with org_stub, stub:
        handler_module.handler(
            event, context, clients.__getitem__, lambda arn, e: invoked.append(e)
        )
        while invoked and not sent:
            handler_module.handler(
                invoked[-1], context, clients.__getitem__, lambda arn, e: invoked.append(e)
            )
        stub.assert_no_pending_responses()
    assert sent == [("SUCCESS", "")]  # CloudFormation hears once, from the last invocation
    assert [e["Continuation"] for e in invoked] == [1, 2, 3, 4]  # five steps, five invocations
    assert invoked[-1]["Progress"]["inspector2.associated.last"] == MEMBERS[-1]["Id"]


def _inspector_members(stub: Any, ids: list[str], status: str = "ENABLED") -> None:
    """Inspector's answer to the enrolment's read of its associated members."""
    stub.add_response(
        "list_members",
        {"members": [{"accountId": i, "relationshipStatus": status} for i in ids]},
        {"onlyAssociated": True, "maxResults": 50},
    )


def _macie_members(stub: Any, ids: list[str]) -> None:
    stub.add_response(
        "list_members",
        {"members": [{"accountId": i} for i in ids]},
        {"onlyAssociated": "true", "maxResults": 25},
    )


def _suspended(account: dict[str, str]) -> dict[str, str]:
    return {**account, "Status": "SUSPENDED"}


def _out_of_time_after(calls: int) -> Any:
    """``out_of_time`` that says so at its ``calls``-th question."""
    asked = iter(range(1, 10**6))
    return lambda: next(asked) >= calls


def test_an_account_gone_between_invocations_does_not_skip_the_next_one() -> None:
    """Macie: the first invocation enrols A and B and runs out of time; before the next
    one B is suspended, so the organisation's list is [A, C]. C is still enrolled, and A
    is not enrolled again."""
    a, b, c = MEMBERS
    organizations, org_stub = _stubbed("organizations")
    macie2, stub = _stubbed("macie2")
    org_stub.add_response("list_accounts", {"Accounts": [a, b, c]}, {})
    stub.add_response(
        "enable_macie", {}, {"status": "ENABLED", "findingPublishingFrequency": "FIFTEEN_MINUTES"}
    )
    stub.add_response("update_organization_configuration", {}, {"autoEnable": True})
    _macie_members(stub, [])
    for member in (a, b):
        stub.add_response(
            "create_member",
            {"arn": f"arn:aws:macie2:eu-west-1:423456789012:member/{member['Id']}"},
            {"account": {"accountId": member["Id"], "email": member["Email"]}},
        )
    org_stub.add_response("list_accounts", {"Accounts": [a, _suspended(b), c]}, {})
    _macie_members(stub, [a["Id"], b["Id"]])
    stub.add_response(
        "create_member",
        {"arn": f"arn:aws:macie2:eu-west-1:423456789012:member/{c['Id']}"},
        {"account": {"accountId": c["Id"], "email": c["Email"]}},
    )
    clients = {"organizations": organizations, "macie2": macie2}.__getitem__
    macie_only = {"Services": ["macie2"], "AccountId": "423456789012"}
    with org_stub, stub:
        # setup, A, B; C finds the time up
        with pytest.raises(handler_module.OutOfTime) as stop:
            handler_module.apply(macie_only, clients, out_of_time=_out_of_time_after(3))
        done = handler_module.apply(macie_only, clients, stop.value.progress)
        stub.assert_no_pending_responses()
    assert done == {"macie2": 2}


def test_inspector_goes_on_after_the_last_account_it_dealt_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inspector: associated A and B, enabled the first batch (A, B); B is suspended
    before the next invocation. C is still associated, and the next batch is C and the
    administrator, not a batch shifted by the account that went."""
    monkeypatch.setattr(handler_module, "INSPECTOR_BATCH", 2)
    a, b, c = MEMBERS
    organizations, org_stub = _stubbed("organizations")
    inspector2, stub = _stubbed("inspector2")
    org_stub.add_response("list_accounts", {"Accounts": [a, b, c]}, {})
    stub.add_response(
        "update_organization_configuration",
        {"autoEnable": {"ec2": True, "ecr": True}},
        {"autoEnable": {"ec2": True, "ecr": True, "lambda": True}},
    )
    _inspector_members(stub, [])
    for member in (a, b):
        stub.add_response(
            "associate_member", {"accountId": member["Id"]}, {"accountId": member["Id"]}
        )
    org_stub.add_response("list_accounts", {"Accounts": [a, _suspended(b), c]}, {})
    _inspector_members(stub, [a["Id"], b["Id"]])
    stub.add_response("associate_member", {"accountId": c["Id"]}, {"accountId": c["Id"]})
    # the association just started is waited for
    _inspector_members(stub, [a["Id"], b["Id"], c["Id"]])
    for batch in ([a["Id"], c["Id"]], ["423456789012"]):
        stub.add_response(
            "enable",
            {"accounts": [], "failedAccounts": []},
            {"accountIds": batch, "resourceTypes": ["EC2", "ECR", "LAMBDA"]},
        )
    clients = {"organizations": organizations, "inspector2": inspector2}.__getitem__
    with org_stub, stub:
        with pytest.raises(handler_module.OutOfTime) as stop:
            handler_module.apply(INSPECTOR_ONLY, clients, out_of_time=_out_of_time_after(3))
        handler_module.apply(INSPECTOR_ONLY, clients, stop.value.progress)
        stub.assert_no_pending_responses()


def test_progress_stays_one_id_a_step_however_large_the_organisation() -> None:
    enrolment = handler_module.Enrolment(None, lambda: False)
    ids = [f"{100000000000 + i:012d}" for i in range(10_000)]
    for account_id in enrolment.left("macie2.members", ids):
        enrolment.dealt_with("macie2.members", account_id)
    assert enrolment.progress["macie2.members.last"] == ids[-1]
    assert enrolment.left("macie2.members", ids) == []
    assert len(json.dumps(enrolment.progress)) < 200


def test_fails_when_the_enrolment_would_outlast_cloudformations_hour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler_module, "MAX_CONTINUATIONS", 1)
    organizations, org_stub = _stubbed("organizations")
    inspector2, stub = _stubbed("inspector2")
    org_stub.add_response("list_accounts", {"Accounts": MEMBERS}, {})
    stub.add_response(
        "update_organization_configuration",
        {"autoEnable": {"ec2": True, "ecr": True}},
        {"autoEnable": {"ec2": True, "ecr": True, "lambda": True}},
    )
    _inspector_members(stub, [])
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        handler_module, "send", lambda event, status, reason="": sent.append((status, reason))
    )
    event = {"RequestType": "Create", "ResourceProperties": INSPECTOR_ONLY, "Continuation": 1}
    with org_stub, stub:
        handler_module.handler(
            event,
            Context(seconds=handler_module.TIME_MARGIN_SECONDS),
            {"organizations": organizations, "inspector2": inspector2}.__getitem__,
            lambda arn, e: pytest.fail("must not continue again"),
        )
    assert sent[0][0] == "FAILED" and "deploy again to go on" in sent[0][1]


def _inspector_enabling_one_member(member_error: str) -> tuple[Any, Any, Any, Any]:
    """Stubbed clients for an Inspector enrolment of one member, whose enable answers
    ``member_error`` for the member (the administrator is enabled already)."""
    organizations, org_stub = _stubbed("organizations")
    inspector2, stub = _stubbed("inspector2")
    org_stub.add_response("list_accounts", {"Accounts": MEMBERS[:1]}, {})
    stub.add_response(
        "update_organization_configuration",
        {"autoEnable": {"ec2": True, "ecr": True}},
        {"autoEnable": {"ec2": True, "ecr": True, "lambda": True}},
    )
    member = MEMBERS[0]["Id"]
    _inspector_members(stub, [])
    stub.add_response("associate_member", {"accountId": member}, {"accountId": member})
    _inspector_members(stub, [member])
    stub.add_response(
        "enable",
        {
            "accounts": [],
            "failedAccounts": [
                {"accountId": member, "errorCode": member_error, "errorMessage": "denied"},
                {"accountId": "423456789012", "errorCode": "ALREADY_ENABLED", "errorMessage": "on"},
            ],
        },
        {"accountIds": [member, "423456789012"], "resourceTypes": ["EC2", "ECR", "LAMBDA"]},
    )
    clients = {"organizations": organizations, "inspector2": inspector2}
    return clients.__getitem__, org_stub, stub, member


TOPIC = "arn:aws:sns:eu-west-1:423456789012:nwl-security-findings"


def test_failed_member_enrolments_are_named_and_told_not_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One account a service refuses must not fail the resource: every deploy of the
    stack, and the rollback of each, would fail over it. The answer names it, and the
    security topic is told; the same event again (a rollback's Update) answers the same."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        handler_module, "send", lambda event, status, reason="": sent.append((status, reason))
    )
    properties = {**INSPECTOR_ONLY, "FailureTopicArn": TOPIC}
    event = {"RequestType": "Update", "ResourceProperties": properties}
    for _ in range(2):
        clients, org_stub, stub, member = _inspector_enabling_one_member("ACCESS_DENIED")
        sns, sns_stub = _stubbed("sns")
        message = {
            "what": "1 member enrolment(s) in the detective services failed.",
            "act": (
                "Fix each account (its guardrails, its service-linked roles, its state), then "
                "deploy the SecurityTooling stack again: enrolment is idempotent."
            ),
            "failures": [f"inspector2 {member}: denied"],
        }
        sns_stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {
                "TopicArn": TOPIC,
                "Subject": "Member enrolments in the detective services failed",
                "Message": json.dumps(message),
            },
        )
        every = {
            "sns": sns,
            "organizations": clients("organizations"),
            "inspector2": clients("inspector2"),
        }
        asked: list[tuple[str, str | None]] = []

        def factory(
            service: str, region: str | None = None, every: Any = every, asked: Any = asked
        ) -> Any:
            asked.append((service, region))
            return every[service]

        with org_stub, stub, sns_stub:
            handler_module.handler(event, None, factory)
        sns_stub.assert_no_pending_responses()
        # SNS takes a publish in the topic's region only: the client is made there
        assert ("sns", "eu-west-1") in asked and ("sns", None) not in asked
    assert sent == [("SUCCESS", ""), ("SUCCESS", "")]


def test_failures_are_in_the_answer_though_the_topic_cannot_be_told() -> None:
    clients, org_stub, stub, member = _inspector_enabling_one_member("ACCESS_DENIED")
    sns, sns_stub = _stubbed("sns")
    sns_stub.add_client_error("publish", "NotFound", "Topic does not exist")
    every = {
        "sns": sns,
        "organizations": clients("organizations"),
        "inspector2": clients("inspector2"),
    }
    with org_stub, stub, sns_stub:
        done = handler_module.apply(
            {**INSPECTOR_ONLY, "FailureTopicArn": TOPIC},
            lambda service, region=None: every[service],
        )
    assert done["FailedEnrolments"] == 1
    assert done["Failures"] == [f"inspector2 {member}: denied"]


def test_an_enablement_already_under_way_is_no_failure() -> None:
    clients, org_stub, stub, _ = _inspector_enabling_one_member("ENABLE_IN_PROGRESS")
    with org_stub, stub:
        handler_module.apply(INSPECTOR_ONLY, clients)
    stub.assert_no_pending_responses()


GRAPH = "arn:aws:detective:eu-west-1:423456789012:graph:abc123"


def _detective_with_graph(present: list[str]) -> tuple[Any, Any, Any, Any]:
    """Stubbed clients of a Detective enrolment of ``MEMBERS`` up to the graph's members:
    the graph exists, takes new accounts, and holds ``present``."""
    organizations, org_stub = _stubbed("organizations")
    detective, stub = _stubbed("detective")
    org_stub.add_response("list_accounts", {"Accounts": MEMBERS}, {})
    stub.add_response("list_graphs", {"GraphList": [{"Arn": GRAPH}]}, {})
    stub.add_response(
        "update_organization_configuration", {}, {"GraphArn": GRAPH, "AutoEnable": True}
    )
    stub.add_response(
        "list_members",
        {"MemberDetails": [{"AccountId": i, "Status": "ENABLED"} for i in present]},
        {"GraphArn": GRAPH},
    )
    return organizations, org_stub, detective, stub


def test_detective_takes_members_up_to_its_quota_and_skips_present_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler_module, "DETECTIVE_MAX_MEMBERS", 2)
    organizations, org_stub, detective, stub = _detective_with_graph([MEMBERS[0]["Id"]])
    second = MEMBERS[1]
    stub.add_response(
        "create_members",
        {"Members": [], "UnprocessedAccounts": []},
        {
            "GraphArn": GRAPH,
            "Accounts": [{"AccountId": second["Id"], "EmailAddress": second["Email"]}],
        },
    )
    with org_stub, stub:
        done = handler_module.apply(
            {"Services": ["detective"], "AccountId": "423456789012"},
            {"organizations": organizations, "detective": detective}.__getitem__,
        )
        stub.assert_no_pending_responses()
    assert done == {"detective": GRAPH, "detective.over_quota": 1}  # the third is over quota


def test_a_graph_at_its_volume_quota_fails_the_members_left_not_the_resource() -> None:
    """Detective refuses members while the graph takes in more than its quota allows: the
    members left are named as failures, and nothing else of the enrolment stops."""
    organizations, org_stub, detective, stub = _detective_with_graph([])
    stub.add_client_error(
        "create_members", "ServiceQuotaExceededException", "above the limit of 10 TB per day"
    )
    with org_stub, stub:
        done = handler_module.apply(
            {"Services": ["detective"], "AccountId": "423456789012"},
            {"organizations": organizations, "detective": detective}.__getitem__,
        )
        stub.assert_no_pending_responses()
    assert done["FailedEnrolments"] == len(MEMBERS)
    assert all("above the limit of 10 TB per day" in f for f in done["Failures"])


def test_only_active_accounts_are_members_by_state_or_the_status_it_replaced() -> None:
    import boto3
    from botocore.stub import Stubber

    organizations = boto3.client(
        "organizations",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stub = Stubber(organizations)

    def account(number: int, **state: str) -> dict[str, str]:
        return {"Id": f"{number:012d}", "Email": f"a{number}@example.com", **state}

    stub.add_response(
        "list_accounts",
        {
            "Accounts": [
                account(1, State="ACTIVE"),
                account(2, State="SUSPENDED"),
                account(3, State="CLOSED"),
                account(4, State="PENDING_ACTIVATION"),
                account(5, State="PENDING_CLOSURE"),
            ],
            "NextToken": "more",
        },
        {},
    )
    stub.add_response(
        "list_accounts",
        {
            "Accounts": [
                account(6, Status="ACTIVE"),  # an answer from before State
                account(7, Status="SUSPENDED"),
                account(8, State="SUSPENDED", Status="ACTIVE"),  # State wins
                account(9, State="ACTIVE"),  # the administrator
            ]
        },
        {"NextToken": "more"},
    )
    with stub:
        members = handler_module.organization_members(organizations, "000000000009")
    stub.assert_no_pending_responses()
    assert [m["AccountId"] for m in members] == ["000000000001", "000000000006"]


AGGREGATOR = "arn:aws:securityhub:eu-west-1:423456789012:finding-aggregator/1a2b3c4d-0000-4000-8000-000000000001"


def test_the_finding_aggregator_links_the_other_regions_or_none() -> None:
    """CloudFormation's own resource takes neither NO_REGIONS nor an empty list: one
    governed region still needs an aggregator for central configuration."""
    for linked, expected in (
        (["eu-central-1"], {"RegionLinkingMode": "SPECIFIED_REGIONS", "Regions": ["eu-central-1"]}),
        ([], {"RegionLinkingMode": "NO_REGIONS"}),
    ):
        hub = Recorder(
            list_finding_aggregators={"FindingAggregators": []},
            create_finding_aggregator={"FindingAggregatorArn": AGGREGATOR},
        )
        done = handler_module.apply({"LinkedRegions": linked}, validated({"securityhub": hub}))
        assert done == {"securityhub": AGGREGATOR}
        assert hub.calls == [
            ("list_finding_aggregators", {}),
            ("create_finding_aggregator", expected),
        ]


def test_an_existing_finding_aggregator_is_updated_not_made_again() -> None:
    # an account holds one aggregator: a second CreateFindingAggregator fails
    hub = Recorder(
        list_finding_aggregators={"FindingAggregators": [{"FindingAggregatorArn": AGGREGATOR}]},
        update_finding_aggregator={"FindingAggregatorArn": AGGREGATOR},
    )
    done = handler_module.apply({"LinkedRegions": []}, validated({"securityhub": hub}))
    assert done == {"securityhub": AGGREGATOR}
    assert hub.calls[1] == (
        "update_finding_aggregator",
        {"FindingAggregatorArn": AGGREGATOR, "RegionLinkingMode": "NO_REGIONS"},
    )


def test_only_members_not_yet_enrolled_are_called_for() -> None:
    """A request that starts over (a redeploy, a new handler) repeats no call per account
    for members the services have already: Inspector's associated members and Macie's."""
    organizations, org_stub = _stubbed("organizations")
    inspector2, stub = _stubbed("inspector2")
    macie2, macie_stub = _stubbed("macie2")
    ids = [m["Id"] for m in MEMBERS]
    org_stub.add_response("list_accounts", {"Accounts": MEMBERS}, {})
    stub.add_response(
        "update_organization_configuration",
        {"autoEnable": {"ec2": True, "ecr": True}},
        {"autoEnable": {"ec2": True, "ecr": True, "lambda": True}},
    )
    _inspector_members(stub, ids)
    stub.add_response(
        "enable",
        {"accounts": [], "failedAccounts": []},
        {"accountIds": [*ids, "423456789012"], "resourceTypes": ["EC2", "ECR", "LAMBDA"]},
    )
    macie_stub.add_response(
        "enable_macie", {}, {"status": "ENABLED", "findingPublishingFrequency": "FIFTEEN_MINUTES"}
    )
    macie_stub.add_response("update_organization_configuration", {}, {"autoEnable": True})
    _macie_members(macie_stub, ids)
    clients = {"organizations": organizations, "inspector2": inspector2, "macie2": macie2}
    with org_stub, stub, macie_stub:
        done = handler_module.apply(
            {"Services": ["inspector2", "macie2"], "AccountId": "423456789012"},
            clients.__getitem__,
        )
        stub.assert_no_pending_responses()
        macie_stub.assert_no_pending_responses()
    assert "FailedEnrolments" not in done


def test_an_association_still_pending_after_the_wait_is_a_named_failure(
    no_waiting: list[float],
) -> None:
    """Inspector's Enable needs the member associated: the enrolment waits for the
    associations it starts, and one still pending after the wait is named, not enabled."""
    organizations, org_stub = _stubbed("organizations")
    inspector2, stub = _stubbed("inspector2")
    member = MEMBERS[0]["Id"]
    org_stub.add_response("list_accounts", {"Accounts": MEMBERS[:1]}, {})
    stub.add_response(
        "update_organization_configuration",
        {"autoEnable": {"ec2": True, "ecr": True}},
        {"autoEnable": {"ec2": True, "ecr": True, "lambda": True}},
    )
    _inspector_members(stub, [])
    stub.add_response("associate_member", {"accountId": member}, {"accountId": member})
    polls = handler_module.ASSOCIATION_WAIT_SECONDS // handler_module.ASSOCIATION_POLL_SECONDS
    for _ in range(polls):
        _inspector_members(stub, [member], status="CREATED")
    stub.add_response(
        "enable",
        {"accounts": [], "failedAccounts": []},
        {"accountIds": ["423456789012"], "resourceTypes": ["EC2", "ECR", "LAMBDA"]},
    )
    with org_stub, stub:
        done = handler_module.apply(
            INSPECTOR_ONLY,
            {"organizations": organizations, "inspector2": inspector2}.__getitem__,
        )
        stub.assert_no_pending_responses()
    assert sum(no_waiting) == handler_module.ASSOCIATION_WAIT_SECONDS
    (failure,) = done["Failures"]
    assert failure.startswith(f"inspector2 {member}: association CREATED after 120 s")
