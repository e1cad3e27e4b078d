"""The packer: few policies, within the limits, deterministic, and a clear error on overflow."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from baseline import naming
from baseline.app import load_or_exit
from baseline.config import parse_config
from baseline.guardrails import PackingError, library, packed_policies, problems
from baseline.guardrails.model import Guardrail, PolicyType
from baseline.guardrails.packer import ENVELOPE, pack
from tests.conftest import before_the_first_deploy


def _guardrail(gid: str, size: int, count: int = 1) -> Guardrail:
    """A guardrail of ``count`` statements, each about ``size`` characters minified."""
    statements = []
    for i in range(count):
        base = {"Sid": f"S{i}", "Effect": "Deny", "Action": ["s3:x"], "Resource": "*"}
        pad = (
            size
            - len(json.dumps(base, separators=(",", ":")))
            - len(',"Condition":{"StringEquals":{"k":""}}')
        )
        statements.append({**base, "Condition": {"StringEquals": {"k": "x" * max(pad, 0)}}})
    return Guardrail(
        id=gid,
        purpose="test",
        policy_type=PolicyType.SCP,
        best_practices=("SEC03-BP05",),
        statements=tuple(statements),
    )


def test_example_policies_fit_every_limit(example_config: Any) -> None:
    policies = packed_policies(example_config)
    per_target: dict[tuple[str, str], int] = {}
    for policy in policies:
        assert policy.size <= 5120, policy.name
        json.loads(policy.content)  # valid JSON
        assert " " not in policy.content.replace("AWS Organizations", "")  # minified
        for target in policy.targets:
            key = (policy.policy_type.value, target)
            per_target[key] = per_target.get(key, 0) + 1
    assert all(count <= 4 for count in per_target.values()), per_target  # + FullAWSAccess = 5


def test_every_enabled_guardrail_is_packed_exactly_once_per_target(example_config: Any) -> None:
    from baseline.guardrails import select

    enabled, attachments = select(example_config)
    policies = packed_policies(example_config)
    for guardrail in enabled:
        for target in attachments[guardrail.id]:
            holders = [
                p for p in policies if guardrail.id in p.guardrail_ids and target in p.targets
            ]
            assert holders, (guardrail.id, target)
            packed_statements = [s for p in holders for s in json.loads(p.content)["Statement"]]
            for statement in guardrail.statements:
                assert statement in packed_statements


def test_packing_is_deterministic(example_config: Any) -> None:
    from baseline.guardrails import select

    enabled, attachments = select(example_config)
    first = pack(enabled, attachments, prefix="nwl")
    reordered = pack(
        list(reversed(enabled)), dict(reversed(list(attachments.items()))), prefix="nwl"
    )
    assert first == reordered  # same input in another order, same policies in the same order
    assert first == packed_policies(example_config)


def test_uses_as_few_policies_as_fit() -> None:
    # three statements of ~2,500 characters: two fit in one 5,120 policy only if small enough
    guardrails = [_guardrail("A", 2400), _guardrail("B", 2400), _guardrail("C", 2400)]
    policies = pack(guardrails, {g.id: ["Root"] for g in guardrails}, prefix="t")
    assert len(policies) == 2
    assert all(p.size <= 5120 for p in policies)


def test_each_target_has_policies_named_after_it_alone() -> None:
    """A new target with the same guardrails renames (replaces) no policy of another: with
    a shared, renamed set, CloudFormation creates the new policies before it deletes the old,
    and a target holding both would go over the five AWS allows."""
    guardrails = [_guardrail(f"G{i}", 3000) for i in range(3)]
    before = pack(guardrails, {g.id: ["Workloads/Prod"] for g in guardrails}, prefix="t")
    after = pack(
        guardrails, {g.id: ["Workloads/Dev", "Workloads/Prod"] for g in guardrails}, prefix="t"
    )
    assert len(before) == 3
    assert [p for p in after if p.targets == ("Workloads/Prod",)] == before
    assert {p.name for p in after} - {p.name for p in before} == {
        f"t-scp-{naming.slug('Workloads/Dev')}-{n}" for n in (1, 2, 3)
    }
    assert all(len(p.targets) == 1 for p in after)


def test_fails_when_guardrails_overflow_a_target() -> None:
    guardrails = [_guardrail(f"G{i}", 4000) for i in range(5)]
    with pytest.raises(PackingError) as caught:
        pack(guardrails, {g.id: ["Workloads"] for g in guardrails}, prefix="t")
    message = str(caught.value)
    assert "SCP for 'Workloads'" in message
    assert "need 5 policies but at most 4 can be attached" in message
    assert "overflow:" in message and "G" in message


def test_fails_when_one_statement_is_too_large() -> None:
    with pytest.raises(PackingError, match=r"statement 0 of HUGE is \d+ characters minified"):
        pack([_guardrail("HUGE", 6000)], {"HUGE": ["Root"]}, prefix="t")


def test_envelope_is_counted() -> None:
    assert len('{"Version":"2012-10-17","Statement":[]}') == ENVELOPE


def _overflowing(example_data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(example_data)
    data["guardrails"]["custom"] = [
        {
            "id": f"CUSTOM-{i}",
            "purpose": "An organisation-specific deny that is far too large.",
            "attach_to": ["Sandbox"],
            "statements": [
                {
                    "Sid": f"Big{i}",
                    "Effect": "Deny",
                    "Action": [f"service{i}:Action{j:04d}" for j in range(170)],
                    "Resource": "*",
                }
            ],
        }
        for i in range(5)
    ]
    return data


def test_fails_config_asking_for_more_guardrails_than_fit(example_data: dict[str, Any]) -> None:
    config = parse_config(_overflowing(example_data))
    with pytest.raises(
        PackingError, match=r"SCP for 'Sandbox': the guardrails need \d+ policies but at most 4"
    ):
        packed_policies(config)


def test_fails_synth_of_an_overflowing_config_with_one_message(
    example_data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app's first step (``app.py`` runs it before building anything; that ``app.py``
    exits 2 with these lines in a fresh process, tests/test_config.py shows)."""
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(_overflowing(example_data)), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        load_or_exit(path)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"invalid landing-zone config {path}: 1 problem(s)")
    assert "SCP for 'Sandbox'" in err
    assert "Traceback" not in err


