"""Custom resource: organisation-wide auto-enable of the detective services (audit account).

Runs in the delegated administrator (audit) account, once per governed region, after the
management account made it the administrator. On Create and Update, idempotently:

- GuardDuty: every member, present and future, with the protection plans asked for
  (Runtime Monitoring with the security agent GuardDuty manages);
- Inspector: EC2, ECR and Lambda scanning for the existing members and every new one;
- Macie and Detective: the existing members enrolled, and every new one;
- Security Hub (a resource of its own, ``Custom::FindingAggregator``, home region): the
  finding aggregator that central configuration needs, linking the other governed regions
  or none.

The existing members are read from AWS Organizations at run time (the administrator may
list them); accounts that join later are covered by the services' auto-enable.

CloudFormation has no resource type for these organisation settings. On Delete it changes
nothing: removing the stack must not turn detection off. Standard library and boto3 only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

try:  # in the function's package the handlers are top-level modules
    import cfn_response  # type: ignore[import-not-found]
except ImportError:  # as part of the baseline package (tests)
    from baseline.handlers import cfn_response

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

PHYSICAL_ID = "security-services"

#: A boto3 client for a service, in the function's region or in the one given.
ClientFactory = Callable[..., Any]


def _boto3_client(service: str, region: str | None = None) -> Any:  # pragma: no cover
    import boto3
    from botocore.config import Config

    retries = {"mode": "standard", "max_attempts": cfn_response.CALL_ATTEMPTS}
    return boto3.client(service, region_name=region, config=Config(retries=retries))


#: A protection plan's additional configurations turned on with it: Runtime Monitoring
#: takes in nothing without its security agent, and GuardDuty manages the agent (and the
#: VPC endpoint it reports through, with its service-linked role) only where asked to; on
#: ECS Fargate there is no agent but the one GuardDuty manages.
GUARDDUTY_ADDITIONAL = {
    "RUNTIME_MONITORING": (
        "EKS_ADDON_MANAGEMENT",
        "ECS_FARGATE_AGENT_MANAGEMENT",
        "EC2_AGENT_MANAGEMENT",
    ),
}


def _feature(name: str, key: str, value: str) -> dict[str, Any]:
    """One protection plan of ``update_detector`` (``Status``) or of
    ``update_organization_configuration`` (``AutoEnable``), with its agent management."""
    feature: dict[str, Any] = {"Name": name, key: value}
    if name in GUARDDUTY_ADDITIONAL:
        feature["AdditionalConfiguration"] = [
            {"Name": extra, key: value} for extra in GUARDDUTY_ADDITIONAL[name]
        ]
    return feature


def guardduty(client: Any, features: list[str]) -> str:
    detectors = client.list_detectors()["DetectorIds"]
    detector_id = str(
        detectors[0] if detectors else client.create_detector(Enable=True)["DetectorId"]
    )
    client.update_detector(
        DetectorId=detector_id,
        Enable=True,
        FindingPublishingFrequency="FIFTEEN_MINUTES",
        Features=[_feature(name, "Status", "ENABLED") for name in features],
    )
    client.update_organization_configuration(
        DetectorId=detector_id,
        AutoEnableOrganizationMembers="ALL",
        Features=[_feature(name, "AutoEnable", "ALL") for name in features],
    )
    return detector_id


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


#: Member accounts one Detective behavior graph holds at most (a Detective quota); the
#: accounts beyond it stay out of the graph and are reported.
DETECTIVE_MAX_MEMBERS = 1200
#: Enrolment stops starting calls this many seconds before the invocation's time runs out,
#: and goes on in a fresh invocation of the same function.
TIME_MARGIN_SECONDS: int = cfn_response.ANSWER_MARGIN_SECONDS
#: Fresh invocations one request may take, so it answers CloudFormation within its hour.
MAX_CONTINUATIONS = 5
#: Per-account failures named in the answer (the rest are counted).
FAILURES_NAMED = 10
#: Accounts one Inspector ``enable`` takes at most.
INSPECTOR_BATCH = 100
#: How long the enrolment waits for the Inspector associations it starts, and how often
#: it looks.
ASSOCIATION_WAIT_SECONDS = 120
ASSOCIATION_POLL_SECONDS = 5

_sleep = time.sleep


class OutOfTime(Exception):  # noqa: N818 - a signal, not an error
    """The invocation's time is nearly up; ``progress`` says where to go on."""

    def __init__(self, progress: dict[str, Any]) -> None:
        super().__init__("out of time")
        self.progress = progress


