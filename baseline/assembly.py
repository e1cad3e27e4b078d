"""Reading a synthesized cloud assembly (``cdk.out``) without the CDK: its templates, and
the templates they carry (a StackSet's inline body, the nested stacks' files).

A leaf module: json and pathlib only, so commands that read an assembly (``report``,
the checkov scan) need not start the CDK.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def templates_with_stack_sets(
    assembly_dir: Path, *, stack_sets: bool = True
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every template of a cloud assembly, by name, and each template one carries: a
    StackSet's written inline (the member baseline) and a nested stack's written beside it
    (the Identity Center assignments, which name their file in ``lz:TemplateFile``
    metadata), named ``<stack>/<logical id>``. With ``stack_sets=False``, the StackSets'
    templates are left out (they deploy as no stack of the assembly)."""
    for template_path in sorted(assembly_dir.glob("*.template.json")):
        template = json.loads(template_path.read_text(encoding="utf-8"))
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
            nested_file = resource.get("Metadata", {}).get("lz:TemplateFile")
            if resource.get("Type") == "AWS::CloudFormation::StackSet" and isinstance(body, str):
                if stack_sets:
                    yield f"{stack}/{logical_id}", json.loads(body)
            elif resource.get("Type") == "AWS::CloudFormation::Stack" and nested_file:
                nested = (assembly_dir / nested_file).read_text(encoding="utf-8")
                yield f"{stack}/{logical_id}", json.loads(nested)


def templates_in(assembly_dir: Path) -> dict[str, dict[str, Any]]:
    """Every stack template of a cloud assembly: each stack's by its artifact id, and the
    nested stacks' (the Identity Center assignment shards) as ``<stack>/<logical id>``.
    A StackSet's own template is left out: it deploys as no stack of the assembly."""
    return dict(templates_with_stack_sets(assembly_dir, stack_sets=False))
