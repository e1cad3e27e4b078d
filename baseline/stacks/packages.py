"""The organisation's package repositories: one governed place for dependencies (SEC11-BP05).

In the home region of the account with role ``shared_services`` (config ``packages:``):

- a CodeArtifact **domain** ``<prefix>`` (or ``packages.domain``) under a customer-managed
  key; its policy lets principals of the organisation get a token and nobody outside it;
  it denies everyone but the ``packages.publishers`` roles any way of putting a package
  version into the domain (publish, metadata, copy), everyone any of these for a name that
  is not internal or into a repository other than ``internal``, and everyone but the
  landing zone's CloudFormation role any change of origin controls or package groups.
  SCP-PACKAGES-ACCOUNT keeps the policies themselves, which CodeArtifact lets any
  principal of the account with IAM rights replace, to the same role;
- a **store** repository per public source (``pypi-store`` with ``public:pypi``,
  ``npm-store`` with ``public:npmjs``), with no policy of its own: workloads never call
  them, they only hold what the internal repository fetched through them;
- the **internal** repository, with the stores as upstreams, which the organisation reads
  and the publishers write;
- a **package group** per internal name prefix and scope whose origin controls block the
  external upstreams and allow publishing only to the internal repository, so an internal
  name can never be pulled from PyPI or npmjs (dependency confusion), whoever publishes it
  there.

The domain and the internal repository are kept when the stack deletes or replaces them:
they hold the organisation's own packages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codeartifact as codeartifact
from constructs import Construct

from baseline import naming
from baseline.config import AccountRole, LandingZoneConfig, PackageUpstream
from baseline.constructs.encryption_key import EncryptionKey
from baseline.defaults import PACKAGE_ORIGIN_ACTIONS

#: The external connection and the store repository of each public source.
EXTERNAL_CONNECTIONS = {PackageUpstream.PYPI: "public:pypi", PackageUpstream.NPM: "public:npmjs"}

#: What the organisation may do on the internal repository: read packages.
READ_ACTIONS = (
    "codeartifact:DescribePackage",
    "codeartifact:DescribePackageVersion",
    "codeartifact:DescribeRepository",
    "codeartifact:GetPackageVersionAsset",
    "codeartifact:GetPackageVersionReadme",
    "codeartifact:GetRepositoryEndpoint",
    "codeartifact:ListPackageVersionAssets",
    "codeartifact:ListPackageVersionDependencies",
    "codeartifact:ListPackageVersions",
    "codeartifact:ListPackages",
    "codeartifact:ReadFromRepository",
)
#: Every way a package version enters a repository of the domain other than through an
#: upstream: only the publishers.
PUBLISH_ACTIONS = (
    "codeartifact:CopyPackageVersions",
    "codeartifact:PublishPackageVersion",
    "codeartifact:PutPackageMetadata",
)
#: What would undo the protection against dependency confusion: only CloudFormation.
ORIGIN_ACTIONS = PACKAGE_ORIGIN_ACTIONS


@dataclass(frozen=True)
class PackagesSettings:
    """What the packages stack needs, derived once from the config."""

    prefix: str
    organization_id: str
    account_id: str
    region: str
    domain: str
    upstreams: tuple[PackageUpstream, ...]
    python_prefixes: tuple[str, ...]
    npm_scopes: tuple[str, ...]
    publishers: tuple[str, ...]

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> PackagesSettings | None:
        """The settings, or None when the config has no ``packages`` section."""
        packages = config.packages
        if packages is None or config.bootstrap_phase:
            return None
        assert config.organization.id is not None  # config rules
        prefix = config.organization.prefix
        return cls(
            prefix=prefix,
            organization_id=config.organization.id,
            account_id=config.account_id_for(AccountRole.SHARED_SERVICES),
            region=config.home_region,
            domain=packages.domain or naming.package_domain(prefix),
            upstreams=tuple(packages.upstreams),
            python_prefixes=tuple(packages.internal_python_prefixes),
            npm_scopes=tuple(packages.internal_npm_scopes),
            publishers=tuple(packages.publishers),
        )

    @property
    def patterns(self) -> list[str]:
        """The package-group pattern of each internal prefix and scope."""
        return list(self.groups.values())

    @property
    def groups(self) -> dict[str, str]:
        """Each internal prefix's and scope's package group: its construct id, named after
        the prefix or scope and not after its place in the list (a group's pattern cannot
        change in place, and no two groups of a domain may share one), and its pattern."""
        return {
            **{f"Python-{prefix}": f"/pypi//{prefix}~" for prefix in self.python_prefixes},
            **{
                f"Npm-{scope.removeprefix('@')}": f"/npm/{scope.removeprefix('@')}/*"
                for scope in self.npm_scopes
            },
        }


class PackagesStack(cdk.Stack):
    """The CodeArtifact domain, its repositories and package groups."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: PackagesSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.key = EncryptionKey(
            self,
            "PackagesKey",
            alias=naming.package_key_alias(settings.prefix),
            description="Encrypts the package assets of the CodeArtifact domain",
        )
        self.domain = codeartifact.CfnDomain(
            self,
            "Domain",
            domain_name=settings.domain,
            encryption_key=self.key.key_arn,
            permissions_policy_document=self._domain_policy(),
        )
        self.domain.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.stores: dict[PackageUpstream, codeartifact.CfnRepository] = {}
        for upstream in settings.upstreams:
            store = codeartifact.CfnRepository(
                self,
                f"{upstream.value.capitalize()}Store",
                domain_name=self.domain.attr_name,
                repository_name=naming.package_store_repository(upstream.value),
                description=f"Packages fetched from {EXTERNAL_CONNECTIONS[upstream]}",
                external_connections=[EXTERNAL_CONNECTIONS[upstream]],
            )
            store.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.stores[upstream] = store
        self.internal = codeartifact.CfnRepository(
            self,
            "Internal",
            domain_name=self.domain.attr_name,
            repository_name=naming.PACKAGE_INTERNAL_REPOSITORY,
            description="The organisation's repository: internal packages and the public ones",
            upstreams=[store.attr_name for store in self.stores.values()],
            permissions_policy_document=self._internal_policy(),
        )
        self.internal.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        # under a scope of their own, so each logical id carries a hash of its construct id
        # ("northwind" and "northwind-" are two groups, whose ids differ only in punctuation)
        names = Construct(self, "InternalNames")
        self.groups = [
            self._internal_group(names, construct_id, pattern)
            for construct_id, pattern in settings.groups.items()
        ]
        cdk.CfnOutput(self, "DomainName", value=self.domain.attr_name)
        cdk.CfnOutput(self, "InternalRepository", value=self.internal.attr_name)

    # --- policies --------------------------------------------------------------------

    def _org_condition(self) -> dict[str, Any]:
        return {"StringEquals": {"aws:PrincipalOrgID": self.settings.organization_id}}

    def _domain_policy(self) -> dict[str, Any]:
        settings = self.settings
        statements: list[dict[str, Any]] = [
            {
                "Sid": "OrganizationGetsTokens",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "codeartifact:DescribeDomain",
                    "codeartifact:GetAuthorizationToken",
                    "codeartifact:ListRepositoriesInDomain",
                ],
                "Resource": "*",
                "Condition": self._org_condition(),
            },
            {
                "Sid": "OnlyThePublishersPublish",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": list(PUBLISH_ACTIONS),
                "Resource": "*",
                # no publishers: nobody publishes
                **(
                    {"Condition": {"ArnNotLike": {"aws:PrincipalArn": list(settings.publishers)}}}
                    if settings.publishers
                    else {}
                ),
            },
            {
                # a publisher puts only the organisation's own names, and only into the
                # internal repository: never a public name that would shadow the upstream
                # package for everyone, never into a store
                "Sid": "OnlyInternalNamesArePublished",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": list(PUBLISH_ACTIONS),
                "NotResource": self._internal_package_arns(),
            },
            {
                "Sid": "OriginControlsOnlyThroughCloudFormation",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": list(ORIGIN_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "ArnNotLike": {
                        "aws:PrincipalArn": naming.cdk_execution_role_arn(settings.account_id)
                    }
                },
            },
        ]
        return {"Version": "2012-10-17", "Statement": statements}

    def _internal_package_arns(self) -> list[str]:
        """ARN patterns of the internal names in the internal repository."""
        settings = self.settings
        packages = (
            f"arn:aws:codeartifact:{settings.region}:{settings.account_id}:package/"
            f"{settings.domain}/{naming.PACKAGE_INTERNAL_REPOSITORY}"
        )
        return [f"{packages}/pypi//{prefix}*" for prefix in settings.python_prefixes] + [
            f"{packages}/npm/{scope.removeprefix('@')}/*" for scope in settings.npm_scopes
        ]

    def _internal_policy(self) -> dict[str, Any]:
        statements: list[dict[str, Any]] = [
            {
                "Sid": "OrganizationReads",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": list(READ_ACTIONS),
                "Resource": "*",
                "Condition": self._org_condition(),
            }
        ]
        if self.settings.publishers:
            statements.append(
                {
                    "Sid": "PublishersPublish",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "codeartifact:PublishPackageVersion",
                        "codeartifact:PutPackageMetadata",
                    ],
                    "Resource": "*",
                    "Condition": {
                        **self._org_condition(),
                        "ArnLike": {"aws:PrincipalArn": list(self.settings.publishers)},
                    },
                }
            )
        return {"Version": "2012-10-17", "Statement": statements}

    def _internal_group(
        self, scope: Construct, construct_id: str, pattern: str
    ) -> codeartifact.CfnPackageGroup:
        internal_only = codeartifact.CfnPackageGroup.RestrictionTypeProperty(
            restriction_mode="ALLOW_SPECIFIC_REPOSITORIES",
            repositories=[self.internal.attr_name],
        )
        group = codeartifact.CfnPackageGroup(
            scope,
            construct_id,
            domain_name=self.domain.attr_name,
            pattern=pattern,
            description="Internal names: never from a public source, published only inside",
            origin_configuration=codeartifact.CfnPackageGroup.OriginConfigurationProperty(
                restrictions=codeartifact.CfnPackageGroup.RestrictionsProperty(
                    external_upstream=codeartifact.CfnPackageGroup.RestrictionTypeProperty(
                        restriction_mode="BLOCK"
                    ),
                    internal_upstream=codeartifact.CfnPackageGroup.RestrictionTypeProperty(
                        restriction_mode="ALLOW"
                    ),
                    publish=internal_only,
                )
            ),
        )
        return group
