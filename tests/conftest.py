"""Shared fixtures: the example organisation is synthesized once per test session."""

from __future__ import annotations

import os

# jsii prints a large end-of-life banner on Node.js 20; silence it before jsii starts.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# the kit first, so that the tests' node process runs as a user's does (baseline/__init__.py)
import baseline  # noqa: F401, I001

import copy
import gc
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
import yaml
from aws_cdk import assertions

from baseline.app import DEFAULT_CONFIG, build_app, cdk_json_context
from baseline.assembly import templates_in, templates_with_stack_sets
from baseline.cdk_context import PROJECT_ROOT
from baseline.config import LandingZoneConfig, load_config, parse_config
from baseline.landing_zone import LandingZone


@dataclass(frozen=True)
class Synthesized:
    """The example organisation, synthesized once."""

    config: LandingZoneConfig
    app: cdk.App
    landing_zone: LandingZone
    assembly: cdk.cx_api.CloudAssembly
    outdir: Path
    templates: dict[str, dict[str, Any]]
    #: cfn-lint over every template (the member template too), started right after the
    #: synth in a process of its own, so it runs beside the tests on the second core
    cfn_lint: subprocess.Popen[str]

    def template(self, stack: cdk.Stack) -> assertions.Template:
        return assertions.Template.from_json(self.templates[stack.artifact_id])

    def cfn_lint_findings(self) -> list[dict[str, Any]]:
        """What cfn-lint reported (waits for it)."""
        stdout, stderr = self.cfn_lint.communicate(timeout=300)
        assert stdout.strip(), f"cfn-lint printed no report: {stderr[-2000:]}"
        findings: list[dict[str, Any]] = json.loads(stdout)
        return findings


def start_cfn_lint(outdir: Path, lint_dir: Path, regions: list[str]) -> subprocess.Popen[str]:
    """cfn-lint, in the background, over every template of an assembly and each StackSet
    template written inline in one."""
    paths = []
    for name, template in templates_with_stack_sets(outdir):
        path = lint_dir / f"{name.replace('/', '-')}.template.json"
        path.write_text(json.dumps(template), encoding="utf-8")
        paths.append(str(path))
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            "--format",
            "json",
            "--regions",
            *regions,
            "--",
            *paths,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


#: The 2,000-account organisation of tests/test_scale.py, synthesized in a process of its
#: own from the moment the session knows it will need it, so it runs beside the example's
#: tests on the second core instead of after them.
SCALE_SYNTH = """
import sys
from baseline.app import build_app
from baseline.config import parse_config
from bench.generate_org import generate
app, _ = build_app(parse_config(generate(int(sys.argv[1]))), outdir=sys.argv[2])
app.synth()  # every cdk-nag pack and the Control Tower rules run here too
"""


SCALE_KEY = pytest.StashKey[tuple[Path, "subprocess.Popen[str]"]]()


#: The collector's thresholds for the session: each test makes thousands of objects that
#: live on (jsii keeps every object that crossed to node), so with Python's default
#: (700, 10, 10) the full collections, which walk them all, took 8.7 of the suite's 9.7
#: seconds of garbage collection. With these: about 2 seconds in all, memory no higher.
#: (A finalizer that fails in cyclic garbage is still reported, by a later collection:
#: possibly under a later test's name.)
SESSION_GC_THRESHOLDS = (10_000, 50, 50)


def pytest_collection_finish(session: pytest.Session) -> None:
    # what the imports and the collection made lives to the end: no collection walks it
    gc.freeze()
    gc.set_threshold(*SESSION_GC_THRESHOLDS)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # after pytest's own last collection, which reports failed finalizers (trylast: a
    # conftest's hooks otherwise run first): what is left is freed with the process, and
    # the collection at interpreter exit no longer walks it all
    gc.freeze()


