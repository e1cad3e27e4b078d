"""The Control Tower proactive controls as the kit runs them: the same findings as the
plugin that ships the rules, each rule only where it can find something, every core used."""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from baseline import control_tower
from baseline.compliance import ControlTowerRules
from tests.conftest import Synthesized, TemplatePaths

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
        # a permission whose source is named by a Ref: the rule checks the referenced
        # resource exists, so a narrowed template keeps the rule it references
        "Nightly": {
            "Type": "AWS::Events::Rule",
            "Properties": {"ScheduleExpression": "rate(1 day)"},
        },
        "InvokeNightly": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": "f",
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Ref": "Nightly"},
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
    pieces = control_tower.plan([queue_only, accounts])
    planned = {rule.stem for piece in pieces for rule in piece.rules}
    on_queues = {
        name for name, types in control_tower.rule_types().items() if "AWS::SQS::Queue" in types
    }
    assert on_queues and planned == on_queues
    assert {t for piece in pieces for t in piece.templates} == {queue_only}
    assert not control_tower.plan([accounts])  # nothing checks accounts


def test_a_disabled_rule_does_not_run(tmp_path: Path) -> None:
    path = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert "sqs_dlq_check" in {f.rule_name for f in control_tower.check([path])}
    left = control_tower.check([path], disabled=["ct-sqs-pr-1"])
    assert "sqs_dlq_check" not in {f.rule_name for f in left}


def test_large_templates_are_cut_into_pieces_for_every_core(tmp_path: Path) -> None:
    bad = _write(tmp_path, "Bad", BAD_TEMPLATE)
    pieces = control_tower.plan([bad])
    assert len(pieces) > 1
    assert all(len(piece.rules) <= control_tower._RULES_PER_PROCESS for piece in pieces)
    every = [rule for piece in pieces for rule in piece.rules]
    assert len(every) == len(set(every))  # each rule once
    # a piece holds one service's rules, and names every type they name
    for piece in pieces:
        assert len({rule.parent.name for rule in piece.rules}) == 1
        named = control_tower.rule_types()
        assert piece.types == frozenset().union(*(named[rule.stem] for rule in piece.rules))


def test_each_rule_runs_once_over_every_template_it_applies_to(tmp_path: Path) -> None:
    """Many templates do not make many processes: a piece takes every template its rules
    apply to."""
    paths = [
        _write(tmp_path, f"Queue{n}", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
        for n in range(5)
    ]
    assert [piece.templates for piece in control_tower.plan(paths)] == [tuple(paths)] * len(
        control_tower.plan(paths[:1])
    )


def test_a_rule_sees_the_resources_of_its_types_and_what_they_reference() -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Conditions": {"Always": {"Fn::Equals": ["a", "a"]}},
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Dead": {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": {"Ref": "Key"}}},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Alias": {
                "Type": "AWS::KMS::Alias",
                "Properties": {"TargetKeyId": {"Fn::GetAtt": "Other.Arn"}},
            },
            "Other": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Topic", "Arn"]}},
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}},
            },
        },
    }
    view = control_tower.narrowed(template, frozenset({"AWS::SQS::Queue"}))
    # the queues, the key one references and the topic the other's dead-letter target
    # names (a rule checks the target is a queue), in the template's order
    assert list(view["Resources"]) == ["Key", "Dead", "Topic", "Queue"]
    assert view["Resources"]["Queue"] == template["Resources"]["Queue"]
    assert {k: v for k, v in view.items() if k != "Resources"} == {
        k: v for k, v in template.items() if k != "Resources"
    }
    # references are followed on from what a reference reached, in both GetAtt forms
    chain = control_tower.narrowed(template, frozenset({"AWS::KMS::Alias"}))
    assert list(chain["Resources"]) == ["Alias", "Other"]
    assert control_tower.narrowed(template, None) == template  # a rule naming no type


#: What may follow ``Resources`` in a rule: a filter on type, a lookup by logical id, or a
#: check on a property of that name (``EncryptionConfig[*].Resources`` of an EKS cluster).
_QUERY_OF_RESOURCES = re.compile(
    r"(\.\*)?\[\s*(Type|keys)\s*(==|in)\s|\s+(exists|is_list|not\s+empty)\b|\[\*\]\s*=="
)


def _strays(rule_text: str) -> list[str]:
    """Where a rule reads resources other than by type or by a reference's logical id,
    or filters on a pattern of types."""
    text = re.sub(r"<<.*?>>", "", rule_text, flags=re.S)  # custom messages
    text = re.sub(r"#[^\n]*", "", text)  # comments
    text = re.sub(r'"[^"\n]*"', '""', text)  # string values
    found = [
        " ".join(text[m.end() : m.end() + 40].split())
        for m in re.finditer(r"\bResources\b", text)
        if not _QUERY_OF_RESOURCES.match(text[m.end() : m.end() + 40])
    ]
    return found + [m.group(0) for m in re.finditer(r"\bType\s*(==|in)\s*/", text)]


#: A top-level rule of the bundle: its name and its ``when`` clause, if any.
_TOP_LEVEL_RULE = re.compile(r"^rule\s+(\w+)\s*(when\b[^{]*)?\{", flags=re.M)


def _unguarded(rule_text: str) -> list[str]:
    """The top-level rules that would run on a template without any resource of their
    types: every rule must apply only when its resources are there (``... not empty``),
    or only to a hook's input, for a rule to be skipped on such a template."""
    text = re.sub(r"#[^\n]*", "", rule_text)
    return [
        m.group(1)
        for m in _TOP_LEVEL_RULE.finditer(text)
        if not re.search(r"is_cfn_hook|not\s+empty|!\s*empty", m.group(2) or "")
    ]


