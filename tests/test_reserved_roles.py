"""The AWS Config rule that reports look-alikes of the exempt roles, run with cfn-guard
over configuration items as AWS Config records them (the trust policy URL-encoded)."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from baseline import control_tower
from baseline.reserved_roles import reserved_role_policy

MANAGEMENT, LOG_ARCHIVE, AUDIT, NETWORK, WORKLOAD = (
    "210987654321",
    "312345678901",
    "423456789012",
    "534567890123",
    "645678901234",
)
STACKSETS_ADMIN = (
    f"arn:aws:iam::{MANAGEMENT}:role/aws-service-role/stacksets.cloudformation.amazonaws.com/"
    "AWSServiceRoleForCloudFormationStackSetsOrgAdmin"
)


def _trust(*principals: dict[str, str], mfa: bool = False) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    statements = [{**statement, "Principal": p} for p in principals]
    if mfa:
        for s in statements:
            s["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": "2012-10-17", "Statement": statements}


def _item(name: str, account: str, trust: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "AWS::IAM::Role",
        "awsAccountId": account,
        "resourceName": name,
        "configuration": {
            "roleName": name,
            "assumeRolePolicyDocument": urllib.parse.quote(json.dumps(trust), safe=""),
        },
    }


@pytest.fixture(scope="module")
def guard() -> Path:
    """The cfn-guard binary the Control Tower rules' plugin ships."""
    try:
        return control_tower.bundle().binary
    except RuntimeError as error:  # a machine the package ships no binary for
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "reserved-roles.guard"
    path.write_text(
        reserved_role_policy(
            prefix="nwl",
            management_account_id=MANAGEMENT,
            core_account_ids=[MANAGEMENT, LOG_ARCHIVE, AUDIT, NETWORK],
            audit_account_id=AUDIT,
            network_account_id=NETWORK,
        ),
        encoding="utf-8",
    )
    return path


def _failed_rules(guard: Path, policy: Path, item: dict[str, Any], tmp_path: Path) -> list[str]:
    data = tmp_path / "item.json"
    data.write_text(json.dumps(item), encoding="utf-8")
    result = subprocess.run(
        [
            str(guard),
            "validate",
            "--rules",
            str(policy),
            "--data",
            str(data),
            "--output-format",
            "json",
            "--show-summary",
            "none",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 19), result.stderr  # 19: not compliant
    (report,) = (
        json.loads(result.stdout) if result.stdout.startswith("[") else [json.loads(result.stdout)]
    )
    return sorted(check["Rule"]["name"] for check in report.get("not_compliant", []))


ROOT = {"AWS": f"arn:aws:iam::{WORKLOAD}:root"}
LAMBDA = {"Service": "lambda.amazonaws.com"}


@pytest.mark.parametrize(
    ("item", "failed"),
    [
        # the real roles, where they live, with their trust
        (_item("stacksets-exec-0a1b2c", WORKLOAD, _trust({"AWS": STACKSETS_ADMIN})), []),
        (_item("cdk-lzbaseline-deploy-role-210987654321-eu-west-1", AUDIT, _trust(ROOT)), []),
        (_item("nwl-account-settings-eu-west-1", WORKLOAD, _trust(LAMBDA)), []),
        (_item("nwl-security-services-eu-west-1", AUDIT, _trust(LAMBDA)), []),
        (_item("nwl-hub-eu-west-1-network-hub", NETWORK, _trust(LAMBDA)), []),
        (
            _item(
                "nwl-break-glass",
                WORKLOAD,
                _trust({"AWS": f"arn:aws:iam::{MANAGEMENT}:user/break-glass-1"}, mfa=True),
            ),
            [],
        ),
        # any other role is not the rule's business
        (_item("orders-api", WORKLOAD, _trust(ROOT)), []),
        # look-alikes
        (_item("stacksets-exec-0a1b2c", WORKLOAD, _trust(ROOT)), ["stackset_execution_role"]),
        (
            _item("stacksets-exec-0a1b2c", WORKLOAD, _trust({"AWS": STACKSETS_ADMIN}, ROOT)),
            ["stackset_execution_role"],
        ),
        (
            _item("cdk-lzbaseline-cfn-exec-role-1-eu-west-1", WORKLOAD, _trust(ROOT)),
            ["landing_zone_bootstrap_roles"],
        ),
        (
            _item("nwl-account-settings-eu-west-1", WORKLOAD, _trust(LAMBDA, ROOT)),
            ["account_settings_function_role"],
        ),
        (
            _item("nwl-security-services-eu-west-1", WORKLOAD, _trust(LAMBDA)),
            ["security_services_function_role"],
        ),
        (
            _item("nwl-hub-eu-west-1-network-hub", WORKLOAD, _trust(LAMBDA)),
            ["network_hub_function_role"],
        ),
        (_item("nwl-break-glass", WORKLOAD, _trust(ROOT)), ["break_glass_role"]),
    ],
)
def test_a_look_alike_is_reported_and_the_real_role_is_not(
    item: dict[str, Any], failed: list[str], guard: Path, policy: Path, tmp_path: Path
) -> None:
    assert _failed_rules(guard, policy, item, tmp_path) == failed


def test_the_rule_is_in_the_home_region_only(synthesized: Any) -> None:
    found = {
        stack: [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Config::OrganizationConfigRule"
            and "OrganizationCustomPolicyRuleMetadata" in r["Properties"]
        ]
        for stack, template in synthesized.templates.items()
        if stack.startswith("SecurityTooling-")
    }
    home = f"SecurityTooling-{synthesized.config.home_region}"
    assert [len(rules) for stack, rules in sorted(found.items()) if stack != home] == [0, 0]
    (rule,) = found[home]
    metadata = rule["Properties"]["OrganizationCustomPolicyRuleMetadata"]
    assert metadata["Runtime"] == "guard-2.x.x"
    assert metadata["ResourceTypesScope"] == ["AWS::IAM::Role"]
    assert "stackset_execution_role" in metadata["PolicyText"]
