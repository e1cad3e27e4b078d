"""AWS Control Tower's proactive controls on synthesized templates, run in parallel.

The rules are the cfn-guard rules that ``cdklabs.cdk-validator-cfnguard`` ships with its
cfn-guard binary. Its plugin runs one cfn-guard process over every rule and every
template; cfn-guard's time grows with rules x resources, even for a rule whose resource
type a template does not have, and one process uses one core. On the example
organisation that was the largest single part of a synth. This module runs the same
binary on the same rules with these differences, none of which changes what is found:

- a rule runs only on templates that have one of the resource types its piece's rules
  name (a rule about queues can only skip a template without queues, or, among the other
  rules of its piece, see none of its own types and skip as in the whole template);
- a rule sees of each template only what it can query: the resources of the types its
  piece's rules name, and every resource those reach through ``Ref`` or ``Fn::GetAtt``
  (the rules query resources by type, or by the logical id a reference names, and never
  otherwise), with the template's other sections as they are (:func:`narrowed`);
- the work is cut into pieces (a slice of one service's rules, over every template they
  apply to, each as that slice sees it) that run on every core at once: cfn-guard's cost
  is mostly per rule per process and per resource a rule looks at, so the pieces are few
  and each holds only what its rules query;
- the findings are read from cfn-guard's structured output into :class:`Finding` values,
  one per rule, fix message and resource, as the plugin groups them.

The binary and rules are taken from the package's own archive, unpacked once per machine
into a cache directory named after the archive's digest (as the jsii runtime unpacks its
packages); ``tests/test_control_tower.py`` holds that the plugin itself and this module
find the same findings, and that a narrowed template gets the findings of the whole one.
A process asks cfn-guard once about the same narrowed template and rules
(:data:`_RESULTS`).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from baseline import cores

#: The plugin's name: its findings are acknowledged as ``<plugin>::<rule name>``.
PLUGIN = "cdk-validator-cfnguard"
#: Where the plugin's documentation describes its bundled rules (each finding links it).
DOCUMENTATION_URL = "https://github.com/cdklabs/cdk-validator-cfnguard#bundled-control-tower-rules"

_RULES_DIR = "package/rules/control-tower/cfn-guard/"
#: Part of the cache directory's name: a change to what is unpacked, or how, changes it.
_LAYOUT = "1"
_AWS_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
#: cfn-guard's exit codes: 0 every rule passed, 19 some rule failed. Anything else (5 is
#: its own error status, a rule file it could not parse among them) fails the check.
_GUARD_OK = (0, 19)
#: At most this many rules in one cfn-guard process: small pieces keep every core busy to
#: the end; each process costs cfn-guard's start (about 15 ms with a Control Tower rule).
_RULES_PER_PROCESS = 12


@dataclass(frozen=True)
class Bundle:
    """The unpacked cfn-guard binary and Control Tower rules of the installed package."""

    binary: Path
    rules: Path
    version: str

    def rule_files(self) -> dict[str, Path]:
        """Each rule file by its name as ``disabled_rules`` takes it (``ct-s3-pr-4``)."""
        return {path.stem: path for path in sorted(self.rules.rglob("*.guard"))}


@dataclass(frozen=True, order=True)
class Finding:
    """What one rule found on one resource of one template."""

    rule_name: str
    description: str
    fix: str
    template_path: str
    logical_id: str
    locations: tuple[str, ...]


def _archive() -> Path:
    """The package's archive, found without importing the package: importing it would
    load its jsii assembly into the node process, which this module never needs (and
    which must not happen from a thread other than the one talking to node)."""
    spec = importlib.util.find_spec("cdklabs.cdk_validator_cfnguard")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cdklabs.cdk-validator-cfnguard package is not installed")
    package = Path(next(iter(spec.submodule_search_locations))) / "_jsii"
    return next(p for p in package.iterdir() if p.name.endswith(".jsii.tgz"))


def _platform() -> tuple[str, str]:
    """The binary's folder for this machine, as the package names them."""
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system())
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower()
    )
    if system is None or arch is None:
        raise RuntimeError(
            f"the Control Tower rules run on Linux or macOS, x86_64 or arm64, not on "
            f"{platform.system()} {platform.machine()}"
        )
    return system, arch


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aws-secure-landing-zone"


