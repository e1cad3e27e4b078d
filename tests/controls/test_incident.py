"""Incident response controls (baseline/controls/incident.py): each fails once its property
is removed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Synthesized
from tests.controls.helpers import MutableTemplates, Weakening, assert_weakening_breaks, first


def _evidence_bucket(t: MutableTemplates) -> dict[str, Any]:
    return first(
        t,
        "AWS::S3::Bucket",
        lambda r: (
            "-evidence-" in str(r["Properties"].get("BucketName", ""))
            and "-evidence-access-" not in str(r["Properties"].get("BucketName", ""))
        ),
    )


def _drop_the_write_deny(t: MutableTemplates) -> None:
    for template in t.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::S3::BucketPolicy":
                statements = resource["Properties"]["PolicyDocument"]["Statement"]
                statements[:] = [
                    s for s in statements if s.get("Sid") != "OnlyTheContainmentAutomationWrites"
                ]


def _add_an_internet_gateway(t: MutableTemplates) -> None:
    t["Forensics"]["Resources"]["Gateway"] = {"Type": "AWS::EC2::InternetGateway"}


def _drop_the_flow_logs(t: MutableTemplates) -> None:
    resources = t["Forensics"]["Resources"]
    for key in [k for k, r in resources.items() if r["Type"] == "AWS::EC2::FlowLog"]:
        del resources[key]


def _containment_rule(t: MutableTemplates, region: str) -> dict[str, Any]:
    (rule,) = [
        r
        for r in t[f"SecurityTooling-{region}"]["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
        and "resource" in r["Properties"]["EventPattern"].get("detail", {})
    ]
    return rule["Properties"]  # type: ignore[no-any-return]


def _drop_one_regions_containment(t: MutableTemplates) -> None:
    resources = t["SecurityTooling-us-east-1"]["Resources"]
    for key in [k for k, r in resources.items() if r["Type"] == "AWS::Events::Rule"]:
        if "resource" in resources[key]["Properties"]["EventPattern"].get("detail", {}):
            del resources[key]


def _remediation_rule(t: MutableTemplates) -> Any:
    (rule,) = [
        r
        for r in t["SecurityTooling-eu-west-1"]["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"]["Name"] == "nwl-remediation"
    ]
    return rule["Properties"]


WEAKENINGS: dict[str, Weakening] = {
    "LZ-IR-01": lambda t: _evidence_bucket(t)["Properties"].pop("ObjectLockConfiguration"),
    "LZ-IR-02": _add_an_internet_gateway,
    "LZ-IR-03": _drop_one_regions_containment,
    "LZ-IR-04": lambda t: _remediation_rule(t)["EventPattern"]["detail"]["findings"][
        "Compliance"
    ].update(SecurityControlId=["EC2.13", "EC2.14"]),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_when_anyone_may_write_evidence(synthesized: Synthesized) -> None:
    assert_weakening_breaks("LZ-IR-01", _drop_the_write_deny, synthesized)


def test_fails_on_evidence_without_a_customer_managed_key(synthesized: Synthesized) -> None:
    def to_s3_keys(t: MutableTemplates) -> None:
        _evidence_bucket(t)["Properties"]["BucketEncryption"] = {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        }

    assert_weakening_breaks("LZ-IR-01", to_s3_keys, synthesized)


def test_fails_on_an_analysis_vpc_without_flow_logs(synthesized: Synthesized) -> None:
    assert_weakening_breaks("LZ-IR-02", _drop_the_flow_logs, synthesized)


def _gateway_endpoint(t: MutableTemplates, service: str) -> dict[str, Any]:
    (endpoint,) = [
        r["Properties"]
        for r in t["Forensics"]["Resources"].values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
        and r["Properties"].get("VpcEndpointType", "Gateway") == "Gateway"
        and f'.{service}"' in json.dumps(r["Properties"]["ServiceName"])
    ]
    return endpoint


@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_fails_when_a_gateway_endpoint_admits_anyones_bucket(
    service: str, synthesized: Synthesized
) -> None:
    """The endpoint checks only who calls (the policy before the resource perimeter)."""

    def principal_only(t: MutableTemplates) -> None:
        statements = _gateway_endpoint(t, service)["PolicyDocument"]["Statement"]
        statements[0]["Condition"]["StringEquals"].pop("aws:ResourceOrgID")

    assert_weakening_breaks("LZ-IR-02", principal_only, synthesized)


def test_fails_when_the_aws_owned_objects_become_any_bucket(synthesized: Synthesized) -> None:
    def any_bucket(t: MutableTemplates) -> None:
        statements = _gateway_endpoint(t, "s3")["PolicyDocument"]["Statement"]
        (owned,) = [s for s in statements if s["Action"] == "s3:GetObject"]
        owned["Resource"].append("arn:aws:s3:::*/*")

    assert_weakening_breaks("LZ-IR-02", any_bucket, synthesized)


def test_fails_when_a_gateway_endpoint_has_the_default_policy(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-IR-02", lambda t: _gateway_endpoint(t, "s3").pop("PolicyDocument"), synthesized
    )


def test_fails_when_containment_waits_for_critical_findings(synthesized: Synthesized) -> None:
    def critical_only(t: MutableTemplates) -> None:
        pattern = _containment_rule(t, "eu-central-1")["EventPattern"]
        pattern["detail"]["severity"] = [{"numeric": [">=", 9]}]

    assert_weakening_breaks("LZ-IR-03", critical_only, synthesized)


def test_fails_when_credential_findings_are_left_out(synthesized: Synthesized) -> None:
    def instances_only(t: MutableTemplates) -> None:
        pattern = _containment_rule(t, "eu-west-1")["EventPattern"]
        pattern["detail"]["resource"]["resourceType"] = ["Instance"]

    assert_weakening_breaks("LZ-IR-03", instances_only, synthesized)


def test_fails_when_remediation_cannot_act_in_the_accounts(synthesized: Synthesized) -> None:
    def no_role(t: MutableTemplates) -> None:
        resources = t["SecurityTooling-eu-west-1"]["Resources"]
        for resource in resources.values():
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    if statement.get("Action") == "sts:AssumeRole":
                        statement["Action"] = "sts:GetCallerIdentity"

    assert_weakening_breaks("LZ-IR-04", no_role, synthesized)


def test_fails_when_a_governed_region_does_not_run_guardduty(synthesized: Synthesized) -> None:
    """Without GuardDuty in us-east-1 nothing there starts containment, although its
    SecurityTooling stack still has the rule."""

    def drop(templates: MutableTemplates) -> None:
        stack = templates["SecurityTooling-us-east-1"]["Resources"]
        for logical_id, resource in list(stack.items()):
            if resource["Type"] == "Custom::SecurityServices":
                del stack[logical_id]

    assert_weakening_breaks("LZ-IR-03", drop, synthesized)


def _evidence_writers(arns: Any) -> Weakening:
    """A weakening: the evidence bucket's write deny spares these principal ARNs."""

    def widen(t: MutableTemplates) -> None:
        for template in t.values():
            for resource in template["Resources"].values():
                if resource["Type"] == "AWS::S3::BucketPolicy":
                    for s in resource["Properties"]["PolicyDocument"]["Statement"]:
                        if s.get("Sid") == "OnlyTheContainmentAutomationWrites":
                            s["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = arns

    return widen


@pytest.mark.parametrize(
    "arns",
    [
        "arn:aws:iam::*:role/*-containment-*",
        "arn:aws:iam::*:role/nwl-containment-*",
        "arn:aws:iam::423456789012:role/*-containment-*",
        [
            "arn:aws:iam::423456789012:role/nwl-containment-*",
            "arn:aws:iam::111122223333:role/nwl-containment-*",
        ],
        "arn:aws:iam::111122223333:role/nwl-containment-*",
    ],
    ids=["any account, any prefix", "any account", "any prefix", "two accounts", "another account"],
)
def test_fails_when_containment_roles_of_other_accounts_may_write_evidence(
    arns: Any, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-IR-01", _evidence_writers(arns), synthesized)


def test_fails_when_a_governed_regions_security_tooling_is_gone(synthesized: Synthesized) -> None:
    assert_weakening_breaks("LZ-IR-03", lambda t: t.pop("SecurityTooling-us-east-1"), synthesized)
