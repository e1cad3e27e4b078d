"""Where each Identity Center permission set and assignment is managed from, and in which
stack: the plan the config's checks and the Identity Center stacks share.

IAM Identity Center accepts changes from the management account and from one delegated
administrator, with one limit that shapes the plan: the delegated administrator cannot
manage a permission set that is provisioned in the management account, nor assign
anything there. So, with ``identity_center.delegated_administrator``, every permission set
that some assignment gives on the management account, and all of that set's assignments,
are managed from the management account; every other set and its assignments from the
delegated administrator. Without one, everything is managed from the management account.

On each side, the assignments are split into ``identity_center.assignment_stacks`` shards
by a stable hash of the account name (an account's assignments all land in one shard).
Each shard is a nested stack of at most :data:`MAX_PER_SHARD` assignments, and the shards
are grouped :data:`SHARDS_PER_STACK` to a top-level stack. Nothing here imports the CDK.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from baseline import naming

if TYPE_CHECKING:
    from baseline.config import LandingZoneConfig

#: Assignments per shard (a nested stack): CloudFormation allows 500 resources.
MAX_PER_SHARD = 450
#: Parameters per shard: CloudFormation allows 200 per template.
MAX_PARAMETERS = 200
#: What one stack's lookup may answer: CloudFormation takes at most 4,096 bytes from a
#: custom resource, of which its own fields take about 600. A group id takes about 60
#: bytes of the answer, an account id about 30.
LOOKUP_BYTES = 3_400
GROUP_LOOKUP_BYTES = 64
ACCOUNT_LOOKUP_BYTES = 32
#: Shards per top-level assignment stack. A contract: changing it moves shards between
#: stacks, which replaces their assignments.
SHARDS_PER_STACK = 10
#: Assignments created at once in a shard: Identity Center throttles account-assignment
#: creation, so each shard makes them in this many chains, and a stack's shards run one
#: after the other.
LANES = 4


#: CloudFormation's longest logical id and parameter name.
MAX_ID = 255
#: The longest part a name gives a shard parameter (``Group<part>``, ``Account<part>``, ...).
MAX_NAME_PART = MAX_ID - len("PermissionSet")


def _digest(name: str) -> str:
    return f"N{hashlib.sha256(name.encode('utf-8')).hexdigest()[:20]}"


@functools.cache
def name_part(name: str) -> str:
    """The id part of a name: ``naming.logical_id``, or, where that can make no
    CloudFormation id (letters beyond ASCII in a group's display name, or longer than
    :data:`MAX_NAME_PART`), ``N`` and a digest of the name. Only ids no template could
    hold change: those of every other name are as they were."""
    part = naming.logical_id(name)
    return part if part.isascii() and len(part) <= MAX_NAME_PART else _digest(name)


def shard_parameter(kind: str, name: str) -> str:
    """A shard template's parameter for a permission set, group name or new account."""
    return f"{kind}{name_part(name)}"


class Side:
    """Which account manages a permission set: the two possible answers."""

    MANAGEMENT = "management"
    DELEGATED = "delegated"


@dataclass(frozen=True, order=True)
class AssignmentSpec:
    """One assignment: a principal gets a permission set in one account."""

    account_name: str
    #: none for an account the Accounts stacks create (its id comes from them)
    account_id: str | None
    permission_set: str
    principal_type: str  # GROUP or USER
    #: an identity-store id, or for a group its display name (looked up at deploy time)
    principal_id: str

    @functools.cached_property
    def logical_id(self) -> str:
        """Stable, from what the assignment is (a contract: a new id replaces it): the
        :func:`name_part` of its account, permission set, ``G`` or ``U`` and principal,
        which for plain names is ``naming.logical_id("<account>-<set>-<G|U>-<principal>")``
        (the hyphen separates words, and a word never spans two parts).

        Built from a handful of cached parts: at 2,000 accounts the 40,000 assignments'
        ids took 0.3 s one by one."""
        kind = "G" if self.principal_type == "GROUP" else "U"
        parts = [
            name_part(part)
            for part in (self.account_name, self.permission_set, kind, self.principal_id)
        ]
        if sum(map(len, parts)) > MAX_ID:  # no template held it: the principal's digest
            parts[-1] = _digest(self.principal_id)
        return "".join(parts)

    @property
    def group_name(self) -> str | None:
        """The display name to look up, for a group given by name."""
        from baseline.config import is_group_id

        if self.principal_type == "GROUP" and not is_group_id(self.principal_id):
            return self.principal_id
        return None


