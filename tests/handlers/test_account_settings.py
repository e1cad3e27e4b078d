"""The member baseline's inline account-settings handler, with fake AWS clients."""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

import pytest

from baseline.stacks.member_baseline import INLINE_CODE_LIMIT, inline_handler_source
from tests.handlers.validating import Validated


class RoleExistsError(Exception):
    """What the fake IAM client raises for a role that exists already."""


class FakeClientError(Exception):
    """botocore's ClientError as the handler reads it: the error code in ``response``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeEc2:
    """A fake boto3 client: records every call, answers Describe calls with a default VPC;
    ``delete_vpc`` raises ``refuse`` (an error code) when given."""

    exceptions = types.SimpleNamespace(InvalidInputException=RoleExistsError)

    def __init__(self, *, enis: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.enis = enis
        self.refuse: str | None = None

    def delete_vpc(self, **kwargs: Any) -> None:
        self.calls.append(("delete_vpc", kwargs))
        if self.refuse:
            raise FakeClientError(self.refuse)

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return {
                "describe_vpcs": {"Vpcs": [{"VpcId": "vpc-default"}]},
                "describe_network_interfaces": {
                    "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1"}] if self.enis else []
                },
                "describe_internet_gateways": {
                    "InternetGateways": [{"InternetGatewayId": "igw-1"}]
                },
                "describe_subnets": {
                    "Subnets": [{"SubnetId": "subnet-a"}, {"SubnetId": "subnet-b"}]
                },
                "describe_security_groups": {
                    "SecurityGroups": [
                        {
                            "GroupId": "sg-default",
                            "IpPermissions": [
                                {
                                    "IpProtocol": "-1",
                                    "UserIdGroupPairs": [{"GroupId": "sg-default"}],
                                }
                            ],
                            "IpPermissionsEgress": [
                                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                            ],
                        }
                    ]
                },
            }.get(name, {})

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class NoDocumentError(Exception):
    """What the fake SSM client raises for a document that does not exist (InvalidDocument)."""


class SameContentError(Exception):
    """What it raises for an update that changes nothing (DuplicateDocumentContent)."""


class FakeSsm(FakeEc2):
    """SSM: the preferences document exists (``existing``) with other content, or not;
    ``versions`` are its default and latest versions."""

    exceptions = types.SimpleNamespace(
        InvalidDocument=NoDocumentError, DuplicateDocumentContent=SameContentError
    )

    def __init__(self, existing: str | None = "other") -> None:
        super().__init__()
        self.existing = existing
        self.versions = ("2", "2")

    def update_document(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("update_document", kwargs))
        if self.existing is None:
            raise NoDocumentError
        if self.existing == kwargs["Content"]:
            raise SameContentError
        return {"DocumentDescription": {"Name": kwargs["Name"], "DocumentVersion": "3"}}

    def describe_document(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("describe_document", kwargs))
        default, latest = self.versions
        return {
            "Document": {
                "Name": kwargs["Name"],
                "DocumentVersion": default,
                "DefaultVersion": default,
                "LatestVersion": latest,
            }
        }


PREFERENCES = '{"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {}}'


@pytest.fixture
def module(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[types.ModuleType, dict[str, Any], list[tuple[str, str]]]:
    clients: dict[str, Any] = {
        "ec2": FakeEc2(),
        "iam": FakeEc2(),
        "s3control": FakeEc2(),
        "ssm": FakeSsm(),
    }
    responses: list[tuple[str, str]] = []
    boto3 = types.SimpleNamespace(
        client=lambda service, config=None: Validated(service, clients[service])
    )
    cfnresponse = types.SimpleNamespace(
        SUCCESS="SUCCESS",
        FAILED="FAILED",
        send=lambda event, context, status, data, physical, reason=None: responses.append(
            (status, reason or "")
        ),
    )
    botocore = types.ModuleType("botocore")
    botocore_config = types.ModuleType("botocore.config")
    botocore_config.Config = lambda **kwargs: kwargs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", boto3)
    monkeypatch.setitem(sys.modules, "cfnresponse", cfnresponse)
    monkeypatch.setitem(sys.modules, "botocore", botocore)
    monkeypatch.setitem(sys.modules, "botocore.config", botocore_config)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    sys.modules.pop("baseline.handlers.account_settings", None)
    loaded = importlib.import_module("baseline.handlers.account_settings")
    return loaded, clients, responses


def _event(request_type: str = "Create", **properties: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResourceProperties": {
            "HomeRegion": "true",
            "AccountId": "756789012345",
            "DefaultVpcs": "close_default_security_groups",
            **properties,
        },
    }


def test_inline_source_fits_cloudformation_limit() -> None:
    assert len(inline_handler_source()) <= INLINE_CODE_LIMIT
    assert "def handler(" in inline_handler_source()


def test_the_inline_source_is_the_same_program(module: Any) -> None:
    """What the template carries (one space per indentation level, no comments) runs as
    the module does."""
    _, clients, responses = module
    inline = types.ModuleType("index")
    exec(compile(inline_handler_source(), "index.py", "exec"), inline.__dict__)  # noqa: S102
    inline.handler(_event(SessionPrefs=PREFERENCES, InstanceRole="nwl-dim"), None)
    assert responses == [("SUCCESS", "")]
    assert "update_service_setting" in clients["ssm"].names()


def test_session_manager_preferences_are_made_or_updated(module: Any) -> None:
    handler, clients, responses = module
    properties = {"SessionPrefs": PREFERENCES, "InstanceRole": "nwl-default-instance-management"}
    handler.handler(_event(**properties), None)  # the console's own document exists
    names = clients["ssm"].names()
    assert names == [
        "update_document",
        "update_document_default_version",
        "update_service_setting",
    ]
    calls = dict(clients["ssm"].calls)
    assert calls["update_document_default_version"]["DocumentVersion"] == "3"
    assert calls["update_service_setting"] == {
        "SettingId": "/ssm/managed-instance/default-ec2-instance-management-role",
        "SettingValue": "nwl-default-instance-management",
    }
    # a new account: no document yet, so it is made
    clients["ssm"].calls.clear()
    clients["ssm"].existing = None
    handler.handler(_event(**properties), None)
    made = dict(clients["ssm"].calls)["create_document"]
    assert made == {
        "Name": "SSM-SessionManagerRunShell",
        "Content": PREFERENCES,
        "DocumentType": "Session",
    }
    # as it should be already: the latest version has the preferences and is the default
    clients["ssm"].calls.clear()
    clients["ssm"].existing = PREFERENCES
    handler.handler(_event(**properties), None)
    assert clients["ssm"].names() == [
        "update_document",
        "describe_document",
        "update_service_setting",
    ]
    assert responses == [("SUCCESS", "")] * 3


def test_preferences_left_short_of_the_default_by_a_failed_run_become_the_default(
    module: Any,
) -> None:
    """An earlier run wrote version 2 and failed before making it the default: the update
    now changes nothing (DuplicateDocumentContent), and sessions still use version 1."""
    handler, clients, responses = module
    clients["ssm"].existing = PREFERENCES
    clients["ssm"].versions = ("1", "2")
    properties = {"SessionPrefs": PREFERENCES, "InstanceRole": "nwl-default-instance-management"}
    handler.handler(_event(**properties), None)
    assert responses == [("SUCCESS", "")]
    assert clients["ssm"].calls[:3] == [
        (
            "update_document",
            {
                "Name": "SSM-SessionManagerRunShell",
                "Content": PREFERENCES,
                "DocumentVersion": "$LATEST",
            },
        ),
        ("describe_document", {"Name": "SSM-SessionManagerRunShell"}),
        (
            "update_document_default_version",
            {"Name": "SSM-SessionManagerRunShell", "DocumentVersion": "2"},
        ),
    ]


def test_home_region_applies_account_wide_settings(module: Any) -> None:
    handler, clients, responses = module
    handler.handler(_event(), None)
    assert responses == [("SUCCESS", "")]
    slr, policy = clients["iam"].calls
    assert slr == ("create_service_linked_role", {"AWSServiceName": "config.amazonaws.com"})
    assert policy[0] == "update_account_password_policy"
    assert policy[1]["MinimumPasswordLength"] >= 14 and policy[1]["PasswordReusePrevention"] >= 24
    (bpa,) = clients["s3control"].calls
    assert bpa[1]["AccountId"] == "756789012345"
    assert all(bpa[1]["PublicAccessBlockConfiguration"].values())
    ec2 = clients["ec2"].names()
    assert "enable_ebs_encryption_by_default" in ec2 and "reset_ebs_default_kms_key_id" in ec2
    assert "modify_instance_metadata_defaults" not in ec2  # the declarative policy owns them


def test_a_single_account_sets_its_own_imds_defaults(module: Any) -> None:
    handler, clients, _ = module
    handler.handler(_event(ImdsDefaults="true"), None)
    metadata = dict(clients["ec2"].calls)["modify_instance_metadata_defaults"]
    assert metadata["HttpTokens"] == "required" and metadata["HttpPutResponseHopLimit"] == 2


def test_other_regions_leave_global_settings_alone(module: Any) -> None:
    handler, clients, _ = module
    handler.handler(_event(HomeRegion="false"), None)
    assert [name for name, _ in clients["iam"].calls] == ["create_service_linked_role"]
    assert clients["s3control"].calls == []
    assert "enable_ebs_encryption_by_default" in clients["ec2"].names()


def test_customer_managed_ebs_key_is_set(module: Any) -> None:
    handler, clients, _ = module
    handler.handler(_event(EbsKmsKeyId="arn:aws:kms:eu-west-1:756789012345:key/1"), None)
    assert dict(clients["ec2"].calls)["modify_ebs_default_kms_key_id"] == {
        "KmsKeyId": "arn:aws:kms:eu-west-1:756789012345:key/1"
    }


def test_default_security_group_is_closed(module: Any) -> None:
    handler, clients, _ = module
    handler.handler(_event(), None)
    names = clients["ec2"].names()
    assert "revoke_security_group_ingress" in names and "revoke_security_group_egress" in names
    assert "delete_vpc" not in names


def test_empty_default_vpc_is_deleted_when_asked(module: Any) -> None:
    handler, clients, _ = module
    handler.handler(_event(DefaultVpcs="delete"), None)
    names = clients["ec2"].names()
    assert names.index("detach_internet_gateway") < names.index("delete_vpc")
    assert names.count("delete_subnet") == 2


def test_a_default_vpc_that_keeps_more_is_emptied_and_closed(module: Any) -> None:
    """Something more in it (a gateway endpoint, a security group): DeleteVpc refuses it.
    The other settings still run, and the VPC, without subnets or gateway, is closed."""
    handler, clients, responses = module
    clients["ec2"].refuse = "DependencyViolation"
    handler.handler(_event(DefaultVpcs="delete"), None)
    names = clients["ec2"].names()
    assert names.count("delete_subnet") == 2 and "delete_vpc" in names
    assert names.index("delete_vpc") < names.index("revoke_security_group_ingress")
    assert responses == [("SUCCESS", "")]
    # any other refusal is the resource's
    clients["ec2"].refuse = "UnauthorizedOperation"
    responses.clear()
    handler.handler(_event(DefaultVpcs="delete"), None)
    ((status, reason),) = responses
    assert status == "FAILED" and "UnauthorizedOperation" in reason


def test_default_vpc_in_use_is_only_closed(module: Any) -> None:
    handler, clients, _ = module
    clients["ec2"].enis = True
    handler.handler(_event(DefaultVpcs="delete"), None)
    names = clients["ec2"].names()
    assert "delete_vpc" not in names and "revoke_security_group_ingress" in names


def test_an_existing_config_role_is_fine(module: Any) -> None:
    handler, clients, responses = module

    def exists(**kwargs: Any) -> None:
        raise RoleExistsError

    clients["iam"].create_service_linked_role = exists
    handler.handler(_event(), None)
    assert responses == [("SUCCESS", "")]


def test_delete_changes_nothing(module: Any) -> None:
    handler, clients, responses = module
    handler.handler(_event("Delete"), None)
    assert responses == [("SUCCESS", "")]
    assert all(c.calls == [] for c in clients.values())


def test_failure_is_reported_to_cloudformation(module: Any) -> None:
    handler, clients, responses = module

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("throttled for good")

    clients["iam"].update_account_password_policy = boom
    handler.handler(_event(), None)
    assert responses[0][0] == "FAILED" and "throttled for good" in responses[0][1]
