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
