"""Explicit opt-outs warn at synth with a stable id; the defaults stay silent (docs/weakenings.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from baseline.app import cdk_json_context
from baseline.constructs import (
    BaselineFunction,
    EncryptionKey,
    LayeredVpc,
    NetworkHub,
    OrganizationTrail,
    SecureBucket,
    SecureLogGroup,
    SecurityAlarms,
    SecurityNotifications,
    WebAclProtection,
    declare_availability_zones,
)
from baseline.constructs.organization_settings import OrganizationSettings
from tests.constructs.helpers import ENV

ROOT = Path(__file__).resolve().parents[2]
WARNING_ID = re.compile(r"lz:[A-Za-z]+\.[A-Za-z0-9]+")

HUB = {
    "name": "acme-hub",
    "availability_zones": ["eu-west-1a", "eu-west-1b"],
    "log_bucket_name": "acme-logs-111122223333-eu-west-1",
}
SETTINGS = {
    "prefix": "acme",
    "organization_id": "o-abcdefghij",
    "root_id": "r-ab12",
    "management_account_id": "111122223333",
    "policy_types": ["SERVICE_CONTROL_POLICY"],
}
TRAIL = {
    "trail_name": "acme-organization-trail",
    "organization_id": "o-abcdefghij",
    "bucket_name": "acme-logs-222233334444-eu-west-1",
    "kms_key_arn": "arn:aws:kms:eu-west-1:222233334444:alias/acme/logs",
    "log_group_name": "/acme/organization-trail",
    "key_alias": "alias/acme/organization-trail",
}

#: Each opt-out: what builds it, the construct's id, and the warning ids it must raise.
OPT_OUTS: dict[str, tuple[Callable[[Construct], object], set[str]]] = {
    "HubWithoutFirewall": (
        lambda s: NetworkHub(s, "Subject", **HUB, firewall=False),  # type: ignore[arg-type]
        {"lz:NetworkHub.FirewallOff"},
    ),
    "HubWithoutDnsFirewall": (
        lambda s: NetworkHub(s, "Subject", **HUB, dns_firewall=False),  # type: ignore[arg-type]
        {"lz:NetworkHub.DnsFirewallOff"},
    ),
    "HubWithFewerManagedRules": (
        lambda s: NetworkHub(
            s,
            "Subject",
            **HUB,  # type: ignore[arg-type]
            managed_rule_groups=["ThreatSignaturesBotnetStrictOrder"],
            managed_domain_lists=["AWSManagedDomainsMalwareDomainList"],
        ),
        {"lz:NetworkHub.ThreatSignaturesDropped", "lz:NetworkHub.ManagedDomainListsDropped"},
    ),
    "HubWithoutTunnelDetection": (
        lambda s: NetworkHub(s, "Subject", **HUB, dns_threats=["DGA"]),  # type: ignore[arg-type]
        {"lz:NetworkHub.DnsThreatsDropped"},
    ),
    "BucketDestroyed": (
        lambda s: SecureBucket(s, "Subject", removal_policy=cdk.RemovalPolicy.DESTROY),
        {"lz:SecureBucket.NotRetained"},
    ),
    "KeyDestroyedSoon": (
        lambda s: EncryptionKey(
            s,
            "Subject",
            alias="alias/test/short",
            removal_policy=cdk.RemovalPolicy.DESTROY,
            pending_window=cdk.Duration.days(7),
        ),
        {"lz:EncryptionKey.NotRetained", "lz:EncryptionKey.ShortDeletionWindow"},
    ),
    "BucketUnderAnExistingKey": (
        lambda s: SecureBucket(
            s,
            "Subject",
            encryption_key=kms.Key.from_key_arn(
                s,
                "Existing",
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
            unreplicated_reason="The data is rebuilt from its source system, which keeps its own backups.",
        ),
        {"lz:SecureBucket.KeyPolicyNotManaged"},
    ),
    "LogsUnderAnExistingKey": (
        lambda s: SecureLogGroup(
            s,
            "Subject",
            log_group_name="/test/existing-key",
            encryption_key=kms.Key.from_key_arn(
                s,
                "Existing",
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
        ),
        {"lz:SecureLogGroup.KeyPolicyNotManaged"},
    ),
    "LogsKeptBriefly": (
        lambda s: SecureLogGroup(
            s,
            "Subject",
            log_group_name="/test/brief",
            key_alias="alias/test/brief",
            retention=cdk.aws_logs.RetentionDays.TWO_MONTHS,
        ),
        {"lz:SecureLogGroup.ShortRetention"},
    ),
    "BucketWithBriefHistory": (
        lambda s: SecureBucket(
            s,
            "Subject",
            noncurrent_version_retention=cdk.Duration.days(7),
            access_log_retention=cdk.Duration.days(30),
        ),
        {"lz:SecureBucket.ShortVersionRetention", "lz:SecureBucket.ShortAccessLogRetention"},
    ),
    "VpcInUndeclaredZones": (
        lambda s: LayeredVpc(s, "Subject"),
        {"lz:LayeredVpc.AvailabilityZonesLookedUp"},
    ),
    "VpcWithFewerEndpoints": (
        lambda s: LayeredVpc(s, "Subject", interface_endpoints=["ssm", "ssmmessages"]),
        {"lz:LayeredVpc.EndpointsDropped"},
    ),
    "VpcWithoutResourcePerimeter": (
        lambda s: LayeredVpc(s, "Subject", resource_perimeter=False),
        {"lz:LayeredVpc.ResourcePerimeterOff"},
    ),
    "SettingsWithRootCredentials": (
        lambda s: OrganizationSettings(s, "Subject", **SETTINGS, centralized_root_access=False),  # type: ignore[arg-type]
        {"lz:OrganizationSettings.RootAccessNotCentralized"},
    ),
    "TrailWithoutS3DataEvents": (
        lambda s: OrganizationTrail(s, "Subject", **TRAIL, s3_data_events="none"),
        {"lz:OrganizationTrail.NoS3DataEvents"},
    ),
}


def _stack(app: cdk.App, name: str) -> cdk.Stack:
    """A stack in a fixed environment whose AZs are declared, as a workload's should be
    (except for the case that shows what happens when they are not)."""
    stack = cdk.Stack(app, name, env=ENV)
    if name != "VpcInUndeclaredZones":
        declare_availability_zones(stack, ["eu-west-1a", "eu-west-1b"])
    return stack


def _defaults(stack: cdk.Stack) -> None:
    """Every construct of the kit with its defaults (only the required arguments given)."""
    NetworkHub(stack, "Hub", **HUB)  # type: ignore[arg-type]
    SecureBucket(stack, "Bucket")
    EncryptionKey(stack, "Key", alias="alias/test/default")
    LayeredVpc(stack, "Vpc")
    OrganizationSettings(stack, "Settings", **SETTINGS)  # type: ignore[arg-type]
    trail = OrganizationTrail(stack, "Trail", **TRAIL)
    SecureLogGroup(stack, "Logs", log_group_name="/test/logs", key_alias="alias/test/logs")
    SecurityNotifications(
        stack,
        "Notifications",
        topic_name="acme-security",
        email="soc@example.com",
        publishers=["cloudwatch.amazonaws.com"],
        key_alias="alias/test/notifications",
    )
    SecurityAlarms(
        stack,
        "Alarms",
        prefix="acme",
        log_group=trail.log_group,
        topic=sns.Topic(stack, "Topic"),
    )
    WebAclProtection(stack, "Waf", name="orders-api")
    BaselineFunction(
        stack,
        "Function",
        function_name="acme-test",
        description="Tests the defaults",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        handler="index.handler",
        statements=[],
        log_group_name="/acme/test",
    )


@pytest.fixture(scope="module")
def app() -> cdk.App:
    """One app: a stack per opt-out, and one stack of every construct at its defaults,
    synthesized once (the tests read its assembly), with the CDK's own template
    validation: these opt-outs are combinations the example organisation never builds."""
    app = cdk.App(context=cdk_json_context())
    for name, (build, _) in OPT_OUTS.items():
        build(_stack(app, name))
    _defaults(_stack(app, "Defaults"))
    app.synth()
    return app


def _messages(app: cdk.App, stack_name: str, kind: str) -> list[tuple[str, str]]:
    """(construct path, text) of each message of one kind in a stack's assembly metadata,
    as the CDK writes them beside the template (the acknowledged ones are not there)."""
    directory = Path(app.synth().directory)
    metadata = json.loads((directory / f"{stack_name}.metadata.json").read_text())
    return [
        (path, str(entry.get("data")))
        for path, entries in metadata.items()
        for entry in entries
        if entry.get("type") == kind
    ]


def _lz_warnings(app: cdk.App, stack_name: str) -> dict[str, list[str]]:
    """The kit's warnings of one stack: id -> paths of the constructs that raised it."""
    found: dict[str, list[str]] = {}
    for path, text in _messages(app, stack_name, "aws:cdk:warning"):
        if "[ack: lz:" in text:
            (warning_id,) = WARNING_ID.findall(text)
            found.setdefault(warning_id, []).append(path)
    return found


