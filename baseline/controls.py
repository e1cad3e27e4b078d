"""The controls registry: each control the kit provides, and the check that proves it.

A control names the Well-Architected Security Pillar best practices it serves, the CIS
AWS Foundations Benchmark (v5.0.0 numbering) recommendations where they apply, the
construct that implements it, and a check over the synthesized templates. A check
returns the evidence it found and the violations it found; a control holds when there is
evidence and no violation. ``docs/controls.md`` is generated from this registry, and the
tests fail when a control finds no evidence in the example organisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Template = Mapping[str, Any]
Templates = Mapping[str, Template]  # stack name -> template


@dataclass
class Evidence:
    """What a check found: resources that satisfy the control, and those that do not."""

    found: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return bool(self.found) and not self.violations


@dataclass(frozen=True)
class Control:
    """One control of the kit."""

    id: str
    title: str
    best_practices: tuple[str, ...]
    cis: tuple[str, ...]
    implemented_by: str
    check: Callable[[Templates], Evidence]


def resources(templates: Templates, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``stack/logical id``, resource) for every resource of a type."""
    for stack, template in sorted(templates.items()):
        for logical_id, resource in template.get("Resources", {}).items():
            if resource.get("Type") == resource_type:
                yield f"{stack}/{logical_id}", resource


def _props(resource: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = resource.get("Properties", {})
    return props


#: Deletion policies that keep a resource when its stack deletes it: Retain, or
#: RetainExceptOnCreate (removed only when its own creation fails, so a failed first
#: deploy can be retried).
RETAINED = ("Retain", "RetainExceptOnCreate")


def _retained(resource: Mapping[str, Any]) -> bool:
    return bool(
        resource.get("DeletionPolicy") in RETAINED
        and resource.get("UpdateReplacePolicy") == "Retain"
    )


def _bucket_policies(templates: Templates) -> dict[str, list[dict[str, Any]]]:
    """Statements of each bucket policy, keyed by ``stack/bucket logical id``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, policy in resources(templates, "AWS::S3::BucketPolicy"):
        stack = name.split("/")[0]
        bucket = _props(policy).get("Bucket", {})
        logical = bucket.get("Ref") if isinstance(bucket, dict) else None
        statements = _props(policy).get("PolicyDocument", {}).get("Statement", [])
        out.setdefault(f"{stack}/{logical}", []).extend(statements)
    return out


# --- checks ----------------------------------------------------------------------------


def check_kms_keys(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, key in resources(templates, "AWS::KMS::Key"):
        props = _props(key)
        problems = []
        if props.get("EnableKeyRotation") is not True:
            problems.append("rotation off")
        if props.get("PendingWindowInDays") != 30:
            problems.append(f"deletion window {props.get('PendingWindowInDays')}")
        if not _retained(key):
            problems.append("not retained")
        (evidence.violations if problems else evidence.found).append(
            f"{name}: {', '.join(problems)}" if problems else name
        )
    return evidence


def check_bucket_encryption(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        rules = (
            _props(bucket).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        )
        ok = any(
            r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") == "aws:kms"
            and r.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
            and r.get("BucketKeyEnabled") is True
            and "SSE-C" in r.get("BlockedEncryptionTypes", {}).get("EncryptionType", [])
            for r in rules
        )
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


def check_bucket_tls(templates: Templates) -> Evidence:
    evidence = Evidence()
    policies = _bucket_policies(templates)
    for name, _bucket in resources(templates, "AWS::S3::Bucket"):
        statements = policies.get(name, [])
        denies_http = any(
            s.get("Effect") == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        )
        denies_old_tls = any(
            s.get("Effect") == "Deny"
            and s.get("Condition", {}).get("NumericLessThan", {}).get("s3:TlsVersion") == 1.2
            for s in statements
        )
        (evidence.found if denies_http and denies_old_tls else evidence.violations).append(name)
    return evidence


def check_bucket_public_access(templates: Templates) -> Evidence:
    evidence = Evidence()
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        props = _props(bucket)
        block = props.get("PublicAccessBlockConfiguration", {})
        ownership = props.get("OwnershipControls", {}).get("Rules", [])
        ok = all(block.get(f) is True for f in flags) and any(
            r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in ownership
        )
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


def check_bucket_durability(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        props = _props(bucket)
        versioned = props.get("VersioningConfiguration", {}).get("Status") == "Enabled"
        lifecycle = bool(props.get("LifecycleConfiguration", {}).get("Rules"))
        ok = versioned and lifecycle and _retained(bucket)
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


def check_bucket_access_logging(templates: Templates) -> Evidence:
    """Every bucket logs to another bucket, except buckets that are themselves log targets."""
    evidence = Evidence()
    buckets = dict(resources(templates, "AWS::S3::Bucket"))
    targets = set()
    for name, bucket in buckets.items():
        destination = _props(bucket).get("LoggingConfiguration", {}).get("DestinationBucketName")
        if isinstance(destination, dict) and "Ref" in destination:
            targets.add(f"{name.split('/')[0]}/{destination['Ref']}")
            evidence.found.append(name)
    for name in buckets:
        if name not in targets and name not in evidence.found:
            evidence.violations.append(name)
    return evidence


def _log_buckets(templates: Templates) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        if "-logs-" in str(_props(bucket).get("BucketName", "")):
            yield name, bucket


def check_log_object_lock(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, bucket in _log_buckets(templates):
        lock = _props(bucket).get("ObjectLockConfiguration", {})
        retention = lock.get("Rule", {}).get("DefaultRetention", {})
        ok = (
            _props(bucket).get("ObjectLockEnabled") is True
            and lock.get("ObjectLockEnabled") == "Enabled"
            and retention.get("Mode") in ("COMPLIANCE", "GOVERNANCE")
            and (retention.get("Days") or retention.get("Years"))
        )
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


def check_log_replication(templates: Templates) -> Evidence:
    """The home-region log bucket replicates, SSE-KMS objects included, to a named bucket."""
    evidence = Evidence()
    for name, bucket in _log_buckets(templates):
        config = _props(bucket).get("ReplicationConfiguration")
        if config is None:
            continue  # the replica itself
        ok = any(
            rule.get("Status") == "Enabled"
            and rule.get("SourceSelectionCriteria", {})
            .get("SseKmsEncryptedObjects", {})
            .get("Status")
            == "Enabled"
            and rule.get("Destination", {})
            .get("EncryptionConfiguration", {})
            .get("ReplicaKmsKeyID")
            for rule in config.get("Rules", [])
        )
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


_SCOPING_KEYS = ("aws:SourceArn", "aws:SourceOrgID", "aws:SourceAccount")


def check_log_writers_scoped(templates: Templates) -> Evidence:
    """Every service allowed to write a log or Config bucket is pinned to the organisation."""
    evidence = Evidence()
    policies = _bucket_policies(templates)
    config_buckets = [
        (name, bucket)
        for name, bucket in resources(templates, "AWS::S3::Bucket")
        if "-config-" in str(_props(bucket).get("BucketName", ""))
        and "-config-access-" not in str(_props(bucket).get("BucketName", ""))
    ]
    for name, _bucket in [*_log_buckets(templates), *config_buckets]:
        for statement in policies.get(name, []):
            if statement.get("Effect") != "Allow":
                continue
            conditions = statement.get("Condition", {})
            keys = {k for block in conditions.values() for k in block}
            scoped = any(k in keys for k in _SCOPING_KEYS)
            owner = "s3:PutObject" not in _as_list(statement.get("Action")) or (
                conditions.get("StringEquals", {}).get("s3:x-amz-acl")
                == "bucket-owner-full-control"
            )
            service = "Service" in statement.get("Principal", {})
            label = f"{name}: {statement.get('Sid', '?')}"
            (evidence.found if scoped and owner and service else evidence.violations).append(label)
    return evidence


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_root(target: Any) -> bool:
    if isinstance(target, str):
        return target.startswith("r-")
    return isinstance(target, dict) and target.get("Fn::GetAtt", [None, None])[1] == "RootId"


def _org_policies(
    templates: Templates, policy_type: str, *, at_root: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, policy in resources(templates, "AWS::Organizations::Policy"):
        props = _props(policy)
        if props.get("Type") != policy_type:
            continue
        if at_root and not any(_is_root(t) for t in props.get("TargetIds", [])):
            continue
        content = props.get("Content", {})
        parsed: dict[str, Any] = json.loads(content) if isinstance(content, str) else content
        yield name, parsed


def _denies(
    policy_type: str, predicate: Callable[[dict[str, Any]], bool]
) -> Callable[[Templates], Evidence]:
    """A check: some policy of the type attached at the root has a Deny matching predicate."""

    def check(templates: Templates) -> Evidence:
        evidence = Evidence()
        for name, content in _org_policies(templates, policy_type, at_root=True):
            for statement in _as_list(content.get("Statement", [])):
                if statement.get("Effect") == "Deny" and predicate(statement):
                    evidence.found.append(f"{name}: {statement.get('Sid', '?')}")
        return evidence

    return check


def _actions(statement: dict[str, Any]) -> set[str]:
    return {a.lower() for a in _as_list(statement.get("Action", []))}


def _condition_values(statement: dict[str, Any], key: str) -> list[Any]:
    return [
        value
        for block in statement.get("Condition", {}).values()
        for k, value in block.items()
        if k.lower() == key.lower()
    ]


def check_structure_retained(templates: Templates) -> Evidence:
    evidence = Evidence()
    for resource_type in ("AWS::Organizations::OrganizationalUnit", "AWS::Organizations::Account"):
        for name, resource in resources(templates, resource_type):
            (evidence.found if _retained(resource) else evidence.violations).append(name)
    return evidence


def check_policy_limits(templates: Templates) -> Evidence:
    """Every SCP and RCP fits 5,120 characters and no target has more than four of a type."""
    evidence = Evidence()
    per_target: dict[tuple[str, str], int] = {}
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        for name, policy in resources(templates, "AWS::Organizations::Policy"):
            props = _props(policy)
            if props.get("Type") != policy_type:
                continue
            content = props["Content"]
            size = len(
                content if isinstance(content, str) else json.dumps(content, separators=(",", ":"))
            )
            (evidence.found if size <= 5120 else evidence.violations).append(f"{name}: {size}")
            for target in props.get("TargetIds", []):
                key = (policy_type, json.dumps(target, sort_keys=True))
                per_target[key] = per_target.get(key, 0) + 1
    evidence.violations += [f"{t}: {n} {p}" for (p, t), n in per_target.items() if n > 4]
    return evidence


def check_org_policy_types(templates: Templates) -> Evidence:
    """The declarative EC2, tag, AI opt-out and backup policies are attached at the root."""
    evidence = Evidence()
    for policy_type in (
        "DECLARATIVE_POLICY_EC2",
        "TAG_POLICY",
        "AISERVICES_OPT_OUT_POLICY",
        "BACKUP_POLICY",
    ):
        names = [name for name, _ in _org_policies(templates, policy_type, at_root=True)]
        (evidence.found if names else evidence.violations).append(f"{policy_type}: {names}")
    return evidence


def _imdsv2_required(templates: Templates) -> Evidence:
    evidence = _denies(
        "SERVICE_CONTROL_POLICY",
        lambda s: (
            "ec2:runinstances" in _actions(s)
            and "required" in _condition_values(s, "ec2:MetadataHttpTokens")
        ),
    )(templates)
    declarative = [
        name
        for name, content in _org_policies(templates, "DECLARATIVE_POLICY_EC2", at_root=True)
        if content.get("ec2_attributes", {})
        .get("instance_metadata_defaults", {})
        .get("http_tokens", {})
        .get("@@assign")
        == "required"
    ]
    if not declarative:
        evidence.violations.append(
            "no declarative EC2 policy at the root requires IMDSv2 by default"
        )
    evidence.found += declarative
    return evidence


# --- the registry ---------------------------------------------------------------------

CONTROLS: tuple[Control, ...] = (
    Control(
        id="LZ-KMS-01",
        title="Customer-managed KMS keys rotate yearly, keep a 30-day deletion window and are retained",
        best_practices=("SEC08-BP01", "SEC08-BP02"),
        cis=("3.6",),
        implemented_by="baseline.constructs.EncryptionKey",
        check=check_kms_keys,
    ),
    Control(
        id="LZ-S3-01",
        title="Buckets encrypt with SSE-KMS under a customer-managed key and a bucket key; SSE-C is blocked",
        best_practices=("SEC08-BP02",),
        cis=(),
        implemented_by="baseline.constructs.SecureBucket",
        check=check_bucket_encryption,
    ),
    Control(
        id="LZ-S3-02",
        title="Bucket policies deny requests without TLS and with TLS older than 1.2",
        best_practices=("SEC09-BP02",),
        cis=("2.1.1",),
        implemented_by="baseline.constructs.SecureBucket",
        check=check_bucket_tls,
    ),
    Control(
        id="LZ-S3-03",
        title="Buckets block public access on all four settings and disable ACLs",
        best_practices=("SEC03-BP07", "SEC08-BP04"),
        cis=("2.1.4",),
        implemented_by="baseline.constructs.SecureBucket",
        check=check_bucket_public_access,
    ),
    Control(
        id="LZ-S3-04",
        title="Buckets are versioned, have lifecycle rules and survive stack deletion",
        best_practices=("SEC07-BP04", "SEC08-BP03"),
        cis=(),
        implemented_by="baseline.constructs.SecureBucket",
        check=check_bucket_durability,
    ),
    Control(
        id="LZ-LOG-01",
        title="Every bucket writes server access logs to a dedicated access-log bucket",
        best_practices=("SEC04-BP01",),
        cis=("3.4",),
        implemented_by="baseline.constructs.SecureBucket",
        check=check_bucket_access_logging,
    ),
    Control(
        id="LZ-LOG-02",
        title="The central log buckets are immutable for the retention period (S3 Object Lock)",
        best_practices=("SEC04-BP02", "SEC08-BP03"),
        cis=(),
        implemented_by="baseline.stacks.log_archive.LogArchiveStack",
        check=check_log_object_lock,
    ),
    Control(
        id="LZ-LOG-03",
        title="The central log bucket replicates every object, encrypted, to a locked bucket in a second region",
        best_practices=("SEC04-BP02", "SEC10-BP03"),
        cis=(),
        implemented_by="baseline.stacks.log_archive.LogArchiveStack",
        check=check_log_replication,
    ),
    Control(
        id="LZ-LOG-04",
        title=(
            "Only the organisation's CloudTrail, AWS Config and flow-log delivery may write "
            "the log and Config buckets, pinned by aws:SourceArn or aws:SourceOrgID, objects owned by the bucket owner"
        ),
        best_practices=("SEC03-BP08", "SEC04-BP02"),
        cis=("3.5",),
        implemented_by="baseline.stacks.log_archive.LogArchiveStack",
        check=check_log_writers_scoped,
    ),
)


def check_root_protections(templates: Templates) -> Evidence:
    """Centralised root access on, and a security contact on the accounts of every account stack."""
    evidence = Evidence()
    for name, resource in resources(templates, "Custom::OrganizationSettings"):
        on = _props(resource).get("CentralizedRootAccess") == "true"
        (evidence.found if on else evidence.violations).append(
            f"{name}: centralised root access {'on' if on else 'off'}"
        )
    shards = list(resources(templates, "Custom::OrganizationAccounts"))
    if not shards:
        evidence.violations.append("no account stack sets security contacts")
    for name, resource in shards:
        props = _props(resource)
        ok = bool(props.get("SecurityContact")) and bool(props.get("AccountIds"))
        (evidence.found if ok else evidence.violations).append(
            f"{name}: security contact on {len(props.get('AccountIds', []))} accounts"
        )
    return evidence


def _member_templates(templates: Templates) -> dict[str, Template]:
    """The member template each StackSet carries, as a template of its own."""
    found: dict[str, Template] = {}
    for name, stack_set in resources(templates, "AWS::CloudFormation::StackSet"):
        body = _props(stack_set).get("TemplateBody")
        if isinstance(body, str):
            found[f"{name}/TemplateBody"] = json.loads(body)
    return found


def check_stack_set_rollout(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, stack_set in resources(templates, "AWS::CloudFormation::StackSet"):
        props = _props(stack_set)
        auto = props.get("AutoDeployment", {})
        groups = props.get("StackInstancesGroup", [])
        ok = (
            props.get("PermissionModel") == "SERVICE_MANAGED"
            and auto.get("Enabled") is True
            and auto.get("RetainStacksOnAccountRemoval") is True
            and all(
                g.get("Regions") and g.get("DeploymentTargets", {}).get("OrganizationalUnitIds")
                for g in groups
            )
            and bool(groups)
            and _retained(stack_set)
        )
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


def check_member_config_recorder(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, member in _member_templates(templates).items():
        recorders = list(resources({name: member}, "AWS::Config::ConfigurationRecorder"))
        channels = list(resources({name: member}, "AWS::Config::DeliveryChannel"))
        ok = (
            bool(recorders)
            and bool(channels)
            and all(
                _props(r).get("RecordingGroup", {}).get("AllSupported") is True
                and "Condition" not in r
                for _, r in recorders
            )
        )
        ok = ok and all("-config-" in str(_props(c).get("S3BucketName", "")) for _, c in channels)
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


def check_member_account_settings(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, member in _member_templates(templates).items():
        settings = list(resources({name: member}, "Custom::AccountSettings"))
        functions = [
            _props(f).get("Code", {}).get("ZipFile", "")
            for _, f in resources({name: member}, "AWS::Lambda::Function")
        ]
        code = "\n".join(str(f) for f in functions)
        needed = (
            "update_account_password_policy",
            "enable_ebs_encryption_by_default",
            "put_public_access_block",
            "modify_instance_metadata_defaults",
            "revoke_security_group_ingress",
        )
        missing = [n for n in needed if n not in code]
        ok = bool(settings) and not missing
        (evidence.found if ok else evidence.violations).append(
            f"{name}: {', '.join(missing) or 'all settings'}"
        )
    return evidence


def check_member_roles(templates: Templates) -> Evidence:
    """Access roles exist once per account; break-glass only with MFA from named principals."""
    evidence = Evidence()
    for name, member in _member_templates(templates).items():
        roles = {
            str(_props(r).get("RoleName")): r
            for _, r in resources({name: member}, "AWS::IAM::Role")
        }
        for suffix in ("-audit-readonly", "-incident-responder", "-support"):
            present = [n for n in roles if n.endswith(suffix)]
            (evidence.found if present else evidence.violations).append(f"{name}: role *{suffix}")
        for role_name, role in roles.items():
            if role_name.endswith("-break-glass"):
                statements = _props(role)["AssumeRolePolicyDocument"]["Statement"]
                mfa = all(
                    s.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent")
                    == "true"
                    for s in statements
                )
                (evidence.found if mfa else evidence.violations).append(f"{name}: break-glass MFA")
    return evidence


def check_organization_trail(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, trail in resources(templates, "AWS::CloudTrail::Trail"):
        props = _props(trail)
        wanted = {
            "IsOrganizationTrail": True,
            "IsMultiRegionTrail": True,
            "IncludeGlobalServiceEvents": True,
            "EnableLogFileValidation": True,
            "IsLogging": True,
        }
        problems = [k for k, v in wanted.items() if props.get(k) is not v]
        problems += [
            k for k in ("KMSKeyId", "S3BucketName", "CloudWatchLogsLogGroupArn") if not props.get(k)
        ]
        (evidence.violations if problems else evidence.found).append(
            f"{name}: {', '.join(problems)}" if problems else name
        )
    return evidence


#: CIS v5.0.0 4.x recommendations -> an event name its metric filter must contain.
_CIS_ALARM_EVENTS = {
    "4.1": "UnauthorizedOperation",
    "4.2": "ConsoleLogin",
    "4.3": "Root",
    "4.4": "PutRolePolicy",
    "4.5": "StopLogging",
    "4.6": "Failed authentication",
    "4.7": "ScheduleKeyDeletion",
    "4.8": "PutBucketPolicy",
    "4.9": "StopConfigurationRecorder",
    "4.10": "AuthorizeSecurityGroupIngress",
    "4.11": "CreateNetworkAclEntry",
    "4.12": "CreateInternetGateway",
    "4.13": "CreateRoute",
    "4.14": "CreateVpc",
    "4.15": "LeaveOrganization",
}


def check_cis_alarms(templates: Templates) -> Evidence:
    """Each CIS 4.x filter exists and an alarm on its metric notifies someone."""
    evidence = Evidence()
    filters = list(resources(templates, "AWS::Logs::MetricFilter"))
    alarms = [_props(a) for _, a in resources(templates, "AWS::CloudWatch::Alarm")]
    for cis, event in _CIS_ALARM_EVENTS.items():
        matching = [
            _props(f)["MetricTransformations"][0]["MetricName"]
            for _, f in filters
            if event in str(_props(f).get("FilterPattern", ""))
        ]
        alarmed = [
            a
            for a in alarms
            if a.get("MetricName") in matching and a.get("AlarmActions") and a.get("Threshold") == 1
        ]
        (evidence.found if alarmed else evidence.violations).append(f"CIS {cis}")
    return evidence


def check_detective_services(templates: Templates) -> Evidence:
    """The audit account administers every service, turned on for every member, in every region."""
    evidence = Evidence()
    designated: set[str] = set()
    for _, settings in resources(templates, "Custom::OrganizationSettings"):
        admins = _props(settings).get("ServiceAdministrators") or {}
        designated |= {
            f"{s}@{r}" for s in admins.get("Services", []) for r in admins.get("Regions", [])
        }
    for name, resource in resources(templates, "Custom::SecurityServices"):
        region = name.split("/")[0].removeprefix("SecurityTooling-")
        services = set(_props(resource).get("Services", []))
        wanted = {"guardduty", "inspector2", "macie2", "detective"}
        ok = wanted <= services and all(f"{s}@{region}" in designated for s in wanted)
        (evidence.found if ok else evidence.violations).append(f"{region}: {sorted(services)}")
    return evidence


#: Ports of remote administration that nothing opens to the world (CIS 5.1, 5.2).
ADMIN_PORTS = (22, 3389, 5985, 5986)
#: Everywhere on the IPv4 internet.
WORLD = "0.0.0.0/0"


def _covers(entry: Mapping[str, Any], port: int) -> bool:
    if str(entry.get("Protocol")) == "-1":
        return True
    span = entry.get("PortRange") or {}
    return int(span.get("From", 0)) <= port <= int(span.get("To", -1))


def _in_stack(templates: Templates, name: str, resource_type: str) -> list[dict[str, Any]]:
    """Resources of a type in the stack that ``name`` (``stack/logical id``) belongs to."""
    stack = name.split("/", 1)[0]
    return [r for _, r in resources({stack: templates[stack]}, resource_type)]


def check_no_admin_ports_open(templates: Templates) -> Evidence:
    """No network ACL lets the world reach an admin port first; no security group opens one."""
    evidence = Evidence()
    by_acl: dict[str, list[dict[str, Any]]] = {}
    for name, entry in resources(templates, "AWS::EC2::NetworkAclEntry"):
        props = _props(entry)
        if props.get("CidrBlock") == WORLD and not props.get("Egress", False):
            stack = name.split("/")[0]
            by_acl.setdefault(f"{stack}/{json.dumps(props.get('NetworkAclId'))}", []).append(props)
    for acl, entries in sorted(by_acl.items()):
        for port in ADMIN_PORTS:
            covering = [e for e in entries if _covers(e, port)]
            if covering and min(covering, key=lambda e: e["RuleNumber"])["RuleAction"] != "deny":
                evidence.violations.append(f"{acl}: port {port} open to the world")
        evidence.found.append(acl)
    for name, group in resources(templates, "AWS::EC2::SecurityGroup"):
        for rule in _props(group).get("SecurityGroupIngress", []):
            world = rule.get("CidrIp") == WORLD or rule.get("CidrIpv6") == "::/0"
            span = {
                "Protocol": rule.get("IpProtocol"),
                "PortRange": {"From": rule.get("FromPort", 0), "To": rule.get("ToPort", 65535)},
            }
            if world and any(_covers(span, p) for p in ADMIN_PORTS):
                evidence.violations.append(f"{name}: admin port open to the world")
    for name, _ in resources(templates, "AWS::EC2::VPC"):
        closed = _in_stack(templates, name, "Custom::VpcRestrictDefaultSG")
        logged = [
            f
            for f in _in_stack(templates, name, "AWS::EC2::FlowLog")
            if _props(f).get("TrafficType") == "ALL"
        ]
        if not closed:
            evidence.violations.append(f"{name}: default security group not closed")
        if not logged:
            evidence.violations.append(f"{name}: no flow log of all traffic")
    return evidence


def check_hub_isolates_spokes(templates: Templates) -> Evidence:
    """Spokes default to a table whose only way is the egress VPC; spoke ranges black-holed."""
    evidence = Evidence()
    for name, gateway in resources(templates, "AWS::EC2::TransitGateway"):
        props = _props(gateway)
        defaults = _in_stack(templates, name, "Custom::TransitGatewayDefaults")
        routes = [_props(r) for r in _in_stack(templates, name, "AWS::EC2::TransitGatewayRoute")]
        spokes = [d["Properties"]["AssociationDefaultRouteTableId"] for d in defaults]
        out = [
            r
            for r in routes
            if r.get("DestinationCidrBlock") == WORLD
            and r.get("TransitGatewayRouteTableId") in spokes
        ]
        holes = [
            r
            for r in routes
            if r.get("Blackhole") is True and r.get("TransitGatewayRouteTableId") in spokes
        ]
        ok = (
            props.get("DefaultRouteTableAssociation") == "disable"
            and props.get("DefaultRouteTablePropagation") == "disable"
            and len(defaults) == 1
            and bool(out)
            and bool(holes)
        )
        (evidence.found if ok else evidence.violations).append(name)
    return evidence


def check_egress_inspected(templates: Templates) -> Evidence:
    """Every firewall: threat signatures, allow-list, drop by default; alert and flow logs kept."""
    evidence = Evidence()
    for name, policy in resources(templates, "AWS::NetworkFirewall::FirewallPolicy"):
        settings = _props(policy).get("FirewallPolicy", {})
        references = " ".join(
            str(r.get("ResourceArn")) for r in settings.get("StatefulRuleGroupReferences", [])
        )
        ok = (
            settings.get("StatefulEngineOptions", {}).get("RuleOrder") == "STRICT_ORDER"
            and "aws:drop_established" in settings.get("StatefulDefaultActions", [])
            and ":aws-managed:stateful-rulegroup/ThreatSignatures" in references
            and settings.get("StatelessDefaultActions") == ["aws:forward_to_sfe"]
        )
        (evidence.found if ok else evidence.violations).append(name)
    logged = {
        json.dumps(_props(c).get("FirewallArn")): sorted(
            d.get("LogType")
            for d in _props(c)["LoggingConfiguration"]["LogDestinationConfigs"]
            if d.get("LogDestinationType") == "S3"
        )
        for _, c in resources(templates, "AWS::NetworkFirewall::LoggingConfiguration")
    }
    for name, _ in resources(templates, "AWS::NetworkFirewall::Firewall"):
        arn = json.dumps({"Fn::GetAtt": [name.split("/")[1], "FirewallArn"]})
        (evidence.found if logged.get(arn) == ["ALERT", "FLOW"] else evidence.violations).append(
            name
        )
    return evidence


def check_dns_firewall(templates: Templates) -> Evidence:
    """The AWS managed malware and botnet lists are blocked; DNS queries are logged to S3."""
    evidence = Evidence()
    wanted = ("AWSManagedDomainsMalwareDomainList", "AWSManagedDomainsBotnetCommandandControl")
    for name, group in resources(templates, "AWS::Route53Resolver::FirewallRuleGroup"):
        blocked = " ".join(
            json.dumps(r.get("FirewallDomainListId"))
            for r in _props(group).get("FirewallRules", [])
            if r.get("Action") == "BLOCK"
        )
        (evidence.found if all(w in blocked for w in wanted) else evidence.violations).append(name)
    for name, config in resources(templates, "AWS::Route53Resolver::ResolverQueryLoggingConfig"):
        to_s3 = str(_props(config).get("DestinationArn", "")).startswith("arn:aws:s3:::")
        (evidence.found if to_s3 else evidence.violations).append(name)
    return evidence


def check_security_hub_standards(templates: Templates) -> Evidence:
    evidence = Evidence()
    for name, policy in resources(templates, "AWS::SecurityHub::ConfigurationPolicy"):
        hub = _props(policy).get("ConfigurationPolicy", {}).get("SecurityHub", {})
        standards = " ".join(hub.get("EnabledStandardIdentifiers", []))
        ok = (
            hub.get("ServiceEnabled") is True
            and "foundational-security-best-practices" in standards
            and "cis-aws-foundations" in standards
        )
        (evidence.found if ok else evidence.violations).append(name)
    for name, _ in resources(templates, "AWS::SecurityHub::FindingAggregator"):
        evidence.found.append(name)
    if not list(resources(templates, "AWS::SecurityHub::FindingAggregator")):
        evidence.violations.append("no Security Hub finding aggregator")
    return evidence


def check_findings_routed(templates: Templates) -> Evidence:
    evidence = Evidence()
    sources = {"aws.guardduty", "aws.securityhub", "aws.access-analyzer", "aws.inspector2"}
    routed = set()
    for name, rule in resources(templates, "AWS::Events::Rule"):
        props = _props(rule)
        source = set(props.get("EventPattern", {}).get("source", []))
        if source & sources and props.get("Targets"):
            routed |= source
            evidence.found.append(name)
    evidence.violations += [f"{s} not routed" for s in sorted(sources - routed)]
    return evidence


CONTROLS += (
    Control(
        id="LZ-ORG-01",
        title="OUs and accounts created by the kit survive stack deletion and replacement",
        best_practices=("SEC01-BP01",),
        cis=(),
        implemented_by="baseline.stacks.organization.OrganizationStack",
        check=check_structure_retained,
    ),
    Control(
        id="LZ-GR-01",
        title="Every SCP and RCP fits 5,120 characters and at most four are attached to a target beside the AWS-managed one",
        best_practices=("SEC03-BP05", "SEC01-BP06"),
        cis=(),
        implemented_by="baseline.guardrails.packer",
        check=check_policy_limits,
    ),
    Control(
        id="LZ-GR-02",
        title="The root user of every member account is denied all actions",
        best_practices=("SEC01-BP02",),
        cis=("1.3", "1.6"),
        implemented_by="baseline.guardrails.scps (SCP-ROOT-USER)",
        check=_denies(
            "SERVICE_CONTROL_POLICY",
            lambda s: (
                "*" in _actions(s)
                and any(
                    "arn:aws:iam::*:root" in _as_list(v)
                    for v in _condition_values(s, "aws:PrincipalArn")
                )
            ),
        ),
    ),
    Control(
        id="LZ-GR-03",
        title="No member account can stop or delete CloudTrail, Config, GuardDuty or Security Hub",
        best_practices=("SEC04-BP01", "SEC03-BP05"),
        cis=("3.1", "3.3"),
        implemented_by="baseline.guardrails.scps (SCP-SECURITY-SERVICES)",
        check=_denies(
            "SERVICE_CONTROL_POLICY",
            lambda s: (
                {
                    "cloudtrail:stoplogging",
                    "config:stopconfigurationrecorder",
                    "guardduty:deletedetector",
                    "securityhub:disablesecurityhub",
                }
                <= _actions(s)
            ),
        ),
    ),
    Control(
        id="LZ-GR-04",
        title="IAM users, access keys and console passwords are denied (temporary credentials only)",
        best_practices=("SEC02-BP02",),
        cis=(),
        implemented_by="baseline.guardrails.scps (SCP-NO-IAM-USERS)",
        check=_denies(
            "SERVICE_CONTROL_POLICY",
            lambda s: {"iam:createuser", "iam:createaccesskey"} <= _actions(s),
        ),
    ),
    Control(
        id="LZ-GR-05",
        title="Requests outside the governed regions are denied, global services excepted",
        best_practices=("SEC01-BP05",),
        cis=(),
        implemented_by="baseline.guardrails.scps (SCP-REGION-DENY)",
        check=_denies(
            "SERVICE_CONTROL_POLICY",
            lambda s: bool(_condition_values(s, "aws:RequestedRegion")) and "NotAction" in s,
        ),
    ),
    Control(
        id="LZ-GR-06",
        title="Instances use IMDSv2: required at launch (SCP) and the account default (declarative policy)",
        best_practices=("SEC06-BP02",),
        cis=(),
        implemented_by="baseline.guardrails.scps (SCP-IMDSV2), baseline.guardrails.org_policies",
        check=_imdsv2_required,
    ),
    Control(
        id="LZ-GR-07",
        title="Data perimeter: only the organisation's principals, services acting for it, and TLS reach its data",
        best_practices=("SEC03-BP07", "SEC03-BP08", "SEC09-BP02"),
        cis=(),
        implemented_by="baseline.guardrails.rcps",
        check=_denies(
            "RESOURCE_CONTROL_POLICY",
            lambda s: bool(
                _condition_values(s, "aws:PrincipalOrgID")
                or _condition_values(s, "aws:SourceOrgID")
                or _condition_values(s, "aws:SecureTransport")
            ),
        ),
    ),
    Control(
        id="LZ-ROOT-01",
        title="Member accounts need no root credentials (centralised root access) and every account has a security contact",
        best_practices=("SEC01-BP02", "SEC10-BP01"),
        cis=("1.2",),
        implemented_by="baseline.constructs.organization_settings.OrganizationSettings",
        check=check_root_protections,
    ),
    Control(
        id="LZ-MB-01",
        title="The member baseline reaches every account of the target OUs, present and future, in every governed region, and stays on removal",
        best_practices=("SEC01-BP06", "SEC01-BP01"),
        cis=(),
        implemented_by="baseline.stacks.member_baseline.MemberBaselineStackSetStack",
        check=check_stack_set_rollout,
    ),
    Control(
        id="LZ-MB-02",
        title="AWS Config records every supported resource type in every member account and region, delivering to the log archive",
        best_practices=("SEC04-BP01", "SEC04-BP02"),
        cis=("3.3",),
        implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
        check=check_member_config_recorder,
    ),
    Control(
        id="LZ-MB-03",
        title="Every member account has the CIS password policy, EBS encryption by default, account S3 Block Public Access and closed default security groups (IMDSv2 defaults come from the declarative EC2 policy)",
        best_practices=("SEC08-BP02", "SEC06-BP02", "SEC05-BP01", "SEC02-BP01"),
        cis=("1.8", "1.9", "2.2.1", "2.1.4", "5.4"),
        implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
        check=check_member_account_settings,
    ),
    Control(
        id="LZ-MB-04",
        title="Audit, incident-response and support roles are pre-provisioned; break-glass needs MFA from named principals",
        best_practices=("SEC03-BP03", "SEC10-BP05", "SEC02-BP02"),
        cis=("1.17",),
        implemented_by="baseline.stacks.member_baseline.MemberBaselineStack",
        check=check_member_roles,
    ),
    Control(
        id="LZ-TRAIL-01",
        title="One organisation trail records every account and region, validated, KMS-encrypted, into the log archive and CloudWatch Logs",
        best_practices=("SEC04-BP01", "SEC04-BP02"),
        cis=("3.1", "3.2", "3.5"),
        implemented_by="baseline.constructs.organization_trail.OrganizationTrail",
        check=check_organization_trail,
    ),
    Control(
        id="LZ-ALARM-01",
        title="CIS monitoring: a metric filter and an alarm to the security topic for each of 4.1-4.15",
        best_practices=("SEC04-BP03", "SEC10-BP01"),
        cis=tuple(f"4.{i}" for i in range(1, 16)),
        implemented_by="baseline.constructs.security_alarms.SecurityAlarms",
        check=check_cis_alarms,
    ),
    Control(
        id="LZ-DET-01",
        title="GuardDuty, Inspector, Macie and Detective run for every member in every governed region, administered by the audit account",
        best_practices=("SEC04-BP01", "SEC04-BP02", "SEC06-BP01", "SEC07-BP03"),
        cis=(),
        implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
        check=check_detective_services,
    ),
    Control(
        id="LZ-DET-02",
        title="Security Hub runs AWS FSBP and CIS v5.0.0 in every account, with every region's findings aggregated in the home region",
        best_practices=("SEC04-BP02", "SEC04-BP03", "SEC01-BP03"),
        cis=(),
        implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
        check=check_security_hub_standards,
    ),
    Control(
        id="LZ-DET-03",
        title="High and critical GuardDuty, Security Hub, Access Analyzer and Inspector findings reach the security topic",
        best_practices=("SEC04-BP03", "SEC10-BP01"),
        cis=(),
        implemented_by="baseline.stacks.security_tooling.SecurityToolingStack",
        check=check_findings_routed,
    ),
    Control(
        id="LZ-ORG-02",
        title="Declarative EC2, data-classification tag, AI-services opt-out and backup policies are attached at the root",
        best_practices=("SEC07-BP01", "SEC08-BP02", "SEC10-BP03"),
        cis=(),
        implemented_by="baseline.guardrails.org_policies",
        check=check_org_policy_types,
    ),
    Control(
        id="LZ-NET-01",
        title="No network ACL or security group opens SSH, RDP or WinRM to the world; every VPC closes its default security group and logs all traffic",
        best_practices=("SEC05-BP01", "SEC05-BP02", "SEC04-BP01"),
        cis=("3.7", "5.1", "5.2", "5.4"),
        implemented_by="baseline.constructs.layered_vpc.LayeredVpc, baseline.constructs.network_hub.NetworkHub",
        check=check_no_admin_ports_open,
    ),
    Control(
        id="LZ-NET-02",
        title="Spoke VPCs reach only the hub's inspected egress path: the transit gateway defaults them to a route table that black-holes the workload ranges",
        best_practices=("SEC05-BP01", "SEC05-BP02"),
        cis=(),
        implemented_by="baseline.constructs.network_hub.NetworkHub",
        check=check_hub_isolates_spokes,
    ),
    Control(
        id="LZ-NET-03",
        title="Egress passes AWS Network Firewall: AWS managed threat signatures, then the domain allow-list, every other flow dropped; alert and flow logs to the log archive",
        best_practices=("SEC05-BP02", "SEC05-BP03", "SEC04-BP01"),
        cis=(),
        implemented_by="baseline.constructs.network_hub.NetworkHub",
        check=check_egress_inspected,
    ),
    Control(
        id="LZ-NET-04",
        title="Route 53 Resolver DNS Firewall blocks the AWS managed malware and botnet command-and-control domains; DNS queries are logged to the log archive",
        best_practices=("SEC05-BP03", "SEC04-BP01"),
        cis=(),
        implemented_by="baseline.constructs.network_hub.NetworkHub",
        check=check_dns_firewall,
    ),
    Control(
        id="LZ-NET-05",
        title="The hub's firewalls, routing, DNS Firewall and sharing, and the landing zone's own tag, change only through the baseline's principals",
        best_practices=("SEC05-BP02", "SEC05-BP03", "SEC01-BP06"),
        cis=(),
        implemented_by="baseline.guardrails.scps (SCP-NETWORK-HUB-PROTECT)",
        check=_denies(
            "SERVICE_CONTROL_POLICY",
            lambda s: (
                {"network-firewall:update*", "ec2:modifytransitgateway"} & _actions(s) != set()
            ),
        ),
    ),
)


def render_controls(templates: Templates) -> str:
    """``docs/controls.md``: the registry, with the evidence found in the example."""
    lines = [
        "# Controls",
        "",
        "<!-- Generated by `python -m baseline docs` from baseline/controls.py and the "
        "synthesized example organisation; do not edit. -->",
        "",
        "Each control names the Well-Architected Security Pillar best practices it serves, "
        "the CIS AWS Foundations Benchmark v5.0.0 recommendations where one applies, the "
        "construct that implements it, and the evidence its check finds in the synthesized "
        "example organisation. A control with no evidence fails the test suite.",
        "",
        "| id | control | Security Pillar | CIS | implemented by | evidence in the example |",
        "|---|---|---|---|---|---|",
    ]
    for control in CONTROLS:
        evidence = control.check(templates)
        lines.append(
            f"| {control.id} | {control.title} | {', '.join(control.best_practices)} | "
            f"{', '.join(control.cis) or '-'} | `{control.implemented_by}` | "
            f"{len(evidence.found)} resources |"
        )
    return "\n".join(lines) + "\n"
