"""``python -m baseline diagram``: the organisation of a config as a picture.

The OU tree with every account, the guardrails attached at each level (the SCPs and RCPs
as the packer makes them, and the other organisation policies), and the stacks the
landing zone deploys into each account, with their regions. Mermaid by default (GitHub
renders it; docs/architecture.md embeds the example's), Graphviz DOT with ``--format
dot``.

The stacks come from the landing zone's construct tree: building it starts the CDK, but
nothing is synthesized or checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from baseline.config import ROOT_OU, Account, LandingZoneConfig
from baseline.guardrails import packed_policies
from baseline.guardrails.org_policies import organization_policies

FORMATS = ("mermaid", "dot")


@dataclass(frozen=True)
class Placement:
    """The stacks of one account: CDK id group -> regions."""

    stacks: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Organisation:
    """What the picture shows, independent of its notation."""

    name: str
    #: OU path -> guardrail and policy names attached there ("Root" and account names too)
    attached: dict[str, list[str]]
    ou_paths: list[str]
    accounts: list[Account]
    placements: dict[str, Placement]  # account id -> its stacks


def stack_group(stack_id: str, *, placeholders: bool = False) -> str:
    """The kind of a stack, one per line of the picture and row of the deploy order:
    ``Network-eu-west-1`` -> ``Network``, ``Accounts03`` -> ``Accounts``,
    ``MachineAccess-audit`` -> ``MachineAccess``; with ``placeholders``, what was dropped
    is named: ``Network-<region>``, ``Accounts<NN>``, ``MachineAccess-<account>``."""
    region, number, account = ("-<region>", "<NN>", "-<account>") if placeholders else ("", "", "")
    grouped = re.sub(r"-[a-z]{2}(-[a-z]+)+-\d$", region, stack_id)
    grouped = re.sub(r"^MachineAccess-[a-z0-9-]+$", f"MachineAccess{account}", grouped)
    return re.sub(r"\d\d$", number, grouped)


def organisation(
    config: LandingZoneConfig, stacks: Sequence[tuple[str, str, str]] = ()
) -> Organisation:
    """The picture's content; ``stacks`` are (CDK id, account id, region)."""
    attached: dict[str, list[str]] = {}
    for policy in packed_policies(config):
        for target in policy.targets:
            for guardrail_id in policy.guardrail_ids:
                if guardrail_id not in attached.setdefault(target, []):
                    attached[target].append(guardrail_id)
    for name, (_, _, targets) in organization_policies(config).items():
        for target in targets:
            attached.setdefault(target, []).append(name)
    placements: dict[str, Placement] = {}
    if stacks:  # the member baseline's StackSet instances, in every member account it targets
        targets = config.member_baseline.target_ous
        for member in config.accounts:
            in_target = any(
                t in (ROOT_OU, member.ou) or member.ou.startswith(f"{t}/") for t in targets
            )
            if member.id and member.role.value != "management" and in_target:
                placements.setdefault(member.id, Placement()).stacks[
                    "member baseline (StackSet)"
                ] = list(config.governed_regions)
    for stack_id, account, region in stacks:
        regions = placements.setdefault(account, Placement()).stacks.setdefault(
            stack_group(stack_id), []
        )
        if region not in regions:
            regions.append(region)
    return Organisation(
        config.organization.name,
        attached,
        config.ou_paths(),
        list(config.accounts),
        placements,
    )


#: The start of a node id, by the kind of node: never from the name, so that an OU path
#: and an account name that read alike (``account/team`` and ``team``) stay two nodes.
#: (An account's keeps ``account/``, escaped, so that drawn pictures keep their ids.)
_NODE_PREFIX = {"ou": "ou_", "account": "a_account_2f_"}


