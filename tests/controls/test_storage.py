"""Storage controls (baseline/controls/storage.py): each fails once its property is removed."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.controls import resources
from tests.conftest import Synthesized
from tests.controls.helpers import (
    MutableTemplates,
    Weakening,
    assert_weakening_breaks,
    drop_bucket_statements,
    first,
)

WEAKENINGS: dict[str, Weakening] = {
    "LZ-KMS-01": lambda t: first(t, "AWS::KMS::Key")["Properties"].update(EnableKeyRotation=False),
    "LZ-S3-01": lambda t: first(t, "AWS::S3::Bucket")["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]["ServerSideEncryptionByDefault"].update(SSEAlgorithm="AES256"),
    "LZ-S3-02": lambda t: drop_bucket_statements(
        t, lambda s: "NumericLessThan" in s.get("Condition", {})
    ),
    "LZ-S3-03": lambda t: first(t, "AWS::S3::Bucket")["Properties"][
        "PublicAccessBlockConfiguration"
    ].update(BlockPublicPolicy=False),
    "LZ-S3-04": lambda t: first(t, "AWS::S3::Bucket").update(DeletionPolicy="Delete"),
}


@pytest.mark.parametrize("control_id", WEAKENINGS)
def test_fails_when_the_control_is_removed(control_id: str, synthesized: Synthesized) -> None:
    assert_weakening_breaks(control_id, WEAKENINGS[control_id], synthesized)


def test_fails_when_a_key_has_a_short_deletion_window(synthesized: Synthesized) -> None:
    assert_weakening_breaks(
        "LZ-KMS-01",
        lambda t: first(t, "AWS::KMS::Key")["Properties"].update(PendingWindowInDays=7),
        synthesized,
    )


def _narrow_tls_denies(action: str, objects_too: bool, principal: Any) -> Weakening:
    """A weakening: every TLS Deny of every bucket policy narrowed to one action, the
    bucket alone (or its objects too) and one principal."""

    def narrow(templates: MutableTemplates) -> None:
        for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                condition = statement.get("Condition", {})
                if statement["Effect"] == "Deny" and (
                    "aws:SecureTransport" in condition.get("Bool", {})
                    or "s3:TlsVersion" in condition.get("NumericLessThan", {})
                ):
                    statement["Action"] = action
                    if not objects_too:
                        statement["Resource"] = statement["Resource"][0]
                    statement["Principal"] = principal

    return narrow


def _tls_denies_for_one_account(templates: MutableTemplates) -> None:
    """Every TLS Deny also asks for one account: it denies that account's requests only."""
    for template in templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::S3::BucketPolicy":
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                condition = statement.get("Condition", {})
                if statement["Effect"] == "Deny" and (
                    "aws:SecureTransport" in condition.get("Bool", {})
                    or "s3:TlsVersion" in condition.get("NumericLessThan", {})
                ):
                    condition["StringEquals"] = {"aws:PrincipalAccount": "111122223333"}


@pytest.mark.parametrize(
    "weaken",
    [
        _tls_denies_for_one_account,
        _narrow_tls_denies("s3:GetBucketLocation", False, {"AWS": "*"}),
        _narrow_tls_denies("s3:*", False, {"AWS": "*"}),
        _narrow_tls_denies("s3:GetObject", True, {"AWS": "*"}),
        _narrow_tls_denies("s3:*", True, {"AWS": "arn:aws:iam::111122223333:root"}),
    ],
    ids=[
        "one account by condition",
        "one bucket action",
        "objects uncovered",
        "one object action",
        "one principal",
    ],
)
def test_fails_when_the_tls_denies_are_narrowed(
    weaken: Weakening, synthesized: Synthesized
) -> None:
    assert_weakening_breaks("LZ-S3-02", weaken, synthesized)
