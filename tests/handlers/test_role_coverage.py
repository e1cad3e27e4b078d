"""Each custom-resource function's role grants what its code calls, and nothing unexplained.

The boto3 calls of each handler are read from its source (which client each call is made
on follows the client from where it is created, ``client("ec2")`` or
``boto3.client("iam")``, through assignments and function arguments), each operation is
turned into its IAM action through botocore's service model (API and action names differ
for a few, listed in ``API_TO_ACTION``), every action is checked against the IAM reference,
and the function's policy in the synthesized example must allow each one. Whatever else
the policy allows must be listed in ``EXTRA`` with the reason it is needed.
"""

from __future__ import annotations

import ast
import fnmatch
import json
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest

from baseline.handlers import organization_settings
from tests.conftest import Synthesized
from tests.test_iam_reference import action_exists

HANDLERS = Path(__file__).resolve().parents[2] / "baseline" / "handlers"

#: Operations whose IAM action is not ``<prefix>:<Operation>``.
API_TO_ACTION = {
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
    ("detective", "ListOrganizationAdminAccounts"): "detective:ListOrganizationAdminAccount",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}

#: What every baseline function's own statements grant: its logs, failed events, traces,
#: and the key its log group, queue and environment are under.
OWN = {
    "logs:CreateLogStream": "the function writes its own log group",
    "logs:PutLogEvents": "the function writes its own log group",
    "sqs:SendMessage": "failed events go to the function's dead-letter queue",
    "xray:PutTelemetryRecords": "the function is traced",
    "xray:PutTraceSegments": "the function is traced",
    "kms:Decrypt": "the function's log group, queue and environment are under its key",
    "kms:GenerateDataKey": "the function's log group, queue and environment are under its key",
}
DESIGNATION = (
    "documented as needed by the caller of the services' administrator designation, "
    "which the services call on the caller's behalf"
)

#: handler module -> (stack, managed-policy name of its function, what else it may do)
FUNCTIONS: dict[str, tuple[str, str, dict[str, str]]] = {
    "organization_settings": (
        "Organization",
        "nwl-organization-settings",
        {
            **OWN,
            "iam:CreateServiceLinkedRole": (
                "trusted access and designation create the services' service-linked roles"
            ),
            "organizations:DescribeAccount": DESIGNATION,
            "organizations:DescribeOrganizationalUnit": DESIGNATION,
            "organizations:ListAccounts": DESIGNATION,
            "organizations:ListDelegatedAdministrators": DESIGNATION,
            "organizations:RegisterDelegatedAdministrator": (
                "the handler registers the audit account for Access Analyzer and Config, and "
                "the designated services register it for themselves"
            ),
            "organizations:DescribeOrganization": DESIGNATION,
            "organizations:ListAWSServiceAccessForOrganization": DESIGNATION,
            "cloudformation:DescribeOrganizationsAccess": (
                "ActivateOrganizationsAccess checks the state it changes"
            ),
        },
    ),
    "security_services": (
        "SecurityTooling-eu-west-1",
        "nwl-security-services-eu-west-1",
        {
            **OWN,
            "iam:CreateServiceLinkedRole": "the services create their service-linked roles",
            "organizations:DescribeOrganization": "the services read the organisation",
            "organizations:ListDelegatedAdministrators": "the services check their administrator",
        },
    ),
    "network_hub": ("Network-eu-west-1", "nwl-hub-eu-west-1-network-hub", dict(OWN)),
    # its calls in member accounts go through their remediation role (test_member_baseline)
    "remediation": (
        "SecurityTooling-eu-west-1",
        "nwl-remediator",
        {
            **OWN,
            **{
                f"organizations:{op}": (
                    "the account's OU path is read by containment.ou_path, the module it "
                    "shares with the containment function (whose coverage reads those calls)"
                )
                for op in ("DescribeOrganizationalUnit", "ListParents")
            },
            "sts:AssumeRole": (
                "the remediation role is assumed by containment.role_clients, shared with the "
                "containment function (whose coverage reads that call)"
            ),
        },
    ),
    # its calls in member accounts go through the responder role (tests/test_contain.py)
    "containment": (
        "SecurityTooling-eu-central-1",
        "nwl-containment-eu-central-1",
        {
            **OWN,
            "s3:PutObjectTagging": (
                "evidence is put with the case tag (Tagging), which S3 authorises as "
                "PutObjectTagging too"
            ),
        },
    ),
    "identity_center": (
        "IdentityCenter",
        "nwl-identity-center-lookups",
        dict(OWN),
    ),
    "account_settings": (
        "MemberBaseline",
        "nwl-account-settings-",
        {
            **OWN,
            "iam:PassRole": (
                "turning on default host management passes its instance role to Systems "
                "Manager (UpdateServiceSetting checks it)"
            ),
        },
    ),
}


