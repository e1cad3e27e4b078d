"""SecureBucket: each protection is in the template, and the defaults pass every nag pack."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from baseline.constructs import ReplicationTarget, SecureBucket
from baseline.controls import RETAINED
from tests.constructs.helpers import nag_violations, new_stack

Match = assertions.Match


@pytest.fixture(scope="module")
def default_bucket() -> tuple[cdk.App, SecureBucket, assertions.Template]:
    app, stack = new_stack()
    bucket = SecureBucket(stack, "Data", bucket_name="test-data-bucket")
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    bucket.grant_read(reader)
    return app, bucket, assertions.Template.from_stack(stack)


def _main_bucket(template: assertions.Template) -> dict[str, Any]:
    buckets = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": "test-data-bucket"}}
    )
    (resource,) = buckets.values()
    return resource


def _policy_of(template: assertions.Template, logical_id: str) -> list[dict[str, Any]]:
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": logical_id}:
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError(f"no bucket policy for {logical_id}")


def test_encrypts_with_kms_and_bucket_key_and_blocks_sse_c(default_bucket: Any) -> None:
    _, _, template = default_bucket
    rule = _main_bucket(template)["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "Fn::GetAtt" in rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert rule["BucketKeyEnabled"] is True
    assert rule["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_blocks_public_access_and_disables_acls(default_bucket: Any) -> None:
    _, _, template = default_bucket
    props = _main_bucket(template)["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_policy_denies_plain_http_and_old_tls(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    logical = cdk.Stack.of(bucket).get_logical_id(bucket.bucket.node.default_child)
    statements = _policy_of(template, logical)
    deny_http = [
        s
        for s in statements
        if s["Effect"] == "Deny"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    deny_tls = [
        s
        for s in statements
        if s["Effect"] == "Deny"
        and s.get("Condition") == {"NumericLessThan": {"s3:TlsVersion": 1.2}}
    ]
    assert len(deny_http) == 1 and deny_http[0]["Action"] == "s3:*"
    assert len(deny_tls) == 1 and deny_tls[0]["Principal"] == {"AWS": "*"}


def test_is_versioned_retained_and_cleans_up_uploads(default_bucket: Any) -> None:
    _, _, template = default_bucket
    resource = _main_bucket(template)
    assert resource["DeletionPolicy"] in RETAINED
    assert resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 90
    }
    assert "ObjectLockEnabled" not in props  # off unless asked for


def test_logs_access_to_a_dedicated_retained_bucket(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    props = _main_bucket(template)["Properties"]
    stack = cdk.Stack.of(bucket)
    logs_id = stack.get_logical_id(bucket.access_logs_bucket.node.default_child)  # type: ignore[arg-type]
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    logs = template.find_resources("AWS::S3::Bucket")[logs_id]
    assert logs["DeletionPolicy"] in RETAINED
    assert logs["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert logs["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    delivery = [
        s
        for s in _policy_of(template, logs_id)
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert len(delivery) == 1
    assert delivery[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    assert "aws:SourceArn" in delivery[0]["Condition"]["ArnLike"]


def test_logging_service_key_grant_is_conditioned(default_bucket: Any) -> None:
    _, _, template = default_bucket
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))
    logging = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert len(logging) == 1, (
        "s3.Bucket's unconditioned grant to the logging service must not appear"
    )
    assert logging[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::test-data-bucket"},
    }


def test_grant_read_covers_objects_and_key(default_bucket: Any) -> None:
    _, _, template = default_bucket
    policy = next(iter(template.find_resources("AWS::IAM::Policy").values()))
    actions = [
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "kms:Decrypt"} <= set(actions)
    assert not [a for a in actions if "*" in a], "grants list actions exactly"


def test_default_bucket_passes_every_nag_pack() -> None:
    app, stack = new_stack()
    SecureBucket(stack, "Data")
    assert nag_violations(app) == []


def test_fails_nag_without_the_construct_acknowledgements() -> None:
    """The check above can fail: a plain bucket with the same storage settings is flagged."""
    app, stack = new_stack()
    s3.Bucket(stack, "Plain", versioned=True, enforce_ssl=True)
    violations = nag_violations(app)
    assert any(v.startswith("AwsSolutions-S1:") for v in violations)
    assert any(v.startswith("NIST.800.53.R5-S3DefaultEncryptionKMS:") for v in violations)


def test_object_lock_and_replication_when_asked() -> None:
    _, stack = new_stack()
    SecureBucket(
        stack,
        "Locked",
        bucket_name="locked-bucket",
        object_lock=s3.ObjectLockRetention.governance(cdk.Duration.days(30)),
        replication=ReplicationTarget(
            bucket_name="replica-bucket",
            kms_key_arn="arn:aws:kms:eu-central-1:111122223333:alias/replica",
            role_arn="arn:aws:iam::111122223333:role/replication",
        ),
    )
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": "locked-bucket",
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
            },
            "ReplicationConfiguration": {
                "Role": "arn:aws:iam::111122223333:role/replication",
                "Rules": [
                    Match.object_like(
                        {
                            "Status": "Enabled",
                            "SourceSelectionCriteria": {
                                "SseKmsEncryptedObjects": {"Status": "Enabled"}
                            },
                            "DeleteMarkerReplication": {"Status": "Disabled"},
                            "Destination": Match.object_like(
                                {
                                    "Bucket": "arn:aws:s3:::replica-bucket",
                                    "EncryptionConfiguration": {
                                        "ReplicaKmsKeyID": "arn:aws:kms:eu-central-1:111122223333:alias/replica"
                                    },
                                }
                            ),
                        }
                    )
                ],
            },
        },
    )


def test_fails_replica_that_replicates() -> None:
    _, stack = new_stack()
    target = ReplicationTarget(bucket_name="b", kms_key_arn="k", role_arn="r")
    with pytest.raises(ValueError, match="a replica does not replicate further"):
        SecureBucket(stack, "B", replication=target, replica=True)


def test_fails_noncurrent_retention_shorter_than_lock() -> None:
    _, stack = new_stack()
    with pytest.raises(
        ValueError,
        match=r"noncurrent_version_retention must be at least the object lock retention \(365 days\), got 90",
    ):
        SecureBucket(
            stack, "B", object_lock=s3.ObjectLockRetention.compliance(cdk.Duration.days(365))
        )
