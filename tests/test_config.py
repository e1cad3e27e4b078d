"""The config model: the example validates; each broken config gets its own message."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import region_info

from baseline.__main__ import EXIT_INVALID_CONFIG, main
from baseline.app import PROJECT_ROOT
from baseline.config import (
    AWS_REGIONS,
    AccountRole,
    ConfigError,
    LandingZoneConfig,
    load_config,
    parse_config,
)
from tests.conftest import before_the_first_deploy, run_app

Mutation = Callable[[dict[str, Any]], None]


def _account(data: dict[str, Any], name: str) -> dict[str, Any]:
    account: dict[str, Any] = next(a for a in data["accounts"] if a["name"] == name)
    return account


def _nest_ous(data: dict[str, Any]) -> None:
    unit: dict[str, Any] = {"name": "L1"}
    data["organizational_units"].append(unit)
    for depth in range(2, 7):
        child: dict[str, Any] = {"name": f"L{depth}"}
        unit["children"] = [child]
        unit = child


def _fill_the_root(data: dict[str, Any]) -> None:
    """Custom guardrails at the root that, with the library's, need more than four SCPs."""
    data["guardrails"]["custom"] = [
        {
            "id": f"CUSTOM-ROOT-{i}",
            "purpose": "An organisation-specific deny that is far too large for the root.",
            "attach_to": ["Root"],
            "statements": [
                {
                    "Sid": f"Big{i}",
                    "Effect": "Deny",
                    "Action": [f"service{i}:Action{j:04d}" for j in range(170)],
                    "Resource": "*",
                }
            ],
        }
        for i in range(3)
    ]


