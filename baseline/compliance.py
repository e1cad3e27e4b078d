"""Compliance at synth: the cdk-nag packs, and the one way to acknowledge a finding.

cdk-nag 3 runs as CDK policy-validation plugins: a violation makes ``app.synth()`` fail
with a report in ``<outdir>/validation-report.json``. Every acknowledgement goes through
:func:`acknowledge`, which insists on a reason an auditor can read, and is written into
the template metadata (``cdk_nag.rules_to_suppress``) where other scanners and
``docs/acknowledgements.md`` find it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

#: The packs run on the whole app, in this order. Serverless checks every function the
#: app defines (and finds nothing to check in an app without functions).
PACKS: tuple[type[cdk_nag.NagPack], ...] = (
    cdk_nag.AwsSolutionsChecks,
    cdk_nag.NIST80053R5Checks,
    cdk_nag.HIPAASecurityChecks,
    cdk_nag.PCIDSS321Checks,
    cdk_nag.ServerlessChecks,
)

#: Rule-id prefixes of those packs; an acknowledgement must name a rule of one of them.
RULE_PREFIXES = (
    "AwsSolutions-",
    "NIST.800.53.R5-",
    "HIPAA.Security-",
    "PCI.DSS.321-",
    "Serverless-",
)

#: A reason must read as a sentence: this many words and characters at least.
MIN_REASON_WORDS = 8
MIN_REASON_CHARS = 50

_RULE_ID = re.compile(r"^[A-Za-z0-9.]+-[A-Za-z0-9]+(\[[^\]]+\])?$")
_NAG_METADATA_KEY = "cdk_nag"


class ComplianceError(RuntimeError):
    """A synth the compliance packs refused; the message says where the report is."""


def violations_in_report(outdir: str) -> list[str]:
    """Every violation the validation report of a synth lists, as ``plugin: rule on
    construct path`` lines; none when there is no report."""
    path = Path(outdir) / "validation-report.json"
    if not path.exists():
        return []
    report = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            if str(violation.get("severity", "error")).lower() in ("warning", "info"):
                continue  # the CDK's own annotations report warnings here too
            for construct in violation.get("violatingConstructs", []) or [{}]:
                found.append(
                    f"{plugin.get('pluginName', '?')}: {violation.get('ruleName', '?')} on "
                    f"{construct.get('constructPath', '?')}"
                )
    return found


def synth_checked(app: cdk.App, what: str) -> cdk.cx_api.CloudAssembly:
    """Synthesize an app with packs attached, turning violations into :class:`ComplianceError`.

    A plugin may report success with violations left (the Control Tower rules' plugin
    does, once any of its findings on a construct is acknowledged), so the report itself
    is read after every synth: any violation left in any plugin fails it too. The error
    names the first violations (plugin, rule, construct path) and the report's path.
    """
    try:
        assembly = app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        raise ComplianceError(_violation_message(what, app.outdir)) from None
    if violations_in_report(app.outdir):
        raise ComplianceError(_violation_message(what, app.outdir))
    return assembly


def _violation_message(what: str, outdir: str) -> str:
    found = violations_in_report(outdir)
    named = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
    return (
        f"{what}: compliance violations{f' ({named})' if named else ''}, see "
        f"{outdir}/validation-report.json"
    )


def synth_or_exit(app: cdk.App, what: str = "the app") -> cdk.cx_api.CloudAssembly:
    """Synthesize; on compliance violations say where the report is and exit 1.

    The packs have printed each finding with the id to acknowledge it by; this adds one
    line instead of a traceback. For a workload's ``app.py``::

        attach_packs(app)
        synth_or_exit(app)
    """
    try:
        return synth_checked(app, what)
    except ComplianceError as error:
        print(f"synth failed: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def attach_packs(app: cdk.App) -> None:
    """Run every pack in :data:`PACKS` on the whole app at synth."""
    plugins = [pack(app, write_suppressions_to_cloud_formation=True) for pack in PACKS]
    cdk.Validations.of(app).add_plugins(*plugins)


def acknowledge(construct: IConstruct, rule_id: str | Sequence[str], reason: str) -> None:
    """Acknowledge cdk-nag findings on one construct (and its children), with a reason.

    Acknowledge on the narrowest construct that raises the finding. Findings with a
    sub-id are acknowledged one by one: ``AwsSolutions-IAM5[Resource::arn:...]``. Several
    rule ids (the same finding in several packs) may share one reason.

    :raises ValueError: a rule id is not of a pack in :data:`PACKS`, or the reason is
        not a real sentence (at least eight words and fifty characters).
    """
    rule_ids = [rule_id] if isinstance(rule_id, str) else list(rule_id)
    acknowledge_each(construct, dict.fromkeys(rule_ids, reason))


def rule_of(printed: str) -> str:
    """The rule id an acknowledgement takes, from either form: the rule itself
    (``AwsSolutions-SQS3``) or the form the synth prints (``AwsSolutions::AwsSolutions-SQS3``)."""
    pack, separator, rule = printed.partition("::")
    if separator and rule.startswith(f"{pack}-"):
        return rule
    return printed


def acknowledge_each(construct: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge several findings on one construct, each with its own reason, at once.

    A rule id may be given as the synth prints it after "Acknowledge with"
    (``AwsSolutions::AwsSolutions-SQS3``) or as the rule alone (``AwsSolutions-SQS3``).
    """
    reasons = {rule_of(rule_id): reason for rule_id, reason in reasons.items()}
    for rule_id, reason in reasons.items():
        if not rule_id.startswith(RULE_PREFIXES) or not _RULE_ID.match(rule_id):
            raise ValueError(
                f"rule_id must name a rule of {', '.join(p.rstrip('-') for p in RULE_PREFIXES)} "
                "(like AwsSolutions-S1, or as the synth prints it, AwsSolutions::AwsSolutions-S1)"
                f", got {rule_id!r}"
            )
        words = len(reason.split())
        if words < MIN_REASON_WORDS or len(reason.strip()) < MIN_REASON_CHARS:
            raise ValueError(
                f"reason for {rule_id} must be a sentence an auditor can accept (at least "
                f"{MIN_REASON_WORDS} words and {MIN_REASON_CHARS} characters), got {reason!r}"
            )
    if reasons:  # one call into the CDK for all of them (each call crosses to node)
        cdk.Validations.of(construct).acknowledge(
            *(cdk.Acknowledgment(id=rule_id, reason=reason) for rule_id, reason in reasons.items())
        )


