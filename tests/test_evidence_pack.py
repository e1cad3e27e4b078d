"""The evidence pack: every Security Pillar best practice answered by the kit or by a
customer step with its runbook, and ``python -m baseline report`` that proves it from
real templates (and fails when the proof is missing)."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from baseline.__main__ import main
from baseline.controls import CONTROLS
from baseline.controls.practices import PRACTICES
from baseline.guardrails import library
from baseline.report import Coverage, coverage, render, render_json, render_markdown, render_text
from tests.conftest import Synthesized
from tests.controls.helpers import edit_member_template
from tests.controls.test_registry import BP_IDS

ROOT = Path(__file__).resolve().parent.parent


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {
        _slug(line.lstrip("#"))
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def test_every_best_practice_is_listed_once_in_order() -> None:
    ids = [p.id for p in PRACTICES]
    assert len(ids) == len(set(ids)) == len(BP_IDS) == 63
    assert set(ids) == BP_IDS
    assert ids == sorted(ids)
    reference = (ROOT.parent / "shared" / "REFERENCE.md").resolve()
    if reference.exists():  # the design card beside the repository, where it is checked out
        for practice in PRACTICES:
            assert practice.title in reference.read_text(encoding="utf-8"), practice.id


def test_every_best_practice_is_answered_by_the_kit_or_a_customer_runbook(
    example_config: object,
) -> None:
    guardrail_practices = {bp for g in library(example_config) for bp in g.best_practices}  # type: ignore[arg-type]
    control_practices = {bp for c in CONTROLS for bp in c.best_practices}
    unanswered = [
        p.id
        for p in PRACTICES
        if p.id not in control_practices | guardrail_practices
        and not p.repository
        and not p.customer
    ]
    assert unanswered == []
    for practice in PRACTICES:
        assert bool(practice.customer) == bool(practice.runbook), practice.id


def test_every_practice_a_control_names_is_a_real_one() -> None:
    for control in CONTROLS:
        assert set(control.best_practices) <= BP_IDS, control.id


@pytest.mark.parametrize("practice", [p for p in PRACTICES if p.runbook], ids=lambda p: p.id)
def test_every_runbook_link_reaches_a_heading(practice: object) -> None:
    page, _, anchor = practice.runbook.partition("#")  # type: ignore[attr-defined]
    path = ROOT / page
    assert path.exists(), page
    assert anchor in _anchors(path), f"{practice.runbook}: no such heading"  # type: ignore[attr-defined]


def test_every_repository_evidence_exists_with_its_test() -> None:
    for practice in PRACTICES:
        for evidence in practice.repository:
            assert (ROOT / evidence.path).exists(), (practice.id, evidence.path)
            assert (ROOT / evidence.checked_by).exists(), (practice.id, evidence.checked_by)


def test_the_threat_model_covers_the_threats_to_the_landing_zone_itself() -> None:
    text = (ROOT / "docs" / "threat-model.md").read_text(encoding="utf-8").lower()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    for threat in (
        "pipeline",
        "workload administrator",
        "management account",
        "log tampering",
        "guardrail bypass",
        "region outage",
        "break-glass",
    ):
        assert any(threat in h for h in headings), threat
    assert text.count("residual risk") >= 7
    ids = set(re.findall(r"\b(?:LZ|SCP|RCP)-[A-Z0-9-]+[A-Z0-9]\b", text.upper()))
    known = {c.id for c in CONTROLS} | {g.id for g in library(_example())}
    assert ids and ids <= known, sorted(ids - known)


def test_shared_responsibility_names_only_real_controls() -> None:
    text = (ROOT / "docs" / "shared-responsibility.md").read_text(encoding="utf-8")
    for area in ("AWS", "the kit", "customer"):
        assert area.lower() in text.lower()
    ids = set(re.findall(r"\b(?:LZ|SCP|RCP)-[A-Z0-9-]+[A-Z0-9]\b", text))
    known = {c.id for c in CONTROLS} | {g.id for g in library(_example())}
    assert ids and ids <= known, sorted(ids - known)


def _example() -> object:
    from baseline.config import load_config

    return load_config(ROOT / "config" / "landing-zone.yaml")


# --- the report ------------------------------------------------------------------------


def test_the_report_lists_every_practice_and_holds_on_the_example(
    synthesized: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--cdk-out", str(synthesized.outdir)]) == 0
    out = capsys.readouterr().out
    for practice in PRACTICES:
        assert f"{practice.id}  {practice.title}" in out
    assert "63 best practices" in out
    assert "MISSING" not in out
    assert "n/a" not in out  # the example has every part of a landing zone
    assert "4.15    LZ-ALARM-01 (15)" in out


@pytest.fixture(scope="module")
def example_coverage(synthesized: Synthesized) -> Coverage:
    return coverage(synthesized.templates, synthesized.config, "the example")


def test_the_report_as_json(example_coverage: Coverage) -> None:
    document = json.loads(render_json(example_coverage))
    assert document["complete"] is True and document["missing"] == []
    assert [p["id"] for p in document["practices"]] == [p.id for p in PRACTICES]
    packages = next(p for p in document["practices"] if p["id"] == "SEC11-BP05")
    assert packages["controls"][0]["id"] == "LZ-APP-01" and packages["controls"][0]["holds"]
    assert packages["runbook"] == "docs/packages.md#using-the-repository-from-a-workload"
    assert render(example_coverage, "json") == render_json(example_coverage)


def test_the_report_as_markdown(example_coverage: Coverage) -> None:
    out = render(example_coverage, "markdown")
    assert out.startswith("| best practice | title |")
    assert "| SEC11-BP05 | Centralize services for packages and dependencies | LZ-APP-01 (" in out


def test_the_report_fails_when_a_controls_evidence_is_missing(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An assembly synthesized without the packages stack: its manifest and templates agree,
    and the control whose evidence that stack held is missing."""
    assembly = tmp_path / "cdk.out"
    shutil.copytree(synthesized.outdir, assembly)
    (assembly / "Packages.template.json").unlink()
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    del manifest["artifacts"]["Packages"]
    (assembly / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert main(["report", "--cdk-out", str(assembly)]) == 1
    out = capsys.readouterr().out
    assert "LZ-APP-01 (MISSING)" in out
    assert "MISSING LZ-APP-01: no evidence in the templates" in out


def test_the_report_refuses_an_assembly_short_of_stacks_its_manifest_names(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A partial copy of cdk.out: most controls read what is there, so without the
    manifest's list a report over it attested a log replica and a region it never read."""
    assembly = tmp_path / "cdk.out"
    shutil.copytree(synthesized.outdir, assembly)
    for stack in ("LogArchiveReplica", "Network-us-east-1"):
        (assembly / f"{stack}.template.json").unlink()
    assert main(["report", "--cdk-out", str(assembly)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"--cdk-out {assembly}: the manifest names 2 stack(s) whose template is not there "
        "(LogArchiveReplica, Network-us-east-1): synthesize again, or give the whole assembly"
    ]


def test_a_damaged_event_pattern_is_one_line(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A severity condition of one element: the checks index into it; the report says the
    template cannot be read (exit 2), not a traceback with the exit of missing evidence."""
    assembly = tmp_path / "cdk.out"
    shutil.copytree(synthesized.outdir, assembly)
    path = assembly / "SecurityTooling-eu-west-1.template.json"
    template = json.loads(path.read_text(encoding="utf-8"))
    for resource in template["Resources"].values():
        pattern = resource.get("Properties", {}).get("EventPattern", {})
        if resource["Type"] == "AWS::Events::Rule" and "resource" in pattern.get("detail", {}):
            pattern["detail"]["severity"] = [{"numeric": [">="]}]
    path.write_text(json.dumps(template), encoding="utf-8")
    assert main(["report", "--cdk-out", str(assembly)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"--cdk-out {assembly}: a template the checks cannot read (IndexError")
    assert len(err.splitlines()) == 1, err


def test_a_guardrail_in_no_policy_is_missing(synthesized: Synthesized) -> None:
    """A guardrail is found by its statements in the policies' content: one statement of it
    dropped from the synthesized SCPs, and it is missing (the policy descriptions, which
    still name it, do not count)."""
    (root_user,) = [g for g in library(synthesized.config) if g.id == "SCP-ROOT-USER"]
    dropped = root_user.statements[0]["Sid"]
    templates = copy.deepcopy(synthesized.templates)
    for resource in templates["Organization"]["Resources"].values():
        if resource["Type"] == "AWS::Organizations::Policy":
            content = resource["Properties"]["Content"]
            if isinstance(content, dict) and "Statement" in content:
                content["Statement"] = [s for s in content["Statement"] if s.get("Sid") != dropped]
    result = coverage(templates, synthesized.config, "edited")
    assert not result.complete
    assert "SCP-ROOT-USER: enabled but in no attached organisation policy" in result.missing
    assert "SCP-ROOT-USER (MISSING)" in render_text(result)
    assert "SCP-ROOT-USER (MISSING)" in render_markdown(result)
    # LZ-GR-02 checks the same statement, and misses it too
    assert result.missing == [
        "LZ-GR-02: no evidence in the templates",
        "SCP-ROOT-USER: enabled but in no attached organisation policy",
    ]


def _retarget(templates: dict[str, Any], sid: str, targets: list[Any]) -> None:
    """Attach the organisation policies holding the statement ``sid`` to ``targets``."""
    for resource in templates["Organization"]["Resources"].values():
        if resource["Type"] == "AWS::Organizations::Policy":
            statements = resource["Properties"]["Content"].get("Statement", [])
            if any(s.get("Sid") == sid for s in statements):
                resource["Properties"]["TargetIds"] = targets


def test_a_guardrail_in_a_detached_policy_is_missing(synthesized: Synthesized) -> None:
    """A policy attached to nothing guards nothing: the guardrails it carries are missing."""
    templates = copy.deepcopy(synthesized.templates)
    _retarget(templates, "RequireTheWorkloadBoundary", [])
    result = coverage(templates, synthesized.config, "edited")
    assert not result.complete
    assert "SCP-PERMISSIONS-BOUNDARY: enabled but in no attached organisation policy" in (
        result.missing
    )


def test_a_root_guardrail_attached_below_the_root_is_missing(synthesized: Synthesized) -> None:
    """A guardrail the config attaches at the root, in a policy attached to an OU only."""
    (root_user,) = [g for g in library(synthesized.config) if g.id == "SCP-ROOT-USER"]
    templates = copy.deepcopy(synthesized.templates)
    _retarget(templates, root_user.statements[0]["Sid"], ["ou-nw7k-w0rk10ad"])
    result = coverage(templates, synthesized.config, "edited")
    assert not result.complete
    assert "SCP-ROOT-USER: in no policy attached to Root" in result.missing


def test_the_report_refuses_a_directory_without_an_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--cdk-out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"--cdk-out {tmp_path}: no cloud assembly there")


def test_the_report_refuses_a_bad_config_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: {name: x}\n", encoding="utf-8")
    assert main(["report", "-c", str(bad), "--cdk-out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"invalid landing-zone config {bad}")


def test_the_report_synthesizes_a_config_when_no_assembly_is_given(
    example_data: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --cdk-out it synthesizes the config itself. A greenfield organisation's
    first phase builds only the Organization stack: most controls find no evidence, and
    the report says so and exits 1."""
    data = copy.deepcopy(example_data)
    data["organization"] = {"name": "Greenfield", "prefix": "gf", "create": True}
    for account in data["accounts"]:  # type: ignore[attr-defined]
        if account.get("role") != "management":
            account.pop("id", None)
    config = tmp_path / "greenfield.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["report", "-c", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"Security Pillar coverage of a synth of {config}" in out
    assert "MISSING LZ-TRAIL-01: no evidence in the templates" in out
    assert all(f"{p.id}  " in out for p in PRACTICES)


def test_a_part_the_config_leaves_out_is_not_applicable_not_missing(
    synthesized: Synthesized, example_data: dict[str, object]
) -> None:
    """Without packages: the Packages stack's evidence is absent, and LZ-APP-01 does not
    apply; the same templates against the example config miss it."""
    from baseline.config import parse_config

    data = copy.deepcopy(example_data)
    del data["packages"]
    templates = {k: v for k, v in synthesized.templates.items() if k != "Packages"}
    without = coverage(templates, parse_config(data), "no packages")
    # (the guardrails of a config without packages differ from the example's: not asked)
    assert [m for m in without.missing if m.startswith("LZ-")] == []
    app = next(c for c in without.controls if c.id == "LZ-APP-01")
    assert app.not_applicable == "the config has no packages section"
    assert "LZ-APP-01 (n/a: the config has no packages section)" in render_text(without)
    missing = coverage(templates, synthesized.config, "example config")
    assert missing.missing == ["LZ-APP-01: no evidence in the templates"]


def test_without_identity_center_its_controls_are_not_applicable(
    synthesized: Synthesized, example_data: dict[str, Any]
) -> None:
    """No identity_center section, no Identity Center stacks: nothing of it is missing,
    and the groups-and-attributes practice is the customer's step."""
    from baseline.config import parse_config

    data = copy.deepcopy(example_data)
    del data["identity_center"]
    templates = {k: v for k, v in synthesized.templates.items() if not k.startswith("Identity")}
    without = coverage(templates, parse_config(data), "no identity center")
    assert [m for m in without.missing if m.startswith(("LZ-", "SEC02", "SEC03"))] == []
    by_id = {c.id: c for c in without.controls}
    assert by_id["LZ-ID-01"].not_applicable and by_id["LZ-ID-02"].not_applicable
    missing = coverage(templates, synthesized.config, "example config")
    assert {m.split(":")[0] for m in missing.missing} >= {"LZ-ID-01", "LZ-ID-02"}


def test_without_break_glass_principals_emergency_access_is_not_applicable(
    synthesized: Synthesized, example_data: dict[str, Any]
) -> None:
    """No principals, no break-glass role: LZ-ID-04 does not apply, and the emergency
    access practice is the customer's step; the example's config, which names them,
    misses the role."""
    from baseline.config import parse_config

    data = copy.deepcopy(example_data)
    del data["member_baseline"]["break_glass_principals"]
    templates = copy.deepcopy(synthesized.templates)

    def drop_break_glass(template: dict[str, Any]) -> None:
        template["Resources"] = {
            k: r
            for k, r in template["Resources"].items()
            if not str(r.get("Properties", {}).get("RoleName", "")).endswith("-break-glass")
        }

    edit_member_template(templates, drop_break_glass)
    for stack, template in templates.items():
        if stack.startswith("ManagementBaseline-"):
            drop_break_glass(template)
    without = coverage(templates, parse_config(data), "no break glass")
    glass = next(c for c in without.controls if c.id == "LZ-ID-04")
    assert glass.not_applicable == (
        "the config has no break-glass role (member_baseline.break_glass_principals)"
    )
    assert [m for m in without.missing if m.startswith(("LZ-", "SEC03-BP03"))] == []
    missing = coverage(templates, synthesized.config, "example config")
    assert [m for m in missing.missing if m.startswith("LZ-")] == [
        "LZ-ID-04: no evidence in the templates"
    ]


def test_a_broken_part_is_missing_even_where_the_config_leaves_it_out(
    synthesized: Synthesized, example_data: dict[str, object]
) -> None:
    from baseline.config import parse_config

    data = copy.deepcopy(example_data)
    del data["packages"]
    templates = copy.deepcopy(synthesized.templates)
    for resource in templates["Packages"]["Resources"].values():
        if resource["Type"] == "AWS::CodeArtifact::Domain":
            resource["Properties"].pop("EncryptionKey")
    result = coverage(templates, parse_config(data), "broken")
    assert [m for m in result.missing if m.startswith("LZ-APP-01")] == [
        "LZ-APP-01: 1 violation(s): Packages/Domain"
    ]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"Resources": []}',
        '{"Resources": {"A": 1}}',
        '{"Resources": {"A": {"Type": "AWS::CloudFormation::StackSet", "Properties": []}}}',
        '{"Resources": {"A": {"Type": "T", "Properties": {"P": '
        + "[" * 50_000
        + "]" * 50_000
        + "}}}}",
    ],
    ids=[
        "not json",
        "a list",
        "resources a list",
        "a resource a number",
        "properties a list",
        "nested too deep",
    ],
)
def test_the_report_refuses_an_unreadable_assembly(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Broken.template.json").write_text(content, encoding="utf-8")
    assert main(["report", "--cdk-out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not a readable cloud assembly" in err, err
    assert len(err.splitlines()) == 1, err


@pytest.mark.parametrize(
    "resource",
    [
        {"Type": "AWS::CloudFormation::StackSet", "Properties": {"TemplateBody": "[1]"}},
        {"Type": "AWS::S3::Bucket", "Properties": {"BucketEncryption": "x"}},
    ],
    ids=["a stack set body a list", "a property of another type"],
)
def test_the_report_refuses_templates_its_checks_cannot_read(
    resource: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Damaged.template.json").write_text(
        json.dumps({"Resources": {"R": resource}}), encoding="utf-8"
    )
    assert main(["report", "--cdk-out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"--cdk-out {tmp_path}: a template the checks cannot read ("), err
    assert len(err.splitlines()) == 1, err


def test_every_feature_a_control_applies_to_is_decided_from_the_config() -> None:
    from baseline.controls.model import FEATURES
    from baseline.report import APPLIES

    assert set(APPLIES) == set(FEATURES)
    assert {c.applies_to for c in CONTROLS} - {""} <= set(FEATURES)


def test_a_practice_the_config_leaves_unanswered_makes_the_report_incomplete(
    synthesized: Synthesized, example_data: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the hub, the network controls do not apply: SEC05-BP04 is then the
    customer's step (docs/network.md#without-the-hub). A practice only such controls
    answer, with no customer step, is answered by nothing: the report names it and is not
    complete, though no applicable control fails."""
    import dataclasses

    from baseline import report
    from baseline.config import parse_config

    data = copy.deepcopy(example_data)
    data["network"]["hub"] = False  # type: ignore[index]
    templates = {k: v for k, v in synthesized.templates.items() if not k.startswith("Network-")}
    hubless = parse_config(data)
    answered = coverage(templates, hubless, "no hub")
    assert answered.unanswered == [] and answered.complete, answered.missing
    monkeypatch.setattr(
        report,
        "PRACTICES",
        tuple(
            dataclasses.replace(p, customer="", runbook="") if p.id == "SEC05-BP04" else p
            for p in PRACTICES
        ),
    )
    result = coverage(templates, hubless, "no hub")
    assert [m for m in result.missing if m.startswith("LZ-")] == []
    assert [m.split(":")[0] for m in result.missing] == ["SEC05-BP04"]
    assert not result.complete
    assert "MISSING SEC05-BP04: answered by nothing in this config" in render_text(result)


def test_the_example_leaves_no_practice_unanswered(example_coverage: Coverage) -> None:
    assert example_coverage.unanswered == []


def test_without_the_hub_nothing_of_the_kit_answers_for_inspection(
    synthesized: Synthesized, example_data: dict[str, object]
) -> None:
    """The hub's guardrail is not written without the hub, so no report credits the hub's
    inspection to it; the practice is the customer's step, and the report still holds."""
    from baseline.config import parse_config

    data: dict[str, Any] = copy.deepcopy(example_data)
    data["network"]["hub"] = False
    templates = {k: v for k, v in synthesized.templates.items() if not k.startswith("Network-")}
    without = coverage(templates, parse_config(data), "no hub")
    (inspection,) = [p for p in without.practices if p.practice.id == "SEC05-BP03"]
    assert inspection.guardrails == ()
    # (the example's templates still hold the hub's SCP, so LZ-NET-05 finds it: n/a here)
    assert all(c.not_applicable for c in inspection.controls)
    assert inspection.practice.runbook == "docs/network.md#without-the-hub"
    assert not [m for m in without.missing if m.startswith(("SEC05", "SCP-NETWORK-HUB"))]
    (with_hub,) = [
        p
        for p in coverage(synthesized.templates, synthesized.config, "example").practices
        if p.practice.id == "SEC05-BP03"
    ]
    assert [g.id for g in with_hub.guardrails] == ["SCP-NETWORK-HUB-PROTECT"]
    assert with_hub.by_the_kit


def test_a_guardrail_missing_at_one_of_its_targets_is_missing(synthesized: Synthesized) -> None:
    """A guardrail still held at its other targets, but detached from one the config gives
    it, guards nothing there: the report names the target."""
    templates = copy.deepcopy(synthesized.templates)
    resources = templates["Organization"]["Resources"]
    sandbox = {"Fn::GetAtt": ["OuSandbox", "Id"]}
    for resource in resources.values():
        if resource["Type"] == "AWS::Organizations::Policy":
            statements = resource["Properties"]["Content"].get("Statement", [])
            if any(s.get("Sid") == "NeverShareEvidencePublicly" for s in statements):
                resource["Properties"]["TargetIds"] = [
                    t for t in resource["Properties"]["TargetIds"] if t != sandbox
                ]
    result = coverage(templates, synthesized.config, "edited")
    assert "SCP-EVIDENCE-PROTECT: in no policy attached to Sandbox" in result.missing
    # an account the config names, its policy moved to another account
    templates = copy.deepcopy(synthesized.templates)
    for resource in templates["Organization"]["Resources"].values():
        if resource["Properties"].get("TargetIds") == ["423456789012"]:  # the audit account
            resource["Properties"]["TargetIds"] = ["312345678901"]
    result = coverage(templates, synthesized.config, "edited")
    assert [m for m in result.missing if m.startswith("SCP-AUDIT")] == [
        "SCP-AUDIT-ACCOUNT: in no policy attached to audit"
    ]