def _custom(statement: dict[str, Any], without: str = "") -> dict[str, Any]:
    """A custom guardrail of one statement (a deny of one action unless it says otherwise)."""
    given = {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*", **statement}
    given.pop(without, None)
    return {
        "id": "CUSTOM-ONE",
        "purpose": "An organisation-specific deny, written for the test.",
        "attach_to": ["Root"],
        "statements": [given],
    }


BROKEN: dict[str, tuple[Mutation, str]] = {
    "unknown key": (lambda d: d.update(colour="blue"), "colour: unknown key"),
    "misspelt nested key": (
        lambda d: d["log_archive"].update(retention=30),
        "log_archive.retention: unknown key",
    ),
    "duplicate account name": (
        lambda d: _account(d, "fleet-dev").update(name="orders-prod"),
        "accounts[8] (orders-prod).name: 'orders-prod' is already used by accounts[5] "
        "(orders-prod)",
    ),
    "duplicate email, other case": (
        lambda d: _account(d, "fleet-dev").update(email="AWS-Audit@northwind.example.com"),
        "accounts[8] (fleet-dev).email: 'AWS-Audit@northwind.example.com' is already used by "
        "accounts[2] (audit)",
    ),
    "invalid email": (
        lambda d: _account(d, "audit").update(email="audit-at-northwind"),
        "accounts[2] (audit).email: 'audit-at-northwind' is not a valid e-mail address",
    ),
    "new account's address outside the mail standard": (
        lambda d: _account(d, "fleet-dev").update(email="ops..team@corp_mail.example.com"),
        "accounts[8] (fleet-dev).email: 'ops..team@corp_mail.example.com' is not a valid "
        "e-mail address",
    ),
    "eleven-digit id": (
        lambda d: _account(d, "network").update(id="53456789012"),
        "accounts[3] (network).id: '53456789012' must be exactly 12 digits",
    ),
    "unquoted id read as a number": (
        lambda d: _account(d, "network").update(id=534567890123),
        'accounts[3] (network).id: 534567890123 is a number: quote it ("534567890123"); '
        "unquoted, YAML reads an account id as a number",
    ),
    "a key read as a number": (
        lambda d: d.setdefault("incident_response", {}).update(containment={1: "isolate"}),
        'incident_response.containment (key 1): 1 is a number: quote it ("1")',
    ),
    "a name read as a number": (
        lambda d: d["organization"].update(name=2024),
        'organization.name: 2024 is a number: quote it ("2024")\n',
    ),
    "account in a missing OU": (
        lambda d: _account(d, "orders-prod").update(ou="Workloads/Production"),
        "accounts[5] (orders-prod).ou: 'Workloads/Production' is not an OU path",
    ),
    "two log archive accounts": (
        lambda d: _account(d, "audit").update(role="log_archive"),
        "accounts: exactly one account must have role 'log_archive', found 2",
    ),
    "no audit account": (
        lambda d: _account(d, "audit").update(role="workload"),
        "accounts: exactly one account must have role 'audit', found 0",
    ),
    "core account without id": (
        lambda d: _account(d, "log-archive").pop("id"),
        "accounts[1] (log-archive).id: the log_archive account needs its 12-digit id",
    ),
    "unknown region": (
        lambda d: d["governed_regions"].append("eu-middle-1"),
        "governed_regions[3]: 'eu-middle-1' is not an AWS region code",
    ),
    "home region not governed": (
        lambda d: d.update(home_region="us-west-2"),
        "home_region: 'us-west-2' must be one of governed_regions",
    ),
    "upper-case prefix": (
        lambda d: d["organization"].update(prefix="NWL"),
        "organization.prefix: 'NWL' must be 2-12 lower-case letters",
    ),
    "prefix too long for bucket names": (
        lambda d: d["organization"].update(prefix="northwind-logistics"),
        "organization.prefix: 'northwind-logistics' must be 2-12",
    ),
    "replica in the home region": (
        lambda d: d["log_archive"].update(replication_region="eu-west-1"),
        "log_archive.replication_region: 'eu-west-1' is the home region",
    ),
    "OUs nested six deep": (
        _nest_ous,
        "organizational_units: 'L1/L2/L3/L4/L5/L6' nests deeper than AWS Organizations allows",
    ),
    "logs expire while still locked": (
        lambda d: d["log_archive"].update(expiration_days=300),
        "log_archive.expiration_days: must be longer than object_lock.retention_days (365)",
    ),
    "StackSet target OU without an id": (
        lambda d: d.update(member_baseline={"target_ous": ["Sandbox"]}),
        "member_baseline.target_ous[0]: 'Sandbox' has no id in organizational_units",
    ),
    "break-glass principal outside the management account": (
        lambda d: d.update(
            member_baseline={"break_glass_principals": ["arn:aws:iam::756789012345:role/admin"]}
        ),
        "member_baseline.break_glass_principals[0]: 'arn:aws:iam::756789012345:role/admin' is not in the management account 210987654321",
    ),
    "malformed OU id": (
        lambda d: d["organizational_units"][0].update(id="ou-1"),
        "organizational_units[0].id: 'ou-1' is not an OU id",
    ),
    "network hub shared with an OU without an id": (
        lambda d: d["network"].update(share_with=["Workloads", "Sandbox"]),
        "network.share_with[1]: 'Sandbox' has no id in organizational_units; RAM shares",
    ),
    "network hub shared with the root": (
        lambda d: d["network"].update(share_with=["Root"]),
        "network.share_with[0]: 'Root' is not an OU path",
    ),
    "an audit principal in another account": (
        lambda d: d["member_baseline"].update(
            audit_principals=["arn:aws:iam::756789012345:role/auditors"]
        ),
        "member_baseline.audit_principals[0]: 'arn:aws:iam::756789012345:role/auditors' is not "
        "in the audit account 423456789012",
    ),
    "every role of the audit account": (
        lambda d: d["member_baseline"].update(
            incident_responder_principals=["arn:aws:iam::423456789012:role/*"]
        ),
        "member_baseline.incident_responder_principals[0]: 'arn:aws:iam::423456789012:role/*' "
        "names every role of the account; name the roles",
    ),
    "an audit principal that is no role": (
        lambda d: d["member_baseline"].update(
            audit_principals=["arn:aws:iam::423456789012:user/alice"]
        ),
        "member_baseline.audit_principals[0]: 'arn:aws:iam::423456789012:user/alice' is not an "
        "IAM role ARN",
    ),
    "a default naming an OU the config lacks": (
        lambda d: (
            d["guardrails"].pop("workload_ous"),
            d["organizational_units"].__setitem__(2, {"name": "Apps", "id": "ou-nw7k-w0rk10ad"}),
            [a.update(ou="Apps") for a in d["accounts"] if a["ou"].startswith("Workloads")],
        ),
        "guardrails.workload_ous[0]: 'Workloads' is not an OU path defined in "
        "organizational_units (it is the default: set guardrails.workload_ous to your OU "
        "paths, or to [] for none)",
    ),
    "unknown guardrail id in disabled": (
        lambda d: d["guardrails"].update(disabled=["SCP-REGION-DENIED"]),
        "guardrails.disabled[0]: 'SCP-REGION-DENIED' is not a guardrail id "
        "(docs/guardrails.md lists them); did you mean SCP-REGION-DENY?",
    ),
    "unknown guardrail id in attachments": (
        lambda d: d["guardrails"].update(attachments={"SCP-NOPE": ["Sandbox"]}),
        "guardrails.attachments.SCP-NOPE: 'SCP-NOPE' is not a guardrail id",
    ),
    "guardrails that overflow the root": (
        _fill_the_root,
        "guardrails: SCP for 'Root': the guardrails need 6 policies but at most 3 can be attached there "
        "(AWS allows 5 per target, the AWS-managed full-access policy included, and 1 is kept "
        "free at the root for replacements)",
    ),
    "workload range overlapping the egress VPC": (
        lambda d: d["network"].update(workload_cidrs=["100.64.0.0/10"]),
        "network.workload_cidrs[0]: 100.64.0.0/10 overlaps the egress range 100.64.0.0/24",
    ),
    "range with host bits": (
        lambda d: d["network"].update(egress_vpc_cidr="100.64.0.1/24"),
        "network.egress_vpc_cidr: '100.64.0.1/24' has host bits set; the range is 100.64.0.0/24",
    ),
    "egress VPC too small": (
        lambda d: d["network"].update(egress_vpc_cidr="100.64.0.0/26"),
        "network.egress_vpc_cidr: must be a /16 to /24 range",
    ),
    "AZ of another region": (
        lambda d: d["network"].update(
            availability_zones={"eu-west-1": ["eu-west-1a", "us-east-1b"]}
        ),
        "network.availability_zones.eu-west-1: 'us-east-1b' is not an AZ of eu-west-1",
    ),
    "one AZ": (
        lambda d: d["network"].update(availability_zones={"us-east-1": ["us-east-1a"]}),
        "network.availability_zones.us-east-1: give at least 2 AZs",
    ),
    "AZs of an ungoverned region": (
        lambda d: d["network"].update(
            availability_zones={"ap-south-1": ["ap-south-1a", "ap-south-1b"]}
        ),
        "network.availability_zones.ap-south-1: 'ap-south-1' is not a governed region",
    ),
    "empty allow-list": (
        lambda d: d["network"]["firewall"].update(allowed_domains=[]),
        "network.firewall.allowed_domains: empty, so every flow out would be dropped",
    ),
    "allowed domain with a wildcard": (
        lambda d: d["network"]["firewall"].update(allowed_domains=["*.example.com"]),
        "network.firewall.allowed_domains[0]: '*.example.com' is not a lower-case domain name",
    ),
    "managed rule group in action order": (
        lambda d: d["network"]["firewall"].update(
            managed_rule_groups=["ThreatSignaturesBotnetActionOrder"]
        ),
        "network.firewall.managed_rule_groups[0]: 'ThreatSignaturesBotnetActionOrder' is not the strict-order name",
    ),
    "unknown managed domain list": (
        lambda d: d["network"]["dns_firewall"].update(managed_domain_lists=["Malware"]),
        "network.dns_firewall.managed_domain_lists[0]: Input should be 'AWSManagedDomainsMalwareDomainList'",
    ),
    "custom guardrail without actions": (
        lambda d: d["guardrails"].update(custom=[_custom({}, without="Action")]),
        "guardrails.custom[0].statements[0]: give the actions it denies, as Action or NotAction",
    ),
    "custom guardrail with an unknown operator": (
        lambda d: d["guardrails"].update(
            custom=[_custom({"Condition": {"StringEqual": {"aws:RequestedRegion": "x"}}})]
        ),
        "guardrails.custom[0].statements[0].Condition.StringEqual: no IAM condition operator",
    ),
    "custom guardrail with Null if it exists": (
        lambda d: d["guardrails"].update(
            custom=[_custom({"Condition": {"NullIfExists": {"aws:TagKeys": "true"}}})]
        ),
        "guardrails.custom[0].statements[0].Condition.NullIfExists: no IAM condition operator",
    ),
    "custom RCP with a bad condition and no principal": (
        lambda d: d["guardrails"].update(
            custom=[{**_custom({"Condition": {"Bool": "x"}}), "policy_type": "RCP"}]
        ),
        "guardrails.custom[0].statements[0].Principal: an RCP statement must have Principal",
    ),
    "custom guardrail with an unknown set qualifier": (
        lambda d: d["guardrails"].update(
            custom=[_custom({"Condition": {"ForOneValue:StringLike": {"aws:TagKeys": "x"}}})]
        ),
        "guardrails.custom[0].statements[0].Condition.ForOneValue:StringLike: no IAM",
    ),
    "management account in an OU": (
        lambda d: _account(d, "management").update(ou="Security"),
        "accounts[0] (management).ou: the management account always sits in 'Root'",
    ),
    # with identity_center, planning the assignments looked the management account up
    "management account without its role": (
        lambda d: _account(d, "management").pop("role"),
        "accounts: exactly one account must have role 'management', found 0",
    ),
    "account named like a top-level OU": (
        lambda d: d["organizational_units"].append({"name": "sandbox-data-science"}),
        "accounts[9] (sandbox-data-science).name: 'sandbox-data-science' is also a top-level OU",
    ),
    "custom guardrail on an account without an id": (
        lambda d: d["guardrails"].update(custom=[{**_custom({}), "attach_to": ["fleet-dev"]}]),
        "guardrails.custom[0].attach_to[0]: 'fleet-dev' has no id yet",
    ),
    "OU paths that differ only in punctuation": (
        lambda d: d["organizational_units"].append({"name": "Workloads-Prod"}),
        "organizational_units: 'Workloads-Prod' would make OuWorkloadsProd, the same "
        "resource as 'Workloads/Prod'",
    ),
    "OU names that differ only in case": (
        lambda d: d["organizational_units"].append({"name": "sandbox"}),
        "organizational_units: 'sandbox' would make OuSandbox, the same resource as 'Sandbox'",
    ),
    "OU named like the root in another case": (
        lambda d: d["organizational_units"].append({"name": "ROOT"}),
        "organizational_units: 'ROOT' would make OuIdRoot, the same resource as the root's "
        "id parameter",
    ),
    "OU whose resource is another OU's id parameter": (
        lambda d: d["organizational_units"].append({"name": "Id Sandbox"}),
        "organizational_units: 'Id Sandbox' would make OuIdSandbox, the same resource as the "
        "id parameter of 'Sandbox'",
    ),
    "more hub zones than the firewall quota": (
        lambda d: d["network"].update(
            egress_vpc_cidr="100.64.0.0/22",
            availability_zones={"us-east-1": [f"us-east-1{z}" for z in "abcdef"]},
        ),
        "network.availability_zones.us-east-1: 6 zones make 6 firewalls (one per zone), over "
        "network.firewall.firewalls_quota (5,",
    ),
    "new organisation's id without its root id": (
        lambda d: (d["organization"].update(create=True), d["organization"].pop("root_id")),
        "organization.root_id: required once id is filled in (phase 2 of create: true",
    ),
    "CI role outside the management account that would assume the baseline's roles": (
        lambda d: d["ci_roles"][0].update(account="audit"),
        "ci_roles[0].assume_roles[0]: 'arn:aws:iam::*:role/cdk-lzbaseline-deploy-role-*' "
        "names roles only the baseline's own principals may assume",
    ),
    "permission sets that would be one resource": (
        lambda d: d["identity_center"]["permission_sets"].extend(
            [{"name": "Data-Scientist"}, {"name": "data.scientist"}]
        ),
        "'data.scientist' would be the same resource as 'Data-Scientist'",
    ),
    "CI role name too long": (
        lambda d: d["ci_roles"][0].update(name="x" * 60),
        "ci_roles[0].name: IAM role name 'nwl-ci-xxxxxxxxxx",
    ),
    "third-party role name too long for a long prefix": (
        lambda d: (
            d["organization"].update(prefix="northwindlog"),
            d["third_party_roles"][0].update(name="p" * 40),
        ),
        "third_party_roles[0].name: IAM role name 'northwindlog-third-party-pppp",
    ),
    "new account name over 50": (
        lambda d: d["accounts"].append(
            {"name": "a" * 51, "email": "aws-long@northwind.example.com", "ou": "Sandbox"}
        ),
        f"accounts[11] ({'a' * 51}).name: 51 characters; an account the kit creates can have "
        "at most 50",
    ),
    "attachment target twice": (
        lambda d: d["guardrails"].update(attachments={"SCP-REGION-DENY": ["Sandbox", "Sandbox"]}),
        "guardrails.attachments.SCP-REGION-DENY[1]: 'Sandbox' is listed twice",
    ),
    "custom guardrail target twice": (
        lambda d: d["guardrails"].update(custom=[{**_custom({}), "attach_to": ["Root", "Root"]}]),
        "guardrails.custom[0].attach_to[1]: 'Root' is listed twice",
    ),
    "attachments that turn a guardrail off": (
        lambda d: d["guardrails"].update(attachments={"SCP-REGION-DENY": []}),
        "guardrails.attachments.SCP-REGION-DENY: an empty list would turn the guardrail off "
        "without naming it; use guardrails.disabled",
    ),
    "custom Sid with hyphens": (
        lambda d: d["guardrails"].update(custom=[_custom({"Sid": "Deny-It"})]),
        "guardrails.custom[0].statements[0].Sid: 'Deny-It' must be ASCII letters and digits",
    ),
    "custom Sid twice": (
        lambda d: d["guardrails"].update(
            custom=[_custom({"Sid": "DenyIt"}), {**_custom({"Sid": "DenyIt"}), "id": "CUSTOM-TWO"}]
        ),
        "guardrails.custom[1].statements[0].Sid: 'DenyIt' is already used by "
        "guardrails.custom[0].statements[0]",
    ),
    "Principal in a custom SCP": (
        lambda d: d["guardrails"].update(custom=[_custom({"Principal": "*"})]),
        "guardrails.custom[0].statements[0].Principal: not an element of an SCP statement",
    ),
    "NotPrincipal in a custom RCP": (
        lambda d: d["guardrails"].update(
            custom=[
                {
                    **_custom({"Principal": "*", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}}),
                    "policy_type": "RCP",
                }
            ]
        ),
        "guardrails.custom[0].statements[0].NotPrincipal: not an element of an RCP statement",
    ),
    "unknown element in a custom statement": (
        lambda d: d["guardrails"].update(custom=[_custom({"Effects": "Deny"})]),
        "guardrails.custom[0].statements[0].Effects: not an element of an SCP statement "
        "(allowed: Action, Condition, Effect, NotAction, NotResource, Resource, Sid)",
    ),
    "custom action without its service": (
        lambda d: d["guardrails"].update(custom=[_custom({"Action": ["s3:PutObject", "Delete"]})]),
        "guardrails.custom[0].statements[0].Action: 'Delete' is not '*' or service:action",
    ),
    "custom statement with Resource and NotResource": (
        lambda d: d["guardrails"].update(custom=[_custom({"NotResource": "arn:aws:s3:::b"})]),
        "guardrails.custom[0].statements[0]: give Resource or NotResource, not both",
    ),
    "custom condition that is an empty block": (
        lambda d: d["guardrails"].update(custom=[_custom({"Condition": {"StringEquals": {}}})]),
        "guardrails.custom[0].statements[0].Condition.StringEquals: an empty block",
    ),
    "custom condition value that is a mapping": (
        lambda d: d["guardrails"].update(
            custom=[_custom({"Condition": {"StringEquals": {"aws:x": {"nested": "map"}}}})]
        ),
        "guardrails.custom[0].statements[0].Condition.StringEquals.aws:x: give a string, "
        "number or boolean, or a list of them, got {'nested': 'map'}",
    ),
    "custom condition value that is null": (
        lambda d: d["guardrails"].update(
            custom=[_custom({"Condition": {"StringEquals": {"aws:x": None}}})]
        ),
        "guardrails.custom[0].statements[0].Condition.StringEquals.aws:x: give a string",
    ),
    "custom Null condition that is neither true nor false": (
        lambda d: d["guardrails"].update(
            custom=[_custom({"Condition": {"Null": {"aws:x": "maybe"}}})]
        ),
        "guardrails.custom[0].statements[0].Condition.Null.aws:x: Null takes true or false",
    ),
    "custom action that is a number": (
        lambda d: d["guardrails"].update(custom=[_custom({"Action": 5})]),
        "guardrails.custom[0].statements[0].Action: give a string or a list of strings, got 5",
    ),
    "logs expire before they reach Glacier": (
        lambda d: (
            d["log_archive"]["object_lock"].update(retention_days=30),
            d["log_archive"].update(expiration_days=100),
        ),
        "log_archive.expiration_days: must be later than transition_to_glacier_days (365), got 100",
    ),
    "logs in Standard-IA less than 30 days": (
        lambda d: d["log_archive"].update(
            transition_to_infrequent_access_days=100, transition_to_glacier_days=129
        ),
        "log_archive.transition_to_glacier_days: must be at least 30 days later than "
        "transition_to_infrequent_access_days (100), so at least 130",
    ),
    "new account e-mail AWS refuses": (
        lambda d: _account(d, "fleet-dev").update(email="o'brien@northwind.example.com"),
        'accounts[8] (fleet-dev).email: "o\'brien@northwind.example.com" holds a character '
        "AWS Organizations refuses",
    ),
    "contact e-mail the alternate contact refuses": (
        lambda d: d["security_contact"].update(email="soc~ops@northwind.example.com"),
        "security_contact.email: 'soc~ops@northwind.example.com' is not a valid e-mail "
        "address of 6-64 characters for the alternate contact",
    ),
    "contact phone over 25": (
        lambda d: d["security_contact"].update(phone="+44 20 7946 0000 1234 5678"),
        "security_contact.phone: '+44 20 7946 0000 1234 5678' is not a phone number",
    ),
    "access-control key with punctuation": (
        lambda d: d["identity_center"]["access_control_attributes"].update(
            {"team name!": "${path:enterprise.department}"}
        ),
        "identity_center.access_control_attributes (key 'team name!'): not a session tag key",
    ),
    "access-control source too long": (
        lambda d: d["identity_center"]["access_control_attributes"].update(team="x" * 257),
        "identity_center.access_control_attributes.team: 'xxxx",
    ),
    "access-control attributes over 50": (
        lambda d: d["identity_center"]["access_control_attributes"].update(
            {f"tag{i}": "${path:enterprise.department}" for i in range(50)}
        ),
        "identity_center.access_control_attributes: 52 attributes; Identity Center takes at "
        "most 50",
    ),
    "permission set description Identity Center refuses": (
        lambda d: d["identity_center"]["permission_sets"][0].update(description="Costs €"),
        "identity_center.permission_sets[0].description: 'Costs €' holds characters IAM "
        "Identity Center refuses",
    ),
    "permissions boundary that is no policy name": (
        lambda d: d["identity_center"]["permission_sets"][0].update(
            permissions_boundary="my boundary!"
        ),
        "identity_center.permission_sets[0].permissions_boundary: 'my boundary!' is neither "
        "'workload' nor a customer-managed policy name",
    ),
    "managed policy ARN without a name": (
        lambda d: d["identity_center"]["permission_sets"][0].update(
            managed_policies=["arn:aws:iam::aws:policy/"]
        ),
        "identity_center.permission_sets[0].managed_policies[0]: 'arn:aws:iam::aws:policy/' "
        "is not an AWS-managed policy ARN",
    ),
    "managed policy twice": (
        lambda d: d["identity_center"]["permission_sets"][0]["managed_policies"].append(
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        ),
        "identity_center.permission_sets[0].managed_policies[1]: "
        "'arn:aws:iam::aws:policy/ReadOnlyAccess' is listed twice",
    ),
    "customer-managed policy twice": (
        lambda d: d["identity_center"]["permission_sets"][0].update(
            customer_managed_policies=["team-buckets", "team-buckets"]
        ),
        "identity_center.permission_sets[0].customer_managed_policies[1]: 'team-buckets' is "
        "listed twice",
    ),
    "workload range listed twice": (
        lambda d: d["network"].update(workload_cidrs=["10.0.0.0/8", "10.0.0.0/8"]),
        "network.workload_cidrs[1]: 10.0.0.0/8 is listed twice",
    ),
    "a multicast workload range": (
        lambda d: d["network"].update(workload_cidrs=["10.0.0.0/8", "224.0.0.0/4"]),
        "network.workload_cidrs[1]: 224.0.0.0/4 is a multicast range, which no VPC can hold "
        "or route",
    ),
    "a link-local egress range": (
        lambda d: d["network"].update(egress_vpc_cidr="169.254.0.0/24"),
        "network.egress_vpc_cidr: 169.254.0.0/24 is a link-local range",
    ),
    "more hub AZs than the egress range holds": (
        lambda d: d["network"].update(
            availability_zones={"us-east-1": [f"us-east-1{z}" for z in "abcdef"]}
        ),
        "network.availability_zones.us-east-1: 6 AZs; 100.64.0.0/24 holds 3 /28 subnets in at "
        "most 5",
    ),
    "a managed rule group twice": (
        lambda d: d["network"]["firewall"].update(
            managed_rule_groups=["ThreatSignaturesBotnetStrictOrder"] * 2
        ),
        "network.firewall.managed_rule_groups: 'ThreatSignaturesBotnetStrictOrder' listed more "
        "than once",
    ),
    "a blocked domain twice": (
        lambda d: (
            d["network"]
            .setdefault("dns_firewall", {})
            .update(blocked_domains=["evil.example", "evil.example"])
        ),
        "network.dns_firewall.blocked_domains: 'evil.example' listed more than once",
    ),
    "a name YAML reads as a boolean": (
        lambda d: d["organizational_units"][4].update(name=False),
        "organizational_units[4].name: is false, not text (YAML reads yes, no, on, off, true "
        "and false as booleans): quote it\n",
    ),
    "a key YAML reads as a boolean": (
        lambda d: d["incident_response"].update(containment={True: "isolate"}),
        "incident_response.containment (key true): is true, not text (YAML reads yes",
    ),
    "an empty top-level key": (
        lambda d: d.update({None: "x"}),
        "(top level): a key is empty (~ or null)",
    ),
    "an empty key in a mapping": (
        lambda d: d["incident_response"].update(containment={None: "isolate"}),
        "incident_response.containment: a key is empty (~ or null)",
    ),
    "account id of other digits": (
        lambda d: _account(d, "orders-prod").update(id="٧٥٦٧٨٩٠١٢٣٤٥"),
        "accounts[5] (orders-prod).id: '٧٥٦٧٨٩٠١٢٣٤٥' must be exactly 12 digits",
    ),
    "permission set name with a letter outside ASCII": (
        lambda d: d["identity_center"]["permission_sets"][0].update(name="Datenwissenschaftlér"),
        "identity_center.permission_sets[0].name: 'Datenwissenschaftlér' must be 1-32",
    ),
    "break-glass user with a letter outside ASCII": (
        lambda d: d["member_baseline"].update(
            break_glass_principals=["arn:aws:iam::210987654321:user/bréak"]
        ),
        "member_baseline.break_glass_principals[0]: 'arn:aws:iam::210987654321:user/bréak' is "
        "not an IAM role or user ARN",
    ),
    "assumed role pattern with a trailing line break": (
        lambda d: d["ci_roles"][0].update(assume_roles=["arn:aws:iam::*:role/cdk-x-*\n"]),
        "ci_roles[0].assume_roles[0]: 'arn:aws:iam::*:role/cdk-x-*\\n' is not a role ARN",
    ),
    "subject owner with a trailing line break": (
        lambda d: d["ci_roles"][0].update(
            subjects=["repo:northwind\n/landing-zone:environment:production"]
        ),
        "ci_roles[0].subjects[0] 'repo:northwind\\n/landing-zone:environment:production': the "
        "owner must be named exactly",
    ),
    "organisation name with a line break": (
        lambda d: d["organization"].update(name="Northwind\nLogistics"),
        "organization.name: 'Northwind\\nLogistics' holds a line break or other control character",
    ),
    "contact name with a control character": (
        lambda d: d["security_contact"].update(name="Northwind\x07SOC"),
        "security_contact.name: 'Northwind\\x07SOC' holds a line break or other control",
    ),
    "group name with a line break": (
        lambda d: d["identity_center"]["assignments"][5].update(groups=["fin\nance"]),
        "identity_center.assignments[5].groups[0]: 'fin\\nance' holds a line break",
    ),
}


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "landing-zone.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_example_config_is_valid(example_config: Any) -> None:
    assert example_config.organization.prefix == "nwl"
    assert example_config.home_region in example_config.governed_regions
    assert len(example_config.governed_regions) >= 2
    for role in (
        AccountRole.MANAGEMENT,
        AccountRole.LOG_ARCHIVE,
        AccountRole.AUDIT,
        AccountRole.NETWORK,
    ):
        assert example_config.account_for(role).id is not None
    workloads = [a for a in example_config.accounts if a.role == AccountRole.WORKLOAD]
    assert len(workloads) >= 4
    assert {
        "Security",
        "Infrastructure",
        "Workloads/Prod",
        "Workloads/NonProd",
        "Sandbox",
        "Suspended",
    } <= set(example_config.ou_paths())


