"""The landing zone's own pipelines (.github/workflows): pinned, least privilege, keyless.

Every workflow file: each action pinned to a full commit SHA (with the tag it stands for
in a comment), read-only ``contents`` by default, ``id-token: write`` only in a job that
assumes an AWS role through OIDC, and no stored AWS keys anywhere. The deploy workflow:
test before synth, one cloud assembly diffed and deployed, a security-only diff that
needs the security review when it broadens, the deploy from the environment that the
config's deploy role trusts, and every stack through ``cdk deploy --all`` (which follows
the documented order: each stack waits for its dependencies).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from baseline.config import load_config

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"
OIDC_ACTION = "aws-actions/configure-aws-credentials"

_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(text: str) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(text)
    if True in workflow:  # YAML 1.1 reads the key `on` as a boolean
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def workflow_problems(text: str, name: str) -> list[str]:
    """What makes a workflow unsafe to run with the landing zone's credentials."""
    return _line_problems(text, name) + _permission_problems(load(text), name)


def _line_problems(text: str, name: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
        if match and not match.group(1).startswith("./"):
            if not _PINNED.match(match.group(1)):
                problems.append(f"{name}:{number}: {match.group(1)} is not pinned to a commit SHA")
            elif not re.match(r"\s*#\s*v\d", match.group(2)):
                problems.append(f"{name}:{number}: say which tag the SHA is (# vX.Y.Z)")
        if re.search(r"aws-(access-key-id|secret-access-key|session-token)\s*:", line):
            problems.append(f"{name}:{number}: stored AWS keys; assume a role through OIDC")
        if re.search(r"secrets\.AWS_", line):
            problems.append(f"{name}:{number}: an AWS secret; assume a role through OIDC")
    return problems


def _permission_problems(workflow: dict[str, Any], name: str) -> list[str]:
    problems = []
    top = workflow.get("permissions")
    if top != {"contents": "read"}:
        problems.append(f"{name}: top-level permissions must be exactly contents: read")
    for job_name, job in workflow.get("jobs", {}).items():
        granted = job.get("permissions", {})
        if not isinstance(granted, dict):
            problems.append(f"{name}: job {job_name}: permissions must be listed one by one")
            continue
        assumes = any(str(step.get("uses", "")).startswith(OIDC_ACTION) for step in steps(job))
        for scope, level in granted.items():
            if level != "write":
                continue
            if scope != "id-token":
                problems.append(f"{name}: job {job_name}: {scope}: write is more than it needs")
            elif not assumes:
                problems.append(f"{name}: job {job_name}: id-token: write but no OIDC role")
        if assumes and granted.get("id-token") != "write":
            problems.append(f"{name}: job {job_name}: assumes a role without id-token: write")
        for step in steps(job):
            checkout = str(step.get("uses", "")).startswith("actions/checkout")
            if checkout and step.get("with", {}).get("persist-credentials") is not False:
                problems.append(
                    f"{name}: job {job_name}: checkout keeps the token in .git "
                    "(persist-credentials: false)"
                )
    return problems


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_is_pinned_least_privilege_and_keyless(workflow: Path) -> None:
    assert workflow_problems(workflow.read_text(), workflow.name) == []


def _deploy() -> dict[str, Any]:
    return load(DEPLOY.read_text())


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


def test_the_deploy_workflow_runs_from_main_only_and_one_at_a_time() -> None:
    workflow = _deploy()
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_the_deploy_workflow_tests_then_synthesizes_one_assembly() -> None:
    jobs = _deploy()["jobs"]
    assert "make test" in _runs(jobs["test"])
    assert "make scan" in _runs(jobs["test"])
    assert jobs["synth"]["needs"] == "test"
    # make puts .venv/bin on the PATH of the CDK app (cdk.json runs python3 app.py)
    assert 'make synth CONFIG="$LANDING_ZONE_CONFIG"' in _runs(jobs["synth"])
    # the report judges the assembly against the config it was synthesized from
    assert 'python -m baseline report -c "$LANDING_ZONE_CONFIG" --cdk-out cdk.out' in _runs(
        jobs["synth"]
    )
    uploads = [s for s in steps(jobs["synth"]) if "upload-artifact" in str(s.get("uses"))]
    assert uploads[0]["with"]["name"] == "cloud-assembly"
    for name in ("diff", "deploy"):
        downloads = [s for s in steps(jobs[name]) if "download-artifact" in str(s.get("uses"))]
        assert downloads[0]["with"]["name"] == "cloud-assembly", name
        assert "--app cdk.out" in _runs(jobs[name]), f"{name} must use the synthesized assembly"
        assert "cdk synth" not in _runs(jobs[name])


def test_a_broadening_diff_needs_the_security_review() -> None:
    jobs = _deploy()["jobs"]
    diff = _runs(jobs["diff"])
    commands = [
        " ".join(c.split("=$?")[0].rsplit(maxsplit=1)[0].split())
        for c in diff.replace("\\\n", " ").split("npx ")[1:]
    ]
    assert [c.split(" --fail-on ")[1].split()[0] for c in commands] == [
        "broadening",
        "destructive",
        "any-change",
    ]
    for command in commands:
        # templates compared through the read-only lookup role, never a change set
        assert command.startswith("cdk diff --app cdk.out --method template --fail-on")
    # broadening and destructive over every stack; any change at all to the stacks whose
    # organisation policies, firewall rules, logs and trails the broadening diff cannot read
    assert commands[0].endswith("broadening") and commands[1].endswith("destructive")
    guarded = commands[2].split("any-change ")[1].split()
    for stack in (
        "Organization",
        "'Accounts*'",
        "LogArchive",
        "Trail",
        "MemberBaseline",
        "'SecurityTooling-*'",
        "'Network-*'",
        "Forensics",
        "Packages",
    ):
        assert stack in guarded, stack
    # any non-zero exit (what it looks for, or an error) asks for the review
    assert (
        'if [ "$broadening" -eq 0 ] && [ "$destructive" -eq 0 ] && [ "$guarded" -eq 0 ]; then'
        '\n  echo "broadening=false"' in diff
    )
    assert "environment" not in jobs["diff"]
    review = jobs["security-review"]
    assert review["needs"] == "diff"
    assert review["if"] == "needs.diff.outputs.broadening == 'true'"
    assert review["environment"] == "security-review"
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == {"diff", "security-review"}
    condition = deploy["if"]
    assert "github.ref == 'refs/heads/main'" in condition
    assert jobs["diff"]["if"] == "github.ref == 'refs/heads/main'"
    assert "needs.diff.result == 'success'" in condition
    # a cancelled run never deploys (always() would)
    assert condition.startswith("!cancelled()") and "always()" not in condition
    assert "needs.security-review.result == 'success'" in condition
    assert "needs.security-review.result == 'skipped'" in condition


def test_the_deploy_job_deploys_everything_from_the_reviewed_environment() -> None:
    deploy = _deploy()["jobs"]["deploy"]
    assert deploy["environment"] == "production"
    command = _runs(deploy)
    assert "cdk deploy --app cdk.out --all" in command
    assert "--concurrency 1" in command  # one stack after the other, in dependency order
    assert "--require-approval never" in command  # the approval happened in the review


def test_the_roles_the_workflow_assumes_trust_exactly_its_jobs() -> None:
    """The deploy role trusts the deploy job's environment; the diff role trusts main and
    may only read (the CDK lookup roles)."""
    config = load_config(ROOT / "config" / "landing-zone.yaml")
    roles = {role.name: role for role in config.ci_roles}
    repo = "repo:northwind/landing-zone"
    deploy, diff = roles["landing-zone-deploy"], roles["landing-zone-diff"]
    assert deploy.subjects == [f"{repo}:environment:{_deploy()['jobs']['deploy']['environment']}"]
    assert diff.subjects == [f"{repo}:ref:refs/heads/{_deploy()['on']['push']['branches'][0]}"]
    assert all("lookup-role" in pattern for pattern in diff.assume_roles)
    text = DEPLOY.read_text()
    assert "vars.LANDING_ZONE_DIFF_ROLE_ARN" in text and "vars.LANDING_ZONE_DEPLOY_ROLE_ARN" in text


# --- the checks themselves can fail -----------------------------------------------------

_BAD = """\
name: bad
on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020
      - uses: aws-actions/configure-aws-credentials@7474bc4690e29a8392af63c5b98e7449536d5c3a # v4.3.1
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
  other:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - run: echo
"""


def test_the_workflow_check_refuses_unpinned_privileged_keyed_workflows() -> None:
    assert workflow_problems(_BAD, "bad.yml") == [
        "bad.yml:11: actions/checkout@v4 is not pinned to a commit SHA",
        "bad.yml:12: say which tag the SHA is (# vX.Y.Z)",
        "bad.yml:15: stored AWS keys; assume a role through OIDC",
        "bad.yml:15: an AWS secret; assume a role through OIDC",
        "bad.yml: top-level permissions must be exactly contents: read",
        "bad.yml: job build: contents: write is more than it needs",
        "bad.yml: job build: checkout keeps the token in .git (persist-credentials: false)",
        "bad.yml: job other: id-token: write but no OIDC role",
    ]
