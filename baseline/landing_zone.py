"""Builds every stack of the landing zone from a validated config."""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
from constructs import Construct

from baseline import naming
from baseline.cdk_context import cdk_json_context
from baseline.config import AccountRole, LandingZoneConfig, StackSetHome
from baseline.stacks.accounts import AccountsStack, shard_accounts
from baseline.stacks.log_archive import LogArchiveReplicaStack, LogArchiveSettings, LogArchiveStack
from baseline.stacks.member_baseline import (
    MemberBaselineSettings,
    MemberBaselineStack,
    MemberBaselineStackSetStack,
    member_template,
    target_ou_ids,
)
from baseline.stacks.network import NetworkStack
from baseline.stacks.organization import OrganizationStack
from baseline.stacks.security_tooling import SecurityToolingStack
from baseline.stacks.trail import TrailStack

#: Tags every resource of the landing zone carries, so its own resources are recognisable
#: in every account (guardrails and auditors key on them).
MANAGED_BY_TAG = naming.MANAGED_BY_TAG


class LandingZone(Construct):
    """The landing zone: one construct that adds each stack to the app.

    Stacks are added in deployment order; ``stacks`` lists them in that order. Stacks in
    different accounts and regions are wired by names from ``baseline.naming`` only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: LandingZoneConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        prefix = config.organization.prefix
        self.organization = OrganizationStack(
            scope,
            "Organization",
            config=config,
            stack_name=f"{prefix}-organization",
            description="Organisation structure, accounts and guardrail policies of the landing zone",
            env=cdk.Environment(
                account=config.account_id_for(AccountRole.MANAGEMENT), region=config.home_region
            ),
            termination_protection=True,
        )
        self.log_archive_replica: LogArchiveReplicaStack | None = None
        self.log_archive: LogArchiveStack | None = None
        management = config.account_id_for(AccountRole.MANAGEMENT)
        self.accounts: list[AccountsStack] = []
        for index, members in shard_accounts(config).items():
            shard = AccountsStack(
                scope,
                f"Accounts{index:02d}",
                config=config,
                accounts=members,
                stack_name=f"{prefix}-accounts-{index:02d}",
                description="Accounts of the landing zone: creation, placement, security contacts",
                env=cdk.Environment(account=management, region=config.home_region),
                termination_protection=True,
            )
            # The settings function and the OU id parameters come from the Organization stack.
            shard.add_stack_dependency(self.organization)
            self.accounts.append(shard)
        self.member_baseline: MemberBaselineStackSetStack | None = None
        self.trail: TrailStack | None = None
        self.security_tooling: list[SecurityToolingStack] = []
        self.network: list[NetworkStack] = []
        self.management_baseline: list[MemberBaselineStack] = []
        if not config.bootstrap_phase:
            self._add_log_archive(scope, config)
            self._add_member_baseline(scope, config)
            self.trail = TrailStack(
                scope,
                "Trail",
                config=config,
                stack_name=f"{prefix}-organization-trail",
                description="Organisation trail, its CloudWatch Logs group and the CIS alarms",
                env=cdk.Environment(account=management, region=config.home_region),
                termination_protection=True,
            )
            # The log bucket and its key, and CloudTrail's trusted access, come first.
            assert self.log_archive is not None
            self.trail.add_stack_dependency(self.log_archive)
            self.trail.add_stack_dependency(self.organization)
            audit = config.account_id_for(AccountRole.AUDIT)
            for region in config.governed_regions:
                tooling = SecurityToolingStack(
                    scope,
                    f"SecurityTooling-{region}",
                    config=config,
                    stack_name=f"{prefix}-security-tooling",
                    description="Detective services of the organisation, administered from the audit account",
                    env=cdk.Environment(account=audit, region=region),
                    termination_protection=True,
                )
                # The audit account must be the services' administrator first, and the
                # organisation Config rule needs the member baseline's recorders.
                tooling.add_stack_dependency(self.organization)
                assert self.member_baseline is not None
                tooling.add_stack_dependency(self.member_baseline)
                for management in self.management_baseline:
                    tooling.add_stack_dependency(management)
                self.security_tooling.append(tooling)
            if config.network.hub:
                self._add_network(scope, config)
        for stack in self.stacks:
            cdk.Tags.of(stack).add(*MANAGED_BY_TAG)
            cdk.Tags.of(stack).add("lz:prefix", prefix)

    def _add_member_baseline(self, scope: Construct, config: LandingZoneConfig) -> None:
        delegated = config.member_baseline.deploy_from == StackSetHome.DELEGATED_ADMIN
        home_account = config.account_id_for(
            AccountRole.AUDIT if delegated else AccountRole.MANAGEMENT
        )
        settings = MemberBaselineSettings.from_config(config)
        template = member_template(settings, context=cdk_json_context())
        # Service-managed StackSets never reach the management account: it gets the same
        # template as plain stacks, one per governed region.
        for region in config.governed_regions:
            management = MemberBaselineStack(
                scope,
                f"ManagementBaseline-{region}",
                settings=dataclasses.replace(settings, incident_responder=False),
                stack_name=f"{config.organization.prefix}-management-baseline",
                description="The member-account baseline, in the management account",
                env=cdk.Environment(
                    account=config.account_id_for(AccountRole.MANAGEMENT), region=region
                ),
                termination_protection=True,
            )
            # Config delivers to the log archive bucket.
            assert self.log_archive is not None
            management.add_stack_dependency(self.log_archive)
            self.management_baseline.append(management)
        self.member_baseline = MemberBaselineStackSetStack(
            scope,
            "MemberBaseline",
            config=config,
            template=template,
            target_ou_ids=target_ou_ids(config),
            stack_name=f"{config.organization.prefix}-member-baseline",
            description="The StackSet that rolls the member-account baseline out",
            env=cdk.Environment(account=home_account, region=config.home_region),
            termination_protection=True,
        )
        # Trusted access, the delegated administrator and the log bucket come first.
        self.member_baseline.add_stack_dependency(self.organization)
        assert self.log_archive is not None
        self.member_baseline.add_stack_dependency(self.log_archive)

    def _add_network(self, scope: Construct, config: LandingZoneConfig) -> None:
        network_account = config.account_id_for(AccountRole.NETWORK)
        for region in config.governed_regions:
            hub = NetworkStack(
                scope,
                f"Network-{region}",
                config=config,
                stack_name=f"{config.organization.prefix}-network-hub",
                description="The network hub: shared transit gateway, inspected egress, DNS Firewall",
                env=cdk.Environment(account=network_account, region=region),
                termination_protection=True,
            )
            # RAM sharing with the organisation, and the log bucket the logs go to.
            hub.add_stack_dependency(self.organization)
            assert self.log_archive is not None
            hub.add_stack_dependency(self.log_archive)
            self.network.append(hub)

    def _add_log_archive(self, scope: Construct, config: LandingZoneConfig) -> None:
        prefix = config.organization.prefix
        log_account = config.account_id_for(AccountRole.LOG_ARCHIVE)
        settings = LogArchiveSettings.from_config(config)
        if settings.replica_region is not None:
            self.log_archive_replica = LogArchiveReplicaStack(
                scope,
                "LogArchiveReplica",
                settings=settings,
                stack_name=f"{prefix}-log-archive-replica",
                description="Object-locked replica of the organisation's central log archive",
                env=cdk.Environment(account=log_account, region=settings.replica_region),
                termination_protection=True,
            )
        self.log_archive = LogArchiveStack(
            scope,
            "LogArchive",
            settings=settings,
            stack_name=f"{prefix}-log-archive",
            description="The organisation's central, object-locked log archive",
            env=cdk.Environment(account=log_account, region=config.home_region),
            termination_protection=True,
        )
        if self.log_archive_replica is not None:
            # The replica's bucket, key and replication role must exist before the source
            # bucket's replication rule and key policy name them.
            self.log_archive.add_stack_dependency(self.log_archive_replica)
            self.log_archive_replica.add_stack_dependency(self.organization)
        self.log_archive.add_stack_dependency(self.organization)

    @property
    def stacks(self) -> list[cdk.Stack]:
        """Every stack, in deployment order."""
        ordered: list[cdk.Stack | None] = [
            self.organization,
            *self.accounts,
            self.log_archive_replica,
            self.log_archive,
            self.member_baseline,
            *self.management_baseline,
            self.trail,
            *self.security_tooling,
            *self.network,
        ]
        return [s for s in ordered if s is not None]