@pytest.mark.parametrize("stack_name", sorted(OPT_OUTS))
def test_each_opt_out_warns_with_its_id(app: cdk.App, stack_name: str) -> None:
    _, expected = OPT_OUTS[stack_name]
    found = _lz_warnings(app, stack_name)
    assert set(found) == expected
    for paths in found.values():
        assert paths == [f"/{stack_name}/Subject"]  # on the construct that was asked


def test_the_warning_says_what_is_lost(app: cdk.App) -> None:
    texts = [
        text
        for path, text in _messages(app, "HubWithoutFirewall", "aws:cdk:warning")
        if path == "/HubWithoutFirewall/Subject"
    ]
    assert any(
        re.match(
            r"^firewall=False: egress from every spoke VPC leaves through NAT uninspected.*"
            r"\[ack: lz:NetworkHub\.FirewallOff\]$",
            text,
            re.DOTALL,
        )
        for text in texts
    ), texts


def test_the_defaults_do_not_warn(app: cdk.App) -> None:
    assert _lz_warnings(app, "Defaults") == {}


def test_a_warning_changes_no_template(app: cdk.App) -> None:
    """Warnings live in the assembly's metadata; the template carries none of them."""
    directory = Path(app.synth().directory)
    for name in OPT_OUTS:
        template = (directory / f"{name}.template.json").read_text(encoding="utf-8")
        assert "lz:" not in template, name