def test_fails_unknown_guardrail_id(example_data: dict[str, Any]) -> None:
    data = copy.deepcopy(example_data)
    data["guardrails"]["disabled"] = ["SCP-DOES-NOT-EXIST"]
    with pytest.raises(PackingError, match="unknown guardrail ids \\['SCP-DOES-NOT-EXIST'\\]"):
        packed_policies(parse_config(data))


def test_disabling_a_guardrail_removes_it(example_data: dict[str, Any]) -> None:
    data = copy.deepcopy(example_data)
    data["guardrails"]["disabled"] = ["SCP-REGION-DENY"]
    ids = {gid for p in packed_policies(parse_config(data)) for gid in p.guardrail_ids}
    assert "SCP-REGION-DENY" not in ids
    assert "SCP-ROOT-USER" in ids


def test_the_root_keeps_a_slot_free_for_replacements() -> None:
    guardrails = [_guardrail(f"G{i}", 4000) for i in range(4)]
    fits = pack(guardrails, {g.id: ["Workloads"] for g in guardrails}, prefix="t")
    assert len(fits) == 4  # an OU may use all four places beside FullAWSAccess
    with pytest.raises(
        PackingError, match=r"at most 3 can be attached there .* kept free at the root"
    ):
        pack(guardrails, {g.id: ["Root"] for g in guardrails}, prefix="t")


def _custom(**fields: Any) -> dict[str, Any]:
    guardrail_id = fields.get("id", "CUSTOM-X0")
    return {
        "id": "CUSTOM-X0",
        "purpose": "An organisation-specific deny for the test.",
        "attach_to": ["Root"],
        "statements": [
            {  # a Sid of its own: two customs at one target share a policy
                "Sid": "DenyBucketDeletion" + guardrail_id.replace("-", ""),
                "Effect": "Deny",
                "Action": "s3:DeleteBucket",
                "Resource": "*",
            }
        ],
        **fields,
    }


def test_a_target_listed_twice_gets_the_statements_once() -> None:
    guardrails = [_guardrail("A", 500, count=2)]
    twice = pack(guardrails, {"A": ["Sandbox", "Root", "Sandbox", "Root"]}, prefix="t")
    assert twice == pack(guardrails, {"A": ["Sandbox", "Root"]}, prefix="t")
    assert [p.targets for p in twice] == [("Root",), ("Sandbox",)]
    for policy in twice:
        assert [s["Sid"] for s in json.loads(policy.content)["Statement"]] == ["S0", "S1"]


def test_pack_refuses_two_guardrails_with_one_id() -> None:
    guardrails = [_guardrail("A", 500), _guardrail("A", 600)]
    with pytest.raises(ValueError, match="two guardrails have the id 'A'") as caught:
        pack(guardrails, {"A": ["Root"]}, prefix="t")
    assert not isinstance(caught.value, PackingError)  # a bug, not a config problem


@pytest.mark.parametrize("guardrail_id", ["SCP-REGION-DENY", "RCP-IDENTITY-PERIMETER"])
def test_a_custom_guardrail_cannot_take_a_library_id(
    example_data: dict[str, Any], guardrail_id: str
) -> None:
    data = copy.deepcopy(example_data)
    data["guardrails"]["custom"] = [_custom(), _custom(id=guardrail_id)]
    assert problems(parse_config(data)) == [
        f"guardrails.custom[1].id: {guardrail_id!r} is a library guardrail id; choose another "
        "(to drop or move the library guardrail, use guardrails.disabled or "
        "guardrails.attachments)"
    ]