@functools.cache
def bundle() -> Bundle:
    """The binary and rules, unpacked into the cache on first use on this machine.

    Unpacking goes to a fresh directory that is renamed into place when complete, so
    several synths starting at once never see half a bundle. Where the cache cannot be
    written, the bundle is unpacked into a temporary directory for this process.
    """
    packaged = _archive()
    version = packaged.name.removesuffix(".jsii.tgz").rpartition("@")[2]
    system, arch = _platform()
    failure: OSError | None = None
    with resources.as_file(packaged) as archive:  # a zipped install: a file to open
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
        for root in (_cache_root(), None):
            try:
                target = _unpacked(archive, digest, system, arch, root)
            except OSError as error:
                failure = error
                continue
            return Bundle(binary=target / "cfn-guard", rules=target / "rules", version=version)
    raise RuntimeError(f"could not unpack the Control Tower rules from {packaged}") from failure


def _complete(target: Path) -> bool:
    """An unpacked bundle with its binary and at least one rule (a cache entry of ours)."""
    binary = target / "cfn-guard"
    return (
        binary.is_file()
        and os.access(binary, os.X_OK)
        and binary.stat().st_uid == os.getuid()
        and any((target / "rules").rglob("*.guard"))
    )


def _unpacked(archive: Path, digest: str, system: str, arch: str, root: Path | None) -> Path:
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="cfn-guard-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
    target = root / f"cfn-guard-{digest}-{system}-{arch}-v{_LAYOUT}"
    if _complete(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=root))
    try:
        binary_name = f"package/bin/{system}/{arch}/cfn-guard"
        found = False
        rules = 0
        inside = scratch.resolve()
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                if member.name == binary_name:
                    destination = scratch / "cfn-guard"
                    found = True
                elif member.name.startswith(_RULES_DIR) and member.name.endswith(".guard"):
                    destination = scratch / "rules" / member.name.removeprefix(_RULES_DIR)
                    if not destination.resolve().is_relative_to(inside):
                        continue  # a name that would write outside the bundle
                    rules += 1
                else:
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has content
                destination.write_bytes(source.read())
        if not found or not rules:
            raise RuntimeError(
                f"{archive} has no cfn-guard binary for {system}/{arch} or no Control Tower "
                "rules where this kit reads them: the package's layout changed"
            )
        (scratch / "cfn-guard").chmod(0o755)
        try:
            scratch.rename(target)
        except OSError:
            if not _complete(target):  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


@functools.cache
def _rule_files() -> dict[str, Path]:
    return bundle().rule_files()


@functools.cache
def rule_types() -> dict[str, frozenset[str]]:
    """Each rule (by file name, ``ct-s3-pr-4``) and the resource types it names."""
    return {
        name: frozenset(_AWS_TYPE.findall(path.read_text(encoding="utf-8")))
        for name, path in _rule_files().items()
    }


def _load(path: str) -> dict[str, Any]:
    template = json.loads(Path(path).read_text(encoding="utf-8"))
    return template if isinstance(template, dict) else {}


def _resources(template: Mapping[str, Any]) -> dict[str, Any]:
    resources = template.get("Resources")
    return resources if isinstance(resources, dict) else {}


def _type_of(resource: Any) -> str:
    return str(resource.get("Type", "")) if isinstance(resource, Mapping) else ""


