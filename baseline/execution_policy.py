"""``python -m baseline execution-policy``: the policies of each account's CloudFormation
execution role, from what the account's stacks hold.

The CDK bootstrap of a member account names customer-managed execution policies
(``--cloudformation-execution-policies``): CloudFormation creates, updates and deletes
the account's stacks with them. Written by hand from lists of services they miss a
resource type, and once the Organization stack is deployed SCP-BASELINE-PROTECT denies
the new version that would mend them (they live under ``/<prefix>/``). So they are
derived here from the synthesized assembly instead: for every resource type of every
stack (nested ones included) that deploys in the account, the permissions that the
type's CloudFormation resource schema lists for its create, read, update and delete
handlers (the schemas cfn-lint ships, the registry's own), and ``lambda:InvokeFunction``
for the custom resources, whose functions CloudFormation invokes with the role. The
actions are split into documents that fit IAM's 6,144 characters.

The member baseline's StackSet deploys with the StackSets execution role, not this one:
its template's resource types are not counted. The schemas are AWS's, not tried by a
deploy of the kit; CloudTrail in the account names anything they leave out. They also
list a few names that are no IAM action of the reference (``s3:DeleteBucketEncryption``
beside the real ``s3:PutEncryptionConfiguration``), which are kept: they grant nothing,
and dropping every name the reference does not know yet would drop new actions too.

No CDK here (the caller synthesizes when no assembly is given).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baseline.assembly import stack_artifacts, templates_with_stack_sets

#: The first policy's name; the next are ``lz-cdk-execution-2``, ``-3``, ...
POLICY_NAME = "lz-cdk-execution"
#: IAM's limit for a customer-managed policy document (whitespace not counted).
MANAGED_POLICY_CHARACTERS = 6_144
#: The handlers whose permissions a deploy, an update and a removal use.
HANDLERS = ("create", "read", "update", "delete")
#: Resource types that CloudFormation deploys without calling a service.
NO_PERMISSIONS = frozenset({"AWS::CDK::Metadata", "AWS::CloudFormation::WaitConditionHandle"})
#: What a custom resource needs of the role: CloudFormation invokes its function with it.
CUSTOM_RESOURCE_ACTIONS = ("lambda:InvokeFunction",)
#: A template's BootstrapVersion parameter is an SSM parameter CloudFormation reads.
BOOTSTRAP_ACTIONS = ("ssm:GetParameters",)


_ACTION = re.compile(r"^([A-Za-z0-9-]+):([A-Za-z0-9*]+)\Z")


def iam_action(permission: str) -> str | None:
    """A schema's permission as an IAM action: its service prefix in lower case (IAM reads
    both, the schemas write ``CloudTrail:CreateTrail``); None for one that is no IAM action
    (``s3:REST.PUT.OBJECT``, in the S3 bucket's schema)."""
    match = _ACTION.match(permission)
    return f"{match.group(1).lower()}:{match.group(2)}" if match else None


@dataclass(frozen=True)
class ExecutionPolicies:
    """The policy documents of one account, by name, and what they were derived from."""

    account_id: str
    stacks: tuple[str, ...]
    resource_types: tuple[str, ...]
    documents: dict[str, dict[str, Any]]

    @property
    def actions(self) -> set[str]:
        return {
            action
            for document in self.documents.values()
            for statement in document["Statement"]
            for action in statement["Action"]
        }


def _schema_permissions(resource_type: str, region: str) -> set[str] | None:
    """What the type's resource schema lists for its handlers; None for a type no schema
    describes."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # the dev extra (make setup)

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # cfn-lint raises its own ResourceNotFoundError
        return None
    handlers = schema.get("handlers", {})
    return {
        str(permission)
        for handler in HANDLERS
        for permission in handlers.get(handler, {}).get("permissions", [])
    }


def _documents(actions: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The actions in as few documents as fit IAM's limit, in order."""
    documents: dict[str, dict[str, Any]] = {}
    current: list[str] = []

    def document(of: list[str]) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DeployTheLandingZonesStacks",
                    "Effect": "Allow",
                    "Action": of,
                    "Resource": "*",
                }
            ],
        }

    def size(of: list[str]) -> int:
        return len(json.dumps(document(of), separators=(",", ":")))

    def close() -> None:
        name = POLICY_NAME if not documents else f"{POLICY_NAME}-{len(documents) + 1}"
        documents[name] = document(list(current))

    for action in sorted(set(actions)):
        if current and size([*current, action]) > MANAGED_POLICY_CHARACTERS:
            close()
            current.clear()
        current.append(action)
    if current:
        close()
    return documents


def execution_policies(assembly_dir: Path, account_id: str) -> ExecutionPolicies:
    """The execution policies of one account.

    :raises ValueError: the assembly holds no stack of the account, or a resource type no
        schema describes (named, with its stack).
    """
    stacks = {
        a.artifact_id: a.region for a in stack_artifacts(assembly_dir) if a.account == account_id
    }
    if not stacks:
        raise ValueError(
            f"no stack of the assembly deploys in account {account_id} (the member baseline "
            "deploys there through its StackSet, with the StackSets execution role)"
        )
    actions: set[str] = set(BOOTSTRAP_ACTIONS)
    types: set[str] = set()
    unknown: list[str] = []
    for name, template in templates_with_stack_sets(assembly_dir, stack_sets=False):
        stack = name.split("/", 1)[0]
        if stack not in stacks:
            continue
        region = stacks[stack]
        for resource in template.get("Resources", {}).values():
            resource_type = str(resource.get("Type", ""))
            types.add(resource_type)
            if resource_type in NO_PERMISSIONS:
                continue
            if resource_type.startswith("Custom::") or (
                resource_type == "AWS::CloudFormation::CustomResource"
            ):
                actions.update(CUSTOM_RESOURCE_ACTIONS)
                continue
            permissions = _schema_permissions(resource_type, region)
            if permissions is None:
                unknown.append(f"{resource_type} ({name})")
                continue
            actions.update(filter(None, map(iam_action, permissions)))
    if unknown:
        raise ValueError(
            f"no CloudFormation resource schema describes {', '.join(sorted(set(unknown)))}"
        )
    return ExecutionPolicies(
        account_id=account_id,
        stacks=tuple(sorted(stacks)),
        resource_types=tuple(sorted(types)),
        documents=_documents(actions),
    )
