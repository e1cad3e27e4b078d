"""``python -m baseline gameday``: rehearse the alert path with GuardDuty sample findings.

A game day (SEC10-BP07) proves, in the real organisation, that a finding reaches the
people who act on it. The command asks GuardDuty for sample findings of chosen types
(``CreateSampleFindings``, which GuardDuty documents for exactly this), then follows them
along the path the landing zone built and prints each step with its time and PASS or FAIL:

1. the account's GuardDuty detector in the region;
2. the sample findings created, and found again by their type;
3. in the audit account (where GuardDuty's administrator sees every member's findings):
   Security Hub in the home region, where findings aggregate, has them;
4. the home region's finding rule is enabled and ran (its ``Invocations`` metric):
   ``<prefix>-guardduty-findings`` for the home region, and for another region
   ``<prefix>-securityhubotherregions-findings``, which pages for what Security Hub
   aggregates; and the topic ``<prefix>-security-findings`` published.

Steps 3 and 4 need the audit account's credentials; with another account's, they are
left to the person, named as such. ``--dry-run`` prints every call it would make, with no
credentials and no AWS call. Sample findings are marked as samples (their ``sample``
attribute) and change nothing; archive them after the rehearsal.

Standard library and boto3 only; botocore's standard retry mode.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from baseline import naming
from baseline.config import AccountRole, LandingZoneConfig
from baseline.operations import CommandError, Step, created_account, governed_region

#: High-severity sample types (8.0): each one matches the finding rule (severity >= 7).
DEFAULT_TYPES = (
    "Backdoor:EC2/C&CActivity.B!DNS",
    "CryptoCurrency:EC2/BitcoinTool.B!DNS",
)
#: Values a Security Hub finding filter takes for one field (GetFindings).
FILTER_VALUES = 20
_FINDING_TYPE = re.compile(r"^[A-Za-z0-9]+:[A-Za-z0-9]+/[A-Za-z0-9.!&_:-]+\Z")

ClientFactory = Callable[[str, str], Any]  # (service, region) -> client

#: Error codes with which AWS refuses the credentials themselves (expired, unknown keys).
_REFUSED_CREDENTIALS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
    }
)


def _credential_errors() -> tuple[type[Exception], ...]:
    """botocore's errors of credentials it cannot find, read or refresh."""
    from botocore import exceptions

    return (
        exceptions.PartialCredentialsError,
        exceptions.CredentialRetrievalError,
        exceptions.ProfileNotFound,
        exceptions.TokenRetrievalError,
        exceptions.SSOError,
        exceptions.NoRegionError,
    )


def _one_line(error: Exception) -> str:
    """An error's message on one line (a credential process may print several)."""
    return " ".join(str(error).split())


@dataclass(frozen=True)
class Plan:
    """What one rehearsal does, derived from the config and the command line."""

    prefix: str
    account_name: str
    account_id: str
    region: str
    home_region: str
    audit_account_id: str
    finding_types: tuple[str, ...]
    timeout_seconds: int = 600

    @property
    def in_audit_account(self) -> bool:
        return self.account_id == self.audit_account_id

    @property
    def rule_name(self) -> str:
        """The home region's rule that pages for these findings: GuardDuty's own for the
        home region; for another region, the one for findings Security Hub aggregates."""
        if self.region == self.home_region:
            return naming.finding_rule(self.prefix, "GuardDuty")
        return naming.finding_rule(self.prefix, "SecurityHubOtherRegions")

    @property
    def topic_name(self) -> str:
        return naming.findings_topic(self.prefix)

    def calls(self) -> list[str]:
        """Every call the rehearsal makes, in order, for ``--dry-run``."""
        lines = [
            f"sts GetCallerIdentity (expect account {self.account_id})",
            f"guardduty ListDetectors in {self.region}",
            f"guardduty CreateSampleFindings in {self.region}: DetectorId=<the detector>, "
            f"FindingTypes={list(self.finding_types)}",
            f"guardduty ListFindings and GetFindings in {self.region}, every 15 s until "
            f"every type is found (at most {self.timeout_seconds} s)",
        ]
        if self.in_audit_account:
            lines += [
                f"securityhub GetFindings in {self.home_region} (the aggregation region): "
                "Id=<each finding's ARN>",
                f"events DescribeRule in {self.home_region}: Name={self.rule_name}",
                f"cloudwatch GetMetricStatistics in {self.home_region}: AWS/Events "
                f"Invocations, RuleName={self.rule_name}",
                f"cloudwatch GetMetricStatistics in {self.home_region}: AWS/SNS "
                f"NumberOfMessagesPublished, TopicName={self.topic_name}",
            ]
        return lines


