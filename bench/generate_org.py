"""Generate a large example organisation for the scale test and the benchmark.

``generate(n)`` returns config data for an organisation of ``n`` accounts: the example's
core accounts and OUs, then workload accounts spread over the workload, sandbox and
suspended OUs. Two in three workload accounts exist already (they carry an id); the
others are new, so the account stacks create them.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from baseline.app import DEFAULT_CONFIG

WORKLOAD_OUS = ("Workloads/Prod", "Workloads/NonProd", "Sandbox")


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
    # the example's assignments name its own workload accounts; here the platform and
    # security teams get the core accounts (the workload OUs' assignments at this scale
    # are measured separately)
    center = data["identity_center"]
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
    return data
