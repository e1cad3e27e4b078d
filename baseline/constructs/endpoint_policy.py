"""What a VPC's gateway endpoints let through: the organisation's data, and AWS's own.

A gateway endpoint carries every request of the VPC to S3 (or DynamoDB) in its region, and
in an isolated VPC it is the only way out. An endpoint policy that checks only who calls
(``aws:PrincipalOrgID``) still lets a role of the organisation write to a bucket that
anyone owns, such as an attacker's, whose bucket policy admits the world: the data leaves
past every firewall. The resource perimeter checks the other side too
(``aws:ResourceOrgID``), as AWS's data perimeter guidance does (SEC03-BP07, SEC05-BP02),
with three exceptions it names:

- the S3 objects that AWS's own agents and package managers read in the region (Systems
  Manager, Amazon Linux repositories, the CloudWatch and CodeDeploy agents, ECR's image
  layers, EC2 Image Builder, CloudFormation's responses, CodeArtifact's package assets),
  listed in :data:`AWS_OWNED_OBJECTS` and :data:`CODEARTIFACT_ASSET_ACCOUNTS` from each
  service's documentation, and those the caller adds, read-only;
- requests that an AWS service principal signs (CloudFormation's presigned URLs for a
  custom resource's or wait condition's response), which no customer can sign;
- resources outside the organisation that the caller names (a partner's bucket), for the
  organisation's own principals only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk

#: S3 objects that AWS services read from AWS-owned buckets of the VPC's region, often
#: without credentials; ``{region}`` is the region, ``{region_compact}`` it without dashes.
#: From the services' documentation: Systems Manager's "SSM Agent communications with AWS
#: managed S3 buckets", Amazon Linux 2 and 2023 kernel live patching, the CloudWatch
#: agent's and CodeDeploy agent's downloads, ECR's "Minimum Amazon S3 bucket permissions",
#: EC2 Image Builder's interface endpoints, CloudFormation's VPC endpoint bucket names.
AWS_OWNED_OBJECTS = (
    # Systems Manager: documents, agent updates, Distributor, patch baselines
    "aws-ssm-{region}/*",
    "aws-windows-downloads-{region}/*",
    "amazon-ssm-{region}/*",
    "amazon-ssm-packages-{region}/*",
    "{region}-birdwatcher-prod/*",
    "aws-ssm-distributor-file-{region}/*",
    "aws-ssm-document-attachments-{region}/*",
    "patch-baseline-snapshot-{region}/*",
    "aws-patchmanager-macos-{region}/*",
    # Amazon Linux package repositories
    "packages.{region}.amazonaws.com/*",
    "repo.{region}.amazonaws.com/*",
    "amazonlinux.{region}.amazonaws.com/*",
    "amazonlinux-2-repos-{region}/*",
    "al2023-repos-{region}-de612dc2/*",
    "al2023-{region}/*",
    # agents and images
    "amazoncloudwatch-agent-{region}/*",
    "amazoncloudwatch-agent/*",
    "aws-codedeploy-{region}/*",
    "prod-{region}-starport-layer-bucket/*",
    "ec2imagebuilder-toe-{region}-prod/*",
    "ec2imagebuilder-managed-resources-{region}-prod/components/*",
    # CloudFormation: custom resource responses and wait conditions
    "cloudformation-waitcondition-{region}/*",
    "cloudformation-custom-resource-response-{region_compact}/*",
)

#: The bucket of each region where CodeArtifact keeps package assets (npm, Maven and the
#: other formats but Python's and Swift's are downloaded from it with a URL that
#: CodeArtifact signs), by the AWS account that owns it: the table of CodeArtifact's
#: "Minimum Amazon S3 bucket permissions". A region not listed names its bucket in
#: ``aws_owned_objects`` (``aws codeartifact describe-domain`` prints it as s3BucketArn).
CODEARTIFACT_ASSET_ACCOUNTS = {
    "us-east-1": "193858265520",
    "us-east-2": "250872398865",
    "us-west-2": "787052242323",
    "eu-west-1": "438097961670",
    "eu-west-2": "247805302724",
    "eu-west-3": "762466490029",
    "eu-north-1": "611884512288",
    "eu-south-1": "484130244270",
    "eu-central-1": "769407342218",
    "ap-northeast-1": "660291247815",
    "ap-southeast-1": "421485864821",
    "ap-southeast-2": "860415559748",
    "ap-south-1": "681137435769",
}

#: The statement ids of the gateway endpoints' policies.
ORGANIZATION_RESOURCES = "OrganizationPrincipalsToOrganizationResources"
ACCOUNT_RESOURCES = "AccountPrincipalsToAccountResources"
AWS_SERVICES = "AwsServicePrincipals"
AWS_OWNED = "AwsOwnedObjectsReadOnly"
NAMED_RESOURCES = "OrganizationPrincipalsToNamedResources"

_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]+)(?P<key>/.*)?$")
_TABLE_ARN = re.compile(
    r"^arn:aws[a-z-]*:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/(?P<table>[^/]+)"
    r"(/.*)?$"
)


def exception_problems(exceptions: Sequence[str], aws_owned: Sequence[str] = ()) -> list[str]:
    """Each named resource that is not one S3 bucket (or its objects) or DynamoDB table
    (``aws_owned``: S3 objects only): a wildcard in a bucket's, table's or account's place
    would open the perimeter again."""
    problems = []
    for arn in exceptions:
        s3 = _S3_ARN.match(arn)
        table = _TABLE_ARN.match(arn)
        if s3 is not None and not _wild(s3.group("bucket")):
            continue
        if table is not None and not _wild(table.group("table")):
            continue
        problems.append(
            f"perimeter_exceptions: {arn!r} is not the ARN of one S3 bucket, its objects, or "
            "one DynamoDB table (no wildcard in the bucket or table name)"
        )
    for arn in aws_owned:
        s3 = _S3_ARN.match(arn)
        if s3 is None or _wild(s3.group("bucket")) or not s3.group("key"):
            problems.append(
                f"aws_owned_objects: {arn!r} is not the ARN of objects in one S3 bucket "
                "(arn:aws:s3:::bucket/key-or-pattern, no wildcard in the bucket name)"
            )
    return problems


def _wild(name: str) -> bool:
    return "*" in name or "?" in name


def gateway_statements(
    service: str,
    *,
    organization_id: str | None,
    account: str,
    region: str,
    exceptions: Sequence[str] = (),
    aws_owned: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The endpoint policy's statements for ``s3`` or ``dynamodb`` under the resource
    perimeter: the organisation's principals (or, without an organisation, this
    account's) to its resources, and for S3 the exceptions above."""
    if organization_id:
        inside = {"aws:PrincipalOrgID": organization_id, "aws:ResourceOrgID": organization_id}
        own_principals = {"aws:PrincipalOrgID": organization_id}
        sid = ORGANIZATION_RESOURCES
    else:
        inside = {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}
        own_principals = {"aws:PrincipalAccount": account}
        sid = ACCOUNT_RESOURCES
    statements: list[dict[str, Any]] = [_allow(sid, "*", "*", {"StringEquals": inside})]
    if service == "s3":
        statements.append(
            _allow(AWS_SERVICES, "*", "*", {"Bool": {"aws:PrincipalIsAWSService": "true"}})
        )
        owned = [*aws_owned_objects(region), *aws_owned]
        statements.append(_allow(AWS_OWNED, "s3:GetObject", owned, None))
    named = [arn for arn in exceptions if arn.split(":")[2] == service]
    if named:
        statements.append(_allow(NAMED_RESOURCES, "*", named, {"StringEquals": own_principals}))
    return statements


def aws_owned_objects(region: str) -> list[str]:
    """:data:`AWS_OWNED_OBJECTS` as ARNs in ``region`` (a token in an environment-agnostic
    stack: the compact form is then joined by CloudFormation)."""
    if cdk.Token.is_unresolved(region):
        compact = cdk.Fn.join("", cdk.Fn.split("-", region))
    else:
        compact = region.replace("-", "")
    patterns = list(AWS_OWNED_OBJECTS)
    if region in CODEARTIFACT_ASSET_ACCOUNTS:
        patterns.append(f"assets-{CODEARTIFACT_ASSET_ACCOUNTS[region]}-{{region}}/*")
    return [
        "arn:aws:s3:::" + pattern.format(region=region, region_compact=compact)
        for pattern in patterns
    ]


def _allow(sid: str, actions: str, resources: str | list[str], condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": actions,
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement
