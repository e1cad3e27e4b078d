"""The checkov gate of CI (scripts/checkov_scan.py): a failed check fails it, with the id."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from baseline.assembly import templates_with_stack_sets

ROOT = Path(__file__).resolve().parent.parent


def _scan() -> ModuleType:
    spec = importlib.util.spec_from_file_location("checkov_scan", ROOT / "scripts/checkov_scan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(failed: list[dict[str, str]]) -> dict[str, object]:
    return {
        "check_type": "cloudformation",
        "summary": {"passed": 10, "failed": len(failed), "skipped": 2},
        "results": {"failed_checks": failed},
    }


def test_a_failed_check_is_named_with_the_id_to_acknowledge() -> None:
    failed = {
        "check_id": "CKV_AWS_117",
        "check_name": "Ensure that AWS Lambda function is configured inside a VPC",
        "resource": "AWS::Lambda::Function.Fn",
        "file_path": "scan/cdk.out-Organization.json",
    }
    lines, totals = _scan().failures([_report([failed])])
    assert totals == {"passed": 10, "failed": 1, "skipped": 2}
    assert lines == [
        "CKV_AWS_117 (Ensure that AWS Lambda function is configured inside a VPC) on "
        "AWS::Lambda::Function.Fn in cdk.out-Organization.json: fix it, or acknowledge "
        "'CKV_AWS_117' on that resource with a reason"
    ]


def test_a_clean_report_passes() -> None:
    assert _scan().failures(_report([])) == ([], {"passed": 10, "failed": 0, "skipped": 2})


def test_the_member_template_is_scanned_with_the_stacks(synthesized: object) -> None:
    names = [name for name, _ in templates_with_stack_sets(synthesized.outdir)]  # type: ignore[attr-defined]
    assert "Organization" in names
    assert any(name.startswith("MemberBaseline/") for name in names)
