"""The Control Tower proactive controls as the kit runs them: the same findings as the
plugin that ships the rules, each rule only where it can find something, every core used."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import pytest

from baseline import control_tower
from baseline.compliance import ControlTowerRules
from tests.conftest import TemplatePaths

pytestmark = pytest.mark.skipif(
    platform.system() not in ("Linux", "Darwin"), reason="cfn-guard ships for Linux and macOS"
)

#: Plainly non-compliant resources of several services, so that the rules report through
#: every form of cfn-guard's structured output: a missing property (unresolved), a value
#: compared (resolved), a list searched (in-resolved) and a nested rule.
BAD_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "PlainBucket": {"Type": "AWS::S3::Bucket"},
        "PlainQueue": {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": False}},
        "OpenGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "open to the world",
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
                ],
            },
        },
        "UnrotatedKey": {
            "Type": "AWS::KMS::Key",
            "Properties": {"EnableKeyRotation": False, "PendingWindowInDays": 7},
        },
        "OutsideFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"ZipFile": "def handler(event, context): pass"},
                "Handler": "index.handler",
                "Role": "arn:aws:iam::111122223333:role/x",
                "Runtime": "python3.12",
            },
        },
        # a dead-letter target that is no queue: the rule's own message, not the message of
        # the helper inside it that checks the reference, names the finding
        "Topic": {"Type": "AWS::SNS::Topic"},
        "WrongTarget": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["Topic", "TopicArn"]},
                    "maxReceiveCount": 3,
                }
            },
        },
        "OpenTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
    }
}


def _write(directory: Path, name: str, template: dict[str, Any]) -> str:
    path = directory / f"{name}.template.json"
    path.write_text(json.dumps(template, indent=1), encoding="utf-8")
    return str(path)


def test_finds_what_the_plugin_that_ships_the_rules_finds(tmp_path: Path) -> None:
    """The plugin itself, every rule on, against the kit's runner, on the same templates."""
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

    bad = _write(tmp_path, "Bad", BAD_TEMPLATE)
    queue_only = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    paths = [bad, queue_only]
    stock = CfnGuardValidator().validate(TemplatePaths(paths))
    theirs = {
        (v.rule_name, r.resource_logical_id, Path(r.template_path).name, v.fix, v.description)
        for v in stock.violations
        for r in v.violating_resources
    }
    mine = {
        (f.rule_name, f.logical_id, Path(f.template_path).name, f.fix, f.description)
        for f in control_tower.check(paths)
    }
    assert mine == theirs
    # and the comparison is not between two empty sets: each service is found
    found = {(rule, resource) for rule, resource, *_ in mine}
    for resource in ("PlainBucket", "PlainQueue", "OpenGroup", "UnrotatedKey", "OutsideFunction"):
        assert any(r == resource for _, r in found), resource
    assert ("sqs_dlq_check", "Q") in found
    assert ("kms_key_rotation_enabled_check", "UnrotatedKey") in found
    wrong = {(f, d) for rule, r, _, f, d in mine if rule == "sqs_dlq_check" and r == "Topic"}
    assert wrong and all(d.startswith("[CT.SQS.PR.1]") for _, d in wrong), wrong


def test_the_plugin_reports_each_finding_with_its_resource(tmp_path: Path) -> None:
    bad = _write(tmp_path, "Bad", BAD_TEMPLATE)
    report = ControlTowerRules().validate(TemplatePaths([bad]))
    assert report.success is False
    named = {
        (v.rule_name, r.resource_logical_id, r.template_path)
        for v in report.violations
        for r in v.violating_resources
    }
    assert ("sqs_dlq_check", "PlainQueue", bad) in named
    assert all(v.fix and v.description for v in report.violations)


def test_a_compliant_template_passes(tmp_path: Path) -> None:
    queue = {
        "Resources": {
            "Dead": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"KmsMasterKeyId": "alias/x"},
            },
            "Q": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "KmsMasterKeyId": "alias/x",
                    "RedrivePolicy": {
                        "deadLetterTargetArn": {"Fn::GetAtt": ["Dead", "Arn"]},
                        "maxReceiveCount": 3,
                    },
                },
            },
        }
    }
    path = _write(tmp_path, "Good", queue)
    findings = control_tower.check([path])
    assert {(f.rule_name, f.logical_id) for f in findings} == {("sqs_dlq_check", "Dead")}


def test_each_template_gets_every_rule_on_its_types_and_no_other(tmp_path: Path) -> None:
    queue_only = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    accounts = _write(
        tmp_path,
        "Accounts",
        {"Resources": {"A": {"Type": "AWS::Organizations::Account", "Properties": {}}}},
    )
    planned = {
        rule.stem
        for template, rules in control_tower.plan([queue_only, accounts])
        for rule in rules
    }
    on_queues = {
        name for name, types in control_tower.rule_types().items() if "AWS::SQS::Queue" in types
    }
    assert on_queues and planned == on_queues
    assert not [t for t, _ in control_tower.plan([accounts])]  # nothing checks accounts


def test_a_disabled_rule_does_not_run(tmp_path: Path) -> None:
    path = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert "sqs_dlq_check" in {f.rule_name for f in control_tower.check([path])}
    left = control_tower.check([path], disabled=["ct-sqs-pr-1"])
    assert "sqs_dlq_check" not in {f.rule_name for f in left}


