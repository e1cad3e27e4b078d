"""``python -m baseline diagram``: the OU tree, every account, the guardrails at each level
and the stacks in each account, as Mermaid or DOT; the example's is in docs/architecture.md."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from baseline.__main__ import main
from baseline.config import parse_config
from baseline.diagram import _node, organisation, render_dot, render_mermaid, stack_group
from baseline.docs import ARCHITECTURE, DIAGRAM_BEGIN, DIAGRAM_END
from baseline.guardrails import packed_policies
from tests.conftest import Synthesized

ROOT = Path(__file__).resolve().parent.parent


def _stacks(synthesized: Synthesized) -> list[tuple[str, str, str]]:
    return [(s.artifact_id, s.account, s.region) for s in synthesized.landing_zone.stacks]


def test_every_ou_and_account_is_drawn_below_its_parent(synthesized: Synthesized) -> None:
    picture = render_mermaid(organisation(synthesized.config, _stacks(synthesized)))
    assert picture.startswith("flowchart TB\n")
    config = synthesized.config
    for path in config.ou_paths():
        parent = path.rsplit("/", 1)[0] if "/" in path else "Root"
        assert f'  {_node("ou", path)}["OU {path}' in picture
        assert f"  {_node('ou', parent)} --> {_node('ou', path)}\n" in picture
    for account in config.accounts:
        assert f"{account.name} ({account.id or 'new'})" in picture


def test_each_level_shows_the_guardrails_attached_there(synthesized: Synthesized) -> None:
    org = organisation(synthesized.config, _stacks(synthesized))
    for policy in packed_policies(synthesized.config):
        for target in policy.targets:
            assert set(policy.guardrail_ids) <= set(org.attached[target]), target
    assert "SCP-REGION-DENY" in org.attached["Root"]
    assert "SCP-PERMISSIONS-BOUNDARY" in org.attached["Workloads"]
    assert org.attached["audit"] == ["SCP-AUDIT-ACCOUNT"]
    assert "nwl-ec2-no-internet-gateways" in org.attached["Workloads"]


def test_each_account_shows_its_stacks_and_regions(synthesized: Synthesized) -> None:
    org = organisation(synthesized.config, _stacks(synthesized))
    audit = org.placements["423456789012"].stacks
    assert audit["SecurityTooling"] == ["eu-west-1", "eu-central-1", "us-east-1"]
    assert audit["member baseline (StackSet)"] == ["eu-west-1", "eu-central-1", "us-east-1"]
    assert org.placements["645678901234"].stacks["Packages"] == ["eu-west-1"]
    management = org.placements["210987654321"].stacks
    assert "member baseline (StackSet)" not in management  # StackSets skip it
    assert management["ManagementBaseline"] == ["eu-west-1", "eu-central-1", "us-east-1"]
    assert stack_group("Accounts03") == "Accounts"
    assert stack_group("MachineAccess-audit") == "MachineAccess"


def test_dot_draws_the_same_graph(synthesized: Synthesized) -> None:
    org = organisation(synthesized.config, _stacks(synthesized))
    dot = render_dot(org)
    mermaid = render_mermaid(org)
    assert dot.startswith("digraph organisation {") and dot.rstrip().endswith("}")
    assert (
        dot.count(" -> ")
        == mermaid.count(" --> ")
        == len(synthesized.config.ou_paths()) + len(synthesized.config.accounts)
    )


def test_the_architecture_page_embeds_the_examples_diagram(synthesized: Synthesized) -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = text.split(DIAGRAM_BEGIN)[1].split(DIAGRAM_END)[0]
    picture = render_mermaid(organisation(synthesized.config, _stacks(synthesized)))
    assert block == f"\n```mermaid\n{picture}```\n", "stale: run `python -m baseline docs`"


def test_the_command_writes_the_example_from_its_own_construct_tree(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    """The CLI builds the landing zone's stacks itself (nothing is synthesized)."""
    out = tmp_path / "org.mmd"
    assert main(["diagram", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_mermaid(
        organisation(synthesized.config, _stacks(synthesized))
    )


def test_a_bad_config_or_output_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: {}\n", encoding="utf-8")
    assert main(["diagram", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"invalid landing-zone config {bad}") and "Traceback" not in err


def test_names_cannot_break_the_notation_or_merge_nodes(synthesized: Synthesized) -> None:
    """A quote in the organisation's name ends no label; OUs and accounts whose names
    differ only in punctuation stay apart."""
    org = organisation(synthesized.config, _stacks(synthesized))
    org = type(org)('Acme "Blue" <b>', org.attached, org.ou_paths, org.accounts, org.placements)
    mermaid, dot = render_mermaid(org), render_dot(org)
    assert "Root: Acme #quot;Blue#quot; #lt;b#gt;" in mermaid and '"Blue"' not in mermaid
    assert 'Root: Acme \\"Blue\\" <b>' in dot
    nodes = {
        _node("ou", "Work Loads"),
        _node("ou", "Work_Loads"),
        _node("ou", "audit"),
        _node("account", "audit"),
        _node("ou", "account/audit"),
    }
    assert len(nodes) == 5


def test_an_ou_path_and_an_account_that_read_alike_are_two_nodes(
    example_data: dict[str, Any],
) -> None:
    """The OU ``account/team`` and the account ``team`` in it: two boxes, an edge between
    them (they shared one id, a box with a loop, before)."""
    data = copy.deepcopy(example_data)
    data["organizational_units"].append({"name": "account", "children": [{"name": "team"}]})
    data["accounts"].append({"name": "team", "email": "team@example.com", "ou": "account/team"})
    config = parse_config(data)
    for picture, box in (
        (render_mermaid(organisation(config)), r"^  (\w+)[\[(]"),
        (render_dot(organisation(config)), r"^  (\w+) \[label="),
    ):
        ids = re.findall(box, picture, flags=re.MULTILINE)
        assert len(ids) == len(set(ids)) == 1 + len(config.ou_paths()) + len(config.accounts)
        edges = re.findall(r"^  (\w+) -+> (\w+);?$", picture, flags=re.MULTILINE)
        assert not [edge for edge in edges if edge[0] == edge[1]]
        assert (_node("ou", "account/team"), _node("account", "team")) in edges


def test_a_write_that_fails_part_way_leaves_no_part_of_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk: the output is refused in one line, and no half a picture stays behind
    under the name given (a later run would find the name taken)."""
    import errno
    import io

    from baseline import __main__ as cli

    class FullDisk(io.StringIO):
        def write(self, text: str) -> int:
            super().write(text[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

    opened = Path.open

    def open_full(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = opened(self, mode, *args, **kwargs)
        if mode == "x":
            handle.close()  # made, as a real write makes it, then the disk is full
            return FullDisk()
        return handle

    monkeypatch.setattr(Path, "open", open_full)
    output = tmp_path / "organisation.mmd"
    assert cli._write_new(output, "flowchart TD\n" * 100) == (
        f"--output {output}: No space left on device; nothing was written"
    )
    assert not output.exists()


def test_an_existing_output_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not even the config it draws: the file stays as it was, and one line says why."""
    shutil.copytree(ROOT / "config", tmp_path, dirs_exist_ok=True)  # with its policy files
    config = tmp_path / "landing-zone.yaml"
    original = config.read_text(encoding="utf-8")
    assert main(["diagram", "-c", str(config), "--output", str(config)]) == 2
    assert config.read_text(encoding="utf-8") == original
    assert capsys.readouterr().err.splitlines() == [
        f"--output {config}: the file exists; choose another name (nothing is overwritten)"
    ]
    assert main(["diagram", "-c", str(config), "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"--output {tmp_path}: is a directory; give the name of a new file"
    ]