def test_validate_prints_summary_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(PROJECT_ROOT / "config" / "landing-zone.yaml")]) == 0
    out = capsys.readouterr().out
    assert "valid" in out
    assert "Northwind Logistics" in out
    assert "replica eu-central-1" in out
    assert len(out.splitlines()) < 40  # one screen


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_fails_broken_config_with_its_message(
    case: str, config_data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate, expected = BROKEN[case]
    mutate(config_data)
    path = _write(tmp_path, config_data)
    assert main(["validate", str(path)]) == EXIT_INVALID_CONFIG
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err
    # every problem line names a field path before its colon
    for line in err.splitlines()[1:]:
        assert ": " in line.strip(), line


def test_fails_a_tag_that_names_a_python_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The config is read as plain data: a tag that would build a Python object (and run
    code) is refused as bad YAML, never constructed."""
    path = tmp_path / "landing-zone.yaml"
    path.write_text("organization: !!python/object/apply:os.system [echo]\n", encoding="utf-8")
    assert main(["validate", str(path)]) == EXIT_INVALID_CONFIG
    err = capsys.readouterr().err
    assert "(yaml): " in err and "python/object/apply:os.system" in err, err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "(file): not found"),
        ("", "(top level): the file is empty"),
        ("organization: [\n", "(yaml): syntax error at line 2"),
        ("- just\n- a list\n", "(top level): the file is a list, not a mapping"),
    ],
    ids=["missing", "empty", "yaml syntax", "not a mapping"],
)
def test_fails_unreadable_file_with_one_line(
    content: str | None, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "landing-zone.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["validate", str(path)]) == EXIT_INVALID_CONFIG
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.splitlines()) == 2


#: Ten aliases of ten aliases, nine levels deep: a billion values in ten lines (in a
#: custom guardrail's statement, which the guardrails' checks walk value by value,
#: validate ran for minutes before the reader refused it).
ALIAS_BOMB = (
    "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]\n" for level in range(1, 9)
    )
    + "organization: *a8\n"
)


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda p: p.write_bytes(b"organization: \xff\xfe\n"), "(file): cannot be read: "),
        (lambda p: p.mkdir(), "(file): cannot be read: Is a directory"),
        (
            lambda p: p.write_text("organization: " + "9" * 5000 + "\n"),
            "(yaml): syntax error at line 1, column 15: a number of 5,000 digits is more than "
            "a config holds",
        ),
        (
            lambda p: p.write_text("organization:\n  name: 2024-13-01\n"),
            "(yaml): syntax error at line 2, column 9: '2024-13-01' is read as a date, and is "
            "none (month must be in 1..12); quote it to keep it as text",
        ),
        (lambda p: p.write_text("a: " + "[" * 3000 + "\n"), "(yaml): nested deeper than"),
        (
            lambda p: p.write_text(ALIAS_BOMB),
            "(yaml): syntax error at line 6, column 5: its aliases expand to more than "
            "1,000,000 values",
        ),
        (
            lambda p: p.write_text("organization: &o {name: *o}\n"),
            "(yaml): syntax error at line 1, column 15: an alias inside the value it names",
        ),
    ],
    ids=[
        "not utf-8",
        "a directory",
        "a 5,000-digit number",
        "a date that is none",
        "3,000 brackets deep",
        "a billion values",
        "an alias in itself",
    ],
)
def test_fails_a_file_the_reader_cannot_take_with_one_line(
    write: Any, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "landing-zone.yaml"
    write(path)
    assert main(["validate", str(path)]) == EXIT_INVALID_CONFIG
    err = capsys.readouterr().err
    assert expected in err, err
    assert len(err.splitlines()) == 2 and "Traceback" not in err, err


def test_fails_a_path_through_a_file_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").write_text("not a directory", encoding="utf-8")
    assert main(["validate", str(tmp_path / "f" / "landing-zone.yaml")]) == EXIT_INVALID_CONFIG
    err = capsys.readouterr().err
    assert "(file): cannot be read: Not a directory" in err, err


def test_fails_a_key_given_twice(
    config_data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """YAML keeps the last of two equal keys: a second notification address at the end
    of the file would take every alert, unseen. The config refuses it instead."""
    path = _write(tmp_path, config_data)
    first = next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("home_")
    )
    with path.open("a", encoding="utf-8") as file:
        file.write("home_region: us-east-1\n")
    assert main(["validate", str(path)]) == EXIT_INVALID_CONFIG
    err = capsys.readouterr().err
    assert (
        f"(yaml): syntax error at line {len(path.read_text().splitlines())}, column 1: key "
        f"'home_region' is given twice in one mapping (first at line {first})"
    ) in err, err


def test_a_merged_key_may_be_given_again_beside_the_merge() -> None:
    from baseline.config import read_yaml

    text = "defaults: &d {a: 1, b: 2}\nitem:\n  <<: *d\n  b: 3\n"
    assert read_yaml(text)["item"] == {"a": 1, "b": 3}
    with pytest.raises(yaml.YAMLError, match="given twice"):
        read_yaml("item:\n  nested: {b: 1, b: 2}\n")
    # a key written again as an alias of itself is the same key twice
    with pytest.raises(yaml.YAMLError, match="key 'a' is given twice"):
        read_yaml("? &k a\n: 1\n? *k\n: 2\n")
    # a second merge would replace the first: one list merges several
    with pytest.raises(yaml.YAMLError, match="'<<' is given twice"):
        read_yaml("a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: *a, <<: *b}\n")
    merged = read_yaml("a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], x: 3}\n")
    assert merged["c"] == {"x": 3, "y": 2}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            ("log_archive", "object_lock", "retention_days"),
            True,
            "log_archive.object_lock.retention_days: is true, not a number (YAML reads yes",
        ),
        (
            ("log_archive", "object_lock", "retention_days"),
            "365",
            "log_archive.object_lock.retention_days: '365' is a string: give a number",
        ),
        (
            ("incident_response", "containment_severity"),
            False,
            "incident_response.containment_severity: is false, not a number",
        ),
    ],
    ids=["yes for days", "quoted days", "no for a severity"],
)
def test_fails_a_boolean_or_string_where_a_number_goes(
    field: tuple[str, ...], value: Any, expected: str, config_data: dict[str, Any]
) -> None:
    """YAML reads ``yes`` as true, which a lax number field took for 1: an object lock of
    one day, said nowhere."""
    *parents, name = field
    parent = config_data
    for key in parents:
        parent = parent.setdefault(key, {})
    parent[name] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert any(expected in line for line in caught.value.problems), caught.value.problems


def test_fails_with_every_problem_at_once(config_data: dict[str, Any]) -> None:
    config_data["organization"]["prefix"] = "BAD"
    _account(config_data, "audit")["email"] = "nope"
    _account(config_data, "network")["id"] = "12"
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert len(caught.value.problems) == 3


def test_fails_in_a_real_process_without_traceback(
    tmp_path: Path, config_data: dict[str, Any]
) -> None:
    config_data["home_region"] = "mars-north-1"
    path = _write(tmp_path, config_data)
    result = subprocess.run(
        [sys.executable, "-m", "baseline", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "home_region: 'mars-north-1' is not an AWS region code" in result.stderr
    assert "Traceback" not in result.stderr


def test_fails_synth_of_bad_config_with_the_same_lines(
    tmp_path: Path, config_data: dict[str, Any]
) -> None:
    config_data["governed_regions"] = ["eu-west-1", "eu-west-1"]
    path = _write(tmp_path, config_data)
    result = run_app(path, tmp_path / "out")
    assert result.returncode == 2
    assert "governed_regions: 'eu-west-1' is listed 2 times" in result.stderr
    assert "Traceback" not in result.stderr


def test_region_list_matches_the_cdk_region_facts() -> None:
    known = {r for r in region_info.RegionInfo.regions if r.partition == "aws"}
    cdk_regions = {r.name for r in known}
    # Every region the kit accepts is one the CDK knows in the commercial partition.
    assert cdk_regions >= AWS_REGIONS, sorted(AWS_REGIONS - cdk_regions)


def _regions_with(types: tuple[str, ...]) -> frozenset[str]:
    """The kit's regions whose CloudFormation has every one of ``types``, by cfn-lint's
    region schemas (the types the synth's template validation checks the same way)."""
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

    def has(region: str, resource_type: str) -> bool:
        try:
            PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)
        except Exception:  # cfn-lint: the type is not in that region's schemas
            return False
        return True

    return frozenset(r for r in AWS_REGIONS if all(has(r, t) for t in types))


def test_the_home_region_tables_are_cfn_lints() -> None:
    from baseline.config import CODEARTIFACT_REGIONS, SECURITY_HUB_HOME_REGIONS

    security_hub = tuple(
        f"AWS::SecurityHub::{t}"
        for t in (
            "ConfigurationPolicy",
            "FindingAggregator",
            "OrganizationConfiguration",
            "PolicyAssociation",
        )
    )
    codeartifact = tuple(
        f"AWS::CodeArtifact::{t}" for t in ("Domain", "PackageGroup", "Repository")
    )
    assert _regions_with(security_hub) == SECURITY_HUB_HOME_REGIONS
    assert _regions_with(codeartifact) == CODEARTIFACT_REGIONS


def test_the_security_service_gaps_are_cfn_lints_and_botocores() -> None:
    """Two sources agree on where each service the tooling turns on is not offered:
    CloudFormation's resource types (cfn-lint) and the SDK's endpoints (botocore)."""
    import boto3

    from baseline.config import AWS_REGIONS, SECURITY_SERVICE_GAPS

    types = {
        "Detective": ("AWS::Detective::Graph", "detective"),
        "Macie": ("AWS::Macie::Session", "macie2"),
        "Inspector": ("AWS::InspectorV2::Filter", "inspector2"),
    }
    session = boto3.session.Session()
    for name, (resource_type, endpoint) in types.items():
        assert AWS_REGIONS - _regions_with((resource_type,)) == SECURITY_SERVICE_GAPS[name]
        offered = set(session.get_available_regions(endpoint))
        assert AWS_REGIONS - offered == SECURITY_SERVICE_GAPS[name], name


def test_fails_on_a_governed_region_without_the_detective_services(
    config_data: dict[str, Any],
) -> None:
    data = config_data
    data["governed_regions"] = [*data["governed_regions"], "eu-central-2"]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert "governed_regions[3]: Detective and Macie are not offered in 'eu-central-2'" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("home", "packages", "problem"),
    [
        ("ap-southeast-7", False, "home_region: 'ap-southeast-7' lacks Security Hub central "),
        ("ca-central-1", True, "packages: CodeArtifact is not offered in the home region "),
        ("ca-central-1", False, None),
    ],
    ids=["no central configuration", "no CodeArtifact", "CodeArtifact not needed"],
)
def test_fails_a_home_region_without_what_deploys_there(
    home: str, packages: bool, problem: str | None, config_data: dict[str, Any]
) -> None:
    """What the synth's template validation would refuse, validate refuses first, naming
    the field."""
    config_data["governed_regions"] = [home, *config_data["governed_regions"]]
    config_data["home_region"] = home
    if not packages:
        config_data.pop("packages", None)
    else:
        assert "packages" in config_data
    if problem is None:
        assert parse_config(config_data).home_region == home
        return
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    region_lines = [
        p for p in caught.value.problems if p.startswith(("home_region:", "packages: CodeArtifact"))
    ]
    assert len(region_lines) == 1 and region_lines[0].startswith(problem), caught.value.problems


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("transition_to_infrequent_access_days", 36500),
        ("transition_to_glacier_days", 36500),
        ("expiration_days", 73000),
        ("access_log_retention_days", 36500),
    ],
)
def test_fails_a_lifecycle_day_count_s3_cannot_take(
    field: str, limit: int, config_data: dict[str, Any]
) -> None:
    """10**21 days passed validate and synth, and became 1e+21 in the template, which S3
    refuses at deploy (whole days of 32 bits)."""
    config_data.setdefault("log_archive", {})[field] = 10**21
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert f"log_archive.{field}: Input should be less than or equal to {limit}" in (
        caught.value.problems
    )


