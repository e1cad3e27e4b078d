"""Deterministic names shared across accounts and regions.

Stacks in different accounts never import each other's outputs: each side derives the
same name from the organisation prefix, an account id and a region, so stacks have no
hidden coupling and deploy in a documented order. Every function checks the result
against the service's own length and character rules and raises ``ValueError`` naming
the rule it breaks; ``tests/test_naming.py`` checks the longest possible inputs.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence

# S3 general purpose bucket names: 3-63 characters, lower-case letters, digits, hyphens
# (dots are legal but break virtual-hosted TLS, so the kit never uses them).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# KMS aliases: "alias/" + up to 250 of [a-zA-Z0-9:/_-]; "alias/aws/" is AWS's.
_ALIAS = re.compile(r"^alias/[a-zA-Z0-9:/_-]{1,250}\Z")
# IAM role names: 1-64 of [\w+=,.@-].
_ROLE = re.compile(r"^[\w+=,.@-]{1,64}\Z")
_ACCOUNT_ID = re.compile(r"^\d{12}\Z")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d\Z")


# The landing zone's prefix: 2-12 lower-case letters and digits in hyphen-separated groups.
_PREFIX = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")


def prefix_problem(value: str) -> str | None:
    """Why ``value`` cannot be the landing zone's prefix (``organization.prefix``), if it
    cannot: it starts bucket names, role names and key aliases."""
    if not 2 <= len(value) <= 12 or not _PREFIX.match(value):
        return (
            f"{value!r} must be 2-12 lower-case letters and digits in hyphen-separated "
            "groups, starting with a letter (it is used in bucket names)"
        )
    if value.startswith(("xn-", "sthree", "amzn-s3-demo")):
        return f"{value!r} starts with a prefix S3 reserves for itself"
    return None


def _require(account_id: str, region: str | None = None) -> None:
    if not _ACCOUNT_ID.match(account_id):
        raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
    if region is not None and not _REGION.match(region):
        raise ValueError(f"region must be an AWS region code, got {region!r}")


def _bucket(name: str) -> str:
    if not _BUCKET.match(name):
        raise ValueError(f"bucket name {name!r} breaks the S3 naming rules (3-63 of a-z 0-9 -)")
    if name.startswith(_BUCKET_RESERVED_PREFIXES) or name.endswith(_BUCKET_RESERVED_SUFFIXES):
        raise ValueError(f"bucket name {name!r} uses a prefix or suffix S3 reserves")
    return name


def alias_problem(name: str) -> str | None:
    """Why KMS would refuse ``name`` as an alias, or None."""
    if name.startswith("alias/aws/"):
        return f"KMS alias {name!r} starts with alias/aws/, which AWS reserves"
    if not _ALIAS.match(name):
        return f"KMS alias {name!r} breaks the alias rules (alias/ + 1-250 of [A-Za-z0-9:/_-])"
    return None


def _alias(name: str) -> str:
    problem = alias_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


def _role(name: str) -> str:
    if not _ROLE.match(name):
        raise ValueError(f"IAM role name {name!r} breaks the role name rules (1-64 of [\\w+=,.@-])")
    return name


def log_bucket(prefix: str, account_id: str, region: str) -> str:
    """The central, object-locked log bucket (CloudTrail, flow logs) in the log-archive account."""
    _require(account_id, region)
    return _bucket(f"{prefix}-logs-{account_id}-{region}")


def evidence_bucket(prefix: str, account_id: str, region: str) -> str:
    """The forensics account's object-locked evidence bucket."""
    _require(account_id, region)
    return _bucket(f"{prefix}-evidence-{account_id}-{region}")


def evidence_bucket_pattern(prefix: str) -> str:
    """The evidence buckets' names, for the guardrails."""
    return f"{prefix}-evidence-*"


def evidence_access_log_bucket(prefix: str, account_id: str, region: str) -> str:
    _require(account_id, region)
    return _bucket(f"{prefix}-evidence-access-{account_id}-{region}")


def evidence_key_alias(prefix: str) -> str:
    return _alias(f"alias/{prefix}/forensics-evidence")


def forensics_flow_log_key_alias(prefix: str) -> str:
    """The key of the forensics analysis VPC's flow-log group."""
    return _alias(f"alias/{prefix}/forensics-flow-logs")


