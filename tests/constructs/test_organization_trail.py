"""OrganizationTrail: every account and region, validated, encrypted, delivered by a narrow role."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs import OrganizationTrail
from baseline.constructs.organization_trail import EVIDENCE_CHANGES, event_selectors
from tests.constructs.helpers import nag_violations, new_stack

ORG = "o-abcdefghij"
GROUP = "arn:aws:logs:eu-west-1:111122223333:log-group:/acme/organization-trail"
TRAIL: dict[str, Any] = {
    "trail_name": "acme-organization-trail",
    "organization_id": ORG,
    "bucket_name": "acme-logs-222233334444-eu-west-1",
    "kms_key_arn": "arn:aws:kms:eu-west-1:222233334444:alias/acme/logs",
    "log_group_name": "/acme/organization-trail",
    "key_alias": "alias/acme/organization-trail",
}


@pytest.fixture(scope="module")
def default() -> tuple[cdk.App, assertions.Template]:
    app, stack = new_stack()
    OrganizationTrail(stack, "Trail", **TRAIL, excluded_buckets=["acme-logs-"])
    return app, assertions.Template.from_stack(stack)


def test_records_every_account_and_region_tamper_evident_and_encrypted(default: Any) -> None:
    _, template = default
    (trail,) = template.find_resources("AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    assert props["TrailName"] == "acme-organization-trail"
    assert props["IsLogging"] is True
    assert props["IsOrganizationTrail"] is True
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["S3BucketName"] == "acme-logs-222233334444-eu-west-1"
    assert props["KMSKeyId"] == "arn:aws:kms:eu-west-1:222233334444:alias/acme/logs"


def test_records_management_events_and_s3_writes_outside_the_log_buckets(default: Any) -> None:
    _, template = default
    (trail,) = template.find_resources("AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["AdvancedEventSelectors"] == [
        {
            "Name": "Management events",
            "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
        },
        {
            "Name": "S3 object write events",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "readOnly", "Equals": ["false"]},
                {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::acme-logs-"]},
            ],
        },
        {
            "Name": "Log bucket evidence changes",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "eventName", "Equals": list(EVIDENCE_CHANGES)},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::acme-logs-"]},
            ],
        },
    ]


def _recorded(selectors: list[dict[str, Any]], event: dict[str, str]) -> bool:
    """Whether CloudTrail's advanced selectors record a data event (the operators used)."""
    tests = {
        "Equals": lambda value, given: value in given,
        "StartsWith": lambda value, given: any(value.startswith(g) for g in given),
        "NotStartsWith": lambda value, given: not any(value.startswith(g) for g in given),
    }
    return any(
        all(
            tests[operator](event[f["Field"]], f[operator])
            for f in s["FieldSelectors"]
            for operator in tests
            if operator in f
        )
        for s in selectors
    )


@pytest.mark.parametrize(
    ("name", "bucket", "recorded"),
    [
        ("DeleteObject", "acme-logs-222233334444-eu-west-1", True),
        ("PutObjectRetention", "acme-logs-222233334444-eu-west-1", True),
        ("PutObjectLegalHold", "acme-logs-222233334444-eu-west-1", True),
        ("PutObject", "acme-logs-222233334444-eu-west-1", False),  # every delivery: a loop
        ("GetObject", "acme-logs-222233334444-eu-west-1", False),  # a log reader: a loop
        ("PutObject", "orders-data", True),
        ("DeleteObject", "orders-data", True),
    ],
)
@pytest.mark.parametrize("s3_data_events", ["write", "none"])
def test_a_log_bucket_records_what_removes_evidence_and_not_its_deliveries(
    name: str, bucket: str, recorded: bool, s3_data_events: str
) -> None:
    """With no S3 data events asked for, the log buckets' evidence changes still are."""
    selectors = event_selectors(
        s3_data_events=s3_data_events, lambda_data_events=False, excluded_buckets=["acme-logs-"]
    )
    if s3_data_events == "none" and not bucket.startswith("acme-logs-"):
        recorded = False  # a workload's objects: no data events at all
    event = {
        "eventCategory": "Data",
        "resources.type": "AWS::S3::Object",
        "readOnly": "true" if name.startswith("Get") else "false",
        "eventName": name,
        "resources.ARN": f"arn:aws:s3:::{bucket}/AWSLogs/o-abc/x.json.gz",
    }
    assert _recorded(selectors, event) is recorded


def test_delivers_to_an_encrypted_kept_log_group(default: Any) -> None:
    _, template = default
    (trail,) = template.find_resources("AWS::CloudTrail::Trail").values()
    ((group_id, group),) = template.find_resources("AWS::Logs::LogGroup").items()
    ((key_id, key),) = template.find_resources("AWS::KMS::Key").items()
    assert trail["Properties"]["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    assert group["Properties"] == {
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "LogGroupName": "/acme/organization-trail",
        "RetentionInDays": 365,
    }
    assert group["UpdateReplacePolicy"] == "Retain"
    (logs,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"}
    ]
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": GROUP}}


def test_the_delivery_role_is_cloudtrails_of_this_account_and_writes_trail_streams_only(
    default: Any,
) -> None:
    _, template = default
    (trail,) = template.find_resources("AWS::CloudTrail::Trail").values()
    ((role_id, role),) = template.find_resources("AWS::IAM::Role").items()
    assert trail["Properties"]["CloudWatchLogsRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    assert "Policies" not in role["Properties"]
    ((policy_id, policy),) = template.find_resources("AWS::IAM::ManagedPolicy").items()
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": [
                f"{GROUP}:log-stream:111122223333_CloudTrail_eu-west-1*",
                f"{GROUP}:log-stream:{ORG}_*",
            ],
        }
    ]
    assert policy_id in trail["DependsOn"]  # the trail starts only once it may deliver


def test_passes_every_nag_pack(default: Any) -> None:
    app, _ = default
    assert nag_violations(app) == []


def test_records_every_s3_object_event_and_lambda_invocations_when_asked() -> None:
    _, stack = new_stack()
    OrganizationTrail(stack, "Trail", **TRAIL, s3_data_events="all", lambda_data_events=True)
    template = assertions.Template.from_stack(stack)
    (trail,) = template.find_resources("AWS::CloudTrail::Trail").values()
    selectors = {s["Name"]: s for s in trail["Properties"]["AdvancedEventSelectors"]}
    assert sorted(selectors) == ["Lambda invocations", "Management events", "S3 object all events"]
    assert "readOnly" not in str(selectors["S3 object all events"])
    assert selectors["Lambda invocations"]["FieldSelectors"] == [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]},
    ]


def test_event_selectors_record_s3_writes_by_default() -> None:
    selectors = event_selectors(s3_data_events="write", lambda_data_events=False)
    assert selectors[0] == {
        "Name": "Management events",
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
    }
    fields = {f["Field"]: f["Equals"] for f in selectors[1]["FieldSelectors"]}
    assert fields == {
        "eventCategory": ["Data"],
        "resources.type": ["AWS::S3::Object"],
        "readOnly": ["false"],
    }
    assert event_selectors(s3_data_events="none", lambda_data_events=False) == [selectors[0]]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"s3_data_events": "some"}, ValueError, "s3_data_events must be one of"),
        ({"key_alias": "acme/trail"}, ValueError, "KMS alias 'acme/trail' breaks the alias rules"),
        (
            {"log_group_name": cdk.Aws.STACK_NAME},
            ValueError,
            "log_group_name must be known at synth",
        ),
    ],
)
def test_fails_bad_arguments(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(error, match=message):
        OrganizationTrail(stack, "Trail", **{**TRAIL, **kwargs})
