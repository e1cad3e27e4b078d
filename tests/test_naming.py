"""Cross-account names stay within AWS's length and character rules for any valid input."""

from __future__ import annotations

import re

import pytest

from baseline import naming
from baseline.config import AWS_REGIONS

LONGEST_PREFIX = "abcdefghij-k"  # 12 characters, the config's maximum
LONGEST_REGION = max(AWS_REGIONS, key=len)
ACCOUNT = "123456789012"
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@pytest.mark.parametrize("function", [naming.log_bucket, naming.access_log_bucket])
@pytest.mark.parametrize("region", sorted(AWS_REGIONS))
def test_bucket_names_fit_s3_rules_in_every_region(function: object, region: str) -> None:
    name = function(LONGEST_PREFIX, ACCOUNT, region)  # type: ignore[operator]
    assert S3_BUCKET.match(name), name
    assert len(name) <= 63
    assert ".." not in name and "." not in name


def test_bucket_names_are_deterministic_and_distinct() -> None:
    a = naming.log_bucket("nwl", ACCOUNT, "eu-west-1")
    assert a == naming.log_bucket("nwl", ACCOUNT, "eu-west-1") == "nwl-logs-123456789012-eu-west-1"
    assert a != naming.log_bucket("nwl", ACCOUNT, "eu-central-1")
    assert a != naming.access_log_bucket("nwl", ACCOUNT, "eu-west-1")


def test_role_names_fit_iam_rules() -> None:
    for function in (
        naming.audit_readonly_role,
        naming.incident_responder_role,
        naming.break_glass_role,
        naming.log_replication_role,
    ):
        name = function(LONGEST_PREFIX)
        assert re.match(r"^[\w+=,.@-]{1,64}$", name), name


def test_key_alias_fits_kms_rules() -> None:
    alias = naming.log_key_alias(LONGEST_PREFIX)
    assert re.match(r"^alias/[a-zA-Z0-9/_-]{1,250}$", alias)
    assert not alias.startswith("alias/aws/")
    arn = naming.log_key_alias_arn("nwl", ACCOUNT, LONGEST_REGION)
    assert arn == f"arn:aws:kms:{LONGEST_REGION}:{ACCOUNT}:alias/nwl/log-archive"


def test_trail_arn_names_management_account_and_region() -> None:
    assert (
        naming.organization_trail_arn("nwl", ACCOUNT, "eu-west-1")
        == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/nwl-organization-trail"
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: naming.log_bucket("nwl", "12345", "eu-west-1"), "account_id must be 12 digits"),
        (lambda: naming.log_bucket("nwl", ACCOUNT, "Europe"), "region must be an AWS region code"),
        (lambda: naming.log_bucket("x" * 60, ACCOUNT, "eu-west-1"), "breaks the S3 naming rules"),
        (lambda: naming.log_bucket("NWL", ACCOUNT, "eu-west-1"), "breaks the S3 naming rules"),
        (lambda: naming.log_bucket("xn--a", ACCOUNT, "eu-west-1"), "prefix or suffix S3 reserves"),
        (lambda: naming.break_glass_role("x" * 60), "breaks the role name rules"),
        (lambda: naming.log_key_alias("bad prefix"), "breaks the alias rules"),
    ],
)
def test_fails_names_that_break_aws_rules(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()  # type: ignore[operator]


def test_cdk_qualifier_is_the_one_the_app_deploys_with() -> None:
    from baseline.cdk_context import cdk_json_context

    assert cdk_json_context()["@aws-cdk/core:bootstrapQualifier"] == naming.CDK_QUALIFIER
    assert naming.CDK_QUALIFIER != "hnb659fds"  # workload teams keep the default to themselves
    assert len(naming.CDK_QUALIFIER) <= 10 and naming.CDK_QUALIFIER.isalnum()