def forensics_stack(prefix: str) -> str:
    return f"{prefix}-forensics"


def packages_stack(prefix: str) -> str:
    return f"{prefix}-packages"


def package_domain(prefix: str) -> str:
    """The CodeArtifact domain, unless the config names one."""
    return prefix


def package_key_alias(prefix: str) -> str:
    return f"alias/{prefix}/codeartifact"


def package_store_repository(source: str) -> str:
    """The repository that holds what one public source (pypi, npm) gave."""
    return f"{source}-store"


#: The repository workloads use: internal packages, and the stores as upstreams.
PACKAGE_INTERNAL_REPOSITORY = "internal"


def containment_role_pattern(prefix: str) -> str:
    """Name pattern of the audit account's containment automation roles (one per region):
    the only writers of the evidence bucket."""
    return f"{prefix}-containment-*"


def containment_function(prefix: str, region: str) -> str:
    """The audit account's containment function and its role, in one region."""
    return _role(f"{prefix}-containment-{region}")


def containment_rule(prefix: str) -> str:
    """The EventBridge rule of the audit account that starts the containment function."""
    return f"{prefix}-containment"


def default_instance_role(prefix: str) -> str:
    """The role Systems Manager's default host management gives every instance of an
    account (IAM is global: one per account)."""
    return _role(f"{prefix}-default-instance-management")


#: Where every account's Session Manager logs go in the log archive bucket, below the
#: account's id.
SESSION_LOG_PREFIX = "session-manager"


def session_log_group(prefix: str) -> str:
    """The CloudWatch Logs group of every account's Session Manager sessions."""
    return f"/{prefix}/session-manager"


def session_key_alias(prefix: str) -> str:
    """The key of every account's Session Manager sessions, in each region."""
    return _alias(f"alias/{prefix}/session-manager")


def logging_restart_role(prefix: str) -> str:
    """The management account's role that starts a stopped trail or recorder again."""
    return _role(f"{prefix}-logging-restart")


def remediation_role(prefix: str) -> str:
    """The role of every member account that the remediation runbooks run as, and that
    the audit account's remediator starts them with."""
    return _role(f"{prefix}-remediation")


def remediation_function(prefix: str) -> str:
    """The audit account's remediation function and its role (home region)."""
    return _role(f"{prefix}-remediator")


def remediation_rule(prefix: str) -> str:
    """The audit account's EventBridge rule that starts the remediation function."""
    return f"{prefix}-remediation"


def quarantine_role(prefix: str) -> str:
    """The deny-all role (and instance profile) of every member account that a contained
    instance is given instead of its own."""
    return _role(f"{prefix}-quarantine")


def config_bucket(prefix: str, account_id: str, region: str) -> str:
    """The AWS Config delivery bucket in the log-archive account.

    Separate from the log bucket because AWS Config does not deliver to a bucket with
    Object Lock default retention.
    """
    _require(account_id, region)
    return _bucket(f"{prefix}-config-{account_id}-{region}")


def config_access_log_bucket(prefix: str, account_id: str, region: str) -> str:
    """The S3 server-access-log bucket of the Config bucket."""
    _require(account_id, region)
    return _bucket(f"{prefix}-config-access-{account_id}-{region}")


def log_archive_buckets(prefix: str, account_id: str, regions: Sequence[str]) -> tuple[str, ...]:
    """The names of the log-archive account's log buckets, in each of ``regions``: the log,
    Config and access-log buckets. Whole names: an S3 ARN carries no account, so a prefix,
    even with the account id in it, would also stand for a bucket another account names
    to begin that way."""
    _require(account_id)
    return tuple(
        name(prefix, account_id, region)
        for region in regions
        for name in (log_bucket, access_log_bucket, config_bucket, config_access_log_bucket)
    )


def access_log_bucket(prefix: str, account_id: str, region: str) -> str:
    """The S3 server-access-log bucket of the log-archive buckets in one region."""
    _require(account_id, region)
    return _bucket(f"{prefix}-s3-access-{account_id}-{region}")


def log_key_alias(prefix: str) -> str:
    """Alias of the log-archive KMS key (the same name in every region of that account)."""
    return _alias(f"alias/{prefix}/log-archive")