def test_warnings_can_be_acknowledged_on_the_construct() -> None:
    def warnings(acknowledged: bool) -> dict[str, list[str]]:
        app = cdk.App(context=cdk_json_context(), builtin_cloud_formation_validation=False)
        stack = _stack(app, "Acknowledged")
        key = EncryptionKey(
            stack, "Key", alias="alias/test/ack", pending_window=cdk.Duration.days(7)
        )
        if acknowledged:
            cdk.Annotations.of(key).acknowledge_warning(
                "lz:EncryptionKey.ShortDeletionWindow", "A test key that holds no data."
            )
        return _lz_warnings(app, "Acknowledged")

    assert warnings(acknowledged=False) == {
        "lz:EncryptionKey.ShortDeletionWindow": ["/Acknowledged/Key"]
    }
    assert warnings(acknowledged=True) == {}


# --- the page -----------------------------------------------------------------------------


def _ids_in_code() -> dict[str, str]:
    """Warning id -> the module that raises it, for every construct and stack module."""
    found = {}
    modules = [
        *(ROOT / "baseline" / "constructs").glob("*.py"),
        *(ROOT / "baseline" / "stacks").glob("*.py"),
    ]
    for module in sorted(modules):
        for warning_id in re.findall(r'"(lz:[A-Za-z]+\.[A-Za-z0-9]+)"', module.read_text()):
            found[warning_id] = module.stem
    return found


def _rows_on_the_page() -> dict[str, str]:
    """Warning id -> construct, from the table of docs/weakenings.md."""
    rows = {}
    for line in (ROOT / "docs" / "weakenings.md").read_text().splitlines():
        match = re.match(r"^\| `(lz:[A-Za-z]+\.[A-Za-z0-9]+)` \| `([A-Za-z]+)` \|", line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
            rows[match.group(1)] = match.group(2)
    return rows


def test_the_page_lists_every_warning_id_and_no_other() -> None:
    in_code = _ids_in_code()
    on_page = _rows_on_the_page()
    assert len(in_code) == 20
    assert sorted(set(in_code) - set(on_page)) == [], "ids missing from docs/weakenings.md"
    assert sorted(set(on_page) - set(in_code)) == [], "ids no longer used in baseline/constructs"
    for warning_id, construct in on_page.items():
        assert warning_id.startswith(f"lz:{construct}."), warning_id


#: Warnings of stacks rather than constructs, exercised in the stack's own test module.
STACK_WARNINGS = {
    # tests/stacks/test_member_baseline.py
    "lz:MemberBaselineStack.CustomerManagedEbsKeyExperimental",
    # tests/stacks/test_organization.py
    "lz:OrganizationStack.AllowedImagesAuditOnly",
}


def test_every_id_on_the_page_is_exercised_here() -> None:
    exercised = {i for _, ids in OPT_OUTS.values() for i in ids}
    assert exercised | STACK_WARNINGS == set(_rows_on_the_page())
