"""Incident response controls: evidence kept where nobody can change it, and examined where
nothing can call out (the forensics account)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from baseline.controls.model import (
    SECURITY_TOOLING,
    Control,
    Evidence,
    Templates,
    as_list,
    bucket_policies,
    control,
    properties,
    resources,
    tooled_regions,
)
from baseline.handlers.remediation import CONTROLS as REMEDIATED_CONTROLS

CONTROLS: list[Control] = []

_NETWORK_PATHS = (
    "AWS::EC2::InternetGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::TransitGatewayAttachment",
    "AWS::EC2::TransitGatewayVpcAttachment",
    "AWS::EC2::VPCPeeringConnection",
    "AWS::EC2::VPNGateway",
)


def _evidence_buckets(templates: Templates) -> Iterator[tuple[str, dict[str, Any]]]:
    """The evidence buckets: those whose name carries ``-evidence-`` (not their logs')."""
    for name, bucket in resources(templates, "AWS::S3::Bucket"):
        bucket_name = str(properties(bucket).get("BucketName", ""))
        if "-evidence-" in bucket_name and "-evidence-access-" not in bucket_name:
            yield name, bucket


#: A containment role of one account: its account id, and a name whose part before
#: ``-containment-`` has no wildcard.
_CONTAINMENT_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[^*]*-containment-")


def _only_containment_writes(statements: list[dict[str, Any]]) -> bool:
    """A deny of s3:PutObject to everyone whose ARN is not a containment role of one
    account, the account the policy's Allow statements grant to."""
    granted = {
        match.group(1)
        for s in statements
        if s.get("Effect") == "Allow"
        for p in as_list(
            s.get("Principal", {}).get("AWS", []) if isinstance(s.get("Principal"), dict) else []
        )
        if isinstance(p, str) and (match := re.match(r"^arn:aws[a-z-]*:iam::(\d{12}):", p))
    }
    for statement in statements:
        actions = as_list(statement.get("Action", []))
        unless = statement.get("Condition", {}).get("ArnNotLike", {}).get("aws:PrincipalArn")
        matches = [
            _CONTAINMENT_ROLE.match(arn) if isinstance(arn, str) else None
            for arn in as_list(unless)
        ]
        if (
            statement.get("Effect") == "Deny"
            and statement.get("Principal") in ({"AWS": "*"}, "*")
            and ("s3:PutObject" in actions or "s3:*" in actions)
            and unless is not None
            and all(matches)
            and len(accounts := {m.group(1) for m in matches if m}) == 1
            and accounts <= granted
        ):
            return True
    return False


@control(
    CONTROLS,
    id="LZ-IR-01",
    title="Evidence is kept under Object Lock, encrypted, and written only by containment",
    explanation=(
        "The forensics account's evidence bucket has Object Lock with a default retention, "
        "a customer-managed KMS key, versioning, and a policy that denies writes to every "
        "principal but the audit account's containment automation: roles of one account "
        "named by its 12-digit id (the account the policy's Allow grants the writes to), "
        "whose names are fixed up to `-containment-`."
    ),
    best_practices=("SEC10-BP03", "SEC10-BP05"),
    implemented_by="baseline.stacks.forensics.ForensicsStack",
    applies_to="forensics",
)
def check_evidence_bucket(templates: Templates) -> Evidence:
    """Locked, under a CMK, versioned, and only the containment roles write."""
    evidence = Evidence()
    policies = bucket_policies(templates)
    for name, bucket in _evidence_buckets(templates):
        props = properties(bucket)
        lock = props.get("ObjectLockConfiguration", {})
        retention = lock.get("Rule", {}).get("DefaultRetention", {})
        sse = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])
        default = sse[0].get("ServerSideEncryptionByDefault", {}) if sse else {}
        ok = (
            props.get("ObjectLockEnabled") is True
            and retention.get("Mode") in ("COMPLIANCE", "GOVERNANCE")
            and bool(retention.get("Days") or retention.get("Years"))
            and default.get("SSEAlgorithm") == "aws:kms"
            and bool(default.get("KMSMasterKeyID"))
            and props.get("VersioningConfiguration", {}).get("Status") == "Enabled"
            and _only_containment_writes(policies.get(name, []))
        )
        evidence.record(name, ok)
    return evidence


