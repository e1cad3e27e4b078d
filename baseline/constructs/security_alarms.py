"""SecurityAlarms: the CIS AWS Foundations monitoring metric filters and alarms."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct


@dataclass(frozen=True)
class SecurityAlarm:
    """One metric filter and its alarm."""

    id: str
    cis: str
    title: str
    pattern: str
    action: str  # what a person does when it fires


def _any(*names: str) -> str:
    return " || ".join(f"($.eventName = {name})" for name in names)


#: CIS AWS Foundations Benchmark v5.0.0, section 4 (Monitoring), filter patterns as the
#: benchmark's remediation gives them (4.2 in the variant CIS offers for single sign-on,
#: to cut false positives); every listed event name is in its pattern.
CIS_ALARMS: tuple[SecurityAlarm, ...] = (
    SecurityAlarm(
        "unauthorized-api-calls",
        "4.1",
        "Unauthorized API calls",
        # CIS writes A || B && C && D; grouped so that both denials skip the two noises
        '{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && '
        '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }',
        "Find the principal and the denied call; repeated denials mean a misconfiguration or someone probing.",
    ),
    SecurityAlarm(
        "console-signin-without-mfa",
        "4.2",
        "Management console sign-in without MFA",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
        "An IAM user signed in without MFA: IAM users are denied by guardrail, so treat it as an incident.",
    ),
    SecurityAlarm(
        "root-usage",
        "4.3",
        "Usage of the root user",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
        '$.eventType != "AwsServiceEvent" }',
        "Confirm a planned privileged root task; otherwise follow the root-compromise runbook at once.",
    ),
    SecurityAlarm(
        "iam-policy-changes",
        "4.4",
        "IAM policy changes",
        "{ ($.eventSource = iam.amazonaws.com) && ("
        + _any(
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
        )
        + ") }",
        "Check the change against an approved deployment; unexpected grants of permissions are incidents.",
    ),
    SecurityAlarm(
        "cloudtrail-changes",
        "4.5",
        "CloudTrail configuration changes",
        "{ "
        + _any("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")
        + " }",
        "Logging is being changed: confirm the organisation trail still logs, and who changed what.",
    ),
    SecurityAlarm(
        "console-auth-failures",
        "4.6",
        "Management console authentication failures",
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
        "Repeated failures point to password guessing; check the source addresses.",
    ),
    SecurityAlarm(
        "cmk-disable-or-deletion",
        "4.7",
        "Disabling or scheduled deletion of customer-managed keys",
        "{ ($.eventSource = kms.amazonaws.com) && ("
        + _any("DisableKey", "ScheduleKeyDeletion")
        + ") }",
        "Data under the key becomes unreadable: cancel the deletion (30-day window) unless it is planned.",
    ),
    SecurityAlarm(
        "s3-bucket-policy-changes",
        "4.8",
        "S3 bucket policy changes",
        "{ ($.eventSource = s3.amazonaws.com) && ("
        + _any(
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        )
        + ") }",
        "Check that the bucket did not become public or shared beyond the organisation.",
    ),
    SecurityAlarm(
        "config-changes",
        "4.9",
        "AWS Config configuration changes",
        "{ ($.eventSource = config.amazonaws.com) && ("
        + _any(
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        )
        + ") }",
        "Recording is being changed: confirm the recorder still runs and delivers to the log archive.",
    ),
    SecurityAlarm(
        "security-group-changes",
        "4.10",
        "Security group changes",
        "{ "
        + _any(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
            "ModifySecurityGroupRules",
        )
        + " }",
        "Check for new ingress from the internet or unexpected ports.",
    ),
    SecurityAlarm(
        "nacl-changes",
        "4.11",
        "Network ACL changes",
        "{ "
        + _any(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        )
        + " }",
        "Check that the change matches an approved network change.",
    ),
    SecurityAlarm(
        "network-gateway-changes",
        "4.12",
        "Changes to network gateways",
        "{ "
        + _any(
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        )
        + " }",
        "A new path in or out of a network: confirm it is the network account's approved change.",
    ),
    SecurityAlarm(
        "route-table-changes",
        "4.13",
        "Route table changes",
        "{ "
        + _any(
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        )
        + " }",
        "Check that traffic is not routed around inspection.",
    ),
    SecurityAlarm(
        "vpc-changes",
        "4.14",
        "VPC changes",
        "{ "
        + _any(
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
        )
        + " }",
        "Check that the change matches an approved network change.",
    ),
    SecurityAlarm(
        "organizations-changes",
        "4.15",
        "AWS Organizations changes",
        "{ ($.eventSource = organizations.amazonaws.com) && ("
        + " || ".join(
            f'($.eventName = "{name}")'
            for name in (
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
            )
        )
        + ") }",
        "Guardrails or structure changed: confirm it was the landing zone's own deployment.",
    ),
)


def break_glass_alarm(role_name: str) -> SecurityAlarm:
    """Any assumption of the break-glass role, in any account."""
    return SecurityAlarm(
        "break-glass-use",
        "-",
        "Use of the break-glass role",
        f'{{ ($.eventName = "AssumeRole") && ($.requestParameters.roleArn = "*:role/{role_name}") }}',
        "Someone opened emergency access: confirm the incident it serves and review the session.",
    )


def responder_policy_alarm(role_name: str) -> SecurityAlarm:
    """Every inline policy the incident-responder role writes: IAM cannot limit the name
    or content of an inline policy, so each write pages, the revocation of a role's older
    sessions (which the containment mail also reports) included."""
    return SecurityAlarm(
        "responder-inline-policy",
        "-",
        "An inline policy written by the incident responder",
        f'{{ ($.eventName = "PutRolePolicy") && '
        f'($.userIdentity.sessionContext.sessionIssuer.userName = "{role_name}") }}',
        "Confirm it is one of a case's two: the revocation of older sessions "
        "(AWSRevokeOlderSessions, one Deny on aws:TokenIssueTime) or the deny of a contained "
        "instance's credentials (DenyContainedInstance-<instance id>, one Deny on "
        "ec2:SourceInstanceARN: keep it, it stops what was taken from the instance); anything "
        "else, remove at once and investigate.",
    )


def responder_interface_alarm(role_name: str) -> SecurityAlarm:
    """A change the incident-responder role makes to a network interface other than its
    groups: containment only moves interfaces into a quarantine group, while the same
    call (``ModifyNetworkInterfaceAttribute``, which IAM cannot narrow to one attribute)
    can also give an interface a public address or turn off its source/destination
    check."""
    return SecurityAlarm(
        "responder-interface-change",
        "-",
        "A network interface changed by the incident responder other than its groups",
        f'{{ ($.eventName = "ModifyNetworkInterfaceAttribute") && '
        f'($.userIdentity.sessionContext.sessionIssuer.userName = "{role_name}") && '
        "($.requestParameters.groupSet NOT EXISTS) }",
        "Containment only moves interfaces into a quarantine group: find what else changed "
        "(a public address, the source/destination check) and undo it at once.",
    )


def trail_recording_alarm() -> SecurityAlarm:
    """A change of what a trail records (its event or insight selectors): CIS 4.5 watches
    the trail's creation, update, deletion and logging, not the selectors that narrow what
    it records, and no guardrail reaches the management account that owns the
    organisation trail."""
    return SecurityAlarm(
        "trail-recording-changes",
        "-",
        "What a trail records changed",
        '{ ($.eventSource = "cloudtrail.amazonaws.com") && '
        f"({_any('PutEventSelectors', 'PutInsightSelectors')}) }}",
        "Confirm it was the landing zone's own deployment; otherwise restore the organisation "
        "trail's selectors (deploy the Trail stack) and find who narrowed them.",
    )


#: Calls that would silence the alarms: their metric filters, log group, alarms and topic.
ALARM_TAMPERING_EVENTS = (
    "DeleteAlarms",
    "DeleteLogGroup",
    "DeleteMetricFilter",
    "DeleteTopic",
    "DisableAlarmActions",
    "PutMetricAlarm",
    "PutMetricFilter",
    "PutRetentionPolicy",
    "SetTopicAttributes",
    "Unsubscribe",
)


def alarm_tampering_alarm(account_id: str) -> SecurityAlarm:
    """A change, in the account that holds the alarms (the management account, beyond the
    guardrails' reach), of a metric filter, log group, alarm or topic: each could silence
    the alarms above without a trail event they watch."""
    return SecurityAlarm(
        "alarm-tampering",
        "-",
        "A metric filter, log group, alarm or topic changed in the alarms' account",
        f'{{ ($.recipientAccountId = "{account_id}") && ({_any(*ALARM_TAMPERING_EVENTS)}) }}',
        "Confirm it was the landing zone's own deployment; otherwise redeploy the Trail "
        "stack, which restores the filters, alarms and topic, and find who changed them.",
    )


class SecurityAlarms(Construct):
    """CIS AWS Foundations v5.0.0 4.1-4.15 metric filters and alarms on a trail's log group.

    Implements SEC04-BP01/BP03 (actionable alerts on the events that matter). Each alarm:
    Sum over 5 minutes >= 1, missing data is not breaching, notifies the topic.
    """

    #: The namespace the CIS benchmark's remediation steps use.
    NAMESPACE = "CISBenchmark"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        log_group: logs.ILogGroup,
        topic: sns.ITopic,
        extra: tuple[SecurityAlarm, ...] = (),
    ) -> None:
        """Create one metric filter and one alarm per CIS control (and per ``extra``).

        :param prefix: names the alarms ``<prefix>-<id>`` (the guardrails protect them).
        :param log_group: the organisation trail's CloudWatch Logs group.
        :param topic: where the alarms notify.
        :param extra: further alarms, e.g. :func:`break_glass_alarm`. Default: none.
        """
        super().__init__(scope, construct_id)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for alarm in (*CIS_ALARMS, *extra):
            metric_name = "".join(part.capitalize() for part in alarm.id.split("-"))
            logs.MetricFilter(
                self,
                f"{metric_name}Filter",
                log_group=log_group,
                filter_pattern=logs.FilterPattern.literal(alarm.pattern),
                metric_namespace=self.NAMESPACE,
                metric_name=metric_name,
                metric_value="1",
            )
            created = cloudwatch.Alarm(
                self,
                f"{metric_name}Alarm",
                alarm_name=f"{prefix}-{alarm.id}",
                alarm_description=(
                    f"{'CIS ' + alarm.cis + ': ' if alarm.cis != '-' else ''}{alarm.title}. {alarm.action}"
                ),
                metric=cloudwatch.Metric(
                    namespace=self.NAMESPACE,
                    metric_name=metric_name,
                    statistic="Sum",
                    period=cdk.Duration.minutes(5),
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(actions.SnsAction(topic))
            self.alarms[alarm.id] = created
