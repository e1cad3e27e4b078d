"""The compliance harness: every pack on the whole app, acknowledgements only with reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from baseline.app import cdk_json_context
from baseline.assembly import templates_with_stack_sets
from baseline.compliance import (
    GUARD_PLUGIN,
    PACKS,
    ComplianceError,
    ControlTowerRules,
    acknowledge,
    acknowledgements_in,
    attach_packs,
    synth_checked,
)
from tests.conftest import Synthesized, TemplatePaths
from tests.constructs.helpers import ENV, new_stack

GOOD_REASON = "This bucket is the access-log target and S3 cannot log a bucket into itself."


def test_example_passes_every_pack(synthesized: Synthesized) -> None:
    # The session synth raised no ValidationFailed; the report lists no violations either.
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert [p for p in report["pluginReports"] if p.get("violations")] == []
    assert len(PACKS) == 5


def test_acknowledgements_are_written_into_template_metadata(synthesized: Synthesized) -> None:
    records = list(acknowledgements_in(synthesized.outdir))
    assert records
    for record in records:
        assert len(record.reason.split()) >= 8, record


def test_fails_synth_of_a_plainly_insecure_bucket(tmp_path: object) -> None:
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Insecure", env=ENV)
    s3.Bucket(
        stack,
        "Open",
        block_public_access=s3.BlockPublicAccess(
            block_public_acls=False,
            block_public_policy=False,
            ignore_public_acls=False,
            restrict_public_buckets=False,
        ),
    )
    attach_packs(app)
    with pytest.raises(
        ComplianceError,
        match=r"insecure: compliance violations \(AwsSolutions: AwsSolutions-S1 on Insecure/Open/Resource;.*\), see .*validation-report.json",
    ):
        synth_checked(app, "insecure")
    report = json.loads((tmp_path / "validation-report.json").read_text())  # type: ignore[operator]
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {
        "AwsSolutions-S1",
        "AwsSolutions-S10",
        "NIST.800.53.R5-S3BucketPublicReadProhibited",
    } <= rules


def test_acknowledged_finding_no_longer_fails() -> None:
    app, stack = new_stack()
    bucket = s3.Bucket(stack, "B", enforce_ssl=True)
    resource = bucket.node.default_child
    assert resource is not None
    acknowledge(resource, "AwsSolutions-S1", GOOD_REASON)
    report = PACKS[0](app).validate_scope(app)
    assert "AwsSolutions-S1" not in {v.rule_name for v in report.violations}


def test_acknowledges_the_id_exactly_as_the_synth_prints_it() -> None:
    """The synth says "Acknowledge with 'AwsSolutions::AwsSolutions-S1'": that form works."""
    app, stack = new_stack()
    bucket = s3.Bucket(stack, "B", enforce_ssl=True)
    resource = bucket.node.default_child
    assert resource is not None
    acknowledge(resource, "AwsSolutions::AwsSolutions-S1", GOOD_REASON)
    report = PACKS[0](app).validate_scope(app)
    assert "AwsSolutions-S1" not in {v.rule_name for v in report.violations}


@pytest.mark.parametrize(
    ("rule_id", "reason", "message"),
    [
        ("Serverless::AwsSolutions-S1", GOOD_REASON, "or as the synth prints it"),
        ("AwsSolutions-S1", "not needed", "must be a sentence"),
        ("AwsSolutions-S1", "ok ok ok ok ok ok ok ok", "must be a sentence"),
        ("S1", GOOD_REASON, "must name a rule"),
        ("Custom-Rule1", GOOD_REASON, "must name a rule"),
    ],
)
def test_fails_acknowledgement_without_a_real_reason_or_rule(
    rule_id: str, reason: str, message: str
) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        acknowledge(stack, rule_id, reason)


def _unanswered_acknowledgements(
    monkeypatch: pytest.MonkeyPatch, build: Any, synthesized_in: Path | None = None
) -> list[str]:
    """Acknowledgements the app makes for findings no pack raises without them, on the
    resources they are made on (the construct's own and those under it).

    :param synthesized_in: the apps' templates, already synthesized. Default: none, so
        the apps are synthesized here when they acknowledge a Control Tower rule.
    """
    import types

    import baseline.compliance

    made: list[tuple[str, IConstruct]] = []

    class Bound:
        """Stands in for ``cdk.Validations.of(construct)``: records acknowledgements
        instead of making them."""

        def __init__(self, construct: IConstruct) -> None:
            self.construct = construct

        def acknowledge(self, *acknowledgements: cdk.Acknowledgment) -> None:
            made.extend((a.id, self.construct) for a in acknowledgements)

        def add_plugins(self, *plugins: object) -> None:
            """Plugins are irrelevant here: only acknowledgements are recorded."""

    from baseline.stacks.member_baseline import _member_template_json

    # the member templates built here are not checked (the stand-in takes the plugins):
    # none may be remembered for a later build
    _member_template_json.cache_clear()
    with monkeypatch.context() as patch:
        patch.setattr(
            baseline.compliance,
            "cdk",
            types.SimpleNamespace(
                Validations=types.SimpleNamespace(of=Bound),
                Acknowledgment=cdk.Acknowledgment,
                CfnResource=cdk.CfnResource,
            ),
        )
        try:
            apps = build()
            directories = [synthesized_in] if synthesized_in is not None else []
            if synthesized_in is None and any(a.startswith(GUARD_PLUGIN) for a, _ in made):
                # with no plugin (the stand-in takes them)
                directories = [Path(app.synth().directory) for app in apps]
        finally:
            _member_template_json.cache_clear()
    assert made, "the app acknowledges something"
    # cdk-nag's report names no resource: each pack runs on each acknowledged construct
    # (its findings there and under it)
    packs = [pack(apps[0]) for pack in PACKS]  # a pack's rules read the scope it is given
    nag_raised: dict[tuple[int, str], set[str]] = {}  # (app, construct path) -> rules
    for rule, construct in made:
        where = _where(construct)
        if rule.startswith(GUARD_PLUGIN) or where in nag_raised:
            continue
        nag_raised[where] = {
            v.rule_name for pack in packs for v in pack.validate_scope(construct).violations
        }
    guard_raised: dict[str, set[tuple[str, str]]] = {}  # rule -> (template, logical id)
    for directory in directories:
        for rule, resources in guard_findings(directory).items():
            guard_raised.setdefault(f"{GUARD_PLUGIN}::{rule}", set()).update(resources)
    return sorted(
        {
            rule
            for rule, construct in made
            if not (
                guard_raised.get(rule, set()) & _resources(construct)
                if rule.startswith(GUARD_PLUGIN)
                else rule in nag_raised[_where(construct)]
            )
        }
    )


def _where(construct: IConstruct) -> tuple[int, str]:
    """A construct's place: its app (the member template's own app and the test's member
    app hold the same paths) and its path there."""
    return id(construct.node.root), construct.node.path


def _resources(construct: IConstruct) -> set[tuple[str, str]]:
    """(stack, logical id) of the resources at and under a construct."""
    return {
        (cdk.Stack.of(child).artifact_id, cdk.Stack.of(child).resolve(child.logical_id))
        for child in construct.node.find_all()
        if isinstance(child, cdk.CfnResource)
    }


#: The stack of the member template (``member_app``), which the StackSet carries inline.
MEMBER_STACK = "MemberBaselineTemplate"


def guard_findings(directory: Path) -> dict[str, set[tuple[str, str]]]:
    """What the Control Tower rules find in a cloud assembly's templates, the StackSet
    templates inside them included: rule name -> (stack, logical id) of each resource it
    fails, the StackSet's template under its own stack's name. Called directly, the rules
    see every finding: the CDK drops the acknowledged ones only after a plugin has
    reported."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="guard-findings-") as scratch:
        stacks: dict[str, str] = {}  # template path -> its stack
        for name, template in templates_with_stack_sets(directory):
            path = directory / f"{name}.template.json"  # a stack's own file, as synth read it
            if "/" in name or not path.is_file():  # a template carried inside another
                path = Path(scratch) / f"{name.replace('/', '-')}.json"
                path.write_text(json.dumps(template), encoding="utf-8")
            parent, _, carried = name.partition("/")
            stack = name
            if carried:
                holder = json.loads((directory / f"{parent}.template.json").read_text())
                if holder["Resources"][carried]["Type"] == "AWS::CloudFormation::StackSet":
                    stack = MEMBER_STACK
            stacks[str(path)] = stack
        report = ControlTowerRules().validate(TemplatePaths(list(stacks)))
    found: dict[str, set[tuple[str, str]]] = {}
    for violation in report.violations:
        found.setdefault(violation.rule_name, set()).update(
            (stacks[str(r.template_path)], str(r.resource_logical_id))
            for r in violation.violating_resources
        )
    return found


