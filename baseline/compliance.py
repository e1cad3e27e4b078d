"""Compliance at synth: the cdk-nag packs, AWS Control Tower's proactive controls, and
the one way to acknowledge a finding of any scanner.

cdk-nag 3 and the Control Tower rules (CloudFormation Guard, the rules and binary that
``cdk-validator-cfnguard`` ships, run by :mod:`baseline.control_tower`) run as CDK
policy-validation plugins: a violation makes the synth fail with a report in
``<outdir>/validation-report.json``. checkov runs on the synthesized templates in CI
(``make scan``). Every acknowledgement, for any of the three, goes through
:func:`acknowledge`, which insists on a reason an auditor can read, and is written into the
template metadata where each scanner reads it (``cdk_nag.rules_to_suppress``,
``guard.SuppressedRules``, ``checkov.skip``) and ``docs/acknowledgements.md`` lists it.
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
import jsii
from constructs import IConstruct

from baseline import control_tower
from baseline.assembly import NAG_METADATA_KEY, templates_with_stack_sets

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

#: The Control Tower rules' plugin: its findings are acknowledged as ``<plugin>::<rule name>``
#: (the rule name the synth prints, like ``sqs_dlq_check``, not the CT.SQS.PR.1 id).
GUARD_PLUGIN = control_tower.PLUGIN
#: Control Tower rules the kit does not run at all (by rule file name, ``ct-s3-pr-9``):
#: none. Each finding is fixed, or acknowledged on its resource with a reason.
GUARD_DISABLED_RULES: tuple[str, ...] = ()

#: A reason must read as a sentence: this many words and characters at least.
MIN_REASON_WORDS = 8
MIN_REASON_CHARS = 50

_RULE_ID = re.compile(r"^[A-Za-z0-9.]+-[A-Za-z0-9]+(\[[^\]]+\])?\Z")
_GUARD_ID = re.compile(rf"^{GUARD_PLUGIN}::([a-z0-9_]+)$")
_CHECKOV_ID = re.compile(r"^CKV2?_AWS_[0-9]+\Z")
_GUARD_METADATA_KEY = "guard"
_CHECKOV_METADATA_KEY = "checkov"


class ComplianceError(RuntimeError):
    """A synth the compliance packs refused; the message says where the report is."""


#: The file, in a synth's output directory, where the CDK writes the packs' report.
VALIDATION_REPORT = "validation-report.json"


def violations_in_report(outdir: str) -> list[str]:
    """Every violation the validation report of a synth lists, as ``plugin: rule on
    construct path`` lines; none when there is no report."""
    path = Path(outdir) / VALIDATION_REPORT
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
        too_many = _TOO_MANY_RESOURCES.search(str(error))
        if too_many:
            stack, count, most = too_many.groups()
            raise StackLimitError(
                f"{what}: stack {stack} holds {count} resources and CloudFormation takes at "
                f"most {most}; give it fewer (the Organization stack: fewer "
                "organizational_units, or fewer guardrails attached to OUs)"
            ) from None
        if "ValidationFailed" not in str(error):
            raise
        raise ComplianceError(violation_message(what, app.outdir)) from None
    if violations_in_report(app.outdir):
        raise ComplianceError(violation_message(what, app.outdir))
    too_large = [
        f"{path.name} ({size:,} bytes)"
        for path in _stack_template_files(assembly)
        if (size := path.stat().st_size) > TEMPLATE_FILE_LIMIT
    ]
    if too_large:
        raise StackLimitError(
            f"{what}: CloudFormation takes templates of at most {TEMPLATE_FILE_LIMIT:,} bytes, "
            f"and {', '.join(too_large)} is larger; split what it holds"
        )
    return assembly


#: The largest template CloudFormation takes (from S3, as the CDK CLI deploys).
TEMPLATE_FILE_LIMIT = 1_000_000

_TOO_MANY_RESOURCES = re.compile(
    r"Number of resources in stack '([^']+)': (\d+) is greater than allowed maximum of (\d+)"
)


class StackLimitError(ValueError):
    """A stack CloudFormation would refuse: too many resources, or too large a template."""


def _stack_template_files(assembly: cdk.cx_api.CloudAssembly) -> list[Path]:
    """Every template file a deploy uploads: each stack's, and the nested stacks' beside
    them (the Identity Center assignment shards)."""
    directory = Path(assembly.directory)
    files = [directory / stack.template_file for stack in assembly.stacks_recursively]
    return files + sorted(directory.glob("*.shard-*.json"))


def violation_message(what: str, outdir: str) -> str:
    """What a refused synth's error says: the first violations of the report in
    ``outdir`` and the report's path."""
    found = violations_in_report(outdir)
    named = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
    return (
        f"{what}: compliance violations{f' ({named})' if named else ''}, see "
        f"{outdir}/{VALIDATION_REPORT}"
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
    except (ComplianceError, StackLimitError) as error:
        print(f"synth failed: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def attach_packs(app: cdk.App) -> None:
    """Run every pack in :data:`PACKS` and the Control Tower proactive controls on the
    whole app at synth."""
    packs = [pack(app, write_suppressions_to_cloud_formation=True) for pack in PACKS]
    validations = cdk.Validations.of(app)
    validations.add_plugins(*packs)
    validations.add_plugins(ControlTowerRules())  # type: ignore[arg-type]  # the Beta1 plugin interface, which the CDK still runs


@jsii.implements(cdk.IPolicyValidationPluginBeta1)
class ControlTowerRules:
    """AWS Control Tower's proactive controls as a validation plugin.

    The rules and the cfn-guard binary are those ``CfnGuardValidator`` ships, every rule
    enabled (less :data:`GUARD_DISABLED_RULES`, which is empty); :mod:`baseline.control_tower`
    runs them on each template with the rules that name its resource types, on every core
    at once, and this turns its findings into the plugin report the CDK expects. The CDK
    then drops the findings that are acknowledged on their constructs.
    """

    @property
    def name(self) -> str:
        """The plugin's name, the prefix of its findings' acknowledgement ids."""
        return GUARD_PLUGIN

    @property
    def version(self) -> str | None:
        return control_tower.bundle().version

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(
        self, context: cdk.IPolicyValidationContextBeta1
    ) -> cdk.PolicyValidationPluginReportBeta1:
        findings = control_tower.check(list(context.template_paths), GUARD_DISABLED_RULES)
        grouped: dict[tuple[str, str, str], list[control_tower.Finding]] = {}
        for finding in findings:
            grouped.setdefault((finding.rule_name, finding.fix, finding.description), []).append(
                finding
            )
        violations = [
            cdk.PolicyViolationBeta1(
                rule_name=rule_name,
                description=description,
                fix=fix,
                rule_metadata={"DocumentationUrl": control_tower.DOCUMENTATION_URL},
                violating_resources=[
                    cdk.PolicyViolatingResourceBeta1(
                        resource_logical_id=f.logical_id,
                        template_path=f.template_path,
                        locations=list(f.locations),
                    )
                    for f in found
                ],
            )
            for (rule_name, fix, description), found in grouped.items()
        ]
        return cdk.PolicyValidationPluginReportBeta1(success=not violations, violations=violations)


def acknowledge(construct: IConstruct, rule_id: str | Sequence[str], reason: str) -> None:
    """Acknowledge findings on one construct (and its children), with a reason.

    A rule id is one of three forms:

    - a cdk-nag rule: ``AwsSolutions-S1``; findings with a sub-id are acknowledged one by
      one: ``AwsSolutions-IAM5[Resource::arn:...]``;
    - a Control Tower rule, as the synth prints it: ``cdk-validator-cfnguard::sqs_dlq_check``;
    - a checkov check: ``CKV_AWS_117``.

    Acknowledge on the narrowest construct that raises the finding; Control Tower and
    checkov acknowledgements go on one resource (a ``CfnResource``, or a construct whose
    default child is one), because that is where those scanners read them. Several rule
    ids (the same finding in several packs) may share one reason.

    :raises ValueError: a rule id is of none of those forms, a Control Tower or checkov
        acknowledgement is not on one resource, or the reason is not a real sentence (at
        least eight words and fifty characters).
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
    guard: dict[str, str] = {}
    checkov: dict[str, str] = {}
    for rule_id, reason in reasons.items():
        if _GUARD_ID.match(rule_id):
            guard[rule_id] = reason
        elif _CHECKOV_ID.match(rule_id):
            checkov[rule_id] = reason
        elif not rule_id.startswith(RULE_PREFIXES) or not _RULE_ID.match(rule_id):
            raise ValueError(
                f"rule_id must name a rule of {', '.join(p.rstrip('-') for p in RULE_PREFIXES)} "
                "(like AwsSolutions-S1, or as the synth prints it, AwsSolutions::AwsSolutions-S1)"
                f", a Control Tower rule as the synth prints it ({GUARD_PLUGIN}::sqs_dlq_check) "
                f"or a checkov check (CKV_AWS_117), got {rule_id!r}"
            )
        words = len(reason.split())
        if words < MIN_REASON_WORDS or len(reason.strip()) < MIN_REASON_CHARS:
            raise ValueError(
                f"reason for {rule_id} must be a sentence an auditor can accept (at least "
                f"{MIN_REASON_WORDS} words and {MIN_REASON_CHARS} characters), got {reason!r}"
            )
    acknowledged = {
        rule_id: reason for rule_id, reason in reasons.items() if rule_id not in checkov
    }
    if acknowledged:  # one call into the CDK for all of them (each call crosses to node)
        cdk.Validations.of(construct).acknowledge(
            *(
                cdk.Acknowledgment(id=rule_id, reason=reason)
                for rule_id, reason in acknowledged.items()
            )
        )
    if guard or checkov:
        _write_scanner_metadata(_resource_of(construct, [*guard, *checkov]), guard, checkov)


def _resource_of(construct: IConstruct, rule_ids: Sequence[str]) -> cdk.CfnResource:
    if isinstance(construct, cdk.CfnResource):
        return construct
    child = construct.node.default_child
    if isinstance(child, cdk.CfnResource):
        return child
    raise ValueError(
        f"{', '.join(rule_ids)}: Control Tower and checkov acknowledgements go on one "
        f"resource (where those scanners read them), not on {construct.node.path}"
    )


def _write_scanner_metadata(
    resource: cdk.CfnResource, guard: Mapping[str, str], checkov: Mapping[str, str]
) -> None:
    """Write the acknowledgements where Guard and checkov read them, keeping earlier ones."""
    if guard:
        current = resource.get_metadata(_GUARD_METADATA_KEY) or {}
        rules = list(current.get("SuppressedRules", []))
        why = dict(current.get("Reasons", {}))
        for rule_id, reason in guard.items():
            rule = rule_id.partition("::")[2]
            if rule not in rules:
                rules.append(rule)
            why[rule] = reason
        resource.add_metadata(_GUARD_METADATA_KEY, {"SuppressedRules": rules, "Reasons": why})
    if checkov:
        current = resource.get_metadata(_CHECKOV_METADATA_KEY) or {}
        skips = [s for s in current.get("skip", []) if s.get("id") not in checkov]
        skips += [{"id": check, "comment": reason} for check, reason in checkov.items()]
        resource.add_metadata(_CHECKOV_METADATA_KEY, {"skip": skips})


#: The suites an acknowledgement can belong to, in the order the docs list them.
SUITES = ("cdk-nag", "Control Tower", "checkov")


@dataclass(frozen=True, order=True)
class AcknowledgementRecord:
    """One acknowledged rule on one resource of a synthesized template."""

    stack: str
    logical_id: str
    resource_type: str
    path: str
    suite: str
    rule_id: str
    reason: str


def _records_of(stack: str, template: Mapping[str, object]) -> Iterator[AcknowledgementRecord]:
    resources = template.get("Resources", {})
    assert isinstance(resources, dict)
    for logical_id, resource in resources.items():
        metadata = resource.get("Metadata", {})
        found: list[tuple[str, str, str]] = [
            ("cdk-nag", item["id"], item["reason"])
            for item in metadata.get(NAG_METADATA_KEY, {}).get("rules_to_suppress", [])
        ]
        guard = metadata.get(_GUARD_METADATA_KEY, {})
        found += [
            ("Control Tower", rule, guard.get("Reasons", {}).get(rule, ""))
            for rule in guard.get("SuppressedRules", [])
        ]
        found += [
            ("checkov", item["id"], item.get("comment", ""))
            for item in metadata.get(_CHECKOV_METADATA_KEY, {}).get("skip", [])
        ]
        for suite, rule_id, reason in found:
            yield AcknowledgementRecord(
                stack=stack,
                logical_id=logical_id,
                resource_type=resource.get("Type", ""),
                path=metadata.get("aws:cdk:path", ""),
                suite=suite,
                rule_id=rule_id,
                reason=reason,
            )


def acknowledgements_in(assembly_dir: Path) -> Iterator[AcknowledgementRecord]:
    """Every acknowledgement written into the templates of a cloud assembly (and into the
    StackSet templates they carry), of every suite."""
    for stack, template in templates_with_stack_sets(assembly_dir):
        yield from _records_of(stack, template)


def render_acknowledgements(assembly_dir: Path) -> str:
    """``docs/acknowledgements.md``: every acknowledgement of the example organisation."""
    records = sorted(acknowledgements_in(assembly_dir))
    counts = ", ".join(f"{sum(1 for r in records if r.suite == suite)} {suite}" for suite in SUITES)
    lines = [
        "# Acknowledgements",
        "",
        "<!-- Generated by `python -m baseline docs` from the synthesized example "
        "organisation; do not edit. -->",
        "",
        "Every finding of the compliance suites that the kit acknowledges instead of fixing, "
        "with the reason. Each one is made through `baseline.compliance.acknowledge()` on the "
        "narrowest construct, and is written into the template metadata where each scanner "
        "reads it: `cdk_nag.rules_to_suppress` (cdk-nag), `guard.SuppressedRules` (the "
        "Control Tower proactive controls, with the reasons under `guard.Reasons`) and "
        "`checkov.skip` (checkov).",
        "",
        f"cdk-nag packs run on every synth: {', '.join(p.__name__ for p in PACKS)}. The "
        f"Control Tower proactive controls ({GUARD_PLUGIN}) run on every synth, "
        + (
            f"all but {', '.join(f'`{r}`' for r in GUARD_DISABLED_RULES)}"
            if GUARD_DISABLED_RULES
            else "every rule enabled"
        )
        + " (each on the templates that hold a resource type it checks). checkov runs on every template in CI (`make scan`).",
        "",
        f"{len(records)} acknowledgements ({counts}) on "
        f"{len({(r.stack, r.logical_id) for r in records})} resources.",
        "",
    ]
    by_reason: dict[tuple[str, str, str], list[AcknowledgementRecord]] = {}
    for record in records:
        by_reason.setdefault((record.stack, record.suite, record.reason), []).append(record)
    current_stack = None
    for (stack, suite, reason), group in sorted(
        by_reason.items(), key=lambda item: (item[0][0], SUITES.index(item[0][1]), item[0][2])
    ):
        if stack != current_stack:
            lines += [f"## {stack}", ""]
            current_stack = stack
        resources = sorted({f"`{r.path or r.logical_id}` ({r.resource_type})" for r in group})
        rules = sorted({f"`{r.rule_id}`" for r in group})
        lines += [
            f"- **Reason ({suite}):** {reason}",
            f"  - Rules: {', '.join(rules)}",
            f"  - Resources: {', '.join(resources)}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
