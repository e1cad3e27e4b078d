"""The default catalogue of IAM Identity Center permission sets a config can use by name.

No CDK and no pydantic here: the config validates names against it, the identity stacks
build from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PermissionSetSpec:
    """One permission set: what Identity Center creates."""

    name: str
    description: str
    session_hours: int = 1
    managed_policies: tuple[str, ...] = ()
    #: customer-managed policies by name (``name`` or ``path/name``), in every assigned account
    customer_managed_policies: tuple[str, ...] = ()
    #: an inline policy document (JSON text)
    inline_policy: str | None = None
    #: ``workload``: the landing zone's workload boundary; or a customer-managed policy name
    permissions_boundary: str | None = None
    #: the config's own set, not one of the catalogue
    custom: bool = field(default=False, compare=False)


#: Administrator for one hour, PowerUser bounded by the workload boundary, read-only,
#: security audit (the security team on every account) and billing.
CATALOGUE: dict[str, PermissionSetSpec] = {
    spec.name: spec
    for spec in (
        PermissionSetSpec(
            "Administrator",
            "Full administration of an account, for one hour at a time",
            session_hours=1,
            managed_policies=("arn:aws:iam::aws:policy/AdministratorAccess",),
        ),
        PermissionSetSpec(
            "PowerUser",
            "Builds and runs workloads; every role it makes carries the workload boundary",
            session_hours=4,
            managed_policies=("arn:aws:iam::aws:policy/PowerUserAccess",),
            permissions_boundary="workload",
        ),
        PermissionSetSpec(
            "ReadOnly",
            "Reads configuration and metadata of an account",
            session_hours=8,
            managed_policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
        ),
        PermissionSetSpec(
            "SecurityAudit",
            "The security team's read access to security configuration, on every account",
            session_hours=8,
            managed_policies=("arn:aws:iam::aws:policy/SecurityAudit",),
        ),
        PermissionSetSpec(
            "Billing",
            "Billing and cost management",
            session_hours=4,
            managed_policies=("arn:aws:iam::aws:policy/job-function/Billing",),
        ),
    )
}
