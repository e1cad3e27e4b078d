"""Small stacks for construct unit tests (each module synthesizes its own, once)."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import NagPack

from baseline.app import cdk_json_context
from baseline.compliance import PACKS

ENV = cdk.Environment(account="111122223333", region="eu-west-1")


def new_stack(
    name: str = "Test", *, cloudformation_validation: bool = False
) -> tuple[cdk.App, cdk.Stack]:
    """An app with the kit's feature flags and one stack in a fixed environment.

    The CDK's built-in CloudFormation validation is left out of these small apps: it
    checks whole templates, and runs on every template of the example organisation (the
    session's synth, as ``make synth`` runs it) and of the examples (their CLI synths). A
    construct test checks the construct; the packs and the Control Tower rules still run
    wherever a test attaches them. ``cloudformation_validation=True`` runs it, for a test
    of what it refuses.
    """
    app = cdk.App(
        context=cdk_json_context(), builtin_cloud_formation_validation=cloudformation_validation
    )
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
