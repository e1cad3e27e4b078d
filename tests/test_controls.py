"""Every control finds evidence in the example, and each check fails without its control."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from baseline.controls import CONTROLS, Templates, resources
from tests.conftest import Synthesized

BP_IDS = {
    f"SEC{a:02d}-BP{b:02d}"
    for a, n in [
        (1, 8),
        (2, 6),
        (3, 9),
        (4, 4),
        (5, 4),
        (6, 5),
        (7, 4),
        (8, 4),
        (9, 3),
        (10, 8),
        (11, 8),
    ]
    for b in range(1, n + 1)
}


@pytest.mark.parametrize("control", CONTROLS, ids=[c.id for c in CONTROLS])
def test_control_holds_in_the_example(control: Any, synthesized: Synthesized) -> None:
    evidence = control.check(synthesized.templates)
    assert evidence.found, f"{control.id}: no evidence"
    assert evidence.violations == [], f"{control.id}: {evidence.violations}"


def test_registry_is_well_formed() -> None:
    ids = [c.id for c in CONTROLS]
    assert len(ids) == len(set(ids))
    for control in CONTROLS:
        assert control.best_practices, control.id
        assert set(control.best_practices) <= BP_IDS, control.id
        for implementation in control.implemented_by.split(", "):
            dotted = implementation.split(" (")[0]
            module, _, name = dotted.rpartition(".")
            imported = __import__(module, fromlist=[name])
            assert hasattr(imported, name), control.implemented_by


def _first(
    templates: dict[str, Any],
    resource_type: str,
    predicate: Callable[[dict[str, Any]], bool] = lambda r: True,
) -> dict[str, Any]:
    for _, resource in resources(templates, resource_type):
        if predicate(resource):
            return resource
    raise AssertionError(resource_type)


def _is_log_bucket(resource: dict[str, Any]) -> bool:
    return "-logs-" in str(resource["Properties"].get("BucketName", ""))


def _is_source_log_bucket(resource: dict[str, Any]) -> bool:
    return _is_log_bucket(resource) and "ReplicationConfiguration" in resource["Properties"]


def _drop_statement(templates: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> None:
    for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [s for s in statements if not predicate(s)]


def _loosen_writer(templates: dict[str, Any]) -> None:
    for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "ConfigWrite":
                statement["Condition"]["StringEquals"].pop("aws:SourceOrgID")


def _policy_statements(templates: dict[str, Any], policy_type: str) -> list[dict[str, Any]]:
    found = []
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == policy_type:
            found += policy["Properties"]["Content"]["Statement"]
    return found


def _drop_policy_statements(
    templates: dict[str, Any], policy_type: str, predicate: Callable[[dict[str, Any]], bool]
) -> None:
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == policy_type:
            statements = policy["Properties"]["Content"]["Statement"]
            statements[:] = [s for s in statements if not predicate(s)]


def _sid(*sids: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s.get("Sid") in sids


def _drop_policy_type(templates: dict[str, Any], policy_type: str) -> None:
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == policy_type:
            policy["Properties"]["TargetIds"] = []


def _bloat_an_scp(templates: dict[str, Any]) -> None:
    statements = _policy_statements(templates, "SERVICE_CONTROL_POLICY")
    statements[0]["Action"] = [
        *statements[0]["Action"],
        *[f"svc:Action{i:05d}" for i in range(400)],
    ]


def _imds_default_optional(templates: dict[str, Any]) -> None:
    for _, policy in resources(templates, "AWS::Organizations::Policy"):
        if policy["Properties"]["Type"] == "DECLARATIVE_POLICY_EC2":
            attributes = policy["Properties"]["Content"]["ec2_attributes"]
            if "instance_metadata_defaults" in attributes:
                attributes["instance_metadata_defaults"]["http_tokens"]["@@assign"] = "optional"


def _edit_member_template(
    templates: dict[str, Any], edit: Callable[[dict[str, Any]], None]
) -> None:
    (stack_set,) = [r for _, r in resources(templates, "AWS::CloudFormation::StackSet")]
    member = json.loads(stack_set["Properties"]["TemplateBody"])
    edit(member)
    stack_set["Properties"]["TemplateBody"] = json.dumps(member)


def _member_resources(member: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in member["Resources"].values() if r["Type"] == resource_type]


def _drop_mfa(member: dict[str, Any]) -> None:
    for role in _member_resources(member, "AWS::IAM::Role"):
        if str(role["Properties"].get("RoleName", "")).endswith("-break-glass"):
            for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                statement.pop("Condition", None)


WEAKENINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "LZ-KMS-01": lambda t: _first(t, "AWS::KMS::Key")["Properties"].update(EnableKeyRotation=False),
    "LZ-S3-01": lambda t: _first(t, "AWS::S3::Bucket")["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]["ServerSideEncryptionByDefault"].update(SSEAlgorithm="AES256"),
    "LZ-S3-02": lambda t: _drop_statement(t, lambda s: "NumericLessThan" in s.get("Condition", {})),
    "LZ-S3-03": lambda t: _first(t, "AWS::S3::Bucket")["Properties"][
        "PublicAccessBlockConfiguration"
    ].update(BlockPublicPolicy=False),
    "LZ-S3-04": lambda t: _first(t, "AWS::S3::Bucket").update(DeletionPolicy="Delete"),
    "LZ-LOG-01": lambda t: _first(t, "AWS::S3::Bucket", _is_log_bucket)["Properties"].pop(
        "LoggingConfiguration"
    ),
    "LZ-LOG-02": lambda t: _first(t, "AWS::S3::Bucket", _is_log_bucket)["Properties"].pop(
        "ObjectLockConfiguration"
    ),
    "LZ-LOG-03": lambda t: _first(t, "AWS::S3::Bucket", _is_source_log_bucket)["Properties"][
        "ReplicationConfiguration"
    ]["Rules"][0].update(Status="Disabled"),
    "LZ-LOG-04": _loosen_writer,
    "LZ-ORG-01": lambda t: _first(t, "AWS::Organizations::OrganizationalUnit").update(
        DeletionPolicy="Delete"
    ),
    "LZ-GR-01": _bloat_an_scp,
    "LZ-GR-02": lambda t: _drop_policy_statements(
        t, "SERVICE_CONTROL_POLICY", _sid("DenyRootUser")
    ),
    "LZ-GR-03": lambda t: _drop_policy_statements(
        t, "SERVICE_CONTROL_POLICY", _sid("ProtectSecurityServices")
    ),
    "LZ-GR-04": lambda t: _drop_policy_statements(
        t, "SERVICE_CONTROL_POLICY", _sid("DenyLongTermCredentials")
    ),
    "LZ-GR-05": lambda t: _drop_policy_statements(
        t, "SERVICE_CONTROL_POLICY", _sid("DenyUngovernedRegions")
    ),
    "LZ-GR-06": _imds_default_optional,
    "LZ-GR-07": lambda t: _drop_policy_type(t, "RESOURCE_CONTROL_POLICY"),
    "LZ-ORG-02": lambda t: _drop_policy_type(t, "AISERVICES_OPT_OUT_POLICY"),
    "LZ-MB-01": lambda t: _first(t, "AWS::CloudFormation::StackSet")["Properties"][
        "AutoDeployment"
    ].update(Enabled=False),
    "LZ-MB-02": lambda t: _edit_member_template(
        t,
        lambda m: _member_resources(m, "AWS::Config::ConfigurationRecorder")[0]["Properties"][
            "RecordingGroup"
        ].update(AllSupported=False),
    ),
    "LZ-MB-03": lambda t: _edit_member_template(
        t,
        lambda m: _member_resources(m, "AWS::Lambda::Function")[0]["Properties"]["Code"].update(
            ZipFile="def handler(e, c): pass"
        ),
    ),
    "LZ-MB-04": lambda t: _edit_member_template(t, _drop_mfa),
    "LZ-TRAIL-01": lambda t: _first(t, "AWS::CloudTrail::Trail")["Properties"].update(
        EnableLogFileValidation=False
    ),
    "LZ-ALARM-01": lambda t: _first(
        t, "AWS::CloudWatch::Alarm", lambda a: "root" in a["Properties"]["AlarmName"]
    )["Properties"].pop("AlarmActions"),
    "LZ-DET-01": lambda t: _first(t, "Custom::OrganizationSettings")["Properties"].update(
        ServiceAdministrators={}
    ),
    "LZ-DET-02": lambda t: _first(t, "AWS::SecurityHub::ConfigurationPolicy")["Properties"][
        "ConfigurationPolicy"
    ]["SecurityHub"].update(EnabledStandardIdentifiers=[]),
    "LZ-DET-03": lambda t: _first(
        t,
        "AWS::Events::Rule",
        lambda r: r["Properties"]["EventPattern"]["source"] == ["aws.guardduty"],
    )["Properties"].pop("Targets"),
    "LZ-ROOT-01": lambda t: _first(t, "Custom::OrganizationSettings")["Properties"].update(
        CentralizedRootAccess="false"
    ),
    "LZ-NET-05": lambda t: _drop_policy_statements(
        t, "SERVICE_CONTROL_POLICY", _sid("ProtectHubFirewalls", "ProtectHubRoutingAndDns")
    ),
    "LZ-NET-01": lambda t: _first(
        t, "AWS::EC2::NetworkAclEntry", lambda e: e["Properties"]["RuleAction"] == "deny"
    )["Properties"].update(RuleAction="allow"),
    "LZ-NET-02": lambda t: _first(
        t, "AWS::EC2::TransitGatewayRoute", lambda r: r["Properties"].get("Blackhole") is True
    )["Properties"].update(Blackhole=False),
    "LZ-NET-03": lambda t: _first(t, "AWS::NetworkFirewall::FirewallPolicy")["Properties"][
        "FirewallPolicy"
    ].update(StatefulDefaultActions=[]),
    "LZ-NET-04": lambda t: _first(t, "AWS::Route53Resolver::FirewallRuleGroup")["Properties"][
        "FirewallRules"
    ][0].update(Action="ALERT"),
}


def test_open_admin_port_in_a_security_group_breaks_lz_net_01(synthesized: Synthesized) -> None:
    templates: Any = copy.deepcopy(synthesized.templates)
    template = templates["Network-eu-west-1"]
    template["Resources"]["OpenSsh"] = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "too open",
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
            ],
        },
    }
    control = next(c for c in CONTROLS if c.id == "LZ-NET-01")
    assert not control.check(templates).holds


def test_every_control_has_a_weakening_case() -> None:
    assert sorted(WEAKENINGS) == sorted(c.id for c in CONTROLS)


@pytest.mark.parametrize("control", CONTROLS, ids=[c.id for c in CONTROLS])
def test_fails_when_the_control_is_removed(control: Any, synthesized: Synthesized) -> None:
    templates: Templates = copy.deepcopy(synthesized.templates)
    WEAKENINGS[control.id](templates)  # type: ignore[arg-type]
    evidence = control.check(templates)
    assert not evidence.holds, f"{control.id} still holds after it was weakened"