def plan_for(
    config: LandingZoneConfig,
    *,
    account: str | None,
    region: str | None,
    finding_types: Sequence[str],
    timeout_seconds: int = 600,
) -> Plan:
    """The plan, or a :class:`CommandError` naming every bad input."""
    problems: list[str] = []
    audit = config.account_for(AccountRole.AUDIT)
    if audit.id is None:  # its alerts are where the game day looks
        problems.append(
            f"accounts: the audit account {audit.name!r} has no id yet; a game day runs in "
            "a landing zone that is deployed (fill in the ids the first deploy made)"
        )
    chosen = audit
    if account is not None:
        chosen = created_account(config, account, problems) or audit
    region = governed_region(config, region, problems)
    types = tuple(dict.fromkeys(finding_types)) or DEFAULT_TYPES
    if len(types) > FILTER_VALUES:
        problems.append(
            f"--type: at most {FILTER_VALUES} finding types in one game day, got "
            f"{len(types)} (Security Hub looks findings up {FILTER_VALUES} at a time); run "
            "another for the rest"
        )
    for finding_type in types:
        if not _FINDING_TYPE.match(finding_type):
            problems.append(
                f"--type: {finding_type!r} is not a GuardDuty finding type "
                "(like Backdoor:EC2/C&CActivity.B!DNS)"
            )
    if timeout_seconds < 30:
        problems.append("--timeout: at least 30 seconds (findings take a while to arrive)")
    if problems:
        raise CommandError(problems)
    assert chosen.id is not None and audit.id is not None
    return Plan(
        prefix=config.organization.prefix,
        account_name=chosen.name,
        account_id=chosen.id,
        region=region,
        home_region=config.home_region,
        audit_account_id=audit.id,
        finding_types=types,
        timeout_seconds=timeout_seconds,
    )


