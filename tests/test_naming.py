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


def test_one_slug_for_policy_names_and_ou_parameters() -> None:
    assert naming.slug("Root") == "root"
    prod = naming.slug("Workloads/Prod")
    assert prod.startswith("workloads-prod-") and len(prod) == len("workloads-prod-") + 6
    assert prod != naming.slug("Workloads-Prod")  # the digest keeps look-alikes apart
    assert naming.ou_id_parameter("nwl", "Workloads/Prod") == f"/nwl/organization/ou/{prod}"
    assert naming.ou_id_parameter("nwl", "Root") == "/nwl/organization/ou/root"
    assert len(naming.slug("X" * 200)) == 60 + 7


@pytest.mark.parametrize(
    ("account", "permission_set", "principal"),
    [
        ("fleet-dev", "Administrator", "platform-admins"),
        ("a", "PowerUser", "Security Team (EU)"),
        ("orders-prod", "read_only", "-leading and trailing-"),
        ("x1", "Billing", "9a7b6c5d-1234-5678-90ab-cdef01234567"),
        ("team-03", "SecurityAudit", "equipe_securite"),
    ],
)
def test_an_assignments_logical_id_is_that_of_its_whole_name(
    account: str, permission_set: str, principal: str
) -> None:
    """The contract: a logical id from the whole name, however it is computed."""
    from baseline.assignments import AssignmentSpec

    for kind, letter in (("GROUP", "G"), ("USER", "U")):
        spec = AssignmentSpec(account, None, permission_set, kind, principal)
        whole = naming.logical_id(f"{account}-{permission_set}-{letter}-{principal}")
        assert spec.logical_id == whole


@pytest.mark.parametrize("principal", ["équipe_sécurité", "g" * 240])
def test_a_name_no_logical_id_can_hold_takes_a_digest(principal: str) -> None:
    """Letters beyond ASCII, or an id over CloudFormation's 255 characters; a long name
    that fits keeps its readable id (an id that deployed is a contract)."""
    import hashlib
    import re

    from baseline.assignments import AssignmentSpec

    spec = AssignmentSpec("team-03", None, "SecurityAudit", "GROUP", principal)
    digest = hashlib.sha256(principal.encode("utf-8")).hexdigest()[:20]
    assert spec.logical_id == f"Team03SecurityauditGN{digest}"
    assert re.fullmatch(r"[A-Za-z0-9]{1,255}", spec.logical_id)
    fits = AssignmentSpec("team-03", None, "SecurityAudit", "GROUP", "g" * 200)
    assert fits.logical_id == "Team03SecurityauditG" + "G" + "g" * 199
    assert AssignmentSpec("team-03", None, "SecurityAudit", "GROUP", "---").logical_id == (
        "Team03SecurityauditG"
    )


def test_logical_ids_come_from_names_one_way() -> None:
    assert naming.logical_id("Workloads/Prod") == "WorkloadsProd"
    assert naming.logical_id("fleet-dev") == "FleetDev"
    assert naming.logical_id("nwl-scp-root-1") == "NwlScpRoot1"


def test_stack_names_are_the_documented_ones() -> None:
    assert [
        naming.organization_stack("nwl"),
        naming.accounts_stack("nwl", 3),
        naming.log_archive_replica_stack("nwl"),
        naming.log_archive_stack("nwl"),
        naming.member_baseline_stack("nwl"),
        naming.management_baseline_stack("nwl"),
        naming.trail_stack("nwl"),
        naming.security_tooling_stack("nwl"),
        naming.network_stack("nwl"),
    ] == [
        "nwl-organization",
        "nwl-accounts-03",
        "nwl-log-archive-replica",
        "nwl-log-archive",
        "nwl-member-baseline",
        "nwl-management-baseline",
        "nwl-organization-trail",
        "nwl-security-tooling",
        "nwl-network-hub",
    ]


def test_hub_patterns_cover_the_names_the_hub_gives() -> None:
    pattern = naming.network_hub_name_pattern("nwl")
    assert re.fullmatch(pattern.replace("*", ".*"), naming.network_hub_name("nwl", "eu-west-1"))
    assert naming.network_hub_function_pattern("nwl") == (
        "arn:aws:iam::*:role/nwl-hub-*-network-hub"
    )


def test_reserved_names_and_tags() -> None:
    assert naming.support_role("nwl") == "nwl-support"
    assert naming.perimeter_exception_tag("nwl") == "nwl:perimeter-exception"
    assert naming.baseline_role_pattern("nwl") == "arn:aws:iam::*:role/nwl-*"
    assert naming.ou_arn(ACCOUNT, "o-abc123defg", "ou-ab12-cd34ef56") == (
        "arn:aws:organizations::123456789012:ou/o-abc123defg/ou-ab12-cd34ef56"
    )
    with pytest.raises(ValueError, match="account_id must be 12 digits"):
        naming.ou_arn("1234", "o-abc123defg", "ou-ab12-cd34ef56")
