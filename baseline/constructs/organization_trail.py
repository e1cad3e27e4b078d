"""OrganizationTrail: one CloudTrail trail for every account and region of the organisation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from baseline.compliance import acknowledge
from baseline.constructs.secure_log_group import SecureLogGroup

#: What ``s3_data_events`` may say.
S3_DATA_EVENTS = ("none", "write", "all")

#: The object events that remove evidence from a log bucket or loosen its protection:
#: recorded on the excluded log buckets too. Their deliveries (PutObject, and the uploads
#: and replication that carry them) are not among them, so no delivery is logged again.
EVIDENCE_CHANGES = (
    "DeleteObject",
    "DeleteObjects",
    "PutObjectRetention",
    "PutObjectLegalHold",
    "PutObjectAcl",
    "PutObjectTagging",
    "DeleteObjectTagging",
    "RestoreObject",
)


def _selector(name: str, category: str, *fields: tuple[str, list[str]]) -> dict[str, Any]:
    selectors: list[dict[str, Any]] = [{"Field": "eventCategory", "Equals": [category]}]
    for field, values in fields:
        selectors.append({"Field": field, "Equals": values})
    return {"Name": name, "FieldSelectors": selectors}


def _operators_known(field: dict[str, Any]) -> dict[str, Any]:
    """A field selector whose every operator the trail's properties carry."""
    unknown = set(field) - {"Field", "Equals", "StartsWith", "NotStartsWith"}
    if unknown:
        raise ValueError(f"field selector {field['Field']}: no mapping for {sorted(unknown)}")
    return field


