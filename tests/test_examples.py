"""The workload example imports baseline.constructs and passes every compliance pack."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from baseline.app import PROJECT_ROOT


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


def test_single_account_example_deploys_the_member_template(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "single_account_app", PROJECT_ROOT / "examples" / "single_account_app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(outdir=str(tmp_path)).synth()  # every pack passes
    template = json.loads((tmp_path / "AccountBaseline.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {
        "AWS::Config::ConfigurationRecorder",
        "Custom::AccountSettings",
        "AWS::IAM::Role",
    } <= types


EXAMPLES = ("workload_app", "single_account_app")


@pytest.fixture(scope="module")
def cli_synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """Each example synthesized by the CDK CLI, all at once (each is a node process and a
    Python process, mostly waiting on start-up): example -> (exit code, stderr, out dir)."""
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
    if not cli.exists():
        pytest.skip("the pinned CDK CLI is installed by `make setup`")
    home = tmp_path_factory.mktemp("home")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_"))}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true")
    running = {}
    for example in EXAMPLES:
        out = tmp_path_factory.mktemp(example) / "out"
        command = [
            str(cli),
            "synth",
            "--app",
            f"{sys.executable} examples/{example}.py",
            "--output",
            str(out),
            "--quiet",
            "--no-notices",
        ]
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        running[example] = (process, out)
    results = {}
    for example, (process, out) in running.items():
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
