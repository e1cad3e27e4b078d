"""The Guard policy of the AWS Config rule that finds look-alikes of the exempt roles.

The guardrails exempt the baseline's roles by name (``naming.baseline_principal_arns``),
and from the moment they are attached nobody else may create a role with such a name. A
role that already had one (in an invited account, or made before the guardrails) would
be exempt for ever. This rule reports it: each reserved name is held only by the role
the kit or AWS makes, in the accounts where that role lives, with the trust that role
has. The rule reads AWS Config's configuration item of every IAM role, whose
``assumeRolePolicyDocument`` is the URL-encoded trust policy.

No CDK here: a leaf module, tested by running the policy with cfn-guard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from baseline import naming

#: What a trust policy must not name, URL-encoded: an account root, a user, or anyone.
_FOREIGN_TRUST = r"%3Aroot|%3Auser%2F|%22%2A%22"


def _names(pattern: str) -> str:
    """A Guard regular expression over role names for a ``*`` name pattern."""
    return "/^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$/"


def _accounts(ids: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in sorted(set(ids))) + "]"


def reserved_role_policy(
    *,
    prefix: str,
    management_account_id: str,
    core_account_ids: Sequence[str],
    audit_account_id: str,
    network_account_id: str,
) -> str:
    """The Guard 2 policy text: one rule per reserved name, PASS for the real role, FAIL
    for a look-alike, SKIP for every other role."""
    settings = f"{naming.account_settings_function(prefix)}-*"
    services = f"{naming.security_services_function(prefix)}-*"
    hub = f"{naming.network_hub_name_pattern(prefix)}-network-hub"
    break_glass = naming.break_glass_role(prefix)
    cdk_roles = f"cdk-{naming.CDK_QUALIFIER}-*"
    rules = [
        'rule is_role { resourceType == "AWS::IAM::Role" }',
        # made by StackSets, assumed by the StackSets service-linked role of the
        # management account (or the delegated administrator), nothing else
        _rule(
            "stackset_execution_role",
            "stacksets-exec-*",
            [
                "configuration.assumeRolePolicyDocument == "
                "/AWSServiceRoleForCloudFormationStackSetsOrgAdmin/",
                f"configuration.assumeRolePolicyDocument != /{_FOREIGN_TRUST}/",
            ],
        ),
        # made by `cdk bootstrap --qualifier lzbaseline` in the core accounts only
        _rule(
            "landing_zone_bootstrap_roles",
            cdk_roles,
            [f"awsAccountId IN {_accounts([management_account_id, *core_account_ids])}"],
        ),
        _rule(
            "account_settings_function_role",
            settings,
            [
                "configuration.assumeRolePolicyDocument == /lambda\\.amazonaws\\.com/",
                f"configuration.assumeRolePolicyDocument != /{_FOREIGN_TRUST}/",
            ],
        ),
        _rule(
            "security_services_function_role",
            services,
            [f'awsAccountId == "{audit_account_id}"'],
        ),
        _rule("network_hub_function_role", hub, [f'awsAccountId == "{network_account_id}"']),
        # trusts named users of the management account, with MFA
        _rule(
            "break_glass_role",
            break_glass,
            [
                f"configuration.assumeRolePolicyDocument == /{management_account_id}/",
                "configuration.assumeRolePolicyDocument == /MultiFactorAuthPresent/",
            ],
        ),
    ]
    return "\n\n".join(rules) + "\n"


def _rule(name: str, pattern: str, checks: Sequence[str]) -> str:
    body = "\n".join(f"    {check}" for check in checks)
    return (
        f"rule {name} when is_role\n    configuration.roleName == {_names(pattern)} {{\n{body}\n}}"
    )
