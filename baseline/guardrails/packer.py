"""Packs guardrail statements into as few AWS Organizations policies as fit.

Each target (the root, an OU, an account) may have at most five SCPs and five RCPs
attached, the AWS-managed full-access policy among them, and each policy holds at most
5,120 characters. Statements are minified, then placed first-fit in decreasing size
order (ties broken by guardrail id and position), so the same guardrails always give the
same policies in the same order. Targets with the same guardrails share one set of
policies. When a target's guardrails cannot fit, :class:`PackingError` names the target
and the overflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from baseline import naming
from baseline.guardrails.model import LIMITS, ROOT, Guardrail, PolicyType

_VERSION = "2012-10-17"
#: Characters of ``{"Version":"2012-10-17","Statement":[]}`` around the statements.
ENVELOPE = len(json.dumps({"Version": _VERSION, "Statement": []}, separators=(",", ":")))


#: Characters kept free in every policy for differences in how CloudFormation serialises it.
SERIALIZATION_MARGIN = 120

#: Attachment slots kept free at the root, per policy type. CloudFormation creates and
#: attaches a replacing policy before it detaches the one it replaces (a renamed policy, a
#: changed type), so a root with every slot taken could never be changed again.
ROOT_SPARE_SLOTS = 1


class PackingError(ValueError):
    """Guardrails that cannot fit within the AWS Organizations limits of a target."""


@dataclass(frozen=True)
class PackedPolicy:
    """One policy document to create, and where to attach it."""

    name: str
    policy_type: PolicyType
    content: str
    guardrail_ids: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.content)


def _document(statements: Sequence[str]) -> str:
    return '{"Version":"%s","Statement":[%s]}' % (_VERSION, ",".join(statements))  # noqa: UP031


def statement_capacity(size_limit: int) -> int:
    """The characters of statements a policy of ``size_limit`` holds: less its envelope
    and the margin kept for CloudFormation's own serialisation."""
    return size_limit - ENVELOPE - SERIALIZATION_MARGIN


def pack_statements(
    items: Sequence[tuple[str, int, str]],
    *,
    size_limit: int,
    max_policies: int,
    target_label: str,
    policy_type: PolicyType,
    spare: int = 0,
) -> list[tuple[tuple[str, ...], str]]:
    """Pack (guardrail id, position, minified statement) items into policy documents.

    :returns: for each policy, the guardrail ids it holds and its content.
    :raises PackingError: one statement is too large, or more policies are needed than allowed.
    """
    # CloudFormation serialises the content again; keep a margin for its formatting.
    capacity = statement_capacity(size_limit)
    ordered = sorted(items, key=lambda item: (-len(item[2]), item[0], item[1]))
    bins: list[list[tuple[str, int, str]]] = []
    used: list[int] = []
    for item in ordered:
        length = len(item[2])
        if length > capacity:
            raise PackingError(
                f"{policy_type.name} for {target_label}: statement {item[1]} of {item[0]} is "
                f"{length} characters minified; a policy holds at most {capacity} besides its envelope"
            )
        for index, filled in enumerate(used):
            extra = length + (1 if bins[index] else 0)  # the comma between statements
            if filled + extra <= capacity:
                bins[index].append(item)
                used[index] += extra
                break
        else:
            bins.append([item])
            used.append(length)
    if len(bins) > max_policies:
        overflow = bins[max_policies:]
        overflow_chars = sum(len(s) for b in overflow for _, _, s in b)
        overflow_ids = sorted({g for b in overflow for g, _, _ in b})
        raise PackingError(
            f"{policy_type.name} for {target_label}: the guardrails need {len(bins)} policies but at "
            f"most {max_policies} can be attached there (AWS allows {LIMITS[policy_type][1]} per "
            "target, the AWS-managed full-access policy included"
            + (f", and {spare} is kept free at the root for replacements" if spare else "")
            + f"); overflow: {overflow_chars} "
            f"characters from {', '.join(overflow_ids)}. Move guardrails to a parent OU, "
            "merge custom statements, or disable some in the config."
        )
    packed: list[tuple[tuple[str, ...], str]] = []
    for bin_items in bins:
        # inside a policy, statements keep the library's order: guardrail, then position
        bin_items.sort(key=lambda item: (item[0], item[1]))
        ids = tuple(dict.fromkeys(g for g, _, _ in bin_items))
        packed.append((ids, _document([s for _, _, s in bin_items])))
    return packed


def pack(
    guardrails: Sequence[Guardrail],
    attachments: Mapping[str, Sequence[str]],
    *,
    prefix: str,
) -> list[PackedPolicy]:
    """Policies for every target.

    :param guardrails: the enabled guardrails (SCP and RCP statement guardrails).
    :param attachments: guardrail id -> targets it attaches to.
    :param prefix: the organisation prefix, for policy names.
    :raises ValueError: two guardrails have the same id (the config rules refuse a custom
        guardrail with a library id, so a validated config never gets here).
    """
    by_id: dict[str, Guardrail] = {}
    for g in guardrails:
        if g.id in by_id:
            raise ValueError(f"two guardrails have the id {g.id!r}; one would replace the other")
        by_id[g.id] = g
    per_target: dict[tuple[PolicyType, str], list[str]] = {}
    for guardrail_id, targets in sorted(attachments.items()):
        guardrail = by_id[guardrail_id]
        for target in dict.fromkeys(targets):  # a target listed twice gets the statements once
            per_target.setdefault((guardrail.policy_type, target), []).append(guardrail_id)
    # each target has policies of its own, named after it: shared by the targets with the
    # same guardrails, they were named after the first of them, so a new target sorting
    # before it renamed (replaced) them all, and CloudFormation's create-before-delete
    # then held the old and the new policies on every target at once, over the limit
    policies: list[PackedPolicy] = []
    for (policy_type, target), target_ids in sorted(
        per_target.items(), key=lambda item: (item[0][0].value, item[0][1])
    ):
        size_limit, per_target_max, managed = LIMITS[policy_type]
        spare = ROOT_SPARE_SLOTS if target == ROOT else 0
        ids = sorted(target_ids)
        items = [
            (gid, i, statement) for gid in ids for i, statement in enumerate(by_id[gid].minified())
        ]
        documents = pack_statements(
            items,
            size_limit=size_limit,
            max_policies=per_target_max - managed - spare,
            target_label=repr(target),
            policy_type=policy_type,
            spare=spare,
        )
        slug = naming.slug(target)
        kind = "scp" if policy_type == PolicyType.SCP else "rcp"
        for n, (guardrail_ids, content) in enumerate(documents, start=1):
            policies.append(
                PackedPolicy(
                    name=f"{prefix}-{kind}-{slug}-{n}",
                    policy_type=policy_type,
                    content=content,
                    guardrail_ids=guardrail_ids,
                    targets=(target,),
                )
            )
    return policies
