"""What a control is, what its check returns, and the helpers checks read templates with.

A control names the Well-Architected Security Pillar best practices it serves, the CIS
AWS Foundations Benchmark (v5.0.0 numbering) recommendations where they apply, the
construct that implements it, and a check over the synthesized templates. A check
returns the evidence it found and the violations it found; a control holds when there is
evidence and no violation.

A domain module defines each control right above its check::

    CONTROLS: list[Control] = []

    @control(CONTROLS, id="LZ-KMS-01", title="...", explanation="...", ...)
    def check_kms_keys(templates: Templates) -> Evidence: ...
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Template = Mapping[str, Any]
Templates = Mapping[str, Template]  # stack name -> template

#: A title fits one table cell; the explanation says the rest.
MAX_TITLE = 80

#: The parts of a landing zone a config may leave out, and so the controls that only
#: apply with them (``Control.applies_to``); ``baseline.report`` decides each from the
#: config.
FEATURES = {
    "replication": "replication of the log archive to a second region",
    "identity_center": "identity_center section",
    "break_glass": "break-glass role (member_baseline.break_glass_principals)",
    "network_hub": "network hub (network.hub)",
    "vpcs": "VPC of the kit (network.hub, or a forensics account)",
    "forensics": "forensics account",
    "containment": "OU that incident_response.containment isolates",
    "remediation": "OU that incident_response.remediation remediates",
    "packages": "packages section",
}


@dataclass
class Evidence:
    """What a check found: resources that satisfy the control, and those that do not."""

    found: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return bool(self.found) and not self.violations

    def record(self, name: str, ok: bool) -> None:
        """Count ``name`` as evidence when ``ok``, as a violation otherwise."""
        (self.found if ok else self.violations).append(name)


Check = Callable[[Templates], Evidence]


@dataclass(frozen=True)
class Control:
    """One control of the kit: what it promises, where it comes from, and its check."""

    id: str
    #: At most 80 characters: the row of the controls table.
    title: str
    #: One or two sentences: exactly what the check requires.
    explanation: str
    best_practices: tuple[str, ...]
    cis: tuple[str, ...]
    implemented_by: str
    check: Check
    #: A key of ``FEATURES`` when the control applies only to a config that has that part;
    #: empty when every landing zone has it.
    applies_to: str = ""

    def __post_init__(self) -> None:
        if self.applies_to and self.applies_to not in FEATURES:
            raise ValueError(
                f"{self.id}: applies_to {self.applies_to!r} is none of {', '.join(FEATURES)}"
            )
        if len(self.title) > MAX_TITLE:
            raise ValueError(
                f"{self.id}: title must be at most {MAX_TITLE} characters, got "
                f"{len(self.title)}; move the detail to the explanation"
            )
        if not self.explanation.strip():
            raise ValueError(f"{self.id}: explanation must say what the check requires")


def control(
    registry: list[Control],
    *,
    id: str,
    title: str,
    explanation: str,
    best_practices: tuple[str, ...],
    cis: tuple[str, ...] = (),
    implemented_by: str,
    applies_to: str = "",
) -> Callable[[Check], Check]:
    """Define a control beside its check: append it to ``registry``, return the check as is."""

    def register(check: Check) -> Check:
        registry.append(
            Control(
                id=id,
                title=title,
                explanation=explanation,
                best_practices=best_practices,
                cis=cis,
                implemented_by=implemented_by,
                check=check,
                applies_to=applies_to,
            )
        )
        return check

    return register


# --- reading templates -------------------------------------------------------------------


def resources(templates: Templates, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``stack/logical id``, resource) for every resource of a type."""
    for stack, template in sorted(templates.items()):
        for logical_id, resource in template.get("Resources", {}).items():
            if resource.get("Type") == resource_type:
                yield f"{stack}/{logical_id}", resource


def properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's ``Properties`` (empty when it has none)."""
    props: dict[str, Any] = resource.get("Properties", {})
    return props


