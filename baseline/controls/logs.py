"""Logging controls: access logs, the immutable and replicated log archive, who may write
to it, the organisation trail and the CIS monitoring alarms."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from baseline.controls.log_patterns import catches
from baseline.controls.model import (
    ONLY_IF,
    Control,
    Evidence,
    Templates,
    as_list,
    bucket_policies,
    condition_values,
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
        evidence.record(name, _locked(bucket))
    return evidence


def _locked(bucket: dict[str, Any]) -> bool:
    """Object Lock on, with a default retention in COMPLIANCE or GOVERNANCE mode."""
    lock = properties(bucket).get("ObjectLockConfiguration", {})
    retention = lock.get("Rule", {}).get("DefaultRetention", {})
    return bool(
        properties(bucket).get("ObjectLockEnabled") is True
        and lock.get("ObjectLockEnabled") == "Enabled"
        and retention.get("Mode") in ("COMPLIANCE", "GOVERNANCE")
        and (retention.get("Days") or retention.get("Years"))
    )


@control(
    CONTROLS,
    id="LZ-LOG-03",
    applies_to="replication",
    title="The central log bucket replicates, encrypted, to a locked second-region bucket",
    explanation=(
        "The home-region log bucket has an enabled replication rule of every object (no "
        "filter but the empty prefix) that includes SSE-KMS encrypted objects, re-encrypts "
        "replicas under a named KMS key, and writes to another log bucket of the templates "
        "that is itself object-locked with a default retention."
    ),
    best_practices=("SEC04-BP02", "SEC10-BP03"),
    implemented_by="baseline.stacks.log_archive.LogArchiveStack",
)
def check_log_replication(templates: Templates) -> Evidence:
    """The home-region log bucket replicates, SSE-KMS objects included, to a named bucket."""
    evidence = Evidence()
    buckets = list(_log_buckets(templates))
    # the object-locked log buckets the templates hold, by the ARN a rule names them with
    locked = {
        f"arn:aws:s3:::{properties(b)['BucketName']}"
        for _, b in buckets
        if isinstance(properties(b).get("BucketName"), str) and _locked(b)
    }
    for name, bucket in buckets:
        config = properties(bucket).get("ReplicationConfiguration")
        if config is None:
            continue  # the replica itself
        own = f"arn:aws:s3:::{properties(bucket).get('BucketName')}"
        ok = any(
            rule.get("Status") == "Enabled"
            and rule.get("Filter", {"Prefix": ""}) in ({}, {"Prefix": ""})
            and "Prefix" not in rule  # the older form of a filter
            and rule.get("SourceSelectionCriteria", {})
            .get("SseKmsEncryptedObjects", {})
            .get("Status")
            == "Enabled"
            and rule.get("Destination", {})
            .get("EncryptionConfiguration", {})
            .get("ReplicaKmsKeyID")
            and rule.get("Destination", {}).get("Bucket") in locked - {own}
            for rule in config.get("Rules", [])
        )
        evidence.record(name, ok)
    return evidence


_SCOPING_KEYS = {
    "aws:SourceAccount": re.compile(r"^\d{12}$"),
    "aws:SourceOrgID": re.compile(r"^o-[a-z0-9]{10,32}$"),
    # a resource of one named account (any region)
    "aws:SourceArn": re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9*-]*:\d{12}:[^*?]\S*$"),
}
#: What a log delivery service may do on a log or Config bucket: check it and write it.
_LOG_WRITER_ACTIONS = ("s3:putobject", "s3:getbucketacl", "s3:listbucket")


def _pinned(statement: dict[str, Any]) -> bool:
    """Whether a statement's conditions pin the caller to named accounts, an organisation
    or resources: a scoping key under an operator that requires it (``StringEquals``,
    ``ArnLike``, ...; not a negated one, not ``...IfExists``), its every value an account
    id, an organisation id, an ARN naming its account (and more than wildcards after it),
    or an attribute of a resource of the template (``Fn::GetAtt``; a ``Ref`` may name a
    parameter, whose value the template does not hold)."""
    for key, specific in _SCOPING_KEYS.items():
        values = [
            v
            for value in condition_values(statement, key, operators=ONLY_IF)
            for v in as_list(value)
        ]
        if values and all(
            specific.match(v) if isinstance(v, str) else isinstance(v, dict) and "Fn::GetAtt" in v
            for v in values
        ):
            return True
    return False


def _covers(action: Any, wanted: str) -> bool:
    """An action, wildcards expanded (``s3:*``, ``s3:Put*``, ``*``), covers ``wanted``."""
    return isinstance(action, str) and fnmatch.fnmatchcase(wanted, action.lower())


@control(
    CONTROLS,
    id="LZ-LOG-04",
    title="Only the organisation's log delivery services may write the log buckets",
    explanation=(
        "Every Allow in the policies of the log and Config buckets is for a service "
        "principal (CloudTrail, AWS Config, flow-log delivery), pinned by aws:SourceArn "
        "(a resource of a named account), aws:SourceOrgID or aws:SourceAccount under an "
        "operator that requires it (StringEquals, StringLike, ArnEquals, ArnLike), "
        "granting only s3:PutObject, s3:GetBucketAcl or s3:ListBucket (no wildcard); an "
        "action that covers PutObject (s3:PutObject, "
        "s3:Put*, s3:*) also requires the bucket-owner-full-control ACL, so the bucket "
        "owner owns every object. The one "
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
            scoped = _pinned(statement)
            granted = as_list(statement.get("Action"))
            owner = not any(_covers(a, "s3:putobject") for a in granted) or (
                conditions.get("StringEquals", {}).get("s3:x-amz-acl")
                == "bucket-owner-full-control"
            )
            only_writes = "NotAction" not in statement and all(
                isinstance(a, str) and a.lower() in _LOG_WRITER_ACTIONS for a in granted
            )
            service = "Service" in statement.get("Principal", {})
            ok = (scoped and owner and service and only_writes) or _session_logs_only(statement)
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
        "log file validation and logging on, KMS-encrypted, delivering to an object-locked "
        "log bucket of the templates (Object Lock with a default retention) and a "
        "CloudWatch Logs log group, and records every management event, read and "
        "write: an advanced selector of eventCategory Management and no other field, or a "
        "classic selector including management events of ReadWriteType All, none excluded."
    ),
    best_practices=("SEC04-BP01", "SEC04-BP02"),
    cis=("3.1", "3.2", "3.5"),
    implemented_by="baseline.constructs.organization_trail.OrganizationTrail",
)
def check_organization_trail(templates: Templates) -> Evidence:
    """Every trail covers the organisation and every region, validated, encrypted, delivered."""
    evidence = Evidence()
    locked = {properties(b).get("BucketName") for _, b in _log_buckets(templates) if _locked(b)}
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
        if props.get("S3BucketName") and props["S3BucketName"] not in locked:
            problems.append("S3BucketName (no object-locked log bucket of the templates)")
        if not _records_all_management_events(props):
            problems.append("management events (read and write)")
        evidence.record(f"{name}: {', '.join(problems)}" if problems else name, not problems)
    return evidence


def _records_all_management_events(props: dict[str, Any]) -> bool:
    """A trail's selectors take every management event, read and write (CIS 3.1; the 4.x
    alarms read them). Without selectors CloudTrail records all of them."""
    advanced = props.get("AdvancedEventSelectors")
    classic = props.get("EventSelectors")
    if advanced:
        # one field, eventCategory = Management: a readOnly or eventSource field would narrow it
        return any(
            len(fields := selector.get("FieldSelectors", [])) == 1
            and set(fields[0]) == {"Field", "Equals"}
            and fields[0]["Field"] == "eventCategory"
            and "Management" in as_list(fields[0]["Equals"])
            for selector in advanced
        )
    if classic:
        return any(
            selector.get("IncludeManagementEvents", True) is True
            and selector.get("ReadWriteType", "All") == "All"
            and not selector.get("ExcludeManagementEventSources")
            for selector in classic
        )
    return True


@dataclass(frozen=True)
class _Recommendation:
    """What the metric filter of a CIS v5.0.0 4.x recommendation must catch, as CloudTrail
    records (dotted fields; see ``baseline.controls.log_patterns``). Spelled out here, not
    taken from the construct: a pattern changed there must trip the check."""

    #: every event name the benchmark's pattern lists: a record of each must match (with
    #: none, the record of ``fields`` itself)
    events: tuple[str, ...]
    #: what each of those records also holds (None: the field is absent)
    fields: Mapping[str, Any]
    #: further records that must match
    also: tuple[Mapping[str, Any], ...] = ()
    #: changes to the first matching record that the benchmark's pattern leaves out: none
    #: may match; with event names, neither may another event's record
    contrasts: tuple[Mapping[str, Any], ...] = ()

    def wanted(self) -> list[dict[str, Any]]:
        names = [{"eventName": name} for name in self.events] or [{}]
        return [{**self.fields, **n} for n in names] + [{**self.fields, **a} for a in self.also]

    def unwanted(self) -> list[dict[str, Any]]:
        first = self.wanted()[0]
        other = [{"eventName": "ListTagsForResource"}] if self.events else []
        return [{**first, **change} for change in (*self.contrasts, *other)]


_CIS_ALARMS: dict[str, _Recommendation] = {
    "4.1": _Recommendation(
        events=(),
        fields={
            "eventSource": "ec2.amazonaws.com",
            "eventName": "RunInstances",
            "errorCode": "Client.UnauthorizedOperation",
        },
        also=(
            {
                "errorCode": "AccessDenied",
                "eventSource": "s3.amazonaws.com",
                "eventName": "GetObject",
            },
        ),
        contrasts=(
            {"errorCode": None},
            {"errorCode": "ThrottlingException"},
            {"sourceIPAddress": "delivery.logs.amazonaws.com"},
            {"eventName": "HeadBucket"},
        ),
    ),
    "4.2": _Recommendation(
        events=("ConsoleLogin",),
        fields={
            "eventSource": "signin.amazonaws.com",
            "eventType": "AwsConsoleSignIn",
            "userIdentity.type": "IAMUser",
            "additionalEventData.MFAUsed": "No",
            "responseElements.ConsoleLogin": "Success",
        },
        contrasts=({"additionalEventData.MFAUsed": "Yes"},),
    ),
    "4.3": _Recommendation(
        events=(),
        fields={
            "eventSource": "s3.amazonaws.com",
            "eventName": "ListBuckets",
            "userIdentity.type": "Root",
            "userIdentity.arn": "arn:aws:iam::111122223333:root",
        },
        also=(
            {
                "eventSource": "signin.amazonaws.com",
                "eventName": "ConsoleLogin",
                "eventType": "AwsConsoleSignIn",
            },
        ),
        contrasts=(
            {"userIdentity.type": "IAMUser"},
            {"userIdentity.invokedBy": "support.amazonaws.com"},
            {"eventType": "AwsServiceEvent"},
        ),
    ),
    "4.4": _Recommendation(
        events=(
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ),
        fields={"eventSource": "iam.amazonaws.com"},
    ),
    "4.5": _Recommendation(
        events=("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"),
        fields={"eventSource": "cloudtrail.amazonaws.com"},
    ),
    "4.6": _Recommendation(
        events=("ConsoleLogin",),
        fields={
            "eventSource": "signin.amazonaws.com",
            "eventType": "AwsConsoleSignIn",
            "errorMessage": "Failed authentication",
            "responseElements.ConsoleLogin": "Failure",
        },
        contrasts=({"errorMessage": None, "responseElements.ConsoleLogin": "Success"},),
    ),
    "4.7": _Recommendation(
        events=("DisableKey", "ScheduleKeyDeletion"),
        fields={"eventSource": "kms.amazonaws.com"},
        contrasts=({"eventSource": "cloudhsm.amazonaws.com"},),
    ),
    "4.8": _Recommendation(
        events=(
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ),
        fields={"eventSource": "s3.amazonaws.com"},
        contrasts=({"eventSource": "s3-outposts.amazonaws.com"},),
    ),
    "4.9": _Recommendation(
        events=(
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        ),
        fields={"eventSource": "config.amazonaws.com"},
        contrasts=({"eventSource": "ssm.amazonaws.com"},),
    ),
    "4.10": _Recommendation(
        events=(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ),
        fields={"eventSource": "ec2.amazonaws.com"},
    ),
    "4.11": _Recommendation(
        events=(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ),
        fields={"eventSource": "ec2.amazonaws.com"},
    ),
    "4.12": _Recommendation(
        events=(
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ),
        fields={"eventSource": "ec2.amazonaws.com"},
    ),
    "4.13": _Recommendation(
        events=(
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ),
        fields={"eventSource": "ec2.amazonaws.com"},
    ),
    "4.14": _Recommendation(
        events=(
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ),
        fields={"eventSource": "ec2.amazonaws.com"},
    ),
    "4.15": _Recommendation(
        events=(
            "AcceptHandshake",
            "AttachPolicy",
            "CreateAccount",
            "CreateOrganizationalUnit",
            "CreatePolicy",
            "DeclineHandshake",
            "DeleteOrganization",
            "DeleteOrganizationalUnit",
            "DeletePolicy",
            "DetachPolicy",
            "DisablePolicyType",
            "EnablePolicyType",
            "InviteAccountToOrganization",
            "LeaveOrganization",
            "MoveAccount",
            "RemoveAccountFromOrganization",
            "UpdatePolicy",
            "UpdateOrganizationalUnit",
        ),
        fields={"eventSource": "organizations.amazonaws.com"},
        contrasts=({"eventSource": "account.amazonaws.com"},),
    ),
}


@control(
    CONTROLS,
    id="LZ-ALARM-01",
    title="CIS monitoring: a metric filter and an alarm for each of 4.1-4.15",
    explanation=(
        "Each CIS 4.x recommendation has a metric filter of its own on the log group its "
        "stack's organisation trail of every region writes to, whose pattern, run against "
        "CloudTrail records of two accounts, callers and regions, matches a record of every "
        "event the benchmark lists for it (4.1 and 4.3: of any event) and none that its other conditions leave out "
        "(4.2 a sign-in with MFA, 4.3 a caller other than root, ...), and "
        "an alarm on that filter's metric (namespace and name, in its stack) at or above "
        "threshold 1, its actions enabled, alarming on the Sum of one period of at most "
        "five minutes, notifies a topic."
    ),
    best_practices=("SEC04-BP03", "SEC10-BP01"),
    cis=tuple(f"4.{i}" for i in range(1, 16)),
    implemented_by="baseline.constructs.security_alarms.SecurityAlarms",
)
def check_cis_alarms(templates: Templates) -> Evidence:
    """Each CIS 4.x item has its own complete filter, and an alarm on its metric notifies."""
    evidence = Evidence()
    filters = alarmed_trail_filters(templates)
    candidates: dict[str, list[str]] = {}
    for cis, recommendation in _CIS_ALARMS.items():
        wanted, unwanted = recommendation.wanted(), recommendation.unwanted()
        candidates[cis] = [
            name for name, pattern in filters.items() if catches(pattern, wanted, unwanted)
        ]
    matched = _one_each(candidates)
    for cis in _CIS_ALARMS:
        evidence.record(f"CIS {cis}: {matched.get(cis, 'no filter of its own')}", cis in matched)
    return evidence


def alarmed_trail_filters(templates: Templates) -> dict[str, str]:
    """The metric filters on the log group an organisation trail of every region, of
    their stack, delivers to (a filter on another group sees nothing, and one on a trail
    of one account or region sees too little) whose metric an alarm of the stack
    notifies on at once: each one's name and its pattern."""
    alarmed = {
        (name.split("/")[0], props.get("Namespace"), props.get("MetricName"))
        for name, alarm in resources(templates, "AWS::CloudWatch::Alarm")
        if _alarms_at_once(props := properties(alarm))
    }
    # a trail of every account and region: one of a single account alarms on nothing of
    # the others
    trail_groups = {
        (name.split("/")[0], json.dumps({"Ref": arn["Fn::GetAtt"][0]}))
        for name, trail in resources(templates, "AWS::CloudTrail::Trail")
        if isinstance(arn := properties(trail).get("CloudWatchLogsLogGroupArn"), dict)
        and isinstance(arn.get("Fn::GetAtt"), list)
        and arn["Fn::GetAtt"]
        and properties(trail).get("IsOrganizationTrail") is True
        and properties(trail).get("IsMultiRegionTrail") is True
    }
    found = {}
    for name, metric_filter in resources(templates, "AWS::Logs::MetricFilter"):
        props = properties(metric_filter)
        stack = name.split("/")[0]
        if (stack, json.dumps(props.get("LogGroupName"))) in trail_groups and any(
            (stack, m.get("MetricNamespace"), m.get("MetricName")) in alarmed
            for m in props.get("MetricTransformations", [])
        ):
            found[name] = str(props.get("FilterPattern", ""))
    return found


