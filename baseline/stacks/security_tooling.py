"""SecurityTooling: the detective services, administered from the audit account.

One stack per governed region in the audit account, which the Organization stack made the
delegated administrator of GuardDuty, Security Hub, Inspector, Macie, Detective, IAM
Access Analyzer and AWS Config. In every region: organisation-wide auto-enable of
GuardDuty (with its protection plans), Inspector, Macie and Detective; an organisation
external-access analyzer; an organisation Config rule for the data-classification tag.
In the home region: Security Hub central configuration (FSBP and CIS standards for the
whole organisation, findings of every region aggregated here), the unused-access
analyzer, the Config aggregator, and the rules that send high and critical findings to
the security topic, written for a person to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_accessanalyzer as accessanalyzer
from aws_cdk import aws_config as config_
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_securityhub as securityhub
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baseline import naming
from baseline.compliance import acknowledge
from baseline.config import CORE_ROLES, AccountRole, LandingZoneConfig
from baseline.constructs.baseline_function import (
    HANDLER_DIGEST,
    BaselineFunction,
    answer_within,
    handler_code,
    handler_digest,
    service_linked_roles_statement,
)
from baseline.constructs.security_notifications import SecurityNotifications
from baseline.guardrails.org_policies import CLASSIFICATION_TAG, CLASSIFICATION_VALUES
from baseline.reserved_roles import reserved_role_policy
from baseline.stacks.containment import (
    ContainmentAutomation,
    ContainmentSettings,
    telling_the_findings_topic,
)
from baseline.stacks.remediation import RemediationAutomation, RemediationSettings

#: GuardDuty protection plans turned on for every member (SEC04-BP01, SEC06-BP01).
GUARDDUTY_FEATURES = (
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
)


def standards(region: str) -> list[str]:
    """The Security Hub standards every account runs: AWS FSBP and CIS v5.0.0."""
    return [
        f"arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0",
        f"arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/5.0.0",
    ]


#: (source, detail-type, detail pattern, what to say) of the findings routed to people.
def finding_rules(home_region: str) -> dict[str, dict[str, Any]]:
    """EventBridge patterns of the high and critical findings that page a person.

    Findings of other regions reach the home region through Security Hub aggregation, so
    the native rules cover the home region and Security Hub covers the rest without
    announcing a finding twice. A Security Hub finding pages while it is active and new
    (an archived one, or one a person has taken up, does not), and Access Analyzer's from
    other regions whatever their severity, as the native rule does in the home region.
    """
    native = ["GuardDuty", "Inspector", "IAM Access Analyzer"]  # Security Hub's ProductName
    current = {"Workflow": {"Status": ["NEW"]}, "RecordState": ["ACTIVE"]}
    elsewhere = [{"anything-but": home_region}]
    return {
        "GuardDuty": {
            "source": ["aws.guardduty"],
            "detail_type": ["GuardDuty Finding"],
            "detail": {"severity": [{"numeric": [">=", 7]}]},
        },
        "Inspector": {
            "source": ["aws.inspector2"],
            "detail_type": ["Inspector2 Finding"],
            "detail": {"severity": ["HIGH", "CRITICAL"], "status": ["ACTIVE"]},
        },
        "AccessAnalyzer": {
            "source": ["aws.access-analyzer"],
            "detail_type": ["Access Analyzer Finding"],
            "detail": {"status": ["ACTIVE"]},
        },
        "SecurityHub": {
            "source": ["aws.securityhub"],
            "detail_type": ["Security Hub Findings - Imported"],
            "detail": {
                "findings": {
                    "Severity": {"Label": ["HIGH", "CRITICAL"]},
                    **current,
                    "ProductName": [{"anything-but": native}],
                }
            },
        },
        "SecurityHubOtherRegions": {
            "source": ["aws.securityhub"],
            "detail_type": ["Security Hub Findings - Imported"],
            "detail": {
                "findings": {
                    "Severity": {"Label": ["HIGH", "CRITICAL"]},
                    **current,
                    "ProductName": native[:2],
                    "Region": elsewhere,
                }
            },
        },
        "AccessAnalyzerOtherRegions": {
            "source": ["aws.securityhub"],
            "detail_type": ["Security Hub Findings - Imported"],
            "detail": {"findings": {**current, "ProductName": native[2:], "Region": elsewhere}},
        },
    }


#: Where each finding rule's events name the finding's own account and region: the
#: event's envelope names the audit account, which receives every member's findings,
#: and, for Security Hub, the home region, which aggregates the others'.
_IN_SECURITY_HUB = ("$.detail.findings[0].AwsAccountId", "$.detail.findings[0].Region")
FINDING_ORIGIN: dict[str, tuple[str, str]] = {
    "GuardDuty": ("$.detail.accountId", "$.detail.region"),
    "Inspector": ("$.detail.awsAccountId", "$.detail.resources[0].region"),
    "AccessAnalyzer": ("$.detail.accountId", "$.detail.region"),
    "SecurityHub": _IN_SECURITY_HUB,
    "SecurityHubOtherRegions": _IN_SECURITY_HUB,
    "AccessAnalyzerOtherRegions": _IN_SECURITY_HUB,
}

#: What each finding rule's page says needs a person.
FINDING_WHAT = {
    "GuardDuty": "A high or critical GuardDuty finding needs a person.",
    "Inspector": "A high or critical Inspector finding needs a person.",
    "AccessAnalyzer": "An active Access Analyzer finding (access from outside) needs a person.",
    "SecurityHub": "A high or critical Security Hub finding needs a person.",
    "SecurityHubOtherRegions": "A high or critical finding of another region needs a person.",
    "AccessAnalyzerOtherRegions": (
        "An active Access Analyzer finding of another region (access from outside) needs a person."
    ),
}


#: The organisation's credential-hygiene rules: construct id -> (managed rule, parameters).
CREDENTIAL_RULES: dict[str, tuple[str, dict[str, str]]] = {
    "AccessKeysRotated": ("ACCESS_KEYS_ROTATED", {"maxAccessKeyAge": "90"}),
    "UnusedCredentials": (
        "IAM_USER_UNUSED_CREDENTIALS_CHECK",
        {"maxCredentialUsageAge": "45"},
    ),
    "RootAccessKeys": ("IAM_ROOT_ACCESS_KEY_CHECK", {}),
    "ConsoleMfa": ("MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS", {}),
}


@dataclass(frozen=True)
class SecurityToolingSettings:
    """What the SecurityTooling stacks need, derived once from the config."""

    prefix: str
    audit_account_id: str
    home_region: str
    governed_regions: tuple[str, ...]
    root_id: str
    notification_email: str
    #: the Guard policy of the rule that reports look-alikes of the exempt roles
    reserved_role_policy: str
    #: the containment automation, where some OU isolates
    containment: ContainmentSettings | None = None
    #: the remediation automation (home region), where some OU remediates
    remediation: RemediationSettings | None = None

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> SecurityToolingSettings:
        return cls(
            reserved_role_policy=reserved_role_policy(
                prefix=config.organization.prefix,
                management_account_id=config.account_id_for(AccountRole.MANAGEMENT),
                core_account_ids=[config.account_id_for(role) for role in CORE_ROLES],
                audit_account_id=config.account_id_for(AccountRole.AUDIT),
                network_account_id=config.account_id_for(AccountRole.NETWORK),
            ),
            prefix=config.organization.prefix,
            audit_account_id=config.account_id_for(AccountRole.AUDIT),
            home_region=config.home_region,
            governed_regions=tuple(config.governed_regions),
            root_id=str(config.organization.root_id),
            notification_email=config.security_notification_email,
            containment=ContainmentSettings.from_config(config),
            remediation=RemediationSettings.from_config(config),
        )


class SecurityToolingStack(cdk.Stack):
    """Detective services for the whole organisation, in one governed region.

    Implements SEC04-BP01/BP02/BP03 (detect, aggregate, alert), SEC06-BP01 (vulnerability
    management), SEC03-BP07 (external and unused access analysis), SEC07-BP03 (Macie).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: SecurityToolingSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        prefix = settings.prefix
        region = self.region
        home = region == settings.home_region
        audit = settings.audit_account_id
        # with one governed region the function makes the home region's finding aggregator
        # (Custom::FindingAggregator, below); nowhere else does it touch one
        makes_aggregator = home and tuple(settings.governed_regions) == (region,)
        self._makes_aggregator = makes_aggregator
        aggregator_actions = (
            ["securityhub:CreateFindingAggregator", "securityhub:ListFindingAggregators"]
            if makes_aggregator
            else []
        )

        findings_topic = naming.findings_topic_arn(prefix, audit, settings.home_region)
        self.services = BaselineFunction(
            self,
            "SecurityServices",
            function_name=f"{naming.security_services_function(prefix)}-{region}",
            description="Turns on the detective services for every member of the organisation",
            code=handler_code("security_services"),
            handler="security_services.handler",
            log_group_name=f"/{prefix}/security-services",
            timeout=cdk.Duration.minutes(10),
            statements=[
                iam.PolicyStatement(
                    sid="EnableForTheOrganization",
                    actions=[
                        "detective:CreateGraph",
                        "detective:ListGraphs",
                        "detective:UpdateOrganizationConfiguration",
                        "guardduty:CreateDetector",
                        "guardduty:ListDetectors",
                        "guardduty:UpdateDetector",
                        "guardduty:UpdateOrganizationConfiguration",
                        "detective:CreateMembers",
                        "detective:ListMembers",
                        "inspector2:AssociateMember",
                        "inspector2:Enable",
                        "inspector2:ListMembers",
                        "macie2:CreateMember",
                        "macie2:ListMembers",
                        "inspector2:UpdateOrganizationConfiguration",
                        "macie2:EnableMacie",
                        "macie2:UpdateOrganizationConfiguration",
                        *aggregator_actions,
                        "organizations:DescribeOrganization",
                        "organizations:ListAccounts",
                        "organizations:ListDelegatedAdministrators",
                    ],
                    resources=["*"],
                ),
                # the home region's finding aggregator (one an account)
                *(
                    [
                        iam.PolicyStatement(
                            sid="LinkRegionsToTheAggregator",
                            actions=["securityhub:UpdateFindingAggregator"],
                            resources=[
                                f"arn:aws:securityhub:{region}:{audit}:finding-aggregator/*"
                            ],
                        )
                    ]
                    if makes_aggregator
                    else []
                ),
                # member enrolments that failed are told to the findings topic
                *telling_the_findings_topic(settings.home_region, audit, prefix),
                # a large organisation's enrolment goes on in a fresh invocation
                iam.PolicyStatement(
                    sid="ContinueInAFreshInvocation",
                    actions=["lambda:InvokeFunction"],
                    resources=[
                        f"arn:aws:lambda:{region}:{audit}:function:"
                        f"{naming.security_services_function(prefix)}-{region}"
                    ],
                ),
                service_linked_roles_statement(
                    audit,
                    [
                        "agentless.inspector2.amazonaws.com",
                        "detective.amazonaws.com",
                        "guardduty.amazonaws.com",
                        "inspector2.amazonaws.com",
                        "macie.amazonaws.com",
                        "malware-protection.guardduty.amazonaws.com",
                    ],
                ),
            ],
            wildcard_reasons={
                "Resource::*": "these organisation-configuration and X-Ray actions accept no resource-level permissions",
                **(
                    {
                        f"Resource::arn:aws:securityhub:{region}:{audit}:finding-aggregator/*": (
                            "an account holds one finding aggregator, whose id Security Hub "
                            "makes when it creates it; the function only updates the one it "
                            "finds there"
                        )
                    }
                    if makes_aggregator
                    else {}
                ),
                f"Resource::arn:aws:iam::{audit}:role/aws-service-role/*": (
                    "the detective services create their own service-linked roles, limited by "
                    "iam:AWSServiceName to those services"
                ),
                f"Resource::arn:aws:kms:{settings.home_region}:{audit}:key/*": (
                    "the one key with the findings topic's alias, named by the "
                    "kms:ResourceAliases condition"
                ),
            },
            policy_path=naming.baseline_policy_path(prefix),
        )
        acknowledge(
            self.services.policy,
            "CKV_AWS_111",
            "The write actions on '*' enable a service, its organisation configuration or "
            "its delegated administrator for the whole account or organisation; the "
            "resources they create do not exist before the call, so no ARN can name them, "
            "and only the custom resource's own function holds the policy.",
        )
        self.organization_wide = cdk.CustomResource(
            self,
            "OrganizationWide",
            service_token=self.services.function.function_arn,
            resource_type="Custom::SecurityServices",
            # (no service_timeout: a large organisation's enrolment goes on in fresh
            # invocations, each answering when it is the last; CloudFormation's hour holds)
            properties={
                HANDLER_DIGEST: handler_digest("security_services"),
                "Services": ["detective", "guardduty", "inspector2", "macie2"],
                "GuardDutyFeatures": list(GUARDDUTY_FEATURES),
                "AccountId": audit,
                "FailureTopicArn": findings_topic,
            },
        )
        kept: list[cdk.CfnResource] = [
            accessanalyzer.CfnAnalyzer(
                self,
                "ExternalAccess",
                analyzer_name=f"{prefix}-organization-external-access",
                type="ORGANIZATION",
            )
        ]
        classification = config_.CfnOrganizationConfigRule(
            self,
            "ClassificationTagRule",
            organization_config_rule_name=f"{prefix}-data-classification-tag",
            organization_managed_rule_metadata=config_.CfnOrganizationConfigRule.OrganizationManagedRuleMetadataProperty(
                rule_identifier="REQUIRED_TAGS",
                description="Data stores carry the data-classification tag the tag policy defines",
                input_parameters=cdk.Stack.of(self).to_json_string(
                    {"tag1Key": CLASSIFICATION_TAG, "tag1Value": ",".join(CLASSIFICATION_VALUES)}
                ),
                resource_types_scope=[
                    "AWS::S3::Bucket",
                    "AWS::DynamoDB::Table",
                    "AWS::RDS::DBInstance",
                    "AWS::EC2::Volume",
                ],
            ),
        )
        kept.append(classification)
        if home:
            kept += self._home_region(settings, audit)
        # removing the stack, or replacing one of them, must not turn detection off: the
        # analyzers (and their findings), the organisation's rules, the aggregators and
        # Security Hub's central configuration stay, as the security-services function's
        # enablements do
        for resource in kept:
            resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        if settings.containment is not None:
            ContainmentAutomation(self, "Containment", settings=settings.containment)
        if home and settings.remediation is not None:
            RemediationAutomation(self, "Remediation", settings=settings.remediation)

    def _home_region(self, settings: SecurityToolingSettings, audit: str) -> list[cdk.CfnResource]:
        """The home region's part; returns the resources that must outlive the stack."""
        prefix = settings.prefix
        kept: list[cdk.CfnResource] = []
        # Credential hygiene (SEC02-BP05, CIS 1.4, 1.10, 1.12, 1.14): periodic rules over
        # global IAM resources, so they run in the home region only
        for name, (identifier, parameters) in CREDENTIAL_RULES.items():
            credential_rule = config_.CfnOrganizationConfigRule(
                self,
                f"{name}Rule",
                organization_config_rule_name=f"{prefix}-{identifier.lower().replace('_', '-')}",
                organization_managed_rule_metadata=config_.CfnOrganizationConfigRule.OrganizationManagedRuleMetadataProperty(
                    rule_identifier=identifier,
                    input_parameters=(
                        cdk.Stack.of(self).to_json_string(parameters) if parameters else None
                    ),
                    maximum_execution_frequency="TwentyFour_Hours",
                ),
            )
            kept.append(credential_rule)
        # IAM roles are recorded in the home region only, so the rule lives there
        reserved = config_.CfnOrganizationConfigRule(
            self,
            "ReservedRoleNamesRule",
            organization_config_rule_name=f"{prefix}-reserved-role-names",
            organization_custom_policy_rule_metadata=config_.CfnOrganizationConfigRule.OrganizationCustomPolicyRuleMetadataProperty(
                description=(
                    "A role with a name the guardrails exempt is the landing zone's or AWS's "
                    "own, in the accounts where it lives, with the trust it has"
                ),
                runtime="guard-2.x.x",
                policy_text=settings.reserved_role_policy,
                resource_types_scope=["AWS::IAM::Role"],
                organization_config_rule_trigger_types=["ConfigurationItemChangeNotification"],
            ),
        )
        others = [r for r in settings.governed_regions if r != settings.home_region]
        unused = accessanalyzer.CfnAnalyzer(
            self,
            "UnusedAccess",
            analyzer_name=f"{prefix}-organization-unused-access",
            type="ORGANIZATION_UNUSED_ACCESS",
            analyzer_configuration=accessanalyzer.CfnAnalyzer.AnalyzerConfigurationProperty(
                unused_access_configuration=accessanalyzer.CfnAnalyzer.UnusedAccessConfigurationProperty(
                    unused_access_age=90
                )
            ),
        )
        aggregator_role = iam.Role(
            self,
            "AggregatorRole",
            description="AWS Config reads the organisation to aggregate every account",
            assumed_by=iam.ServicePrincipal(
                "config.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": audit}}
            ),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSConfigRoleForOrganizations"
                )
            ],
        )
        acknowledge(
            aggregator_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSConfigRoleForOrganizations]",
            "AWSConfigRoleForOrganizations is the AWS-maintained policy for exactly this role (read "
            "the organisation's accounts); AWS keeps it current, which a hand-written copy would not.",
        )
        config_aggregator = config_.CfnConfigurationAggregator(
            self,
            "Aggregator",
            configuration_aggregator_name=f"{prefix}-organization",
            organization_aggregation_source=config_.CfnConfigurationAggregator.OrganizationAggregationSourceProperty(
                role_arn=aggregator_role.role_arn,
                aws_regions=list(settings.governed_regions),
                all_aws_regions=False,
            ),
        )

        # central configuration needs the aggregator even where no other region is governed;
        # CloudFormation's AWS::SecurityHub::FindingAggregator takes neither NO_REGIONS nor
        # an empty Regions list, so with one region the security-services function makes
        # it (under an id of its own: a type cannot change under one logical id)
        kept += [reserved, unused, config_aggregator]
        aggregator: cdk.CfnResource | cdk.CustomResource
        if not self._makes_aggregator:
            aggregator = securityhub.CfnFindingAggregator(
                self, "FindingAggregator", region_linking_mode="SPECIFIED_REGIONS", regions=others
            )
            # retained: going to one governed region, the custom resource below takes this
            # aggregator over, and CloudFormation's cleanup must not then delete it
            kept.append(aggregator)
        else:
            aggregator = cdk.CustomResource(
                self,
                "FindingAggregatorNoRegions",
                service_token=self.services.function.function_arn,
                resource_type="Custom::FindingAggregator",
                service_timeout=answer_within(self.services.timeout),
                properties={
                    HANDLER_DIGEST: handler_digest("security_services"),
                    "LinkedRegions": [],
                },
            )
        organization = securityhub.CfnOrganizationConfiguration(
            self,
            "CentralConfiguration",
            auto_enable=False,
            auto_enable_standards="NONE",
            configuration_type="CENTRAL",
        )
        organization.node.add_dependency(aggregator)
        policy = securityhub.CfnConfigurationPolicy(
            self,
            "Standards",
            name=f"{prefix}-security-hub",
            description="Security Hub on in every account, with AWS FSBP and CIS v5.0.0",
            configuration_policy=securityhub.CfnConfigurationPolicy.PolicyProperty(
                security_hub=securityhub.CfnConfigurationPolicy.SecurityHubPolicyProperty(
                    service_enabled=True,
                    enabled_standard_identifiers=standards(settings.home_region),
                    security_controls_configuration=securityhub.CfnConfigurationPolicy.SecurityControlsConfigurationProperty(
                        disabled_security_control_identifiers=[]
                    ),
                )
            ),
        )
        policy.add_resource_dependency(organization)
        association = securityhub.CfnPolicyAssociation(
            self,
            "StandardsEverywhere",
            configuration_policy_id=policy.attr_id,
            target_id=settings.root_id,
            target_type="ROOT",
        )
        kept += [organization, policy, association]

        self.notifications = SecurityNotifications(
            self,
            "Notifications",
            topic_name=naming.findings_topic(prefix),
            email=settings.notification_email,
            publishers=["events.amazonaws.com"],
            key_alias=naming.findings_key_alias(prefix),
        )
        # the enrolment tells this topic what failed: in its region, once the topic is there
        self.organization_wide.node.add_dependency(self.notifications.topic)
        # the rules publish as a role of this account: the CDK's own way adds, to the
        # topic's policy and its key's, a grant to events.amazonaws.com without any
        # condition, which a rule of another account could use too
        delivery_role = iam.Role(
            self,
            "FindingsDelivery",
            description="EventBridge's finding rules publish to the security topic as this role",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": audit}}
            ),
            managed_policies=[
                iam.ManagedPolicy(
                    self,
                    "FindingsDeliveryPolicy",
                    description="Publish to the security topic, under its key",
                    statements=[
                        iam.PolicyStatement(
                            actions=["sns:Publish"], resources=[self.notifications.topic.topic_arn]
                        ),
                        iam.PolicyStatement(
                            actions=["kms:Decrypt", "kms:GenerateDataKey"],
                            resources=[self.notifications.key.key_arn],
                        ),
                    ],
                )
            ],
        )

        for name, pattern in finding_rules(settings.home_region).items():
            rule = events.Rule(
                self,
                f"{name}Findings",
                rule_name=naming.finding_rule(prefix, name),
                description=f"{name} findings that need a person, to the security topic",
                event_pattern=events.EventPattern(**pattern),
            )
            rule.add_target(
                _TopicAsRole(
                    self.notifications.topic,
                    delivery_role,
                    self.notifications.undelivered,
                    events.RuleTargetInput.from_object(
                        {
                            "what": FINDING_WHAT[name],
                            "act": (
                                "Open it in the audit account's console for the service, "
                                "triage it within the hour, and follow docs/detection.md."
                            ),
                            # the finding's, not the envelope's (the audit account)
                            "account": events.EventField.from_path(FINDING_ORIGIN[name][0]),
                            "region": events.EventField.from_path(FINDING_ORIGIN[name][1]),
                            "type": events.EventField.detail_type,
                            "time": events.EventField.time,
                            "finding": events.EventField.from_path("$.detail"),
                        }
                    ),
                )
            )
        return kept


@jsii.implements(events.IRuleTarget)
class _TopicAsRole:
    """A rule target that publishes to a topic as a role of the rule's account, whose own
    policy allows it. The CDK's ``SnsTopic`` grants ``events.amazonaws.com`` the topic and
    its key without any condition (or, given a role, writes it an inline policy); the
    undelivered events go to ``dead_letter_queue``, which only this rule may fill."""

    def __init__(
        self,
        topic: sns.ITopic,
        role: iam.IRole,
        dead_letter_queue: sqs.IQueue,
        message: events.RuleTargetInput,
    ) -> None:
        self.topic, self.role, self.queue, self.message = topic, role, dead_letter_queue, message

    def bind(self, rule: Any, id: str | None = None) -> events.RuleTargetConfig:
        """The target's configuration for ``rule`` (an ``events.Rule``)."""
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowEventRule{cdk.Names.node_unique_id(rule.node)}",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=self.topic.topic_arn,
            role=self.role,
            input=self.message,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.queue.queue_arn),
        )
