"""Account stacks: creation, placement and contacts, spread so any organisation size fits."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from baseline import naming
from baseline.config import parse_config
from baseline.controls import RETAINED
from baseline.stacks.accounts import PARALLEL_ACCOUNT_CREATIONS, shard_accounts
from tests.conftest import Synthesized


def _accounts_templates(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synthesized.templates.items() if k.startswith("Accounts")}


def _of_type(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_every_account_is_in_exactly_one_stack(synthesized: Synthesized) -> None:
    seen: list[Any] = []
    for template in _accounts_templates(synthesized).values():
        (settings,) = _of_type(template, "Custom::OrganizationAccounts")
        seen += settings["Properties"]["AccountIds"]
    existing = sorted(a.id for a in synthesized.config.accounts if a.id)
    assert sorted(s for s in seen if isinstance(s, str)) == existing
    assert sum(1 for s in seen if isinstance(s, dict)) == sum(
        1 for a in synthesized.config.accounts if a.id is None
    )


def created_ids_are_their_own_stacks_accounts(template: dict[str, Any]) -> list[str]:
    """What is wrong with the references to created accounts' ids in an account stack:
    each must name an account this template creates, and every created account is named."""
    (settings,) = _of_type(template, "Custom::OrganizationAccounts")
    named = [s["Fn::GetAtt"] for s in settings["Properties"]["AccountIds"] if isinstance(s, dict)]
    created = {
        key
        for key, r in template["Resources"].items()
        if r["Type"] == "AWS::Organizations::Account"
    }
    problems = [
        f"{n} is not a created account's id"
        for n in named
        if n[0] not in created or n[1] != "AccountId"
    ]
    if sorted(n[0] for n in named) != sorted(created):
        problems.append(f"created {sorted(created)}, named {sorted(n[0] for n in named)}")
    return problems


def test_a_created_accounts_id_is_read_from_its_own_resource(synthesized: Synthesized) -> None:
    templates = _accounts_templates(synthesized)
    assert any(_of_type(t, "AWS::Organizations::Account") for t in templates.values())
    for name, template in templates.items():
        assert not created_ids_are_their_own_stacks_accounts(template), name


def test_the_check_of_created_account_ids_finds_a_wrong_reference() -> None:
    template = {
        "Resources": {
            "AccountFleetDev": {"Type": "AWS::Organizations::Account"},
            "AccountSettings": {
                "Type": "Custom::OrganizationAccounts",
                "Properties": {"AccountIds": [{"Fn::GetAtt": ["AccountFleetdev", "AccountId"]}]},
            },
        }
    }
    assert created_ids_are_their_own_stacks_accounts(template)


def test_only_accounts_without_an_id_are_created_and_they_are_retained(
    synthesized: Synthesized,
) -> None:
    created = [
        r
        for t in _accounts_templates(synthesized).values()
        for r in _of_type(t, "AWS::Organizations::Account")
    ]
    (fleet_dev,) = created
    assert fleet_dev["DeletionPolicy"] in RETAINED and fleet_dev["UpdateReplacePolicy"] == "Retain"
    assert fleet_dev["Properties"]["AccountName"] == "fleet-dev"
    parameter = naming.ou_id_parameter("nwl", "Workloads/NonProd")
    assert fleet_dev["Properties"]["ParentIds"] == [f"{{{{resolve:ssm:{parameter}}}}}"]


def test_existing_accounts_are_placed_and_every_account_gets_the_contact(
    synthesized: Synthesized,
) -> None:
    placements: dict[str, Any] = {}
    for template in _accounts_templates(synthesized).values():
        (settings,) = _of_type(template, "Custom::OrganizationAccounts")
        props = settings["Properties"]
        assert props["SecurityContact"]["EmailAddress"] == "soc@northwind.example.com"
        assert props["ServiceToken"] == naming.organization_settings_function_arn(
            "nwl", "210987654321", "eu-west-1"
        )
        placements.update({p["AccountId"]: p["ParentId"] for p in props["Placements"]})
    assert "210987654321" not in placements  # the management account stays at the root
    assert (
        placements["756789012345"]
        == f"{{{{resolve:ssm:{naming.ou_id_parameter('nwl', 'Workloads/Prod')}}}}}"
    )
    assert len(placements) == sum(
        1 for a in synthesized.config.accounts if a.id and a.role.value != "management"
    )


def test_shards_are_stable_when_accounts_come_and_go(
    example_config: Any, example_data: dict[str, Any]
) -> None:
    before = {a.name: i for i, members in shard_accounts(example_config).items() for a in members}
    data = copy.deepcopy(example_data)
    data["accounts"] = [a for a in data["accounts"] if a["name"] != "orders-staging"]
    data["accounts"].append(
        {
            "name": "payments-prod",
            "email": "aws-payments@northwind.example.com",
            "ou": "Workloads/Prod",
        }
    )
    after = {
        a.name: i for i, members in shard_accounts(parse_config(data)).items() for a in members
    }
    for name, index in after.items():
        if name in before:
            assert before[name] == index, name


def test_new_accounts_are_created_one_after_another(example_data: dict[str, Any]) -> None:
    import aws_cdk as cdk
    from aws_cdk import assertions

    from baseline.app import cdk_json_context
    from baseline.stacks.accounts import AccountsSettings, AccountsStack

    data = copy.deepcopy(example_data)
    data["accounts"] += [
        {
            "name": f"team-{i:02d}",
            "email": f"aws-team-{i:02d}@northwind.example.com",
            "ou": "Sandbox",
        }
        for i in range(12)
    ]
    config = parse_config(data)
    # one account stack with every account, as organization.account_stacks: 1 makes it
    stack = AccountsStack(
        cdk.App(context=cdk_json_context()),
        "Accounts00",
        settings=AccountsSettings.from_config(config, config.accounts),
    )
    cdk.Tags.of(stack).add("lz:prefix", "nwl")  # as the landing zone tags its stacks
    accounts = assertions.Template.from_stack(stack).find_resources("AWS::Organizations::Account")
    assert len(accounts) == 13
    # CloudFormation's reference: the accounts of one template are chained with DependsOn,
    # or Organizations refuses the ones made at the same time and the stack fails
    assert PARALLEL_ACCOUNT_CREATIONS == 1
    order = list(stack.created_ids.values())
    assert list(accounts) == order
    for index, logical_id in enumerate(order):
        expected = [order[index - 1]] if index else []
        assert accounts[logical_id].get("DependsOn", []) == expected, logical_id
        assert accounts[logical_id]["DeletionPolicy"] in RETAINED
        tags = {t["Key"]: t["Value"] for t in accounts[logical_id]["Properties"]["Tags"]}
        assert tags["lz:role"] == "workload" and tags["lz:prefix"] == "nwl"
    # the resources themselves, for code that builds on the stack
    created = stack.created
    assert sorted(created) == sorted(stack.created_ids)
    team = created["team-03"]
    assert isinstance(team, cdk.aws_organizations.CfnAccount)
    assert team.account_name == "team-03"
    assert stack.resolve(team.logical_id) == stack.created_ids["team-03"]


def test_fails_when_an_account_stack_would_overflow(example_data: dict[str, Any]) -> None:
    from baseline.config import ConfigError

    data = copy.deepcopy(example_data)
    data.pop("identity_center")  # the assignments of 460 accounts would overflow as well
    data["organization"]["account_stacks"] = 1
    data["accounts"] += [
        {
            "name": f"team-{i:04d}",
            "email": f"aws-team-{i:04d}@northwind.example.com",
            "ou": "Sandbox",
        }
        for i in range(460)
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    (problem,) = caught.value.problems
    assert problem.startswith(
        "organization.account_stacks: one of the 1 account stacks would create 461 accounts"
    )
    assert "raise it to at least 2" in problem


def _one_account_stack(data: dict[str, Any], context: dict[str, Any] | None = None) -> Any:
    """The example's accounts in one account stack, in a stage of its own (``Prod``)."""
    import aws_cdk as cdk

    from baseline.app import cdk_json_context
    from baseline.stacks.accounts import AccountsSettings, AccountsStack

    config = parse_config(data)
    app = cdk.App(context={**cdk_json_context(), **(context or {})})
    return AccountsStack(
        cdk.Stage(app, "Prod"),
        "Accounts00",
        settings=AccountsSettings.from_config(config, config.accounts),
        stack_name="nwl-accounts-00",
    )


