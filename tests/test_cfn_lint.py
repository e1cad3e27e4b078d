"""cfn-lint finds no error in any synthesized template."""

from __future__ import annotations

import pytest
from cfnlint.api import ManualArgs, lint

from tests.conftest import Synthesized


def test_no_cfn_lint_errors(synthesized: Synthesized) -> None:
    regions = sorted(set(synthesized.config.governed_regions))
    problems = []
    for path in sorted(synthesized.outdir.glob("*.template.json")):
        found = lint(path.read_text(encoding="utf-8"), config=ManualArgs(regions=regions))
        problems += [
            f"{path.name}: {m.rule.id} {m.message} ({m.path})"
            for m in found
            if m.rule.id.startswith("E")
        ]
    assert problems == []


def test_fails_on_a_broken_template() -> None:
    """The check can fail: a bucket with an invalid property is an error."""
    from cfnlint.api import lint

    template = '{"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "Sometimes"}}}}}'
    found = lint(template, config=ManualArgs(regions=["eu-west-1"]))
    assert any(m.rule.id.startswith("E") for m in found)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