def test_every_acknowledgement_answers_a_real_finding(
    monkeypatch: pytest.MonkeyPatch,
    example_config: Any,
    tmp_path: Path,
    synthesized: Synthesized,
) -> None:
    """An acknowledgement for a finding no pack raises would tell auditors something false."""
    from baseline.app import build_app
    from baseline.cdk_context import cdk_json_context
    from baseline.stacks.member_baseline import MemberBaselineSettings, member_app

    def build() -> list[cdk.App]:
        settings = MemberBaselineSettings.from_config(example_config)
        return [
            build_app(example_config, outdir=str(tmp_path / "landing-zone"))[0],
            member_app(settings, cdk_json_context(), outdir=str(tmp_path / "member"))[0],
        ]

    # the session's synth of the same config: its templates are what the rules read
    assert _unanswered_acknowledgements(monkeypatch, build, synthesized.outdir) == []


def test_fails_on_an_acknowledgement_for_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def build() -> list[cdk.App]:
        app, stack = new_stack()
        bucket = s3.Bucket(stack, "B", enforce_ssl=True, server_access_logs_prefix="logs/")
        acknowledge(bucket.node.default_child, "AwsSolutions-S1", GOOD_REASON)  # type: ignore[arg-type]
        # a Control Tower rule on queues, acknowledged on a bucket: it answers nothing
        acknowledge(bucket, f"{GUARD_PLUGIN}::sqs_dlq_check", GOOD_REASON)
        return [app]

    assert _unanswered_acknowledgements(monkeypatch, build) == [
        "AwsSolutions-S1",
        f"{GUARD_PLUGIN}::sqs_dlq_check",
    ]