class Enrolment:
    """Where an organisation-wide enrolment stands: resumable, and every failure kept.

    A step over accounts goes through them in the order of their ids, and its progress
    is the last id it dealt with (``<step>.last``), not a position: each invocation reads
    the organisation again, and an account suspended or closed in between shifts every
    position after it, so that the next account would be skipped. One id per step keeps
    the progress (carried in the next invocation's event) small for any organisation.
    """

    def __init__(self, progress: dict[str, Any] | None, out_of_time: Callable[[], bool]) -> None:
        self.progress: dict[str, Any] = dict(progress or {})
        self.progress.setdefault("Failures", [])
        self.progress.setdefault("FailureCount", 0)
        self._out_of_time = out_of_time

        self._calls_here = 0

    def position(self, step: str) -> int:
        return int(self.progress.get(step, 0))

    def ready(self) -> None:
        """Before a call: stop here if time is nearly up (after one call at least, so
        every invocation makes progress)."""
        if self._calls_here and self._out_of_time():
            raise OutOfTime(self.progress)
        self._calls_here += 1

    def advance(self, step: str, to: int) -> None:
        """Record that ``step`` got as far as ``to``."""
        self.progress[step] = to

    def left(self, step: str, account_ids: list[str]) -> list[str]:
        """The ids, in order, that ``step`` has not dealt with yet."""
        last = self.progress.get(f"{step}.last")
        ordered = sorted(account_ids)
        return ordered if not isinstance(last, str) else [i for i in ordered if i > last]

    def dealt_with(self, step: str, account_id: str) -> None:
        """Record that ``step`` dealt with every account up to ``account_id``."""
        self.progress[f"{step}.last"] = account_id

    def failed(self, service: str, account_id: str, reason: str) -> None:
        self.progress["FailureCount"] += 1
        if len(self.progress["Failures"]) < FAILURES_NAMED:
            self.progress["Failures"].append(f"{service} {account_id}: {reason}")

    def failures(self) -> dict[str, Any]:
        """The failed enrolments, counted and the first ``FAILURES_NAMED`` named; empty
        when none failed."""
        count = self.progress["FailureCount"]
        return {"FailedEnrolments": count, "Failures": self.progress["Failures"]} if count else {}


def _paged(
    call: Callable[..., dict[str, Any]], items: str, page_key: str = "NextToken", **params: Any
) -> Iterator[dict[str, Any]]:
    """Every item of a listing call, page after page (``page_key`` names the page token of
    the request and the answer alike)."""
    next_token: str | None = None
    while True:
        page = call(**params, **({page_key: next_token} if next_token else {}))
        yield from page.get(items, [])
        next_token = page.get(page_key)
        if not next_token:
            return


def _inspector_members(client: Any) -> dict[str, str]:
    """The administrator's Inspector members: account id -> relationship status. (Reads
    before the invocation's work: they take no turn of ``Enrolment.ready``, so that every
    invocation still makes progress.)"""
    pages = _paged(client.list_members, "members", "nextToken", onlyAssociated=True, maxResults=50)
    return {m["accountId"]: m.get("relationshipStatus", "") for m in pages}


