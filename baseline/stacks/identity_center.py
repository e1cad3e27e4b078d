"""IAM Identity Center: permission sets and their assignments, from the config.

People sign in once, through Identity Center, and get short-lived, least-privilege
sessions in exactly the accounts their groups are assigned to (SEC02-BP04, SEC03-BP01,
SEC03-BP02). The ``IdentityCenter`` stack holds the permission sets (and attribute-based
access control); the assignments, one CloudFormation resource per account x principal x
permission set, live in ``identity_center.assignment_stacks`` stacks, each account's in one
stack chosen by a stable hash of its name.

Both deploy in the management account, in Identity Center's region: permission sets
assigned to the management account can only be managed from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sso as sso
from constructs import Construct

from baseline import naming
from baseline.config import AccountRole, LandingZoneConfig, is_group_id
from baseline.constructs.baseline_function import BaselineFunction, handler_code
from baseline.permission_sets import CATALOGUE, PermissionSetSpec

#: Assignments created at once per stack: Identity Center throttles account-assignment
#: creation, so each stack makes them in this many chains.
ASSIGNMENT_LANES = 4


@dataclass(frozen=True, order=True)
class AssignmentSpec:
    """One assignment: a principal gets a permission set in one account."""

    account_name: str
    #: none for an account the Accounts stacks create (its id comes from them)
    account_id: str | None
    permission_set: str
    principal_type: str  # GROUP or USER
    #: an identity-store id, or for a group its display name (looked up at deploy time)
    principal_id: str

    @property
    def construct_id(self) -> str:
        """Stable, from what the assignment is (a contract: a new id replaces it)."""
        kind = "G" if self.principal_type == "GROUP" else "U"
        return naming.logical_id(
            f"{self.account_name}-{self.permission_set}-{kind}-{self.principal_id}"
        )


@dataclass(frozen=True)
class IdentityCenterSettings:
    """What the Identity Center stacks need, derived once from the config."""

    prefix: str
    instance_arn: str
    identity_store_id: str
    region: str
    management_account_id: str
    permission_sets: tuple[PermissionSetSpec, ...]
    access_control_attributes: tuple[tuple[str, str], ...]
    #: assignment stack index -> its assignments
    shards: tuple[tuple[int, tuple[AssignmentSpec, ...]], ...]
    #: accounts the kit creates, which an assignment reaches
    new_accounts: tuple[str, ...]

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> IdentityCenterSettings:
        center = config.identity_center
        assert center is not None
        custom = {
            p.name: PermissionSetSpec(
                name=p.name,
                description=p.description or f"The {p.name} permission set",
                session_hours=p.session_hours,
                managed_policies=tuple(p.managed_policies),
                customer_managed_policies=tuple(p.customer_managed_policies),
                inline_policy=config.inline_policy(p),
                permissions_boundary=p.permissions_boundary,
                custom=True,
            )
            for p in center.permission_sets
        }
        available = {**CATALOGUE, **custom}
        used = {a.permission_set for a in center.assignments}
        sets = tuple(available[name] for name in sorted(used | set(custom)))
        assignments: set[AssignmentSpec] = set()
        new: set[str] = set()
        for assignment in center.assignments:
            for account in config.assignment_targets(assignment):
                if account.id is None:
                    new.add(account.name)
                for kind, ids in (("GROUP", assignment.groups), ("USER", assignment.users)):
                    assignments |= {
                        AssignmentSpec(account.name, account.id, assignment.permission_set, kind, i)
                        for i in ids
                    }
        stacks = center.assignment_stacks
        shards: dict[int, list[AssignmentSpec]] = {}
        for spec in sorted(assignments, key=lambda a: a.construct_id):
            shards.setdefault(naming.account_stack_index(spec.account_name, stacks), []).append(
                spec
            )
        return cls(
            prefix=config.organization.prefix,
            instance_arn=center.instance_arn,
            identity_store_id=center.identity_store_id,
            region=center.region or config.home_region,
            management_account_id=config.account_id_for(AccountRole.MANAGEMENT),
            permission_sets=sets,
            access_control_attributes=tuple(sorted(center.access_control_attributes.items())),
            shards=tuple((index, tuple(specs)) for index, specs in sorted(shards.items())),
            new_accounts=tuple(sorted(new)),
        )


class IdentityCenterStack(cdk.Stack):
    """The permission sets, and the attributes sessions carry for attribute-based access."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: IdentityCenterSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.permission_sets: dict[str, sso.CfnPermissionSet] = {}
        for spec in settings.permission_sets:
            self.permission_sets[spec.name] = self._permission_set(spec)
        if settings.access_control_attributes:
            sso.CfnInstanceAccessControlAttributeConfiguration(
                self,
                "AccessControlAttributes",
                instance_arn=settings.instance_arn,
                access_control_attributes=[
                    sso.CfnInstanceAccessControlAttributeConfiguration.AccessControlAttributeProperty(
                        key=key,
                        value=sso.CfnInstanceAccessControlAttributeConfiguration.AccessControlAttributeValueProperty(
                            source=[source]
                        ),
                    )
                    for key, source in settings.access_control_attributes
                ],
            )

    def _permission_set(self, spec: PermissionSetSpec) -> sso.CfnPermissionSet:
        boundary = None
        if spec.permissions_boundary is not None:
            name = (
                naming.workload_boundary(self.settings.prefix)
                if spec.permissions_boundary == "workload"
                else spec.permissions_boundary
            )
            boundary = sso.CfnPermissionSet.PermissionsBoundaryProperty(
                customer_managed_policy_reference=_reference(name)
            )
        return sso.CfnPermissionSet(
            self,
            naming.logical_id(f"PermissionSet-{spec.name}"),
            instance_arn=self.settings.instance_arn,
            name=spec.name,
            description=spec.description,
            session_duration=f"PT{spec.session_hours}H",
            managed_policies=list(spec.managed_policies) or None,
            customer_managed_policy_references=[
                _reference(name) for name in spec.customer_managed_policies
            ]
            or None,
            inline_policy=json.loads(spec.inline_policy) if spec.inline_policy else None,
            permissions_boundary=boundary,
        )