def _accounts(stack: Any) -> list[dict[str, Any]]:
    from aws_cdk import assertions

    found = assertions.Template.from_stack(stack).find_resources("AWS::Organizations::Account")
    return list(found.values())


def test_under_the_cli_created_accounts_keep_the_path_the_cdk_gave_them(
    example_data: dict[str, Any],
) -> None:
    """The CLI turns path metadata on; an included resource gets none of its own, so the
    stack writes the path a CfnAccount of that id directly in the stack had: no deploy
    sees a change. The reference is such a CfnAccount, in a stage and a stack of the same
    names (the path is the construct path, not the stack's name)."""
    import aws_cdk as cdk
    from aws_cdk import aws_organizations as organizations

    on = {"aws:cdk:enable-path-metadata": True}
    stack = _one_account_stack(copy.deepcopy(example_data), on)
    app = cdk.App(context=on)
    reference = cdk.Stack(cdk.Stage(app, "Prod"), "Accounts00", stack_name="other-name")
    organizations.CfnAccount(reference, "AccountFleetDev", account_name="a", email="a@b.cd")
    ((made,), (account,)) = _accounts(reference), _accounts(stack)
    assert made["Metadata"] == {"aws:cdk:path": "Prod/Accounts00/AccountFleetDev"}
    assert account["Metadata"] == made["Metadata"]
    # without the CLI's context, no metadata, as the CDK does
    (bare,) = _accounts(_one_account_stack(copy.deepcopy(example_data)))
    assert "Metadata" not in bare