def inspector(
    client: Any, account_id: str, members: list[dict[str, str]], enrolment: Enrolment
) -> int:
    """Scanning for the administrator, every existing member, and every new one.

    Members already associated are not associated again (a request that starts over
    repeats no call per account). ``AssociateMember`` only starts an association: the
    members it starts are waited for (``ASSOCIATION_WAIT_SECONDS``), as ``Enable`` needs
    them associated; one still pending then is a failed enrolment, named, for the next
    deploy to finish.
    """
    if not enrolment.position("inspector2.setup"):
        enrolment.ready()
        client.update_organization_configuration(
            autoEnable={"ec2": True, "ecr": True, "lambda": True}
        )
        enrolment.advance("inspector2.setup", 1)
    member_ids = [m["AccountId"] for m in members]
    status = _inspector_members(client)
    for member in enrolment.left("inspector2.associated", member_ids):
        if member not in status:
            enrolment.ready()
            client.associate_member(accountId=member)
        enrolment.dealt_with("inspector2.associated", member)
    if not enrolment.position("inspector2.waited"):  # once a request, not per invocation
        waited = 0
        while (
            any(status.get(m) != "ENABLED" for m in member_ids)
            and waited < ASSOCIATION_WAIT_SECONDS
        ):
            enrolment.ready()  # a wait that outlasts the invocation goes on in the next one
            _sleep(ASSOCIATION_POLL_SECONDS)
            waited += ASSOCIATION_POLL_SECONDS
            status = _inspector_members(client)
        for member in member_ids:
            if status.get(member) != "ENABLED":
                enrolment.failed(
                    "inspector2",
                    member,
                    f"association {status.get(member) or 'not started'} after "
                    f"{ASSOCIATION_WAIT_SECONDS} s; deploy again to enable its scanning",
                )
        enrolment.advance("inspector2.waited", 1)
    associated = [m for m in member_ids if status.get(m) == "ENABLED"]
    ids = sorted({account_id, *associated})
    for batch in _batches(enrolment.left("inspector2.enabled", ids), INSPECTOR_BATCH):
        enrolment.ready()
        answer = client.enable(accountIds=batch, resourceTypes=["EC2", "ECR", "LAMBDA"])
        for failed in answer.get("failedAccounts", []):
            # under way already (just after associate_member, or a retried event): done
            if failed.get("errorCode") not in ("ALREADY_ENABLED", "ENABLE_IN_PROGRESS"):
                enrolment.failed(
                    "inspector2",
                    failed["accountId"],
                    failed.get("errorMessage", failed["errorCode"]),
                )
        enrolment.dealt_with("inspector2.enabled", batch[-1])
    return len(ids)


def macie(client: Any, members: list[dict[str, str]], enrolment: Enrolment) -> int:
    """Macie for the administrator, every existing member, and every new one."""
    if not enrolment.position("macie2.setup"):
        enrolment.ready()
        # Designating the administrator may have enabled Macie already.
        with contextlib.suppress(client.exceptions.ConflictException):
            client.enable_macie(status="ENABLED", findingPublishingFrequency="FIFTEEN_MINUTES")
        client.update_organization_configuration(autoEnable=True)
        enrolment.advance("macie2.setup", 1)
    emails = {m["AccountId"]: m["Email"] for m in members}
    existing = _macie_members(client)
    for member_id in enrolment.left("macie2.members", list(emails)):
        if member_id in existing:  # a request that starts over repeats no call for it
            enrolment.dealt_with("macie2.members", member_id)
            continue
        enrolment.ready()
        try:
            client.create_member(account={"accountId": member_id, "email": emails[member_id]})
        except client.exceptions.ConflictException:
            pass  # a member already
        except client.exceptions.ValidationException as error:
            enrolment.failed("macie2", member_id, str(error))
        enrolment.dealt_with("macie2.members", member_id)
    return len(members)


def _macie_members(client: Any) -> set[str]:
    """The accounts that are Macie members of the administrator already (read as
    ``_inspector_members`` reads)."""
    pages = _paged(
        client.list_members, "members", "nextToken", onlyAssociated="true", maxResults=25
    )
    return {m["accountId"] for m in pages}


def _graph_members(client: Any, graph_arn: str) -> set[str]:
    return {
        m["AccountId"] for m in _paged(client.list_members, "MemberDetails", GraphArn=graph_arn)
    }


