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

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from baseline import naming
from baseline.config import ROOT_OU, AccountRole, LandingZoneConfig, StackSetHome
from baseline.constructs.organization_settings import OrganizationSettings
from baseline.guardrails import packed_policies
from baseline.guardrails.model import PolicyType
from baseline.guardrails.org_policies import organization_policies


class OrganizationStack(cdk.Stack):
    """The organisation's structure and policies.

    Implements SEC01-BP01 (separate workloads into accounts and OUs), SEC03-BP05
    (permission guardrails: SCPs and RCPs), SEC01-BP02 (root user denied in members),
    SEC06-BP02 and SEC08-BP02 (declarative EC2 defaults), SEC07-BP01 (classification tag
    policy).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LandingZoneConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        org = config.organization
        self.organization: organizations.CfnOrganization | None = None
        if org.create:
            self.organization = organizations.CfnOrganization(
                self, "Organization", feature_set="ALL"
            )
            _retain(self.organization)
        # With create, the root id always comes from the resource, also once root_id is in
        # the config: a changing ParentId would replace every OU.
        self.root_id: str = (
            self.organization.attr_root_id if self.organization is not None else str(org.root_id)
        )

        #: OU path -> id: the given id of an existing OU, or the id of the one created here
        self.ou_ids: dict[str, str] = {}
        self.created_ous: dict[str, organizations.CfnOrganizationalUnit] = {}
        existing = config.ou_ids()
        for path in config.ou_paths():
            if path in existing:
                self.ou_ids[path] = existing[path]
                continue
            parent, _, name = path.rpartition("/")
            unit = organizations.CfnOrganizationalUnit(
                self,
                f"Ou{_logical(path)}",
                name=name,
                parent_id=self.ou_ids[parent] if parent else self.root_id,
            )
            _retain(unit)
            self.created_ous[path] = unit
            self.ou_ids[path] = unit.attr_id

        # The account stacks read the OU ids (and the root id) here, by name.
        for path in [ROOT_OU, *config.ou_paths()]:
            ssm.StringParameter(
                self,
                f"OuId{_logical(path)}",
                parameter_name=naming.ou_id_parameter(org.prefix, path),
                string_value=self.target_id(path),
                description=f"Id of {path} in the organisation (read by the account stacks)",
            )

        self.policies: dict[str, organizations.CfnPolicy] = {}
        for packed in packed_policies(config):
            self.policies[packed.name] = organizations.CfnPolicy(
                self,
                f"Policy{_logical(packed.name)}",
                name=packed.name,
                type=packed.policy_type.value,
                content=json.loads(packed.content),  # CloudFormation takes an object
                description=_describe(packed.guardrail_ids),
                target_ids=[self.target_id(t) for t in packed.targets],
            )
        for name, (policy_type, content, targets) in organization_policies(config).items():
            self.policies[name] = organizations.CfnPolicy(
                self,
                f"Policy{_logical(name)}",
                name=name,
                type=policy_type.value,
                content=content,
                description=f"{policy_type.name.replace('_', ' ').title()} policy of the landing zone",
                target_ids=[self.target_id(t) for t in targets],
            )

        management_id = config.account_id_for(AccountRole.MANAGEMENT)
        policy_types = sorted({p.type for p in self.policies.values()})
        self.settings = OrganizationSettings(
            self,
            "Settings",
            prefix=org.prefix,
            organization_id=(
                org.id if org.id is not None else self.organization.attr_id  # type: ignore[union-attr]
            ),
            root_id=self.root_id,
            management_account_id=management_id,
            policy_types=policy_types,
            security_admin=None
            if config.bootstrap_phase
            else config.account_id_for(AccountRole.AUDIT),
            governed_regions=config.governed_regions,
            stacksets_delegated_admin=(
                config.account_id_for(AccountRole.AUDIT)
                if config.member_baseline.deploy_from == StackSetHome.DELEGATED_ADMIN
                and not config.bootstrap_phase
                else None
            ),
            # the network hub shares its transit gateway with OUs through RAM
            ram_sharing=config.network.hub and not config.bootstrap_phase,
        )
        # Policy types must be enabled on the root before a policy of the type attaches.
        for policy in self.policies.values():
            policy.node.add_dependency(self.settings)

    def target_id(self, target: str) -> str:
        """The id of a policy target: the root, an OU path or an account name."""
        if target == ROOT_OU:
            return self.root_id
        if target in self.ou_ids:
            return self.ou_ids[target]
        account = self.config.account_by_name(target)
        if account is None or account.id is None:  # the config rules exclude both
            raise ValueError(
                f"policy target {target!r} is not the root, an OU path or an existing account"
            )
        return account.id

    @property
    def scp_policies(self) -> list[organizations.CfnPolicy]:
        return [p for p in self.policies.values() if p.type == PolicyType.SCP.value]


def _retain(resource: cdk.CfnResource) -> None:
    resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


def _logical(name: str) -> str:
    return "".join(
        part.capitalize() for part in "".join(c if c.isalnum() else " " for c in name).split()
    )


def _describe(guardrail_ids: tuple[str, ...]) -> str:
    text = "Guardrails: " + ", ".join(guardrail_ids)
    return text if len(text) <= 512 else text[:509] + "..."
