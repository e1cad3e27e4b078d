"""The workload example imports baseline.constructs and passes every compliance pack."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

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
