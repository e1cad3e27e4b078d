"""The forensics account: the evidence bucket only containment writes, the analysis VPC
with no way out; and the config's forensics account refused when misplaced."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from baseline.config import ConfigError, parse_config
from tests.conftest import Synthesized

FORENSICS = "290123456789"
AUDIT = "423456789012"


def _resources(synthesized: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return {
        k: r
        for k, r in synthesized.templates["Forensics"]["Resources"].items()
        if r["Type"] == kind
    }


def test_it_deploys_in_the_forensics_account_after_the_log_archive(
    synthesized: Synthesized,
) -> None:
    stack = next(s for s in synthesized.landing_zone.stacks if s.artifact_id == "Forensics")
    assert (stack.account, stack.region) == (FORENSICS, "eu-west-1")
    assert {"Organization", "LogArchive"} <= {d.artifact_id for d in stack.dependencies}


def test_the_evidence_bucket_is_locked_under_the_evidence_key(synthesized: Synthesized) -> None:
    (bucket,) = [
        r["Properties"]
        for r in _resources(synthesized, "AWS::S3::Bucket").values()
        if r["Properties"]["BucketName"] == f"nwl-evidence-{FORENSICS}-eu-west-1"
    ]
    assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": 365,
    }
    assert bucket["LoggingConfiguration"]["DestinationBucketName"]
    aliases = [
        r["Properties"]["AliasName"] for r in _resources(synthesized, "AWS::KMS::Alias").values()
    ]
    assert "alias/nwl/forensics-evidence" in aliases


def test_only_the_audit_accounts_containment_roles_write_evidence(
    synthesized: Synthesized,
) -> None:
    statements = [
        s
        for policy in _resources(synthesized, "AWS::S3::BucketPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    allow = next(s for s in statements if s.get("Sid") == "ContainmentAutomationWritesEvidence")
    assert allow["Principal"] == {"AWS": f"arn:aws:iam::{AUDIT}:root"}
    pattern = f"arn:aws:iam::{AUDIT}:role/nwl-containment-*"
    assert allow["Condition"] == {"ArnLike": {"aws:PrincipalArn": pattern}}
    assert "s3:DeleteObject" not in json.dumps(allow)
    deny = next(s for s in statements if s.get("Sid") == "OnlyTheContainmentAutomationWrites")
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": pattern}}
    (key,) = [
        r
        for r in _resources(synthesized, "AWS::KMS::Key").values()
        if "evidence" in r["Properties"]["Description"]
    ]
    grant = next(
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "ContainmentAutomationEncryptsEvidence"
    )
    assert grant["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    # the key grants the writer what its own policy asks for, and no more
    writer_grants = [
        statement["Action"]
        for template in synthesized.templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "EncryptEvidence"
    ]
    assert writer_grants and all(a == grant["Action"] for a in writer_grants), writer_grants
    assert grant["Action"] == "kms:GenerateDataKey"


def test_the_analysis_vpc_has_no_way_out(synthesized: Synthesized) -> None:
    resources = synthesized.templates["Forensics"]["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert "AWS::EC2::VPC" in kinds
    assert not kinds & {
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::TransitGatewayAttachment",
        "AWS::EC2::VPCPeeringConnection",
    }
    routes = [r for r in resources.values() if r["Type"] == "AWS::EC2::Route"]
    assert routes == []
    (flow_to_archive,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::EC2::FlowLog" and r["Properties"]["LogDestinationType"] == "s3"
    ]
    assert "nwl-logs-312345678901-eu-west-1" in json.dumps(flow_to_archive)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["accounts"].append(
                {
                    "name": "forensics-2",
                    "email": "aws-forensics-2@northwind.example.com",
                    "role": "forensics",
                    "ou": "Security",
                    "id": "290123456780",
                }
            ),
            "accounts: at most one account may have role 'forensics', found 2",
        ),
        (
            lambda d: next(a for a in d["accounts"] if a["name"] == "forensics").update(
                ou="Workloads/Prod"
            ),
            "the forensics account belongs in a security OU, not in the workload or sandbox OU",
        ),
        (
            lambda d: next(a for a in d["accounts"] if a["name"] == "forensics").pop("id"),
            "the forensics account needs its 12-digit id",
        ),
        (
            lambda d: d.update(forensics={"vpc_cidr": "10.255.0.0/24"}),
            "forensics.vpc_cidr: '10.255.0.0/24' must be /16 to /23",
        ),
    ],
)
def test_fails_on_a_misplaced_forensics_account(
    edit: Any, message: str, example_data: dict[str, Any]
) -> None:
    data = copy.deepcopy(example_data)
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert any(message in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("cidr", "zones", "problem"),
    [
        (
            "10.9.0.0/23",
            ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            "forensics.vpc_cidr: '10.9.0.0/23' holds 2 /24 subnets, and the analysis VPC "
            "takes one in each of the 3 AZs of network.availability_zones.eu-west-1: give a "
            "/22 or larger",
        ),
        ("10.9.0.0/22", ["eu-west-1a", "eu-west-1b", "eu-west-1c"], None),
        ("10.9.0.0/23", ["eu-west-1a", "eu-west-1b"], None),
    ],
    ids=["three zones in a /23", "three zones in a /22", "two zones in a /23"],
)
def test_fails_a_forensics_range_too_small_for_the_home_regions_zones(
    cidr: str, zones: list[str], problem: str | None, example_data: dict[str, Any]
) -> None:
    """The analysis VPC takes an isolated /24 in each AZ of the home region: a range that
    cannot hold them is refused by validate, not by a traceback at synth."""
    data = copy.deepcopy(example_data)
    data.setdefault("forensics", {})["vpc_cidr"] = cidr
    data["network"]["availability_zones"] = {"eu-west-1": zones}
    if problem is None:
        assert parse_config(data).forensics.vpc_cidr == cidr
        return
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.problems == [problem]