@dataclass(frozen=True)
class Shard:
    """One nested stack of assignments."""

    index: int
    assignments: tuple[AssignmentSpec, ...]

    @property
    def stack_index(self) -> int:
        return self.index // SHARDS_PER_STACK

    @functools.cached_property
    def permission_sets(self) -> tuple[str, ...]:
        return tuple(sorted({a.permission_set for a in self.assignments}))

    @functools.cached_property
    def group_names(self) -> tuple[str, ...]:
        return tuple(sorted({n for a in self.assignments if (n := a.group_name)}))

    @functools.cached_property
    def new_accounts(self) -> tuple[str, ...]:
        return tuple(sorted({a.account_name for a in self.assignments if a.account_id is None}))

    @functools.cached_property
    def parameter_count(self) -> int:
        return len(self.permission_sets) + len(self.group_names) + len(self.new_accounts)


@dataclass(frozen=True)
class SidePlan:
    """The permission sets one account manages, and their assignments in shards."""

    side: str
    account_name: str
    permission_sets: tuple[str, ...]
    shards: tuple[Shard, ...]
    #: the top-level stacks ``assignment_stacks`` makes, whether or not they hold a shard
    stack_count: int = 0

    def stacks(self) -> dict[int, tuple[Shard, ...]]:
        """Top-level assignment stack index -> its shards, in order: every stack of the
        side, an empty one too. A stack left out of the app would not be deleted by a
        deploy, and the assignments it holds, which the config no longer asks for, would
        stay; an empty one is deployed, and its shards go with the update."""
        found: dict[int, list[Shard]] = {}
        for shard in self.shards:
            found.setdefault(shard.stack_index, []).append(shard)
        count = max(self.stack_count, max(found, default=-1) + 1)
        return {index: tuple(found.get(index, ())) for index in range(count)}


def assignments_of(config: LandingZoneConfig) -> list[AssignmentSpec]:
    """Every assignment the config asks for, OU targets expanded, each once."""
    center = config.identity_center
    assert center is not None
    found: set[AssignmentSpec] = set()
    for assignment in center.assignments:
        for account in config.assignment_targets(assignment):
            for kind, ids in (("GROUP", assignment.groups), ("USER", assignment.users)):
                found |= {
                    AssignmentSpec(account.name, account.id, assignment.permission_set, kind, i)
                    for i in ids
                }
    return sorted(found, key=lambda a: a.logical_id)


def management_sets(config: LandingZoneConfig) -> set[str]:
    """The permission sets the management account must manage: with a delegated
    administrator, those given on the management account; without one, every set."""
    from baseline.config import AccountRole

    center = config.identity_center
    assert center is not None
    every = {a.permission_set for a in center.assignments} | {
        p.name for p in center.permission_sets
    }
    if center.delegated_administrator is None:
        return every
    management = config.account_for(AccountRole.MANAGEMENT).name
    return {
        a.permission_set
        for a in center.assignments
        if management in {t.name for t in config.assignment_targets(a)}
    }


#: The last config planned and its plan: validating a config plans it, and building the
#: landing zone from it plans it again (40,000 assignments at 2,000 accounts). A config
#: is frozen, so the same object has the same plan.
_LAST_PLAN: list[tuple[LandingZoneConfig, tuple[SidePlan, ...]]] = []


def plan(config: LandingZoneConfig) -> tuple[SidePlan, ...]:
    """The management side, then the delegated administrator's (when there is one), each
    with no permission set too."""
    if _LAST_PLAN and _LAST_PLAN[0][0] is config:
        return _LAST_PLAN[0][1]
    planned = _plan(config)
    _LAST_PLAN[:] = [(config, planned)]
    return planned


