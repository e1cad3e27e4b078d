"""Storage controls: customer-managed keys, and the encryption, TLS, public access and
durability of every bucket."""

from __future__ import annotations

from typing import Any

from baseline.controls.model import (
    Control,
    Evidence,
    Templates,
    as_list,
    bucket_policies,
    control,
    properties,
    resources,
    retained,
)

CONTROLS: list[Control] = []


@control(
    CONTROLS,
    id="LZ-KMS-01",
    title="Customer-managed KMS keys rotate, wait 30 days to delete and are retained",
    explanation=(
        "Every KMS key has yearly rotation on and a 30-day deletion window, and is kept "
        "(Retain or RetainExceptOnCreate, and Retain on replacement) when its stack deletes "
        "or replaces it."
    ),
    best_practices=("SEC08-BP01", "SEC08-BP02"),
    cis=("3.6",),
    implemented_by="baseline.constructs.EncryptionKey",
)
def check_kms_keys(templates: Templates) -> Evidence:
    """Every KMS key rotates, has a 30-day deletion window and is retained."""
    evidence = Evidence()
    for name, key in resources(templates, "AWS::KMS::Key"):
        props = properties(key)
        problems = []
        if props.get("EnableKeyRotation") is not True:
            problems.append("rotation off")
        if props.get("PendingWindowInDays") != 30:
            problems.append(f"deletion window {props.get('PendingWindowInDays')}")
        if not retained(key):
            problems.append("not retained")
        evidence.record(f"{name}: {', '.join(problems)}" if problems else name, not problems)
    return evidence


@control(
    CONTROLS,
    id="LZ-S3-01",
    title="Buckets encrypt with SSE-KMS under a customer-managed key; SSE-C is blocked",
    explanation=(
        "Every bucket's default encryption is aws:kms with a key id and the S3 bucket key "
        "on, and its encryption rule blocks SSE-C (customer-provided keys)."
    ),
    best_practices=("SEC08-BP02",),
    implemented_by="baseline.constructs.SecureBucket",
)
def check_bucket_encryption(templates: Templates) -> Evidence:
    """Every bucket has an SSE-KMS default with a key and a bucket key, and blocks SSE-C."""
    evidence = Evidence()
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        rules = (
            properties(bucket)
            .get("BucketEncryption", {})
            .get("ServerSideEncryptionConfiguration", [])
        )
        ok = any(
            r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") == "aws:kms"
            and r.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
            and r.get("BucketKeyEnabled") is True
            and "SSE-C" in r.get("BlockedEncryptionTypes", {}).get("EncryptionType", [])
            for r in rules
        )
        evidence.record(name, ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-S3-02",
    title="Bucket policies deny requests without TLS and with TLS older than 1.2",
    explanation=(
        "Every bucket's policy has a Deny on aws:SecureTransport false and a Deny on "
        "s3:TlsVersion below 1.2, each of s3:* to every principal (`*`) on both the bucket "
        "and its objects (`/*`), with no other condition narrowing it."
    ),
    best_practices=("SEC09-BP02",),
    cis=("2.1.1",),
    implemented_by="baseline.constructs.SecureBucket",
)
def check_bucket_tls(templates: Templates) -> Evidence:
    """Every bucket's policy denies plain HTTP and denies TLS older than 1.2, of every
    action to everyone on the bucket and its objects."""
    evidence = Evidence()
    policies = bucket_policies(templates)
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        statements = [
            s
            for s in policies.get(name, [])
            if s.get("Effect") == "Deny" and _whole_bucket_for_everyone(s, name, bucket)
        ]
        # each Deny on its own condition alone: another key beside it (an account, say)
        # would narrow the Deny to the requests that match that too
        denies_http = any(
            s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )
        denies_old_tls = any(
            s.get("Condition") == {"NumericLessThan": {"s3:TlsVersion": 1.2}} for s in statements
        )
        evidence.record(name, denies_http and denies_old_tls)
    return evidence


def _whole_bucket_for_everyone(statement: dict[str, Any], name: str, bucket: Any) -> bool:
    """A statement of every S3 action (``s3:*``) to every principal (``*``), on the
    bucket and on its objects (``/*``), with no Not- element narrowing it."""
    if {"NotAction", "NotPrincipal", "NotResource"} & set(statement):
        return False
    principal = statement.get("Principal")
    everyone = principal == "*" or (
        isinstance(principal, dict)
        and set(principal) == {"AWS"}
        and "*" in as_list(principal["AWS"])
    )
    every_action = bool({"s3:*", "*"} & {str(a).lower() for a in as_list(statement.get("Action"))})
    logical_id = name.split("/", 1)[1]
    arn: Any = {"Fn::GetAtt": [logical_id, "Arn"]}
    bucket_name = properties(bucket).get("BucketName")
    arns = [arn] + ([f"arn:aws:s3:::{bucket_name}"] if isinstance(bucket_name, str) else [])
    targets = as_list(statement.get("Resource"))
    on_bucket = any(a in targets for a in arns)
    on_objects = any(
        t == {"Fn::Join": ["", [a, "/*"]]} or (isinstance(a, str) and t == f"{a}/*")
        for a in arns
        for t in targets
    )
    return everyone and every_action and on_bucket and on_objects


@control(
    CONTROLS,
    id="LZ-S3-03",
    title="Buckets block public access on all four settings and disable ACLs",
    explanation=(
        "Every bucket turns on BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls and "
        "RestrictPublicBuckets, and enforces bucket-owner object ownership (ACLs off)."
    ),
    best_practices=("SEC03-BP07", "SEC08-BP04"),
    cis=("2.1.4",),
    implemented_by="baseline.constructs.SecureBucket",
)
def check_bucket_public_access(templates: Templates) -> Evidence:
    """Every bucket sets all four public access block flags and BucketOwnerEnforced."""
    evidence = Evidence()
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        props = properties(bucket)
        block = props.get("PublicAccessBlockConfiguration", {})
        ownership = props.get("OwnershipControls", {}).get("Rules", [])
        ok = all(block.get(f) is True for f in flags) and any(
            r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in ownership
        )
        evidence.record(name, ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-S3-04",
    title="Buckets are versioned, have lifecycle rules and survive stack deletion",
    explanation=(
        "Every bucket has versioning enabled and at least one lifecycle rule, and is kept "
        "when its stack deletes or replaces it."
    ),
    best_practices=("SEC07-BP04", "SEC08-BP03"),
    implemented_by="baseline.constructs.SecureBucket",
)
def check_bucket_durability(templates: Templates) -> Evidence:
    """Every bucket is versioned, has lifecycle rules and is retained."""
    evidence = Evidence()
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        props = properties(bucket)
        versioned = props.get("VersioningConfiguration", {}).get("Status") == "Enabled"
        lifecycle = bool(props.get("LifecycleConfiguration", {}).get("Rules"))
        evidence.record(name, versioned and lifecycle and retained(bucket))
    return evidence
