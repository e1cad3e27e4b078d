"""The workload example imports baseline.constructs and passes every compliance pack."""

from __future__ import annotations

import importlib.util
import json
import runpy
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_cdk as cdk
import pytest

from baseline.app import PROJECT_ROOT
from tests.conftest import CLI_EXAMPLES, CLI_KEY, start_cli_synths


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "workload_app", PROJECT_ROOT / "examples" / "workload_app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workload_example_synthesizes_with_every_pack(tmp_path: Path) -> None:
    app = _load().build(outdir=str(tmp_path))
    app.synth()  # raises ValidationFailed on any compliance violation
    template = json.loads((tmp_path / "OrdersData.template.json").read_text())
    types = sorted({r["Type"] for r in template["Resources"].values()})
    assert (
        "AWS::S3::Bucket" in types
        and "AWS::KMS::Key" in types
        and "AWS::IAM::ManagedPolicy" in types
    )
    assert "AWS::EC2::VPC" in types and "AWS::EC2::FlowLog" in types  # LayeredVpc, defaults
    # a SecureFunction reads the SecureBucket: no inline policy, and the example itself
    # acknowledges nothing (every pack passed above)
    assert "AWS::Lambda::Function" in types and "AWS::IAM::Policy" not in types
    source = (PROJECT_ROOT / "examples" / "workload_app.py").read_text(encoding="utf-8")
    assert "SecureFunction(" in source and "acknowledge(" not in source
    policy = next(
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and r["Properties"].get("Description") == "Read order documents"
    )
    actions = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert actions == {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "kms:Decrypt"}
    # every role carries the workload boundary, as SCP-PERMISSIONS-BOUNDARY requires
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        assert role["Properties"]["PermissionsBoundary"] == {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::756789012345:policy/nwl-workload-boundary",
                ],
            ]
        }


def test_single_account_example_deploys_the_member_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run as the CDK CLI runs it (``python examples/single_account_app.py`` with
    CDK_OUTDIR set), in this process: every pack passes and nothing needs a lookup (the
    CLI would have to make it, with credentials). The workload example goes through the
    CLI itself below."""
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))  # the example leaves the folder to it
    written: list[Path] = []
    synth = cdk.App.synth

    def recorded(app: cdk.App, **options: Any) -> cdk.cx_api.CloudAssembly:
        assembly = synth(app, **options)
        written.append(Path(assembly.directory))
        return assembly

    monkeypatch.setattr(cdk.App, "synth", recorded)
    runpy.run_path(str(PROJECT_ROOT / "examples" / "single_account_app.py"), run_name="__main__")
    (out,) = written  # one synth, every pack passing
    manifest = json.loads((out / "manifest.json").read_text())
    assert "missing" not in manifest  # no context had to be looked up
    template = json.loads((out / "AccountBaseline.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {
        "AWS::Config::ConfigurationRecorder",
        "Custom::AccountSettings",
        "AWS::IAM::Role",
    } <= types


EXAMPLES = CLI_EXAMPLES


@pytest.fixture(scope="module")
def cli_synths(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[int, str, Path]]:
    """Each example synthesized by the CDK CLI: example -> (exit code, stderr, out dir).
    They start when the session's synth is done (conftest), or here when it was not needed."""
    if not (PROJECT_ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.skip("the pinned CDK CLI is installed by `make setup`")
    if CLI_KEY not in request.config.stash:
        request.config.stash[CLI_KEY] = start_cli_synths(tmp_path_factory.mktemp("cli"))
    results = {}
    for example, (process, out) in request.config.stash[CLI_KEY].items():
        _, stderr = process.communicate(timeout=300)
        results[example] = (process.returncode, stderr, out)
    return results


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_example_synthesizes_under_the_cdk_cli_without_credentials(
    example: str, cli_synths: dict[str, tuple[int, str, Path]]
) -> None:
    """``npx cdk synth --app ...`` as a workload team runs it, on a machine with no AWS
    credentials: nothing may need a lookup (the workload's VPC declares its AZs)."""
    returncode, stderr, out = cli_synths[example]
    assert returncode == 0, stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert "missing" not in manifest  # no context had to be looked up
    templates = list(out.glob("*.template.json"))
    assert templates and "dummy1a" not in "".join(t.read_text() for t in templates)