def _reference(name: str) -> sso.CfnPermissionSet.CustomerManagedPolicyReferenceProperty:
    """A customer-managed policy by ``name`` or ``path/name``."""
    path, _, base = name.rpartition("/")
    return sso.CfnPermissionSet.CustomerManagedPolicyReferenceProperty(
        name=base, path=f"/{path.strip('/')}/" if path else None
    )


class IdentityAssignmentsStack(cdk.Stack):
    """One shard of the assignments, created a few at a time."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: IdentityCenterSettings,
        assignments: tuple[AssignmentSpec, ...],
        permission_set_arns: dict[str, str],
        new_account_ids: dict[str, str],
        **kwargs: Any,
    ) -> None:
        """:param new_account_ids: account name -> id (a reference to the Accounts stack
        that creates it) for the accounts without an id in the config."""
        super().__init__(scope, construct_id, **kwargs)
        group_ids = self._group_ids(settings, assignments)
        made: list[sso.CfnAssignment] = []
        for spec in assignments:
            assignment = sso.CfnAssignment(
                self,
                spec.construct_id,
                instance_arn=settings.instance_arn,
                permission_set_arn=permission_set_arns[spec.permission_set],
                principal_type=spec.principal_type,
                principal_id=group_ids.get(spec.principal_id, spec.principal_id)
                if spec.principal_type == "GROUP"
                else spec.principal_id,
                target_type="AWS_ACCOUNT",
                target_id=spec.account_id or new_account_ids[spec.account_name],
            )
            # a few chains instead of all at once: Identity Center throttles creations
            if len(made) >= ASSIGNMENT_LANES:
                assignment.add_dependency(made[-ASSIGNMENT_LANES])
            made.append(assignment)
        self.assignments = made

    def _group_ids(
        self, settings: IdentityCenterSettings, assignments: tuple[AssignmentSpec, ...]
    ) -> dict[str, str]:
        """Display name -> the group's id, looked up once for the whole stack."""
        names = sorted(
            {
                a.principal_id
                for a in assignments
                if a.principal_type == "GROUP" and not is_group_id(a.principal_id)
            }
        )
        if not names:
            return {}
        stack = cdk.Stack.of(self)
        store = settings.identity_store_id
        self.group_lookup = BaselineFunction(
            self,
            "GroupLookup",
            function_name=f"{stack.stack_name}-groups",
            description="Finds the ids of the Identity Center groups the config names",
            code=handler_code("identity_center"),
            handler="identity_center.handler",
            log_group_name=f"/{settings.prefix}/{stack.stack_name}-groups",
            statements=[
                iam.PolicyStatement(
                    sid="FindTheGroupsByName",
                    actions=["identitystore:GetGroupId"],
                    resources=[
                        f"arn:{stack.partition}:identitystore::{stack.account}:identitystore/{store}",
                        f"arn:{stack.partition}:identitystore:::group/*",
                    ],
                )
            ],
            wildcard_reasons={
                "Resource::arn:aws:identitystore:::group/*": (
                    "the groups are found by display name, so their ids are not known "
                    "before the call; the identity store itself is named"
                )
            },
            timeout=cdk.Duration.minutes(2),
            policy_path=naming.baseline_policy_path(settings.prefix),
        )
        lookup = cdk.CustomResource(
            self,
            "Groups",
            service_token=self.group_lookup.function.function_arn,
            resource_type="Custom::IdentityStoreGroups",
            properties={"IdentityStoreId": store, "Names": names},
        )
        return {name: lookup.get_att_string(f"Group{i}") for i, name in enumerate(names)}
