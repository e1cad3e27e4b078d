"""Reading a synthesized cloud assembly (``cdk.out``) without the CDK: its templates, and
the templates they carry (a StackSet's inline body, the nested stacks' files).

A leaf module: json and pathlib only, so commands that read an assembly (``report``,
the checkov scan) need not start the CDK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Resource metadata naming a file of the assembly that holds the resource's template:
#: a nested stack's, or the member template as synthesized, acknowledgements included.
TEMPLATE_FILE_METADATA = "lz:TemplateFile"
#: Where cdk-nag reads its acknowledgements in a template.
NAG_METADATA_KEY = "cdk_nag"


@dataclass(frozen=True)
class StackArtifact:
    """One stack of a cloud assembly, as its manifest names it."""

    artifact_id: str
    stack_name: str
    account: str
    region: str


def stack_artifacts(assembly_dir: Path) -> list[StackArtifact]:
    """Every stack of the assembly's manifest, with the environment it deploys to.

    :raises OSError: no readable manifest.
    :raises ValueError: a manifest that is not a cloud assembly's, or a stack without an
        environment (``aws://account/region``)."""
    manifest = _json((assembly_dir / "manifest.json").read_text(encoding="utf-8"), "manifest.json")
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise ValueError(f"{assembly_dir / 'manifest.json'} is not a cloud assembly's manifest")
    found = []
    for name, artifact in artifacts.items():
        if not isinstance(artifact, dict) or artifact.get("type") != "aws:cloudformation:stack":
            continue
        environment = re.fullmatch(r"aws://([^/]+)/([^/]+)", str(artifact.get("environment", "")))
        if environment is None:
            raise ValueError(
                f"stack {name} of the assembly has no environment (aws://account/region)"
            )
        properties = artifact.get("properties")
        stack_name = properties.get("stackName", name) if isinstance(properties, dict) else name
        found.append(StackArtifact(name, str(stack_name), environment[1], environment[2]))
    return found


def without_nag_acknowledgements(template: dict[str, Any]) -> dict[str, Any]:
    """The template less its cdk-nag acknowledgements, which only cdk-nag reads, and only
    at synth. A StackSet's inline body goes without them: CloudFormation takes 51,200 bytes
    inline, and they were about a third of the member template. A copy; the template
    given is left as it is."""
    resources = {}
    for logical_id, resource in template.get("Resources", {}).items():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict) and NAG_METADATA_KEY in metadata:
            kept = {k: v for k, v in metadata.items() if k != NAG_METADATA_KEY}
            resources[logical_id] = {k: v for k, v in resource.items() if k != "Metadata"}
            if kept:
                resources[logical_id]["Metadata"] = kept
        else:
            resources[logical_id] = resource
    return {**template, "Resources": resources}


def templates_with_stack_sets(
    assembly_dir: Path, *, stack_sets: bool = True
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every template of a cloud assembly, by name, and each template one carries: a
    StackSet's written inline (the member baseline) and a nested stack's written beside it
    (the Identity Center assignments), named ``<stack>/<logical id>``. Both name their file
    in ``lz:TemplateFile`` metadata: a StackSet's file is its template as synthesized, the
    inline body with the cdk-nag acknowledgements that the body leaves out, and it is read
    in the body's place once it is shown to be that. With ``stack_sets=False``, the
    StackSets' templates are left out (they deploy as no stack of the assembly).

    :raises ValueError: a file that is not a template, a named file that is missing, or a
        StackSet's file that is not its body."""
    for template_path in sorted(assembly_dir.glob("*.template.json")):
        template = _json(template_path.read_text(encoding="utf-8"), template_path.name)
        resources = template.get("Resources", {}) if isinstance(template, dict) else None
        if not isinstance(resources, dict) or not all(
            isinstance(r, dict)
            and isinstance(r.get("Properties", {}), dict)
            and isinstance(r.get("Metadata", {}), dict)
            for r in resources.values()
        ):
            raise ValueError(
                f"{template_path.name} is not a CloudFormation template (an object whose "
                "Resources are objects, each with object Properties and Metadata)"
            )
        stack = template_path.name.removesuffix(".template.json")
        yield stack, template
        for logical_id, resource in resources.items():
            body = resource.get("Properties", {}).get("TemplateBody")
            named_file = resource.get("Metadata", {}).get(TEMPLATE_FILE_METADATA)
            if resource.get("Type") == "AWS::CloudFormation::StackSet" and isinstance(body, str):
                if stack_sets:
                    yield (
                        f"{stack}/{logical_id}",
                        _stack_set_template(
                            assembly_dir,
                            f"{stack}/{logical_id}",
                            _json(body, f"the TemplateBody of {stack}/{logical_id}"),
                            named_file,
                        ),
                    )
            elif resource.get("Type") == "AWS::CloudFormation::Stack" and named_file:
                yield f"{stack}/{logical_id}", _read_named(assembly_dir, stack, named_file)


def _json(text: str, name: str) -> Any:
    """A file's JSON; :class:`ValueError` for one that is not JSON or nests deeper than
    Python's parser recurses (no template the CDK writes comes near)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{name} nests too deep to read") from None


def _read_named(assembly_dir: Path, name: str, file_name: str) -> dict[str, Any]:
    path = assembly_dir / file_name
    if path.resolve().parent != assembly_dir.resolve():  # a file of the assembly, by name
        raise ValueError(f"{name} names {file_name}, which is not a file of the assembly")
    if not path.is_file():
        raise ValueError(f"{name} names {file_name}, which is not in the assembly")
    template: dict[str, Any] = _json(path.read_text(encoding="utf-8"), file_name)
    return template


def _stack_set_template(
    assembly_dir: Path, name: str, body: Any, file_name: object
) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("Resources", {}), dict):
        raise ValueError(f"the TemplateBody of {name} is not a CloudFormation template")
    if not isinstance(file_name, str):
        return body
    synthesized = _read_named(assembly_dir, name, file_name)
    if without_nag_acknowledgements(synthesized) != body:
        raise ValueError(
            f"{file_name} is not the template of {name}: less its cdk-nag "
            "acknowledgements it should be the StackSet's body (synthesize again)"
        )
    return synthesized


def templates_in(assembly_dir: Path) -> dict[str, dict[str, Any]]:
    """Every stack template of a cloud assembly: each stack's by its artifact id, and the
    nested stacks' (the Identity Center assignment shards) as ``<stack>/<logical id>``.
    A StackSet's own template is left out: it deploys as no stack of the assembly."""
    return dict(templates_with_stack_sets(assembly_dir, stack_sets=False))