def _node(kind: str, key: str) -> str:
    """The node id of the root, an OU (``kind`` ``ou``, ``key`` its path) or an account
    (``account``, its name): the prefix of its kind, then the key with every character
    but a letter or digit written as ``_<hex>_``, so no two nodes share one."""
    if kind == "ou" and key == ROOT_OU:
        return "root"
    return _NODE_PREFIX[kind] + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in key)


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: no quote ends it, no markup enters it."""
    return (
        text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _account_label(
    account: Account, placement: Placement | None, newline: str, escape: Callable[[str], str]
) -> str:
    lines = [f"{account.name} ({account.id or 'new'})"]
    if account.role.value != "workload":
        lines[0] += f" [{account.role.value}]"
    for group, regions in placement.stacks.items() if placement else []:
        lines.append(f"{group}: {', '.join(regions)}")
    return newline.join(escape(line) for line in lines)


def _level_label(name: str, policies: list[str], newline: str, escape: Callable[[str], str]) -> str:
    lines = [name]
    for start in range(0, len(policies), 3):  # three to a line keeps the boxes narrow
        lines.append(", ".join(policies[start : start + 3]))
    return newline.join(escape(line) for line in lines)


def _edges(org: Organisation) -> list[tuple[str, str, str, str]]:
    """(parent node, child node, child label kind, child key) from the root down."""
    edges = []
    for path in org.ou_paths:
        parent = path.rsplit("/", 1)[0] if "/" in path else ROOT_OU
        edges.append((_node("ou", parent), _node("ou", path), "ou", path))
    for account in org.accounts:
        edges.append(
            (_node("ou", account.ou), _node("account", account.name), "account", account.name)
        )
    return edges


@dataclass(frozen=True)
class _Notation:
    newline: str
    escape: Callable[[str], str]
    header: tuple[str, ...]
    box: str  # format string: node id, label
    account: str
    edge: str
    footer: tuple[str, ...]


_MERMAID = _Notation(
    "<br/>",
    _mermaid_text,
    ("flowchart TB",),
    '  {node}["{label}"]',
    '  {node}("{label}")',
    "  {parent} --> {child}",
    (),
)
_DOT = _Notation(
    "\\n",
    _dot_text,
    (
        "digraph organisation {",
        "  rankdir=TB;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
    ),
    '  {node} [label="{label}"];',
    '  {node} [label="{label}", shape=component];',
    "  {parent} -> {child};",
    ("}",),
)


def _render(org: Organisation, notation: _Notation) -> str:
    newline, escape = notation.newline, notation.escape
    lines = list(notation.header)
    root = _level_label(f"Root: {org.name}", org.attached.get(ROOT_OU, []), newline, escape)
    lines.append(notation.box.format(node=_node("ou", ROOT_OU), label=root))
    by_name = {a.name: a for a in org.accounts}
    for parent, child, kind, key in _edges(org):
        if kind == "ou":
            label = _level_label(f"OU {key}", org.attached.get(key, []), newline, escape)
            lines.append(notation.box.format(node=child, label=label))
        else:
            account = by_name[key]
            label = _account_label(account, org.placements.get(account.id or ""), newline, escape)
            guardrails = org.attached.get(key, [])
            if guardrails:
                label += newline + escape(", ".join(guardrails))
            lines.append(notation.account.format(node=child, label=label))
        lines.append(notation.edge.format(parent=parent, child=child))
    lines += notation.footer
    return "\n".join(lines) + "\n"


def render_mermaid(org: Organisation) -> str:
    return _render(org, _MERMAID)


def render_dot(org: Organisation) -> str:
    return _render(org, _DOT)


def stacks_of(config: LandingZoneConfig) -> list[tuple[str, str, str]]:
    """(CDK id, account id, region) of every stack the landing zone builds for the config."""
    import tempfile

    import aws_cdk as cdk

    from baseline.cdk_context import cdk_json_context
    from baseline.landing_zone import LandingZone

    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir, context=cdk_json_context())
        landing_zone = LandingZone(app, "LandingZone", config=config)
        return [(s.artifact_id, s.account, s.region) for s in landing_zone.stacks]


def render(config: LandingZoneConfig, output_format: str = "mermaid") -> str:
    org = organisation(config, stacks_of(config))
    return render_dot(org) if output_format == "dot" else render_mermaid(org)
