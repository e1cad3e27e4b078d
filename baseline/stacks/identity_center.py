"""IAM Identity Center: permission sets and their assignments, from the config.

People sign in once, through Identity Center, and get short-lived, least-privilege
sessions in exactly the accounts their groups are assigned to (SEC02-BP04, SEC03-BP01,
SEC03-BP02). An ``IdentityCenter`` stack holds the permission sets (and attribute-based
access control); the assignments, one CloudFormation resource per account x principal x
permission set, live in nested stacks of ``IdentityAssignments<NN>`` stacks, as
:mod:`baseline.assignments` plans them.

Everything deploys in Identity Center's region. Permission sets given on the management
account are managed from there (only the management account can); with
``identity_center.delegated_administrator``, every other set is managed from that
account (``IdentityCenterDelegated`` and ``IdentityAssignmentsDelegated<NN>``).

The assignment templates are written as plain JSON, not built from constructs: an
organisation of 2,000 accounts has tens of thousands of assignments, and a construct for
each would cost about a millisecond apiece of synth. Each shard's template is a file asset
of its stack, deployed as an ``AWS::CloudFormation::Stack``; its parameters carry the
permission-set ARNs (cross-stack references the CDK makes) and the ids of groups given by
name and of accounts the kit creates, which one ``Custom::AssignmentLookups`` per stack
finds at deploy time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudformation as cloudformation
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sso as sso
from constructs import Construct

from baseline import naming
from baseline.assembly import TEMPLATE_FILE_METADATA
from baseline.assignments import LANES, Shard, Side, plan, shard_parameter
from baseline.config import AccountRole, LandingZoneConfig
from baseline.constructs.baseline_function import (
    HANDLER_DIGEST,
    BaselineFunction,
    answer_within,
    handler_code,
    handler_digest,
)
from baseline.permission_sets import CATALOGUE, PermissionSetSpec

#: How long the lookup function may run (a few lookups, paginated).
LOOKUP_TIMEOUT = cdk.Duration.minutes(5)


@dataclass(frozen=True)
class IdentityCenterSettings:
    """What one side's Identity Center stacks need, derived once from the config."""

    prefix: str
    instance_arn: str
    identity_store_id: str
    region: str
    #: the instance's customer-managed key, if it has one
    kms_key_arn: str | None
    #: Side.MANAGEMENT or Side.DELEGATED
    side: str
    #: the account the side's stacks deploy in
    account_id: str
    #: the management account, which owns the instance and its identity store
    management_account_id: str
    permission_sets: tuple[PermissionSetSpec, ...]
    #: attribute-based access control (instance-wide: the management side holds it)
    access_control_attributes: tuple[tuple[str, str], ...]
    #: top-level assignment stack index -> its shards
    stacks: tuple[tuple[int, tuple[Shard, ...]], ...]
    #: account name -> e-mail, of the accounts the kit creates that this side assigns
    new_account_emails: dict[str, str]

    @classmethod
    def for_each_side(cls, config: LandingZoneConfig) -> list[IdentityCenterSettings]:
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
        emails = {a.name: a.email for a in config.accounts}
        found = []
        for side in plan(config):
            account = config.account_by_name(side.account_name)
            assert account is not None and account.id is not None  # the config rules
            found.append(
                cls(
                    prefix=config.organization.prefix,
                    instance_arn=center.instance_arn,
                    identity_store_id=center.identity_store_id,
                    region=center.region or config.home_region,
                    kms_key_arn=center.kms_key_arn,
                    side=side.side,
                    account_id=account.id,
                    management_account_id=config.account_id_for(AccountRole.MANAGEMENT),
                    permission_sets=tuple(available[name] for name in side.permission_sets),
                    access_control_attributes=(
                        tuple(sorted(center.access_control_attributes.items()))
                        if side.side == Side.MANAGEMENT
                        else ()
                    ),
                    stacks=tuple(side.stacks().items()),
                    new_account_emails={
                        name: emails[name] for shard in side.shards for name in shard.new_accounts
                    },
                )
            )
        return found


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
        previous: sso.CfnPermissionSet | None = None
        for spec in settings.permission_sets:
            permission_set = self._permission_set(spec)
            # one at a time: an update re-provisions the set in every account it is
            # assigned in, and Identity Center refuses a second provisioning there meanwhile
            if previous is not None:
                permission_set.node.add_dependency(previous)
            self.permission_sets[spec.name] = previous = permission_set
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
        self.lookup_function: BaselineFunction | None = None
        groups = any(shard.group_names for _, shards in settings.stacks for shard in shards)
        if groups or settings.new_account_emails:
            self.lookup_function = self._lookup_function(groups, bool(settings.new_account_emails))
        if not any(isinstance(c, cdk.CfnResource) for c in self.node.find_all()):
            # a side with nothing of its own (CloudFormation takes no template without a
            # resource): kept so that a deploy deletes what it held
            cdk.CfnWaitConditionHandle(self, "NoPermissionSets")

    def _lookup_function(self, groups: bool, accounts: bool) -> BaselineFunction:
        """The function every assignment stack of this side looks groups and new accounts
        up with (``Custom::AssignmentLookups``)."""
        settings = self.settings
        store = settings.identity_store_id
        statements = []
        reasons = {}
        # the store belongs to the management account, on either side
        store_arn = (
            f"arn:{self.partition}:identitystore::{settings.management_account_id}"
            f":identitystore/{store}"
        )
        if groups:
            statements.append(
                iam.PolicyStatement(
                    sid="FindTheGroupsByName",
                    actions=["identitystore:GetGroupId"],
                    resources=[store_arn, f"arn:{self.partition}:identitystore:::group/*"],
                )
            )
            reasons["Resource::arn:aws:identitystore:::group/*"] = (
                "the groups are found by display name, so their ids are not known before "
                "the call; the identity store itself is named"
            )
            if settings.kms_key_arn is not None:
                # an instance under a customer-managed key: GetGroupId decrypts through it
                statements.append(
                    iam.PolicyStatement(
                        sid="DecryptTheIdentityStore",
                        actions=["kms:Decrypt"],
                        resources=[settings.kms_key_arn],
                        conditions={
                            "StringEquals": {
                                "kms:ViaService": f"identitystore.{settings.region}.amazonaws.com"
                            },
                            "ArnLike": {
                                "kms:EncryptionContext:aws:identitystore:identitystore-arn": (
                                    store_arn
                                )
                            },
                        },
                    )
                )
        if accounts:
            statements.append(
                iam.PolicyStatement(
                    sid="FindTheNewAccountsByEmail",
                    actions=["organizations:ListAccounts"],
                    resources=["*"],
                )
            )
            reasons["Resource::*"] = (
                "X-Ray and organizations:ListAccounts accept no resource-level permissions"
            )
        name = naming.identity_lookup_function(settings.prefix)
        return BaselineFunction(
            self,
            "Lookup",
            function_name=name,
            description="Finds the ids of the groups and new accounts the assignments name",
            code=handler_code("identity_center"),
            handler="identity_center.handler",
            log_group_name=f"/{settings.prefix}/{name}",
            statements=statements,
            wildcard_reasons=reasons,
            timeout=LOOKUP_TIMEOUT,
            policy_path=naming.baseline_policy_path(settings.prefix),
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
            naming.permission_set_logical_id(spec.name),
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
    """Up to ten shards of assignments, each a nested stack, deployed one after the other."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: IdentityCenterSettings,
        shards: tuple[Shard, ...],
        permission_set_arns: dict[str, str],
        lookup_function_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        """:param lookup_function_arn: the side's lookup function (in its IdentityCenter
        stack), when a shard names a group by name or assigns a new account."""
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.shards = shards
        group_ids, account_ids = self._lookups(
            settings,
            lookup_function_arn,
            sorted({n for s in shards for n in s.group_names}),
            sorted({n for s in shards for n in s.new_accounts}),
        )
        outdir = Path(cdk.Stage.of(self).outdir)  # type: ignore[union-attr]
        # read once: each read is a call into the CDK, and a stack holds many shards
        artifact_id, synthesizer = self.artifact_id, self.synthesizer
        previous: cloudformation.CfnStack | None = None
        self.shard_stacks: list[cloudformation.CfnStack] = []
        if not shards:  # a template needs a resource: the stack stays, its shards go
            cdk.CfnWaitConditionHandle(self, "NoAssignments")
        for shard in shards:
            body = json.dumps(shard_template(settings, shard), separators=(",", ":"))
            digest = hashlib.sha256(body.encode()).hexdigest()
            file_name = f"{artifact_id}.shard-{shard.index:03d}.{digest[:12]}.json"
            (outdir / file_name).write_text(body, encoding="utf-8")
            location = synthesizer.add_file_asset(
                file_name=file_name,
                packaging=cdk.FileAssetPackaging.FILE,
                source_hash=digest,
            )
            parameters = {
                **{
                    shard_parameter("PermissionSet", name): permission_set_arns[name]
                    for name in shard.permission_sets
                },
                **{shard_parameter("Group", name): group_ids[name] for name in shard.group_names},
                **{
                    shard_parameter("Account", name): account_ids[name]
                    for name in shard.new_accounts
                },
            }
            # references to the lookups are written out (see _lookups), which the
            # property's type (strings) does not take: the same value as an override
            written_out = any(isinstance(v, dict) for v in parameters.values())
            nested = cloudformation.CfnStack(
                self,
                f"Shard{shard.index:03d}",
                template_url=location.http_url,
                parameters=None if written_out else parameters or None,
            )
            if written_out:
                nested.add_property_override("Parameters", parameters)
            nested.add_metadata(TEMPLATE_FILE_METADATA, file_name)
            # one shard at a time: at most LANES creations in flight per stack
            if previous is not None:
                nested.add_resource_dependency(previous)
            self.shard_stacks.append(previous := nested)

    def _lookups(
        self,
        settings: IdentityCenterSettings,
        lookup_function_arn: str | None,
        names: list[str],
        new_accounts: list[str],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Group display name -> id, and new account name -> id, looked up once for the
        whole stack at deploy time.

        Each is a reference to an attribute of the lookup, written out
        (``{"Fn::GetAtt": [lookup, "Group0"]}``) with the lookup's logical id asked of the
        CDK once: at 2,000 accounts a reference asked of the CDK for each of the 667 new
        accounts was a call into node each."""
        if not names and not new_accounts:
            return {}, {}
        assert lookup_function_arn is not None  # the side's IdentityCenter stack made it
        properties: dict[str, Any] = {
            HANDLER_DIGEST: handler_digest("identity_center"),
            "IdentityStoreId": settings.identity_store_id,
        }
        if names:
            properties["Names"] = names
        if new_accounts:
            properties["AccountEmails"] = [settings.new_account_emails[n] for n in new_accounts]
        lookup = cdk.CustomResource(
            self,
            "Lookups",
            service_token=lookup_function_arn,
            resource_type="Custom::AssignmentLookups",
            service_timeout=answer_within(LOOKUP_TIMEOUT),
            properties=properties,
        )
        resource = lookup.node.default_child
        assert isinstance(resource, cdk.CfnResource)
        logical_id = self.resolve(resource.logical_id)
        return (
            {name: {"Fn::GetAtt": [logical_id, f"Group{i}"]} for i, name in enumerate(names)},
            {
                name: {"Fn::GetAtt": [logical_id, f"Account{i}"]}
                for i, name in enumerate(new_accounts)
            },
        )


