"""The member baseline: the StackSet that rolls it out, and the template every account gets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from baseline import naming
from baseline.app import cdk_json_context
from baseline.config import parse_config
from baseline.controls import RETAINED
from baseline.guardrails.evaluator import Request, decide
from baseline.landing_zone import LandingZone
from baseline.stacks.member_baseline import TEMPLATE_BODY_LIMIT, MemberBaselineStackSetStack
from tests.conftest import Synthesized

AUDIT = "423456789012"
HOME = "eu-west-1"
MANAGEMENT = "210987654321"


def _stack_set(template: dict[str, Any]) -> dict[str, Any]:
    (resource,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"
    ]
    return resource


def _member(synthesized: Synthesized) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        _stack_set(synthesized.templates["MemberBaseline"])["Properties"]["TemplateBody"]
    )
    return body


def _resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_stack_set_targets_every_governed_region_and_the_whole_organisation(
    synthesized: Synthesized,
) -> None:
    stack_set = _stack_set(synthesized.templates["MemberBaseline"])
    props = stack_set["Properties"]
    assert stack_set["DeletionPolicy"] in RETAINED
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["CallAs"] == "SELF"
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": True}
    assert props["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    (group,) = props["StackInstancesGroup"]
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": ["r-nw7k"]}
    assert group["Regions"] == synthesized.config.governed_regions
    assert props["OperationPreferences"] == {
        "RegionConcurrencyType": "PARALLEL",
        "MaxConcurrentPercentage": 25,
        "FailureTolerancePercentage": 10,
        "RegionOrder": ["eu-west-1", "eu-central-1", "us-east-1"],
    }
    assert synthesized.landing_zone.member_baseline is not None
    assert synthesized.landing_zone.member_baseline.account == MANAGEMENT


def test_member_template_fits_inline_and_needs_no_assets(synthesized: Synthesized) -> None:
    body = _stack_set(synthesized.templates["MemberBaseline"])["Properties"]["TemplateBody"]
    assert len(body.encode()) <= TEMPLATE_BODY_LIMIT
    member = json.loads(body)
    assert "BootstrapVersion" not in member.get("Parameters", {})
    assert "-assets-" not in body  # StackSet targets cannot read any bootstrap asset bucket
    (function,) = _resources(member, "AWS::Lambda::Function")
    assert "ZipFile" in function["Properties"]["Code"]
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_the_body_leaves_the_nag_acknowledgements_to_the_file_beside_it(
    synthesized: Synthesized,
) -> None:
    """cdk-nag reads its acknowledgements at the member app's synth only: in the body they
    took a third of what CloudFormation takes inline. The Control Tower and checkov ones
    stay (a scanner reads the body), and the template as synthesized, every
    acknowledgement in it, is the StackSet's template for everything that reads the
    assembly (the acknowledgements page among them)."""
    from baseline.assembly import TEMPLATE_FILE_METADATA, templates_with_stack_sets

    stack_set = _stack_set(synthesized.templates["MemberBaseline"])
    body = stack_set["Properties"]["TemplateBody"]
    assert '"cdk_nag"' not in body
    assert '"guard"' in body and '"checkov"' in body
    file_name = stack_set["Metadata"][TEMPLATE_FILE_METADATA]
    as_synthesized = json.loads((synthesized.outdir / file_name).read_text(encoding="utf-8"))
    acknowledged = [
        r["Metadata"]["cdk_nag"]
        for r in as_synthesized["Resources"].values()
        if "cdk_nag" in r.get("Metadata", {})
    ]
    assert len(acknowledged) >= 10
    assert dict(templates_with_stack_sets(synthesized.outdir))["MemberBaseline/StackSet"] == (
        as_synthesized
    )


def test_the_member_template_leaves_room_for_the_longest_prefix(
    synthesized: Synthesized,
) -> None:
    """The example's prefix is 3 characters; a config may use 12, in every name the
    template derives from it."""
    body = _stack_set(synthesized.templates["MemberBaseline"])["Properties"]["TemplateBody"]
    prefix = synthesized.landing_zone.config.organization.prefix
    longest = len(body.encode()) + body.count(prefix) * (12 - len(prefix))
    assert longest <= TEMPLATE_BODY_LIMIT - 4_000, longest  # and room to grow


def test_config_records_everything_and_global_types_once(synthesized: Synthesized) -> None:
    member = _member(synthesized)
    (recorder,) = _resources(member, "AWS::Config::ConfigurationRecorder")
    group = recorder["Properties"]["RecordingGroup"]
    assert group["AllSupported"] is True
    assert group["IncludeGlobalResourceTypes"] == {"Fn::If": ["IsHomeRegion", True, False]}
    assert member["Conditions"]["IsHomeRegion"] == {
        "Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]
    }
    (channel,) = _resources(member, "AWS::Config::DeliveryChannel")
    assert channel["Properties"]["S3BucketName"] == naming.config_bucket(
        "nwl", "312345678901", "eu-west-1"
    )


def test_account_settings_are_applied_in_every_region(synthesized: Synthesized) -> None:
    member = _member(synthesized)
    (settings,) = _resources(member, "Custom::AccountSettings")
    props = settings["Properties"]
    assert props["HomeRegion"] == {"Fn::If": ["IsHomeRegion", "true", "false"]}
    assert props["DefaultVpcs"] == "close_default_security_groups"
    assert "EbsKmsKeyId" not in props  # the AWS managed key by default


def test_roles_are_global_and_trust_only_who_they_should(synthesized: Synthesized) -> None:
    member = _member(synthesized)
    roles = {
        r["Properties"]["RoleName"]: r
        for r in _resources(member, "AWS::IAM::Role")
        if "Condition" in r
    }
    assert set(roles) == {
        "nwl-audit-readonly",
        "nwl-incident-responder",
        "nwl-support",
        "nwl-break-glass",
        "nwl-backup",
        "nwl-quarantine",
        "nwl-remediation",
        "nwl-default-instance-management",
    }
    # a contained instance's role: EC2 only, and it may do nothing
    quarantine = roles["nwl-quarantine"]["Properties"]
    assert quarantine["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert json.dumps(quarantine["ManagedPolicyArns"]).count("policy/") == 1
    assert "AWSDenyAll" in json.dumps(quarantine["ManagedPolicyArns"])
    for role in roles.values():
        assert role["Condition"] == "IsHomeRegion"
        assert role["Properties"]["MaxSessionDuration"] == 3600
    sso = f"arn:aws:iam::{AUDIT}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_"
    named = {
        "nwl-audit-readonly": [f"{sso}SecurityAudit_*"],
        "nwl-support": [f"{sso}SecurityAudit_*"],
        # and the audit account's containment functions, as some OU isolates
        "nwl-incident-responder": [
            f"{sso}IncidentResponse_*",
            f"arn:aws:iam::{AUDIT}:role/nwl-containment-*",
        ],
    }
    for name, principals in named.items():
        (statement,) = roles[name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {
            "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{AUDIT}:root"]]}
        }
        # the audit account, but only the named roles of it: never the account as a whole
        assert statement["Condition"] == {"ArnLike": {"aws:PrincipalArn": principals}}, name
    (glass,) = roles["nwl-break-glass"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # the management account, narrowed by condition: naming users that do not exist yet
    # would make IAM reject the trust policy
    assert glass["Principal"] == {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{MANAGEMENT}:root"]]}
    }
    assert glass["Condition"] == {
        "ArnEquals": {
            "aws:PrincipalArn": [
                f"arn:aws:iam::{MANAGEMENT}:user/break-glass-1",
                f"arn:aws:iam::{MANAGEMENT}:user/break-glass-2",
            ]
        },
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
    }


def test_delegated_administrator_runs_the_stack_set_from_the_audit_account(
    variant: LandingZone,
) -> None:
    landing_zone = variant  # deploy_from: delegated_admin
    assert landing_zone.member_baseline is not None
    assert landing_zone.member_baseline.account == AUDIT
    template = assertions.Template.from_stack(landing_zone.member_baseline)
    template.has_resource_properties("AWS::CloudFormation::StackSet", {"CallAs": "DELEGATED_ADMIN"})
    settings = assertions.Template.from_stack(landing_zone.organization)
    settings.has_resource_properties(
        "Custom::OrganizationSettings",
        {
            "DelegatedAdministrators": assertions.Match.array_with(
                [
                    {
                        "AccountId": AUDIT,
                        "ServicePrincipal": "member.org.stacksets.cloudformation.amazonaws.com",
                    }
                ]
            )
        },
    )


def test_without_break_glass_principals_there_is_no_break_glass_role(
    example_data: dict[str, Any],
) -> None:
    from baseline.stacks.member_baseline import MemberBaselineSettings, member_template

    data = copy.deepcopy(example_data)
    data["member_baseline"]["break_glass_principals"] = []
    data["member_baseline"]["ebs_encryption_key"] = "customer_managed"
    member = member_template(
        MemberBaselineSettings.from_config(parse_config(data)), cdk_json_context()
    )
    names = [r["Properties"].get("RoleName") for r in _resources(member, "AWS::IAM::Role")]
    assert "nwl-break-glass" not in names
    (settings,) = _resources(member, "Custom::AccountSettings")
    assert "EbsKmsKeyId" in settings["Properties"]  # customer-managed EBS key


def test_the_management_account_gets_the_same_baseline_as_plain_stacks(
    synthesized: Synthesized,
) -> None:
    stacks = synthesized.landing_zone.management_baseline
    assert [s.region for s in stacks] == synthesized.config.governed_regions
    member = _member(synthesized)
    for stack in stacks:
        assert stack.account == MANAGEMENT
        assert synthesized.landing_zone.log_archive in stack.dependencies
        template = synthesized.templates[stack.artifact_id]
        kinds = sorted(r["Type"] for r in template["Resources"].values())
        member_kinds = sorted(r["Type"] for r in member["Resources"].values())
        # the same template less the incident-responder role and its policy, and the
        # deny-all role and instance profile it gives contained instances
        # (and the remediation role and its policy: the audit account acts through none
        # of them in the management account)
        for kind in (
            "AWS::IAM::Role",
            "AWS::IAM::ManagedPolicy",
            "AWS::IAM::Role",
            "AWS::IAM::InstanceProfile",
            "AWS::IAM::Role",
            "AWS::IAM::ManagedPolicy",
        ):
            member_kinds.remove(kind)
        # and plus the restart of a stopped trail or recorder, which no SCP forbids there:
        # a runbook and a rule for each, the runbooks' role and EventBridge's, and their
        # policies
        restart = [
            *["AWS::SSM::Document", "AWS::Events::Rule"] * 2,
            *["AWS::IAM::Role", "AWS::IAM::ManagedPolicy"] * 2,
        ]
        assert kinds == sorted(member_kinds + restart)
        names = [
            r["Properties"].get("RoleName")
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Role"
        ]
        assert "nwl-incident-responder" not in names


def test_incident_responder_contains_without_a_way_to_escalate(synthesized: Synthesized) -> None:
    member = _member(synthesized)
    (policy,) = [
        r
        for r in _resources(member, "AWS::IAM::ManagedPolicy")
        if r["Properties"].get("Description")
        == "Contain and collect evidence during an incident; never destroy"
    ]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    actions = {
        a
        for s in statements.values()
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    # no way to run code or re-enable anything: no user data, no starting or stopping, no
    # re-activated access keys, no managed policy but deny-all, no profile but the deny-all
    # one, no reading of workload data; the one inline policy it may write (the revocation
    # of older sessions) is alarmed on in any other form (the Trail stack)
    assert actions == {
        "autoscaling:DetachInstances",  # out of its group, which launches a replacement
        "ec2:AuthorizeSecurityGroupEgress",  # quarantine groups only (below)
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateSecurityGroup",
        "ec2:CreateSnapshot",
        "ec2:CreateTags",
        "ec2:DescribeIamInstanceProfileAssociations",
        "ec2:DescribeSecurityGroupRules",
        "ec2:GetConsoleOutput",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:ModifySnapshotAttribute",  # evidence to the forensics account only (below)
        "ec2:ReplaceIamInstanceProfileAssociation",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "iam:AttachRolePolicy",
        "iam:AttachUserPolicy",
        "iam:GetRolePolicy",
        "iam:PassRole",
        "iam:PutRolePolicy",
        "lambda:PutFunctionConcurrency",
    }
    quarantine = {"StringEquals": {"aws:ResourceTag/lz:quarantine": "true"}}
    # a network interface may only be given quarantine groups
    assert statements["IsolateIntoQuarantineGroupsOnly"]["Resource"] == (
        "arn:aws:ec2:*:*:security-group/*"
    )
    assert statements["IsolateIntoQuarantineGroupsOnly"]["Condition"] == quarantine
    assert "security-group" not in str(statements["IsolateInterfaces"]["Resource"])
    assert statements["OpenAndCloseQuarantineGroups"]["Condition"] == quarantine
    assert statements["OpenAndCloseQuarantineGroups"]["Resource"] == (
        "arn:aws:ec2:*:*:security-group/*"
    )
    # the deny-all instance profile and role, and no other
    account = {"Ref": "AWS::AccountId"}
    assert statements["GiveInstancesTheDenyAllProfile"]["Condition"] == {
        "ArnEquals": {
            "ec2:NewInstanceProfile": {
                "Fn::Join": ["", ["arn:aws:iam::", account, ":instance-profile/nwl-quarantine"]]
            }
        }
    }
    assert statements["PassOnlyTheDenyAllRole"]["Resource"] == {
        "Fn::Join": ["", ["arn:aws:iam::", account, ":role/nwl-quarantine"]]
    }
    assert statements["PassOnlyTheDenyAllRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}
    }
    assert statements["CreateQuarantineGroups"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/lz:quarantine": "true"}
    }
    # the quarantine tag only as a group is created: tagging an existing group would let
    # the responder isolate into (and close) any group of the account
    assert statements["TagForTheCase"]["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": ["lz:incident-case"]}
    }
    assert statements["TagQuarantineGroupsAsCreated"]["Resource"] == (
        "arn:aws:ec2:*:*:security-group/*"
    )
    assert statements["TagQuarantineGroupsAsCreated"]["Condition"] == {
        "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["lz:incident-case", "lz:quarantine"]},
    }
    assert statements["QuarantineRolesAndUsers"]["Condition"] == {
        "ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/AWSDenyAll"}
    }


SNAPSHOT = "arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0"
EVIDENCE = {"aws:ResourceTag/lz:evidence": "case-1"}
RESPONDER = "arn:aws:iam::756789012345:role/nwl-incident-responder"


@pytest.mark.parametrize(
    ("case", "request_", "expected"),
    [
        (
            "marks a snapshot as evidence of the case",
            Request(
                "ec2:CreateTags",
                SNAPSHOT,
                RESPONDER,
                context={"aws:TagKeys": ["lz:evidence", "lz:incident-case"]},
            ),
            "Allow",
        ),
        (
            "no other tag on a snapshot",
            Request("ec2:CreateTags", SNAPSHOT, RESPONDER, context={"aws:TagKeys": ["owner"]}),
            "Deny",
        ),
        (
            "shares evidence with the forensics account",
            Request(
                "ec2:ModifySnapshotAttribute",
                SNAPSHOT,
                RESPONDER,
                context={**EVIDENCE, "ec2:Add/userId": ["290123456789"]},
            ),
            "Allow",
        ),
        (
            "not with another account",
            Request(
                "ec2:ModifySnapshotAttribute",
                SNAPSHOT,
                RESPONDER,
                context={**EVIDENCE, "ec2:Add/userId": ["111122223333"]},
            ),
            "Deny",
        ),
        (
            "not publicly",
            Request(
                "ec2:ModifySnapshotAttribute",
                SNAPSHOT,
                RESPONDER,
                context={**EVIDENCE, "ec2:Add/group": ["all"]},
            ),
            "Deny",
        ),
        (
            "not a snapshot that is no evidence",
            Request(
                "ec2:ModifySnapshotAttribute",
                SNAPSHOT,
                RESPONDER,
                context={"ec2:Add/userId": ["290123456789"]},
            ),
            "Deny",
        ),
    ],
)
def test_incident_responder_shares_evidence_only_with_forensics(
    case: str, request_: Request, expected: str, synthesized: Synthesized
) -> None:
    member = _member(synthesized)
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in _resources(member, "AWS::IAM::ManagedPolicy")
        if r["Properties"].get("Description")
        == "Contain and collect evidence during an incident; never destroy"
    ]
    assert decide([[policy]], request_) == expected, case


def test_the_backup_policy_finds_its_vault_and_role(synthesized: Synthesized) -> None:
    from baseline.guardrails.org_policies import backup_policy

    member = _member(synthesized)
    (vault,) = _resources(member, "AWS::Backup::BackupVault")
    plan = next(iter(backup_policy(synthesized.config)["plans"].values()))
    assert (
        vault["Properties"]["BackupVaultName"]
        == plan["rules"]["daily"]["target_backup_vault_name"]["@@assign"]
    )
    assert vault["DeletionPolicy"] in RETAINED
    (role,) = [
        r
        for r in _resources(member, "AWS::IAM::Role")
        if r["Properties"].get("RoleName") == "nwl-backup"
    ]
    assert plan["selections"]["tags"]["daily"]["iam_role_arn"]["@@assign"].endswith(
        ":role/nwl-backup"
    )
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    # the tag selects buckets too, and S3's backups and restores have policies of their own
    policies = json.dumps(role["Properties"]["ManagedPolicyArns"])
    for name in (
        "service-role/AWSBackupServiceRolePolicyForBackup",
        "service-role/AWSBackupServiceRolePolicyForRestores",
        "AWSBackupServiceRolePolicyForS3Backup",
        "AWSBackupServiceRolePolicyForS3Restore",
    ):
        assert f":iam::aws:policy/{name}" in policies, name


def test_the_member_template_synth_leaves_no_directory_behind(
    example_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import tempfile

    from baseline.stacks.member_baseline import MemberBaselineSettings, _member_template_json

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system temp folder, here
    # the synth itself, past the process's memo of it (which an earlier test may have filled)
    member = json.loads(
        _member_template_json.__wrapped__(
            MemberBaselineSettings.from_config(example_config),
            json.dumps(cdk_json_context(), sort_keys=True, default=str),
        )
    )
    assert "Custom::AccountSettings" in {r["Type"] for r in member["Resources"].values()}
    assert list(tmp_path.iterdir()) == []


def _refused_member_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every member template synthesized from here on holds a bucket the packs refuse,
    past the process's memo of the template (which keeps only templates that passed)."""
    from aws_cdk import aws_s3 as s3

    from baseline.stacks import member_baseline

    built = member_baseline.MemberBaselineStack.__init__

    def with_an_open_bucket(self: Any, *args: Any, **kwargs: Any) -> None:
        built(self, *args, **kwargs)
        s3.CfnBucket(self, "Open")

    monkeypatch.setattr(member_baseline.MemberBaselineStack, "__init__", with_an_open_bucket)
    monkeypatch.setattr(
        member_baseline, "_member_template_json", member_baseline._member_template_json.__wrapped__
    )