def test_every_bundled_rule_is_skipped_where_its_resources_are_not() -> None:
    """What lets a rule be left out of a template without its types, or run on one
    narrowed to another rule's types: each top-level rule applies only when its
    resources are there (or to a hook's input)."""
    rules = control_tower.bundle().rule_files()
    counted = sum(
        len(_TOP_LEVEL_RULE.findall(re.sub(r"#[^\n]*", "", path.read_text(encoding="utf-8"))))
        for path in rules.values()
    )
    assert counted >= len(rules)  # the pattern finds the rules it audits
    unguarded = {
        name: found
        for name, path in rules.items()
        if (found := _unguarded(path.read_text(encoding="utf-8")))
    }
    assert not unguarded, unguarded


def test_the_audit_finds_a_rule_that_applies_without_its_resources() -> None:
    assert _unguarded("let q = Resources.*[ Type == 'AWS::SQS::Queue' ]\nrule x { %q exists }\n")
    assert _unguarded("rule y when is_cfn_template(%INPUT_DOCUMENT) {\n  %q.Properties exists\n}\n")
    assert not _unguarded("rule z when %q not empty {\n  %q.Properties exists\n}\n")


def test_the_bundled_rules_query_resources_only_by_type_or_by_reference() -> None:
    """What lets a rule see only part of a template: every bundled rule reaches the
    template's resources through a type filter (on a type the file names) or by the
    logical id a reference names; a filter on a pattern of types, or a walk over every
    resource, would see resources the narrowed template leaves out."""
    strays = {
        name: found
        for name, path in control_tower.bundle().rule_files().items()
        if (found := _strays(path.read_text(encoding="utf-8")))
    }
    assert not strays, strays


@pytest.mark.parametrize(
    "rule",
    [
        "let all = Resources.*\nrule x { %all.Properties exists }\n",
        "let any = Resources[ Properties exists ]\n",
        "let ec2 = Resources.*[ Type == /AWS::EC2::/ ]\nrule x when %ec2 !empty { %ec2.Properties exists }\n",
    ],
)
def test_the_audit_of_the_rules_finds_a_rule_that_reads_other_resources(rule: str) -> None:
    assert _strays(rule)
    assert not _strays('let q = Resources.*[ Type == "AWS::SQS::Queue" ] # Resources.*\n')


def test_a_narrowed_template_gets_the_findings_of_the_whole(synthesized: Synthesized) -> None:
    """On the example's network stack (network firewall, ACLs, transit gateway, flow
    logs, functions, queues, keys): every applicable rule in one process on the whole
    template finds what the runner finds on the narrowed views."""
    from baseline.compliance import GUARD_DISABLED_RULES

    path = str(synthesized.outdir / f"Network-{synthesized.config.home_region}.template.json")
    whole = [
        rule for piece in control_tower.plan([path], GUARD_DISABLED_RULES) for rule in piece.rules
    ]
    results = control_tower._guard(control_tower.bundle().binary, [Path(path)], whole)[Path(path)]
    expected = {
        (rule.get("name"), location.split("/")[2] if location.count("/") >= 2 else "")
        for result in results
        for rule in control_tower._failed_rules(result)
        for _, location in control_tower._failures(rule)
    }
    found = {(f.rule_name, f.logical_id) for f in control_tower.check([path], GUARD_DISABLED_RULES)}
    assert len(expected) >= 3 and found == expected


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


@pytest.mark.parametrize(
    ("script", "message"),
    [
        # a failure reported on a file it was not given
        (
            """echo '[{"name": "/elsewhere.json", "not_compliant": [{"Rule": {"name": "x"}}]}]'
exit 19
""",
            r"which it was not given",
        ),
        # a failure, and one of the two files it was given without a result
        (
            """first=""; take=""
for arg; do
  if [ -n "$take" ] && [ -z "$first" ]; then first="$arg"; fi
  if [ "$arg" = "--data" ]; then take=1; else take=""; fi
done
printf '[{"name": "%s", "not_compliant": [{"Rule": {"name": "x"}}]}]' "$first"
exit 19
""",
            r"gave no result for",
        ),
    ],
)
def test_fails_when_results_do_not_answer_the_files_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, message: str
) -> None:
    _fake_guard(tmp_path, monkeypatch, script)
    paths = [
        _write(tmp_path, f"Queue{n}", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
        for n in range(2)
    ]
    with pytest.raises(RuntimeError, match=message):
        control_tower.check(paths)


def test_results_are_matched_through_a_temporary_directory_behind_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cfn-guard names results by the canonical path (macOS's /var is /private/var)."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    path = _write(tmp_path, "Queue", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "link"))
    assert "sqs_dlq_check" in {f.rule_name for f in control_tower.check([path])}


def test_a_full_result_cache_starts_again_without_losing_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [
        _write(tmp_path, f"Queue{n}", {"Resources": {f"Q{n}": {"Type": "AWS::SQS::Queue"}}})
        for n in range(2)
    ]
    first = control_tower.check(paths[:1])
    monkeypatch.setattr(control_tower, "_RESULTS_KEPT", 1)
    both = control_tower.check(paths)  # one answer known, one new, and the cache full
    assert {f.logical_id for f in both} == {"Q0", "Q1"}
    assert [f for f in both if f.logical_id == "Q0"] == first


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
    monkeypatch.setattr(control_tower, "_run", lambda _binary, _rules, data: [failed for _ in data])
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
