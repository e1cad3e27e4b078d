"""Generated pages in docs/ match what the code and the example organisation produce."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from baseline.compliance import AcknowledgementRecord, acknowledgements_in
from baseline.docs import DOCS, render_all
from baseline.landing_zone import LandingZone
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


def _listed(page: str) -> set[tuple[str, str, str]]:
    """(suite, reason, rule) of every entry of the acknowledgements page."""
    entries = re.finditer(
        r"^- \*\*Reason \((?P<suite>[^)]+)\):\*\* (?P<reason>.*)\n  - Rules: (?P<rules>.*)$",
        page,
        flags=re.MULTILINE,
    )
    return {
        (m["suite"], m["reason"], rule)
        for m in entries
        for rule in re.findall(r"`([^`]+)`", m["rules"])
    }


def _unlisted(records: Iterable[AcknowledgementRecord], page: str) -> list[str]:
    listed = _listed(page)
    return sorted(
        {f"{r.suite} {r.rule_id}: {r.reason}" for r in records}
        - {f"{suite} {rule}: {reason}" for suite, reason, rule in listed}
    )


def test_acknowledgements_page_lists_every_reason(
    rendered: dict[str, str], synthesized: Synthesized
) -> None:
    assert _unlisted(acknowledgements_in(synthesized.outdir), rendered["acknowledgements.md"]) == []


def test_the_page_lists_what_other_choices_acknowledge(variant: LandingZone) -> None:
    """The variant's choices (an existing OU, no replica of the log archive, the StackSet
    from the delegated administrator, no delegated permission sets) make no acknowledgement
    the page, generated from the example, leaves out: each is listed with its reason."""
    assembly = Path(variant.node.root.synth().directory)  # type: ignore[attr-defined]
    records = list(acknowledgements_in(assembly))
    assert {r.stack for r in records} >= {"LogArchive", "Organization"}
    page = (DOCS / "acknowledgements.md").read_text(encoding="utf-8")
    assert _unlisted(records, page) == []
    # the check itself: a reason the page does not carry is named
    other = dataclasses.replace(records[0], reason="Because it was easier.")
    assert _unlisted([other], page) == [f"{other.suite} {other.rule_id}: Because it was easier."]


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


def test_a_page_that_lost_a_marker_is_named_not_a_traceback() -> None:
    from baseline.docs import SUMMARY_END, MissingMarkerError, render_between, render_readme

    with pytest.raises(MissingMarkerError, match=r"^README\.md: the marker .* is missing"):
        render_readme("# no markers here\n", "summary")
    text = f"{SUMMARY_END}\nbefore\n<!-- begin -->"
    with pytest.raises(MissingMarkerError, match="comes before"):
        render_between(text, "<!-- begin -->", SUMMARY_END, "x", "docs/x.md")
    assert render_between("a<b>old<e>z", "<b>", "<e>", "new") == "a<b>\nnew\n<e>z"