def test_a_refused_member_template_keeps_the_report_its_error_names(
    example_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baseline.compliance import ComplianceError, violations_in_report
    from baseline.stacks.member_baseline import StackSetSettings

    _refused_member_template(monkeypatch)
    app = cdk.App(outdir=str(tmp_path))
    with pytest.raises(ComplianceError) as refused:
        MemberBaselineStackSetStack(
            app, "MemberBaseline", settings=StackSetSettings.from_config(example_config)
        )
    kept = tmp_path / "member-baseline"
    assert str(refused.value).endswith(f"see {kept}/validation-report.json")
    assert "the member-baseline template: compliance violations (" in str(refused.value)
    # the report is there, beside the landing zone's own, and names the refused resource
    assert "AwsSolutions: AwsSolutions-S1 on MemberBaselineTemplate/Open" in (
        violations_in_report(str(kept))
    )
    # mended, the next synth into the same directory leaves no stale report behind
    monkeypatch.undo()
    MemberBaselineStackSetStack(
        cdk.App(outdir=str(tmp_path)),
        "MemberBaseline",
        settings=StackSetSettings.from_config(example_config),
    )
    assert not kept.exists()


def test_fails_a_member_template_over_what_a_stack_set_takes_inline(
    example_config: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from baseline import app as app_module
    from baseline.stacks import member_baseline
    from baseline.stacks.member_baseline import MemberTemplateTooLargeError, StackSetSettings

    monkeypatch.setattr(member_baseline, "TEMPLATE_BODY_LIMIT", 30_000)
    with pytest.raises(MemberTemplateTooLargeError, match="a StackSet takes at most 30000") as e:
        MemberBaselineStackSetStack(
            cdk.App(outdir=str(tmp_path)),
            "MemberBaseline",
            settings=StackSetSettings.from_config(example_config),
        )
    assert str(tmp_path / "MemberBaseline.member-template.json") in str(e.value)
    # the app says so in one line and exits 1, no traceback

    def too_large(config: Any) -> Any:
        raise e.value

    monkeypatch.setattr(app_module, "build_app", too_large)
    with pytest.raises(SystemExit) as exited:
        app_module.build_or_exit(example_config)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("synth failed: the member-baseline template is ") and (
        len(err.splitlines()) == 1
    ), err


def test_a_refused_member_template_outside_a_landing_zone_keeps_its_report_too(
    example_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from baseline.compliance import ComplianceError, violations_in_report
    from baseline.stacks.member_baseline import MemberBaselineSettings, member_template

    _refused_member_template(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system temp folder, here
    with pytest.raises(ComplianceError) as refused:
        member_template(MemberBaselineSettings.from_config(example_config), cdk_json_context())
    (kept,) = tmp_path.iterdir()  # the synth's own directory is gone, the report stays
    assert kept.name.startswith("member-baseline-report-")
    assert str(refused.value).endswith(f"see {kept}/validation-report.json")
    assert any(
        v.endswith(" on MemberBaselineTemplate/Open") for v in violations_in_report(str(kept))
    )


def test_the_member_template_is_synthesized_once_and_each_caller_gets_a_copy(
    example_config: Any,
) -> None:
    from baseline.stacks.member_baseline import MemberBaselineSettings, member_template

    settings = MemberBaselineSettings.from_config(example_config)
    first = member_template(settings, cdk_json_context())
    first["Resources"].clear()  # a caller that changes its copy changes nobody else's
    second = member_template(settings, cdk_json_context())
    assert second["Resources"] and second is not first


@pytest.fixture(scope="module")
def ebs_keyed(example_config: Any) -> dict[str, cdk.Stack]:
    """The member baseline with aws/ebs (the example's), with the customer-managed EBS key,
    and with that key in an organisation without a forensics account."""
    import dataclasses

    from baseline.stacks.member_baseline import MemberBaselineSettings, MemberBaselineStack

    settings = MemberBaselineSettings.from_config(example_config)
    assert settings.forensics_account_id
    keyed = dataclasses.replace(settings, customer_managed_ebs_key=True)
    app = cdk.App()
    return {
        "Plain": MemberBaselineStack(app, "Plain", settings=settings),
        "Keyed": MemberBaselineStack(app, "Keyed", settings=keyed),
        "Alone": MemberBaselineStack(
            app, "Alone", settings=dataclasses.replace(keyed, forensics_account_id=None)
        ),
    }


def test_the_experimental_customer_managed_ebs_key_says_so_at_synth(
    ebs_keyed: dict[str, cdk.Stack],
) -> None:
    warning = assertions.Match.string_like_regexp(
        "ebs_encryption_key: customer_managed is experimental"
    )
    assertions.Annotations.from_stack(ebs_keyed["Keyed"]).has_warning("/Keyed", warning)
    assert assertions.Annotations.from_stack(ebs_keyed["Plain"]).find_warning("*", warning) == []


def test_evidence_shared_from_the_ebs_key_can_be_used_in_the_forensics_account(
    ebs_keyed: dict[str, cdk.Stack], example_config: Any
) -> None:
    """A snapshot under the customer-managed key goes to the forensics account only with
    the key: that account may use it through EC2 (to copy the snapshot, or make a volume
    of it), nothing else, and no other account may."""
    from baseline.config import AccountRole
    from baseline.stacks.member_baseline import FORENSICS_EBS_SID

    forensics = next(a.id for a in example_config.accounts if a.role == AccountRole.FORENSICS)

    def key_statements(name: str) -> list[dict[str, Any]]:
        template = assertions.Template.from_stack(ebs_keyed[name]).to_json()
        (statements,) = [
            k["Properties"]["KeyPolicy"]["Statement"]
            for k in _resources(template, "AWS::KMS::Key")
            if any(
                s.get("Sid") == "AllowEbsThroughEc2"
                for s in k["Properties"]["KeyPolicy"]["Statement"]
            )
        ]
        return list(statements)

    (statement,) = [s for s in key_statements("Keyed") if s.get("Sid") == FORENSICS_EBS_SID]
    assert json.dumps(statement["Principal"]).count(forensics) == 1
    assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == forensics
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Join": ["", ["ec2.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
    }
    assert not any(a.startswith("kms:Encrypt") or a == "kms:*" for a in statement["Action"])
    # the key's grants stay for AWS resources only, for the forensics account too
    assert any(s.get("Sid") == "DenyGrantsNotForAwsResources" for s in key_statements("Keyed"))
    assert not [s for s in key_statements("Alone") if s.get("Sid") == FORENSICS_EBS_SID]


def test_every_managed_instance_is_scanned_for_missing_patches_daily(
    synthesized: Synthesized,
) -> None:
    member = _member(synthesized)
    (association,) = _resources(member, "AWS::SSM::Association")
    props = association["Properties"]
    assert props["Name"] == "AWS-RunPatchBaseline"
    assert props["Parameters"] == {"Operation": ["Scan"]}  # never installs: the workload's call
    assert props["Targets"] == [{"Key": "InstanceIds", "Values": ["*"]}]
    assert props["ScheduleExpression"] == "rate(1 day)"


def test_the_remediation_role_closes_admin_ports_and_runs_one_aws_runbook(
    synthesized: Synthesized,
) -> None:
    from baseline.guardrails.evaluator import Request, decide
    from tests.test_contain import _resolved

    member = _member(synthesized)
    (role,) = [
        r
        for r in _resources(member, "AWS::IAM::Role")
        if r["Properties"].get("RoleName") == "nwl-remediation"
    ]
    assert role["Condition"] == "IsHomeRegion"
    trust = _resolved(role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    # Systems Manager, for this account only, and the audit account's remediator alone
    assert {json.dumps(s["Principal"], sort_keys=True) for s in trust} == {
        json.dumps({"Service": "ssm.amazonaws.com"}),
        json.dumps({"AWS": f"arn:aws:iam::{AUDIT}:root"}),
    }
    for statement in trust:
        if "AWS" in statement["Principal"]:
            assert statement["Condition"] == {
                "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{AUDIT}:role/nwl-remediator"}
            }
        else:
            assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]
    (policy,) = [
        r
        for r in _resources(member, "AWS::IAM::ManagedPolicy")
        if r["Properties"].get("Description", "").startswith("Start the remediation runbooks")
    ]
    document = _resolved(policy["Properties"]["PolicyDocument"])
    acct = "756789012345"  # what the pseudo parameters resolve to
    me = f"arn:aws:iam::{acct}:role/nwl-remediation"
    s3_runbook = "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock"
    allowed = [
        (
            "ssm:StartAutomationExecution",
            f"arn:aws:ssm:eu-central-1::automation-definition/{s3_runbook}:$DEFAULT",
            {},
        ),
        (
            "ssm:GetAutomationExecution",
            f"arn:aws:ssm:eu-central-1:{acct}:automation-execution/4f1c2d3e",
            {},
        ),
        ("iam:PassRole", me, {"iam:PassedToService": "ssm.amazonaws.com"}),
        ("ec2:DescribeSecurityGroupRules", "*", {}),
        (
            "ec2:RevokeSecurityGroupIngress",
            f"arn:aws:ec2:eu-central-1:{acct}:security-group/sg-1",
            {},
        ),
        ("s3:PutBucketPublicAccessBlock", "arn:aws:s3:::orders-exports", {}),
    ]
    for action, resource, context in allowed:
        assert decide([[document]], Request(action, resource, me, context=context)) == "Allow", (
            action
        )
    denied = [
        (
            "ssm:StartAutomationExecution",
            "arn:aws:ssm:eu-central-1::automation-definition/AWS-RunShellScript:$DEFAULT",
            {},
        ),
        (
            "ssm:StartAutomationExecution",
            "arn:aws:ssm:eu-central-1::automation-definition/AWS-CloseSecurityGroup:$DEFAULT",
            {},
        ),
        ("ssm:SendCommand", "*", {}),
        (
            "iam:PassRole",
            f"arn:aws:iam::{acct}:role/admin",
            {"iam:PassedToService": "ssm.amazonaws.com"},
        ),
        (
            "ec2:AuthorizeSecurityGroupIngress",
            f"arn:aws:ec2:eu-central-1:{acct}:security-group/sg-1",
            {},
        ),
        (
            "ec2:RevokeSecurityGroupIngress",
            "arn:aws:ec2:eu-central-1:111122223333:security-group/sg-1",
            {},
        ),
        ("s3:PutBucketPolicy", "arn:aws:s3:::orders-exports", {}),
    ]
    for action, resource, context in denied:
        assert decide([[document]], Request(action, resource, me, context=context)) == "Deny", (
            action
        )


def test_the_management_account_starts_a_stopped_trail_or_recorder_again(
    synthesized: Synthesized,
) -> None:
    from tests.detection.matcher import matches

    template = synthesized.templates[f"ManagementBaseline-{HOME}"]
    rules = {
        r["Properties"]["Description"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and "again" in r["Properties"].get("Description", "")
    }
    assert set(rules) == {
        "StopLogging in this account: StartLogging again",
        "StopConfigurationRecorder in this account: StartConfigurationRecorder again",
    }
    stopped = {
        "source": "aws.cloudtrail",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "requestParameters": {"name": "nwl-organization-trail"},
        },
    }
    trail = rules["StopLogging in this account: StartLogging again"]
    assert matches(trail["EventPattern"], stopped)
    assert not matches(
        trail["EventPattern"],
        {**stopped, "detail": {**stopped["detail"], "eventName": "StartLogging"}},
    )
    # a stop that was refused (denied, or outside the trail's home region) stopped nothing
    refused = {**stopped["detail"], "errorCode": "AccessDenied"}
    assert not matches(trail["EventPattern"], {**stopped, "detail": refused})
    (target,) = trail["Targets"]
    assert target["InputTransformer"]["InputPathsMap"] == {
        "stopped": "$.detail.requestParameters.name"
    }
    documents = {
        r["Properties"]["Name"]: r["Properties"]["Content"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SSM::Document"
    }
    step = documents["nwl-StartTrailLogging"]["mainSteps"][0]
    assert step["inputs"] == {
        "Service": "cloudtrail",
        "Api": "StartLogging",
        "Name": "{{ TrailName }}",
    }
    # and none of it in the member accounts, where SCP-SECURITY-SERVICES denies the stop
    member = _member(synthesized)
    assert not [
        r
        for r in member["Resources"].values()
        if r["Type"] == "AWS::SSM::Document" and "Start" in str(r["Properties"].get("Name"))
    ]


def test_session_manager_sessions_are_encrypted_logged_and_time_out(
    synthesized: Synthesized,
) -> None:
    from tests.test_contain import _resolved

    member = _member(synthesized)
    (settings,) = _resources(member, "Custom::AccountSettings")
    properties = settings["Properties"]
    assert properties["InstanceRole"] == "nwl-default-instance-management"
    # the preferences document, as the handler writes it (its tokens resolved)
    preferences = _resolved(properties["SessionPrefs"])
    if isinstance(preferences, dict):  # Fn::Join of the JSON text
        preferences = "".join(str(p) for p in preferences["Fn::Join"][1])
    inputs = json.loads(preferences)["inputs"]
    assert inputs["cloudWatchLogGroupName"] == "/nwl/session-manager"
    assert inputs["cloudWatchEncryptionEnabled"] is True
    assert inputs["cloudWatchStreamingEnabled"] is True
    assert inputs["idleSessionTimeout"] == "20" and inputs["maxSessionDuration"] == "60"
    assert inputs["runAsEnabled"] is False
    # and to the log archive, below the account's own id, encrypted
    assert inputs["s3BucketName"] == "nwl-logs-312345678901-eu-west-1"
    assert inputs["s3KeyPrefix"] == "session-manager/756789012345"
    assert inputs["s3EncryptionEnabled"] is True
    keys = {json.dumps(r["Properties"]["AliasName"]) for r in _resources(member, "AWS::KMS::Alias")}
    assert json.dumps("alias/nwl/session-manager") in keys
    assert inputs["kmsKeyId"].startswith("{") or inputs["kmsKeyId"].startswith("arn:")
    (group,) = [
        r
        for r in _resources(member, "AWS::Logs::LogGroup")
        if r["Properties"].get("LogGroupName") == "/nwl/session-manager"
    ]
    assert "KmsKeyId" in group["Properties"] and group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
    # default host management: one role per account, for Systems Manager only
    (role,) = [
        r
        for r in _resources(member, "AWS::IAM::Role")
        if r["Properties"].get("RoleName") == "nwl-default-instance-management"
    ]
    assert role["Condition"] == "IsHomeRegion"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert "AmazonSSMManagedEC2InstanceDefaultPolicy" in json.dumps(
        role["Properties"]["ManagedPolicyArns"]
    )


def test_the_member_template_is_the_same_under_the_cdk_cli() -> None:
    """The CLI adds a version report and construct paths to every synth it runs; inside
    the StackSet they would only eat the 51,200 bytes CloudFormation takes inline."""
    from baseline.config import load_config
    from baseline.stacks.member_baseline import (
        TEMPLATE_BODY_LIMIT,
        MemberBaselineSettings,
        member_template,
    )

    settings = MemberBaselineSettings.from_config(load_config(Path("config/landing-zone.yaml")))
    context = {
        **cdk_json_context(),
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:version-reporting": True,
    }
    template = member_template(settings, context)
    body = json.dumps(template, separators=(",", ":"), sort_keys=True)
    assert "CDKMetadata" not in body and "aws:cdk:path" not in body
    assert len(body.encode()) <= TEMPLATE_BODY_LIMIT


def test_the_policies_behind_the_baseline_roles_are_the_baselines_own(
    synthesized: Synthesized,
) -> None:
    # SCP-BASELINE-PROTECT and the workload boundary keep policy/<prefix>/* as the baseline
    # made it; a policy elsewhere could be given a new version by a workload administrator,
    # which would change what a protected role (the default host management role, the
    # responder) may do without touching the role
    templates = [_member(synthesized)] + [
        synthesized.templates[s.artifact_id] for s in synthesized.landing_zone.management_baseline
    ]
    paths = {
        name: r["Properties"].get("Path")
        for template in templates
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and not name.startswith("WorkloadBoundary")
    }
    assert len(paths) >= 5
    assert {name: path for name, path in paths.items() if path != "/nwl/"} == {}


def test_every_custom_resource_carries_its_own_functions_digest(synthesized: Synthesized) -> None:
    """CloudFormation sends a custom resource an Update only when a property changes: the
    digest makes a changed handler run again where it is deployed already. Each resource
    carries the digest of the code its own function runs (the asset the synth wrote, or
    the inline source), found through its ServiceToken wherever that function lives."""
    import hashlib

    from baseline.constructs.baseline_function import HANDLER_DIGEST

    templates = {**synthesized.templates, "member template": _member(synthesized)}
    stacks = synthesized.landing_zone.stacks

    def function_of(token: Any, template: dict[str, Any]) -> dict[str, Any]:
        if isinstance(token, dict) and "Fn::GetAtt" in token:
            function: dict[str, Any] = template["Resources"][token["Fn::GetAtt"][0]]
            return function
        if isinstance(token, dict) and "Fn::GetStackOutput" in token:
            output = token["Fn::GetStackOutput"]
            (holder,) = [  # the stack of that name (one per account) that gives the output
                templates[s.artifact_id]
                for s in stacks
                if s.stack_name == output["StackName"]
                and output["OutputName"] in templates[s.artifact_id].get("Outputs", {})
            ]
            return function_of(holder["Outputs"][output["OutputName"]]["Value"], holder)
        name = str(token).rsplit(":function:", 1)[1]
        (named,) = [
            r
            for t in templates.values()
            for r in t.get("Resources", {}).values()
            if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == name
        ]
        return named

    def digest_of(function: dict[str, Any]) -> str:
        code = function["Properties"]["Code"]
        if "ZipFile" in code:
            return hashlib.sha256(code["ZipFile"].encode()).hexdigest()
        asset = synthesized.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"
        digest = hashlib.sha256()
        for path in sorted(asset.glob("*.py")):
            digest.update(f"{path.name}\0".encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    checked = set()
    for name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            # the CDK's own (a VPC's default group closed) changes with aws-cdk-lib's version
            if not resource["Type"].startswith("Custom::") or (
                resource["Type"] == "Custom::VpcRestrictDefaultSG"
            ):
                continue
            properties = resource["Properties"]
            function = function_of(properties["ServiceToken"], template)
            assert properties.get(HANDLER_DIGEST) == digest_of(function), (name, logical_id)
            # and CloudFormation waits for one invocation, not its default hour: a function
            # that timed out (it is not retried) fails the stack soon; the security services
            # go on in fresh invocations, so the hour stays for them
            if resource["Type"] == "Custom::SecurityServices":
                assert "ServiceTimeout" not in properties
            else:
                waits = int(properties["ServiceTimeout"])
                runs = int(function["Properties"]["Timeout"])
                assert runs + 60 <= waits <= min(runs + 300, 3600), (name, logical_id)
            checked.add(resource["Type"])
    assert checked >= {
        "Custom::AccountSettings",
        "Custom::OrganizationAccounts",
        "Custom::OrganizationSettings",
        "Custom::SecurityServices",
        "Custom::TransitGatewayDefaults",
        "Custom::ManagedDomainLists",
        "Custom::AssignmentLookups",
    }, checked


def test_default_host_management_waits_for_its_role_where_it_is_made(
    synthesized: Synthesized,
) -> None:
    # the setting names the role; a reference to it orders the two in the home region
    member = _member(synthesized)
    (settings,) = _resources(member, "Custom::AccountSettings")
    (role_id,) = [
        logical_id
        for logical_id, r in member["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
        and r["Properties"].get("RoleName") == "nwl-default-instance-management"
    ]
    assert settings["Properties"]["InstanceRoleArn"] == {
        "Fn::If": ["IsHomeRegion", {"Fn::GetAtt": [role_id, "Arn"]}, {"Ref": "AWS::NoValue"}]
    }