def _service_of(node: ast.AST, env: dict[str, set[str]]) -> set[str]:
    """The services a client expression stands for: ``client("ec2")``, ``boto3.client("iam")``,
    or a name bound to one."""
    if isinstance(node, ast.Call):
        func = node.func
        named = (isinstance(func, ast.Name) and func.id in ("client", "_boto3_client")) or (
            isinstance(func, ast.Attribute)
            and func.attr == "client"
            and isinstance(func.value, ast.Name)
            and func.value.id == "boto3"
        )
        if named and node.args and isinstance(node.args[0], ast.Constant):
            return {str(node.args[0].value)}
    if isinstance(node, ast.Name):
        return env.get(node.id, set())
    return set()


def _bind_once(
    functions: dict[str, ast.FunctionDef], bindings: dict[str, dict[str, set[str]]]
) -> bool:
    """One pass of following clients through assignments and arguments; True if it learnt."""
    changed = False
    for name, function in functions.items():
        env = bindings[name]
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, services = node.targets[0], _service_of(node.value, env)
                if isinstance(target, ast.Name) and services - env.get(target.id, set()):
                    env.setdefault(target.id, set()).update(services)
                    changed = True
            callee = (
                functions.get(node.func.id)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                else None
            )
            if callee is None:
                continue
            for index, argument in enumerate(node.args[: len(callee.args.args)]):
                services = _service_of(argument, env)
                param = bindings[callee.name].setdefault(callee.args.args[index].arg, set())
                if services - param:
                    param.update(services)
                    changed = True
    return changed


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def boto3_calls(module: str) -> set[tuple[str, str]]:
    """(service, method) of every client call the handler's source makes, or hands to a
    helper that makes it (``_patiently(organizations.move_account, ...)``)."""
    tree = ast.parse((HANDLERS / f"{module}.py").read_text(encoding="utf-8"))
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
    bindings: dict[str, dict[str, set[str]]] = {name: {} for name in functions}
    while _bind_once(functions, bindings):
        pass
    calls = set()
    for name, function in functions.items():
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute):  # client.op(...), or client.op handed on
                for service in _service_of(node.value, bindings[name]):
                    calls.add((service, node.attr))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                for service in _service_of(node.func.value, bindings[name]):
                    # client.get_paginator("list_accounts") makes the list_accounts calls
                    paginated = node.args[0] if node.args else None
                    if node.func.attr == "get_paginator" and isinstance(paginated, ast.Constant):
                        calls.add((service, str(paginated.value)))
    return calls


@cache
def _operations(service: str) -> dict[str, str]:
    model = _session().get_service_model(service)
    return {botocore.xform_name(op): op for op in model.operation_names}


def required_actions(module: str) -> set[str]:
    """The IAM actions of the handler's calls."""
    calls = boto3_calls(module)
    if module == "organization_settings":  # the designation calls come from a table
        for service, (
            list_call,
            _,
            _,
            enable_call,
            _,
        ) in organization_settings.SERVICE_ADMIN_CALLS.items():
            calls |= {(service, list_call), (service, enable_call)}
    actions = set()
    for service, method in calls:
        operations = _operations(service)
        if method not in operations:
            continue  # not an API call (exceptions, paginators' helpers)
        operation = operations[method]
        prefix = {"s3control": "s3"}.get(service, service)
        actions.add(API_TO_ACTION.get((service, operation), f"{prefix}:{operation}"))
    return actions


#: Calls a handler makes only for a resource that the stack named in ``FUNCTIONS`` does not
#: have, so its function is not granted them there: action -> that resource's type. The
#: function of a stack with the resource must grant them (``test_..._where_it_makes_...``).
ELSEWHERE: dict[str, dict[str, str]] = {
    "security_services": {
        f"securityhub:{op}FindingAggregator{s}": "Custom::FindingAggregator"
        for op, s in (("Create", ""), ("List", "s"), ("Update", ""))
    },
}


#: Calls a function makes only under a setting the example does not choose, and which its
#: role is granted only then (held by the test below).
ONLY_WITH: dict[str, dict[str, str]] = {
    "account_settings": {
        f"ec2:{action}": "member_baseline.default_vpcs: delete"
        for action in (
            "DeleteInternetGateway",
            "DeleteSubnet",
            "DeleteVpc",
            "DetachInternetGateway",
        )
    },
}


def _policy(synthesized: Synthesized, stack: str, name: str) -> dict[str, Any]:
    return _policy_in(synthesized.templates[stack], stack, name)


def _policy_in(template: dict[str, Any], stack: str, name: str) -> dict[str, Any]:
    if stack == "MemberBaseline":  # the member template, inside the StackSet
        (stack_set,) = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::CloudFormation::StackSet"
        ]
        template = json.loads(stack_set["Properties"]["TemplateBody"])
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and name in json.dumps(r["Properties"].get("ManagedPolicyName"))
    ]
    return dict(policy)


def _granted(policy: dict[str, Any]) -> set[str]:
    granted = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        granted |= set(actions if isinstance(actions, list) else [actions])
    return granted


def _allows(granted: set[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), g.lower()) for g in granted)