def _queue_with_dead_letters(scope: Construct, name: str) -> IConstruct:
    """A queue the Control Tower dead-letter rule passes."""
    from aws_cdk import aws_sqs as sqs

    letters = sqs.Queue(scope, f"{name}Letters", enforce_ssl=True)
    return sqs.Queue(
        scope,
        name,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=3, queue=letters),
    )


def test_fails_on_an_acknowledgement_made_on_another_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each finding is raised, but on a bucket and a queue beside the ones acknowledged:
    the acknowledgements answer nothing they are made on."""
    from aws_cdk import aws_sqs as sqs

    def build() -> list[cdk.App]:
        app, stack = new_stack()
        s3.Bucket(stack, "Unlogged", enforce_ssl=True)  # raises S1 here
        logged = s3.Bucket(stack, "Logged", enforce_ssl=True, server_access_logs_prefix="l/")
        acknowledge(logged.node.default_child, "AwsSolutions-S1", GOOD_REASON)  # type: ignore[arg-type]
        sqs.Queue(stack, "NoDeadLetters", enforce_ssl=True)  # raises the DLQ rule here
        handled = _queue_with_dead_letters(stack, "Handled")
        acknowledge(handled, f"{GUARD_PLUGIN}::sqs_dlq_check", GOOD_REASON)
        return [app]

    assert _unanswered_acknowledgements(monkeypatch, build) == [
        "AwsSolutions-S1",
        f"{GUARD_PLUGIN}::sqs_dlq_check",
    ]


def test_fails_on_an_acknowledgement_answered_only_in_another_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same construct in two stacks has the same logical id in each: the finding in
    one does not answer the acknowledgement in the other."""
    from aws_cdk import aws_sqs as sqs

    def build() -> list[cdk.App]:
        app, stack = new_stack()
        sqs.Queue(stack, "Work", enforce_ssl=True)  # no dead-letter queue: the rule fails
        work = _queue_with_dead_letters(cdk.Stack(app, "Other", env=ENV), "Work")
        acknowledge(work, f"{GUARD_PLUGIN}::sqs_dlq_check", GOOD_REASON)
        return [app]

    assert _unanswered_acknowledgements(monkeypatch, build) == [f"{GUARD_PLUGIN}::sqs_dlq_check"]


