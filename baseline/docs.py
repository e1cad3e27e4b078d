"""The generated pages in ``docs/``: config schema, controls, acknowledgements.

Each page is rendered from the code and the synthesized example organisation, so the
docs cannot drift: ``tests/test_docs.py`` fails when a committed page differs from what
this module renders, and ``python -m baseline docs`` rewrites them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from baseline.app import DEFAULT_CONFIG, build_app
from baseline.cdk_context import PROJECT_ROOT
from baseline.compliance import render_acknowledgements
from baseline.config import json_schema, load_config
from baseline.controls import Templates, render_controls
from baseline.guardrails.report import render_guardrails

DOCS = PROJECT_ROOT / "docs"


def templates_in(assembly_dir: Path) -> Templates:
    """Every template of a cloud assembly, keyed by stack artifact id."""
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(assembly_dir.glob("*.template.json"))
    }


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def render_all(assembly_dir: Path) -> dict[str, str]:
    """File name in docs/ -> its content, for a synthesized example organisation."""
    return {
        "landing-zone.schema.json": render_schema(),
        "controls.md": render_controls(templates_in(assembly_dir)),
        "acknowledgements.md": render_acknowledgements(assembly_dir),
        "guardrails.md": render_guardrails(load_config(DEFAULT_CONFIG)),
    }


def write_docs(*, check: bool = False) -> list[str]:
    """Rewrite the generated pages (or, with ``check``, only list the stale ones)."""
    with tempfile.TemporaryDirectory() as outdir:
        app, _ = build_app(load_config(DEFAULT_CONFIG), outdir=outdir)
        app.synth()
        pages = render_all(Path(outdir))
    stale = []
    for name, content in pages.items():
        path = DOCS / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            stale.append(name)
            if not check:
                path.write_text(content, encoding="utf-8")
    return stale
