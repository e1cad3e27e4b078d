"""The organisation trail, its log group, the CIS alarms and the security topic."""

from __future__ import annotations

from typing import Any

import pytest

from baseline import naming
from baseline.constructs.security_alarms import CIS_ALARMS
from baseline.controls import RETAINED
from tests.conftest import Synthesized

MANAGEMENT = "210987654321"
LOG_ACCOUNT = "312345678901"


def _of_type(synthesized: Synthesized, resource_type: str) -> list[dict[str, Any]]:
    return [
        r
        for r in synthesized.templates["Trail"]["Resources"].values()
        if r["Type"] == resource_type
    ]


def test_trail_records_the_whole_organisation_tamper_evidently(synthesized: Synthesized) -> None:
    (trail,) = _of_type(synthesized, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["TrailName"] == naming.organization_trail("nwl")
    assert props["IsOrganizationTrail"] is True
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IsLogging"] is True
    assert props["S3BucketName"] == naming.log_bucket("nwl", LOG_ACCOUNT, "eu-west-1")
    assert props["KMSKeyId"] == naming.log_key_alias_arn("nwl", LOG_ACCOUNT, "eu-west-1")
    assert "CloudWatchLogsLogGroupArn" in props and "CloudWatchLogsRoleArn" in props
    names = [s["Name"] for s in props["AdvancedEventSelectors"]]
    assert names == ["Management events", "S3 object write events", "Log bucket evidence changes"]
    assert synthesized.landing_zone.trail is not None
    assert synthesized.landing_zone.log_archive in synthesized.landing_zone.trail.dependencies


def test_only_the_log_archives_own_buckets_go_unrecorded(synthesized: Synthesized) -> None:
    """Their deliveries would be logged again, and again; a bucket of the same prefix made
    in another account (nwl-logs-exfil) is a workload's, and its writes are recorded."""
    from tests.constructs.test_organization_trail import _recorded

    (trail,) = _of_type(synthesized, "AWS::CloudTrail::Trail")
    selectors = trail["Properties"]["AdvancedEventSelectors"]
    buckets = [
        r["Properties"]["BucketName"]
        for name in ("LogArchive", "LogArchiveReplica")
        for r in synthesized.templates[name]["Resources"].values()
        if r["Type"] == "AWS::S3::Bucket"
    ]
    assert len(buckets) >= 4

    def write(bucket: str) -> dict[str, str]:
        return {
            "eventCategory": "Data",
            "resources.type": "AWS::S3::Object",
            "readOnly": "false",
            "eventName": "PutObject",
            "resources.ARN": f"arn:aws:s3:::{bucket}/x",
        }

    assert not any(_recorded(selectors, write(b)) for b in buckets)
    # an S3 ARN names no account: a bucket named to begin like the log archive's, the
    # account id included, is another account's, and recorded
    for lookalike in (
        "nwl-logs-exfil",
        "nwl-config-123456789012-eu-west-1",
        "nwl-s3-access-x",
        f"nwl-logs-{LOG_ACCOUNT}-stash",
        f"nwl-logs-{LOG_ACCOUNT}-eu-west-1-copy",
        f"nwl-s3-access-{LOG_ACCOUNT}-drop",
        f"nwl-config-{LOG_ACCOUNT}-exfil",
    ):
        assert _recorded(selectors, write(lookalike)), lookalike


def test_the_trail_and_its_delivery_outlive_the_stack(synthesized: Synthesized) -> None:
    """No SCP reaches the management account: a deleted Trail stack must not stop the
    organisation's recording, nor its delivery to the alarms' log group."""
    kept = [
        r
        for kind in ("AWS::CloudTrail::Trail", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy")
        for r in _of_type(synthesized, kind)
    ]
    assert len(kept) == 3
    for resource in kept:
        assert resource["DeletionPolicy"] in RETAINED, resource["Type"]
        assert resource["UpdateReplacePolicy"] == "Retain", resource["Type"]


def test_trail_arn_matches_what_the_log_archive_allows(synthesized: Synthesized) -> None:
    assert synthesized.landing_zone.trail is not None
    assert synthesized.landing_zone.trail.trail.trail_arn == naming.organization_trail_arn(
        "nwl", MANAGEMENT, "eu-west-1"
    )


def test_log_group_is_encrypted_retained_and_kept_a_year(synthesized: Synthesized) -> None:
    groups = [
        g
        for g in _of_type(synthesized, "AWS::Logs::LogGroup")
        if g["Properties"]["LogGroupName"] == "/nwl/organization-trail"
    ]
    (group,) = groups
    assert group["Properties"]["RetentionInDays"] == 365
    assert "KmsKeyId" in group["Properties"]
    assert group["DeletionPolicy"] in RETAINED


def test_delivery_role_trusts_cloudtrail_of_this_account_only(synthesized: Synthesized) -> None:
    roles = list(_of_type(synthesized, "AWS::IAM::Role"))
    (role,) = roles
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": MANAGEMENT}}


def test_one_alarm_per_cis_control_break_glass_and_the_responders_policies(
    synthesized: Synthesized,
) -> None:
    filters = _of_type(synthesized, "AWS::Logs::MetricFilter")
    alarms = _of_type(synthesized, "AWS::CloudWatch::Alarm")
    assert len(filters) == len(alarms) == len(CIS_ALARMS) + 5
    patterns = {f["Properties"]["FilterPattern"] for f in filters}
    assert {a.pattern for a in CIS_ALARMS} <= patterns
    assert {a["Properties"]["AlarmName"] for a in alarms} >= {
        "nwl-break-glass-use",
        "nwl-responder-inline-policy",
        "nwl-responder-interface-change",
        "nwl-trail-recording-changes",
        "nwl-alarm-tampering",
    }
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmName"].startswith("nwl-")  # protected by SCP-SECURITY-SERVICES
        assert props["Statistic"] == "Sum" and props["Period"] == 300
        assert props["Threshold"] == 1 and props["EvaluationPeriods"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        assert len(props["AlarmActions"]) == 1
    assert any("break-glass" in a["Properties"]["AlarmName"] for a in alarms)


def _record(event_source: str, event_name: str, account: str) -> dict[str, Any]:
    return {
        "eventSource": event_source,
        "eventName": event_name,
        "recipientAccountId": account,
    }


@pytest.mark.parametrize(
    ("record", "alarm"),
    [
        (_record("cloudtrail.amazonaws.com", "PutEventSelectors", MANAGEMENT), "trail-recording"),
        (
            _record("cloudtrail.amazonaws.com", "PutInsightSelectors", LOG_ACCOUNT),
            "trail-recording",
        ),
        (_record("logs.amazonaws.com", "PutMetricFilter", MANAGEMENT), "alarm-tampering"),
        (_record("logs.amazonaws.com", "DeleteLogGroup", MANAGEMENT), "alarm-tampering"),
        (_record("monitoring.amazonaws.com", "DisableAlarmActions", MANAGEMENT), "alarm-tampering"),
        (_record("sns.amazonaws.com", "Unsubscribe", MANAGEMENT), "alarm-tampering"),
    ],
)
def test_narrowing_the_trail_or_silencing_the_alarms_pages(
    record: dict[str, Any], alarm: str, synthesized: Synthesized
) -> None:
    """No guardrail reaches the management account that holds the trail and the alarms:
    what would narrow the one or silence the other pages, run against the filters as
    deployed."""
    from baseline.controls.log_patterns import event, matches

    fired = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]
        for f in _of_type(synthesized, "AWS::Logs::MetricFilter")
        if matches(f["Properties"]["FilterPattern"], event(record))
    }
    assert {"TrailRecordingChanges" if alarm == "trail-recording" else "AlarmTampering"} <= fired


def test_the_alarms_account_alone_is_watched_for_tampering(synthesized: Synthesized) -> None:
    """A workload team's own alarms and log groups, in its account, page nobody."""
    from baseline.controls.log_patterns import event, matches

    record = event(_record("monitoring.amazonaws.com", "DeleteAlarms", LOG_ACCOUNT))
    assert not [
        f
        for f in _of_type(synthesized, "AWS::Logs::MetricFilter")
        if matches(f["Properties"]["FilterPattern"], record)
    ]


def test_security_topic_is_encrypted_and_subscribed(synthesized: Synthesized) -> None:
    (topic,) = _of_type(synthesized, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    (subscription,) = _of_type(synthesized, "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "security-alerts@northwind.example.com"
    assert "RedrivePolicy" in subscription["Properties"]
    (policy,) = _of_type(synthesized, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    publishers = [s for s in statements if s["Effect"] == "Allow"]
    assert [p["Principal"] for p in publishers] == [{"Service": "cloudwatch.amazonaws.com"}]
    assert publishers[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": MANAGEMENT}}
    assert any(
        s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in statements
    )