def test_an_existing_account_keeps_the_address_aws_has(config_data: dict[str, Any]) -> None:
    """AWS Organizations holds addresses its own pattern takes, some of which the mail
    standard does not (two dots in a row, an underscore in the domain); the kit never
    sends an existing account's address anywhere, so it is taken as AWS has it."""
    _account(config_data, "audit").update(email="ops..team@corp_mail.example.com")
    audit = next(a for a in parse_config(config_data).accounts if a.name == "audit")
    assert audit.email == "ops..team@corp_mail.example.com"


def _ranges(count: int) -> list[str]:
    return [f"10.{i}.0.0/16" for i in range(count)]


@pytest.mark.parametrize(
    ("ranges", "quota", "refused"),
    [(49, 50, False), (50, 50, True), (50, 100, False)],
    ids=["49 ranges in 50 routes", "50 ranges in 50 routes", "50 ranges, quota raised"],
)
def test_fails_more_workload_ranges_than_a_route_table_holds(
    ranges: int, quota: int, refused: bool, config_data: dict[str, Any]
) -> None:
    """Each range is a route in every public and firewall route table of the egress VPC,
    beside the default route: over the quota, the Network stack's deploy would fail."""
    config_data["network"].update(hub=True, workload_cidrs=_ranges(ranges))
    if quota != 50:
        config_data["network"]["route_table_routes"] = quota
    problem = (
        "network.workload_cidrs: 50 ranges and the default route make 51 routes in each "
        "public and firewall route table of the egress VPC, over network.route_table_routes "
        "(50, the quota 'Routes per route table'): summarise the ranges, or raise the quota "
        "in AWS and then route_table_routes"
    )
    if not refused:
        assert len(parse_config(config_data).network.workload_cidrs) == ranges
        return
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert caught.value.problems == [problem]