def detective(client: Any, members: list[dict[str, str]], enrolment: Enrolment) -> str:
    """The behavior graph, the existing members in it (up to its quota), and new ones."""
    graphs = client.list_graphs()["GraphList"]
    graph_arn = str(graphs[0]["Arn"] if graphs else client.create_graph()["GraphArn"])
    if not enrolment.position("detective.setup"):
        enrolment.ready()
        client.update_organization_configuration(GraphArn=graph_arn, AutoEnable=True)
        enrolment.advance("detective.setup", 1)
    present = _graph_members(client, graph_arn)
    room = max(DETECTIVE_MAX_MEMBERS - len(present), 0)
    missing = [m for m in members if m["AccountId"] not in present]
    enrolment.progress["detective.over_quota"] = len(missing[room:])
    batches = _batches(missing[:room], 50)  # CreateMembers takes at most 50 accounts
    for index, batch in enumerate(batches):
        enrolment.ready()
        try:
            answer = client.create_members(
                GraphArn=graph_arn,
                Accounts=[{"AccountId": m["AccountId"], "EmailAddress": m["Email"]} for m in batch],
            )
        except client.exceptions.ServiceQuotaExceededException as error:
            # the graph takes in as much data as it may (Detective's volume quota): the
            # rest of the members fail, named, and the graph goes on as it is
            for member in [m for left in batches[index:] for m in left]:
                enrolment.failed("detective", member["AccountId"], str(error))
            break
        for unprocessed in answer.get("UnprocessedAccounts", []):
            enrolment.failed("detective", unprocessed["AccountId"], unprocessed.get("Reason", ""))
    return graph_arn


def _state(account: dict[str, Any]) -> str:
    """An account's state: ``State`` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED,
    PENDING_ACTIVATION), or the ``Status`` it replaced (AWS Organizations retired it on
    9 September 2026), for an answer that still carries only that."""
    return str(account.get("State") or account.get("Status") or "ACTIVE")


def organization_members(organizations: Any, administrator: str) -> list[dict[str, str]]:
    """Every active account of the organisation but the administrator, read at run time,
    in a stable order (by id), so an enrolment can go on where it stopped. Suspended,
    closed and not yet activated accounts are left out: the services cannot enrol them.

    Accounts created moments earlier (by the account stacks) are included: the services'
    auto-enable would miss them, as it only takes accounts that join after it is set.
    """
    members = [
        {"AccountId": a["Id"], "Email": a["Email"]}
        for a in _paged(organizations.list_accounts, "Accounts")
        if _state(a) == "ACTIVE" and a["Id"] != administrator
    ]
    return sorted(members, key=lambda m: m["AccountId"])


def finding_aggregator(client: Any, regions: list[str]) -> str:
    """Security Hub's finding aggregator in this (the home) region, linking ``regions``,
    or none (``NO_REGIONS``) where no other region is governed: central configuration
    needs the aggregator either way, and CloudFormation's own resource takes neither
    ``NO_REGIONS`` nor an empty list. An account holds one aggregator: an existing one is
    updated, not made again. Its ARN."""
    linking: dict[str, Any] = (
        {"RegionLinkingMode": "SPECIFIED_REGIONS", "Regions": regions}
        if regions
        else {"RegionLinkingMode": "NO_REGIONS"}
    )
    existing = client.list_finding_aggregators()["FindingAggregators"]
    if existing:
        arn = str(existing[0]["FindingAggregatorArn"])
        client.update_finding_aggregator(FindingAggregatorArn=arn, **linking)
        return arn
    return str(client.create_finding_aggregator(**linking)["FindingAggregatorArn"])


