"""PermissionsBoundary: the workload boundary on every role and user of a workload app."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from baseline import naming


class PermissionsBoundary(Construct):
    """Applies the account's workload permissions boundary to every role and user in the
    scope it is created in (SEC03-BP02, SEC03-BP05).

    The member baseline creates ``<prefix>-workload-boundary`` in every account, and in the
    workload OUs the guardrail SCP-PERMISSIONS-BOUNDARY refuses a role without it. This
    uses the CDK's own mechanism (``iam.PermissionsBoundary.of(scope).apply(...)``), so
    roles made by constructs deep inside the scope get it too.

    Example::

        app = cdk.App()
        stack = cdk.Stack(app, "Orders", env=env)
        PermissionsBoundary(stack, "Boundary", prefix="acme")  # before or after the roles
    """

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        """Reference the boundary and apply it to the scope.

        :param prefix: the landing zone's prefix (``organization.prefix`` of its config),
            which names the boundary policy.
        """
        super().__init__(scope, construct_id)
        problem = None if cdk.Token.is_unresolved(prefix) else naming.prefix_problem(prefix)
        if problem:
            raise ValueError(f"PermissionsBoundary: prefix {problem}")
        self.policy_name = naming.workload_boundary(prefix)
        self.policy = iam.ManagedPolicy.from_managed_policy_name(self, "Policy", self.policy_name)
        iam.PermissionsBoundary.of(scope).apply(self.policy)
