"""Logging controls (baseline/controls/logs.py): each fails once its property is removed."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.controls import resources
from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    control,
    first,
    is_log_bucket,
    weakened,
)


def _is_source_log_bucket(resource: dict[str, Any]) -> bool:
    return is_log_bucket(resource) and "ReplicationConfiguration" in resource["Properties"]


def _unpin_config_writer(templates: MutableTemplates) -> None:
    """AWS Config may write the Config bucket from any organisation."""
    for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "ConfigWrite":
                statement["Condition"]["StringEquals"].pop("aws:SourceOrgID")


WEAKENINGS: dict[str, Weakening] = {
    "LZ-LOG-01": lambda t: first(t, "AWS::S3::Bucket", is_log_bucket)["Properties"].pop(
        "LoggingConfiguration"
    ),
    "LZ-LOG-02": lambda t: first(t, "AWS::S3::Bucket", is_log_bucket)["Properties"].pop(
        "ObjectLockConfiguration"
    ),
    "LZ-LOG-03": lambda t: first(t, "AWS::S3::Bucket", _is_source_log_bucket)["Properties"][
        "ReplicationConfiguration"
    ]["Rules"][0].update(Status="Disabled"),
    "LZ-LOG-04": _unpin_config_writer,
    "LZ-TRAIL-01": lambda t: first(t, "AWS::CloudTrail::Trail")["Properties"].update(
        EnableLogFileValidation=False
    ),
    "LZ-ALARM-01": lambda t: first(
        t, "AWS::CloudWatch::Alarm", lambda a: "root" in a["Properties"]["AlarmName"]
    )["Properties"].pop("AlarmActions"),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_when_a_log_writer_may_set_its_own_acl(synthesized: Synthesized) -> None:
    def drop_owner_acl(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if "s3:x-amz-acl" in statement.get("Condition", {}).get("StringEquals", {}):
                    statement["Condition"]["StringEquals"].pop("s3:x-amz-acl")

    assert_weakening_breaks("LZ-LOG-04", drop_owner_acl, synthesized)


def _writer_condition(sid: str, condition: dict[str, Any]) -> Weakening:
    """A weakening: the conditions of a log writer's statement replaced, its ACL kept."""

    def edit(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == sid:
                    acl = {"s3:x-amz-acl": "bucket-owner-full-control"}
                    statement["Condition"] = {
                        **condition,
                        "StringEquals": {**condition.get("StringEquals", {}), **acl},
                    }

    return edit


@pytest.mark.parametrize(
    ("sid", "condition"),
    [
        ("ConfigWrite", {"StringNotEquals": {"aws:SourceOrgID": "o-nw7k2m9q4x"}}),
        ("ConfigWrite", {"StringEqualsIfExists": {"aws:SourceOrgID": "o-nw7k2m9q4x"}}),
        ("ConfigWrite", {"StringLike": {"aws:SourceOrgID": "o-*"}}),
        ("NetworkHubLogsWrite", {"StringLike": {"aws:SourceAccount": "*"}}),
        ("NetworkHubLogsWrite", {"StringEquals": {"aws:SourceAccount": ["534567890123", "*"]}}),
        ("CloudTrailWrite", {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:*:trail/*"}}),
        ("CloudTrailWrite", {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:210987654321:*"}}),
        ("CloudTrailWrite", {"ArnLike": {"aws:SourceArn": {"Fn::Join": ["", ["arn:", "*"]]}}}),
        ("CloudTrailWrite", {"ArnLike": {"aws:SourceArn": {"Ref": "AnyParameter"}}}),
    ],
    ids=[
        "negated",
        "if exists",
        "any organisation",
        "any account",
        "one account or any",
        "any account's trail",
        "anything of the account",
        "a computed value",
        "a parameter",
    ],
)
def test_fails_when_a_log_writer_is_pinned_to_nothing(
    sid: str, condition: dict[str, Any], synthesized: Synthesized
) -> None:
    """The scoping key alone is no pin: its operator must require it and its values name
    one account, organisation or resource."""
    assert_weakening_breaks("LZ-LOG-04", _writer_condition(sid, condition), synthesized)


def test_a_log_writer_pinned_by_another_key_or_operator_is_evidence(
    synthesized: Synthesized,
) -> None:
    """The other side: an account's own trails by ArnLike, the organisation by StringLike
    without a wildcard, still pin the writer."""
    templates = weakened(
        synthesized,
        lambda t: (
            _writer_condition(
                "CloudTrailWrite",
                {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:210987654321:trail/nwl-*"}},
            )(t),
            _writer_condition("ConfigWrite", {"StringLike": {"aws:SourceOrgID": "o-nw7k2m9q4x"}})(
                t
            ),
        ),
    )
    assert control("LZ-LOG-04").check(templates).holds


def test_fails_when_a_bucket_logs_to_itself(synthesized: Synthesized) -> None:
    def log_to_itself(templates: MutableTemplates) -> None:
        """An access-log bucket, exempt as a log target, sends its own logs to itself."""
        for name, bucket in resources(templates, "AWS::S3::Bucket"):
            if "LoggingConfiguration" not in bucket["Properties"]:
                logical_id = name.split("/", 1)[1]
                bucket["Properties"]["LoggingConfiguration"] = {
                    "DestinationBucketName": {"Ref": logical_id}
                }
                return
        raise AssertionError("no bucket without access logging")

    assert_weakening_breaks("LZ-LOG-01", log_to_itself, synthesized)


def test_fails_when_a_bucket_logs_to_something_that_is_not_a_bucket(
    synthesized: Synthesized,
) -> None:
    def log_to_a_key(templates: MutableTemplates) -> None:
        """An access-log bucket names a KMS key of its stack as its log destination."""
        for name, bucket in resources(templates, "AWS::S3::Bucket"):
            stack = name.split("/", 1)[0]
            keys = [
                k for k, r in templates[stack]["Resources"].items() if r["Type"] == "AWS::KMS::Key"
            ]
            if "LoggingConfiguration" not in bucket["Properties"] and keys:
                bucket["Properties"]["LoggingConfiguration"] = {
                    "DestinationBucketName": {"Ref": keys[0]}
                }
                return
        raise AssertionError("no stack with an unlogged bucket and a key")

    assert_weakening_breaks("LZ-LOG-01", log_to_a_key, synthesized)


def test_fails_when_session_logs_may_go_anywhere_in_the_bucket(synthesized: Synthesized) -> None:
    def anywhere(templates: MutableTemplates) -> None:
        for template in templates.values():
            for resource in template["Resources"].values():
                if resource["Type"] != "AWS::S3::BucketPolicy":
                    continue
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    if statement.get("Sid") == "SessionManagerLogsWrite":
                        statement["Resource"] = {
                            "Fn::Join": ["", [statement["Resource"]["Fn::Join"][1][0], "/*"]]
                        }

    assert_weakening_breaks("LZ-LOG-04", anywhere, synthesized)


def test_fails_when_session_logs_come_from_outside_the_organisation(
    synthesized: Synthesized,
) -> None:
    def anyone(templates: MutableTemplates) -> None:
        for template in templates.values():
            for resource in template["Resources"].values():
                if resource["Type"] != "AWS::S3::BucketPolicy":
                    continue
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    if statement.get("Sid") == "SessionManagerLogsWrite":
                        statement.pop("Condition")

    assert_weakening_breaks("LZ-LOG-04", anyone, synthesized)


def _drop_alarm_pair(metric_name: str) -> Weakening:
    """A weakening: remove the metric filter of a metric and the alarm on it."""

    def drop(templates: MutableTemplates) -> None:
        for template in templates.values():
            held = template["Resources"]
            for logical_id, resource in list(held.items()):
                props = resource.get("Properties", {})
                metrics = [m.get("MetricName") for m in props.get("MetricTransformations", [])]
                if metric_name in (props.get("MetricName"), *metrics) and resource["Type"] in (
                    "AWS::Logs::MetricFilter",
                    "AWS::CloudWatch::Alarm",
                ):
                    del held[logical_id]

    return drop


def _set_pattern(metric_name: str, pattern: str) -> Weakening:
    """A weakening: the filter of a metric matches ``pattern`` instead."""
    return lambda t: first(
        t,
        "AWS::Logs::MetricFilter",
        lambda f: f["Properties"]["MetricTransformations"][0]["MetricName"] == metric_name,
    )["Properties"].update(FilterPattern=pattern)


def _every(resource_type: str, **changes: Any) -> Weakening:
    """A weakening: every resource of a type gets ``changes`` in its properties."""

    def change(templates: MutableTemplates) -> None:
        for template in templates.values():
            for resource in template["Resources"].values():
                if resource["Type"] == resource_type:
                    resource["Properties"].update(changes)

    return change


@pytest.mark.parametrize(
    "weaken",
    [
        # an alarm that can never notify, or only after a day of events
        _every("AWS::CloudWatch::Alarm", ActionsEnabled=False),
        _every("AWS::CloudWatch::Alarm", EvaluationPeriods=1440, DatapointsToAlarm=1440),
        # filters on a group the trail does not write to see nothing
        _every("AWS::Logs::MetricFilter", LogGroupName="/nwl/not-the-trail"),
    ],
    ids=["actions disabled", "a day of periods", "another log group"],
)
def test_fails_when_the_cis_alarms_cannot_fire(weaken: Weakening, synthesized: Synthesized) -> None:
    assert_weakening_breaks("LZ-ALARM-01", weaken, synthesized)


@pytest.mark.parametrize(
    "weaken",
    [
        # other filters name PutRolePolicy (the responder's) and ConsoleLogin (4.6): they
        # must not stand in for the deleted 4.4 and 4.2 filters
        _drop_alarm_pair("IamPolicyChanges"),
        _drop_alarm_pair("ConsoleSigninWithoutMfa"),
        _set_pattern("IamPolicyChanges", "{ ($.eventName = PutRolePolicy) }"),
        _set_pattern(
            "ConsoleSigninWithoutMfa",
            '{ ($.eventName = "ConsoleLogin") && ($.userIdentity.type = "IAMUser") }',
        ),
    ],
    ids=["4.4 deleted", "4.2 deleted", "4.4 one event", "4.2 without MFA"],
)
def test_fails_when_a_cis_alarm_is_missing_or_incomplete(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-ALARM-01", weaken, synthesized)


def _narrow_pattern(metric_name: str, clause: str) -> Weakening:
    """A weakening: the filter of a metric also requires ``clause``."""

    def narrow(templates: MutableTemplates) -> None:
        props = first(
            templates,
            "AWS::Logs::MetricFilter",
            lambda f: f["Properties"]["MetricTransformations"][0]["MetricName"] == metric_name,
        )["Properties"]
        props["FilterPattern"] = "{ (" + props["FilterPattern"].strip()[1:-1] + f") && {clause} }}"

    return narrow


_UNGROUPED_4_1 = (
    '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
    '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'
)


@pytest.mark.parametrize("control_id", ["LZ-ALARM-01", "LZ-ID-04"])
@pytest.mark.parametrize("field", ["IsOrganizationTrail", "IsMultiRegionTrail"])
def test_fails_when_the_alarmed_trail_sees_one_account_or_region(
    control_id: str, field: str, synthesized: Synthesized
) -> None:
    """The filters must watch a trail of every account and region: on a trail of one, the
    others' root sign-ins and break-glass uses alarm nobody."""
    assert_weakening_breaks(
        control_id,
        lambda t: first(t, "AWS::CloudTrail::Trail")["Properties"].update({field: False}),
        synthesized,
    )


@pytest.mark.parametrize(
    "weaken",
    [
        _narrow_pattern("RootUsage", '($.recipientAccountId = "111122223333")'),
        _narrow_pattern("CloudtrailChanges", '($.awsRegion = "eu-west-1")'),
        _narrow_pattern("IamPolicyChanges", '($.userIdentity.type = "IAMUser")'),
        _narrow_pattern("OrganizationsChanges", '($.errorCode = "*")'),
        _set_pattern("UnauthorizedApiCalls", _UNGROUPED_4_1),
        _set_pattern(
            "UnauthorizedApiCalls",
            '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
        ),
        _set_pattern("RootUsage", '{ $.userIdentity.type = "Root" }'),
        _set_pattern(
            "CmkDisableOrDeletion",
            "{ ($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion) }",
        ),
        _set_pattern("SecurityGroupChanges", "{ $.eventSource = ec2.amazonaws.com }"),
        _set_pattern("NaclChanges", "{ ($.eventName = CreateNetworkAcl) || }"),
    ],
    ids=[
        "4.3 one account",
        "4.5 one region",
        "4.4 IAM users only",
        "4.15 failed calls only",
        "4.1 grouping left open",
        "4.1 log delivery kept",
        "4.3 service calls kept",
        "4.7 any service",
        "4.10 every EC2 call",
        "4.11 unreadable",
    ],
)
def test_fails_when_a_cis_filter_misses_or_floods(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    """The patterns run against CloudTrail records: a clause that narrows a filter to one
    account, region or caller misses the other records; one that drops a condition of the
    benchmark matches the records it leaves out."""
    assert_weakening_breaks("LZ-ALARM-01", weaken, synthesized)


def _replication_rule(templates: MutableTemplates) -> dict[str, Any]:
    bucket = first(
        templates,
        "AWS::S3::Bucket",
        lambda b: "ReplicationConfiguration" in b["Properties"],
    )
    rule: dict[str, Any] = bucket["Properties"]["ReplicationConfiguration"]["Rules"][0]
    return rule


def _without_the_replica(templates: MutableTemplates) -> None:
    del templates["LogArchiveReplica"]


@pytest.mark.parametrize(
    "weaken",
    [
        lambda t: _replication_rule(t).update(Filter={"Prefix": "nothing/"}),
        _without_the_replica,
        lambda t: _replication_rule(t)["Destination"].update(Bucket="arn:aws:s3:::elsewhere"),
    ],
    ids=["a prefix no log has", "no replica bucket", "a bucket of no template"],
)
def test_fails_when_replication_reaches_no_locked_copy(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-LOG-03", weaken, synthesized)


def test_fails_when_the_trail_delivers_to_an_unlocked_bucket(synthesized: Synthesized) -> None:
    """The trail's own settings all hold, but its bucket is not the object-locked archive."""

    def elsewhere(templates: MutableTemplates) -> None:
        first(templates, "AWS::CloudTrail::Trail")["Properties"]["S3BucketName"] = "nwl-unlocked"

    assert_weakening_breaks("LZ-TRAIL-01", elsewhere, synthesized)


def test_fails_when_the_trail_records_no_management_events(synthesized: Synthesized) -> None:
    def no_management_events(templates: MutableTemplates) -> None:
        props = first(templates, "AWS::CloudTrail::Trail")["Properties"]
        props.pop("AdvancedEventSelectors", None)
        props["EventSelectors"] = [{"IncludeManagementEvents": False, "ReadWriteType": "WriteOnly"}]

    assert_weakening_breaks("LZ-TRAIL-01", no_management_events, synthesized)


def test_fails_when_the_trail_records_only_write_management_events(
    synthesized: Synthesized,
) -> None:
    def write_only(templates: MutableTemplates) -> None:
        for selector in first(templates, "AWS::CloudTrail::Trail")["Properties"][
            "AdvancedEventSelectors"
        ]:
            if {"Field": "eventCategory", "Equals": ["Management"]} in selector["FieldSelectors"]:
                selector["FieldSelectors"].append({"Field": "readOnly", "Equals": ["false"]})

    assert_weakening_breaks("LZ-TRAIL-01", write_only, synthesized)


def _cloudtrail_writes(action: Any, keep_acl: bool) -> Weakening:
    """A weakening: CloudTrail's write grant on the log bucket becomes ``action``, with or
    without the bucket-owner-full-control ACL."""

    def widen(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == "CloudTrailWrite":
                    statement["Action"] = action
                    if not keep_acl:
                        statement["Condition"]["StringEquals"].pop("s3:x-amz-acl")

    return widen


@pytest.mark.parametrize(
    "weaken",
    [
        _cloudtrail_writes("s3:*", keep_acl=False),
        _cloudtrail_writes("s3:Put*", keep_acl=False),
        _cloudtrail_writes(["s3:PutObject", "s3:DeleteObject"], keep_acl=True),
    ],
    ids=["s3:* without the ACL", "s3:Put* without the ACL", "a delete beside the write"],
)
def test_fails_when_a_log_writer_is_granted_more_than_writes(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-LOG-04", weaken, synthesized)
