"""Generate a large example organisation for the scale test and the benchmark.

``generate(n)`` returns config data for an organisation of ``n`` accounts: the example's
core accounts and OUs, then workload accounts spread over the workload, sandbox and
suspended OUs. Two in three workload accounts exist already (they carry an id); the
others are new, so the account stacks create them.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import yaml

from baseline.app import DEFAULT_CONFIG
from baseline.assignments import MAX_PER_SHARD
from baseline.naming import account_stack_index

WORKLOAD_OUS = ("Workloads/Prod", "Workloads/NonProd", "Sandbox")
#: Teams (groups) with access to every workload account, and the sets each gets there.
TEAMS = 5
TEAM_SETS = ("Administrator", "PowerUser", "ReadOnly", "SecurityAudit")


def generate(accounts: int) -> dict[str, Any]:
    """Config data for an organisation with ``accounts`` accounts in total."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    core = [copy.deepcopy(a) for a in data["accounts"] if a.get("role", "workload") != "workload"]
    extra = accounts - len(core)
    if extra < 0:
        raise ValueError(
            f"an organisation needs at least {len(core)} accounts, asked for {accounts}"
        )
    generated = []
    for i in range(extra):
        account: dict[str, Any] = {
            "name": f"workload-{i:05d}",
            "email": f"aws-workload-{i:05d}@northwind.example.com",
            "ou": WORKLOAD_OUS[i % len(WORKLOAD_OUS)],
        }
        if i % 3:
            account["id"] = f"{500000000000 + i:012d}"
        generated.append(account)
    data["accounts"] = core + generated
    # The example's assignments name its own workload accounts; here the platform and
    # security teams get the core accounts, and five teams get four permission sets each
    # on every workload account. A third of the accounts are new, and the delegated
    # administrator can only assign accounts whose ids the config gives, so the management
    # account manages everything here.
    center = data["identity_center"]
    center.pop("delegated_administrator", None)
    center["permission_sets"] = []
    center["assignments"] = [
        a
        for a in center["assignments"]
        if a["permission_set"] in ("Administrator", "SecurityAudit")
    ]
    for assignment in center["assignments"]:
        assignment["ous"] = [
            ou for ou in assignment.get("ous", []) if ou in ("Security", "Infrastructure")
        ]
        assignment.pop("exclude_accounts", None)
    teams = [f"906754b2c4-{i:08x}-0000-4000-8000-{i:012x}" for i in range(TEAMS)]
    center["assignments"] += [
        {"permission_set": name, "groups": teams, "ous": ["Workloads", "Sandbox"]}
        for name in TEAM_SETS
    ]
    per_account = TEAMS * len(TEAM_SETS)
    center["assignment_stacks"] = assignment_stacks_for([a["name"] for a in generated], per_account)
    return data


def assignment_stacks_for(names: list[str], per_account: int) -> int:
    """The fewest assignment shards that keep every shard within its limit, for accounts
    of ``per_account`` assignments each (the core accounts' few fit in the margin)."""
    least = -(-len(names) * per_account // MAX_PER_SHARD)
    for count in range(least, 501):
        load = Counter(account_stack_index(name, count) for name in names)
        if max(load.values()) * per_account <= MAX_PER_SHARD - 20:
            return count
    raise ValueError("no assignment_stacks up to 500 holds these assignments")