def _plan(config: LandingZoneConfig) -> tuple[SidePlan, ...]:
    from baseline.config import AccountRole

    center = config.identity_center
    assert center is not None
    every = sorted(
        {a.permission_set for a in center.assignments} | {p.name for p in center.permission_sets}
    )
    on_management = management_sets(config)
    sides = [(Side.MANAGEMENT, config.account_for(AccountRole.MANAGEMENT).name, on_management)]
    if center.delegated_administrator is not None:
        sides.append((Side.DELEGATED, center.delegated_administrator, set(every) - on_management))
    specs = assignments_of(config)
    plans = []
    for side, account_name, sets in sides:
        # a side stays while its account is in the config, with no set too: its stacks
        # left out of the app would not be deleted, and the sets and assignments they hold,
        # which the config no longer asks for, would stay; emptied, a deploy removes them
        shards: dict[int, list[AssignmentSpec]] = {}
        for spec in specs:
            if spec.permission_set in sets:
                index = naming.account_stack_index(spec.account_name, center.assignment_stacks)
                shards.setdefault(index, []).append(spec)
        plans.append(
            SidePlan(
                side=side,
                account_name=account_name,
                permission_sets=tuple(s for s in every if s in sets),
                shards=tuple(Shard(i, tuple(shards[i])) for i in sorted(shards)),
                stack_count=-(-center.assignment_stacks // SHARDS_PER_STACK),
            )
        )
    return tuple(plans)


def load_problems(config: LandingZoneConfig) -> list[str]:
    """One line when a shard would hold too many assignments or parameters."""
    center = config.identity_center
    assert center is not None
    sides = plan(config)
    # names that differ only in punctuation first: they are what makes ids clash
    problems = _group_clash_problems(sides) or _clash_problems(sides)
    if problems:
        return problems
    load = Counter({(p.side, s.index): len(s.assignments) for p in sides for s in p.shards})
    over = {key: count for key, count in load.items() if count > MAX_PER_SHARD}
    if over:
        (side, fullest) = max(over, key=lambda key: over[key])
        totals = Counter({p.side: sum(len(s.assignments) for s in p.shards) for p in sides})
        least = max(-(-total // MAX_PER_SHARD) for total in totals.values())
        problems.append(
            f"identity_center.assignment_stacks: with {center.assignment_stacks}, "
            f"{len(over)} would hold over {MAX_PER_SHARD} assignments ({side} stack "
            f"{fullest:02d}: {over[(side, fullest)]}); the {totals[side]} assignments of the "
            f"{side} side need at least {least} stacks, more for an uneven spread: raise "
            "assignment_stacks"
        )
    if problems:
        return problems
    crowded = [(p.side, s) for p in sides for s in p.shards if s.parameter_count > MAX_PARAMETERS]
    if crowded:
        side, shard = crowded[0]
        problems.append(
            f"identity_center.assignment_stacks: {side} stack {shard.index:02d} would need "
            f"{shard.parameter_count} parameters (at most {MAX_PARAMETERS}: permission sets, "
            "group names and accounts without an id); raise assignment_stacks"
        )
    for side_plan in sides:
        for index, shards in side_plan.stacks().items():
            names = {n for shard in shards for n in shard.group_names}
            accounts = {n for shard in shards for n in shard.new_accounts}
            size = len(names) * GROUP_LOOKUP_BYTES + len(accounts) * ACCOUNT_LOOKUP_BYTES
            if size > LOOKUP_BYTES:
                problems.append(
                    f"identity_center.assignment_stacks: {side_plan.side} stack {index:02d} would "
                    f"look up {len(names)} group names and {len(accounts)} new accounts at "
                    "deploy time, more than one CloudFormation answer holds; raise "
                    "assignment_stacks, or give the accounts' ids once they exist"
                )
                return problems
    return problems


def _clash_problems(sides: tuple[SidePlan, ...]) -> list[str]:
    """Two assignments of a side whose logical ids are the same would be one resource."""
    for side_plan in sides:
        by_id: dict[str, list[AssignmentSpec]] = {}
        for shard in side_plan.shards:
            for spec in shard.assignments:
                by_id.setdefault(spec.logical_id, []).append(spec)
        clash = next((specs for specs in by_id.values() if len(specs) > 1), None)
        if clash is not None:
            a, b = clash[:2]
            return [
                "identity_center.assignments: "
                f"{a.permission_set} for {a.principal_id} on {a.account_name} and "
                f"{b.permission_set} for {b.principal_id} on {b.account_name} make the same "
                "logical id; rename the permission set or the account"
            ]
    return []


def _group_clash_problems(sides: tuple[SidePlan, ...]) -> list[str]:
    """Two group names of a shard that make the same template parameter."""
    for side_plan in sides:
        for shard in side_plan.shards:
            by_parameter: dict[str, list[str]] = {}
            for name in shard.group_names:
                by_parameter.setdefault(shard_parameter("Group", name), []).append(name)
            clashes = [names for names in by_parameter.values() if len(names) > 1]
            if clashes:
                return [
                    "identity_center.assignments: the group names "
                    + " and ".join(repr(n) for n in clashes[0])
                    + " differ only in spaces or punctuation; give one of them by its id"
                ]
    return []
