"""The coverage report: each Security Pillar best practice and CIS v5.0.0 recommendation,
the controls and guardrails that answer it, and whether their evidence is in the
templates (``python -m baseline report``; the coverage section of docs/controls.md).

A control's evidence is what its check finds; a guardrail's is an organisation policy in
the templates that carries it (the packer names its guardrails in each policy's
description). The report fails (``Coverage.complete`` is false) when a registered control
does not hold or an enabled guardrail is in no policy.

No CDK here: it reads templates, the config and the registries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baseline.config import LandingZoneConfig
from baseline.controls import CONTROLS, Templates, resources
from baseline.controls.practices import PRACTICES, Practice
from baseline.guardrails import select

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("text", "markdown", "json")


@dataclass(frozen=True)
class ControlResult:
    id: str
    title: str
    holds: bool
    evidence: int
    violations: tuple[str, ...]


@dataclass(frozen=True)
class GuardrailResult:
    id: str
    policies: tuple[str, ...]

    @property
    def found(self) -> bool:
        return bool(self.policies)


@dataclass(frozen=True)
class PracticeCoverage:
    practice: Practice
    controls: tuple[ControlResult, ...]
    guardrails: tuple[GuardrailResult, ...]
    repository: tuple[tuple[str, bool], ...]  # path, present

    @property
    def by_the_kit(self) -> bool:
        return bool(self.controls or self.guardrails or self.repository)


@dataclass(frozen=True)
class CisCoverage:
    id: str
    controls: tuple[ControlResult, ...]
    guardrails: tuple[GuardrailResult, ...]


@dataclass
class Coverage:
    source: str
    practices: list[PracticeCoverage] = field(default_factory=list)
    cis: list[CisCoverage] = field(default_factory=list)
    controls: list[ControlResult] = field(default_factory=list)
    guardrails: list[GuardrailResult] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Each control without its evidence and each guardrail in no policy, one line each."""
        lines = [
            f"{c.id}: no evidence in the templates"
            if not c.evidence
            else f"{c.id}: {len(c.violations)} violation(s): {', '.join(c.violations[:3])}"
            for c in self.controls
            if not c.holds
        ]
        lines += [
            f"{g.id}: enabled but in no organisation policy" for g in self.guardrails if not g.found
        ]
        return lines

    @property
    def complete(self) -> bool:
        return not self.missing


def _guardrail_policies(templates: Templates) -> dict[str, list[str]]:
    """Guardrail id -> names of the SCPs and RCPs that carry it."""
    carried: dict[str, list[str]] = {}
    for name, policy in resources(templates, "AWS::Organizations::Policy"):
        props = policy.get("Properties", {})
        described = re.match(r"^Guardrails: (.*)$", str(props.get("Description", "")))
        if described:
            for guardrail_id in described.group(1).split(", "):
                carried.setdefault(guardrail_id.strip(), []).append(str(props.get("Name", name)))
    return carried


def coverage(templates: Templates, config: LandingZoneConfig, source: str) -> Coverage:
    """The coverage of ``templates`` synthesized from ``config``."""
    result = Coverage(source=source)
    for control in CONTROLS:
        evidence = control.check(templates)
        result.controls.append(
            ControlResult(
                control.id,
                control.title,
                evidence.holds,
                len(evidence.found),
                tuple(evidence.violations),
            )
        )
    by_control = {c.id: c for c in result.controls}
    enabled, _ = select(config)
    carried = _guardrail_policies(templates)
    by_guardrail = {g.id: GuardrailResult(g.id, tuple(carried.get(g.id, ()))) for g in enabled}
    result.guardrails = list(by_guardrail.values())
    for practice in PRACTICES:
        result.practices.append(
            PracticeCoverage(
                practice,
                tuple(by_control[c.id] for c in CONTROLS if practice.id in c.best_practices),
                tuple(
                    by_guardrail[g.id]
                    for g in enabled
                    if practice.id in g.best_practices and g.id in by_guardrail
                ),
                tuple((e.path, (PROJECT_ROOT / e.path).exists()) for e in practice.repository),
            )
        )
    cis_ids = {i for c in CONTROLS for i in c.cis} | {i for g in enabled for i in g.cis}
    for cis_id in sorted(cis_ids, key=_cis_order):
        result.cis.append(
            CisCoverage(
                cis_id,
                tuple(by_control[c.id] for c in CONTROLS if cis_id in c.cis),
                tuple(by_guardrail[g.id] for g in enabled if cis_id in g.cis),
            )
        )
    return result


def _cis_order(cis_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in cis_id.split(".") if part.isdigit())


# --- rendering --------------------------------------------------------------------------


def _control_cell(controls: Iterable[ControlResult]) -> str:
    return ", ".join(f"{c.id} ({c.evidence})" if c.holds else f"{c.id} (MISSING)" for c in controls)


