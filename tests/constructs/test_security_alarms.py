"""SecurityAlarms: every CIS 4.x event is in its filter, and each filter has a working alarm."""

from __future__ import annotations

import re

import pytest
from aws_cdk import assertions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns

from baseline.constructs.security_alarms import (
    CIS_ALARMS,
    SecurityAlarms,
    break_glass_alarm,
    responder_interface_alarm,
    responder_policy_alarm,
)
from tests.constructs.helpers import new_stack

#: CIS AWS Foundations Benchmark v5.0.0 section 4: the events each recommendation names.
CIS_EVENTS = {
    "4.4": [
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
    ],
    "4.5": ["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"],
    "4.6": ["ConsoleLogin"],
    "4.7": ["DisableKey", "ScheduleKeyDeletion"],
    "4.8": [
        "PutBucketAcl",
        "PutBucketPolicy",
        "PutBucketCors",
        "PutBucketLifecycle",
        "PutBucketReplication",
        "DeleteBucketPolicy",
        "DeleteBucketCors",
        "DeleteBucketLifecycle",
        "DeleteBucketReplication",
    ],
    "4.9": [
        "StopConfigurationRecorder",
        "DeleteDeliveryChannel",
        "PutDeliveryChannel",
        "PutConfigurationRecorder",
    ],
    "4.10": [
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
        "ModifySecurityGroupRules",
    ],
    "4.11": [
        "CreateNetworkAcl",
        "CreateNetworkAclEntry",
        "DeleteNetworkAcl",
        "DeleteNetworkAclEntry",
        "ReplaceNetworkAclEntry",
        "ReplaceNetworkAclAssociation",
    ],
    "4.12": [
        "CreateCustomerGateway",
        "DeleteCustomerGateway",
        "AttachInternetGateway",
        "CreateInternetGateway",
        "DeleteInternetGateway",
        "DetachInternetGateway",
    ],
    "4.13": [
        "CreateRoute",
        "CreateRouteTable",
        "ReplaceRoute",
        "ReplaceRouteTableAssociation",
        "DeleteRouteTable",
        "DeleteRoute",
        "DisassociateRouteTable",
    ],
    "4.14": [
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
    ],
    "4.15": [
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
    ],
}

BY_CIS = {alarm.cis: alarm for alarm in CIS_ALARMS}


def test_every_cis_monitoring_recommendation_has_an_alarm() -> None:
    assert sorted(BY_CIS, key=lambda c: int(c.split(".")[1])) == [f"4.{i}" for i in range(1, 16)]
    assert len({a.id for a in CIS_ALARMS}) == 15


@pytest.mark.parametrize("cis", sorted(CIS_EVENTS))
def test_every_listed_event_name_is_in_the_filter(cis: str) -> None:
    pattern = BY_CIS[cis].pattern
    for event in CIS_EVENTS[cis]:
        assert re.search(rf'\$\.eventName\s*=\s*"?{event}"?\s*\)', pattern), f"{cis}: {event}"


@pytest.mark.parametrize(
    ("cis", "fragments"),
    [
        (
            "4.1",
            [
                '$.errorCode = "*UnauthorizedOperation"',
                '$.errorCode = "AccessDenied*"',
                "HeadBucket",
            ],
        ),
        (
            "4.2",
            [
                '$.additionalEventData.MFAUsed != "Yes"',
                '$.responseElements.ConsoleLogin = "Success"',
            ],
        ),
        (
            "4.3",
            [
                '$.userIdentity.type = "Root"',
                "$.userIdentity.invokedBy NOT EXISTS",
                '$.eventType != "AwsServiceEvent"',
            ],
        ),
        ("4.6", ['$.errorMessage = "Failed authentication"']),
        ("4.7", ["$.eventSource = kms.amazonaws.com"]),
        ("4.15", ["$.eventSource = organizations.amazonaws.com"]),
    ],
)
def test_conditions_of_the_benchmark_are_kept(cis: str, fragments: list[str]) -> None:
    for fragment in fragments:
        assert fragment in BY_CIS[cis].pattern


def test_patterns_are_balanced_and_each_alarm_says_what_to_do() -> None:
    for alarm in (
        *CIS_ALARMS,
        break_glass_alarm("nwl-break-glass"),
        responder_policy_alarm("nwl-incident-responder"),
        responder_interface_alarm("nwl-incident-responder"),
    ):
        assert alarm.pattern.startswith("{") and alarm.pattern.endswith("}")
        assert alarm.pattern.count("(") == alarm.pattern.count(")"), alarm.id
        assert len(alarm.action.split()) >= 6, alarm.id


def test_each_alarm_watches_its_filter_and_notifies_the_topic() -> None:
    _, stack = new_stack()
    group = logs.LogGroup(stack, "Trail", log_group_name="/acme/trail")
    topic = sns.Topic(stack, "Topic")
    SecurityAlarms(
        stack,
        "Alarms",
        prefix="acme",
        log_group=group,
        topic=topic,
        extra=(break_glass_alarm("acme-break-glass"),),
    )
    template = assertions.Template.from_stack(stack)
    (group_id,) = template.find_resources("AWS::Logs::LogGroup")
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]
        for f in template.find_resources("AWS::Logs::MetricFilter").values()
    }
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert len(filters) == len(alarms) == 16
    assert filters["RootUsage"]["LogGroupName"] == {"Ref": group_id}
    assert filters["RootUsage"]["FilterPattern"] == (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
        '$.eventType != "AwsServiceEvent" }'
    )
    assert filters["RootUsage"]["MetricTransformations"] == [
        {"MetricName": "RootUsage", "MetricNamespace": "CISBenchmark", "MetricValue": "1"}
    ]
    for metric, alarm_filter in filters.items():
        assert alarm_filter["LogGroupName"] == {"Ref": group_id}, metric
    root = alarms["acme-root-usage"]
    assert root["AlarmDescription"].startswith("CIS 4.3: Usage of the root user.")
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["MetricName"] in filters, name
        assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == (
            "CISBenchmark",
            "Sum",
            300,
        ), name
        assert alarm["Threshold"] == 1 and alarm["EvaluationPeriods"] == 1, name
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert alarm["TreatMissingData"] == "notBreaching", name
    assert alarms["acme-break-glass-use"]["AlarmDescription"].startswith(
        "Use of the break-glass role."
    )
    assert 'roleArn = "*:role/acme-break-glass"' in filters["BreakGlassUse"]["FilterPattern"]


def test_every_inline_policy_of_the_responder_alarms() -> None:
    """By role, not by policy name: the writer chooses the name."""
    pattern = responder_policy_alarm("nwl-incident-responder").pattern
    assert pattern == (
        '{ ($.eventName = "PutRolePolicy") && '
        '($.userIdentity.sessionContext.sessionIssuer.userName = "nwl-incident-responder") }'
    )


def test_an_interface_change_of_the_responder_other_than_its_groups_alarms() -> None:
    # the containment's own change names the groups (CloudTrail's groupSet); any other
    # attribute of the same call (a public address) does not
    pattern = responder_interface_alarm("nwl-incident-responder").pattern
    assert pattern == (
        '{ ($.eventName = "ModifyNetworkInterfaceAttribute") && '
        '($.userIdentity.sessionContext.sessionIssuer.userName = "nwl-incident-responder") && '
        "($.requestParameters.groupSet NOT EXISTS) }"
    )
