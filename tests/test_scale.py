"""An organisation of 2,000 accounts, five teams with four permission sets each on every
workload account, synthesizes within CloudFormation's limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baseline.assembly import templates_with_stack_sets
from baseline.assignments import LANES
from bench.generate_org import TEAM_SETS, TEAMS, generate
from tests.stacks.test_accounts import created_ids_are_their_own_stacks_accounts

ACCOUNTS = 2000
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000  # from S3; CDK uploads templates over 51,200 bytes
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200


@pytest.fixture(scope="module")
def large(scale_outdir: Path) -> dict[str, dict[str, object]]:
    """Every template of the organisation (synthesized in the background from the start
    of the session, see tests/conftest.py), the StackSet's and the assignment shards' too."""
    return {name: dict(t) for name, t in templates_with_stack_sets(scale_outdir)}


def test_generated_organisation_has_the_asked_size() -> None:
    data = generate(ACCOUNTS)
    assert len(data["accounts"]) == ACCOUNTS
    assert len({a["email"] for a in data["accounts"]}) == ACCOUNTS


def test_the_synth_calls_nothing_the_cdk_has_deprecated(scale_outdir: Path) -> None:
    """A deprecated call prints a warning into every user's synth (the account and
    assignment stacks make most of the calls, so this organisation makes them all)."""
    printed = (scale_outdir / "synth-stderr.txt").read_text(encoding="utf-8")
    assert "deprecated" not in printed.lower(), printed[-2000:]


def test_every_template_fits_cloudformation_limits(large: dict[str, dict[str, object]]) -> None:
    for name, template in large.items():
        resources = template["Resources"]
        assert isinstance(resources, dict)
        assert len(resources) <= MAX_RESOURCES, f"{name}: {len(resources)} resources"
        assert len(json.dumps(template)) <= MAX_TEMPLATE_BYTES, name
        assert len(template.get("Parameters", {})) <= MAX_PARAMETERS, name
        assert len(template.get("Outputs", {})) <= MAX_OUTPUTS, name


def test_every_team_gets_its_sets_on_every_workload_account(
    large: dict[str, dict[str, object]],
) -> None:
    assignments = [
        resource
        for name, template in large.items()
        if name.startswith("IdentityAssignments") and "/" in name
        for resource in template["Resources"].values()  # type: ignore[attr-defined]
        if resource["Type"] == "AWS::SSO::Assignment"
    ]
    workload = sum(1 for a in generate(ACCOUNTS)["accounts"] if "role" not in a)
    assert workload == ACCOUNTS - 6  # the core accounts, forensics included
    core = len(assignments) - workload * TEAMS * len(TEAM_SETS)
    assert 0 <= core < 20  # the platform and security teams on the core accounts


def test_each_stack_creates_a_few_assignments_at_a_time(
    large: dict[str, dict[str, object]],
) -> None:
    """A stack's shards run one after the other, and each creates LANES at once."""
    stacks = [n for n in large if n.startswith("IdentityAssignments") and "/" not in n]
    assert len(stacks) > 1
    for name in stacks:
        resources = large[name]["Resources"]
        assert isinstance(resources, dict)
        shards = [k for k, r in resources.items() if r["Type"] == "AWS::CloudFormation::Stack"]
        assert len([k for k in shards if not resources[k].get("DependsOn")]) == 1, name
        for shard in shards:
            nested = large[f"{name}/{shard}"]["Resources"]
            assert isinstance(nested, dict)
            assert len([r for r in nested.values() if "DependsOn" not in r]) <= LANES


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
        assert not created_ids_are_their_own_stacks_accounts(template), name
    assert covered == ACCOUNTS
    assert created == sum(1 for a in generate(ACCOUNTS)["accounts"] if "id" not in a)


def test_the_stack_set_template_does_not_grow_with_accounts(
    large: dict[str, dict[str, object]], synthesized: object
) -> None:
    from tests.conftest import Synthesized

    assert isinstance(synthesized, Synthesized)
    assert large["MemberBaseline"] == synthesized.templates["MemberBaseline"]
