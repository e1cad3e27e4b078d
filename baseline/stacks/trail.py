"""Trail: the organisation trail, its CloudWatch Logs group and the CIS alarms (management account)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct

from baseline import naming
from baseline.config import AccountRole, LandingZoneConfig
from baseline.constructs.organization_trail import OrganizationTrail
from baseline.constructs.security_alarms import (
    SecurityAlarms,
    alarm_tampering_alarm,
    break_glass_alarm,
    responder_interface_alarm,
    responder_policy_alarm,
    trail_recording_alarm,
)
from baseline.constructs.security_notifications import SecurityNotifications

#: The retention periods CloudWatch Logs offers (of 90 days and more), by days.
RETENTION = {
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


@dataclass(frozen=True)
class TrailSettings:
    """What the Trail stack needs, derived once from the config."""

    prefix: str
    organization_id: str
    log_bucket_name: str
    log_archive_account_id: str
    #: where the log archive has buckets: the home region and the replica's
    log_archive_regions: tuple[str, ...]
    log_key_alias_arn: str
    cloudwatch_logs_retention_days: int
    s3_data_events: str
    lambda_data_events: bool
    notification_email: str

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> TrailSettings:
        prefix = config.organization.prefix
        log_account = config.account_id_for(AccountRole.LOG_ARCHIVE)
        return cls(
            prefix=prefix,
            organization_id=str(config.organization.id),
            log_bucket_name=naming.log_bucket(prefix, log_account, config.home_region),
            log_archive_account_id=log_account,
            log_archive_regions=tuple(
                r for r in (config.home_region, config.effective_replication_region) if r
            ),
            log_key_alias_arn=naming.log_key_alias_arn(prefix, log_account, config.home_region),
            cloudwatch_logs_retention_days=config.trail.cloudwatch_logs_retention_days,
            s3_data_events=config.trail.s3_data_events,
            lambda_data_events=config.trail.lambda_data_events,
            notification_email=config.security_notification_email,
        )


class TrailStack(cdk.Stack):
    """Every API call of the organisation, recorded, and the ones that matter, alarmed.

    The trail writes into the log archive (bucket and key addressed by name, deployed
    first); the alarms watch the trail's log group in this account and notify the
    security topic here (CloudWatch alarms notify topics of their own account).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: TrailSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        prefix = settings.prefix
        self.trail = OrganizationTrail(
            self,
            "Trail",
            trail_name=naming.organization_trail(prefix),
            organization_id=settings.organization_id,
            bucket_name=settings.log_bucket_name,
            kms_key_arn=settings.log_key_alias_arn,
            log_group_name=f"/{prefix}/organization-trail",
            log_retention=RETENTION[settings.cloudwatch_logs_retention_days],
            s3_data_events=settings.s3_data_events,
            lambda_data_events=settings.lambda_data_events,
            # deliveries into the log archive would otherwise be logged again, and again;
            # its buckets only, each by its whole name ("<name>/": a bucket another account
            # names to begin the same way is recorded)
            excluded_buckets=[
                f"{name}/"
                for name in naming.log_archive_buckets(
                    prefix, settings.log_archive_account_id, settings.log_archive_regions
                )
            ],
            key_alias=f"alias/{prefix}/organization-trail-logs",
        )
        self.notifications = SecurityNotifications(
            self,
            "Notifications",
            topic_name=f"{prefix}-security-alarms",
            email=settings.notification_email,
            publishers=["cloudwatch.amazonaws.com"],
            key_alias=f"alias/{prefix}/security-alarms",
        )
        self.alarms = SecurityAlarms(
            self,
            "Alarms",
            prefix=prefix,
            log_group=self.trail.log_group,
            topic=self.notifications.topic,
            extra=(
                break_glass_alarm(naming.break_glass_role(prefix)),
                responder_policy_alarm(naming.incident_responder_role(prefix)),
                responder_interface_alarm(naming.incident_responder_role(prefix)),
                trail_recording_alarm(),
                alarm_tampering_alarm(self.account),
            ),
        )
