"""Command line: python -m baseline validate, docs, report, explain, diagram, cost,
execution-policy, import-organization, gameday and contain (each with --help).

``validate`` checks a config without starting the CDK (fast), prints a one-screen summary
and exits 0, or prints one line per problem and exits 2. ``docs`` synthesizes the example
organisation and rewrites the generated pages in ``docs/``; ``docs --check`` exits 1 when
any of them is stale. ``report`` prints, for every Security Pillar best practice and
CIS v5.0.0 recommendation, the controls and guardrails that answer it and whether their
evidence is in the templates (a given ``cdk.out``, or a fresh synth of the config); it
exits 1 when a control's evidence is missing. ``explain`` evaluates one request against
the guardrails on an account's path, as synthesized, and exits 0 (allowed), 1 (denied)
or 2 (bad input). ``diagram`` draws the OU tree with every account, the guardrails at
each level and the stacks in each account (Mermaid, or DOT). ``cost`` estimates the
baseline's monthly cost from list prices and stated assumptions. ``execution-policy``
derives the CloudFormation execution policies of an account's CDK bootstrap from the
resource types its stacks hold. ``import-organization`` writes a starting config from an existing organisation (reads
only, with the management account's credentials). ``gameday`` rehearses the alert path
with GuardDuty sample findings (``--dry-run`` prints its calls without credentials); it
exits 0 when every step passed, 1 when one failed, 2 on bad input or credentials it
cannot use. ``contain`` isolates a compromised instance through the member account's
responder role (same exit codes). A command given ``--output`` never overwrites a file.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baseline.config import ConfigError, LandingZoneConfig, load_config

# jsii prints a large end-of-life banner on Node.js 20 (which the kit supports).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

EXIT_INVALID_CONFIG = 2


def describe(config: LandingZoneConfig) -> str:
    """The one-screen summary of a valid config."""
    org = config.organization
    replica = config.effective_replication_region or "off"
    lock = config.log_archive.object_lock
    lines = [
        (
            f"organisation  {org.name} ({org.id}, root {org.root_id}), prefix {org.prefix!r}"
            if org.id
            else f"organisation  {org.name}, to be created (greenfield phase 1), prefix {org.prefix!r}"
        ),
        f"regions       home {config.home_region}; governed {', '.join(config.governed_regions)}",
        f"log archive   object lock {lock.mode.value} {lock.retention_days} days; replica {replica}",
        f"notifications {config.security_notification_email}",
        f"OUs ({len(config.ou_paths())})",
    ]
    for path in ["Root", *config.ou_paths()]:
        members = [a for a in config.accounts if a.ou == path]
        indent = "  " * (path.count("/") + 1) if path != "Root" else ""
        names = ", ".join(
            f"{a.name}{'' if a.role.value == 'workload' else f' [{a.role.value}]'}"
            f"{'' if a.id else ' (new)'}"
            for a in members
        )
        lines.append(f"  {indent}{path.rsplit('/', 1)[-1]}: {names or '-'}")
    lines.append(f"accounts ({len(config.accounts)}): valid")
    lines.append("paid services on:")
    lines += [f"  {service}" for service in config.paid_services()]
    return "\n".join(lines)


def _validate(path: Path) -> int:
    from baseline.importer import PLACEHOLDER

    left = _placeholders_in(path)
    if left:
        print(f"{path}: values import-organization left for you to fill in:", file=sys.stderr)
        for field in left:
            print(f"  {field}: still {PLACEHOLDER}", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    try:
        config = _checked_config(path)
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    print(f"{path}: valid")
    print(describe(config))
    return 0


def _placeholders_in(path: Path) -> list[str]:
    """The fields of a config file still holding the import's placeholder (none when the
    file cannot be read: load_config says why)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    import yaml

    from baseline.config import read_yaml
    from baseline.importer import PLACEHOLDER, placeholders

    if PLACEHOLDER not in text:
        return []

    try:
        return placeholders(read_yaml(text))
    except (yaml.YAMLError, ValueError, RecursionError):
        return []


