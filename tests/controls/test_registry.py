"""The registry as a whole: every control holds in the example, is well formed, is
explained, and has a weakening case in the test module of its domain."""

from __future__ import annotations

from types import ModuleType

import pytest

from baseline.controls import (
    CONTROLS,
    Control,
    Evidence,
    Templates,
    application,
    detection,
    guardrails,
    identity,
    incident,
    logs,
    member_baseline,
    model,
    network,
    storage,
)
from tests.conftest import Synthesized
from tests.controls import (
    test_application,
    test_detection,
    test_guardrails,
    test_identity,
    test_incident,
    test_logs,
    test_member_baseline,
    test_network,
    test_storage,
)

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

#: Each domain module of the registry, in registry order, with the test module of its
#: weakening cases.
DOMAINS: list[tuple[ModuleType, ModuleType]] = [
    (storage, test_storage),
    (logs, test_logs),
    (guardrails, test_guardrails),
    (member_baseline, test_member_baseline),
    (identity, test_identity),
    (detection, test_detection),
    (network, test_network),
    (incident, test_incident),
    (application, test_application),
]


@pytest.mark.parametrize("control", CONTROLS, ids=[c.id for c in CONTROLS])
def test_control_holds_in_the_example(control: Control, synthesized: Synthesized) -> None:
    evidence = control.check(synthesized.templates)
    assert evidence.found, f"{control.id}: no evidence"
    assert evidence.violations == [], f"{control.id}: {evidence.violations}"


def test_registry_is_well_formed() -> None:
    ids = [c.id for c in CONTROLS]
    assert len(ids) == len(set(ids))
    for control in CONTROLS:
        assert control.best_practices, control.id
        assert set(control.best_practices) <= BP_IDS, control.id
        for implementation in control.implemented_by.split(", "):
            dotted = implementation.split(" (")[0]
            module, _, name = dotted.rpartition(".")
            imported = __import__(module, fromlist=[name])
            assert hasattr(imported, name), control.implemented_by


def test_registry_lists_the_domains_in_order() -> None:
    assert tuple(c for domain, _ in DOMAINS for c in domain.CONTROLS) == CONTROLS


def test_every_check_is_defined_in_its_domain_and_documented() -> None:
    for domain, _ in DOMAINS:
        for control in domain.CONTROLS:
            assert control.check.__module__ == domain.__name__, control.id
            assert getattr(domain, control.check.__name__) is control.check, control.id
            assert (control.check.__doc__ or "").strip(), f"{control.id}: check has no docstring"


def test_titles_are_short_and_every_control_is_explained() -> None:
    for control in CONTROLS:
        assert len(control.title) <= 80, f"{control.id}: {len(control.title)} characters"
        assert control.explanation.strip(), control.id
        assert control.explanation.rstrip().endswith("."), control.id


def test_every_control_has_a_weakening_case_in_its_domain() -> None:
    for domain, tests in DOMAINS:
        assert list(tests.WEAKENINGS) == [c.id for c in domain.CONTROLS], domain.__name__
    covered = [i for _, tests in DOMAINS for i in tests.WEAKENINGS]
    assert covered == [c.id for c in CONTROLS]


def test_evidence_records_to_the_right_list() -> None:
    evidence = Evidence()
    evidence.record("a", True)
    evidence.record("b", False)
    evidence.record("c", True)
    assert evidence.found == ["a", "c"]
    assert evidence.violations == ["b"]
    assert not evidence.holds


def test_evidence_holds_only_with_evidence_and_no_violation() -> None:
    assert not Evidence().holds
    evidence = Evidence()
    evidence.record("a", True)
    assert evidence.holds


def _no_evidence(templates: Templates) -> Evidence:
    """Finds nothing."""
    return Evidence()


def test_control_decorator_registers_and_returns_the_check() -> None:
    registry: list[Control] = []
    decorated = model.control(
        registry,
        id="LZ-TEST-01",
        title="A control",
        explanation="It requires nothing.",
        best_practices=("SEC01-BP01",),
        implemented_by="baseline.controls",
    )(_no_evidence)
    assert decorated is _no_evidence
    (registered,) = registry
    assert registered.id == "LZ-TEST-01"
    assert registered.check is _no_evidence
    assert registered.cis == ()


def test_fails_when_a_title_is_longer_than_80_characters() -> None:
    with pytest.raises(
        ValueError, match=r"LZ-TEST-01: title must be at most 80 characters, got 81"
    ):
        model.control(
            [],
            id="LZ-TEST-01",
            title="x" * 81,
            explanation="It requires nothing.",
            best_practices=("SEC01-BP01",),
            implemented_by="baseline.controls",
        )(_no_evidence)


def test_fails_when_a_control_has_no_explanation() -> None:
    with pytest.raises(ValueError, match="LZ-TEST-01: explanation"):
        model.control(
            [],
            id="LZ-TEST-01",
            title="A control",
            explanation=" ",
            best_practices=("SEC01-BP01",),
            implemented_by="baseline.controls",
        )(_no_evidence)