def event_selectors(
    *, s3_data_events: str, lambda_data_events: bool, excluded_buckets: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Advanced event selectors: every management event, and the data events asked for.

    ``excluded_buckets`` are bucket-name prefixes whose object events are not recorded
    but for ``EVIDENCE_CHANGES`` (deletions, retention, legal hold, ACL and tag changes):
    the log buckets themselves, whose every delivery would otherwise be logged again, and
    whose reads by a log reader would be. Default: none.
    """
    if s3_data_events not in S3_DATA_EVENTS:
        raise ValueError(f"s3_data_events must be one of {S3_DATA_EVENTS}, got {s3_data_events!r}")
    selectors = [_selector("Management events", "Management")]
    if s3_data_events != "none":
        fields: list[tuple[str, list[str]]] = [("resources.type", ["AWS::S3::Object"])]
        if s3_data_events == "write":
            fields.append(("readOnly", ["false"]))
        selector = _selector(f"S3 object {s3_data_events} events", "Data", *fields)
        if excluded_buckets:
            selector["FieldSelectors"].append(
                {
                    "Field": "resources.ARN",
                    "NotStartsWith": [f"arn:aws:s3:::{b}" for b in excluded_buckets],
                }
            )
        selectors.append(selector)
    if excluded_buckets:
        # the log buckets' own evidence changes, even with no other S3 data event recorded
        selectors.append(
            {
                "Name": "Log bucket evidence changes",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "eventName", "Equals": list(EVIDENCE_CHANGES)},
                    {
                        "Field": "resources.ARN",
                        "StartsWith": [f"arn:aws:s3:::{b}" for b in excluded_buckets],
                    },
                ],
            }
        )
    if lambda_data_events:
        selectors.append(
            _selector("Lambda invocations", "Data", ("resources.type", ["AWS::Lambda::Function"]))
        )
    return selectors


class OrganizationTrail(Construct):
    """An organisation trail: every account, every region, tamper-evident, also in CloudWatch Logs.

    Implements CIS 3.1 (multi-region), 3.2 (log file validation), 3.5 (KMS encryption),
    3.8/3.9 (S3 object-level events, write by default), SEC04-BP01/BP02 (logs of every
    account in one protected place) and feeds :class:`SecurityAlarms` through its log group.

    Files go to the log-archive bucket (in another account) encrypted with the log
    archive's key, both addressed by name; CloudTrail's delivery to CloudWatch Logs uses a
    role that only CloudTrail of this account may assume, writing only the trail's streams.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trail_name: str,
        organization_id: str,
        bucket_name: str,
        kms_key_arn: str,
        log_group_name: str,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        s3_data_events: str = "write",
        lambda_data_events: bool = False,
        excluded_buckets: Sequence[str] = (),
        key_alias: str,
    ) -> None:
        """Create the log group (with its key), the delivery role and the trail.

        :param trail_name: the trail's name (it names the trail ARN the key policies pin).
        :param organization_id: the organisation (it names the member accounts' log streams).
        :param bucket_name: the log-archive bucket (in the log-archive account).
        :param kms_key_arn: the log-archive key, by key ARN or alias ARN.
        :param log_group_name: the trail's CloudWatch Logs group (known at synth).
        :param log_retention: how long CloudWatch Logs keeps the events. Default: 1 year.
        :param s3_data_events: ``none``, ``write`` or ``all``. Default: ``write``; ``none``
            warns at synth (``lz:OrganizationTrail.NoS3DataEvents``).
        :param lambda_data_events: record Lambda invocations. Default: False.
        :param excluded_buckets: bucket-name prefixes left out of the S3 data events (the
            log buckets) but for their deletions and protection changes
            (``EVIDENCE_CHANGES``). Default: none.
        :param key_alias: alias of the log group's key (in this account).
        """
        super().__init__(scope, construct_id)
        if s3_data_events == "none":
            cdk.Annotations.of(self).add_warning_v2(
                "lz:OrganizationTrail.NoS3DataEvents",
                's3_data_events="none": the trail records no S3 object-level events (CIS '
                "3.8, 3.9), so who read, wrote or deleted which object in any account cannot "
                "be established after an incident.",
            )
        stack = cdk.Stack.of(self)
        trail_arn = f"arn:aws:cloudtrail:{stack.region}:{stack.account}:trail/{trail_name}"

        self.logs = SecureLogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            key_alias=key_alias,
            retention=log_retention,
            key_description="Encrypts the organisation trail's log group",
        )
        self.log_group = self.logs.log_group
        # GetAtt Arn of a log group ends in ":*", so stream ARNs are built from the name.
        group_arn = f"arn:aws:logs:{stack.region}:{stack.account}:log-group:{log_group_name}"
        self.delivery_role = iam.Role(
            self,
            "DeliveryRole",
            description="CloudTrail delivers the organisation trail's events to CloudWatch Logs",
            assumed_by=iam.ServicePrincipal(
                "cloudtrail.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        policy = iam.ManagedPolicy(
            self,
            "DeliveryPolicy",
            description="Write the organisation trail's log streams, and nothing else",
            roles=[self.delivery_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        # the management account's own streams, and one per member account
                        f"{group_arn}:log-stream:{stack.account}_CloudTrail_{stack.region}*",
                        f"{group_arn}:log-stream:{organization_id}_*",
                    ],
                )
            ],
        )
        for stream in (f"{stack.account}_CloudTrail_{stack.region}*", f"{organization_id}_*"):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{group_arn}:log-stream:{stream}]",
                "CloudTrail names one log stream per account and region of the organisation, "
                "so the trail's own log group needs these stream prefixes; nothing else is granted.",
            )
        self.trail = cloudtrail.CfnTrail(
            self,
            "Resource",
            trail_name=trail_name,
            is_logging=True,
            is_organization_trail=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            s3_bucket_name=bucket_name,
            kms_key_id=kms_key_arn,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=self.delivery_role.role_arn,
            advanced_event_selectors=[
                cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                    name=selector["Name"],
                    field_selectors=[
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field=f["Field"],
                            equal_to=f.get("Equals"),
                            starts_with=f.get("StartsWith"),
                            not_starts_with=f.get("NotStartsWith"),
                        )
                        for f in map(_operators_known, selector["FieldSelectors"])
                    ],
                )
                for selector in event_selectors(
                    s3_data_events=s3_data_events,
                    lambda_data_events=lambda_data_events,
                    excluded_buckets=excluded_buckets,
                )
            ],
        )
        self.trail.node.add_dependency(policy)
        # the record of every account: a deleted stack, or a change that would replace the
        # trail, leaves it recording, and the role and policy it delivers to CloudWatch
        # Logs with (a stack made again adopts the trail by `cdk import`, or the kept one is
        # deleted first)
        for kept in (self.trail, self.delivery_role.node.default_child, policy.node.default_child):
            assert isinstance(kept, cdk.CfnResource)
            kept.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.trail_arn = trail_arn