@dataclass(frozen=True, order=True)
class AcknowledgementRecord:
    """One acknowledged rule on one resource of a synthesized template."""

    stack: str
    logical_id: str
    resource_type: str
    path: str
    rule_id: str
    reason: str


def acknowledgements_in(assembly_dir: Path) -> Iterator[AcknowledgementRecord]:
    """Every acknowledgement written into the templates of a cloud assembly."""
    for template_path in sorted(assembly_dir.glob("*.template.json")):
        template = json.loads(template_path.read_text(encoding="utf-8"))
        stack = template_path.name.removesuffix(".template.json")
        for logical_id, resource in template.get("Resources", {}).items():
            metadata = resource.get("Metadata", {})
            for item in metadata.get(_NAG_METADATA_KEY, {}).get("rules_to_suppress", []):
                yield AcknowledgementRecord(
                    stack=stack,
                    logical_id=logical_id,
                    resource_type=resource.get("Type", ""),
                    path=metadata.get("aws:cdk:path", ""),
                    rule_id=item["id"],
                    reason=item["reason"],
                )


def render_acknowledgements(assembly_dir: Path) -> str:
    """``docs/acknowledgements.md``: every acknowledgement of the example organisation."""
    records = sorted(acknowledgements_in(assembly_dir))
    lines = [
        "# cdk-nag acknowledgements",
        "",
        "<!-- Generated by `python -m baseline docs` from the synthesized example "
        "organisation; do not edit. -->",
        "",
        "Every finding of the compliance packs that the kit acknowledges instead of fixing, "
        "with the reason. Each one is made through `baseline.compliance.acknowledge()` on the "
        "narrowest construct, and is also written into the template metadata "
        "(`cdk_nag.rules_to_suppress`) so other scanners see it.",
        "",
        f"Packs run on every synth: {', '.join(p.__name__ for p in PACKS)}.",
        "",
        f"{len(records)} acknowledgements on "
        f"{len({(r.stack, r.logical_id) for r in records})} resources.",
        "",
    ]
    by_reason: dict[tuple[str, str], list[AcknowledgementRecord]] = {}
    for record in records:
        by_reason.setdefault((record.stack, record.reason), []).append(record)
    current_stack = None
    for (stack, reason), group in sorted(by_reason.items()):
        if stack != current_stack:
            lines += [f"## {stack}", ""]
            current_stack = stack
        resources = sorted({f"`{r.path or r.logical_id}` ({r.resource_type})" for r in group})
        rules = sorted({f"`{r.rule_id}`" for r in group})
        lines += [
            f"- **Reason:** {reason}",
            f"  - Rules: {', '.join(rules)}",
            f"  - Resources: {', '.join(resources)}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