def apply(
    properties: dict[str, Any],
    client: ClientFactory,
    progress: dict[str, Any] | None = None,
    out_of_time: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Enable what the properties name; returns what it did.

    :param progress: where an earlier invocation stopped (``OutOfTime.progress``).
    :raises OutOfTime: time is nearly up; go on with the progress it carries.

    Member enrolments that failed are in what it returns (``FailedEnrolments``,
    ``Failures``), logged and told to the topic ``FailureTopicArn`` names
    (:func:`report_failures`).
    """
    enrolment = Enrolment(progress, out_of_time)
    done: dict[str, Any] = {}
    if "LinkedRegions" in properties:  # the Custom::FindingAggregator resource
        done["securityhub"] = finding_aggregator(
            client("securityhub"), list(properties["LinkedRegions"])
        )
    services = set(properties.get("Services", []))
    if "guardduty" in services:
        done["guardduty"] = guardduty(client("guardduty"), properties.get("GuardDutyFeatures", []))
    members = (
        organization_members(client("organizations"), properties["AccountId"])
        if services & {"inspector2", "macie2", "detective"}
        else []
    )
    if "inspector2" in services:
        done["inspector2"] = inspector(
            client("inspector2"), properties["AccountId"], members, enrolment
        )
    if "macie2" in services:
        done["macie2"] = macie(client("macie2"), members, enrolment)
    if "detective" in services:
        done["detective"] = detective(client("detective"), members, enrolment)
        over = enrolment.progress.get("detective.over_quota", 0)
        if over:
            LOG.warning(
                "Detective: %s accounts left out, over the %s members a graph holds",
                over,
                DETECTIVE_MAX_MEMBERS,
            )
            done["detective.over_quota"] = over
    failures = enrolment.failures()
    if failures:
        done.update(failures)
        report_failures(client, properties.get("FailureTopicArn"), failures)
    return done


def report_failures(client: ClientFactory, topic_arn: str | None, failures: dict[str, Any]) -> None:
    """Tell the security topic which member enrolments failed. They do not fail the
    resource: one account a service refuses (its own SCPs, a closed region) would then
    fail every deploy of the stack, and the rollback of each, so that no detection change
    could ship; the services stay on for every other account, and auto-enable takes the
    accounts that join later. The topic is told best effort: the answer goes out anyway,
    and the log keeps the failures."""
    count, named = failures["FailedEnrolments"], failures["Failures"]
    LOG.error("%s member enrolment(s) failed: %s", count, "; ".join(named))
    if not topic_arn:
        return
    message = {
        "what": f"{count} member enrolment(s) in the detective services failed.",
        "act": (
            "Fix each account (its guardrails, its service-linked roles, its state), then "
            "deploy the SecurityTooling stack again: enrolment is idempotent."
        ),
        "failures": named,
    }
    try:
        # the topic is the home region's; SNS takes a publish in the topic's region only
        client("sns", topic_arn.split(":")[3]).publish(
            TopicArn=topic_arn,
            Subject="Member enrolments in the detective services failed",
            Message=json.dumps(message),
        )
    except Exception as error:  # any: the answer to CloudFormation must still go out
        LOG.error("could not tell the security topic: %s", error)


def _invoke_self(function_arn: str, event: dict[str, Any]) -> None:  # pragma: no cover
    import boto3

    boto3.client("lambda").invoke(
        FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(event).encode()
    )


def send(event: dict[str, Any], status: str, reason: str = "") -> None:  # pragma: no cover
    cfn_response.send(event, status, PHYSICAL_ID, reason)


def handler(
    event: dict[str, Any],
    context: Any,
    client: ClientFactory = _boto3_client,
    invoke: Callable[[str, dict[str, Any]], None] = _invoke_self,
) -> None:
    """The Lambda entry point: apply, going on in a fresh invocation when time runs short,
    and answer CloudFormation once, at the end.

    A large organisation's enrolment takes more than one invocation: before its time runs
    out, the function invokes itself with the progress so far and leaves the answer to the
    invocation that finishes (at most ``MAX_CONTINUATIONS`` more, within CloudFormation's
    hour for a custom resource).
    """
    started = time.monotonic()
    budget = (
        context.get_remaining_time_in_millis() / 1000 - TIME_MARGIN_SECONDS
        if context is not None
        else float("inf")
    )
    continuation = int(event.get("Continuation", 0))

    def apply_changes() -> Any:
        try:
            return apply(
                event["ResourceProperties"],
                client,
                event.get("Progress"),
                lambda: time.monotonic() - started > budget,
            )
        except OutOfTime as stop:
            if continuation >= MAX_CONTINUATIONS:
                raise TimeoutError(
                    f"enrolment not finished after {continuation + 1} invocations; deploy "
                    "again to go on (enrolment is idempotent)"
                ) from None
            invoke(
                context.invoked_function_arn,
                {**event, "Progress": stop.progress, "Continuation": continuation + 1},
            )
            LOG.info("continuing in invocation %s", continuation + 1)
            return cfn_response.CONTINUED

    cfn_response.handle(event, apply_changes, send)
