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
    writer = iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())
    bucket.grant_write(writer, "uploads/*")
    editor = iam.Role(stack, "Editor", assumed_by=iam.AccountRootPrincipal())
    bucket.grant_read_write(editor)
    reports = iam.Role(stack, "ReportsReader", assumed_by=iam.AccountRootPrincipal())
    bucket.grant_read(reports, "reports/*")
    return app, bucket, assertions.Template.from_stack(stack)


def _ids(bucket: SecureBucket) -> tuple[str, str, str]:
    """Logical ids of the bucket, its access-log bucket and its key."""
    stack = cdk.Stack.of(bucket)
    return (
        stack.get_logical_id(bucket.bucket.node.default_child),  # type: ignore[arg-type]
        stack.get_logical_id(bucket.access_logs_bucket.node.default_child),  # type: ignore[arg-type]
        stack.get_logical_id(bucket.encryption_key.node.default_child),  # type: ignore[arg-type]
    )


def _statements_of_role(template: assertions.Template, role: str) -> list[dict[str, Any]]:
    (role_id,) = [k for k in template.find_resources("AWS::IAM::Role") if k.startswith(role)]
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _arn(logical_id: str, suffix: str = "") -> dict[str, Any]:
    arn = {"Fn::GetAtt": [logical_id, "Arn"]}
    return {"Fn::Join": ["", [arn, suffix]]} if suffix else arn


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
    _, bucket, template = default_bucket
    _, logs_id, key_id = _ids(bucket)
    (rule,) = _main_bucket(template)["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule == {
        "ServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
        },
        "BucketKeyEnabled": True,
        "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]},
    }
    key = template.find_resources("AWS::KMS::Key")[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    # the access-log bucket is under the same key, with the same protections
    (logs_rule,) = template.find_resources("AWS::S3::Bucket")[logs_id]["Properties"][
        "BucketEncryption"
    ]["ServerSideEncryptionConfiguration"]
    assert logs_rule == rule


def test_blocks_public_access_and_disables_acls(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2
    for logical_id in _ids(bucket)[:2]:
        props = buckets[logical_id]["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_policy_denies_plain_http_and_old_tls(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    for logical_id in _ids(bucket)[:2]:
        denials = [s for s in _policy_of(template, logical_id) if s["Effect"] == "Deny"]
        everything = [_arn(logical_id), _arn(logical_id, "/*")]
        assert denials == [
            {
                "Action": "s3:*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Resource": everything,
            },
            {
                "Action": "s3:*",
                "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Resource": everything,
            },
        ]


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


def test_the_bucket_policies_are_kept_with_their_buckets(default_bucket: Any) -> None:
    """A kept bucket keeps its TLS deny and its writers' limits: the CDK's own bucket
    policy would go with the stack."""
    _, _, template = default_bucket
    policies = template.find_resources("AWS::S3::BucketPolicy").values()
    assert len(policies) == 2  # the bucket's and its access-log bucket's
    for policy in policies:
        assert policy["DeletionPolicy"] in RETAINED and policy["UpdateReplacePolicy"] == "Retain"


def test_logs_access_to_a_dedicated_retained_bucket(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    main_id, logs_id, _ = _ids(bucket)
    props = _main_bucket(template)["Properties"]
    prefix = f"{cdk.Names.unique_id(bucket)}/"
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logs_id},
        "LogFilePrefix": prefix,
    }
    logs = template.find_resources("AWS::S3::Bucket")[logs_id]
    assert logs["DeletionPolicy"] in RETAINED and logs["UpdateReplacePolicy"] == "Retain"
    assert logs["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in logs["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireAccessLogs"]["ExpirationInDays"] == 365
    allows = [s for s in _policy_of(template, logs_id) if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Action": "s3:PutObject",
            "Condition": {
                "ArnLike": {"aws:SourceArn": _arn(main_id)},
                "StringEquals": {"aws:SourceAccount": "111122223333"},
            },
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Resource": _arn(logs_id, f"/{prefix}*"),
            "Sid": "AllowServerAccessLogDelivery",
        }
    ]


def test_logging_service_key_grant_is_conditioned(default_bucket: Any) -> None:
    _, _, template = default_bucket
    (key,) = template.find_resources("AWS::KMS::Key").values()
    logging = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert len(logging) == 1, (
        "s3.Bucket's unconditioned grant to the logging service must not appear"
    )
    assert sorted(logging[0]["Action"]) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]
    assert logging[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::test-data-bucket"},
    }


def test_grant_read_lists_and_reads_objects_and_decrypts_only(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    main_id, _, key_id = _ids(bucket)
    assert _statements_of_role(template, "Reader") == [
        {
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Effect": "Allow",
            "Resource": _arn(main_id, "/*"),
        },
        {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": _arn(main_id)},
        {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": _arn(key_id)},
    ]


def test_grant_read_under_a_pattern_lists_only_the_keys_under_it(default_bucket: Any) -> None:
    """Listing the whole bucket would show every key name, the ones not granted too."""
    _, bucket, template = default_bucket
    main_id, _, _ = _ids(bucket)
    listing = [
        s for s in _statements_of_role(template, "ReportsReader") if s["Action"] == "s3:ListBucket"
    ]
    assert listing == [
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["reports/*"]}},
            "Effect": "Allow",
            "Resource": _arn(main_id),
        }
    ]


def test_grant_write_puts_objects_under_the_pattern_only(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    main_id, _, key_id = _ids(bucket)
    assert _statements_of_role(template, "Writer") == [
        {
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Effect": "Allow",
            "Resource": _arn(main_id, "/uploads/*"),
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": _arn(key_id),
        },
    ]


def test_grant_read_write_lists_exact_actions(default_bucket: Any) -> None:
    _, bucket, template = default_bucket
    main_id, _, key_id = _ids(bucket)
    statements = _statements_of_role(template, "Editor")
    assert statements == [
        {
            "Action": [
                "s3:AbortMultipartUpload",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
            ],
            "Effect": "Allow",
            "Resource": _arn(main_id, "/*"),
        },
        {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": _arn(main_id)},
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": _arn(key_id),
        },
    ]
    assert "s3:DeleteObject" not in str(statements)  # writing never deletes versions


REASON = (
    "The data is rebuilt from its source system, which keeps its own cross-region backups, "
    "so a replica of this bucket adds no independent copy."
)


def test_default_bucket_passes_every_nag_pack_once_replication_is_decided() -> None:
    app, stack = new_stack()
    SecureBucket(stack, "Data", unreplicated_reason=REASON)
    assert nag_violations(app) == []


def test_without_a_replication_choice_the_regulated_packs_say_so() -> None:
    """No default acknowledgement hides the missing replica from a regulated team."""
    app, stack = new_stack()
    SecureBucket(stack, "Data")
    violations = nag_violations(app)
    assert sorted(v.split(":")[0] for v in violations) == [
        "HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3BucketReplicationEnabled",
    ]


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


def test_the_replication_role_may_read_through_the_buckets_own_key() -> None:
    """S3 reads each object as the replication role: without kms:Decrypt in the source
    key's policy, every object would fail to replicate while the bucket looks replicated."""
    _, stack = new_stack()
    role = "arn:aws:iam::111122223333:role/replication"
    SecureBucket(
        stack,
        "Replicated",
        replication=ReplicationTarget(
            bucket_name="replica-bucket",
            kms_key_arn="arn:aws:kms:eu-central-1:111122223333:alias/replica",
            role_arn=role,
        ),
    )
    (key,) = assertions.Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowReplicationOutOfSource"
    ]
    assert statement["Principal"] == {"AWS": role} and statement["Effect"] == "Allow"
    assert "kms:Decrypt" in statement["Action"]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"


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


def test_an_existing_key_known_by_its_alias_is_granted_by_that_alias() -> None:
    """An alias names no key ARN IAM could use: the grant names the alias by condition."""
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms

    _, stack = new_stack()
    alias = kms.Alias.from_alias_name(stack, "Existing", "alias/orders/documents")
    bucket = SecureBucket(stack, "Data", encryption_key=alias, unreplicated_reason=REASON)
    policy = iam.ManagedPolicy(stack, "Reader")
    bucket.grant_read(policy)
    template = assertions.Template.from_stack(stack)
    statements = [
        s
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert {
        "Action": "kms:Decrypt",
        "Condition": {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/orders/documents"]}
        },
        "Effect": "Allow",
        "Resource": "*",
    } in statements


def test_an_encryption_key_construct_can_be_passed_as_the_key() -> None:
    from baseline.constructs import EncryptionKey

    _, stack = new_stack()
    key = EncryptionKey(stack, "Key", alias="alias/test/data")
    SecureBucket(stack, "Data", encryption_key=key, unreplicated_reason=REASON)
    template = assertions.Template.from_stack(stack)
    key_id = stack.get_logical_id(key.key.node.default_child)  # type: ignore[arg-type]
    buckets = template.find_resources("AWS::S3::Bucket")
    masters = [
        b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["KMSMasterKeyID"]
        for b in buckets.values()
    ]
    assert masters and all(m == {"Fn::GetAtt": [key_id, "Arn"]} for m in masters)


def test_both_buckets_send_their_events_to_eventbridge(default_bucket: Any) -> None:
    """CT.S3.PR.4: a deletion or an unexpected write can be acted on."""
    _, bucket, template = default_bucket
    resources = template.find_resources("AWS::S3::Bucket")
    for logical_id in _ids(bucket)[:2]:
        assert resources[logical_id]["Properties"]["NotificationConfiguration"] == {
            "EventBridgeConfiguration": {"EventBridgeEnabled": True}
        }


@pytest.mark.parametrize("how", ["add_event_notification", "add_object_created_notification"])
def test_an_event_notification_added_later_keeps_eventbridge_on(how: str) -> None:
    """The CDK's notifications resource replaces the bucket's whole configuration when it
    deploys: EventBridge must be in it, or the deploy turns it off."""
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_s3_notifications as s3n
    from aws_cdk import aws_sqs as sqs

    _, stack = new_stack()
    bucket = SecureBucket(stack, "Data", unreplicated_reason=REASON)
    queue = s3n.SqsDestination(sqs.Queue(stack, "Queue"))
    if how == "add_event_notification":
        bucket.bucket.add_event_notification(s3.EventType.OBJECT_REMOVED, queue)
    else:
        bucket.bucket.add_object_created_notification(queue)
    template = assertions.Template.from_stack(stack)
    (notifications,) = template.find_resources("Custom::S3BucketNotifications").values()
    configuration = notifications["Properties"]["NotificationConfiguration"]
    assert "EventBridgeConfiguration" in configuration and configuration["QueueConfigurations"]


def test_a_bucket_without_object_lock_is_reported_until_the_caller_says_why() -> None:
    from baseline.compliance import GUARD_PLUGIN

    reason = "These documents are rewritten on every change, so they cannot be write-once."
    _, stack = new_stack()
    unlocked = SecureBucket(stack, "Unlocked", unreplicated_reason=reason)
    explained = SecureBucket(stack, "Explained", unreplicated_reason=reason, unlocked_reason=reason)
    rule = f"{GUARD_PLUGIN}::s3_bucket_object_lock_enabled_check"

    def acknowledged(bucket: SecureBucket) -> bool:
        resource = bucket.bucket.node.default_child
        assert isinstance(resource, cdk.CfnResource)
        guard = resource.get_metadata("guard") or {}
        return rule.partition("::")[2] in guard.get("SuppressedRules", [])

    assert not acknowledged(unlocked)
    assert acknowledged(explained)
    with pytest.raises(ValueError, match="unlocked_reason explains a bucket without object_lock"):
        SecureBucket(
            stack,
            "Both",
            object_lock=s3.ObjectLockRetention.governance(cdk.Duration.days(1)),
            unlocked_reason=reason,
        )


def test_the_replication_role_may_give_replicas_to_another_account() -> None:
    """Replicas to another account change owner (AccessControlTranslation), which S3
    authorises as s3:ObjectOwnerOverrideToBucketOwner; within one account nothing changes
    owner, and the role may not."""
    from baseline.constructs.secure_bucket import replication_role_policy

    def writes(**kwargs: str) -> list[str]:
        (statement,) = [
            s.to_json()
            for s in replication_role_policy(
                source_bucket_name="src", destination_bucket_name="dst", **kwargs
            )
            if s.sid == "WriteReplicas"
        ]
        actions = statement["Action"]
        return sorted(actions if isinstance(actions, list) else [actions])

    assert writes() == ["s3:ReplicateObject", "s3:ReplicateTags"]
    assert writes(destination_account="999988887777") == [
        "s3:ObjectOwnerOverrideToBucketOwner",
        "s3:ReplicateObject",
        "s3:ReplicateTags",
    ]
    from tests.test_iam_reference import action_exists

    assert action_exists("s3:ObjectOwnerOverrideToBucketOwner")
