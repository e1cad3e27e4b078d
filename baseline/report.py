"""The coverage report: each Security Pillar best practice and CIS v5.0.0 recommendation,
the controls and guardrails that answer it, and whether their evidence is in the
templates (``python -m baseline report``; the coverage section of docs/controls.md).

A control's evidence is what its check finds; a guardrail's is the SCPs or RCPs in the
templates that hold every one of its statements, exactly as the library writes them,
attached to each target the config gives it (the root, an OU path, an account): a
guardrail held only by policies of other targets guards nothing where it should. A control of a part the config leaves out (``Control.applies_to``: no
``packages:``, no forensics account, ...) is not applicable, unless its check finds that
part broken. The report fails (``Coverage.complete`` is false) when an applicable control
does not hold, an enabled guardrail is in no policy, or a practice is answered by nothing
here: none of its controls holds (a control that does not apply answers nothing), none of
its guardrails or repository files is found, and it has no customer step.

No CDK here: it reads templates, the config and the registries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baseline.config import AccountRole, LandingZoneConfig
from baseline.controls import CONTROLS, Templates, resources
from baseline.controls.model import FEATURES, is_root
from baseline.controls.practices import PRACTICES, Practice
from baseline.guardrails import Guardrail, minify, select
from baseline.guardrails.model import ROOT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("text", "markdown", "json")


@dataclass(frozen=True)
class ControlResult:
    id: str
    title: str
    holds: bool
    evidence: int
    violations: tuple[str, ...]
    #: why the control does not apply to this config (it has no such part), or ""
    not_applicable: str = ""

    @property
    def ok(self) -> bool:
        """It holds, or the config has nothing it could apply to."""
        return self.holds or bool(self.not_applicable)


#: Whether a config has each part that some controls depend on (``Control.applies_to``).
APPLIES: dict[str, Callable[[LandingZoneConfig], bool]] = {
    "replication": lambda c: c.effective_replication_region is not None,
    "identity_center": lambda c: c.identity_center is not None,
    "break_glass": lambda c: bool(c.member_baseline.break_glass_principals),
    "network_hub": lambda c: c.network.hub,
    "vpcs": lambda c: c.network.hub or any(a.role == AccountRole.FORENSICS for a in c.accounts),
    "forensics": lambda c: any(a.role == AccountRole.FORENSICS for a in c.accounts),
    "containment": lambda c: bool(c.incident_response.isolating_ous()),
    "remediation": lambda c: bool(c.incident_response.remediating_ous()),
    "packages": lambda c: c.packages is not None,
}


@dataclass(frozen=True)
class GuardrailResult:
    id: str
    #: the policies that hold it at one of its targets at least
    policies: tuple[str, ...]
    #: the targets of the config where no attached policy holds it
    unattached: tuple[str, ...] = ()
    #: some policy attached elsewhere holds it (not one of its targets)
    elsewhere: bool = False

    @property
    def found(self) -> bool:
        return bool(self.policies) and not self.unattached


@dataclass(frozen=True)
class PracticeCoverage:
    practice: Practice
    controls: tuple[ControlResult, ...]
    guardrails: tuple[GuardrailResult, ...]
    repository: tuple[tuple[str, bool], ...]  # path, present

    @property
    def by_the_kit(self) -> bool:
        """Something of the kit answers it here: a control that holds, a guardrail found
        in a policy, or a file of the repository that is present."""
        return (
            any(c.holds for c in self.controls)
            or any(g.found for g in self.guardrails)
            or any(present for _, present in self.repository)
        )


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
    def unanswered(self) -> list[PracticeCoverage]:
        """The practices nothing answers here: no control of theirs holds (those of a part
        the config leaves out do not apply), no guardrail of theirs is found, no file of
        theirs is present, and they have no customer step."""
        return [p for p in self.practices if not p.by_the_kit and not p.practice.customer]

    @property
    def missing(self) -> list[str]:
        """Each applicable control that does not hold, each guardrail in no policy and each
        practice nothing answers, one line each."""
        lines = [_why_not(c) for c in self.controls if not c.ok]
        lines += [
            f"{g.id}: enabled but in no attached organisation policy"
            if not g.policies and not g.elsewhere
            else f"{g.id}: in no policy attached to {', '.join(g.unattached)}"
            for g in self.guardrails
            if not g.found
        ]
        lines += [
            f"{p.practice.id}: answered by nothing in this config"
            f"{f' ({_control_cell(p.controls)})' if p.controls else ''}, and no customer step"
            for p in self.unanswered
        ]
        return lines

    @property
    def complete(self) -> bool:
        return not self.missing


def _why_not(control: ControlResult) -> str:
    found = "no evidence in the templates" if not control.evidence else ""
    broken = (
        f"{len(control.violations)} violation(s): {', '.join(control.violations[:3])}"
        if control.violations
        else ""
    )
    return f"{control.id}: {'; '.join(x for x in (found, broken) if x)}"


def _target_key(value: Any) -> str:
    """A policy target (or an OU's parent) as the templates give it: the root, a literal
    id, or the OU resource it refers to."""
    if is_root(value):
        return ROOT
    if isinstance(value, dict):
        reference = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
        return f"resource {reference}"
    return str(value)


def _target_keys(templates: Templates, config: LandingZoneConfig) -> dict[str, str]:
    """Each target the config can name (the root, an OU path, an account name) -> its key
    in the templates (:func:`_target_key`): the id the config gives it, or the OU resource
    of that name under its parent's."""
    created = {}
    for name, unit in resources(templates, "AWS::Organizations::OrganizationalUnit"):
        props = unit.get("Properties", {})
        parent = _target_key(props.get("ParentId"))
        created[(parent, props.get("Name"))] = f"resource {name.partition('/')[2]}"
    keys = {ROOT: ROOT}
    for path in config.ou_paths():
        known = config.known_id(path)
        parent, _, name = path.rpartition("/")
        found = known or created.get((keys.get(parent or ROOT, ""), name))
        if found is not None:
            keys[path] = found
    keys.update({a.name: a.id for a in config.accounts if a.id is not None})
    return keys


def _policy_statements(templates: Templates) -> dict[str, dict[str, set[str]]]:
    """Target key (:func:`_target_key`) -> policy name -> its statements as minified JSON,
    for every SCP and RCP attached to that target (one attached to nothing guards
    nothing)."""
    found: dict[str, dict[str, set[str]]] = {}
    for name, policy in resources(templates, "AWS::Organizations::Policy"):
        props = policy.get("Properties", {})
        if props.get("Type") not in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
            continue
        content = props.get("Content", {})
        parsed = json.loads(content) if isinstance(content, str) else content
        statements = parsed.get("Statement", []) if isinstance(parsed, dict) else []
        statements = statements if isinstance(statements, list) else [statements]
        for target in props.get("TargetIds") or []:
            found.setdefault(_target_key(target), {}).setdefault(
                str(props.get("Name", name)), set()
            ).update(minify(statement) for statement in statements)
    return found


def _guardrail_result(
    guardrail: Guardrail,
    targets: list[str],
    keys: dict[str, str],
    attached: dict[str, dict[str, set[str]]],
    everywhere: dict[str, set[str]],
) -> GuardrailResult:
    """Where the guardrail is held: at each of its targets, by the policies attached there
    (``everywhere``: every attached policy, at any target)."""
    policies: set[str] = set()
    unattached = []
    for target in targets:
        held = _carriers(guardrail, attached.get(keys.get(target, ""), {}))
        policies.update(held)
        if not held:
            unattached.append(target)
    return GuardrailResult(
        guardrail.id,
        tuple(sorted(policies)),
        tuple(unattached),
        elsewhere=bool(unattached) and bool(_carriers(guardrail, everywhere)),
    )


def _carriers(guardrail: Guardrail, policies: dict[str, set[str]]) -> tuple[str, ...]:
    """The policies that hold the guardrail's statements, when every one of them is held
    by some policy (a guardrail can span two); none when one statement is nowhere."""
    statements = guardrail.minified()
    holders = {name for name, held in policies.items() if held & set(statements)}
    every = all(any(s in policies[name] for name in holders) for s in statements)
    return tuple(sorted(holders)) if statements and every else ()


def coverage(templates: Templates, config: LandingZoneConfig, source: str) -> Coverage:
    """The coverage of ``templates`` synthesized from ``config``."""
    result = Coverage(source=source)
    for control in CONTROLS:
        evidence = control.check(templates)
        applies = not control.applies_to or APPLIES[control.applies_to](config)
        result.controls.append(
            ControlResult(
                control.id,
                control.title,
                evidence.holds,
                len(evidence.found),
                tuple(evidence.violations),
                # a part the config leaves out is not missing, unless something of it is
                # there and broken
                ""
                if applies or evidence.violations
                else f"the config has no {FEATURES[control.applies_to]}",
            )
        )
    by_control = {c.id: c for c in result.controls}
    enabled, attachments = select(config)
    attached = _policy_statements(templates)
    keys = _target_keys(templates, config)
    everywhere: dict[str, set[str]] = {}
    for held_at in attached.values():
        for name, statements in held_at.items():
            everywhere.setdefault(name, set()).update(statements)
    by_guardrail = {
        g.id: _guardrail_result(g, attachments.get(g.id, []), keys, attached, everywhere)
        for g in enabled
    }
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
    return ", ".join(
        f"{c.id} ({c.evidence})"
        if c.holds
        else f"{c.id} (n/a: {c.not_applicable})"
        if c.not_applicable
        else f"{c.id} (MISSING)"
        for c in controls
    )


def _guardrail_cell(guardrails: Iterable[GuardrailResult]) -> str:
    return ", ".join(g.id if g.found else f"{g.id} (MISSING)" for g in guardrails)


def _summary(result: Coverage) -> str:
    by_kit = sum(p.by_the_kit for p in result.practices)
    unanswered = len(result.unanswered)
    customer_only = sum(not p.by_the_kit for p in result.practices) - unanswered
    shared = sum(p.by_the_kit and bool(p.practice.customer) for p in result.practices)
    holding = sum(c.holds for c in result.controls)
    not_applicable = sum(bool(c.not_applicable) for c in result.controls)
    cis = sum(
        any(c.holds for c in x.controls) or any(g.found for g in x.guardrails) for x in result.cis
    )
    return (
        f"{len(result.practices)} best practices: {by_kit} answered by the kit ({shared} of "
        f"them with a customer step too), {customer_only} the customer's alone"
        f"{f', {unanswered} answered by nothing' if unanswered else ''}; "
        f"{holding} of {len(result.controls)} controls hold"
        f"{f' ({not_applicable} not applicable to this config)' if not_applicable else ''}, "
        f"{sum(g.found for g in result.guardrails)} of {len(result.guardrails)} guardrails "
        f"found; {cis} of {len(result.cis)} CIS v5.0.0 recommendations with evidence"
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
            "not_applicable": c.not_applicable or None,
        }

    def guardrail(g: GuardrailResult) -> dict[str, Any]:
        return {
            "id": g.id,
            "found": g.found,
            "policies": list(g.policies),
            "unattached": list(g.unattached),
        }

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
