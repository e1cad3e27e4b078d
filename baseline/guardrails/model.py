"""What a guardrail is: data with an id, a purpose, references, statements and targets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Statement = dict[str, Any]

#: The organisation root, as a guardrail target.
ROOT = "Root"


class PolicyType(StrEnum):
    """The AWS Organizations policy types the kit writes."""

    SCP = "SERVICE_CONTROL_POLICY"
    RCP = "RESOURCE_CONTROL_POLICY"
    DECLARATIVE_EC2 = "DECLARATIVE_POLICY_EC2"
    TAG = "TAG_POLICY"
    AI_OPT_OUT = "AISERVICES_OPT_OUT_POLICY"
    BACKUP = "BACKUP_POLICY"


#: Per policy type: the content size limit (characters) and how many policies of the type
#: one root, OU or account may have attached, including the AWS-managed full-access policy
#: that AWS Organizations attaches everywhere for SCPs and RCPs.
LIMITS: dict[PolicyType, tuple[int, int, int]] = {
    #              size, attached per target, of which AWS-managed
    PolicyType.SCP: (5120, 5, 1),
    PolicyType.RCP: (5120, 5, 1),
    PolicyType.DECLARATIVE_EC2: (10000, 10, 0),
    PolicyType.TAG: (10000, 10, 0),
    PolicyType.AI_OPT_OUT: (2500, 5, 0),
    PolicyType.BACKUP: (10000, 10, 0),
}


@dataclass(frozen=True)
class Guardrail:
    """One guardrail of the library.

    :param id: stable identifier, e.g. ``SCP-ROOT-USER``; names the policy statements.
    :param purpose: one line saying what it prevents or enforces.
    :param policy_type: which AWS Organizations policy carries it.
    :param best_practices: Well-Architected Security Pillar best practices it serves.
    :param cis: CIS AWS Foundations Benchmark recommendations (v5.0.0 numbering).
    :param statements: IAM policy statements (SCP, RCP), or for the other policy types
        one content document.
    :param attach_to: default targets: ``Root`` or OU paths from the config.
    :param exemptions: human-readable list of who is exempt and why (for the docs).
    """

    id: str
    purpose: str
    policy_type: PolicyType
    best_practices: tuple[str, ...]
    cis: tuple[str, ...] = ()
    statements: tuple[Statement, ...] = ()
    content: dict[str, Any] | None = None
    attach_to: tuple[str, ...] = (ROOT,)
    exemptions: tuple[str, ...] = field(default=())

    def minified(self) -> list[str]:
        """Each statement as compact JSON, the unit the packer works with."""
        return [minify(s) for s in self.statements]


def minify(value: Any) -> str:
    """Compact, key-sorted JSON: the same input always gives the same characters."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