def shard_template(settings: IdentityCenterSettings, shard: Shard) -> dict[str, Any]:
    """The CloudFormation template of one shard: its assignments, in :data:`LANES`
    chains (each account's in one), with a parameter for each value another stack makes."""
    parameters: dict[str, Any] = {}
    for name in shard.permission_sets:
        parameters[shard_parameter("PermissionSet", name)] = {
            "Type": "String",
            "Description": f"ARN of the {name} permission set",
        }
    for name in shard.group_names:
        parameters[shard_parameter("Group", name)] = {
            "Type": "String",
            "Description": f"Id of the group {name!r}, looked up by its display name",
        }
    for name in shard.new_accounts:
        parameters[shard_parameter("Account", name)] = {
            "Type": "String",
            "Description": f"Id of the account {name}, which the landing zone creates",
        }
    resources: dict[str, Any] = {}
    # a few chains at once, as Identity Center throttles creations; and each account's
    # assignments in one chain, one after another, since Identity Center provisions one
    # permission set's role at a time in an account: chains in flight are in different
    # accounts (a new account joins the chain with the fewest assignments so far)
    lanes: list[list[str]] = [[] for _ in range(LANES)]
    lane_of: dict[str, int] = {}
    for spec in shard.assignments:
        resource: dict[str, Any] = {
            "Type": "AWS::SSO::Assignment",
            "Properties": {
                "InstanceArn": settings.instance_arn,
                "PermissionSetArn": {"Ref": shard_parameter("PermissionSet", spec.permission_set)},
                "PrincipalType": spec.principal_type,
                "PrincipalId": (
                    {"Ref": shard_parameter("Group", spec.group_name)}
                    if spec.group_name
                    else spec.principal_id
                ),
                "TargetType": "AWS_ACCOUNT",
                "TargetId": (
                    spec.account_id
                    if spec.account_id
                    else {"Ref": shard_parameter("Account", spec.account_name)}
                ),
            },
        }
        lane = lanes[
            lane_of.setdefault(
                spec.account_name, min(range(LANES), key=lambda k: (len(lanes[k]), k))
            )
        ]
        if lane:
            resource["DependsOn"] = [lane[-1]]
        if spec.logical_id in resources:  # the config rules refuse this; never lose one
            raise ValueError(f"two assignments make the logical id {spec.logical_id}")
        resources[spec.logical_id] = resource
        lane.append(spec.logical_id)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"IAM Identity Center assignments of the landing zone, shard {shard.index:03d}"
        ),
        "Parameters": parameters,
        "Resources": resources,
    }