def log_key_alias_arn(prefix: str, account_id: str, region: str) -> str:
    """ARN of the log-archive key's alias, to address the key from other accounts."""
    _require(account_id, region)
    return f"arn:aws:kms:{region}:{account_id}:{log_key_alias(prefix)}"


def log_replication_role(prefix: str) -> str:
    """Role S3 assumes to replicate the log bucket to its second region."""
    return _role(f"{prefix}-log-archive-replication")


def audit_readonly_role(prefix: str) -> str:
    """Read-only role in every member account, assumed from the audit account."""
    return _role(f"{prefix}-audit-readonly")


def finding_rule(prefix: str, source: str) -> str:
    """The audit account's EventBridge rule that pages for one source's findings (home
    region): ``GuardDuty`` -> ``<prefix>-guardduty-findings``."""
    return f"{prefix}-{source.lower()}-findings"


def findings_topic(prefix: str) -> str:
    """The audit account's topic the finding rules publish to (home region)."""
    return f"{prefix}-security-findings"


#: AWS Config's service-linked role, as a path and name below ``role/``: what records and
#: delivers in every account of the baseline.
CONFIG_SLR = "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


def findings_topic_arn(prefix: str, account_id: str, region: str) -> str:
    """The ARN of :func:`findings_topic`, in the audit account's home region."""
    return f"arn:aws:sns:{region}:{account_id}:{findings_topic(prefix)}"


def findings_key_alias(prefix: str) -> str:
    """The key of the audit account's findings topic (home region)."""
    return _alias(f"alias/{prefix}/security-findings")


def incident_responder_role(prefix: str) -> str:
    """Incident-response role in every member account, assumed from the audit account."""
    return _role(f"{prefix}-incident-responder")


#: The inline policy that revokes a role's older sessions (the console's name for it).
REVOKE_SESSIONS_POLICY = "AWSRevokeOlderSessions"


def break_glass_role(prefix: str) -> str:
    """Emergency-access role, trusting only named principals in the management account."""
    return _role(f"{prefix}-break-glass")


def support_role(prefix: str) -> str:
    """AWS Support role in every member account, assumed from the audit account (CIS 1.17)."""
    return _role(f"{prefix}-support")


def workload_boundary(prefix: str) -> str:
    """The permissions boundary every role and user of a workload account carries."""
    return f"{prefix}-workload-boundary"


def workload_boundary_pattern(prefix: str) -> str:
    """ARN pattern of that boundary policy, in every account (one per account)."""
    return f"arn:aws:iam::*:policy/{workload_boundary(prefix)}"


def baseline_role_pattern(prefix: str) -> str:
    """ARN pattern of every role named with the prefix, in any account (reserved for the kit)."""
    return f"arn:aws:iam::*:role/{prefix}-*"


def organization_trail(prefix: str) -> str:
    """Name of the organisation CloudTrail trail in the management account."""
    return f"{prefix}-organization-trail"


def organization_trail_arn(prefix: str, management_account_id: str, region: str) -> str:
    """ARN of the organisation trail, used in aws:SourceArn conditions of its writers."""
    _require(management_account_id, region)
    return f"arn:aws:cloudtrail:{region}:{management_account_id}:trail/{organization_trail(prefix)}"


#: The CDK bootstrap qualifier of the landing zone's own stacks (cdk.json sets it for the
#: app). Not the CDK default, so workload teams bootstrap and deploy with the default
#: qualifier freely: only the landing zone's bootstrap roles are exempt and reserved.
CDK_QUALIFIER = "lzbaseline"


def stackset_execution_role_pattern() -> str:
    """The roles service-managed StackSets create and use in member accounts."""
    return "arn:aws:iam::*:role/stacksets-exec-*"


def cdk_execution_role_pattern() -> str:
    """The CloudFormation execution role of ``cdk bootstrap`` in every bootstrapped account."""
    return f"arn:aws:iam::*:role/cdk-{CDK_QUALIFIER}-cfn-exec-role-*"


def cdk_deploy_role_pattern() -> str:
    """The role ``cdk deploy`` assumes to create and run change sets (trusted by ``--trust``)."""
    return f"arn:aws:iam::*:role/cdk-{CDK_QUALIFIER}-deploy-role-*"


def cdk_execution_role_arn(account_id: str) -> str:
    """The landing zone's CloudFormation execution role in one account, any region."""
    _require(account_id)
    return f"arn:aws:iam::{account_id}:role/cdk-{CDK_QUALIFIER}-cfn-exec-role-{account_id}-*"