def test_a_greenfield_organisation_acknowledges_only_real_findings(
    monkeypatch: pytest.MonkeyPatch, example_data: dict[str, Any], tmp_path: Path
) -> None:
    """Phase 1 of a greenfield start builds fewer resources: no acknowledgement may outlive them."""
    import copy

    from baseline.app import build_app
    from baseline.config import parse_config

    data = copy.deepcopy(example_data)
    data["organization"] = {"name": "Greenfield", "prefix": "gf", "create": True}
    for account in data["accounts"]:
        if account.get("role") != "management":
            account.pop("id", None)
    config = parse_config(data)
    assert (
        _unanswered_acknowledgements(
            monkeypatch, lambda: [build_app(config, outdir=str(tmp_path))[0]]
        )
        == []
    )


def test_a_workload_synth_with_a_violation_exits_with_the_report_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aws_cdk import aws_sqs as sqs

    from baseline.compliance import synth_or_exit

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Workload", env=ENV)
    sqs.Queue(stack, "Plain")  # no TLS rule, no dead-letter queue
    attach_packs(app)
    with pytest.raises(SystemExit) as exited:
        synth_or_exit(app, "the workload app")
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "the workload app: compliance violations (AwsSolutions: AwsSolutions-SQS3 on " in err
    assert f"see {tmp_path}/validation-report.json" in err
    assert "Traceback" not in err


def _stack_of(tmp_path: Path, resources: int, value_bytes: int = 1) -> cdk.App:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Big", env=ENV)
    for index in range(resources):
        cdk.CfnResource(
            stack,
            f"Param{index}",
            type="AWS::SSM::Parameter",
            properties={"Type": "String", "Value": "x" * value_bytes},
        )
    return app


