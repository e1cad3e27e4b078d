"""SecurityAlarms: every CIS 4.x event is in its filter, and each filter has a working alarm."""

from __future__ import annotations

import re

import pytest

from baseline.constructs.organization_trail import event_selectors
from baseline.constructs.security_alarms import CIS_ALARMS, break_glass_alarm

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
    for alarm in (*CIS_ALARMS, break_glass_alarm("nwl-break-glass")):
        assert alarm.pattern.startswith("{") and alarm.pattern.endswith("}")
        assert alarm.pattern.count("(") == alarm.pattern.count(")"), alarm.id
        assert len(alarm.action.split()) >= 6, alarm.id


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
    everything = event_selectors(s3_data_events="all", lambda_data_events=True)
    assert "readOnly" not in {f["Field"] for f in everything[1]["FieldSelectors"]}
    assert everything[2]["FieldSelectors"][1] == {
        "Field": "resources.type",
        "Equals": ["AWS::Lambda::Function"],
    }
    assert len(event_selectors(s3_data_events="none", lambda_data_events=False)) == 1


def test_fails_unknown_data_event_setting() -> None:
    with pytest.raises(ValueError, match="s3_data_events must be one of"):
        event_selectors(s3_data_events="some", lambda_data_events=False)


def test_log_buckets_are_left_out_of_s3_data_events() -> None:
    (_, s3_selector) = event_selectors(
        s3_data_events="write", lambda_data_events=False, excluded_buckets=["nwl-logs-"]
    )
    assert {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::nwl-logs-"]} in s3_selector[
        "FieldSelectors"
    ]