def _guardrail_cell(guardrails: Iterable[GuardrailResult]) -> str:
    return ", ".join(g.id if g.found else f"{g.id} (MISSING)" for g in guardrails)


def _summary(result: Coverage) -> str:
    by_kit = sum(p.by_the_kit for p in result.practices)
    customer_only = sum(not p.by_the_kit for p in result.practices)
    shared = sum(p.by_the_kit and bool(p.practice.customer) for p in result.practices)
    holding = sum(c.holds for c in result.controls)
    return (
        f"{len(result.practices)} best practices: {by_kit} answered by the kit ({shared} of "
        f"them with a customer step too), {customer_only} the customer's alone; "
        f"{holding} of {len(result.controls)} controls hold, "
        f"{sum(g.found for g in result.guardrails)} of {len(result.guardrails)} guardrails "
        f"found; {len(result.cis)} CIS v5.0.0 recommendations covered"
    )


def render_text(result: Coverage) -> str:
    lines = [f"Security Pillar coverage of {result.source}", ""]
    for item in result.practices:
        practice = item.practice
        lines.append(f"{practice.id}  {practice.title}")
        if item.controls:
            lines.append(f"    controls    {_control_cell(item.controls)}")
        if item.guardrails:
            lines.append(f"    guardrails  {_guardrail_cell(item.guardrails)}")
        for path, present in item.repository:
            lines.append(f"    repository  {path}{'' if present else ' (not in this checkout)'}")
        if practice.customer:
            lines.append(f"    customer    {practice.customer} ({practice.runbook})")
    lines += ["", "CIS AWS Foundations Benchmark v5.0.0", ""]
    for cis in result.cis:
        answers = ", ".join(
            x for x in (_control_cell(cis.controls), _guardrail_cell(cis.guardrails)) if x
        )
        lines.append(f"{cis.id:<7} {answers}")
    lines += ["", _summary(result)]
    lines += [f"MISSING {line}" for line in result.missing]
    return "\n".join(lines)


def _runbook_link(runbook: str, relative_to: str) -> str:
    """A Markdown link to a runbook, relative to where the page lives."""
    target = runbook.removeprefix("docs/") if relative_to == "docs" else runbook
    return f"[{runbook.rsplit('/', maxsplit=1)[-1]}]({target})"


def render_markdown(result: Coverage, *, relative_to: str = "") -> str:
    """The coverage as Markdown tables (``relative_to="docs"`` for a page in docs/)."""
    lines = [
        "| best practice | title | the kit's controls (evidence) | guardrails | in this repository | the customer's step |",
        "|---|---|---|---|---|---|",
    ]
    for item in result.practices:
        practice = item.practice
        customer = (
            f"{practice.customer} {_runbook_link(practice.runbook, relative_to)}"
            if practice.customer
            else "-"
        )
        repository = ", ".join(f"`{path}`" for path, _ in item.repository) or "-"
        lines.append(
            f"| {practice.id} | {practice.title} | {_control_cell(item.controls) or '-'} | "
            f"{_guardrail_cell(item.guardrails) or '-'} | {repository} | {customer} |"
        )
    lines += [
        "",
        "| CIS v5.0.0 | controls (evidence) | guardrails |",
        "|---|---|---|",
    ]
    for cis in result.cis:
        lines.append(
            f"| {cis.id} | {_control_cell(cis.controls) or '-'} | "
            f"{_guardrail_cell(cis.guardrails) or '-'} |"
        )
    lines += ["", _summary(result) + "."]
    lines += [f"- **MISSING** {line}" for line in result.missing]
    return "\n".join(lines)


def render_json(result: Coverage) -> str:
    def control(c: ControlResult) -> dict[str, Any]:
        return {
            "id": c.id,
            "holds": c.holds,
            "evidence": c.evidence,
            "violations": list(c.violations),
        }

    def guardrail(g: GuardrailResult) -> dict[str, Any]:
        return {"id": g.id, "found": g.found, "policies": list(g.policies)}

    document = {
        "source": result.source,
        "complete": result.complete,
        "missing": result.missing,
        "practices": [
            {
                "id": p.practice.id,
                "title": p.practice.title,
                "controls": [control(c) for c in p.controls],
                "guardrails": [guardrail(g) for g in p.guardrails],
                "repository": [{"path": path, "present": ok} for path, ok in p.repository],
                "customer": p.practice.customer or None,
                "runbook": p.practice.runbook or None,
            }
            for p in result.practices
        ],
        "cis": [
            {
                "id": c.id,
                "controls": [control(x) for x in c.controls],
                "guardrails": [guardrail(g) for g in c.guardrails],
            }
            for c in result.cis
        ],
    }
    return json.dumps(document, indent=2)


def render(result: Coverage, output_format: str) -> str:
    if output_format == "json":
        return render_json(result)
    if output_format == "markdown":
        return render_markdown(result)
    return render_text(result)