def test_schema_describes_every_field() -> None:
    from baseline.config import json_schema

    schema = json_schema()

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                ref = prop.get("$ref", "").rsplit("/", 1)[-1]
                described = "description" in prop or "description" in schema["$defs"].get(ref, {})
                assert described, f"{path}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(schema, "$")
    assert schema["additionalProperties"] is False


def test_replication_region_defaults_to_second_governed_region(
    config_data: dict[str, Any], tmp_path: Path
) -> None:
    assert load_config(_write(tmp_path, config_data)).effective_replication_region == "eu-central-1"
    config_data["log_archive"]["replicate"] = False
    assert load_config(_write(tmp_path, config_data)).effective_replication_region is None


def test_network_hub_defaults_to_two_azs_and_the_workload_ous(example_config: Any) -> None:
    network = example_config.network
    assert network.zones("eu-west-1") == ["eu-west-1a", "eu-west-1b"]
    assert example_config.network_share_ous() == example_config.guardrails.workload_ous


def test_without_the_hub_no_ou_needs_an_id(config_data: dict[str, Any]) -> None:
    config_data["network"] = {"hub": False, "share_with": ["Sandbox"]}
    assert parse_config(config_data).network.hub is False


def test_known_ids_are_derived_in_one_place(example_config: Any) -> None:
    assert example_config.known_id("Root") == "r-nw7k"
    assert example_config.known_id("Workloads") == "ou-nw7k-w0rk10ad"
    assert example_config.known_id("Workloads/Prod") is None  # created by the kit
    assert example_config.known_id("orders-prod") == "756789012345"
    assert example_config.known_id("fleet-dev") is None  # created by the kit
    assert example_config.known_id("no-such-thing") is None


