"""LogArchive and LogArchiveReplica, as synthesized for the example organisation."""

from __future__ import annotations

import json
from typing import Any

from baseline import naming
from baseline.controls import RETAINED
from baseline.landing_zone import LandingZone
from tests.conftest import Synthesized

LOG_ACCOUNT = "312345678901"
MANAGEMENT = "210987654321"
ORG = "o-nw7k2m9q4x"
TRAIL = f"arn:aws:cloudtrail:eu-west-1:{MANAGEMENT}:trail/nwl-organization-trail"


def _log_bucket(template: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    name = naming.log_bucket("nwl", LOG_ACCOUNT, region)
    for logical_id, resource in template["Resources"].items():
        if (
            resource["Type"] == "AWS::S3::Bucket"
            and resource["Properties"].get("BucketName") == name
        ):
            return logical_id, resource
    raise AssertionError(f"no bucket {name}")


def _bucket_policy(template: dict[str, Any], logical_id: str) -> dict[str, dict[str, Any]]:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::S3::BucketPolicy" and resource["Properties"]["Bucket"] == {
            "Ref": logical_id
        }:
            return {
                s.get("Sid", f"#{i}"): s
                for i, s in enumerate(resource["Properties"]["PolicyDocument"]["Statement"])
            }
    raise AssertionError("no bucket policy")


