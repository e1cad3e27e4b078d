"""An organisation of 2,000 accounts synthesizes within CloudFormation's limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baseline.app import build_app
from baseline.config import parse_config
from baseline.docs import templates_in
from bench.generate_org import generate

ACCOUNTS = 2000
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000  # from S3; CDK uploads templates over 51,200 bytes


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    config = parse_config(generate(ACCOUNTS))
    outdir = tmp_path_factory.mktemp("scale")
    app, _ = build_app(config, outdir=str(outdir))
    app.synth()  # every cdk-nag pack runs here too
    return {name: dict(t) for name, t in templates_in(Path(outdir)).items()}


def test_generated_organisation_has_the_asked_size() -> None:
    data = generate(ACCOUNTS)
    assert len(data["accounts"]) == ACCOUNTS
    assert len({a["email"] for a in data["accounts"]}) == ACCOUNTS


def test_every_template_fits_cloudformation_limits(large: dict[str, dict[str, object]]) -> None:
    for name, template in large.items():
        resources = template["Resources"]
        assert isinstance(resources, dict)
        assert len(resources) <= MAX_RESOURCES, f"{name}: {len(resources)} resources"
        assert len(json.dumps(template)) <= MAX_TEMPLATE_BYTES, name


def test_every_account_is_created_or_placed(large: dict[str, dict[str, object]]) -> None:
    covered = 0
    created = 0
    for name, template in large.items():
        if not name.startswith("Accounts"):
            continue
        resources = template["Resources"]
        assert isinstance(resources, dict)
        for resource in resources.values():
            if resource["Type"] == "Custom::OrganizationAccounts":
                covered += len(resource["Properties"]["AccountIds"])
            created += resource["Type"] == "AWS::Organizations::Account"
    assert covered == ACCOUNTS
    assert created == sum(1 for a in generate(ACCOUNTS)["accounts"] if "id" not in a)


def test_the_stack_set_template_does_not_grow_with_accounts(
    large: dict[str, dict[str, object]], synthesized: object
) -> None:
    from tests.conftest import Synthesized

    assert isinstance(synthesized, Synthesized)
    assert large["MemberBaseline"] == synthesized.templates["MemberBaseline"]
