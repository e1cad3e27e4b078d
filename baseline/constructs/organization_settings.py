"""OrganizationSettings: the organisation settings CloudFormation has no resource type for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from baseline import naming
from baseline.compliance import acknowledge
from baseline.constructs.baseline_function import (
    HANDLER_DIGEST,
    BaselineFunction,
    answer_within,
    as_finding,
    handler_code,
    handler_digest,
    service_linked_roles_statement,
)
from baseline.constructs.encryption_key import EncryptionKey

#: Service principals whose trusted access the baseline needs: IAM (centralised root
#: access), Account Management (alternate contacts), AWS Backup (backup policies) and
#: CloudTrail (organisation trail).
TRUSTED_SERVICES = (
    "account.amazonaws.com",
    "backup.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "iam.amazonaws.com",
)
#: The service principal a StackSets delegated administrator is registered for.
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
#: The service principal an Identity Center delegated administrator is registered for
#: (Identity Center enables its own trusted access when it is enabled).
IDENTITY_CENTER_PRINCIPAL = "sso.amazonaws.com"
#: Services the audit account administers for the organisation: trusted access for each,
#: delegated administration through Organizations for Access Analyzer and Config, and
#: through each service's own API (in every governed region) for the others.
SECURITY_SERVICE_PRINCIPALS = (
    "access-analyzer.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "config.amazonaws.com",
    "detective.amazonaws.com",
    "guardduty.amazonaws.com",
    "inspector2.amazonaws.com",
    "macie.amazonaws.com",
    "malware-protection.guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
)
ORGANIZATIONS_DELEGATED = (
    "access-analyzer.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "config.amazonaws.com",
)
SERVICE_DELEGATED = ("detective", "guardduty", "inspector2", "macie2", "securityhub")


def trusted_service_principals(
    *, security_admin: bool, stacksets: bool, ram_sharing: bool
) -> list[str]:
    """The service principals whose trusted access the kit enables, directly or through
    the service's own API (which enables it with the caller's permissions)."""
    return sorted(
        {
            *TRUSTED_SERVICES,
            *(SECURITY_SERVICE_PRINCIPALS if security_admin else ()),
            *((STACKSETS_PRINCIPAL, "stacksets.cloudformation.amazonaws.com") if stacksets else ()),
            *(("ram.amazonaws.com",) if ram_sharing else ()),
        }
    )


#: How long the settings function may run: the policy types' wait and the busy retries.
SETTINGS_TIMEOUT = cdk.Duration.minutes(15)


def _registrations(*pairs: tuple[str | None, list[str]]) -> dict[str, list[str]]:
    """Account -> the service principals it is registered for (an account may hold two
    roles: the audit account administers StackSets and the security services)."""
    found: dict[str, list[str]] = {}
    for account, principals in pairs:
        if account:
            found.setdefault(account, [])
            found[account] += [p for p in principals if p not in found[account]]
    return found


class OrganizationSettings(Construct):
    """Trusted access, policy types, centralised root access and security contacts.

    Implements SEC01-BP02 (centralised root access: member accounts need no root
    credentials) and enables the policy types the guardrails need. Its function also
    serves the account stacks' custom resources (placement in OUs, security contacts,
    CIS 1.2), which find it by name. A custom resource in the management account
    applies them idempotently; deleting it changes nothing.

    The function is encrypted, traced, has a dead-letter queue, and its role lists exact
    actions; ``baseline/handlers/organization_settings.py``
    is its code.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        organization_id: str,
        root_id: str,
        management_account_id: str,
        policy_types: Sequence[str],
        centralized_root_access: bool = True,
        stacksets_delegated_admin: str | None = None,
        identity_center_admin: str | None = None,
        security_admin: str | None = None,
        governed_regions: Sequence[str] = (),
        ram_sharing: bool = False,
    ) -> None:
        """Create the function and the custom resource.

        :param prefix: the kit's name prefix (names the function, its log group and key).
        :param organization_id: the organisation id (a token when the stack creates it).
        :param root_id: the root whose policy types are enabled.
        :param management_account_id: the management account (the ARNs the role may touch).
        :param policy_types: AWS Organizations policy types to enable on the root.
        :param centralized_root_access: enable root credentials management and root
            sessions. Default: True; False warns at synth
            (``lz:OrganizationSettings.RootAccessNotCentralized``).
        :param stacksets_delegated_admin: account to register as the delegated
            administrator of service-managed StackSets. Default: none (the management
            account runs the StackSet). Trusted access for StackSets is enabled either way.
        :param identity_center_admin: account to register as Identity Center's delegated
            administrator. Default: none (the management account manages Identity Center).
        :param security_admin: account that administers the detective services (the audit
            account). Default: none.
        :param governed_regions: where the security administrator is designated.
            Default: none (used only with ``security_admin``).
        :param ram_sharing: enable RAM sharing with the organisation (the network hub
            shares its transit gateway with OUs). Default: False.
        """
        super().__init__(scope, construct_id)
        if not centralized_root_access:
            cdk.Annotations.of(self).add_warning_v2(
                "lz:OrganizationSettings.RootAccessNotCentralized",
                "centralized_root_access=False: member accounts keep their own root "
                "credentials (password, access keys, MFA), each one a standing path to full "
                "control of its account that the management account cannot remove centrally.",
            )
        stack = cdk.Stack.of(self)
        name = naming.organization_settings_function(prefix)
        log_group_name = f"/{prefix}/organization-settings"
        self.key = EncryptionKey(
            self,
            "Key",
            alias=f"alias/{prefix}/organization-settings",
            description="Encrypts the organisation-settings function's logs and dead-letter queue",
        )
        trusted = trusted_service_principals(
            security_admin=security_admin is not None,
            stacksets=True,
            ram_sharing=ram_sharing,
        )
        self.handler = BaselineFunction(
            self,
            "Handler",
            function_name=name,
            description="Applies organisation settings CloudFormation has no resource type for",
            code=handler_code("organization_settings"),
            handler="organization_settings.handler",
            log_group_name=log_group_name,
            encryption_key=self.key,  # the function grants CloudWatch Logs its log group
            timeout=SETTINGS_TIMEOUT,
            statements=[
                iam.PolicyStatement(
                    sid="ReadAndEnableOrganizationFeatures",
                    actions=[
                        "organizations:DescribeOrganization",
                        "organizations:ListAWSServiceAccessForOrganization",
                        "organizations:ListRoots",
                        "iam:EnableOrganizationsRootCredentialsManagement",
                        "iam:EnableOrganizationsRootSessions",
                        "iam:ListOrganizationsFeatures",
                    ],
                    resources=["*"],
                ),
                # Trusted access for the kit's own services only; RAM and the security
                # services enable their own trusted access on the caller's behalf too.
                iam.PolicyStatement(
                    sid="EnableTrustedAccessForTheKitsServices",
                    actions=["organizations:EnableAWSServiceAccess"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"organizations:ServicePrincipal": sorted(trusted)}
                    },
                ),
                iam.PolicyStatement(
                    sid="EnableStackSetsTrustedAccess",
                    actions=[
                        "cloudformation:ActivateOrganizationsAccess",
                        "cloudformation:DescribeOrganizationsAccess",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="CreateStackSetsServiceLinkedRole",
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[
                        f"arn:aws:iam::{management_account_id}:role/aws-service-role/"
                        "stacksets.cloudformation.amazonaws.com/AWSServiceRoleForCloudFormationStackSetsOrgAdmin"
                    ],
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="EnableRamSharingWithTheOrganization",
                            actions=["ram:EnableSharingWithAwsOrganization"],
                            resources=["*"],
                        ),
                        iam.PolicyStatement(
                            sid="CreateRamServiceLinkedRole",
                            actions=["iam:CreateServiceLinkedRole"],
                            resources=[
                                f"arn:aws:iam::{management_account_id}:role/aws-service-role/"
                                "ram.amazonaws.com/AWSServiceRoleForResourceAccessManager"
                            ],
                        ),
                    ]
                    if ram_sharing
                    else []
                ),
                iam.PolicyStatement(
                    sid="EnablePolicyTypesOnTheRoot",
                    actions=["organizations:EnablePolicyType"],
                    resources=[
                        f"arn:aws:organizations::{management_account_id}:root/{organization_id}/{root_id}"
                    ],
                ),
                iam.PolicyStatement(
                    sid="PlaceAccountsInTheirOus",
                    actions=["organizations:ListParents", "organizations:MoveAccount"],
                    resources=[
                        f"arn:aws:organizations::{management_account_id}:account/{organization_id}/*",
                        f"arn:aws:organizations::{management_account_id}:ou/{organization_id}/*",
                        f"arn:aws:organizations::{management_account_id}:root/{organization_id}/{root_id}",
                    ],
                ),
                iam.PolicyStatement(
                    sid="SetSecurityContacts",
                    actions=["account:PutAlternateContact"],
                    resources=[
                        f"arn:aws:account::{management_account_id}:account",
                        f"arn:aws:account::{management_account_id}:account/{organization_id}/*",
                    ],
                ),
                *self._delegation_permissions(
                    management_account_id,
                    organization_id,
                    _registrations(
                        (stacksets_delegated_admin, [STACKSETS_PRINCIPAL]),
                        (identity_center_admin, [IDENTITY_CENTER_PRINCIPAL]),
                        # the designated services register the account themselves
                        (security_admin, list(SECURITY_SERVICE_PRINCIPALS)),
                    ),
                    designates=bool(security_admin),
                ),
            ],
            wildcard_reasons={
                "Resource::*": (
                    "these Organizations, IAM, RAM, CloudFormation and X-Ray actions accept no resource-level permissions"
                ),
                f"Resource::arn:aws:account::{management_account_id}:account/"
                f"{as_finding(stack, organization_id)}/*": (
                    "every member account of the organisation gets the security contact"
                ),
                f"Resource::arn:aws:organizations::{management_account_id}:account/"
                f"{as_finding(stack, organization_id)}/*": (
                    "every member account of the organisation is placed in its configured OU"
                ),
                f"Resource::arn:aws:organizations::{management_account_id}:ou/"
                f"{as_finding(stack, organization_id)}/*": (
                    "accounts move only between the organisation's own OUs"
                ),
                **(
                    {
                        f"Resource::arn:aws:iam::{management_account_id}:role/aws-service-role/*": (
                            "the security services create their own service-linked roles, "
                            "limited by iam:AWSServiceName to those services"
                        )
                    }
                    if stacksets_delegated_admin or security_admin
                    else {}
                ),
            },
            policy_path=naming.baseline_policy_path(prefix),
        )
        acknowledge(
            self.handler.policy,
            "CKV_AWS_111",
            "The write actions on '*' enable a service, its organisation configuration or "
            "its delegated administrator for the whole account or organisation; the "
            "resources they create do not exist before the call, so no ARN can name them, "
            "and only the custom resource's own function holds the policy.",
        )
        self.function = self.handler.function

        properties: dict[str, object] = {
            "RootId": root_id,
            "PolicyTypes": sorted(policy_types),
            "ServicePrincipals": [
                *TRUSTED_SERVICES,
                *(SECURITY_SERVICE_PRINCIPALS if security_admin else ()),
            ],  # the handler enables these; RAM and StackSets enable their own
            "CentralizedRootAccess": str(centralized_root_access).lower(),
            "ManagementAccountId": management_account_id,
            "StackSetsAccess": "true",
            "RamSharing": str(ram_sharing).lower(),
            "DelegatedAdministrators": [
                *(
                    [
                        {
                            "AccountId": stacksets_delegated_admin,
                            "ServicePrincipal": STACKSETS_PRINCIPAL,
                        }
                    ]
                    if stacksets_delegated_admin
                    else []
                ),
                *(
                    [
                        {
                            "AccountId": identity_center_admin,
                            "ServicePrincipal": IDENTITY_CENTER_PRINCIPAL,
                        }
                    ]
                    if identity_center_admin
                    else []
                ),
                *(
                    [
                        {"AccountId": security_admin, "ServicePrincipal": p}
                        for p in ORGANIZATIONS_DELEGATED
                    ]
                    if security_admin
                    else []
                ),
            ],
            "ServiceAdministrators": (
                {
                    "AccountId": security_admin,
                    "Regions": list(governed_regions),
                    "Services": list(SERVICE_DELEGATED),
                }
                if security_admin
                else {}
            ),
        }
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.handler.function.function_arn,
            resource_type="Custom::OrganizationSettings",
            service_timeout=answer_within(SETTINGS_TIMEOUT),
            properties={**properties, HANDLER_DIGEST: handler_digest("organization_settings")},
        )

    @staticmethod
    def _delegation_permissions(
        management_account_id: str,
        organization_id: str,
        registrations: Mapping[str, Sequence[str]],
        *,
        designates: bool,
    ) -> list[iam.PolicyStatement]:
        """Register each delegated administrator for its own services only, and, with the
        security services' administrator, designate it."""
        register = [
            iam.PolicyStatement(
                sid=f"RegisterDelegatedAdministrator{account}",
                actions=["organizations:RegisterDelegatedAdministrator"],
                resources=[
                    f"arn:aws:organizations::{management_account_id}:account/{organization_id}/{account}"
                ],
                conditions={"StringEquals": {"organizations:ServicePrincipal": sorted(principals)}},
            )
            for account, principals in sorted(registrations.items())
        ]
        if not designates:
            return register
        return [
            *register,
            # What GuardDuty, Inspector, Macie, Detective and Security Hub document that the
            # caller of their administrator designation needs: they read the organisation
            # and the designated account, and register it themselves.
            iam.PolicyStatement(
                sid="ReadTheOrganizationForDesignation",
                actions=[
                    "organizations:DescribeAccount",
                    "organizations:DescribeOrganizationalUnit",
                    "organizations:ListAccounts",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DesignateServiceAdministrators",
                actions=[
                    "detective:EnableOrganizationAdminAccount",
                    "detective:ListOrganizationAdminAccount",  # the IAM action is singular, the API plural
                    "guardduty:EnableOrganizationAdminAccount",
                    "guardduty:ListOrganizationAdminAccounts",
                    "inspector2:EnableDelegatedAdminAccount",
                    "inspector2:ListDelegatedAdminAccounts",
                    "macie2:EnableOrganizationAdminAccount",
                    "macie2:ListOrganizationAdminAccounts",
                    "organizations:ListDelegatedAdministrators",
                    "securityhub:EnableOrganizationAdminAccount",
                    "securityhub:ListOrganizationAdminAccounts",
                ],
                resources=["*"],
            ),
            service_linked_roles_statement(management_account_id, SECURITY_SERVICE_PRINCIPALS),
        ]