def _alarms_at_once(alarm: Mapping[str, Any]) -> bool:
    """An alarm that notifies on the first event: a topic among its actions, its actions
    enabled, threshold 1 or more counted as a Sum over one period of at most five minutes."""
    return (
        bool(alarm.get("AlarmActions"))
        and alarm.get("ActionsEnabled", True) is not False
        and alarm.get("Threshold") == 1
        and alarm.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
        and alarm.get("Statistic") == "Sum"
        and int(alarm.get("Period", 0) or 0) in range(1, 301)
        and alarm.get("EvaluationPeriods") == 1
        and alarm.get("DatapointsToAlarm", 1) == 1
    )


def _one_each(candidates: dict[str, list[str]]) -> dict[str, str]:
    """Each item matched to one of its candidates, no candidate to two items (a maximum
    bipartite matching: an item may move to another of its candidates to make room)."""
    owner: dict[str, str] = {}  # candidate -> item

    def place(item: str, tried: set[str]) -> bool:
        for candidate in candidates[item]:
            if candidate in tried:
                continue
            tried.add(candidate)
            if candidate not in owner or place(owner[candidate], tried):
                owner[candidate] = item
                return True
        return False

    for item in candidates:
        place(item, set())
    return {item: candidate for candidate, item in owner.items()}
