"""Every control finds evidence in the example, and each check fails without its control."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from baseline.controls import CONTROLS, Templates, resources
from tests.conftest import Synthesized

BP_IDS = {
    f"SEC{a:02d}-BP{b:02d}"
    for a, n in [
        (1, 8),
        (2, 6),
        (3, 9),
        (4, 4),
        (5, 4),
        (6, 5),
        (7, 4),
        (8, 4),
        (9, 3),
        (10, 8),
        (11, 8),
    ]
    for b in range(1, n + 1)
}


@pytest.mark.parametrize("control", CONTROLS, ids=[c.id for c in CONTROLS])
def test_control_holds_in_the_example(control: Any, synthesized: Synthesized) -> None:
    evidence = control.check(synthesized.templates)
    assert evidence.found, f"{control.id}: no evidence"
    assert evidence.violations == [], f"{control.id}: {evidence.violations}"


def test_registry_is_well_formed() -> None:
    ids = [c.id for c in CONTROLS]
    assert len(ids) == len(set(ids))
    for control in CONTROLS:
        assert control.best_practices, control.id
        assert set(control.best_practices) <= BP_IDS, control.id
        module, _, name = control.implemented_by.rpartition(".")
        imported = __import__(module, fromlist=[name])
        assert hasattr(imported, name), control.implemented_by


def _first(
    templates: dict[str, Any],
    resource_type: str,
    predicate: Callable[[dict[str, Any]], bool] = lambda r: True,
) -> dict[str, Any]:
    for _, resource in resources(templates, resource_type):
        if predicate(resource):
            return resource
    raise AssertionError(resource_type)


def _is_log_bucket(resource: dict[str, Any]) -> bool:
    return "-logs-" in str(resource["Properties"].get("BucketName", ""))


def _is_source_log_bucket(resource: dict[str, Any]) -> bool:
    return _is_log_bucket(resource) and "ReplicationConfiguration" in resource["Properties"]


def _drop_statement(templates: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> None:
    for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        statements[:] = [s for s in statements if not predicate(s)]


def _loosen_writer(templates: dict[str, Any]) -> None:
    for _, policy in resources(templates, "AWS::S3::BucketPolicy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "ConfigWrite":
                statement["Condition"]["StringEquals"].pop("aws:SourceOrgID")


WEAKENINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "LZ-KMS-01": lambda t: _first(t, "AWS::KMS::Key")["Properties"].update(EnableKeyRotation=False),
    "LZ-S3-01": lambda t: _first(t, "AWS::S3::Bucket")["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]["ServerSideEncryptionByDefault"].update(SSEAlgorithm="AES256"),
    "LZ-S3-02": lambda t: _drop_statement(t, lambda s: "NumericLessThan" in s.get("Condition", {})),
    "LZ-S3-03": lambda t: _first(t, "AWS::S3::Bucket")["Properties"][
        "PublicAccessBlockConfiguration"
    ].update(BlockPublicPolicy=False),
    "LZ-S3-04": lambda t: _first(t, "AWS::S3::Bucket").update(DeletionPolicy="Delete"),
    "LZ-LOG-01": lambda t: _first(t, "AWS::S3::Bucket", _is_log_bucket)["Properties"].pop(
        "LoggingConfiguration"
    ),
    "LZ-LOG-02": lambda t: _first(t, "AWS::S3::Bucket", _is_log_bucket)["Properties"].pop(
        "ObjectLockConfiguration"
    ),
    "LZ-LOG-03": lambda t: _first(t, "AWS::S3::Bucket", _is_source_log_bucket)["Properties"][
        "ReplicationConfiguration"
    ]["Rules"][0].update(Status="Disabled"),
    "LZ-LOG-04": _loosen_writer,
}


def test_every_control_has_a_weakening_case() -> None:
    assert sorted(WEAKENINGS) == sorted(c.id for c in CONTROLS)


@pytest.mark.parametrize("control", CONTROLS, ids=[c.id for c in CONTROLS])
def test_fails_when_the_control_is_removed(control: Any, synthesized: Synthesized) -> None:
    templates: Templates = copy.deepcopy(synthesized.templates)
    WEAKENINGS[control.id](templates)  # type: ignore[arg-type]
    evidence = control.check(templates)
    assert not evidence.holds, f"{control.id} still holds after it was weakened"