def test_the_stack_set_home_is_decided_once(config_data: dict[str, Any]) -> None:
    config = parse_config(config_data)
    assert config.stack_set_delegated_admin is None
    assert config.stack_set_account_id == "210987654321"  # management
    config_data["member_baseline"]["deploy_from"] = "delegated_admin"
    config = parse_config(config_data)
    assert config.stack_set_delegated_admin == "423456789012"  # audit
    assert config.stack_set_account_id == "423456789012"


def test_a_failing_default_is_named_once(config_data: dict[str, Any]) -> None:
    """The hub's sharing defaults to guardrails.workload_ous: one problem, said once."""
    config_data.pop("identity_center")  # its assignments name the OU too, on their own line
    BROKEN["a default naming an OU the config lacks"][0](config_data)
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    about = [p for p in caught.value.problems if "'Workloads'" in p]
    assert len(about) == 1, caught.value.problems
    assert "it is the default" in about[0]


def test_the_network_hub_is_opt_in_and_its_cost_shows_before_it_is_spent(
    config_data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """About $690 a month per region is not a default: a config turns the hub on."""
    del config_data["network"]
    config = parse_config(config_data)
    assert config.network.hub is False
    assert not any("network hub" in line for line in config.paid_services())
    path = _write(tmp_path, config_data)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "paid services on:" in out and "network hub" not in out
    assert main(["validate", str(PROJECT_ROOT / "config" / "landing-zone.yaml")]) == 0
    assert "the network hub in 3 regions: about $690 a month each" in capsys.readouterr().out


def test_a_greenfield_start_validates_without_turning_anything_off(
    config_data: dict[str, Any],
) -> None:
    before_the_first_deploy(config_data)
    config = parse_config(config_data)
    assert config.bootstrap_phase and not config.network.hub


def test_each_greenfield_phase_validates_and_the_hub_asks_for_its_ou_ids(
    config_data: dict[str, Any],
) -> None:
    """docs/deploy.md's three greenfield phases, each a config that validate accepts."""
    import copy

    phase_2 = copy.deepcopy(config_data)
    phase_2["organization"]["create"] = True
    for unit in phase_2["organizational_units"]:
        unit.pop("id", None)
    phase_2["network"]["hub"] = False
    assert not parse_config(phase_2).bootstrap_phase  # ids filled in: everything synthesizes
    with_hub = copy.deepcopy(phase_2)
    with_hub["network"]["hub"] = True
    with pytest.raises(ConfigError) as caught:
        parse_config(with_hub)
    assert any(
        "guardrails.workload_ous[0]: 'Workloads' has no id in organizational_units" in p
        for p in caught.value.problems
    )
    phase_3 = copy.deepcopy(with_hub)
    phase_3["organizational_units"][2]["id"] = "ou-nw7k-w0rk10ad"
    assert parse_config(phase_3).network.hub


def test_accounts_are_found_by_name_in_the_config_asked(example_config: LandingZoneConfig) -> None:
    """The index by name is the config's own: a copy with other accounts answers from
    its accounts, not from the index of the config it was copied from."""
    assert example_config.account_by_name("fleet-dev") is not None
    assert example_config.account_by_name("no-such-account") is None
    fewer = example_config.model_copy(
        update={"accounts": [a for a in example_config.accounts if a.name != "fleet-dev"]}
    )
    assert fewer.account_by_name("fleet-dev") is None
    assert example_config.account_by_name("fleet-dev") is not None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("accounts", 5, "name"), "fleet-dev\n"),
        (("organization", "prefix"), "nwl\n"),
        (("accounts", 1, "id"), "312345678901\n"),
        (("security_notification_email",), "soc@northwind.example.com\n"),
    ],
)
def test_fails_a_value_with_a_trailing_line_break(
    config_data: dict[str, Any], path: tuple[Any, ...], value: str
) -> None:
    """A YAML block scalar (``name: |``) ends its value with a line break; a pattern's
    ``$`` matches before one, so each rule anchors at the very end of the value."""
    target = config_data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    problems = caught.value.problems
    field = path[-1] if path[0] != "accounts" else f"accounts[{path[1]}]"
    assert any(str(field) in problem for problem in problems), problems
    assert all("\n" not in problem for problem in problems)  # one line per problem