def as_list(value: Any) -> list[Any]:
    """A policy field that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


#: Deletion policies that keep a resource when its stack deletes it: Retain, or
#: RetainExceptOnCreate (removed only when its own creation fails, so a failed first
#: deploy can be retried).
RETAINED = ("Retain", "RetainExceptOnCreate")


def retained(resource: Mapping[str, Any]) -> bool:
    """The resource survives both deletion of its stack and replacement."""
    return bool(
        resource.get("DeletionPolicy") in RETAINED
        and resource.get("UpdateReplacePolicy") == "Retain"
    )


def bucket_policies(templates: Templates) -> dict[str, list[dict[str, Any]]]:
    """Statements of each bucket policy, keyed by ``stack/bucket logical id``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, policy in resources(templates, "AWS::S3::BucketPolicy"):
        stack = name.split("/")[0]
        bucket = properties(policy).get("Bucket", {})
        logical = bucket.get("Ref") if isinstance(bucket, dict) else None
        statements = properties(policy).get("PolicyDocument", {}).get("Statement", [])
        out.setdefault(f"{stack}/{logical}", []).extend(statements)
    return out


#: The stack of each region's security tooling: ``SecurityTooling-<region>``.
SECURITY_TOOLING = "SecurityTooling-"


def tooled_regions(templates: Templates, service: str) -> set[str]:
    """The governed regions where the organisation settings make the audit account the
    delegated administrator of ``service``: each must have a SecurityTooling stack, and a
    region whose stack is missing from the templates is one of them still."""
    return {
        region
        for _, settings in resources(templates, "Custom::OrganizationSettings")
        if service
        in (admins := properties(settings).get("ServiceAdministrators") or {}).get("Services", [])
        for region in admins.get("Regions", [])
    }


# --- organisation policies ------------------------------------------------------------


def is_root(target: Any) -> bool:
    if isinstance(target, str):
        return target.startswith("r-")
    return isinstance(target, dict) and target.get("Fn::GetAtt", [None, None])[1] == "RootId"


def org_policies(
    templates: Templates, policy_type: str, *, at_root: bool = False, below_root: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, parsed content) of each organisation policy of a type, optionally only those
    attached to the root (``at_root``) or to a target other than the root (``below_root``:
    an OU or an account)."""
    for name, policy in resources(templates, "AWS::Organizations::Policy"):
        props = properties(policy)
        if props.get("Type") != policy_type:
            continue
        targets = props.get("TargetIds") or []
        if at_root and not any(is_root(t) for t in targets):
            continue
        if below_root and all(is_root(t) for t in targets):
            continue
        content = props.get("Content", {})
        parsed: dict[str, Any] = json.loads(content) if isinstance(content, str) else content
        yield name, parsed


def root_denies(
    templates: Templates, policy_type: str, predicate: Callable[[dict[str, Any]], bool]
) -> Evidence:
    """Each Deny statement matching ``predicate`` in a policy of the type at the root.

    Only evidence, never a violation: with no matching statement the control does not hold.
    """
    evidence = Evidence()
    for name, content in org_policies(templates, policy_type, at_root=True):
        for statement in as_list(content.get("Statement", [])):
            if statement.get("Effect") == "Deny" and predicate(statement):
                evidence.found.append(f"{name}: {statement.get('Sid', '?')}")
    return evidence


def actions(statement: dict[str, Any]) -> set[str]:
    """A statement's actions, lower-cased."""
    return {a.lower() for a in as_list(statement.get("Action", []))}


#: Operators under which a Deny applies unless the key has the value: "deny unless".
DENY_UNLESS = (
    "StringNotEquals",
    "StringNotEqualsIfExists",
    "StringNotLike",
    "StringNotLikeIfExists",
    "ArnNotEquals",
    "ArnNotEqualsIfExists",
    "ArnNotLike",
    "ArnNotLikeIfExists",
)
#: Operators under which a statement applies only when the key has the value: "only if".
ONLY_IF = ("StringEquals", "StringLike", "ArnEquals", "ArnLike")


def condition_values(
    statement: dict[str, Any], key: str, *, operators: Iterable[str] | None = None
) -> list[Any]:
    """The values a statement's conditions give a key (case-insensitive), under any of
    ``operators`` (case-insensitive, written out in full: ``StringNotEqualsIfExists``), or
    under any operator when ``operators`` is None."""
    wanted = None if operators is None else {o.lower() for o in operators}
    conditions = statement.get("Condition", {})
    return [
        value
        for operator, block in (conditions.items() if isinstance(conditions, dict) else [])
        if isinstance(block, dict) and (wanted is None or operator.lower() in wanted)
        for k, value in block.items()
        if k.lower() == key.lower()
    ]
