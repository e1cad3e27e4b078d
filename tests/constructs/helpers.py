"""Small stacks for construct unit tests (each module synthesizes its own, once)."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import NagPack

from baseline.app import cdk_json_context
from baseline.compliance import PACKS

ENV = cdk.Environment(account="111122223333", region="eu-west-1")


def new_stack(name: str = "Test") -> tuple[cdk.App, cdk.Stack]:
    """An app with the kit's feature flags and one stack in a fixed environment."""
    app = cdk.App(context=cdk_json_context())
    return app, cdk.Stack(app, name, env=ENV)


def nag_violations(app: cdk.App) -> list[str]:
    """Every violation every pack finds in the app, as ``rule: logical id`` lines."""
    found = []
    pack: type[NagPack]
    for pack in PACKS:
        report = pack(app).validate_scope(app)
        for violation in report.violations:
            for resource in violation.violating_resources:
                found.append(f"{violation.rule_name}: {resource.resource_logical_id}")
    return found