def test_large_templates_are_cut_into_pieces_for_every_core(tmp_path: Path) -> None:
    bad = _write(tmp_path, "Bad", BAD_TEMPLATE)
    pieces = control_tower.plan([bad])
    assert len(pieces) > 1
    assert all(len(rules) <= control_tower._RULES_PER_PROCESS for _, rules in pieces)
    every = [rule for _, rules in pieces for rule in rules]
    assert len(every) == len(set(every))  # each rule once


def test_unpacks_the_rules_once_into_the_cache(tmp_path: Path) -> None:
    archive = control_tower._archive()
    system, arch = control_tower._platform()
    first = control_tower._unpacked(archive, "digest", system, arch, tmp_path)
    binary = first / "cfn-guard"
    assert os.access(binary, os.X_OK)
    assert len(list((first / "rules").rglob("*.guard"))) > 200
    stamp = binary.stat().st_mtime_ns
    again = control_tower._unpacked(archive, "digest", system, arch, tmp_path)
    assert again == first and binary.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no scratch left behind


def test_an_unwritable_cache_unpacks_for_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file-not-directory"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    control_tower.bundle.cache_clear()
    try:
        found = control_tower.bundle()
        assert found.binary.exists() and not str(found.binary).startswith(str(blocked))
    finally:
        control_tower.bundle.cache_clear()


def _fake_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    fake = tmp_path / "cfn-guard"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    real = control_tower.bundle()
    monkeypatch.setattr(
        control_tower,
        "bundle",
        lambda: control_tower.Bundle(binary=fake, rules=real.rules, version=real.version),
    )


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo 'rules did not parse' >&2\nexit 2\n", r"\(exit 2\): rules did not parse"),
        ("echo 'Parsing error handling rule file' >&2\nexit 5\n", r"\(exit 5\): Parsing error"),
        ("exit 19\n", r"gave no results .*\(exit 19\)"),
        ("echo '{}'\nexit 0\n", r"gave no results"),
    ],
)
def test_fails_on_an_error_status_or_no_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, message: str
) -> None:
    """cfn-guard's own error status (a rule that did not parse), or a failure without
    results, is never read as a pass."""
    _fake_guard(tmp_path, monkeypatch, script)
    path = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    with pytest.raises(RuntimeError, match=message):
        control_tower.check([path])


def test_a_template_checked_again_is_not_run_again_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes with the same rules give cfn-guard's same answer: a process checks
    them once. Changed bytes are checked afresh."""
    runs = tmp_path / "runs"
    _fake_guard(tmp_path, monkeypatch, f"echo run >> {runs}\necho '[{{}}]'\n")
    path = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    pieces = len(control_tower.plan([path]))
    assert control_tower.check([path]) == control_tower.check([path]) == []
    assert len(runs.read_text().splitlines()) == pieces
    _write(tmp_path, "Queue", {"Resources": {"Q2": {"Type": "AWS::SQS::Queue"}}})
    control_tower.check([path])
    assert len(runs.read_text().splitlines()) == 2 * pieces


def test_a_failed_rule_that_names_no_resource_still_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    failed = [
        {
            "name": path,
            "not_compliant": [
                {
                    "Rule": {
                        "name": "sqs_dlq_check",
                        "messages": {"custom_message": None},
                        "checks": [
                            {
                                "Rule": {
                                    "name": "check",
                                    "messages": {
                                        "custom_message": "[CT.SQS.PR.1]: what\n[FIX]: how"
                                    },
                                    "checks": [{"Block": {"unresolved": None}}],
                                }
                            }
                        ],
                    }
                }
            ],
        }
    ]
    monkeypatch.setattr(control_tower, "_run", lambda *_: failed)
    (finding,) = control_tower.check([path])
    assert (finding.rule_name, finding.logical_id, finding.fix) == ("sqs_dlq_check", "", "how")
    report = ControlTowerRules().validate(TemplatePaths([path]))
    assert report.success is False and report.violations[0].rule_name == "sqs_dlq_check"


def test_unpacking_writes_nothing_outside_the_bundle_and_needs_rules(tmp_path: Path) -> None:
    import io
    import tarfile

    system, arch = control_tower._platform()

    def archive(name: str, members: dict[str, bytes]) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tar:
            for member, content in members.items():
                info = tarfile.TarInfo(member)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        return path

    binary = f"package/bin/{system}/{arch}/cfn-guard"
    rules = "package/rules/control-tower/cfn-guard/"
    escaping = archive(
        "escaping.tgz",
        {binary: b"", f"{rules}s3/ok.guard": b"rule ok {}", f"{rules}../../../evil.guard": b"x"},
    )
    target = control_tower._unpacked(escaping, "d1", system, arch, tmp_path / "cache")
    assert (target / "rules" / "s3" / "ok.guard").exists()
    assert not list(tmp_path.rglob("evil.guard"))
    ruleless = archive("ruleless.tgz", {binary: b""})
    with pytest.raises(RuntimeError, match="layout changed"):
        control_tower._unpacked(ruleless, "d2", system, arch, tmp_path / "cache")
