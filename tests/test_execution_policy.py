"""The execution policies of each account's CDK bootstrap, derived from the resource types
its stacks hold and the CloudFormation resource schemas."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from baseline.__main__ import main
from baseline.execution_policy import (
    MANAGED_POLICY_CHARACTERS,
    POLICY_NAME,
    _schema_permissions,
    execution_policies,
    iam_action,
)
from tests.conftest import Synthesized

AUDIT = "423456789012"
NETWORK = "534567890123"
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*]+\Z")


@pytest.mark.parametrize("account", [AUDIT, NETWORK])
def test_every_resource_type_of_the_account_is_covered(
    account: str, synthesized: Synthesized
) -> None:
    policies = execution_policies(synthesized.outdir, account)
    actions = policies.actions
    assert policies.stacks and all(ACTION.match(a) for a in actions), sorted(actions)[:5]
    assert "*" not in actions and not any(a.endswith(":*") for a in actions)
    for resource_type in policies.resource_types:
        if resource_type.startswith("Custom::"):
            assert "lambda:InvokeFunction" in actions
        elif resource_type != "AWS::CDK::Metadata":
            needed = _schema_permissions(resource_type, "eu-west-1")
            assert needed is not None, resource_type
            taken = {iam_action(p) for p in needed}
            assert taken - {None} <= actions, resource_type


def test_only_what_is_no_iam_action_is_left_out_of_a_schema(synthesized: Synthesized) -> None:
    """A permission a schema lists is left out only when it is no IAM action at all."""
    management = execution_policies(synthesized.outdir, "210987654321")
    dropped = {
        permission
        for resource_type in management.resource_types
        if not resource_type.startswith("Custom::") and resource_type != "AWS::CDK::Metadata"
        for permission in _schema_permissions(resource_type, "eu-west-1") or ()
        if iam_action(permission) is None
    }
    assert dropped == {"s3:REST.PUT.OBJECT"}
    assert iam_action("CloudTrail:CreateTrail") == "cloudtrail:CreateTrail"
    assert "cloudtrail:CreateTrail" in management.actions


def test_the_documents_fit_iam_and_are_named_for_the_bootstrap(synthesized: Synthesized) -> None:
    # the network account's stacks need more than one policy holds
    policies = execution_policies(synthesized.outdir, NETWORK)
    names = list(policies.documents)
    assert names[0] == POLICY_NAME and names[1:] == [
        f"{POLICY_NAME}-{n}" for n in range(2, len(names) + 1)
    ]
    assert len(names) >= 2
    seen: list[str] = []
    for document in policies.documents.values():
        assert len(json.dumps(document, separators=(",", ":"))) <= MANAGED_POLICY_CHARACTERS
        (statement,) = document["Statement"]
        assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
        seen += statement["Action"]
    assert len(seen) == len(set(seen))  # each action in one document


def test_only_the_accounts_own_stacks_count(synthesized: Synthesized) -> None:
    """The network hub's firewall is no concern of the audit account's role."""
    audit = execution_policies(synthesized.outdir, AUDIT)
    network = execution_policies(synthesized.outdir, NETWORK)
    assert all(s.startswith(("SecurityTooling-", "MachineAccess-")) for s in audit.stacks)
    assert "network-firewall:CreateFirewall" in network.actions
    assert "network-firewall:CreateFirewall" not in audit.actions


def test_fails_a_resource_type_no_schema_describes(tmp_path: Path) -> None:
    stack = {"Resources": {"Thing": {"Type": "AWS::Nothing::Here"}}}
    (tmp_path / "Odd.template.json").write_text(json.dumps(stack), encoding="utf-8")
    manifest = {
        "artifacts": {
            "Odd": {"type": "aws:cloudformation:stack", "environment": f"aws://{AUDIT}/eu-west-1"}
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"no CloudFormation resource schema describes AWS::Nothing::Here \(Odd\)"
    ):
        execution_policies(tmp_path, AUDIT)


def test_the_command_writes_new_files_and_says_how_to_use_them(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["execution-policy", "--account", "audit", "--cdk-out", str(synthesized.outdir)]
    assert main([*args, "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    written = tmp_path / f"{POLICY_NAME}.json"
    assert json.loads(written.read_text(encoding="utf-8"))["Version"] == "2012-10-17"
    assert (
        f"aws iam create-policy --path /nwl/ --policy-name {POLICY_NAME} "
        f"--policy-document file://{written}"
    ) in out
    assert f"arn:aws:iam::{AUDIT}:policy/nwl/{POLICY_NAME}" in out
    # never over a file
    assert main([*args, "--output-dir", str(tmp_path)]) == 2
    assert "the file exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ("audti", "--account: 'audti' is not an account of the config (did you mean audit?)"),
        ("orders-prod", "--account orders-prod: no stack of the assembly deploys in account"),
    ],
)
def test_the_command_refuses_an_account_it_cannot_answer_for(
    account: str, message: str, synthesized: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["execution-policy", "--account", account, "--cdk-out", str(synthesized.outdir)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(message) and len(err.splitlines()) == 1, err


def test_the_command_refuses_a_template_nested_too_deep_to_read(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged assembly is a one-line refusal, not Python's recursion traceback."""
    shutil.copy(synthesized.outdir / "manifest.json", tmp_path / "manifest.json")
    deep = '{"Resources": {"A": {"Type": "T", "Properties": {"P": ' + "[" * 50_000
    (tmp_path / "Audit.template.json").write_text(deep + "]" * 50_000 + "}}}}", encoding="utf-8")
    code = main(["execution-policy", "--account", "audit", "--cdk-out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Audit.template.json nests too deep to read" in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_the_command_writes_every_file_or_none(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the network account needs two policies: the second is there already
    (tmp_path / f"{POLICY_NAME}-2.json").write_text("keep me\n", encoding="utf-8")
    args = ["execution-policy", "--account", "network", "--cdk-out", str(synthesized.outdir)]
    assert main([*args, "--output-dir", str(tmp_path)]) == 2
    assert "the file exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{POLICY_NAME}-2.json"]


def test_a_write_that_fails_after_the_first_file_takes_that_file_back(
    synthesized: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second of the network account's two files meets a full disk: the first, written
    already, is taken back (every file or none), and the problem is one line."""
    from baseline import __main__ as cli

    write_new = cli._write_new

    def full_after_one(path: Path, text: str) -> str | None:
        if path.name == f"{POLICY_NAME}-2.json":
            return f"--output {path}: No space left on device; nothing was written"
        return write_new(path, text)

    monkeypatch.setattr(cli, "_write_new", full_after_one)
    args = ["execution-policy", "--account", "network", "--cdk-out", str(synthesized.outdir)]
    assert main([*args, "--output-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"--output-dir {tmp_path / f'{POLICY_NAME}-2.json'}: No space left on device; "
        "nothing was written"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("[]", "is not a cloud assembly's manifest"),
        (
            json.dumps({"artifacts": {"Odd": {"type": "aws:cloudformation:stack"}}}),
            "stack Odd of the assembly has no environment",
        ),
    ],
)
def test_the_command_refuses_a_damaged_assembly_in_one_line(
    manifest: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifest.json").write_text(manifest, encoding="utf-8")
    assert main(["execution-policy", "--account", "audit", "--cdk-out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err, err