def test_fails_an_external_id_outside_ascii(config_data: dict[str, Any]) -> None:
    """IAM's external ids are ASCII: Python's \\w would take any letter."""
    config_data["third_party_roles"][0]["external_id"] = "northwind-pöstur"
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert caught.value.problems == [
        "third_party_roles[0].external_id must be 2 to 1224 characters of letters, digits and "
        "+=,.@:/-_, got 16 characters"
    ]


@pytest.mark.parametrize(
    "mutate",
    [
        # an existing account keeps the name and address AWS has: the limits of
        # CreateAccount bind only the accounts the kit creates
        lambda d: _account(d, "sandbox-data-science").update(name="s" * 60),
        lambda d: _account(d, "orders-prod").update(email="o'brien&co@northwind.example.com"),
        # the alternate contact takes | & ! # = + in the local part
        lambda d: d["security_contact"].update(email="soc|ops&co@northwind.example.com"),
        lambda d: d["security_contact"].update(phone="+44 20 7946 0000 1234 567"),  # 25
        lambda d: d["log_archive"].update(
            transition_to_infrequent_access_days=100, transition_to_glacier_days=130
        ),
        lambda d: d["log_archive"].update(expiration_days=366),
        # a library-style Sid in an SCP and an RCP: each policy type packs on its own
        lambda d: d["guardrails"].update(
            custom=[
                _custom({"Sid": "DenyIt"}),
                {**_custom({"Sid": "DenyIt", "Principal": "*"}), "id": "CUSTOM-TWO"}
                | {"policy_type": "RCP"},
            ]
        ),
        # Identity Center's access control takes letters of any script, and spaces
        lambda d: d["identity_center"]["access_control_attributes"].update(
            {"équipe de nuit": "${path:enterprise.department}"}
        ),
        lambda d: d["identity_center"]["permission_sets"][0].update(
            description="Données: notebooks\nand training jobs", permissions_boundary="team/bound"
        ),
        lambda d: d["network"].update(workload_cidrs=["10.0.0.0/8", "172.16.0.0/12"]),
        lambda d: d["organizational_units"].append({"name": "payments"}),  # no account of it
    ],
    ids=[
        "existing account with a long name",
        "existing account with an address CreateAccount refuses",
        "contact address with | and &",
        "contact phone of 25",
        "Glacier 30 days after Standard-IA",
        "expiry after Glacier",
        "one Sid in an SCP and an RCP",
        "access-control key of other scripts",
        "Latin-1 description and a boundary by path",
        "two workload ranges",
        "a top-level OU no account is named after",
    ],
)
def test_accepts_what_aws_accepts(config_data: dict[str, Any], mutate: Mutation) -> None:
    mutate(config_data)
    parse_config(config_data)


