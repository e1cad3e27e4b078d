"""Storage controls (baseline/controls/storage.py): each fails once its property is removed."""

from __future__ import annotations

import pytest

from tests.conftest import Synthesized
from tests.controls.helpers import (
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