@control(
    CONTROLS,
    id="LZ-IR-02",
    title="The forensics analysis network has no path out",
    explanation=(
        "The forensics stack has a VPC with flow logs and no internet, egress-only, NAT, "
        "transit gateway, peering or VPN resource; instances there reach AWS only through "
        "VPC endpoints, and its S3 and DynamoDB gateway endpoints reach only the "
        "organisation's resources (aws:ResourceOrgID), objects AWS owns, read-only, and "
        "requests AWS services sign: evidence cannot be copied to a bucket of another owner."
    ),
    best_practices=("SEC10-BP05", "SEC05-BP01", "SEC03-BP07"),
    implemented_by="baseline.stacks.forensics.ForensicsStack",
    applies_to="forensics",
)
def check_analysis_network_isolated(templates: Templates) -> Evidence:
    """Each evidence bucket's stack has a flow-logged VPC and no network path resource."""
    evidence = Evidence()
    stacks = {name.split("/")[0] for name, _ in _evidence_buckets(templates)}
    for stack in sorted(stacks):
        template = {stack: templates[stack]}
        vpcs = [n for n, _ in resources(template, "AWS::EC2::VPC")]
        logged = {
            str(properties(f).get("ResourceId", {}).get("Ref"))
            for _, f in resources(template, "AWS::EC2::FlowLog")
        }
        paths = [n for kind in _NETWORK_PATHS for n, _ in resources(template, kind)]
        endpoints = list(resources(template, "AWS::EC2::VPCEndpoint"))
        for vpc in vpcs:
            ok = vpc.split("/")[1] in logged and not paths and bool(endpoints)
            evidence.record(vpc, ok)
        evidence.violations += paths
        for name, endpoint in endpoints:
            if properties(endpoint).get("VpcEndpointType", "Gateway") != "Gateway":
                continue
            document = properties(endpoint).get("PolicyDocument")
            statements = as_list(document["Statement"]) if isinstance(document, dict) else []
            open_ones = [s for s in statements if not _within_the_perimeter(s)]
            if not statements or open_ones:
                evidence.violations.append(
                    f"{name}: the gateway endpoint admits requests to resources outside the "
                    "organisation (no aws:ResourceOrgID condition)"
                )
    return evidence


def _within_the_perimeter(statement: Mapping[str, Any]) -> bool:
    """An endpoint policy statement that keeps requests in the perimeter: a Deny; to the
    organisation's (or the account's) resources; signed by an AWS service; or reading
    named objects (no wildcard in a bucket's name)."""
    if statement.get("Effect") != "Allow":
        return True
    conditions = {
        operator: {key.lower(): value for key, value in block.items()}
        for operator, block in statement.get("Condition", {}).items()
    }
    equals = conditions.get("StringEquals", {})
    if "aws:resourceorgid" in equals or "aws:resourceaccount" in equals:
        return True
    if str(conditions.get("Bool", {}).get("aws:principalisawsservice")).lower() == "true":
        return True
    actions = {str(a).lower() for a in as_list(statement.get("Action", "*"))}
    buckets = [str(r).split(":::", 1)[-1].split("/")[0] for r in as_list(statement["Resource"])]
    return actions == {"s3:getobject"} and not any(
        "*" in bucket or "?" in bucket or not bucket for bucket in buckets
    )


@control(
    CONTROLS,
    id="LZ-IR-03",
    title="High findings on instances and credentials start containment in every region",
    explanation=(
        "In every stack that administers GuardDuty, and in the SecurityTooling stack of "
        "every governed region where GuardDuty is delegated to the audit account (which "
        "must exist and turn GuardDuty on), an enabled EventBridge rule sends GuardDuty findings of "
        "severity 7 and above whose resource is an instance or an access key to a "
        "function of that stack, which may assume the member accounts' incident-responder "
        "role."
    ),
    best_practices=("SEC10-BP06", "SEC10-BP07", "SEC04-BP04"),
    implemented_by="baseline.stacks.containment.ContainmentAutomation",
    applies_to="containment",
)
def check_containment_automated(templates: Templates) -> Evidence:
    """Each GuardDuty-administering stack has the rule, aimed at a function of its own."""
    evidence = Evidence()
    governed = {f"{SECURITY_TOOLING}{r}" for r in tooled_regions(templates, "guardduty")}
    for stack in sorted(governed - set(templates)):
        evidence.violations.append(f"{stack}: no such stack, so no containment there")
    for stack, template in sorted(templates.items()):
        administers = any(
            r.get("Type") == "Custom::SecurityServices"
            and "guardduty" in r.get("Properties", {}).get("Services", [])
            for r in template.get("Resources", {}).values()
        )
        if stack in governed and not administers:
            evidence.violations.append(f"{stack} does not turn GuardDuty on")
            continue
        if not administers:
            continue
        functions = {
            logical_id: r
            for logical_id, r in template["Resources"].items()
            if r.get("Type") == "AWS::Lambda::Function"
        }
        rules = [
            name
            for name, rule in resources({stack: template}, "AWS::Events::Rule")
            if _starts_containment(properties(rule), functions, template)
        ]
        if rules:
            evidence.found += rules
        else:
            evidence.violations.append(f"{stack} has no containment rule")
    return evidence


