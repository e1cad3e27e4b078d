"""Logging controls: access logs, the immutable and replicated log archive, who may write
to it, the organisation trail and the CIS monitoring alarms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from baseline.controls.model import (
    Control,
    Evidence,
    Templates,
    as_list,
    bucket_policies,
    control,
    properties,
    resources,
)
from baseline.naming import SESSION_LOG_PREFIX

CONTROLS: list[Control] = []


def _log_buckets(templates: Templates) -> Iterator[tuple[str, dict[str, Any]]]:
    """The central log buckets: those whose name carries ``-logs-``."""
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        if "-logs-" in str(properties(bucket).get("BucketName", "")):
            yield name, bucket


@control(
    CONTROLS,
    id="LZ-LOG-01",
    title="Every bucket writes server access logs to a dedicated access-log bucket",
    explanation=(
        "Every bucket names another bucket of its stack as its server access log "
        "destination; only the buckets that receive those logs are exempt."
    ),
    best_practices=("SEC04-BP01",),
    cis=("3.4",),
    implemented_by="baseline.constructs.SecureBucket",
)
def check_bucket_access_logging(templates: Templates) -> Evidence:
    """Every bucket logs to another bucket, except buckets that are themselves log targets."""
    evidence = Evidence()
    buckets = dict(resources(templates, "AWS::S3::Bucket"))
    targets = set()
    for name, bucket in buckets.items():
        destination = (
            properties(bucket).get("LoggingConfiguration", {}).get("DestinationBucketName")
        )
        if isinstance(destination, dict) and "Ref" in destination:
            target = f"{name.split('/')[0]}/{destination['Ref']}"
            if target == name or target not in buckets:
                # A bucket logging to itself writes a log entry for each log entry, and
                # a destination that is not a bucket of the stack is not one we can see.
                evidence.violations.append(name)
                continue
            targets.add(target)
            evidence.found.append(name)
    for name in buckets:
        if name not in targets and name not in evidence.found and name not in evidence.violations:
            evidence.violations.append(name)
    return evidence


@control(
    CONTROLS,
    id="LZ-LOG-02",
    title="The central log buckets are immutable for the retention period (Object Lock)",
    explanation=(
        "Every central log bucket is created with S3 Object Lock and a default retention "
        "in COMPLIANCE or GOVERNANCE mode of a number of days or years."
    ),
    best_practices=("SEC04-BP02", "SEC08-BP03"),
    implemented_by="baseline.stacks.log_archive.LogArchiveStack",
)
def check_log_object_lock(templates: Templates) -> Evidence:
    """Every central log bucket has Object Lock on with a default retention period."""
    evidence = Evidence()
    for name, bucket in _log_buckets(templates):
        lock = properties(bucket).get("ObjectLockConfiguration", {})
        retention = lock.get("Rule", {}).get("DefaultRetention", {})
        ok = (
            properties(bucket).get("ObjectLockEnabled") is True
            and lock.get("ObjectLockEnabled") == "Enabled"
            and retention.get("Mode") in ("COMPLIANCE", "GOVERNANCE")
            and (retention.get("Days") or retention.get("Years"))
        )
        evidence.record(name, bool(ok))
    return evidence


@control(
    CONTROLS,
    id="LZ-LOG-03",
    applies_to="replication",
    title="The central log bucket replicates, encrypted, to a locked second-region bucket",
    explanation=(
        "The home-region log bucket has an enabled replication rule that includes SSE-KMS "
        "encrypted objects and re-encrypts replicas under a named KMS key."
    ),
    best_practices=("SEC04-BP02", "SEC10-BP03"),
    implemented_by="baseline.stacks.log_archive.LogArchiveStack",
)
def check_log_replication(templates: Templates) -> Evidence:
    """The home-region log bucket replicates, SSE-KMS objects included, to a named bucket."""
    evidence = Evidence()
    for name, bucket in _log_buckets(templates):
        config = properties(bucket).get("ReplicationConfiguration")
        if config is None:
            continue  # the replica itself
        ok = any(
            rule.get("Status") == "Enabled"
            and rule.get("SourceSelectionCriteria", {})
            .get("SseKmsEncryptedObjects", {})
            .get("Status")
            == "Enabled"
            and rule.get("Destination", {})
            .get("EncryptionConfiguration", {})
            .get("ReplicaKmsKeyID")
            for rule in config.get("Rules", [])
        )
        evidence.record(name, ok)
    return evidence


_SCOPING_KEYS = ("aws:SourceArn", "aws:SourceOrgID", "aws:SourceAccount")


@control(
    CONTROLS,
    id="LZ-LOG-04",
    title="Only the organisation's log delivery services may write the log buckets",
    explanation=(
        "Every Allow in the policies of the log and Config buckets is for a service "
        "principal (CloudTrail, AWS Config, flow-log delivery), pinned by aws:SourceArn, "
        "aws:SourceOrgID or aws:SourceAccount; a PutObject also requires the "
        "bucket-owner-full-control ACL, so the bucket owner owns every object. The one "
        "exception is Session Manager's: principals of the organisation (aws:PrincipalOrgID) "
        "writing below their own account's id in the session-manager prefix, and reading "
        "the bucket's encryption, and nothing else."
    ),
    best_practices=("SEC03-BP08", "SEC04-BP02"),
    cis=("3.5",),
    implemented_by="baseline.stacks.log_archive.LogArchiveStack",
)
def check_log_writers_scoped(templates: Templates) -> Evidence:
    """Every service allowed to write a log or Config bucket is pinned to the organisation."""
    evidence = Evidence()
    policies = bucket_policies(templates)
    config_buckets = [
        (name, bucket)
        for name, bucket in resources(templates, "AWS::S3::Bucket")
        if "-config-" in str(properties(bucket).get("BucketName", ""))
        and "-config-access-" not in str(properties(bucket).get("BucketName", ""))
    ]
    for name, _bucket in [*_log_buckets(templates), *config_buckets]:
        for statement in policies.get(name, []):
            if statement.get("Effect") != "Allow":
                continue
            conditions = statement.get("Condition", {})
            keys = {k for block in conditions.values() for k in block}
            scoped = any(k in keys for k in _SCOPING_KEYS)
            owner = "s3:PutObject" not in as_list(statement.get("Action")) or (
                conditions.get("StringEquals", {}).get("s3:x-amz-acl")
                == "bucket-owner-full-control"
            )
            service = "Service" in statement.get("Principal", {})
            ok = (scoped and owner and service) or _session_logs_only(statement)
            evidence.record(f"{name}: {statement.get('Sid', '?')}", ok)
    return evidence


def _session_logs_only(statement: dict[str, Any]) -> bool:
    """Session Manager's grant: the organisation's principals, each below its own account's
    id of the session-manager prefix (or reading the bucket's encryption)."""
    conditions = statement.get("Condition", {})
    org_only = set(conditions) == {"StringEquals"} and set(conditions["StringEquals"]) == {
        "aws:PrincipalOrgID"
    }
    actions = as_list(statement.get("Action"))
    resources = [json.dumps(r) for r in as_list(statement.get("Resource"))]
    suffix = f'/{SESSION_LOG_PREFIX}/${{aws:PrincipalAccount}}/*"'
    own_prefix = bool(resources) and all(
        r.endswith(suffix + "]]}") or r.endswith(suffix) for r in resources
    )
    own_prefix = own_prefix and all(r.count("*") == 1 for r in resources)
    return org_only and (
        (actions == ["s3:PutObject"] and own_prefix)
        or (actions == ["s3:GetEncryptionConfiguration"] and not any("/" in r for r in resources))
    )


@control(
    CONTROLS,
    id="LZ-TRAIL-01",
    title="One organisation trail records every account and region, validated",
    explanation=(
        "Every trail is an organisation trail, multi-region, with global service events, "
        "log file validation and logging on, KMS-encrypted, delivering to an S3 bucket "
        "and a CloudWatch Logs log group."
    ),
    best_practices=("SEC04-BP01", "SEC04-BP02"),
    cis=("3.1", "3.2", "3.5"),
    implemented_by="baseline.constructs.organization_trail.OrganizationTrail",
)
def check_organization_trail(templates: Templates) -> Evidence:
    """Every trail covers the organisation and every region, validated, encrypted, delivered."""
    evidence = Evidence()
    for name, trail in resources(templates, "AWS::CloudTrail::Trail"):
        props = properties(trail)
        wanted = {
            "IsOrganizationTrail": True,
            "IsMultiRegionTrail": True,
            "IncludeGlobalServiceEvents": True,
            "EnableLogFileValidation": True,
            "IsLogging": True,
        }
        problems = [k for k, v in wanted.items() if props.get(k) is not v]
        problems += [
            k for k in ("KMSKeyId", "S3BucketName", "CloudWatchLogsLogGroupArn") if not props.get(k)
        ]
        evidence.record(f"{name}: {', '.join(problems)}" if problems else name, not problems)
    return evidence


#: CIS v5.0.0 4.x recommendations -> an event name its metric filter must contain.
_CIS_ALARM_EVENTS = {
    "4.1": "UnauthorizedOperation",
    "4.2": "ConsoleLogin",
    "4.3": "Root",
    "4.4": "PutRolePolicy",
    "4.5": "StopLogging",
    "4.6": "Failed authentication",
    "4.7": "ScheduleKeyDeletion",
    "4.8": "PutBucketPolicy",
    "4.9": "StopConfigurationRecorder",
    "4.10": "AuthorizeSecurityGroupIngress",
    "4.11": "CreateNetworkAclEntry",
    "4.12": "CreateInternetGateway",
    "4.13": "CreateRoute",
    "4.14": "CreateVpc",
    "4.15": "LeaveOrganization",
}


@control(
    CONTROLS,
    id="LZ-ALARM-01",
    title="CIS monitoring: a metric filter and an alarm for each of 4.1-4.15",
    explanation=(
        "For each CIS 4.x recommendation a metric filter matches its event, and an alarm "
        "on that filter's metric with threshold 1 notifies the security topic."
    ),
    best_practices=("SEC04-BP03", "SEC10-BP01"),
    cis=tuple(f"4.{i}" for i in range(1, 16)),
    implemented_by="baseline.constructs.security_alarms.SecurityAlarms",
)
def check_cis_alarms(templates: Templates) -> Evidence:
    """Each CIS 4.x filter exists and an alarm on its metric notifies someone."""
    evidence = Evidence()
    filters = list(resources(templates, "AWS::Logs::MetricFilter"))
    alarms = [properties(a) for _, a in resources(templates, "AWS::CloudWatch::Alarm")]
    for cis, event in _CIS_ALARM_EVENTS.items():
        matching = [
            properties(f)["MetricTransformations"][0]["MetricName"]
            for _, f in filters
            if event in str(properties(f).get("FilterPattern", ""))
        ]
        alarmed = [
            a
            for a in alarms
            if a.get("MetricName") in matching and a.get("AlarmActions") and a.get("Threshold") == 1
        ]
        evidence.record(f"CIS {cis}", bool(alarmed))
    return evidence