def test_the_call_reader_follows_clients_through_names_and_arguments() -> None:
    calls = boto3_calls("network_hub")
    assert ("ec2", "modify_transit_gateway") in calls  # client("ec2") -> set_defaults(client)
    assert ("route53resolver", "list_firewall_domain_lists") in calls
    assert ("ec2", "list_firewall_domain_lists") not in calls
    settings = boto3_calls("account_settings")
    assert ("s3control", "put_public_access_block") in settings  # boto3.client(...).op()
    assert ("ec2", "enable_ebs_encryption_by_default") in settings  # ec2 = ...; f(p, ec2)
    organization = boto3_calls("organization_settings")
    assert ("organizations", "move_account") in organization  # _patiently(client.op, ...)
    lookups = boto3_calls("identity_center")
    assert ("organizations", "list_accounts") in lookups  # get_paginator("list_accounts")
    assert ("identitystore", "get_group_id") in lookups


@pytest.mark.parametrize("module", sorted(FUNCTIONS))
def test_every_call_maps_to_a_real_iam_action(module: str) -> None:
    actions = required_actions(module)
    assert actions, module
    assert sorted(a for a in actions if not action_exists(a)) == []


def coverage_problems(
    module: str, policy: dict[str, Any], elsewhere: bool = True
) -> tuple[list[str], list[str]]:
    """(calls the policy does not grant, grants no call needs and no reason explains);
    with ``elsewhere``, leaving out the calls for resources of other stacks (``ELSEWHERE``)."""
    extra = FUNCTIONS[module][2]
    granted = _granted(policy)
    required = required_actions(module)
    if elsewhere:
        required -= set(ELSEWHERE.get(module, {})) | set(ONLY_WITH.get(module, {}))
    missing = sorted(a for a in required if not _allows(granted, a))
    unexplained = sorted(
        g for g in granted if not any(_allows({g}, r) for r in required) and g not in extra
    )
    return missing, unexplained


@pytest.mark.parametrize("module", sorted(FUNCTIONS))
def test_the_functions_role_grants_exactly_what_its_code_calls(
    module: str, synthesized: Synthesized
) -> None:
    stack, name, _ = FUNCTIONS[module]
    assert coverage_problems(module, _policy(synthesized, stack, name)) == ([], [])


def test_the_default_vpcs_are_deletable_only_where_the_config_deletes_them(
    synthesized: Synthesized,
) -> None:
    """The example closes the default VPCs' groups and grants no delete; with
    default_vpcs: delete the role grants every call of the code, the deletes included."""
    import dataclasses

    import aws_cdk as cdk
    from aws_cdk import assertions

    from baseline.stacks.member_baseline import MemberBaselineSettings, MemberBaselineStack

    stack, name, _ = FUNCTIONS["account_settings"]
    closing = _granted(_policy(synthesized, stack, name))
    assert not [a for a in ONLY_WITH["account_settings"] if _allows(closing, a)]
    settings = MemberBaselineSettings.from_config(synthesized.config)
    deleting = MemberBaselineStack(
        cdk.App(), "Deleting", settings=dataclasses.replace(settings, default_vpcs="delete")
    )
    template = assertions.Template.from_stack(deleting).to_json()
    policy = _policy_in(template, "Deleting", name)
    assert coverage_problems("account_settings", policy, elsewhere=False) == ([], [])


def test_calls_for_another_stacks_resource_are_granted_where_it_is(
    synthesized: Synthesized,
) -> None:
    """The example's stack lacks each resource ``ELSEWHERE`` names, and a stack of the same
    function that has it grants every call of the code, those included."""
    import dataclasses

    import aws_cdk as cdk

    from baseline.stacks.security_tooling import SecurityToolingSettings, SecurityToolingStack

    for module, calls in ELSEWHERE.items():
        stack, _, _ = FUNCTIONS[module]
        types = {r["Type"] for r in synthesized.templates[stack]["Resources"].values()}
        assert not types & set(calls.values()), module
        assert set(calls) <= required_actions(module), module
    # the one stack that has them: the home region of an organisation of one region
    stack, name, _ = FUNCTIONS["security_services"]
    settings = SecurityToolingSettings.from_config(synthesized.config)
    home = settings.home_region
    alone = SecurityToolingStack(
        cdk.App(),
        stack,
        settings=dataclasses.replace(settings, governed_regions=(home,)),
        env=cdk.Environment(account=settings.audit_account_id, region=home),
    )
    template = cdk.assertions.Template.from_stack(alone).to_json()
    assert "Custom::FindingAggregator" in {r["Type"] for r in template["Resources"].values()}
    policy = _policy_in(template, stack, name)
    assert coverage_problems("security_services", policy, elsewhere=False) == ([], [])
    # and the example's home stack, which has CloudFormation's aggregator, grants none
    assert not {a for a in _granted(_policy(synthesized, stack, name)) if "Aggregator" in a}


def test_fails_when_a_call_is_not_granted_or_a_grant_is_unexplained(
    synthesized: Synthesized,
) -> None:
    import copy

    stack, name, _ = FUNCTIONS["organization_settings"]
    policy = copy.deepcopy(_policy(synthesized, stack, name))
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        statement["Action"] = [a for a in actions if a != "organizations:MoveAccount"]
    policy["Statement"].append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert coverage_problems("organization_settings", policy) == (
        ["organizations:MoveAccount"],
        ["s3:GetObject"],
    )