def baseline_policy_path(prefix: str) -> str:
    """The IAM path of the customer-managed policies behind the baseline's own roles."""
    return f"/{prefix}/"


def baseline_policy_pattern(prefix: str) -> str:
    """ARN pattern of those policies, in every account (only the baseline may change them)."""
    return f"arn:aws:iam::*:policy{baseline_policy_path(prefix)}*"


def baseline_principal_arns(prefix: str) -> list[str]:
    """ARN patterns of the only principals the guardrails exempt: the baseline's own.

    The StackSet execution role, the landing zone's CDK deploy and CloudFormation
    execution roles, the member baseline's settings function and the audit account's
    detective-services function apply the baseline; the break-glass role exists for
    emergencies. Nothing else is exempt.
    """
    return sorted(
        [
            stackset_execution_role_pattern(),
            cdk_deploy_role_pattern(),
            cdk_execution_role_pattern(),
            f"arn:aws:iam::*:role/{break_glass_role(prefix)}",
            f"arn:aws:iam::*:role/{account_settings_function(prefix)}-*",
            f"arn:aws:iam::*:role/{security_services_function(prefix)}-*",
        ]
    )


#: The tag every resource of the landing zone's own stacks carries (key, value). The
#: guardrails protect resources with it, and the tag itself, from everyone but the
#: baseline's principals.
MANAGED_BY_TAG = ("lz:managed-by", "aws-secure-landing-zone")


def network_hub_name(prefix: str, region: str) -> str:
    """The name the network hub gives its resources in a region (firewalls, rule groups)."""
    return f"{prefix}-hub-{region}"


def network_hub_name_pattern(prefix: str) -> str:
    """The names the network hub gives its resources, in every region."""
    return network_hub_name(prefix, "*")


def network_hub_function_pattern(prefix: str) -> str:
    """ARN pattern of the hub's custom-resource function role, in every region."""
    return f"arn:aws:iam::*:role/{network_hub_name_pattern(prefix)}-network-hub"


def perimeter_exception_tag(prefix: str) -> str:
    """Tag key that exempts one resource from the identity perimeter (value ``true``).

    Only the baseline's principals may set it (SCP-BASELINE-PROTECT).
    """
    return f"{prefix}:perimeter-exception"


# --- the landing zone's stacks --------------------------------------------------------
# CloudFormation stack names. Stacks with one copy per governed region carry the same
# name in every region.


def organization_stack(prefix: str) -> str:
    return f"{prefix}-organization"


def accounts_stack(prefix: str, index: int) -> str:
    return f"{prefix}-accounts-{index:02d}"


def log_archive_stack(prefix: str) -> str:
    return f"{prefix}-log-archive"


def log_archive_replica_stack(prefix: str) -> str:
    return f"{prefix}-log-archive-replica"


def member_baseline_stack(prefix: str) -> str:
    """The stack that holds the StackSet, and the StackSet itself (same name)."""
    return f"{prefix}-member-baseline"


def management_baseline_stack(prefix: str) -> str:
    return f"{prefix}-management-baseline"


def trail_stack(prefix: str) -> str:
    return organization_trail(prefix)


def security_tooling_stack(prefix: str) -> str:
    return f"{prefix}-security-tooling"


def network_stack(prefix: str) -> str:
    return f"{prefix}-network-hub"


def ci_role(prefix: str, name: str) -> str:
    """A role GitHub Actions assume through OIDC (config ``ci_roles``)."""
    return _role(f"{prefix}-ci-{name}")


def third_party_role(prefix: str, name: str) -> str:
    """A role a third party assumes with an external id (config ``third_party_roles``)."""
    return _role(f"{prefix}-third-party-{name}")


def machine_access_stack(prefix: str) -> str:
    return f"{prefix}-machine-access"


def identity_center_stack(prefix: str) -> str:
    return f"{prefix}-identity-center"


def identity_lookup_function(prefix: str) -> str:
    """The function (and role) that finds groups by name and new accounts by e-mail for
    the Identity Center assignments, in each account that manages them."""
    return f"{prefix}-identity-center-lookups"


def identity_assignments_stack(prefix: str, index: int) -> str:
    return f"{prefix}-identity-assignments-{index:02d}"