def _docs(check: bool) -> int:
    from baseline.docs import MissingMarkerError, write_docs  # starts the CDK: only for this

    try:
        stale = write_docs(check=check)
    except MissingMarkerError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID_CONFIG
    if check and stale:
        print("stale generated docs (run `python -m baseline docs`):", file=sys.stderr)
        for name in stale:
            print(f"  {name}", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from baseline.assembly import templates_in
    from baseline.report import coverage, render

    try:
        config = _checked_config(args.config)
    except ConfigError as error:
        return _refused(error)
    if args.cdk_out is not None:
        problem = None
        if not sorted(args.cdk_out.glob("*.template.json")):
            problem = (
                "no cloud assembly there (no *.template.json); run `make synth` or give the "
                "directory `cdk synth` wrote"
            )
        else:
            try:
                templates = templates_in(args.cdk_out)
            except (OSError, ValueError) as error:  # unreadable or not JSON
                problem = f"not a readable cloud assembly: {error}"
            else:
                problem = _assembly_problem(args.cdk_out, config.organization.prefix, templates)
        if problem:
            print(f"--cdk-out {args.cdk_out}: {problem}", file=sys.stderr)
            return EXIT_INVALID_CONFIG
        source = f"{args.cdk_out} ({args.config})"
    else:
        import tempfile

        from baseline.app import build_app  # starts the CDK: only without --cdk-out

        with tempfile.TemporaryDirectory() as outdir:
            try:
                app, _ = build_app(config, outdir=outdir)
                app.synth()
            except Exception as error:  # a compliance pack's finding, reported in one line
                print(f"synth of {args.config} failed: {error}", file=sys.stderr)
                return 1
            templates = templates_in(Path(outdir))
        source = f"a synth of {args.config}"
    try:
        result = coverage(templates, config, source)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as error:
        if args.cdk_out is None:  # the kit's own synth: a fault of the kit, shown as one
            raise
        # a template edited by hand or damaged: JSON, but not the shapes a synth writes
        print(
            f"--cdk-out {args.cdk_out}: a template the checks cannot read "
            f"({type(error).__name__}: {error}); synthesize again",
            file=sys.stderr,
        )
        return EXIT_INVALID_CONFIG
    print(render(result, args.format))
    return 0 if result.complete else 1


def _assembly_problem(assembly_dir: Path, prefix: str, templates: dict[str, Any]) -> str | None:
    """Why the assembly cannot stand for the config, if it cannot: synthesized from a
    config of another prefix (every stack the kit names starts with the prefix, and the
    manifest names the stacks), or short of a stack the manifest names (a report over
    what is left would attest stacks it never read)."""
    from baseline.assembly import stack_artifacts

    try:
        artifacts = stack_artifacts(assembly_dir)
    except (OSError, ValueError):
        return None  # no readable manifest: the templates alone are judged
    other = _of_another_config(artifacts, prefix)
    missing = sorted(a.artifact_id for a in artifacts if a.artifact_id not in templates)
    if other or not missing:
        return other
    return (
        f"the manifest names {len(missing)} stack(s) whose template is not there "
        f"({', '.join(missing)}): synthesize again, or give the whole assembly"
    )


def _assembly_of_another_config(assembly_dir: Path, prefix: str) -> str | None:
    """Why the assembly was not synthesized from a config of this prefix, if it was not."""
    from baseline.assembly import stack_artifacts

    try:
        return _of_another_config(stack_artifacts(assembly_dir), prefix)
    except (OSError, ValueError):
        return None  # no readable manifest: the templates alone are judged


def _of_another_config(artifacts: list[Any], prefix: str) -> str | None:
    """Every stack the kit names starts with the prefix, and the manifest names them."""
    names = sorted(a.stack_name for a in artifacts)
    if not names or any(name.startswith(f"{prefix}-") for name in names):
        return None
    return (
        f"synthesized from another config: its stacks are {names[0]}, ... and the config's "
        f"prefix is {prefix!r} (give with -c the config it was synthesized from)"
    )


def _execution_policy(args: argparse.Namespace) -> int:
    import json

    from baseline.execution_policy import execution_policies
    from baseline.operations import CommandError, created_account

    try:
        config = _checked_config(args.config)
    except ConfigError as error:
        return _refused(error)
    problems: list[str] = []
    account = created_account(config, args.account, problems)
    if args.cdk_out is not None and not (args.cdk_out / "manifest.json").is_file():
        problems.append(
            f"--cdk-out {args.cdk_out}: no cloud assembly there (no manifest.json); run "
            "`make synth` or give the directory `cdk synth` wrote"
        )
    if args.output_dir is not None and not args.output_dir.is_dir():
        problems.append(f"--output-dir {args.output_dir}: not a directory; create it first")
    if problems or account is None:
        return _refused(CommandError(problems))
    assert account.id is not None
    prefix = config.organization.prefix

    def derive(assembly_dir: Path) -> Any:
        problem = _assembly_of_another_config(assembly_dir, prefix)
        if problem:
            raise ValueError(f"--cdk-out {assembly_dir}: {problem}")
        return execution_policies(assembly_dir, str(account.id))

    try:
        if args.cdk_out is not None:
            policies = derive(args.cdk_out)
        else:
            import tempfile

            from baseline.app import build_app  # starts the CDK: only without --cdk-out

            with tempfile.TemporaryDirectory() as outdir:
                app, _ = build_app(config, outdir=outdir)
                app.synth()
                policies = derive(Path(outdir))
    except (OSError, ValueError, KeyError, ImportError) as error:
        print(
            # the schemas come with cfn-lint, in the dev extra (make setup)
            "the CloudFormation resource schemas (cfn-lint) are not installed: run make setup"
            if isinstance(error, ImportError)
            else f"--account {args.account}: {error}",
            file=sys.stderr,
        )
        return EXIT_INVALID_CONFIG
    if args.output_dir is None:
        print(json.dumps(policies.documents, indent=2))
        return 0
    return _write_execution_policies(policies, args.output_dir, account, prefix)


def _write_execution_policies(policies: Any, output_dir: Path, account: Any, prefix: str) -> int:
    """Each policy document as a new file of ``output_dir``, all of them or none, and the
    commands that create them."""
    import json

    paths = {name: output_dir / f"{name}.json" for name in policies.documents}
    taken = [problem for path in paths.values() if (problem := _output_taken(path))]
    if taken:  # every file checked before any is written: all of them, or none
        print(taken[0].replace("--output", "--output-dir", 1), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    written: list[Path] = []
    for name, path in paths.items():
        problem = _write_new(path, json.dumps(policies.documents[name], indent=2) + "\n")
        if problem:
            for done in written:  # all of them or none: the ones this call wrote go
                done.unlink(missing_ok=True)
            print(problem.replace("--output", "--output-dir", 1), file=sys.stderr)
            return EXIT_INVALID_CONFIG
        written.append(path)
    arns = [f"arn:aws:iam::{account.id}:policy/{prefix}/{name}" for name in paths]
    print(
        f"{account.name} ({account.id}): {len(policies.actions)} actions for "
        f"{len(policies.resource_types)} resource types of {len(policies.stacks)} stacks"
    )
    for name, path in paths.items():
        print(
            f"aws iam create-policy --path /{prefix}/ --policy-name {name} "
            f"--policy-document file://{path}"
        )
    print(f"cdk bootstrap ... --cloudformation-execution-policies {','.join(arns)}")
    return 0


def _checked_config(path: Path) -> LandingZoneConfig:
    """The config as ``validate`` takes it: the model and the guardrails' rules (ids that
    exist, policies that fit), so that no command runs on a file ``validate`` refuses."""
    from baseline import guardrails  # plain data: no CDK

    return guardrails.check(load_config(path), str(path))


def _explain(args: argparse.Namespace) -> int:
    from baseline.explain import explain
    from baseline.operations import CommandError

    try:
        result = explain(
            _checked_config(args.config),
            account=args.account,
            action=args.action,
            region=args.region,
            principal=args.principal,
            resource=args.resource,
            context=args.context or (),
        )
    except (ConfigError, CommandError) as error:
        return _refused(error)
    print(result.as_json() if args.json else result.as_text())
    return 0 if result.allowed else 1


def _output_taken(path: Path) -> str | None:
    """Why ``--output PATH`` cannot be written without losing something, if it cannot."""
    if path.is_dir():
        return f"--output {path}: is a directory; give the name of a new file"
    if path.exists() or path.is_symlink():
        return f"--output {path}: the file exists; choose another name (nothing is overwritten)"
    parent = path.parent
    if not parent.is_dir():
        return f"--output {path}: {parent} is not a directory; create it first"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"--output {path}: {parent} cannot be written to"
    return None


def _write_new(path: Path, text: str) -> str | None:
    """Write ``text`` to a new file (never over another one); the problem in one line. A
    write that fails part-way (a full disk) leaves no part of a file behind."""
    try:
        out = path.open("x", encoding="utf-8")
    except FileExistsError:  # made since the first look
        return _output_taken(path) or f"--output {path}: the file exists; nothing is overwritten"
    except OSError as error:
        return f"--output {path}: {error.strerror}"
    try:
        with out:
            out.write(text)
    except OSError as error:
        path.unlink(missing_ok=True)  # the file this call made, and only that
        return f"--output {path}: {error.strerror}; nothing was written"
    return None


def _diagram(args: argparse.Namespace) -> int:
    from baseline.diagram import render

    try:
        config = _checked_config(args.config)
    except ConfigError as error:
        return _refused(error)
    taken = _output_taken(args.output) if args.output is not None else None
    if taken:  # before the construct tree is built: that takes a while
        print(taken, file=sys.stderr)
        return EXIT_INVALID_CONFIG
    picture = render(config, args.format)
    if args.output is None:
        print(picture, end="")
        return 0
    problem = _write_new(args.output, picture)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_INVALID_CONFIG
    return 0


def _import_organization(args: argparse.Namespace) -> int:
    from baseline.importer import (
        clients,
        inactive_warning,
        policy_warning,
        progress_printer,
        read_organization,
        render_config,
    )
    from baseline.operations import CommandError

    taken = _output_taken(args.output) if args.output is not None else None
    if taken:
        print(taken, file=sys.stderr)
        return EXIT_INVALID_CONFIG
    from botocore.exceptions import BotoCoreError

    show = progress_printer()
    try:
        organizations, sts = clients()
        imported = read_organization(organizations, sts, show)
    except BotoCoreError as error:  # no such profile, no region
        return _refused(CommandError([f"cannot use the AWS credentials: {error}"]))
    except CommandError as error:
        if show is not None:
            print(file=sys.stderr)
        return _refused(error)
    if show is not None:
        print(file=sys.stderr)
    text = render_config(imported)
    if args.output is None:
        print(text, end="")
    else:
        problem = _write_new(args.output, text)
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_INVALID_CONFIG
        print(
            f"{args.output}: {len(imported.accounts)} accounts in "
            f"{_count_units(imported.units)} OUs; fill in the FILL-IN values, confirm the "
            f"guessed roles, then: python -m baseline validate {args.output}",
            file=sys.stderr,
        )
    for warning in (policy_warning(imported), inactive_warning(imported)):
        if warning:
            print(warning, file=sys.stderr)
    return 0


def _count_units(units: list[Any]) -> int:
    return sum(1 + _count_units(u.children) for u in units)


def _cost(args: argparse.Namespace) -> int:
    from baseline.cost import assumptions_from, render_json, render_text, total_problems
    from baseline.operations import CommandError

    try:
        config = _checked_config(args.config)
    except ConfigError as error:
        return _refused(error)
    assume, problems = assumptions_from(args.assume or [])
    if problems:
        return _refused(CommandError(problems))
    problems = total_problems(config, assume)
    if problems:
        return _refused(CommandError(problems))
    print(render_json(config, assume) if args.json else render_text(config, assume))
    return 0


def _refused(error: Exception) -> int:
    """Print a config's or a command's problems, one line each; the bad-input exit code."""
    problems = getattr(error, "problems", None)
    lines = [error.render()] if isinstance(error, ConfigError) else list(problems or [str(error)])
    for line in lines:
        print(line, file=sys.stderr)
    return EXIT_INVALID_CONFIG


def _gameday(args: argparse.Namespace) -> int:
    from baseline.gameday import Rehearsal, boto3_clients, plan_for
    from baseline.operations import CommandError

    try:
        config = _checked_config(args.config)
        plan = plan_for(
            config,
            account=args.account,
            region=args.region,
            finding_types=args.types or (),
            timeout_seconds=args.timeout,
        )
    except (ConfigError, CommandError) as error:
        return _refused(error)
    print(
        f"game day: {', '.join(plan.finding_types)} in {plan.account_name} "
        f"({plan.account_id}), {plan.region}"
    )
    if args.dry_run:
        for call in plan.calls():
            print(f"  would call {call}")
        return 0
    try:
        rehearsal = Rehearsal(plan, boto3_clients())
        for step in rehearsal.run():
            print(f"  {step.line()}", flush=True)
    except CommandError as error:
        return _refused(error)
    print("passed" if rehearsal.passed else "failed: the step marked FAIL broke the path")
    return 0 if rehearsal.passed else 1


def _contain(args: argparse.Namespace) -> int:
    from baseline.contain import Containment, calls, responder_clients, target_for
    from baseline.handlers.containment import CONTAINMENT_SERVICES
    from baseline.operations import CommandError

    try:
        target = target_for(
            _checked_config(args.config),
            account=args.account,
            instance=args.instance,
            case=args.case,
            region=args.region,
            quarantine_role=args.quarantine_role,
        )
    except (ConfigError, CommandError) as error:
        return _refused(error)
    print(
        f"contain {target.instance_id} in {target.account_name} ({target.account_id}), "
        f"{target.region}, case {target.case_id}"
    )
    if args.dry_run:
        for call in calls(target):
            print(f"  would call {call}")
        return 0
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        factory = responder_clients(target, boto3.client("sts", region_name=target.region))
        # every client made before anything changes: an endpoint botocore cannot use
        # (AWS_ENDPOINT_URL_EC2=...) stops the command here, not halfway
        clients = {service: factory(service) for service in CONTAINMENT_SERVICES}
    except (BotoCoreError, ClientError) as error:
        print(
            f"cannot assume {target.responder_role_arn}: {error} (use the audit account's "
            "IncidentResponse credentials)",
            file=sys.stderr,
        )
        return EXIT_INVALID_CONFIG
    except ValueError as error:  # botocore: "Invalid endpoint: ..."
        print(f"cannot use the AWS settings: {error}", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    containment = Containment(target, clients.__getitem__)
    for step in containment.run():
        print(f"  {step.line()}", flush=True)
    if containment.instance_unknown:
        print(
            f"--instance: {target.instance_id} is not an instance of {target.account_name} "
            f"({target.account_id}) in {target.region} (nothing was changed)",
            file=sys.stderr,
        )
        return EXIT_INVALID_CONFIG
    print("contained" if containment.passed else "not fully contained: see the FAIL steps")
    return 0 if containment.passed else 1


def _config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path("config/landing-zone.yaml"),
        help="the YAML file (default: config/landing-zone.yaml)",
    )


def _execution_policy_arguments(parser: argparse.ArgumentParser) -> None:
    _config_argument(parser)
    parser.add_argument("--account", required=True, help="the account (name or id)")
    parser.add_argument(
        "--cdk-out",
        type=Path,
        help="read this synthesized cloud assembly instead of synthesizing the config",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        help="write each policy document into this directory as <name>.json (never over a "
        "file) and print the commands that create them; default: print the documents",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line: every command, each with its arguments."""
    summary = (__doc__ or "").split("\n\n")[0]  # the first paragraph: every command
    parser = argparse.ArgumentParser(prog="python -m baseline", description=summary)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a landing-zone config file")
    validate.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=Path("config/landing-zone.yaml"),
        help="the YAML file (default: config/landing-zone.yaml)",
    )
    docs = commands.add_parser("docs", help="regenerate the generated pages in docs/")
    docs.add_argument("--check", action="store_true", help="exit 1 if any page is stale")
    report = commands.add_parser(
        "report", help="Security Pillar and CIS coverage, with evidence from the templates"
    )
    _config_argument(report)
    report.add_argument(
        "--cdk-out",
        type=Path,
        help="read this synthesized cloud assembly instead of synthesizing the config",
    )
    report.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="default: text"
    )
    diagram = commands.add_parser(
        "diagram", help="the OU tree, accounts, guardrails and stacks as a Mermaid or DOT graph"
    )
    _config_argument(diagram)
    diagram.add_argument(
        "--format", choices=("mermaid", "dot"), default="mermaid", help="default: mermaid"
    )
    diagram.add_argument(
        "--output",
        type=Path,
        help="write to this new file (default: stdout); an existing file is never overwritten",
    )
    cost = commands.add_parser("cost", help="an estimate of the baseline's monthly cost")
    _config_argument(cost)
    cost.add_argument(
        "--assume",
        action="append",
        metavar="KEY=VALUE",
        help="change an assumption, e.g. instances=20 (repeatable; the output lists them)",
    )
    cost.add_argument("--json", action="store_true", help="print JSON")
    _execution_policy_arguments(
        commands.add_parser(
            "execution-policy",
            help="the CloudFormation execution policies an account's CDK bootstrap names",
        )
    )
    importer = commands.add_parser(
        "import-organization",
        help="write a starting config from an existing organisation (reads only)",
    )
    importer.add_argument(
        "--output",
        type=Path,
        help="write to this new file (default: stdout); an existing file is never overwritten",
    )
    explain = commands.add_parser(
        "explain", help="why the guardrails on an account's path allow or deny a request"
    )
    _config_argument(explain)
    explain.add_argument("--account", required=True, help="the account (name or id)")
    explain.add_argument("--action", required=True, help="service:Action, e.g. s3:PutObject")
    explain.add_argument("--region", help="the requested region (default: the home region)")
    explain.add_argument("--principal", help="the caller's ARN (default: a role in the account)")
    explain.add_argument("--resource", default="*", help="the resource ARN (default: *)")
    explain.add_argument(
        "--context",
        action="append",
        metavar="KEY=VALUE",
        help="a condition key of the request, e.g. aws:PrincipalTag/team=x (repeatable)",
    )
    explain.add_argument("--json", action="store_true", help="print JSON")
    gameday = commands.add_parser(
        "gameday", help="rehearse the alert path with GuardDuty sample findings"
    )
    _config_argument(gameday)
    gameday.add_argument("--account", help="account name or id (default: the audit account)")
    gameday.add_argument("--region", help="a governed region (default: the home region)")
    gameday.add_argument(
        "--type",
        dest="types",
        action="append",
        help="a GuardDuty finding type (repeatable; default: two high-severity types)",
    )
    gameday.add_argument(
        "--timeout", type=int, default=600, help="seconds to wait at each step (default: 600)"
    )
    gameday.add_argument(
        "--dry-run", action="store_true", help="print the calls it would make; no credentials"
    )
    contain = commands.add_parser(
        "contain", help="contain a compromised EC2 instance through the responder role"
    )
    _config_argument(contain)
    contain.add_argument("--account", required=True, help="the member account (name or id)")
    contain.add_argument("--instance", required=True, help="the instance id")
    contain.add_argument("--case", required=True, help="the case id the evidence is tagged with")
    contain.add_argument("--region", help="a governed region (default: the home region)")
    contain.add_argument(
        "--quarantine-role",
        action="store_true",
        help="also attach AWSDenyAll to the instance profile's role (all its instances)",
    )
    contain.add_argument("--dry-run", action="store_true", help="print the calls; no credentials")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: dict[str, Callable[[argparse.Namespace], int]] = {
        "validate": lambda a: _validate(a.path),
        "docs": lambda a: _docs(a.check),
        "report": _report,
        "execution-policy": _execution_policy,
        "explain": _explain,
        "diagram": _diagram,
        "gameday": _gameday,
        "contain": _contain,
        "import-organization": _import_organization,
        "cost": _cost,
    }
    return run[args.command](args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader stopped early (| head): the output did not all arrive, and the
        # command's verdict (a DENY, an incomplete report) was not reached. Exit as a
        # process killed by SIGPIPE does, never as a success.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
