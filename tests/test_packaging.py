"""What a workload project that depends on the kit gets: types, a license, a version."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import aws_cdk
import pytest

from baseline.cdk_context import PROJECT_ROOT


def _project() -> dict[str, object]:
    data = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(data)


def test_the_package_is_typed_for_importers() -> None:
    """Without py.typed, a workload's mypy --strict sees no types of the kit at all."""
    assert (PROJECT_ROOT / "baseline" / "py.typed").is_file()
    package_data = _project()["tool"]["setuptools"]["package-data"]  # type: ignore[index]
    assert "py.typed" in package_data["baseline"]


def test_the_license_is_declared_the_current_way() -> None:
    project = _project()["project"]
    assert project["license"] == "Apache-2.0"  # type: ignore[index]  # an SPDX expression
    assert project["license-files"] == ["LICENSE"]  # type: ignore[index]
    assert "Apache License" in (PROJECT_ROOT / "LICENSE").read_text(encoding="utf-8")


def test_the_changelog_names_the_current_version() -> None:
    version = _project()["project"]["version"]  # type: ignore[index]
    assert f"## {version}" in (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_importing_the_kit_spares_a_workload_the_node_20_banner() -> None:
    """The kit supports Node.js 20; a workload importing it first sees no end-of-life banner."""
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if k != "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from baseline.constructs import SecureBucket\nimport aws_cdk\naws_cdk.App()",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "end-of-life" not in result.stderr.lower()


@pytest.mark.parametrize(
    ("current", "cores", "expected"),
    [
        ("", 2, "--v8-pool-size=1"),
        ("", 1, "--v8-pool-size=1"),
        ("--max-old-space-size=8192", 2, "--max-old-space-size=8192 --v8-pool-size=1"),
        ("--v8-pool-size=4", 2, "--v8-pool-size=4"),  # the user's own setting wins
        ("", 4, ""),  # larger machines keep node's default
        ("--trace-warnings", 8, "--trace-warnings"),
    ],
)
def test_node_gets_one_v8_worker_thread_on_a_small_machine(
    current: str, cores: int, expected: str
) -> None:
    import baseline

    assert baseline.node_options(current, cores) == expected


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_the_tests_node_process_runs_with_the_kits_node_options() -> None:
    """The conftest imports the kit before aws_cdk, so the tests' jsii node process is
    started as a user's is (on this machine's cores)."""
    import os

    import aws_cdk  # noqa: F401  (its node process is running)

    import baseline

    wanted = baseline.node_options("", baseline.cores())
    children: set[int] = set()
    todo = [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            found = [
                int(child)
                for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()
            ]
        except OSError:  # a process that ended meanwhile
            continue
        for child in found:
            if child not in children:
                children.add(child)
                todo.append(child)
    nodes = []
    for pid in children:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "node":
                nodes.append(pid)
        except OSError:
            continue
    assert nodes
    for pid in nodes:
        environ = dict(
            entry.split("=", 1)
            for entry in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
            if "=" in entry
        )
        # what the kit set before node started: a node started first would lack it
        assert environ.get("NODE_OPTIONS", "") == os.environ.get("NODE_OPTIONS", "")
        assert wanted in environ.get("NODE_OPTIONS", "")


def test_every_place_that_names_the_version_agrees() -> None:
    """The package, the module, the Node manifest and its lock give one version."""
    import json

    import baseline

    version = _project()["project"]["version"]  # type: ignore[index]
    package = json.loads((PROJECT_ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert baseline.__version__ == version
    assert package["version"] == lock["version"] == lock["packages"][""]["version"] == version


def test_aws_cdk_lib_owns_the_files_it_shares_with_the_cloud_assembly_schema() -> None:
    """aws-cdk-lib and aws-cdk.cloud-assembly-schema both write
    aws_cdk/cloud_assembly_schema/; the last installed wins. Only aws-cdk-lib's copy
    registers the interfaces aws-cdk-lib hands back (a synth's metadata entries), so with
    the other's the warnings tests fail with "Unknown interface". make installs
    aws-cdk-lib after its dependencies; this says so plainly when an install did not."""
    import base64
    import hashlib
    from importlib import metadata

    shared = "aws_cdk/cloud_assembly_schema/__init__.py"
    distribution = metadata.distribution("aws-cdk-lib")
    (entry,) = [f for f in distribution.files or [] if str(f) == shared]
    assert entry.hash is not None
    digest = hashlib.new(entry.hash.mode, entry.locate().read_bytes()).digest()
    expected = base64.urlsafe_b64decode(entry.hash.value + "==")
    assert digest == expected, (
        f"{shared} is not aws-cdk-lib's: reinstall it after its dependencies "
        "(rm -rf .venv && make setup)"
    )


def _is_cdk(name: str) -> bool:
    return name == "aws_cdk" or name.startswith("aws_cdk.")


def _cdk_modules_imported(source: str) -> set[str]:
    """The aws_cdk modules a Python source imports (``from aws_cdk import aws_s3``,
    ``import aws_cdk.aws_s3``, ``cdk.aws_s3.Bucket`` under any name for aws_cdk), the core
    module included."""
    tree = ast.parse(source)
    found = set()
    names = {
        alias.asname or "aws_cdk"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "aws_cdk" or (_is_cdk(alias.name) and not alias.asname)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_cdk(node.module or ""):
            found.add(node.module or "")
            if node.module == "aws_cdk":
                found.update(f"aws_cdk.{a.name}" for a in node.names if a.name.islower())
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if _is_cdk(a.name))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in names
            and node.attr.islower()
        ):
            found.add(f"aws_cdk.{node.attr}")
    return found


def test_the_import_reader_sees_every_way_of_naming_a_cdk_module() -> None:
    source = (
        "import aws_cdk as cdk\nfrom aws_cdk import aws_s3 as s3, Stack\n"
        "import aws_cdk.aws_sqs\nfrom aws_cdk.aws_kms import Key\nx = cdk.aws_iam.Role\n"
        "y = aws_cdk.aws_logs.LogGroup\n"
        "def f():\n    import aws_cdk as core\n    return core.aws_sns.Topic, cdk.Duration\n"
    )
    assert _cdk_modules_imported(source) == {
        "aws_cdk",
        "aws_cdk.aws_s3",
        "aws_cdk.aws_sqs",
        "aws_cdk.aws_kms",
        "aws_cdk.aws_iam",
        "aws_cdk.aws_logs",
        "aws_cdk.aws_sns",
    }
    assert _cdk_modules_imported("import aws_cdk_x\nimport boto3\nx = cdk.aws_iam\n") == set()


_CDK = Path(aws_cdk.__file__).parent
#: ``import aws_cdk.aws_kms as _aws_kms_ff87d74a``: how the CDK's modules name each other
_CDK_IMPORT = re.compile(r"^\s*import (aws_cdk[\w.]*) as (_\w+)$", re.M)
_CDK_CLASS = re.compile(r"^class \w+\(([^)]*)\):", re.M)


def _bases_from(module: str) -> set[str]:
    """The modules a CDK module's classes derive from."""
    path = _CDK.joinpath(*module.split(".")[1:])
    source = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text(
        encoding="utf-8"
    )
    named = {alias: name for name, alias in _CDK_IMPORT.findall(source)}
    return {
        named[alias]
        for bases in _CDK_CLASS.findall(source)
        for alias in re.findall(r"\b(_\w+)\.\w+", bases)
        if alias in named
    }


def _mypy_reads(imported: set[str]) -> set[str]:
    """The CDK modules mypy must read: the kit's, their interface modules, and every
    module a class of one of those derives from (else that class has an Any base, and
    any attribute on it passes)."""
    interfaces = {
        f"aws_cdk.interfaces.{name.removeprefix('aws_cdk.')}"
        for name in imported
        if name != "aws_cdk" and (_CDK / "interfaces" / name.removeprefix("aws_cdk.")).is_dir()
    }
    reads = set(imported) | interfaces | {"aws_cdk.interfaces"}
    todo = list(reads)
    while todo:
        for base in _bases_from(todo.pop()) - reads:
            reads.add(base)
            todo.append(base)
    return reads


def test_the_base_class_reader_follows_a_topic_to_its_notification_target() -> None:
    """sns.ITopic derives from a CodeStar Notifications interface the kit never imports."""
    assert "aws_cdk.aws_codestarnotifications" in _bases_from("aws_cdk.aws_sns")
    assert "aws_cdk.aws_codestarnotifications" in _mypy_reads({"aws_cdk", "aws_cdk.aws_sns"})
    assert "aws_cdk.aws_lex" not in _mypy_reads({"aws_cdk", "aws_cdk.aws_sns"})


def test_mypy_reads_every_cdk_module_the_kit_imports_and_only_those() -> None:
    """mypy skips the CDK's modules outside its list (a cold run would read all 300-odd):
    a module the kit imports but the list lacks would be typed Any, unchecked."""
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    checked = re.search(r"\$\(BIN\)/mypy (.+)", makefile)
    assert checked is not None
    sources = [
        path
        for name in checked.group(1).split()
        for path in (
            sorted((PROJECT_ROOT / name).rglob("*.py"))
            if (PROJECT_ROOT / name).is_dir()
            else [PROJECT_ROOT / name]
        )
    ]
    imported = set().union(*(_cdk_modules_imported(p.read_text(encoding="utf-8")) for p in sources))
    assert {"aws_cdk", "aws_cdk.aws_iam", "aws_cdk.cx_api"} <= imported
    overrides = _project()["tool"]["mypy"]["overrides"]  # type: ignore[index]
    (read,) = [o["module"] for o in overrides if o.get("follow_imports") == "normal"]
    assert [o["module"] for o in overrides if o.get("follow_imports") == "skip"] == [["aws_cdk.*"]]
    assert set(read) == _mypy_reads(imported)