def _key_policy(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (key,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    return {
        s.get("Sid", f"#{i}"): s for i, s in enumerate(key["Properties"]["KeyPolicy"]["Statement"])
    }


def test_stacks_live_in_the_log_archive_account(synthesized: Synthesized) -> None:
    lz = synthesized.landing_zone
    assert lz.log_archive.account == LOG_ACCOUNT and lz.log_archive.region == "eu-west-1"
    assert lz.log_archive_replica is not None
    assert (
        lz.log_archive_replica.account == LOG_ACCOUNT
        and lz.log_archive_replica.region == "eu-central-1"
    )
    assert lz.log_archive.termination_protection and lz.log_archive_replica.termination_protection


def test_replica_deploys_before_the_source(synthesized: Synthesized) -> None:
    lz = synthesized.landing_zone
    assert lz.log_archive_replica in lz.log_archive.dependencies
    artifact = synthesized.assembly.get_stack_artifact(lz.log_archive.artifact_id)
    assert lz.log_archive_replica.artifact_id in [d.id for d in artifact.dependencies]


def test_log_bucket_is_locked_in_compliance_mode_for_a_year(synthesized: Synthesized) -> None:
    for stack in ("LogArchive", "LogArchiveReplica"):
        region = "eu-west-1" if stack == "LogArchive" else "eu-central-1"
        _, bucket = _log_bucket(synthesized.templates[stack], region)
        props = bucket["Properties"]
        assert props["ObjectLockEnabled"] is True
        assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
            "Mode": "COMPLIANCE",
            "Days": 365,
        }
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert bucket["DeletionPolicy"] in RETAINED
        # noncurrent versions are kept at least as long as the lock
        rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
        assert (
            rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"]["NoncurrentDays"]
            >= 365
        )


def test_logs_move_to_colder_storage(synthesized: Synthesized) -> None:
    _, bucket = _log_bucket(synthesized.templates["LogArchive"], "eu-west-1")
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["TierLogs"]["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 90},
        {"StorageClass": "GLACIER", "TransitionInDays": 365},
    ]
    assert "ExpirationInDays" not in rules["TierLogs"]


def test_log_bucket_replicates_to_the_locked_replica(synthesized: Synthesized) -> None:
    _, bucket = _log_bucket(synthesized.templates["LogArchive"], "eu-west-1")
    replication = bucket["Properties"]["ReplicationConfiguration"]
    role = naming.log_replication_role("nwl")
    assert replication["Role"] == f"arn:aws:iam::{LOG_ACCOUNT}:role/{role}"
    (rule,) = replication["Rules"]
    assert (
        rule["Destination"]["Bucket"]
        == f"arn:aws:s3:::{naming.log_bucket('nwl', LOG_ACCOUNT, 'eu-central-1')}"
    )
    assert rule["Destination"]["EncryptionConfiguration"][
        "ReplicaKmsKeyID"
    ] == naming.log_key_alias_arn("nwl", LOG_ACCOUNT, "eu-central-1")
    # the replica does not replicate further
    _, replica = _log_bucket(synthesized.templates["LogArchiveReplica"], "eu-central-1")
    assert "ReplicationConfiguration" not in replica["Properties"]


def test_replication_role_is_trusted_by_s3_of_this_account_only(synthesized: Synthesized) -> None:
    template = synthesized.templates["LogArchiveReplica"]
    (role,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert role["Properties"]["RoleName"] == naming.log_replication_role("nwl")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": LOG_ACCOUNT}}
    (role_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    assert role["Properties"]["MaxSessionDuration"] == 3600
    assert "Policies" not in role["Properties"]  # the managed policy below is all it gets
    (policy,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    source = f"arn:aws:s3:::{naming.log_bucket('nwl', LOG_ACCOUNT, 'eu-west-1')}"
    destination = f"arn:aws:s3:::{naming.log_bucket('nwl', LOG_ACCOUNT, 'eu-central-1')}"
    statements = {
        s["Sid"]: (sorted(s["Action"]), s["Resource"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    }
    assert statements == {
        "ReadSourceConfiguration": (
            ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            source,
        ),
        "ReadSourceVersions": (
            [
                "s3:GetObjectLegalHold",
                "s3:GetObjectRetention",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionTagging",
            ],
            f"{source}/*",
        ),
        # no s3:ReplicateDelete: deletions never propagate to the replica
        "WriteReplicas": (["s3:ReplicateObject", "s3:ReplicateTags"], f"{destination}/*"),
    }


def test_key_policies_let_replication_through_s3_only(synthesized: Synthesized) -> None:
    role_arn = f"arn:aws:iam::{LOG_ACCOUNT}:role/{naming.log_replication_role('nwl')}"
    source = _key_policy(synthesized.templates["LogArchive"])["AllowReplicationOutOfSource"]
    assert source["Principal"] == {"AWS": role_arn}
    assert source["Action"] == "kms:Decrypt"
    assert source["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    replica = _key_policy(synthesized.templates["LogArchiveReplica"])["AllowReplicationIntoReplica"]
    assert replica["Principal"] == {"AWS": {"Fn::GetAtt": [_role_id(synthesized), "Arn"]}}
    assert sorted(replica["Action"]) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]
    assert replica["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}
    }


def _role_id(synthesized: Synthesized) -> str:
    template = synthesized.templates["LogArchiveReplica"]
    (role_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    return role_id


def test_cloudtrail_writes_only_from_the_organisation_trail(synthesized: Synthesized) -> None:
    template = synthesized.templates["LogArchive"]
    logical_id, _ = _log_bucket(template, "eu-west-1")
    policy = _bucket_policy(template, logical_id)
    write = policy["CloudTrailWrite"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Action"] == "s3:PutObject"
    assert write["Condition"]["StringEquals"] == {
        "aws:SourceArn": TRAIL,
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    prefixes = sorted(r["Fn::Join"][1][1] for r in write["Resource"])
    assert prefixes == [f"/AWSLogs/{MANAGEMENT}/*", f"/AWSLogs/{ORG}/*"]
    assert policy["CloudTrailAclCheck"]["Action"] == "s3:GetBucketAcl"
    assert policy["CloudTrailAclCheck"]["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL}}
    key = _key_policy(template)
    assert key["AllowCloudTrailEncrypt"]["Condition"]["StringEquals"] == {"aws:SourceArn": [TRAIL]}


def test_flow_firewall_and_dns_logs_write_only_for_the_organisation(
    synthesized: Synthesized,
) -> None:
    template = synthesized.templates["LogArchive"]
    logical_id, _ = _log_bucket(template, "eu-west-1")
    statement = _bucket_policy(template, logical_id)["FlowLogsWrite"]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Action"] == "s3:PutObject"
    assert sorted(r["Fn::Join"][1][1] for r in statement["Resource"]) == [
        "/AWSLogs/*/network-firewall/*",
        "/AWSLogs/*/vpcdnsquerylogs/*",
        "/AWSLogs/*/vpcflowlogs/*",
    ]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceOrgID": ORG, "s3:x-amz-acl": "bucket-owner-full-control"}
    }
    key = _key_policy(template)
    assert key["AllowFlowLogDelivery"]["Condition"] == {"StringEquals": {"aws:SourceOrgID": ORG}}


def test_config_delivers_to_its_own_bucket_without_default_retention(
    synthesized: Synthesized,
) -> None:
    """AWS Config does not deliver to a bucket with Object Lock default retention."""
    template = synthesized.templates["LogArchive"]
    name = naming.config_bucket("nwl", LOG_ACCOUNT, "eu-west-1")
    (logical_id,) = [
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket" and r["Properties"].get("BucketName") == name
    ]
    bucket = template["Resources"][logical_id]
    assert "ObjectLockConfiguration" not in bucket["Properties"]
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] in RETAINED
    policy = _bucket_policy(template, logical_id)
    write = policy["ConfigWrite"]
    assert write["Principal"] == {"Service": "config.amazonaws.com"}
    assert write["Resource"]["Fn::Join"][1][1] == "/AWSLogs/*/Config/*"
    assert write["Condition"] == {
        "StringEquals": {"aws:SourceOrgID": ORG, "s3:x-amz-acl": "bucket-owner-full-control"}
    }
    allows = sorted(s["Sid"] for s in policy.values() if s["Effect"] == "Allow")
    assert allows == ["ConfigBucketCheck", "ConfigWrite"]
    key = _key_policy(template)
    assert key["AllowConfigDelivery"]["Condition"] == {"StringEquals": {"aws:SourceOrgID": ORG}}
    # the log bucket no longer lets Config write
    log_id, _ = _log_bucket(template, "eu-west-1")
    assert "ConfigWrite" not in _bucket_policy(template, log_id)


def test_nobody_else_is_allowed_on_the_log_bucket(synthesized: Synthesized) -> None:
    template = synthesized.templates["LogArchive"]
    logical_id, _ = _log_bucket(template, "eu-west-1")
    allows = [s for s in _bucket_policy(template, logical_id).values() if s["Effect"] == "Allow"]
    assert sorted(s["Sid"] for s in allows) == [
        "CloudTrailAclCheck",
        "CloudTrailWrite",
        "FlowLogsBucketCheck",
        "FlowLogsWrite",
        "NetworkHubLogsBucketCheck",
        "NetworkHubLogsWrite",
        "SessionManagerLogsBucketCheck",
        "SessionManagerLogsWrite",
    ]
    # the one grant to IAM principals: Session Manager's logs, from the organisation only,
    # each account below its own id (a policy variable, not a wildcard)
    session = {s["Sid"]: s for s in allows if s["Sid"].startswith("SessionManager")}
    for statement in session.values():
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    assert session["SessionManagerLogsWrite"]["Action"] == "s3:PutObject"
    assert "/session-manager/${aws:PrincipalAccount}/*" in json.dumps(
        session["SessionManagerLogsWrite"]["Resource"]
    )
    assert session["SessionManagerLogsBucketCheck"]["Action"] == "s3:GetEncryptionConfiguration"
    allows = [s for s in allows if s["Sid"] not in session]
    network = "534567890123"
    # each service principal is pinned to the organisation's own trail, org or account
    expected = {
        "CloudTrailAclCheck": ("cloudtrail.amazonaws.com", "aws:SourceArn", TRAIL),
        "CloudTrailWrite": ("cloudtrail.amazonaws.com", "aws:SourceArn", TRAIL),
        "FlowLogsBucketCheck": ("delivery.logs.amazonaws.com", "aws:SourceOrgID", ORG),
        "FlowLogsWrite": ("delivery.logs.amazonaws.com", "aws:SourceOrgID", ORG),
        "NetworkHubLogsBucketCheck": ("delivery.logs.amazonaws.com", "aws:SourceAccount", network),
        "NetworkHubLogsWrite": ("delivery.logs.amazonaws.com", "aws:SourceAccount", network),
    }
    for statement in allows:
        service, key, value = expected[statement["Sid"]]
        assert statement["Principal"] == {"Service": service}, statement["Sid"]
        assert statement["Condition"]["StringEquals"][key] == value, statement["Sid"]


def test_replication_role_outlives_its_stack(synthesized: Synthesized) -> None:
    template = synthesized.templates["LogArchiveReplica"]
    iam = [
        r
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy")
    ]
    assert sorted(r["Type"] for r in iam) == ["AWS::IAM::ManagedPolicy", "AWS::IAM::Role"]
    for resource in iam:
        assert resource["DeletionPolicy"] in RETAINED, resource["Type"]
        assert resource["UpdateReplacePolicy"] == "Retain", resource["Type"]


def test_access_log_retention_comes_from_the_config(variant: LandingZone) -> None:
    # the variant keeps access logs 400 days and does not replicate
    import aws_cdk as cdk
    from aws_cdk import assertions

    landing_zone = variant
    assert landing_zone.log_archive_replica is None
    template = assertions.Template.from_stack(landing_zone.log_archive)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": [
                    assertions.Match.object_like(
                        {"Id": "ExpireAccessLogs", "ExpirationInDays": 400}
                    )
                ]
            }
        },
    )
    log_bucket = template.find_resources(
        "AWS::S3::Bucket",
        {"Properties": {"BucketName": naming.log_bucket("nwl", LOG_ACCOUNT, "eu-west-1")}},
    )
    (resource,) = log_bucket.values()
    assert "ReplicationConfiguration" not in resource["Properties"]
    cfn_bucket = landing_zone.log_archive.bucket.bucket.node.default_child
    assert cfn_bucket is not None
    recorded = [
        str(entry.data)
        for entry in cfn_bucket.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    assert any("turns log replication off" in data for data in recorded), recorded


def test_the_network_hub_delivers_with_the_documented_condition_too(
    synthesized: Synthesized,
) -> None:
    template = synthesized.templates["LogArchive"]
    logical_id, _ = _log_bucket(template, "eu-west-1")
    statement = _bucket_policy(template, logical_id)["NetworkHubLogsWrite"]
    network = "534567890123"
    assert sorted(r["Fn::Join"][1][1] for r in statement["Resource"]) == [
        f"/AWSLogs/{network}/network-firewall/*",
        f"/AWSLogs/{network}/vpcdnsquerylogs/*",
        f"/AWSLogs/{network}/vpcflowlogs/*",
    ]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": network, "s3:x-amz-acl": "bucket-owner-full-control"}
    }
    key = _key_policy(template)
    assert key["AllowNetworkHubLogDelivery"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": network}
    }


def test_no_account_can_write_under_another_accounts_log_prefix(synthesized: Synthesized) -> None:
    """A delivery with a custom prefix naming another account's path is refused."""
    from baseline.guardrails.evaluator import Request, statement_applies

    template = synthesized.templates["LogArchive"]
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    assert len(policies) >= 2
    for policy in policies:
        bucket = policy["Properties"]["Bucket"]["Ref"]
        name = template["Resources"][bucket]["Properties"]["BucketName"]
        if "-logs-" not in name and not (name.startswith("nwl-config-") and "-access-" not in name):
            continue
        (deny,) = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s.get("Sid") == "DenyLogsUnderAnotherAccountsPrefix"
        ]
        # the resource is this bucket's ARN with the nested-prefix pattern after it
        arn, pattern = deny["Resource"]["Fn::Join"][1]
        assert arn == {"Fn::GetAtt": [bucket, "Arn"]}
        deny = {**deny, "Resource": f"arn:aws:s3:::{name}{pattern}"}
        assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
        kind = "Config" if "-config-" in name else "vpcflowlogs"
        forged = f"arn:aws:s3:::{name}/AWSLogs/756789012345/{kind}/AWSLogs/867890123456/{kind}/a.gz"
        genuine = f"arn:aws:s3:::{name}/AWSLogs/867890123456/{kind}/eu-west-1/2026/12/01/a.gz"
        assert statement_applies(deny, Request("s3:PutObject", forged))
        assert not statement_applies(deny, Request("s3:PutObject", genuine))


def test_session_logs_use_the_log_key_only_through_s3_for_this_bucket(
    synthesized: Synthesized,
) -> None:
    statement = _key_policy(synthesized.templates["LogArchive"])["AllowSessionManagerLogs"]
    assert statement["Principal"] == {"AWS": "*"}
    # Decrypt for a transcript uploaded in parts; nothing grants reading an object
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    conditions = statement["Condition"]
    assert conditions["StringEquals"] == {
        "aws:PrincipalOrgID": ORG,
        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
    }
    contexts = conditions["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
    assert all("nwl-logs-" in c or "log" in c for c in contexts)
    assert any(c.endswith("/session-manager/*") for c in contexts)


def test_the_replica_expires_what_the_source_expires(example_data: dict[str, Any]) -> None:
    """A retention limit holds in both regions: delete markers are not replicated, so
    without a rule of its own the replica kept every log for ever."""
    import copy

    import aws_cdk as cdk
    from aws_cdk import assertions

    from baseline.config import parse_config
    from baseline.stacks.log_archive import LogArchiveReplicaStack, LogArchiveSettings

    def replica_rules(expiration_days: int | None) -> list[dict[str, Any]]:
        data = copy.deepcopy(example_data)
        data["log_archive"]["expiration_days"] = expiration_days
        settings = LogArchiveSettings.from_config(parse_config(data))
        stack = LogArchiveReplicaStack(
            cdk.App(),
            "Replica",
            settings=settings,
            env=cdk.Environment(account=settings.account_id, region=settings.replica_region),
        )
        (bucket,) = (
            assertions.Template.from_stack(stack)
            .find_resources(
                "AWS::S3::Bucket",
                {"Properties": {"BucketName": settings.bucket_name(str(settings.replica_region))}},
            )
            .values()
        )
        rules: list[dict[str, Any]] = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        return rules

    (expire,) = [r for r in replica_rules(3650) if r["Id"] == "ExpireLogs"]
    assert expire["ExpirationInDays"] == 3650
    assert not [r for r in replica_rules(None) if r["Id"] == "ExpireLogs"]


def test_only_the_delivering_services_write_logs_in_either_region(
    synthesized: Synthesized,
) -> None:
    """Object Lock keeps every version, but a forged current version over a log would be
    what readers read (and the Config history has no lock at all): under AWSLogs/ of
    either bucket no principal but an AWS service may put an object,
    whatever its own policy allows (replicas are written as s3:ReplicateObject)."""
    replica_region = synthesized.config.effective_replication_region
    assert replica_region is not None
    for stack, name in (
        ("LogArchive", naming.log_bucket("nwl", LOG_ACCOUNT, "eu-west-1")),
        ("LogArchive", naming.config_bucket("nwl", LOG_ACCOUNT, "eu-west-1")),
        ("LogArchiveReplica", naming.log_bucket("nwl", LOG_ACCOUNT, replica_region)),
    ):
        template = synthesized.templates[stack]
        (logical_id,) = [
            k
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::S3::Bucket" and r["Properties"].get("BucketName") == name
        ]
        statement = _bucket_policy(template, logical_id)["OnlyTheDeliveringServicesWriteLogs"]
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Action"] == "s3:PutObject"
        expected: dict[str, Any] = {"Bool": {"aws:PrincipalIsAWSService": "false"}}
        if "-config-" in name:  # the account's own recorder may deliver as Config's role
            expected["ArnNotEquals"] = {
                "aws:PrincipalArn": f"arn:aws:iam::{LOG_ACCOUNT}:role/{naming.CONFIG_SLR}"
            }
        assert statement["Condition"] == expected
        (resource,) = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert json.dumps(resource).endswith('/AWSLogs/*"]]}')


def test_what_the_trail_replication_and_the_writers_name_outlives_the_stacks(
    synthesized: Synthesized,
) -> None:
    """The buckets and keys are kept; so are the key aliases, which the trail, the
    replication rule and the members' Session Manager preferences name, and every bucket
    policy, without which a kept bucket would lose its TLS deny and its writers' limits."""
    for stack in ("LogArchive", "LogArchiveReplica"):
        kept = [
            (logical_id, r)
            for logical_id, r in synthesized.templates[stack]["Resources"].items()
            if r["Type"] in ("AWS::KMS::Alias", "AWS::S3::BucketPolicy")
        ]
        assert len(kept) >= 3, stack
        for logical_id, resource in kept:
            assert resource.get("DeletionPolicy") in RETAINED, (stack, logical_id)
            assert resource.get("UpdateReplacePolicy") == "Retain", (stack, logical_id)