def _starts_containment(
    props: Mapping[str, Any], functions: Mapping[str, Any], template: Mapping[str, Any]
) -> bool:
    pattern = props.get("EventPattern", {})
    detail = pattern.get("detail", {})
    severity = detail.get("severity", [])
    threshold = next(
        (
            s["numeric"][1]
            for s in severity
            if isinstance(s, dict) and s.get("numeric", [None])[0] == ">="
        ),
        None,
    )
    kinds = set(detail.get("resource", {}).get("resourceType", []))
    targets = [
        t["Arn"]["Fn::GetAtt"][0]
        for t in props.get("Targets", [])
        if isinstance(t.get("Arn"), dict) and "Fn::GetAtt" in t["Arn"]
    ]
    return (
        props.get("State", "ENABLED") == "ENABLED"
        and pattern.get("source") == ["aws.guardduty"]
        and threshold is not None
        and float(threshold) <= 7
        and {"Instance", "AccessKey"} <= kinds
        and any(
            t in functions and _assumes(functions[t], template, "-incident-responder")
            for t in targets
        )
    )


def _assumes(function: Mapping[str, Any], template: Mapping[str, Any], suffix: str) -> bool:
    """The function's role has a managed policy allowing sts:AssumeRole of the member
    accounts' roles whose name ends with ``suffix``."""
    role = properties(function).get("Role", {}).get("Fn::GetAtt", [None])[0]
    policies = properties(template["Resources"].get(role, {})).get("ManagedPolicyArns", [])
    for reference in policies:
        policy = template["Resources"].get(
            reference.get("Ref") if isinstance(reference, dict) else ""
        )
        for statement in properties(policy or {}).get("PolicyDocument", {}).get("Statement", []):
            if (
                statement.get("Effect") == "Allow"
                and "sts:AssumeRole" in as_list(statement.get("Action", []))
                and any(str(r).endswith(suffix) for r in as_list(statement.get("Resource", [])))
            ):
                return True
    return False


#: The failed controls the kit remediates.
_REMEDIATED = REMEDIATED_CONTROLS


@control(
    CONTROLS,
    id="LZ-IR-04",
    title="World-open SSH or RDP and public buckets are remediated from the audit account",
    explanation=(
        "The home region's SecurityTooling stack has an enabled EventBridge rule that sends "
        "new failed findings of the Security Hub controls of world-open SSH or RDP (EC2.13, "
        "EC2.14, EC2.19, EC2.53, EC2.54) and of buckets not blocking public access (S3.8) "
        "to a function of that stack, which may assume the member accounts' remediation role."
    ),
    best_practices=("SEC04-BP04", "SEC10-BP07"),
    implemented_by="baseline.stacks.remediation.RemediationAutomation",
    applies_to="remediation",
)
def check_remediation_automated(templates: Templates) -> Evidence:
    """One rule admits the failed controls and targets a function that assumes the role."""
    evidence = Evidence()
    for stack, template in sorted(templates.items()):
        functions = {
            logical_id: r
            for logical_id, r in template.get("Resources", {}).items()
            if r.get("Type") == "AWS::Lambda::Function"
        }
        for name, rule in resources({stack: template}, "AWS::Events::Rule"):
            props = properties(rule)
            pattern = props.get("EventPattern", {})
            findings = pattern.get("detail", {}).get("findings", {})
            controls = findings.get("Compliance", {}).get("SecurityControlId")
            if pattern.get("source") != ["aws.securityhub"] or controls is None:
                continue
            targets = [
                t["Arn"]["Fn::GetAtt"][0]
                for t in props.get("Targets", [])
                if isinstance(t.get("Arn"), dict) and "Fn::GetAtt" in t["Arn"]
            ]
            ok = (
                props.get("State", "ENABLED") == "ENABLED"
                and set(_REMEDIATED) <= set(controls)
                and findings.get("Compliance", {}).get("Status") == ["FAILED"]
                and any(
                    t in functions and _assumes(functions[t], template, "-remediation")
                    for t in targets
                )
            )
            evidence.record(name, ok)
    return evidence