def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    if any(item.path.name == "test_scale.py" for item in items):
        from tests.test_scale import ACCOUNTS

        outdir = Path(tempfile.mkdtemp(prefix="lz-scale-"))
        session.config.stash[SCALE_KEY] = (
            outdir,
            subprocess.Popen(
                [sys.executable, "-c", SCALE_SYNTH, str(ACCOUNTS), str(outdir)],
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    for process, _ in session.config.stash.get(CLI_KEY, {}).values():
        if process.poll() is None:
            process.kill()
        process.communicate()
    started = session.config.stash.get(SCALE_KEY, None)
    if started is not None:
        outdir, process = started
        if process.poll() is None:
            process.kill()
        process.communicate()
        shutil.rmtree(outdir, ignore_errors=True)


@pytest.fixture(scope="session")
def scale_outdir(request: pytest.FixtureRequest) -> Path:
    """Where the 2,000-account synth wrote its assembly (waits for it; fails with its
    error output)."""
    outdir, process = request.config.stash[SCALE_KEY]
    if process.returncode is None:
        _, stderr = process.communicate(timeout=600)
        (outdir / "synth-stderr.txt").write_text(stderr, encoding="utf-8")  # what it printed
    stderr = (outdir / "synth-stderr.txt").read_text(encoding="utf-8")
    assert process.returncode == 0, stderr[-3000:]
    return outdir


@pytest.fixture(scope="session")
def example_config() -> LandingZoneConfig:
    return load_config(DEFAULT_CONFIG)


@pytest.fixture(scope="session")
def example_data() -> dict[str, Any]:
    """The example config as plain data; tests deep-copy it before changing it.

    The files it names (permission sets' inline policies) are made absolute, so the data
    parses wherever a test writes or reads it."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    for permission_set in data.get("identity_center", {}).get("permission_sets", []):
        if "inline_policy_file" in permission_set:
            permission_set["inline_policy_file"] = str(
                DEFAULT_CONFIG.parent / permission_set["inline_policy_file"]
            )
    return data


@pytest.fixture
def config_data(example_data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(example_data)


#: The examples ``tests/test_examples.py`` synthesizes under the CDK CLI (the
#: single-account example runs its ``__main__`` there in the tests' own process).
CLI_EXAMPLES = ("workload_app",)
CLI_KEY = pytest.StashKey[dict[str, tuple["subprocess.Popen[str]", Path]]]()


def start_cli_synths(workdir: Path) -> dict[str, tuple[subprocess.Popen[str], Path]]:
    """Each example synthesized by the pinned CDK CLI as a workload team runs it, on a
    machine without AWS credentials, all at once: example -> (process, out dir). Each is a
    node and a Python process, mostly starting up: they run beside the tests."""
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_"))}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true")
    running = {}
    for example in CLI_EXAMPLES:
        out = workdir / example / "out"
        command = [
            str(cli),
            "synth",
            "--app",
            f"{sys.executable} examples/{example}.py",
            "--output",
            str(out),
            "--quiet",
            "--no-notices",
        ]
        running[example] = (
            subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ),
            out,
        )
    return running


@pytest.fixture(scope="session")
def synthesized(
    request: pytest.FixtureRequest,
    example_config: LandingZoneConfig,
    tmp_path_factory: pytest.TempPathFactory,
) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, landing_zone = build_app(example_config, outdir=str(outdir))
    assembly = app.synth()  # raises if any cdk-nag pack finds a violation
    # once the example is synthesized, the CLI syntheses of the examples start beside the
    # tests that read it (tests/test_examples.py waits for them, or starts them itself)
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
    wanted = any(item.path.name == "test_examples.py" for item in request.session.items)
    if cli.exists() and wanted and CLI_KEY not in request.config.stash:
        request.config.stash[CLI_KEY] = start_cli_synths(tmp_path_factory.mktemp("cli"))
    return Synthesized(
        config=example_config,
        app=app,
        landing_zone=landing_zone,
        assembly=assembly,
        outdir=outdir,
        templates={k: dict(v) for k, v in templates_in(outdir).items()},
        cfn_lint=start_cfn_lint(
            outdir,
            tmp_path_factory.mktemp("cfn-lint"),
            sorted(set(example_config.governed_regions)),
        ),
    )


@pytest.fixture(scope="session")
def variant(example_data: dict[str, Any]) -> LandingZone:
    """The example with changes that meet in no stack, built and synthesized once for the
    tests of each: the Workloads OU exists (its id is given), the log archive keeps access
    logs 400 days and does not replicate, the member baseline's StackSet runs from the
    delegated administrator, an account with its id (``tools``, 777788889999) sits directly
    in the root, and Identity Center's delegated administrator has no permission sets left
    (the management account's Billing and SecurityAudit assignments stay). Read it with
    ``assertions.Template.from_stack``."""
    data = copy.deepcopy(example_data)
    data["accounts"].append(
        {"name": "tools", "email": "tools@example.com", "ou": "Root", "id": "777788889999"}
    )
    center = data["identity_center"]
    center["permission_sets"] = []
    center["assignments"] = [
        a for a in center["assignments"] if a["permission_set"] in {"Billing", "SecurityAudit"}
    ]
    workloads = next(u for u in data["organizational_units"] if u["name"] == "Workloads")
    workloads["id"] = "ou-nw7k-workload1"
    data["log_archive"]["access_log_retention_days"] = 400
    data["log_archive"]["replicate"] = False
    data["member_baseline"]["deploy_from"] = "delegated_admin"
    app = cdk.App(context=cdk_json_context())
    landing_zone = LandingZone(app, "LandingZone", config=parse_config(data))
    app.synth()
    return landing_zone


@jsii.implements(cdk.IPolicyValidationContextBeta1)
class TemplatePaths:
    """What a validation plugin is given at synth, for calling one directly on templates."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = paths

    @property
    def template_paths(self) -> list[str]:
        return self._paths


def before_the_first_deploy(data: dict[str, Any]) -> dict[str, Any]:
    """The example's data (a copy, changed in place) as a greenfield config before its
    first deploy: the organisation to create, no id but the management account's, no OU
    id, no hub (opt-in, it needs OU ids once on)."""
    data["organization"] = {"name": "Greenfield", "prefix": "gf", "create": True}
    del data["network"]
    for account in data["accounts"]:
        if account.get("role") != "management":
            account.pop("id", None)
    for unit in data["organizational_units"]:
        unit.pop("id", None)
    return data


def statements_of(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = policy_document["Statement"]
    return statements


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def run_app(config_path: Path, outdir: Path) -> subprocess.CompletedProcess[str]:
    """``python app.py`` in a fresh process, as the CDK CLI runs it with ``-c config=...``."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({"config": str(config_path)}),
        "CDK_OUTDIR": str(outdir),
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        check=False,
    )
