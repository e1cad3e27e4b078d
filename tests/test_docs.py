"""Generated pages in docs/ match what the code and the example organisation produce."""

from __future__ import annotations

import pytest

from baseline.docs import DOCS, render_all
from tests.conftest import Synthesized


@pytest.fixture(scope="module")
def rendered(synthesized: Synthesized) -> dict[str, str]:
    return render_all(synthesized.outdir)


@pytest.mark.parametrize(
    "name", ["landing-zone.schema.json", "controls.md", "acknowledgements.md", "guardrails.md"]
)
def test_generated_page_is_current(name: str, rendered: dict[str, str]) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == rendered[name], f"docs/{name} is stale: run `make docs`"


def test_acknowledgements_page_lists_every_reason(
    rendered: dict[str, str], synthesized: Synthesized
) -> None:
    from baseline.compliance import acknowledgements_in

    for record in acknowledgements_in(synthesized.outdir):
        assert record.reason in rendered["acknowledgements.md"]
        assert record.rule_id in rendered["acknowledgements.md"]


def test_readme_shows_what_make_synth_prints(synthesized: Synthesized) -> None:
    """The README's summary is the one the synth prints for the example (by make docs)."""
    from baseline.app import summary
    from baseline.docs import README, render_readme

    printed = summary(synthesized.assembly, synthesized.landing_zone, "cdk.out")
    committed = README.read_text(encoding="utf-8")
    assert committed == render_readme(committed, printed), "README.md is stale: run `make docs`"
    assert "nwl-network-hub" in printed and "AWS::CDK::Metadata" not in printed


def test_the_deploy_order_is_the_one_the_landing_zone_builds(synthesized: Synthesized) -> None:
    """docs/deploy.md's table comes from LandingZone.stacks; README and architecture link it."""
    from baseline.docs import (
        DEPLOY,
        ORDER_BEGIN,
        ORDER_END,
        README,
        render_between,
        render_deploy_order,
    )

    table = render_deploy_order(synthesized.landing_zone)
    committed = DEPLOY.read_text(encoding="utf-8")
    assert committed == render_between(committed, ORDER_BEGIN, ORDER_END, table), (
        "docs/deploy.md's deploy order is stale: run `make docs`"
    )
    steps = [line.split("|")[2].strip() for line in table.splitlines()[2:]]
    assert steps[0] == "`Organization`" and steps[-1].startswith("`MachineAccess-")
    assert len(steps) == 16
    assert "docs/deploy.md#deploy-order" in README.read_text(encoding="utf-8")
    assert "deploy.md#deploy-order" in (DOCS / "architecture.md").read_text(encoding="utf-8")