def _references(node: Any, found: set[str]) -> None:
    """Every logical id a ``Ref`` or ``Fn::GetAtt`` under a node names."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                if isinstance(value, list) and value and isinstance(value[0], str):
                    found.add(value[0])
                elif isinstance(value, str):
                    found.add(value.split(".", 1)[0])
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def narrowed(template: Mapping[str, Any], types: frozenset[str] | None) -> dict[str, Any]:
    """The template as rules that name only ``types`` can see it: its resources of those
    types and every resource they reach through references, in the template's order,
    and every other section as it is.

    A Control Tower rule queries resources by type (``Resources.*[ Type == ... ]``) or by
    the logical id a reference names (``Resources[ keys == ... ]``, where it follows a
    ``Ref`` or ``Fn::GetAtt`` to check what it points at); ``tests/test_control_tower.py``
    holds the bundled rules to that. A resource of another type that nothing kept
    references is therefore invisible to them, and leaving it out changes no finding.
    """
    if types is None:
        return dict(template)
    resources = _resources(template)
    kept = {key for key, resource in resources.items() if _type_of(resource) in types}
    todo = list(kept)
    while todo:
        reached: set[str] = set()
        _references(resources[todo.pop()], reached)
        for key in reached:
            if key in resources and key not in kept:
                kept.add(key)
                todo.append(key)
    view = dict(template)
    view["Resources"] = {key: value for key, value in resources.items() if key in kept}
    return view


@dataclass(frozen=True)
class Piece:
    """One cfn-guard process: a slice of one service's rules, the resource types they
    name, and the templates that have at least one of those types (a rule that names no
    type has a piece of its own, over every template)."""

    rules: tuple[Path, ...]
    #: None for rules that name no type: they see each template whole
    types: frozenset[str] | None
    templates: tuple[str, ...]


def _pieces(templates: Mapping[str, Mapping[str, Any]], disabled: Iterable[str]) -> list[Piece]:
    off = set(disabled)
    files = _rule_files()
    types = rule_types()
    present = {
        path: {_type_of(resource) for resource in _resources(template).values()}
        for path, template in templates.items()
    }
    by_service: dict[str, list[str]] = {}
    for name, named in types.items():
        if name in off:
            continue
        if not named:  # a rule that names no type sees every template whole
            by_service.setdefault("", []).append(name)
        elif any(named & present[path] for path in templates):
            by_service.setdefault(files[name].parent.name, []).append(name)
    pieces: list[Piece] = []
    for service in sorted(by_service):
        names = by_service[service]
        for start in range(0, len(names), _RULES_PER_PROCESS):
            chunk = names[start : start + _RULES_PER_PROCESS]
            union = None if not service else frozenset().union(*(types[n] for n in chunk))
            pieces.append(
                Piece(
                    rules=tuple(files[name] for name in chunk),
                    types=union,
                    templates=tuple(
                        path for path in templates if union is None or union & present[path]
                    ),
                )
            )
    return pieces


def plan(template_paths: Sequence[str], disabled: Iterable[str] = ()) -> list[Piece]:
    """The pieces of work (:class:`Piece`): every rule that applies to some template, once,
    in a piece with the templates its piece's rules apply to. A rule applies to a template
    that has one of the resource types it names."""
    return _pieces({path: _load(path) for path in dict.fromkeys(template_paths)}, disabled)


#: What cfn-guard failed, per (narrowed template's digest, binary, rule files) this
#: process has checked: cfn-guard gives the same answer to the same input, and a process
#: that checks a template again (the test suite, a second app of the same organisation)
#: need not run it again. Only the failed rules are kept.
_RESULTS: dict[tuple[str, str, tuple[str, ...]], list[dict[str, Any]]] = {}
_RESULTS_KEPT = 4096


def _run(
    binary: Path, rules: Sequence[Path], data: Sequence[tuple[Path, bytes]]
) -> list[list[dict[str, Any]]]:
    """cfn-guard's failed results for each data file (its path and bytes), in order; the
    files the process has checked before with the same rules are not run again."""
    rule_key = tuple(str(rule) for rule in rules)
    keys = [(hashlib.sha256(content).hexdigest(), str(binary), rule_key) for _, content in data]
    # what is known is read once: another thread may clear the cache meanwhile
    known = {key: found for key in keys if (found := _RESULTS.get(key)) is not None}
    unknown = [path for (path, _), key in zip(data, keys, strict=True) if key not in known]
    if unknown:
        answered = _guard(binary, unknown, rules)
        if len(_RESULTS) >= _RESULTS_KEPT:
            _RESULTS.clear()  # a long-running process: start again rather than grow
        for (path, _), key in zip(data, keys, strict=True):
            if path in answered:
                known[key] = _RESULTS[key] = answered[path]
    return [known[key] for key in keys]


def _guard(
    binary: Path, data: Sequence[Path], rules: Sequence[Path]
) -> dict[Path, list[dict[str, Any]]]:
    """One cfn-guard process: the failed rules of each data file, by its path.

    cfn-guard names each result by the data file's canonical path (symbolic links
    resolved: ``/private/var/...`` for ``/var/...`` on macOS), so results are matched by
    that. When a rule failed, every file must have its result: a file cfn-guard did not
    report on is never read as passed."""
    command = [str(binary), "validate"]
    for rule in rules:
        command += ["--rules", str(rule)]
    for path in data:
        command += ["--data", str(path)]
    command += ["--output-format", "json", "--show-summary", "none", "--structured"]
    done = subprocess.run(command, capture_output=True, check=False)
    named = ", ".join(path.name for path in data)
    if done.returncode not in _GUARD_OK:
        raise RuntimeError(
            f"cfn-guard failed on {named} (exit {done.returncode}): "
            f"{done.stderr.decode(errors='replace').strip()[:2000]}"
        )
    output = done.stdout.decode("utf-8").strip()
    results = json.loads(output) if output else None
    by_name = {os.path.realpath(path): path for path in data}
    failed: dict[Path, list[dict[str, Any]]] = {path: [] for path in data}
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, Mapping) or not result.get("not_compliant"):
            continue
        named_path = result.get("name")
        target = by_name.get(os.path.realpath(named_path)) if isinstance(named_path, str) else None
        if target is None:
            raise RuntimeError(
                f"cfn-guard reported failures on {result.get('name')!r}, which it was not "
                f"given (it was given {named})"
            )
        failed[target].append({"not_compliant": result["not_compliant"]})
    if not isinstance(results, list) or (done.returncode == 19 and not any(failed.values())):
        raise RuntimeError(
            f"cfn-guard gave no results for {named} (exit {done.returncode}): "
            f"{done.stderr.decode(errors='replace').strip()[:2000]}"
        )
    if done.returncode == 19:
        reported = {
            os.path.realpath(r["name"])
            for r in results
            if isinstance(r, Mapping) and isinstance(r.get("name"), str)
        }
        missing = [path.name for path in data if os.path.realpath(path) not in reported]
        if missing:
            raise RuntimeError(
                f"cfn-guard failed some rule but gave no result for {', '.join(missing)}"
            )
    return failed


def check(template_paths: Sequence[str], disabled: Iterable[str] = ()) -> list[Finding]:
    """Every finding of the Control Tower rules on the templates, in a stable order."""
    templates = {path: _load(path) for path in dict.fromkeys(template_paths)}
    pieces = _pieces(templates, disabled)
    if not pieces:
        return []
    binary = bundle().binary
    with tempfile.TemporaryDirectory(prefix="control-tower-") as scratch_name:
        scratch = Path(scratch_name).resolve()
        jobs: list[tuple[Piece, list[tuple[Path, bytes]]]] = []
        for number, piece in enumerate(pieces):
            data = []
            for index, template in enumerate(piece.templates):
                content = json.dumps(narrowed(templates[template], piece.types)).encode()
                path = scratch / f"{number}-{index}.json"
                path.write_bytes(content)
                data.append((path, content))
            jobs.append((piece, data))
        # the largest pieces first, so the last ones to finish are small
        jobs.sort(key=lambda job: -len(job[0].rules) * sum(len(c) for _, c in job[1]))
        workers = min(len(jobs), cores())
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outputs = list(pool.map(lambda job: _run(binary, job[0].rules, job[1]), jobs))
    findings: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for (piece, _), per_template in zip(jobs, outputs, strict=True):
        for template, output in zip(piece.templates, per_template, strict=True):
            for result in output:
                for rule in _failed_rules(result):
                    failures = list(_failures(rule)) or [(_first_message(rule), "")]
                    for message, location in failures:
                        # a failed rule that names no place still fails: it is reported
                        # on the template (no resource), never dropped
                        fix, description = _fix_and_description(message)
                        logical_id = location.split("/")[2] if location.count("/") >= 2 else ""
                        key = (template, rule.get("name", "?"), fix, logical_id)
                        entry = findings.setdefault(
                            key, {"description": description, "locations": []}
                        )
                        if location and location not in entry["locations"]:
                            entry["locations"].append(location)
    return sorted(
        Finding(
            rule_name=rule_name,
            description=entry["description"],
            fix=fix,
            template_path=template,
            logical_id=logical_id,
            locations=tuple(entry["locations"]),
        )
        for (template, rule_name, fix, logical_id), entry in findings.items()
    )


def _failed_rules(result: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    failed = result.get("not_compliant") or []
    if isinstance(failed, Mapping):  # cfn-guard writes an empty object for none
        failed = list(failed.values())
    for entry in failed:
        rule = entry.get("Rule") if isinstance(entry, Mapping) else None
        # anything else failed that is not a rule is reported as one, under its kind
        yield rule if isinstance(rule, Mapping) else {"name": "?", "checks": [entry]}


def _custom_message(node: Mapping[str, Any]) -> str:
    messages = node.get("messages")
    custom = messages.get("custom_message") if isinstance(messages, Mapping) else None
    return custom if isinstance(custom, str) and custom.strip() else ""


def _first_message(node: Any) -> str:
    """The outermost custom message anywhere under a node."""
    if isinstance(node, list):
        return next((m for item in node if (m := _first_message(item))), "")
    if not isinstance(node, Mapping):
        return ""
    return _custom_message(node) or next((m for v in node.values() if (m := _first_message(v))), "")


def _failures(node: Any, message: str = "") -> Iterator[tuple[str, str]]:
    """Each failed check under a rule as (the outermost custom message above it, the path
    it reached). The outermost: a Control Tower rule's message (``[CT...]``, ``[FIX]``) is
    on the check it calls, and a helper inside it (``query_for_resource``) has its own,
    which is not the rule's."""
    if isinstance(node, list):
        for item in node:
            yield from _failures(item, message)
        return
    if not isinstance(node, Mapping):
        return
    if not message:
        message = _custom_message(node)
    location = _location(node)
    if location is not None:
        yield message, location
        return
    for key, value in node.items():
        if key not in ("messages", "metadata", "name", "context"):
            yield from _failures(value, message)


def _location(node: Mapping[str, Any]) -> str | None:
    """The template path a failed check reached, where this node is a check's result:
    an unresolved query (how far it got), or a resolved comparison (the value compared)."""
    for key in ("UnResolved", "unresolved"):
        reached = node.get(key)
        if isinstance(reached, Mapping):
            inner = reached.get("value")
            for holder in (inner, reached):
                if isinstance(holder, Mapping) and isinstance(holder.get("traversed_to"), Mapping):
                    path = holder["traversed_to"].get("path")
                    if isinstance(path, str):
                        return path
    for key in ("Resolved", "InResolved"):
        compared = node.get(key)
        if isinstance(compared, Mapping):
            for side in ("from", "value"):
                path = (compared.get(side) or {}).get("path")
                if isinstance(path, str):
                    return path
    return None


def _fix_and_description(message: str) -> tuple[str, str]:
    """A Control Tower rule's message is ``[CT.X.PR.n]: what`` and ``[FIX]: how``."""
    fix = description = ""
    for text in message.splitlines():
        line = text.strip()
        if not line:
            continue
        if line.startswith("[FIX]"):
            fix = re.sub(r"^\[FIX\]:\s*", "", line)
        else:
            description = line
    return fix or message.strip() or "N/A", description or message.strip()