def security_services_function(prefix: str) -> str:
    """The audit account's detective-services function (and role); the region is appended."""
    return f"{prefix}-security-services"


def account_settings_function(prefix: str) -> str:
    """The member baseline's settings function (and role); the region is appended."""
    return f"{prefix}-account-settings"


def backup_vault(prefix: str) -> str:
    """The backup vault the backup policy targets in every member account and region."""
    return f"{prefix}-backup-vault"


def backup_role(prefix: str) -> str:
    """The role AWS Backup assumes for the backup policy in every member account."""
    return _role(f"{prefix}-backup")


def slug(target: str) -> str:
    """A readable, unique name part for a target: ``Workloads/Prod`` -> ``workloads-prod-1a2b3c``.

    The digest of the exact path keeps OUs like ``Workloads/Prod`` and ``Workloads-Prod``
    apart; the root keeps the plain ``root``. Policy names and the OU id parameters use it.
    """
    readable = "".join(c if c.isalnum() else "-" for c in target.lower()).strip("-")
    if target == "Root":
        return readable
    return f"{readable[:60]}-{hashlib.sha256(target.encode()).hexdigest()[:6]}"


#: What separates the words of a name in a logical id (underscores too).
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


@functools.cache
def logical_id(name: str) -> str:
    """A CloudFormation logical-id part for a name: ``Workloads/Prod`` -> ``WorkloadsProd``.

    Logical ids are a contract (a new one replaces the resource), so every stack derives
    them from names with this one function.
    """
    return "".join(word.capitalize() for word in _NOT_ALPHANUMERIC.split(name))


def ou_logical_id(path: str) -> str:
    """The construct id of the OU the Organization stack creates at ``path``: two paths
    of one id would be one resource, which the config refuses."""
    return f"Ou{logical_id(path)}"


def permission_set_logical_id(name: str) -> str:
    """The construct id of a permission set in its IdentityCenter stack."""
    return logical_id(f"PermissionSet-{name}")


#: The logical id of the custom resource every account stack holds (placement, contacts).
ACCOUNT_SETTINGS_LOGICAL_ID = "AccountSettings"


def created_account_logical_id(name: str) -> str:
    """The logical id of an account an account stack creates: ``fleet-dev`` ->
    ``AccountFleetDev`` (a contract: a new id replaces the account's resource)."""
    return f"Account{logical_id(name)}"


def ou_id_parameter(prefix: str, path: str) -> str:
    """SSM parameter (management account, home region) holding the id of an OU or the root.

    The Organization stack writes it; the account stacks read it with a dynamic
    reference, so they need no CloudFormation export. ``path`` is an OU path or ``Root``.
    """
    return f"/{prefix}/organization/ou/{slug(path)}"


def organization_settings_function(prefix: str) -> str:
    """The function behind the organisation-settings custom resources (management account)."""
    return f"{prefix}-organization-settings"


def organization_settings_function_arn(prefix: str, management_account_id: str, region: str) -> str:
    _require(management_account_id, region)
    return f"arn:aws:lambda:{region}:{management_account_id}:function:{organization_settings_function(prefix)}"


def ou_arn(management_account_id: str, organization_id: str, ou_id: str) -> str:
    """The ARN of an OU, as RAM and IAM name it (organisations live in the management account)."""
    _require(management_account_id)
    return f"arn:aws:organizations::{management_account_id}:ou/{organization_id}/{ou_id}"


def account_stack_index(account_name: str, stacks: int) -> int:
    """Which account stack holds an account: stable when other accounts come and go."""
    return int(hashlib.sha256(account_name.encode()).hexdigest(), 16) % stacks


def network_parameter_path(prefix: str) -> str:
    """Path of the SSM parameters the network hub publishes (network account, each region).

    Below it: ``transit-gateway-id``, ``dns-firewall-rule-group-id`` and
    ``query-log-config-id``, shared through RAM with the workload OUs.
    """
    return f"/{prefix}/network"


def network_parameter_arn(prefix: str, network_account_id: str, region: str, key: str) -> str:
    """The full ARN by which another account reads a shared hub parameter."""
    _require(network_account_id, region)
    return (
        f"arn:aws:ssm:{region}:{network_account_id}:parameter{network_parameter_path(prefix)}/{key}"
    )