def test_library_ids_are_reserved_before_the_library_uses_them(
    example_data: dict[str, Any],
) -> None:
    # greenfield phase 1: no organisation id, so no RCPs, and no account ids, so no
    # guardrail of one account; their ids are taken all the same, so that a config valid
    # now stays valid once the library writes them
    data = before_the_first_deploy(copy.deepcopy(example_data))
    ids = ["RCP-SECURE-TRANSPORT", "SCP-FORENSICS-ACCOUNT"]
    assert not set(ids) & {g.id for g in library(parse_config(data))}
    data["guardrails"]["custom"] = [_custom(id=guardrail_id) for guardrail_id in ids]
    assert [line.split(":")[0] for line in problems(parse_config(data))] == [
        "guardrails.custom[0].id",
        "guardrails.custom[1].id",
    ]


#: A custom statement with the Sid of SCP-ORG-LEAVE's (which attaches to Root).
LIBRARY_SID_STATEMENT = {
    "Sid": "DenyLeaveOrganization",
    "Effect": "Deny",
    "Action": "s3:DeleteBucket",
    "Resource": "*",
}


def test_a_custom_statement_cannot_take_a_library_sid_at_the_same_target(
    example_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(example_data)
    statement = LIBRARY_SID_STATEMENT
    data["guardrails"]["custom"] = [_custom(statements=[_custom()["statements"][0], statement])]
    config = parse_config(data)
    # the packer puts the two statements in one policy, which AWS would refuse
    assert any(
        [s["Sid"] for s in json.loads(p.content)["Statement"]].count("DenyLeaveOrganization") == 2
        for p in packed_policies(config)
    )
    assert problems(config) == [
        "guardrails.custom[0].statements[1].Sid: 'DenyLeaveOrganization' is also the Sid of a "
        "statement of SCP-ORG-LEAVE, which attaches to 'Root' too; a Sid must be unique within "
        "a policy, so choose another"
    ]


def test_a_library_sid_is_fine_where_the_library_statement_is_not(
    example_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(example_data)
    statement = LIBRARY_SID_STATEMENT
    data["guardrails"]["custom"] = [_custom(statements=[statement])]
    data["guardrails"]["disabled"] = ["SCP-ORG-LEAVE"]
    assert problems(parse_config(data)) == []
    data["guardrails"]["disabled"] = []
    data["guardrails"]["attachments"] = {"SCP-ORG-LEAVE": ["Workloads"]}
    assert problems(parse_config(data)) == []


def test_a_custom_statement_too_large_for_any_policy_is_named_by_its_field(
    example_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(example_data)
    statement = {
        **_custom()["statements"][0],
        "Resource": [f"arn:aws:s3:::bucket-{n:04d}" for n in range(250)],
    }
    data["guardrails"]["custom"] = [_custom(statements=[statement])]
    (line,) = problems(parse_config(data))
    assert line.startswith("guardrails.custom[0].statements[0]: ")
    assert "characters minified; an SCP holds at most" in line


def _without_the_hub(example_data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(example_data)
    data["network"]["hub"] = False
    return data


def test_the_hubs_guardrail_comes_with_the_hub_only(example_data: dict[str, Any]) -> None:
    """Without the hub, SCP-NETWORK-HUB-PROTECT would protect nothing of the kit's and
    credit the hub's practices to a hub that is not there."""
    with_hub = {g.id for g in library(parse_config(example_data))}
    without = {g.id for g in library(parse_config(_without_the_hub(example_data)))}
    assert with_hub - without == {"SCP-NETWORK-HUB-PROTECT"}
    assert without < with_hub
    packed = packed_policies(parse_config(_without_the_hub(example_data)))
    assert all("SCP-NETWORK-HUB-PROTECT" not in p.guardrail_ids for p in packed)
    assert all("ProtectHubFirewalls" not in p.content for p in packed)


@pytest.mark.parametrize(
    ("change", "guardrail_id"),
    [
        (_without_the_hub, "SCP-NETWORK-HUB-PROTECT"),
        # before the organisation exists, the RCPs (which name it) wait for the second phase
        (lambda data: before_the_first_deploy(copy.deepcopy(data)), "RCP-SECURE-TRANSPORT"),
    ],
    ids=["the hub's guardrail without the hub", "an RCP before the organisation exists"],
)
def test_a_guardrail_this_config_does_not_write_can_still_be_disabled(
    example_data: dict[str, Any], change: Any, guardrail_id: str
) -> None:
    data = change(example_data)
    data["guardrails"]["disabled"] = [guardrail_id]
    config = parse_config(data)
    assert problems(config) == []
    assert all(guardrail_id not in p.guardrail_ids for p in packed_policies(config))


def test_fails_a_misspelt_guardrail_id_without_the_hub_too(example_data: dict[str, Any]) -> None:
    data = _without_the_hub(example_data)
    data["guardrails"]["disabled"] = ["SCP-NETWORK-HUB-PROTEKT"]
    (problem,) = problems(parse_config(data))
    assert problem.startswith(
        "guardrails.disabled[0]: 'SCP-NETWORK-HUB-PROTEKT' is not a guardrail id "
        "(docs/guardrails.md lists them); did you mean SCP-NETWORK-HUB-PROTECT,"
    )
