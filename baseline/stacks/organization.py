"""Organization: the OU tree and every organisation policy (management account).

Deployed in the management account's home region. OUs the config gives an id are
referenced, the others created and retained; their ids go into SSM parameters the
account stacks read (``baseline.stacks.accounts``, which hold everything that grows with
the number of accounts). The guardrail policies come packed from ``baseline.guardrails``;
the other organisation policies (declarative EC2, tag, AI opt-out, backup) from
``baseline.guardrails.org_policies``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from baseline import naming
from baseline.config import ROOT_OU, AccountRole, LandingZoneConfig
from baseline.constructs.organization_settings import OrganizationSettings
from baseline.guardrails import PackedPolicy, packed_policies
from baseline.guardrails.model import PolicyType
from baseline.guardrails.org_policies import Content, organization_policies


@dataclass(frozen=True)
class OrganizationStackSettings:
    """What the Organization stack needs, derived once from the config.

    Deriving it packs the guardrails, so a config whose guardrails cannot fit fails here
    with :class:`baseline.guardrails.PackingError`, before any CDK construct exists.
    """

    prefix: str
    #: the stack creates the organisation itself (greenfield)
    create: bool
    organization_id: str | None
    root_id: str | None
    #: every OU path, parents first
    ou_paths: tuple[str, ...]
    #: target (an OU path or an account name) -> the id the config gives it
    known_ids: dict[str, str]
    guardrail_policies: tuple[PackedPolicy, ...]
    #: name -> (type, content, targets) of the declarative, tag, opt-out and backup policies
    other_policies: dict[str, tuple[PolicyType, Content, list[str]]]
    management_account_id: str
    #: the audit account, administrator of the security services (None in greenfield phase 1)
    security_admin: str | None
    governed_regions: tuple[str, ...]
    stacksets_delegated_admin: str | None
    #: the account registered as Identity Center's delegated administrator, if any
    identity_center_admin: str | None
    #: the allowed-images setting only marks AMIs (guardrails.allowed_images.mode)
    images_audit_only: bool
    #: RAM sharing with the organisation (the network hub shares its transit gateway)
    ram_sharing: bool

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> OrganizationStackSettings:
        # an OU path wins over an account of the same name, as in target_id()
        targets = [*(a.name for a in config.accounts), *config.ou_paths()]
        return cls(
            prefix=config.organization.prefix,
            create=config.organization.create,
            organization_id=config.organization.id,
            root_id=config.organization.root_id,
            ou_paths=tuple(config.ou_paths()),
            known_ids={t: i for t in targets if (i := config.known_id(t)) is not None},
            guardrail_policies=tuple(packed_policies(config)),
            other_policies=organization_policies(config),
            management_account_id=config.account_id_for(AccountRole.MANAGEMENT),
            security_admin=(
                None if config.bootstrap_phase else config.account_id_for(AccountRole.AUDIT)
            ),
            governed_regions=tuple(config.governed_regions),
            stacksets_delegated_admin=config.stack_set_delegated_admin,
            identity_center_admin=config.identity_center_admin,
            images_audit_only=config.guardrails.allowed_images.mode == "audit_mode",
            ram_sharing=config.network.hub and not config.bootstrap_phase,
        )


class OrganizationStack(cdk.Stack):
    """The organisation's structure and policies.

    Implements SEC01-BP01 (separate workloads into accounts and OUs), SEC03-BP05
    (permission guardrails: SCPs and RCPs), SEC01-BP02 (root user denied in members),
    SEC06-BP02 and SEC08-BP02 (declarative EC2 defaults), SEC07-BP01 (classification tag
    policy).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: OrganizationStackSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        if settings.images_audit_only:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:OrganizationStack.AllowedImagesAuditOnly",
                "guardrails.allowed_images.mode: audit_mode: every AMI can still be launched, "
                "from any provider; the declarative EC2 policy only marks which would be "
                "allowed. Switch to enabled once the marks show what breaks.",
            )
        self.organization: organizations.CfnOrganization | None = None
        if settings.create:
            self.organization = organizations.CfnOrganization(
                self, "Organization", feature_set="ALL"
            )
            _retain(self.organization)
        # With create, the root id always comes from the resource, also once root_id is in
        # the config: a changing ParentId would replace every OU.
        self.root_id: str = (
            self.organization.attr_root_id
            if self.organization is not None
            else str(settings.root_id)
        )

        #: OU path -> id: the given id of an existing OU, or the id of the one created here
        self.ou_ids: dict[str, str] = {}
        self.created_ous: dict[str, organizations.CfnOrganizationalUnit] = {}
        for path in settings.ou_paths:
            if path in settings.known_ids:
                self.ou_ids[path] = settings.known_ids[path]
                continue
            parent, _, name = path.rpartition("/")
            unit = organizations.CfnOrganizationalUnit(
                self,
                naming.ou_logical_id(path),
                name=name,
                parent_id=self.ou_ids[parent] if parent else self.root_id,
            )
            _retain(unit)
            self.created_ous[path] = unit
            self.ou_ids[path] = unit.attr_id

        # The account stacks read the OU ids (and the root id) here, by name.
        for path in [ROOT_OU, *settings.ou_paths]:
            ssm.StringParameter(
                self,
                f"OuId{naming.logical_id(path)}",
                parameter_name=naming.ou_id_parameter(settings.prefix, path),
                string_value=self.target_id(path),
                description=f"Id of {path} in the organisation (read by the account stacks)",
            )

        self.policies: dict[str, organizations.CfnPolicy] = {}
        previous: organizations.CfnPolicy | None = None
        for packed in settings.guardrail_policies:
            self.policies[packed.name] = policy = organizations.CfnPolicy(
                self,
                f"Policy{naming.logical_id(packed.name)}",
                name=packed.name,
                type=packed.policy_type.value,
                content=json.loads(packed.content),  # CloudFormation takes an object
                description=_describe(packed.guardrail_ids),
                target_ids=[self.target_id(t) for t in packed.targets],
            )
            # one after the other, in the packer's order of targets: a target's policies
            # are attached once the earlier targets' have changed, so a policy that drops a
            # target (in 0.2.0 targets shared policies) has let go of it before the target's
            # own is created, and no target holds more than its five at a time
            if previous is not None:
                policy.node.add_dependency(previous)
            previous = policy
        for name, (policy_type, content, targets) in settings.other_policies.items():
            self.policies[name] = organizations.CfnPolicy(
                self,
                f"Policy{naming.logical_id(name)}",
                name=name,
                type=policy_type.value,
                content=content,
                description=f"{policy_type.name.replace('_', ' ').title()} policy of the landing zone",
                target_ids=[self.target_id(t) for t in targets],
            )

        policy_types = sorted({p.type for p in self.policies.values()})
        self.settings_resource = OrganizationSettings(
            self,
            "Settings",
            prefix=settings.prefix,
            organization_id=(
                settings.organization_id
                if settings.organization_id is not None
                else self.organization.attr_id  # type: ignore[union-attr]
            ),
            root_id=self.root_id,
            management_account_id=settings.management_account_id,
            policy_types=policy_types,
            security_admin=settings.security_admin,
            governed_regions=settings.governed_regions,
            stacksets_delegated_admin=settings.stacksets_delegated_admin,
            identity_center_admin=settings.identity_center_admin,
            ram_sharing=settings.ram_sharing,
        )
        # Policy types must be enabled on the root before a policy of the type attaches.
        for policy in self.policies.values():
            policy.node.add_dependency(self.settings_resource)

    def target_id(self, target: str) -> str:
        """The id of a policy target: the root, an OU path or an account name."""
        if target == ROOT_OU:
            return self.root_id
        if target in self.ou_ids:
            return self.ou_ids[target]
        if target not in self.settings.known_ids:  # the config rules exclude it
            raise ValueError(
                f"policy target {target!r} is not the root, an OU path or an existing account"
            )
        return self.settings.known_ids[target]

    @property
    def scp_policies(self) -> list[organizations.CfnPolicy]:
        return [p for p in self.policies.values() if p.type == PolicyType.SCP.value]


def _retain(resource: cdk.CfnResource) -> None:
    resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


def _describe(guardrail_ids: tuple[str, ...]) -> str:
    text = "Guardrails: " + ", ".join(guardrail_ids)
    return text if len(text) <= 512 else text[:509] + "..."
