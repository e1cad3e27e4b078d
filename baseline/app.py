"""Running the landing-zone app: context, config, synth, and what a person sees.

``app.py`` (the CDK app command), ``python -m baseline``, the tests and the benchmark all
build the app through :func:`build_app`, so they synthesize exactly the same thing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from baseline import guardrails
from baseline.cdk_context import PROJECT_ROOT, cdk_json_context
from baseline.compliance import (
    PACKS,
    ComplianceError,
    StackLimitError,
    attach_packs,
    synth_checked,
)
from baseline.config import ConfigError, LandingZoneConfig, load_config
from baseline.landing_zone import LandingZone
from baseline.stacks.member_baseline import MemberTemplateTooLargeError

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "landing-zone.yaml"


def build_app(
    config: LandingZoneConfig, *, outdir: str | None = None, context: dict[str, Any] | None = None
) -> tuple[cdk.App, LandingZone]:
    """The app with every stack of the landing zone and every compliance pack attached."""
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = "cdk.out"  # run without the CDK CLI: write where the CLI would
    app = cdk.App(outdir=outdir, context={**cdk_json_context(), **(context or {})})
    landing_zone = LandingZone(app, "LandingZone", config=config)
    attach_packs(app)
    return app, landing_zone


def config_path_from(app_context: str | None) -> Path:
    """The config file to load: the ``config`` context value, or the example."""
    if not app_context:
        return DEFAULT_CONFIG
    path = Path(app_context)
    return path if path.is_absolute() else Path.cwd() / path


def load_or_exit(path: Path) -> LandingZoneConfig:
    """Load the config and check its guardrails fit, or print one line per problem and
    exit 2 (never a traceback): the same lines ``python -m baseline validate`` prints."""
    try:
        return guardrails.check(load_config(path), str(path))
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        raise SystemExit(2) from None


def synth_or_exit(app: cdk.App, landing_zone: LandingZone) -> cdk.cx_api.CloudAssembly:
    """Synthesize; on compliance violations, print where the report is and exit 1."""
    try:
        assembly = synth_checked(app, "the landing zone")
    except (ComplianceError, StackLimitError) as error:
        # The plugins have already printed each violation; one line says what to do next.
        print(f"synth failed: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    print(summary(assembly, landing_zone), file=sys.stderr)
    return assembly


def summary(
    assembly: cdk.cx_api.CloudAssembly, landing_zone: LandingZone, outdir: str | None = None
) -> str:
    """A few lines: stacks, accounts, resources, and the compliance result.

    :param outdir: the output directory to name. Default: the assembly's.
    """
    config = landing_zone.config
    lines = [f"landing zone {config.organization.name!r} ({config.organization.prefix}):"]
    total = 0
    for stack in landing_zone.stacks:
        template = json.loads(
            (Path(assembly.directory) / stack.template_file).read_text(encoding="utf-8")
        )
        # the infrastructure: the CDK's own metadata resource is left out, so the count is
        # the same under the CDK CLI and without it
        count = sum(
            1
            for resource in template.get("Resources", {}).values()
            if resource.get("Type") != "AWS::CDK::Metadata"
        )
        total += count
        lines.append(
            f"  {stack.stack_name:<32} {stack.account}/{stack.region}  {count:>3} "
            f"resource{'' if count == 1 else 's'}"
        )
    lines.append(
        f"  {len(landing_zone.stacks)} stacks, {total} resources, "
        f"{len(config.accounts)} accounts in {len(config.ou_paths())} OUs, "
        f"{len(config.governed_regions)} governed regions"
    )
    lines.append(
        f"  compliance: {len(PACKS)} cdk-nag packs "
        f"({', '.join(p.__name__.removesuffix('Checks') for p in PACKS)}) and the Control "
        "Tower proactive controls passed"
    )
    lines.append("  paid services on:")
    lines += [f"    {service}" for service in config.paid_services()]
    lines.append(f"  templates in {outdir or assembly.directory}")
    return "\n".join(lines)


def build_or_exit(config: LandingZoneConfig) -> tuple[cdk.App, LandingZone]:
    """Build the app, or say why the member template failed its packs or does not fit
    its StackSet, and exit 1."""
    try:
        return build_app(config)
    # the member template is synthesized while building
    except (ComplianceError, MemberTemplateTooLargeError) as error:
        print(f"synth failed: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def main() -> None:
    """The CDK app command (``app.py``)."""
    probe = cdk.App(context=cdk_json_context())
    config = load_or_exit(config_path_from(probe.node.try_get_context("config")))
    app, landing_zone = build_or_exit(config)
    synth_or_exit(app, landing_zone)
