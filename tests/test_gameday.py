"""The game day against botocore's Stubber (every request and response validated)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from baseline.__main__ import main
from baseline.config import LandingZoneConfig, parse_config
from baseline.gameday import DEFAULT_TYPES, ClientFactory, Rehearsal, plan_for
from baseline.operations import CommandError
from tests.conftest import before_the_first_deploy

AUDIT = "423456789012"
DETECTOR = "12abc34d567e8fa901bc2d34eexample"
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clients:
    """One stubbed client per service, created as the rehearsal asks for it."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}

    def __call__(self, service: str, region: str) -> Any:
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            client = boto3.client(
                service,
                region_name="eu-west-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            self.clients[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()
        return self.stubs[service]

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def _finding(finding_type: str, number: int) -> dict[str, Any]:
    return {
        "AccountId": AUDIT,
        "Arn": f"arn:aws:guardduty:eu-west-1:{AUDIT}:detector/{DETECTOR}/finding/f{number}",
        "CreatedAt": "2026-12-01T12:00:05.000Z",
        "Id": f"f{number}",
        "Region": "eu-west-1",
        "Resource": {"ResourceType": "Instance"},
        "SchemaVersion": "2.0",
        "Severity": 8.0,
        "Type": finding_type,
        "UpdatedAt": "2026-12-01T12:00:05.000Z",
    }


def _imported(number: int) -> dict[str, Any]:
    """The finding as Security Hub holds it (AWS Security Finding Format)."""
    return {
        "SchemaVersion": "2018-10-08",
        "Id": _finding("x", number)["Arn"],
        "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
        "GeneratorId": f"arn:aws:guardduty:eu-west-1:{AUDIT}:detector/{DETECTOR}",
        "AwsAccountId": AUDIT,
        "CreatedAt": "2026-12-01T12:00:05.000Z",
        "UpdatedAt": "2026-12-01T12:00:05.000Z",
        "Title": "Sample finding",
        "Description": "A sample finding of the game day",
        "Resources": [{"Type": "AwsEc2Instance", "Id": "i-0123456789abcdef0"}],
    }


def _rehearsal(plan: Any, clients: ClientFactory) -> Rehearsal:
    ticks = iter(range(0, 10_000, 5))
    return Rehearsal(
        plan,
        clients,
        sleep=lambda seconds: None,
        clock=lambda: float(next(ticks)),
        now=lambda: START,
    )


def _until_findings(clients: Clients, *, account: str = AUDIT) -> None:
    clients.stub("sts").add_response(
        "get_caller_identity", {"Account": account, "Arn": "arn:aws:iam::1:role/x", "UserId": "x"}
    )
    guardduty = clients.stub("guardduty")
    guardduty.add_response("list_detectors", {"DetectorIds": [DETECTOR]}, {})
    guardduty.add_response(
        "create_sample_findings",
        {},
        {"DetectorId": DETECTOR, "FindingTypes": list(DEFAULT_TYPES)},
    )
    # the first look finds one type, the second both: the step waits for every type
    guardduty.add_response(
        "list_findings", {"FindingIds": ["f1"]}, {"DetectorId": DETECTOR, "FindingCriteria": ANY}
    )
    guardduty.add_response(
        "get_findings",
        {"Findings": [_finding(DEFAULT_TYPES[0], 1)]},
        {"DetectorId": DETECTOR, "FindingIds": ["f1"]},
    )
    guardduty.add_response(
        "list_findings",
        {"FindingIds": ["f1", "f2"]},
        {"DetectorId": DETECTOR, "FindingCriteria": ANY},
    )
    guardduty.add_response(
        "get_findings",
        {"Findings": [_finding(DEFAULT_TYPES[0], 1), _finding(DEFAULT_TYPES[1], 2)]},
        {"DetectorId": DETECTOR, "FindingIds": ["f1", "f2"]},
    )


def _metric(clients: Clients, namespace: str, total: float) -> None:
    clients.stub("cloudwatch").add_response(
        "get_metric_statistics",
        {"Label": "x", "Datapoints": [{"Sum": total, "Timestamp": START}] if total else []},
        {
            "Namespace": namespace,
            "MetricName": ANY,
            "Dimensions": ANY,
            "StartTime": ANY,
            "EndTime": ANY,
            "Period": 60,
            "Statistics": ["Sum"],
        },
    )


def test_the_whole_alert_path_passes_in_the_audit_account(
    example_config: LandingZoneConfig,
) -> None:
    plan = plan_for(example_config, account=None, region=None, finding_types=())
    clients = Clients()
    _until_findings(clients)
    clients.stub("securityhub").add_response(
        "get_findings", {"Findings": []}, {"Filters": ANY, "MaxResults": 100}
    )  # not imported yet: the step waits
    clients.stub("securityhub").add_response(
        "get_findings",
        {"Findings": [_imported(1), _imported(2)]},
        {"Filters": ANY, "MaxResults": 100},
    )
    clients.stub("events").add_response(
        "describe_rule",
        {"Name": "nwl-guardduty-findings", "State": "ENABLED"},
        {"Name": "nwl-guardduty-findings"},
    )
    _metric(clients, "AWS/Events", 2)
    _metric(clients, "AWS/SNS", 2)
    rehearsal = _rehearsal(plan, clients)
    steps = list(rehearsal.run())
    assert [s.passed for s in steps] == [True] * 8, [s.line() for s in steps]
    assert rehearsal.passed
    assert steps[3].detail == "2 found"
    clients.done()


def test_a_missing_detector_fails_and_stops_there(example_config: LandingZoneConfig) -> None:
    plan = plan_for(example_config, account=None, region="us-east-1", finding_types=())
    clients = Clients()
    clients.stub("sts").add_response(
        "get_caller_identity", {"Account": AUDIT, "Arn": "arn:aws:iam::1:role/x", "UserId": "x"}
    )
    clients.stub("guardduty").add_response("list_detectors", {"DetectorIds": []}, {})
    rehearsal = _rehearsal(plan, clients)
    steps = list(rehearsal.run())
    assert [s.passed for s in steps] == [True, False]
    assert "GuardDuty is off here" in steps[1].detail
    assert not rehearsal.passed
    clients.done()


def test_findings_that_never_arrive_fail_at_the_timeout(
    example_config: LandingZoneConfig,
) -> None:
    plan = plan_for(example_config, account=None, region=None, finding_types=(), timeout_seconds=30)
    clients = Clients()
    clients.stub("sts").add_response(
        "get_caller_identity", {"Account": AUDIT, "Arn": "arn:aws:iam::1:role/x", "UserId": "x"}
    )
    guardduty = clients.stub("guardduty")
    guardduty.add_response("list_detectors", {"DetectorIds": [DETECTOR]}, {})
    guardduty.add_response(
        "create_sample_findings", {}, {"DetectorId": DETECTOR, "FindingTypes": ANY}
    )
    for _ in range(6):  # the clock moves 5 s a reading: six looks fill the 30 s
        guardduty.add_response(
            "list_findings", {"FindingIds": []}, {"DetectorId": DETECTOR, "FindingCriteria": ANY}
        )
    steps = list(_rehearsal(plan, clients).run())
    assert steps[-1].passed is False and steps[-1].detail.startswith("missing ")
    clients.done()


def test_another_account_leaves_the_audit_steps_to_a_person(
    example_config: LandingZoneConfig,
) -> None:
    plan = plan_for(example_config, account="orders-prod", region=None, finding_types=())
    clients = Clients()
    _until_findings(clients, account="756789012345")
    steps = list(_rehearsal(plan, clients).run())
    assert [s.passed for s in steps] == [True, True, True, True, None]
    assert "audit-account credentials" in steps[-1].detail
    clients.done()


def test_fails_when_the_credentials_are_for_another_account(
    example_config: LandingZoneConfig,
) -> None:
    plan = plan_for(example_config, account=None, region=None, finding_types=())
    clients = Clients()
    clients.stub("sts").add_response(
        "get_caller_identity",
        {"Account": "756789012345", "Arn": "arn:aws:iam::1:role/x", "UserId": "x"},
    )
    with pytest.raises(CommandError, match="credentials are for account 756789012345"):
        list(_rehearsal(plan, clients).run())


def test_fails_on_bad_input_with_one_line_each(example_config: LandingZoneConfig) -> None:
    with pytest.raises(CommandError) as caught:
        plan_for(example_config, account="audti", region="xx-west-9", finding_types=["nope"])
    assert caught.value.problems == [
        "--account: 'audti' is not an account of the config (did you mean audit?)",
        "--region: 'xx-west-9' is not a governed region (eu-west-1, eu-central-1, us-east-1)",
        "--type: 'nope' is not a GuardDuty finding type (like Backdoor:EC2/C&CActivity.B!DNS)",
    ]


def test_security_hub_is_asked_for_twenty_findings_at_a_time(
    example_config: LandingZoneConfig,
) -> None:
    """GetFindings takes 20 values for one filter field: more fail the call."""
    clients = Clients()
    hub = clients.stub("securityhub")
    arns = [_finding("x", number)["Arn"] for number in range(21)]
    for chunk in (arns[:20], arns[20:]):
        hub.add_response(
            "get_findings",
            {"Findings": [_imported(int(arn.rsplit("/f", 1)[1])) for arn in chunk]},
            {
                "Filters": {"Id": [{"Value": arn, "Comparison": "EQUALS"} for arn in chunk]},
                "MaxResults": 100,
            },
        )
    plan = plan_for(example_config, account=None, region=None, finding_types=())
    assert _rehearsal(plan, clients)._imported({"arns": arns}) == (True, "21 of 21")
    clients.done()


def test_fails_more_finding_types_than_one_game_day_looks_up(
    example_config: LandingZoneConfig,
) -> None:
    types = [f"Backdoor:EC2/Sample{number}" for number in range(21)]
    with pytest.raises(CommandError) as caught:
        plan_for(example_config, account=None, region=None, finding_types=types)
    assert caught.value.problems == [
        "--type: at most 20 finding types in one game day, got 21 (Security Hub looks "
        "findings up 20 at a time); run another for the rest"
    ]
    repeated = plan_for(example_config, account=None, region=None, finding_types=[types[0]] * 30)
    assert repeated.finding_types == (types[0],)


def test_fails_before_the_audit_account_exists(config_data: dict[str, Any]) -> None:
    """A greenfield config before its first deploy: no account has an id to rehearse in."""
    before_the_first_deploy(config_data)
    with pytest.raises(CommandError) as caught:
        plan_for(parse_config(config_data), account=None, region=None, finding_types=[])
    assert caught.value.problems == [
        "accounts: the audit account 'audit' has no id yet; a game day runs in a landing "
        "zone that is deployed (fill in the ids the first deploy made)"
    ]


def test_the_dry_run_needs_no_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setattr("boto3.client", lambda *a, **k: pytest.fail("no client on a dry run"))
    assert main(["gameday", "--dry-run", "--account", "orders-prod"]) == 0
    out = capsys.readouterr().out
    assert "would call guardduty CreateSampleFindings in eu-west-1" in out
    assert "securityhub" not in out  # the audit steps need the audit account


def test_the_command_exits_2_on_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gameday", "--dry-run", "--region", "mars-1"]) == 2
    assert capsys.readouterr().err.startswith("--region: 'mars-1' is not a governed region")


def test_another_region_follows_the_rule_for_aggregated_findings(
    example_config: LandingZoneConfig,
) -> None:
    """Findings of other regions page through Security Hub's aggregation in the home
    region, so that is where the rehearsal looks."""
    plan = plan_for(example_config, account=None, region="eu-central-1", finding_types=())
    assert plan.rule_name == "nwl-securityhubotherregions-findings"
    calls = "\n".join(plan.calls())
    assert "securityhub GetFindings in eu-west-1 (the aggregation region)" in calls
    assert "events DescribeRule in eu-west-1: Name=nwl-securityhubotherregions-findings" in calls
    home = plan_for(example_config, account=None, region=None, finding_types=())
    assert home.rule_name == "nwl-guardduty-findings"


# --- credentials and endpoints the rehearsal cannot use: exit 2, not a FAIL of the path --


@pytest.fixture
def aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS settings from the environment: only a config file the test writes."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    config = tmp_path / "config"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return config


def test_a_profile_that_does_not_exist_is_one_line(
    aws_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nope")
    assert main(["gameday"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "cannot use the AWS credentials: The config profile (nope) could not be found"
    ]
    assert "FAIL" not in captured.out


def test_credentials_that_cannot_be_retrieved_are_not_a_failed_step(
    aws_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A credential process that fails (an expired SSO login, a broken helper) is a
    problem of what the person runs the game day with: exit 2, no FAIL."""
    aws_config.write_text(
        "[profile broken]\nregion = eu-west-1\n"
        f'credential_process = {sys.executable} -c "import sys; sys.exit(1)"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_PROFILE", "broken")
    assert main(["gameday"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "cannot use the AWS credentials: Error when retrieving credentials from custom-process:"
    ]
    assert "FAIL" not in captured.out and "failed" not in captured.out


def test_an_endpoint_that_cannot_be_reached_is_not_a_failed_step(
    example_config: LandingZoneConfig,
) -> None:
    """Nothing listens on the discard port: botocore cannot connect, and the rehearsal
    says so instead of failing the path's first step."""
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2)

    def unreachable(service: str, region: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )

    plan = plan_for(example_config, account=None, region=None, finding_types=())
    rehearsal = _rehearsal(plan, unreachable)
    with pytest.raises(CommandError) as caught:
        list(rehearsal.run())
    (problem,) = caught.value.problems
    assert problem.startswith('cannot reach AWS: Could not connect to the endpoint URL: "http://')
    assert rehearsal.steps == []


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId"])
def test_credentials_aws_refuses_are_not_a_failed_step(
    code: str, example_config: LandingZoneConfig
) -> None:
    plan = plan_for(example_config, account=None, region=None, finding_types=())
    clients = Clients()
    clients.stub("sts").add_client_error(
        "get_caller_identity", service_error_code=code, http_status_code=403
    )
    rehearsal = _rehearsal(plan, clients)
    with pytest.raises(CommandError, match=f"AWS refused the credentials: .*\\({code}\\)"):
        list(rehearsal.run())
    assert rehearsal.steps == []
    clients.done()


def test_an_endpoint_botocore_cannot_use_is_one_line(
    aws_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "notaurl")
    assert main(["gameday"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["cannot use the AWS settings: Invalid endpoint: notaurl"]
    assert "FAIL" not in captured.out