@dataclass
class Rehearsal:
    """Runs a plan against AWS through ``client`` (boto3 clients, or stubbed ones)."""

    plan: Plan
    client: ClientFactory
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    poll_seconds: float = 15.0
    steps: list[Step] = field(default_factory=list)

    def run(self) -> Iterator[Step]:
        """Each step as it completes; stops at the first failure."""
        start = self.clock()
        started_at = self.now()
        from botocore import exceptions

        for name, action in self._actions(started_at):
            try:
                passed, detail = action()
            except CommandError:
                raise
            except exceptions.NoCredentialsError:
                raise CommandError(
                    [
                        "no AWS credentials: give the account's profile (AWS_PROFILE) or "
                        "keys through the standard credential chain, or use --dry-run"
                    ]
                ) from None
            except _credential_errors() as error:  # what the person runs it with, not the path
                raise CommandError(
                    [f"cannot use the AWS credentials: {_one_line(error)}"]
                ) from None
            except exceptions.ConnectionError as error:  # no endpoint, proxy or TLS refused it
                raise CommandError(
                    [
                        f"cannot reach AWS: {_one_line(error)} (check the network, the proxy "
                        "and AWS_ENDPOINT_URL)"
                    ]
                ) from None
            except exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") in _REFUSED_CREDENTIALS:
                    raise CommandError(
                        [f"AWS refused the credentials: {_one_line(error)}"]
                    ) from None
                passed, detail = False, f"{type(error).__name__}: {error}"
            except Exception as error:  # an AWS error fails the step, named, not a traceback
                passed, detail = False, f"{type(error).__name__}: {error}"
            step = Step(name, passed, self.clock() - start, detail)
            self.steps.append(step)
            yield step
            if passed is False:
                return

    @property
    def passed(self) -> bool:
        return all(s.passed is not False for s in self.steps)

    # --- the steps -------------------------------------------------------------------

    def _actions(
        self, started_at: datetime
    ) -> list[tuple[str, Callable[[], tuple[bool | None, str]]]]:
        plan = self.plan
        state: dict[str, Any] = {}
        actions: list[tuple[str, Callable[[], tuple[bool | None, str]]]] = [
            ("credentials are for the chosen account", self._identity),
            (
                f"GuardDuty is on in {plan.account_name} ({plan.region})",
                lambda: self._detector(state),
            ),
            ("sample findings created", lambda: self._create(state)),
            ("GuardDuty lists every sample finding", lambda: self._found(state, started_at)),
        ]
        if plan.in_audit_account:
            actions += [
                ("Security Hub imported them", lambda: self._imported(state)),
                (
                    f"the finding rule {plan.rule_name} is enabled",
                    self._rule_enabled,
                ),
                (
                    f"the finding rule {plan.rule_name} ran",
                    lambda: self._metric(
                        "AWS/Events", "Invocations", "RuleName", plan.rule_name, started_at
                    ),
                ),
                (
                    f"the topic {plan.topic_name} published",
                    lambda: self._metric(
                        "AWS/SNS",
                        "NumberOfMessagesPublished",
                        "TopicName",
                        plan.topic_name,
                        started_at,
                    ),
                ),
            ]
        else:
            actions.append(
                (
                    "the audit account's Security Hub, rule and topic",
                    lambda: (
                        None,
                        "run the game day with audit-account credentials to follow them, "
                        "or check its Security Hub and e-mail by hand",
                    ),
                )
            )
        return actions

    def _identity(self) -> tuple[bool, str]:
        account = self.client("sts", self.plan.region).get_caller_identity()["Account"]
        if account != self.plan.account_id:
            raise CommandError(
                [
                    f"the credentials are for account {account}, the game day is for "
                    f"{self.plan.account_name} ({self.plan.account_id}): use its profile"
                ]
            )
        return True, account

    def _detector(self, state: dict[str, Any]) -> tuple[bool, str]:
        detectors = self.client("guardduty", self.plan.region).list_detectors()["DetectorIds"]
        if not detectors:
            return False, "no detector: GuardDuty is off here (docs/detection.md)"
        state["detector"] = detectors[0]
        return True, detectors[0]

    def _create(self, state: dict[str, Any]) -> tuple[bool, str]:
        self.client("guardduty", self.plan.region).create_sample_findings(
            DetectorId=state["detector"], FindingTypes=list(self.plan.finding_types)
        )
        return True, ", ".join(self.plan.finding_types)

    def _until(self, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        """``check`` every poll interval until it passes or the plan's timeout ends."""
        deadline = self.clock() + self.plan.timeout_seconds
        while True:
            passed, detail = check()
            if passed or self.clock() >= deadline:
                return passed, detail
            self.sleep(self.poll_seconds)

    def _found(self, state: dict[str, Any], started_at: datetime) -> tuple[bool, str]:
        guardduty = self.client("guardduty", self.plan.region)
        wanted = set(self.plan.finding_types)
        since = int((started_at - timedelta(minutes=1)).timestamp() * 1000)

        def check() -> tuple[bool, str]:
            ids = guardduty.list_findings(
                DetectorId=state["detector"],
                FindingCriteria={
                    "Criterion": {
                        "service.additionalInfo.sample": {"Eq": ["true"]},
                        "type": {"Eq": sorted(wanted)},
                        "updatedAt": {"GreaterThanOrEqual": since},
                    }
                },
            )["FindingIds"]
            findings = (
                guardduty.get_findings(DetectorId=state["detector"], FindingIds=ids)["Findings"]
                if ids
                else []
            )
            state["arns"] = sorted(f["Arn"] for f in findings)
            missing = wanted - {f["Type"] for f in findings}
            return (not missing), (
                f"{len(findings)} found" if not missing else f"missing {', '.join(sorted(missing))}"
            )

        return self._until(check)

    def _imported(self, state: dict[str, Any]) -> tuple[bool, str]:
        hub = self.client("securityhub", self.plan.home_region)  # findings aggregate there
        arns = state.get("arns", [])

        def check() -> tuple[bool, str]:
            found = 0
            for start in range(0, len(arns), FILTER_VALUES):  # Security Hub takes 20 a field
                chunk = arns[start : start + FILTER_VALUES]
                found += len(
                    hub.get_findings(
                        Filters={"Id": [{"Value": arn, "Comparison": "EQUALS"} for arn in chunk]},
                        MaxResults=100,
                    )["Findings"]
                )
            return found >= len(arns), f"{found} of {len(arns)}"

        return self._until(check)

    def _rule_enabled(self) -> tuple[bool, str]:
        rule = self.client("events", self.plan.home_region).describe_rule(Name=self.plan.rule_name)
        return rule["State"] == "ENABLED", rule["State"]

    def _metric(
        self, namespace: str, metric: str, dimension: str, value: str, started_at: datetime
    ) -> tuple[bool, str]:
        cloudwatch = self.client("cloudwatch", self.plan.home_region)

        def check() -> tuple[bool, str]:
            points = cloudwatch.get_metric_statistics(
                Namespace=namespace,
                MetricName=metric,
                Dimensions=[{"Name": dimension, "Value": value}],
                StartTime=started_at - timedelta(minutes=1),
                EndTime=self.now() + timedelta(minutes=1),
                Period=60,
                Statistics=["Sum"],
            )["Datapoints"]
            total = sum(p["Sum"] for p in points)
            return total > 0, f"{metric} {total:g} since the start"

        return self._until(check)


def boto3_clients() -> ClientFactory:
    """boto3 clients from the standard credential chain, standard retry mode; a
    :class:`CommandError` when the chain's settings cannot be used (``AWS_PROFILE``
    naming no profile, a broken config file)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session()
    except BotoCoreError as error:
        raise CommandError([f"cannot use the AWS credentials: {_one_line(error)}"]) from None
    config = Config(retries={"mode": "standard", "max_attempts": 10})

    def client(service: str, region: str) -> Any:
        try:
            return session.client(service, region_name=region, config=config)
        except ValueError as error:  # an AWS_ENDPOINT_URL botocore cannot make a URL of
            raise CommandError([f"cannot use the AWS settings: {error}"]) from None

    return client
