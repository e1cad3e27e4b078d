"""Builds every stack of the landing zone from a validated config, in deployment order.

Each stack takes one input: its settings, derived from the config by the stack module's
``<Stack>Settings.from_config``. The stacks it must follow are the values the earlier
steps returned. Stacks in different accounts and regions are wired by names from
``baseline.naming`` only, never by CloudFormation exports.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from baseline import naming
from baseline.assignments import Side
from baseline.config import AccountRole, LandingZoneConfig
from baseline.stacks.accounts import AccountsSettings, AccountsStack, shard_accounts
from baseline.stacks.forensics import ForensicsSettings, ForensicsStack
from baseline.stacks.identity_center import (
    IdentityAssignmentsStack,
    IdentityCenterSettings,
    IdentityCenterStack,
)
from baseline.stacks.log_archive import LogArchiveReplicaStack, LogArchiveSettings, LogArchiveStack
from baseline.stacks.machine_access import MachineAccessSettings, MachineAccessStack
from baseline.stacks.member_baseline import (
    MemberBaselineSettings,
    MemberBaselineStack,
    MemberBaselineStackSetStack,
    StackSetSettings,
)
from baseline.stacks.network import NetworkSettings, NetworkStack
from baseline.stacks.organization import OrganizationStack, OrganizationStackSettings
from baseline.stacks.packages import PackagesSettings, PackagesStack
from baseline.stacks.security_tooling import SecurityToolingSettings, SecurityToolingStack
from baseline.stacks.trail import TrailSettings, TrailStack

#: Tags every resource of the landing zone carries, so its own resources are recognisable
#: in every account (guardrails and auditors key on them).
MANAGED_BY_TAG = naming.MANAGED_BY_TAG


class LandingZone(Construct):
    """The landing zone: one construct that adds each stack to the app.

    Stacks are added in deployment order and ``stacks`` lists them in that order; each
    declares a dependency on the stacks it needs, so ``cdk deploy --all`` keeps the order.
    In greenfield phase 1 (``organization.create`` without an organisation id yet) only
    the Organization stack and the account stacks exist.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: LandingZoneConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        prefix = config.organization.prefix
        management = config.account_id_for(AccountRole.MANAGEMENT)
        home = config.home_region

        def stack(
            kind: Callable[..., cdk.Stack],
            construct_id: str,
            *,
            name: str,
            description: str,
            account: str,
            region: str,
            after: Sequence[cdk.Stack],
            **inputs: Any,
        ) -> Any:
            built = kind(
                scope,
                construct_id,
                **inputs,
                stack_name=name,
                description=description,
                env=cdk.Environment(account=account, region=region),
                termination_protection=True,
            )
            for earlier in after:
                built.add_stack_dependency(earlier)
            return built

        # 1. The OUs, the guardrails and the organisation settings.
        self.organization: OrganizationStack = stack(
            OrganizationStack,
            "Organization",
            name=naming.organization_stack(prefix),
            description="Organisation structure and guardrail policies of the landing zone",
            account=management,
            region=home,
            after=[],
            settings=OrganizationStackSettings.from_config(config),
        )
        # 2. The accounts, sharded; they read the OU ids and the settings function by name.
        self.accounts: list[AccountsStack] = [
            stack(
                AccountsStack,
                f"Accounts{index:02d}",
                name=naming.accounts_stack(prefix, index),
                description="Accounts of the landing zone: creation, placement, security contacts",
                account=management,
                region=home,
                after=[self.organization],
                settings=AccountsSettings.from_config(config, members),
            )
            for index, members in shard_accounts(config).items()
        ]
        # AWS Organizations creates one account at a time, across stacks too: the stacks
        # that create accounts deploy one after another, whatever the CLI's --concurrency
        creating = [s for s in self.accounts if s.created_ids]
        for earlier, later in itertools.pairwise(creating):
            later.add_stack_dependency(earlier, "AWS Organizations creates one account at a time")
        self.log_archive_replica: LogArchiveReplicaStack | None = None
        self.log_archive: LogArchiveStack | None = None
        self.member_baseline: MemberBaselineStackSetStack | None = None
        self.management_baseline: list[MemberBaselineStack] = []
        self.trail: TrailStack | None = None
        self.security_tooling: list[SecurityToolingStack] = []
        self.network: list[NetworkStack] = []
        self.forensics: ForensicsStack | None = None
        self.packages: PackagesStack | None = None
        self.identity_centers: list[IdentityCenterStack] = []
        self.identity_assignments: list[IdentityAssignmentsStack] = []
        self.machine_access: list[MachineAccessStack] = []
        if not config.bootstrap_phase:
            self._baseline(stack, config)
        for built in self.stacks:
            tags = cdk.Tags.of(built)
            tags.add(*MANAGED_BY_TAG)
            tags.add("lz:prefix", prefix)

    def _baseline(self, stack: Callable[..., Any], config: LandingZoneConfig) -> None:
        """Steps 3 to 9: everything that needs the organisation's id."""
        prefix = config.organization.prefix
        management = config.account_id_for(AccountRole.MANAGEMENT)
        log_account = config.account_id_for(AccountRole.LOG_ARCHIVE)
        audit = config.account_id_for(AccountRole.AUDIT)
        home = config.home_region
        organization = self.organization

        # 3, 4. The log archive: the replica first, as the source's replication names it.
        log_settings = LogArchiveSettings.from_config(config)
        replica: LogArchiveReplicaStack | None = None
        if log_settings.replica_region is not None:
            replica = stack(
                LogArchiveReplicaStack,
                "LogArchiveReplica",
                name=naming.log_archive_replica_stack(prefix),
                description="Object-locked replica of the organisation's central log archive",
                account=log_account,
                region=log_settings.replica_region,
                after=[organization],
                settings=log_settings,
            )
        log_archive: LogArchiveStack = stack(
            LogArchiveStack,
            "LogArchive",
            name=naming.log_archive_stack(prefix),
            description="The organisation's central, object-locked log archive",
            account=log_account,
            region=home,
            after=[organization, *([replica] if replica else [])],
            settings=log_settings,
        )
        # 5. The StackSet: trusted access, the delegated administrator and the bucket the
        # members' Config recorders deliver to come first.
        stack_set_settings = StackSetSettings.from_config(config)
        member_baseline: MemberBaselineStackSetStack = stack(
            MemberBaselineStackSetStack,
            "MemberBaseline",
            name=naming.member_baseline_stack(prefix),
            description="The StackSet that rolls the member-account baseline out",
            account=config.stack_set_account_id,
            region=home,
            after=[organization, log_archive],
            settings=stack_set_settings,
        )
        # 6. A service-managed StackSet never reaches the management account: it gets the
        # same template as plain stacks, one per governed region, less the roles the audit
        # account acts through (responder, remediation): no SCP would bound them there.
        management_settings: MemberBaselineSettings = dataclasses.replace(
            stack_set_settings.member,
            incident_responder=False,
            remediation_automation=False,
            restart_logging=True,
        )
        management_baseline: list[MemberBaselineStack] = [
            stack(
                MemberBaselineStack,
                f"ManagementBaseline-{region}",
                name=naming.management_baseline_stack(prefix),
                description="The member-account baseline, in the management account",
                account=management,
                region=region,
                after=[log_archive],
                settings=management_settings,
            )
            for region in config.governed_regions
        ]
        # 7. The organisation trail: CloudTrail's trusted access, the bucket and its key.
        trail: TrailStack = stack(
            TrailStack,
            "Trail",
            name=naming.trail_stack(prefix),
            description="Organisation trail, its CloudWatch Logs group and the CIS alarms",
            account=management,
            region=home,
            after=[log_archive, organization],
            settings=TrailSettings.from_config(config),
        )
        # 8. The detective services: the audit account must be their administrator, and
        # the organisation Config rule needs every account's recorder.
        tooling_settings = SecurityToolingSettings.from_config(config)
        security_tooling: list[SecurityToolingStack] = [
            stack(
                SecurityToolingStack,
                f"SecurityTooling-{region}",
                name=naming.security_tooling_stack(prefix),
                description="Detective services of the organisation, administered from the audit account",
                account=audit,
                region=region,
                after=[organization, member_baseline, *management_baseline],
                settings=tooling_settings,
            )
            for region in config.governed_regions
        ]
        # 9. The network hub: RAM sharing with the organisation, and the log bucket.
        network: list[NetworkStack] = []
        if config.network.hub:
            network_settings = NetworkSettings.from_config(config)
            network = [
                stack(
                    NetworkStack,
                    f"Network-{region}",
                    name=naming.network_stack(prefix),
                    description="The network hub: shared transit gateway, inspected egress, DNS Firewall",
                    account=config.account_id_for(AccountRole.NETWORK),
                    region=region,
                    after=[organization, log_archive],
                    settings=network_settings,
                )
                for region in config.governed_regions
            ]
        self.log_archive_replica = replica
        self.log_archive = log_archive
        self.member_baseline = member_baseline
        self.management_baseline = management_baseline
        self.trail = trail
        self.security_tooling = security_tooling
        self.network = network
        # 9b. The forensics account: the evidence bucket and the isolated analysis VPC,
        # whose flow logs go to the log archive.
        forensics = ForensicsSettings.from_config(config)
        if forensics is not None:
            self.forensics = stack(
                ForensicsStack,
                "Forensics",
                name=naming.forensics_stack(prefix),
                description="Evidence bucket and isolated analysis VPC of the forensics account",
                account=forensics.account_id,
                region=forensics.region,
                after=[organization, log_archive],
                settings=forensics,
            )
        # 9c. The shared-services account's package repositories (CodeArtifact).
        packages = PackagesSettings.from_config(config)
        if packages is not None:
            self.packages = stack(
                PackagesStack,
                "Packages",
                name=naming.packages_stack(prefix),
                description="CodeArtifact domain and repositories of the organisation",
                account=packages.account_id,
                region=packages.region,
                after=[organization],
                settings=packages,
            )
        # 10. Identity Center: permission sets, then the assignments, once the accounts,
        # their baselines (the workload boundary PowerUser names) and the trail exist.
        if config.identity_center is not None:
            # the delegated side after the management side: both provision permission sets
            # into the same accounts, and Identity Center provisions one at a time in each
            before: list[cdk.Stack] = []
            for identity in IdentityCenterSettings.for_each_side(config):
                # the management side keeps the ids it has always had
                suffix = "" if identity.side == Side.MANAGEMENT else "Delegated"
                center = stack(
                    IdentityCenterStack,
                    f"IdentityCenter{suffix}",
                    name=naming.identity_center_stack(config.organization.prefix),
                    description="IAM Identity Center permission sets of the landing zone",
                    account=identity.account_id,
                    region=identity.region,
                    after=[organization, member_baseline, *management_baseline, *before],
                    settings=identity,
                )
                self.identity_centers.append(center)
                arns = {
                    name: permission_set.attr_permission_set_arn
                    for name, permission_set in center.permission_sets.items()
                }
                assignments = [
                    stack(
                        IdentityAssignmentsStack,
                        f"IdentityAssignments{suffix}{index:02d}",
                        name=naming.identity_assignments_stack(config.organization.prefix, index),
                        description="IAM Identity Center assignments of the landing zone",
                        account=identity.account_id,
                        region=identity.region,
                        after=[center, *self.accounts],
                        settings=identity,
                        shards=shards,
                        permission_set_arns=arns,
                        lookup_function_arn=(
                            center.lookup_function.function.function_arn
                            if center.lookup_function is not None
                            else None
                        ),
                    )
                    for index, shards in identity.stacks
                ]
                self.identity_assignments += assignments
                before = [center, *assignments]
        # 11. Machine access: CI roles (GitHub OIDC) and third-party roles, in the core
        # accounts that hold any, after their baselines.
        self.machine_access = [
            stack(
                MachineAccessStack,
                f"MachineAccess-{settings.account_name}",
                name=naming.machine_access_stack(config.organization.prefix),
                description="CI and third-party roles of the landing zone in this account",
                account=settings.account_id,
                region=config.home_region,
                after=[organization, member_baseline, *management_baseline],
                settings=settings,
            )
            for settings in MachineAccessSettings.for_each_account(config)
        ]

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
            self.forensics,
            self.packages,
            # each side's permission sets, then its assignments (one side an account)
            *(
                s
                for center in self.identity_centers
                for s in (
                    center,
                    *(a for a in self.identity_assignments if a.account == center.account),
                )
            ),
            *self.machine_access,
        ]
        return [s for s in ordered if s is not None]