def _with_new_accounts(example_data: dict[str, Any], *names: str, stacks: int = 1) -> Any:
    data = copy.deepcopy(example_data)
    data.pop("identity_center")  # its own check would name a clash first
    data["organization"]["account_stacks"] = stacks
    data["accounts"] += [
        {"name": name, "email": f"aws-{name}@northwind.example.com", "ou": "Sandbox"}
        for name in names
    ]
    return data


def test_fails_two_new_accounts_that_would_be_one_resource(example_data: dict[str, Any]) -> None:
    from baseline.config import ConfigError

    # each of these is Ops12 (a word of its own starts at each hyphen)
    data = _with_new_accounts(example_data, "ops-1-2", "ops1-2", "ops12", "ops-1-3")
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    first = len(data["accounts"]) - 4
    assert caught.value.problems == [
        f"accounts[{first + n}] ({name}).name: {name!r} would be the same resource "
        f"(AccountOps12) of one account stack as accounts[{first}] (ops-1-2); rename one, "
        "or give the account's id if it exists"
        for n, name in ((1, "ops1-2"), (2, "ops12"))
    ]


def test_two_such_accounts_in_different_stacks_are_two_resources(
    example_data: dict[str, Any],
) -> None:
    """The clash is one of a stack: the same logical id in two stacks is no clash."""
    stacks = 4
    apart = [
        (a, b)
        for a, b in (("team-1b", "team1b"), ("ops-2", "ops2"), ("web-x", "webx"))
        if naming.account_stack_index(a, stacks) != naming.account_stack_index(b, stacks)
    ]
    assert apart  # the hash spreads at least one pair
    parse_config(_with_new_accounts(example_data, *apart[0], stacks=stacks))


def test_fails_a_new_account_that_would_be_the_stacks_own_resource(
    example_data: dict[str, Any],
) -> None:
    from baseline.config import ConfigError

    data = _with_new_accounts(example_data, "settings")
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    index = len(data["accounts"]) - 1
    assert caught.value.problems == [
        f"accounts[{index}] (settings).name: 'settings' would be AccountSettings, the account "
        "stack's own resource; choose another name, or give the account's id if it exists"
    ]
    # with its id given, the account is only an entry of that resource: no clash
    data["accounts"][-1]["id"] = "777788889999"
    parse_config(data)


def test_the_stack_never_writes_one_account_over_another(example_data: dict[str, Any]) -> None:
    import aws_cdk as cdk

    from baseline.stacks.accounts import AccountsSettings, AccountsStack

    config = parse_config(_with_new_accounts(example_data, "team-1b"))
    twin = config.accounts[-1].model_copy(update={"name": "team1b"})  # past the config check
    with pytest.raises(ValueError, match="two accounts of Accounts00 would be AccountTeam1b"):
        AccountsStack(
            cdk.App(),
            "Accounts00",
            settings=AccountsSettings.from_config(config, [config.accounts[-1], twin]),
        )


def test_the_stacks_that_create_accounts_deploy_one_after_another(
    example_data: dict[str, Any],
) -> None:
    """AWS Organizations refuses concurrent account creations: each stack that creates
    accounts waits for the one before, so a deploy with --concurrency above 1 stays
    serial where it must; the stacks that create none wait for nothing but the
    organisation."""
    import aws_cdk as cdk

    from baseline.app import cdk_json_context
    from baseline.landing_zone import LandingZone

    names = [f"team-{i:02d}" for i in range(12)]
    config = parse_config(_with_new_accounts(example_data, *names, stacks=4))
    zone = LandingZone(cdk.App(context=cdk_json_context()), "LandingZone", config=config)
    creating = [s for s in zone.accounts if s.created_ids]
    assert len(creating) >= 3
    for earlier, later in itertools.pairwise(creating):
        assert earlier in later.dependencies
    for stack in zone.accounts:
        if stack not in creating:
            assert not set(stack.dependencies) & set(creating)
