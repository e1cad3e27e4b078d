"""Machine access from the config: CI roles (GitHub OIDC) and third-party roles, one stack
per core account that holds any (SEC02-BP02, SEC03-BP06, SEC03-BP09)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from baseline import naming
from baseline.compliance import acknowledge_each
from baseline.config import CiRole, LandingZoneConfig, ThirdPartyRoleConfig
from baseline.constructs.machine_access import GitHubOidcDeployRole, ThirdPartyRole


@dataclass(frozen=True)
class MachineAccessSettings:
    """The machine roles of one core account."""

    prefix: str
    account_name: str
    account_id: str
    ci_roles: tuple[CiRole, ...]
    third_party_roles: tuple[ThirdPartyRoleConfig, ...]
    #: the member baseline made the account's GitHub OIDC provider: reference it
    provider_exists: bool = False

    @classmethod
    def for_each_account(cls, config: LandingZoneConfig) -> list[MachineAccessSettings]:
        """One per core account that the config gives a CI or third-party role, in account order."""
        found = []
        for account in config.accounts:
            ci = tuple(r for r in config.ci_roles if r.account == account.name)
            parties = tuple(r for r in config.third_party_roles if r.account == account.name)
            if ci or parties:
                assert account.id is not None  # core accounts have ids
                found.append(
                    cls(
                        config.organization.prefix,
                        account.name,
                        account.id,
                        ci,
                        parties,
                        provider_exists=config.member_baseline.github_oidc_provider,
                    )
                )
        return found


class MachineAccessStack(cdk.Stack):
    """The CI and third-party roles of one core account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: MachineAccessSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = settings.prefix
        provider: iam.IOidcProvider | None = (
            GitHubOidcDeployRole.existing_provider(self) if settings.provider_exists else None
        )
        self.ci_roles: dict[str, GitHubOidcDeployRole] = {}
        for ci in settings.ci_roles:
            role = GitHubOidcDeployRole(
                self,
                naming.logical_id(f"Ci-{ci.name}"),
                subjects=ci.subjects,
                role_name=naming.ci_role(prefix, ci.name),
                provider=provider,
                # not every CI role deploys (the diff role only reads)
                description=(
                    f"CI role {ci.name}, assumed by GitHub Actions from "
                    f"{', '.join(sorted(ci.subjects))}"
                )[:1000],
            )
            provider = role.provider  # one OIDC provider per account
            if ci.assume_roles:
                policy = iam.ManagedPolicy(
                    self,
                    naming.logical_id(f"Ci-{ci.name}-Permissions"),
                    path=naming.baseline_policy_path(prefix),
                    description=f"What the CI role {ci.name} may do: assume the listed roles only",
                    statements=[
                        iam.PolicyStatement(
                            sid="AssumeTheListedRoles",
                            actions=["sts:AssumeRole", "sts:TagSession"],
                            resources=sorted(ci.assume_roles),
                            conditions={
                                "StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}
                            },
                        )
                    ],
                    roles=[role.role],
                )
                acknowledge_each(
                    policy,
                    {
                        f"AwsSolutions-IAM5[Resource::{pattern}]": (
                            "The CI role may assume only the roles these name patterns give "
                            "(the landing zone's CDK bootstrap roles in each account), and only "
                            "inside the organisation."
                        )
                        for pattern in ci.assume_roles
                        if "*" in pattern
                    },
                )
            self.ci_roles[ci.name] = role
        self.third_party_roles: dict[str, ThirdPartyRole] = {}
        for party in settings.third_party_roles:
            vendor = ThirdPartyRole(
                self,
                naming.logical_id(f"ThirdParty-{party.name}"),
                account_id=party.external_account_id,
                external_id=party.external_id,
                role_name=naming.third_party_role(prefix, party.name),
            )
            # RCP-IDENTITY-PERIMETER denies sts:AssumeRole from outside the organisation
            # but on a role carrying this tag, which only the baseline's principals set:
            # without it the third party could not assume the role it was given.
            cdk.Tags.of(vendor.role).add(naming.perimeter_exception_tag(prefix), "true")
            for arn in party.managed_policies:
                vendor.role.add_managed_policy(
                    iam.ManagedPolicy.from_managed_policy_arn(
                        self, naming.logical_id(f"{party.name}-{arn.rsplit('/', 1)[-1]}"), arn
                    )
                )
            acknowledge_each(
                vendor.role,
                {
                    f"AwsSolutions-IAM4[Policy::{arn}]": (
                        "The third party's contract names this AWS-maintained policy; AWS keeps "
                        "it current as services add actions, which a copy would not."
                    )
                    for arn in party.managed_policies
                },
            )
            self.third_party_roles[party.name] = vendor
