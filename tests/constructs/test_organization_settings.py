"""OrganizationSettings: root access centralised, and the function may touch this organisation only."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline.constructs.organization_settings import OrganizationSettings
from tests.constructs.helpers import nag_violations, new_stack

MANAGEMENT = "111122223333"
ORG = "o-abcdefghij"
ROOT = f"arn:aws:organizations::{MANAGEMENT}:root/{ORG}/r-ab12"
SETTINGS: dict[str, Any] = {
    "prefix": "acme",
    "organization_id": ORG,
    "root_id": "r-ab12",
    "management_account_id": MANAGEMENT,
    "policy_types": ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"],
}


def _build(**kwargs: Any) -> tuple[cdk.App, assertions.Template]:
    app, stack = new_stack()
    OrganizationSettings(stack, "Settings", **{**SETTINGS, **kwargs})
    return app, assertions.Template.from_stack(stack)


@pytest.fixture(scope="module")
def default() -> tuple[cdk.App, assertions.Template]:
    return _build()


@pytest.fixture(scope="module")
def delegated() -> tuple[cdk.App, assertions.Template]:
    return _build(
        security_admin="444455556666",
        stacksets_delegated_admin="555566667777",
        governed_regions=["eu-west-1", "eu-central-1"],
        ram_sharing=True,
    )


def _settings(template: assertions.Template) -> dict[str, Any]:
    (resource,) = template.find_resources("Custom::OrganizationSettings").values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def _statements(template: assertions.Template) -> dict[str, dict[str, Any]]:
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_centralises_root_access_and_enables_the_policy_types(default: Any) -> None:
    _, template = default
    settings = _settings(template)
    assert settings["CentralizedRootAccess"] == "true"
    assert settings["RootId"] == "r-ab12"
    assert settings["PolicyTypes"] == ["RESOURCE_CONTROL_POLICY", "SERVICE_CONTROL_POLICY"]
    assert settings["ServicePrincipals"] == [
        "account.amazonaws.com",
        "backup.amazonaws.com",
        "cloudtrail.amazonaws.com",
        "iam.amazonaws.com",
    ]
    assert settings["StackSetsAccess"] == "true"
    assert settings["RamSharing"] == "false"
    assert settings["DelegatedAdministrators"] == []
    assert settings["ServiceAdministrators"] == {}


def test_the_function_may_change_this_organisation_only(default: Any) -> None:
    _, template = default
    statements = _statements(template)
    assert sorted(statements) == [
        "CreateStackSetsServiceLinkedRole",
        "EnablePolicyTypesOnTheRoot",
        "EnableStackSetsTrustedAccess",
        "EnableTrustedAccessForTheKitsServices",
        "PlaceAccountsInTheirOus",
        "ReadAndEnableOrganizationFeatures",
        "SendFailedEvents",
        "SetSecurityContacts",
        "UseOwnKey",
        "WriteOwnLogs",
        "WriteTraces",
    ]
    # trusted access only for the services the kit uses, never any other
    assert statements["EnableTrustedAccessForTheKitsServices"] == {
        "Action": "organizations:EnableAWSServiceAccess",
        "Condition": {
            "StringEquals": {
                "organizations:ServicePrincipal": [
                    "account.amazonaws.com",
                    "backup.amazonaws.com",
                    "cloudtrail.amazonaws.com",
                    "iam.amazonaws.com",
                    "member.org.stacksets.cloudformation.amazonaws.com",
                    "stacksets.cloudformation.amazonaws.com",
                ]
            }
        },
        "Effect": "Allow",
        "Resource": "*",
        "Sid": "EnableTrustedAccessForTheKitsServices",
    }
    assert "organizations:EnableAWSServiceAccess" not in str(
        statements["ReadAndEnableOrganizationFeatures"]["Action"]
    )
    assert statements["EnablePolicyTypesOnTheRoot"]["Action"] == "organizations:EnablePolicyType"
    assert statements["EnablePolicyTypesOnTheRoot"]["Resource"] == ROOT
    assert sorted(statements["PlaceAccountsInTheirOus"]["Action"]) == [
        "organizations:ListParents",
        "organizations:MoveAccount",
    ]
    assert statements["PlaceAccountsInTheirOus"]["Resource"] == [
        f"arn:aws:organizations::{MANAGEMENT}:account/{ORG}/*",
        f"arn:aws:organizations::{MANAGEMENT}:ou/{ORG}/*",
        ROOT,
    ]
    assert statements["SetSecurityContacts"] == {
        "Action": "account:PutAlternateContact",
        "Effect": "Allow",
        "Resource": [
            f"arn:aws:account::{MANAGEMENT}:account",
            f"arn:aws:account::{MANAGEMENT}:account/{ORG}/*",
        ],
        "Sid": "SetSecurityContacts",
    }
    assert statements["CreateStackSetsServiceLinkedRole"]["Resource"] == (
        f"arn:aws:iam::{MANAGEMENT}:role/aws-service-role/stacksets.cloudformation.amazonaws.com/"
        "AWSServiceRoleForCloudFormationStackSetsOrgAdmin"
    )
    # no way to leave the organisation, close accounts or register delegated admins
    actions = str([s["Action"] for s in statements.values()])
    for forbidden in (
        "LeaveOrganization",
        "CloseAccount",
        "RegisterDelegatedAdministrator",
        "ram:",
    ):
        assert forbidden not in actions, forbidden


def test_the_function_logs_and_queue_are_under_its_own_key(default: Any) -> None:
    _, template = default
    ((key_id, key),) = template.find_resources("AWS::KMS::Key").items()
    (group,) = template.find_resources("AWS::Logs::LogGroup").values()
    assert group["Properties"]["LogGroupName"] == "/acme/organization-settings"
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (queue,) = template.find_resources("AWS::SQS::Queue").values()
    assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (logs,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"}
    ]
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": (
                f"arn:aws:logs:eu-west-1:{MANAGEMENT}:log-group:/acme/organization-settings"
            )
        }
    }
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    assert function["Properties"]["FunctionName"] == "acme-organization-settings"
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_passes_every_nag_pack(default: Any) -> None:
    app, _ = default
    assert nag_violations(app) == []


def test_delegates_to_the_named_accounts_only(delegated: Any) -> None:
    _, template = delegated
    settings = _settings(template)
    assert settings["DelegatedAdministrators"] == [
        {
            "AccountId": "555566667777",
            "ServicePrincipal": "member.org.stacksets.cloudformation.amazonaws.com",
        },
        {"AccountId": "444455556666", "ServicePrincipal": "access-analyzer.amazonaws.com"},
        {
            "AccountId": "444455556666",
            "ServicePrincipal": "config-multiaccountsetup.amazonaws.com",
        },
        {"AccountId": "444455556666", "ServicePrincipal": "config.amazonaws.com"},
    ]
    assert settings["ServiceAdministrators"] == {
        "AccountId": "444455556666",
        "Regions": ["eu-west-1", "eu-central-1"],
        "Services": ["detective", "guardduty", "inspector2", "macie2", "securityhub"],
    }
    assert settings["RamSharing"] == "true"
    statements = _statements(template)
    # each account for its own services only
    audit = statements["RegisterDelegatedAdministrator444455556666"]
    stacksets = statements["RegisterDelegatedAdministrator555566667777"]
    assert audit["Resource"] == f"arn:aws:organizations::{MANAGEMENT}:account/{ORG}/444455556666"
    assert stacksets["Resource"] == (
        f"arn:aws:organizations::{MANAGEMENT}:account/{ORG}/555566667777"
    )
    assert stacksets["Condition"] == {
        "StringEquals": {
            "organizations:ServicePrincipal": ["member.org.stacksets.cloudformation.amazonaws.com"]
        }
    }
    security_services = [
        "access-analyzer.amazonaws.com",
        "config-multiaccountsetup.amazonaws.com",
        "config.amazonaws.com",
        "detective.amazonaws.com",
        "guardduty.amazonaws.com",
        "inspector2.amazonaws.com",
        "macie.amazonaws.com",
        "malware-protection.guardduty.amazonaws.com",
        "securityhub.amazonaws.com",
    ]
    assert audit["Condition"] == {
        "StringEquals": {"organizations:ServicePrincipal": security_services}
    }
    # GuardDuty, Inspector and Detective document these for the designating caller
    assert sorted(statements["ReadTheOrganizationForDesignation"]["Action"]) == [
        "organizations:DescribeAccount",
        "organizations:DescribeOrganizationalUnit",
        "organizations:ListAccounts",
    ]
    trusted = statements["EnableTrustedAccessForTheKitsServices"]["Condition"]["StringEquals"]
    assert set(security_services) | {"ram.amazonaws.com"} <= set(
        trusted["organizations:ServicePrincipal"]
    )
    linked = statements["CreateTheServicesLinkedRoles"]
    assert linked["Resource"] == f"arn:aws:iam::{MANAGEMENT}:role/aws-service-role/*"
    assert linked["Condition"] == {"StringLike": {"iam:AWSServiceName": security_services}}
    assert statements["CreateRamServiceLinkedRole"]["Resource"] == (
        f"arn:aws:iam::{MANAGEMENT}:role/aws-service-role/ram.amazonaws.com/"
        "AWSServiceRoleForResourceAccessManager"
    )


def test_delegated_settings_pass_every_nag_pack(delegated: Any) -> None:
    app, _ = delegated
    assert nag_violations(app) == []


def test_root_access_stays_with_members_only_when_asked() -> None:
    _, template = _build(centralized_root_access=False)
    assert _settings(template)["CentralizedRootAccess"] == "false"


def test_fails_a_prefix_that_makes_a_reserved_key_alias() -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match="starts with alias/aws/"):
        OrganizationSettings(stack, "Settings", **{**SETTINGS, "prefix": "aws"})


def test_without_a_security_administrator_nothing_is_designated() -> None:
    """Only a StackSets administrator: its registration, and none of the designation's
    reads, service calls or service-linked roles."""
    _, template = _build(stacksets_delegated_admin="555566667777")
    statements = _statements(template)
    assert "RegisterDelegatedAdministrator555566667777" in statements
    registering = [sid for sid in statements if sid.startswith("RegisterDelegated")]
    assert registering == ["RegisterDelegatedAdministrator555566667777"]
    for sid in (
        "ReadTheOrganizationForDesignation",
        "DesignateServiceAdministrators",
        "CreateTheServicesLinkedRoles",
    ):
        assert sid not in statements
