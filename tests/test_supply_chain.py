"""The kit's own supply chain: every package it installs is pinned and hash-checked.

Python packages come from ``requirements.lock`` (the kit) and ``requirements-scan.lock``
(checkov), each installed with ``pip --require-hashes``; the CDK CLI comes from
``package-lock.json`` through ``npm ci``. These tests fail on an unpinned or unhashed
requirement, on a dependency of pyproject.toml the lock does not hold, and on an install
command anywhere in the Makefile or the workflows that could fetch something unchecked.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-scan.lock")

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def lock_problems(text: str) -> tuple[dict[str, str], list[str]]:
    """The pins of a pip lock file (name -> version), and each requirement that is not
    exactly pinned with at least one sha256 hash."""
    pins: dict[str, str] = {}
    problems: list[str] = []
    # join continuation lines: one logical requirement per entry
    logical = re.sub(r"\\\n\s*", " ", text)
    for raw in logical.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            problems.append(f"{line.split()[0]}: options do not belong in a lock")
            continue
        match = _PIN.match(line)
        if not match:
            problems.append(f"{line.split()[0]}: not pinned with ==")
            continue
        name = canonicalize_name(match["name"])
        if not _HASH.search(line):
            problems.append(f"{name}: no sha256 hash")
        pins[name] = match["version"]
    return pins, problems


def install_problems(text: str, where: str) -> list[str]:
    """pip and npm install commands in a Makefile or a workflow that fetch unchecked code."""
    problems = []
    for number, line in enumerate(re.sub(r"\\\n\s*", " ", text).splitlines(), 1):
        if re.search(r"\bnpm (install|i)\b", line):
            problems.append(f"{where}:{number}: npm install (use npm ci, from the lockfile)")
        if not re.search(r"\bpip3? install\b", line):
            continue
        hashed = "--require-hashes" in line and " -r " in line
        own_package = "--no-deps" in line and "--no-build-isolation" in line and "-e ." in line
        if not (hashed or own_package):
            problems.append(f"{where}:{number}: pip install without --require-hashes -r <lock>")
    return problems


def _makefile_without_lock_target() -> str:
    """The Makefile, less the recipe of ``make lock``: the maintainer's tool that writes the
    locks (it installs the resolver, pinned by version) installs nothing the kit runs."""
    text = (ROOT / "Makefile").read_text()
    return re.sub(r"(?ms)^lock:\n(?:\t.*\n|  .*\n)*", "", text)


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_requirement_is_pinned_and_hashed(lock: str) -> None:
    pins, problems = lock_problems((ROOT / lock).read_text())
    assert pins, f"{lock} pins nothing"
    assert problems == []


def test_the_lock_holds_every_dependency_of_the_kit_in_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
        "pip",
    ]
    pins, _ = lock_problems((ROOT / "requirements.lock").read_text())
    for spec in declared:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} (pyproject.toml) is not in requirements.lock: make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier}: make lock"
        )


def test_the_scan_lock_holds_checkov() -> None:
    wanted = Requirement((ROOT / "requirements-scan.in").read_text().split("#")[0].strip())
    pins, _ = lock_problems((ROOT / "requirements-scan.lock").read_text())
    assert wanted.specifier.contains(pins[canonicalize_name(wanted.name)])


def test_no_install_command_fetches_unchecked_code() -> None:
    problems = install_problems(_makefile_without_lock_target(), "Makefile")
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        problems += install_problems(workflow.read_text(), workflow.name)
    assert problems == []
    makefile = (ROOT / "Makefile").read_text()
    assert "npm ci" in makefile
    hashed = re.findall(r"pip install .*--require-hashes -r (\S+)", makefile)
    assert sorted(hashed) == sorted(LOCKS)  # the kit's venv and the scan venv


def test_the_cdk_cli_is_pinned_exactly_and_locked_with_integrity() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    declared = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    assert declared, "package.json declares nothing"
    for name, version in declared.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: {version!r} is not exact"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    for path, entry in lock["packages"].items():
        if path:
            assert entry.get("integrity", "").startswith("sha512-"), f"{path}: no integrity"


# --- the checks themselves can fail -----------------------------------------------------


def test_the_lock_check_refuses_what_is_not_pinned_and_hashed() -> None:
    good = "boto3==1.44.8 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via -r x\n"
    assert lock_problems(good) == ({"boto3": "1.44.8"}, [])
    _, problems = lock_problems("boto3>=1.44\nPyYAML==6.0.4\n--extra-index-url https://x\n")
    assert problems == [
        "boto3>=1.44: not pinned with ==",
        "pyyaml: no sha256 hash",
        "--extra-index-url: options do not belong in a lock",
    ]


def test_the_install_check_refuses_unhashed_installs() -> None:
    text = (
        "\tpip install checkov==3.3.30\n"
        "\t$(BIN)/python -m pip install -c constraints.txt -e '.[dev]'\n"
        "\tnpm install\n"
        "\t$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock\n"
        "\t$(BIN)/python -m pip install --no-deps --no-build-isolation -e .\n"
    )
    assert install_problems(text, "M") == [
        "M:1: pip install without --require-hashes -r <lock>",
        "M:2: pip install without --require-hashes -r <lock>",
        "M:3: npm install (use npm ci, from the lockfile)",
    ]
