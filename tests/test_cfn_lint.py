"""cfn-lint finds no error in any synthesized template."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint

from tests.conftest import Synthesized


def test_no_cfn_lint_errors(synthesized: Synthesized) -> None:
    """Every template of the example organisation, the member template inside its
    StackSet included, in every governed region."""
    findings = synthesized.cfn_lint_findings()
    problems = [
        f"{Path(f['Filename']).name}: {f['Rule']['Id']} {f['Message']}"
        for f in findings
        if f["Level"] == "Error"
    ]
    args = list(synthesized.cfn_lint.args)  # type: ignore[arg-type]
    linted = {Path(f).name for f in args[args.index("--") + 1 :]}
    assert "MemberBaseline-StackSet.template.json" in linted
    assert problems == []


def test_fails_on_a_broken_template() -> None:
    """The check can fail: a bucket with an invalid property is an error."""

    template = '{"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "Sometimes"}}}}}'
    found = lint(template, config=ManualArgs(regions=["eu-west-1"]))
    assert any(m.rule.id.startswith("E") for m in found)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