def test_says_when_the_rules_across_fields_are_still_to_run(config_data: dict[str, Any]) -> None:
    """A field that fails keeps the rules across fields from running (a home region that is
    not governed, here): the lines say more checks follow, so a person expects them."""
    _account(config_data, "audit")["email"] = "nope"
    config_data["home_region"] = "us-west-2"
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert len(caught.value.problems) == 1
    last = caught.value.render().splitlines()[-1]
    assert last == (
        "  (further checks): the rules across fields, the guardrails and the policy files are "
        "checked once these are fixed"
    )
    _account(config_data, "audit")["email"] = "aws-audit@northwind.example.com"
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data)
    assert caught.value.problems == [
        "home_region: 'us-west-2' must be one of governed_regions "
        "['eu-west-1', 'eu-central-1', 'us-east-1']"
    ]
    assert "(further checks)" not in caught.value.render()


def test_a_ci_role_outside_the_management_account_may_assume_other_roles(
    config_data: dict[str, Any],
) -> None:
    config_data["ci_roles"][0].update(
        account="audit",
        assume_roles=[
            "arn:aws:iam::*:role/cdk-lzbaseline-lookup-role-*",  # not reserved
            "arn:aws:iam::*:role/cdk-*",  # reserved roles among others: the rest work
        ],
    )
    parse_config(config_data)