@pytest.mark.parametrize(
    ("resources", "value_bytes", "message"),
    [
        (501, 1, "stack Big holds 501 resources and CloudFormation takes at most 500"),
        (2, 600_000, "CloudFormation takes templates of at most 1,000,000 bytes, and "),
    ],
    ids=["too many resources", "too large a template"],
)
def test_a_stack_cloudformation_would_refuse_fails_the_synth_in_one_line(
    resources: int,
    value_bytes: int,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Found before a deploy, and said in a line: not the CDK's traceback, nor a template
    that passes every check and then fails to upload."""
    from baseline.compliance import synth_or_exit

    with pytest.raises(SystemExit) as exited:
        synth_or_exit(_stack_of(tmp_path, resources, value_bytes), "the app")
    err = capsys.readouterr().err
    assert exited.value.code == 1 and "Traceback" not in err
    assert err.startswith("synth failed: the app: ") and message in err, err
    assert len(err.splitlines()) == 1


def test_a_stack_within_the_limits_synthesizes(tmp_path: Path) -> None:
    assembly = synth_checked(_stack_of(tmp_path, 499, 1_500), "the app")
    assert [s.stack_name for s in assembly.stacks] == ["Big"]


def test_fails_on_a_violation_left_in_a_plugin_that_reports_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Control Tower rules' plugin reports success once any finding on a construct is
    acknowledged, with other violations left: the kit reads the report after every synth."""
    report = {
        "title": "Validation Report",
        "pluginReports": [
            {"pluginName": "AwsSolutions", "conclusion": "success", "violations": []},
            {
                "pluginName": "Construct Annotations",
                "conclusion": "success",
                "violations": [  # a warning is no violation
                    {
                        "ruleName": "Annotation::lz:Example.Warning",
                        "severity": "warning",
                        "violatingConstructs": [{"constructPath": "Workload"}],
                    }
                ],
            },
            {
                "pluginName": "cdk-validator-cfnguard",
                "conclusion": "success",  # the trap: success, with a violation left
                "violations": [
                    {
                        "ruleName": "planted_rule_check",
                        "description": "A violation the plugin forgot to fail on",
                        "severity": "error",
                        "violatingConstructs": [{"constructPath": "Workload/Planted/Resource"}],
                    }
                ],
            },
        ],
    }
    app = cdk.App(outdir=str(tmp_path))
    cdk.Stack(app, "Workload", env=ENV)

    real_synth = app.synth

    def synth_leaving_a_report() -> Any:
        assembly = real_synth()
        (tmp_path / "validation-report.json").write_text(json.dumps(report))
        return assembly

    monkeypatch.setattr(app, "synth", synth_leaving_a_report)
    with pytest.raises(ComplianceError) as caught:
        synth_checked(app, "the app")
    message = str(caught.value)
    assert "cdk-validator-cfnguard: planted_rule_check on Workload/Planted/Resource" in message
    assert f"see {tmp_path}/validation-report.json" in message
    report["pluginReports"][2]["violations"] = []  # a clean report passes
    assert synth_checked(app, "the app") is not None


def test_the_control_tower_rules_fail_a_synth(tmp_path: Path) -> None:
    """A queue without a dead-letter queue breaks CT.SQS.PR.1; the kit's synth says so."""
    from aws_cdk import aws_sqs as sqs

    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Workload", env=ENV)
    queue = sqs.Queue(stack, "Plain", enforce_ssl=True)
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(queue, rule, GOOD_REASON)  # only the Control Tower rule is left
    attach_packs(app)
    with pytest.raises(
        ComplianceError, match=f"{GUARD_PLUGIN}: sqs_dlq_check on Workload/Plain/Resource"
    ):
        synth_checked(app, "the workload")


def test_an_acknowledged_control_tower_finding_passes_and_is_written_where_guard_reads_it(
    tmp_path: Path,
) -> None:
    from aws_cdk import aws_sqs as sqs

    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Workload", env=ENV)
    queue = sqs.Queue(stack, "Plain", enforce_ssl=True)
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(queue, rule, GOOD_REASON)
    acknowledge(queue, f"{GUARD_PLUGIN}::sqs_dlq_check", GOOD_REASON)
    acknowledge(queue, f"{GUARD_PLUGIN}::sqs_queue_encrypted_check", GOOD_REASON)  # merged
    acknowledge(queue, "CKV_AWS_27", GOOD_REASON)
    attach_packs(app)
    synth_checked(app, "the workload")
    template = json.loads((tmp_path / "Workload.template.json").read_text())
    metadata = template["Resources"][stack.get_logical_id(queue.node.default_child)]["Metadata"]  # type: ignore[arg-type]
    assert metadata["guard"] == {
        "SuppressedRules": ["sqs_dlq_check", "sqs_queue_encrypted_check"],
        "Reasons": {"sqs_dlq_check": GOOD_REASON, "sqs_queue_encrypted_check": GOOD_REASON},
    }
    assert metadata["checkov"] == {"skip": [{"id": "CKV_AWS_27", "comment": GOOD_REASON}]}
    records = {(r.suite, r.rule_id) for r in acknowledgements_in(tmp_path)}
    assert {("Control Tower", "sqs_dlq_check"), ("checkov", "CKV_AWS_27")} <= records


@pytest.mark.parametrize(
    ("rule_id", "message"),
    [
        ("cdk-validator-cfnguard::CT.SQS.PR.1", "must name a rule"),  # the CT id, not the rule
        ("CKV_AZURE_1", "must name a rule"),
        ("CKV_AWS_", "must name a rule"),
    ],
)
def test_fails_a_scanner_acknowledgement_of_no_rule(rule_id: str, message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        acknowledge(stack, rule_id, GOOD_REASON)


def test_a_scanner_acknowledgement_goes_on_one_resource() -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match="go on one resource"):
        acknowledge(stack, "CKV_AWS_117", GOOD_REASON)


def test_the_control_tower_rules_left_out_are_only_those_with_nothing_to_check() -> None:
    from baseline.control_tower import rule_types

    rules = rule_types()
    assert len(rules) > 200
    assert "AWS::SQS::Queue" in rules["ct-sqs-pr-1"]
    assert "AWS::KMS::Key" in rules["ct-kms-pr-3"]
