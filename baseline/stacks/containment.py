"""The containment automation of the audit account, one per governed region.

An EventBridge rule takes every GuardDuty finding of the region (the audit account is
GuardDuty's administrator, so the members' findings arrive on its bus) whose severity is
at or above ``incident_response.containment_severity`` and whose resource is an instance
or a role's credentials, to the function ``<prefix>-containment-<region>``. The function
(``baseline/handlers/containment.py``) finds the account's OU path, and where the
config's ``incident_response.containment`` says ``isolate`` it assumes the account's
incident-responder role and contains: the instance isolated and kept as evidence, or the
role's older sessions revoked. It keeps the finding, the instance's description and
console output and the record of every step in the forensics account's evidence bucket,
and tells the security topic what it did. Where the OU says ``notify`` it does nothing:
the finding rules of the home region already page for the finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from baseline import naming
from baseline.compliance import acknowledge
from baseline.config import AccountRole, LandingZoneConfig
from baseline.constructs.baseline_function import BaselineFunction, handler_code

#: The GuardDuty resource types the automation acts on.
RESOURCE_TYPES = ("Instance", "AccessKey")


@dataclass(frozen=True)
class ContainmentSettings:
    """What the containment automation needs, derived once from the config."""

    prefix: str
    organization_id: str | None
    audit_account_id: str
    home_region: str
    severity: float
    modes: tuple[tuple[str, str], ...]  # (OU path, isolate | notify)
    forensics_account_id: str | None
    #: the governed regions, where an instance whose credentials leaked is looked for
    regions: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> ContainmentSettings | None:
        """The settings, or None when no OU isolates (nothing to automate)."""
        response = config.incident_response
        if not response.isolating_ous():
            return None
        return cls(
            prefix=config.organization.prefix,
            organization_id=config.organization.id,
            audit_account_id=config.account_id_for(AccountRole.AUDIT),
            home_region=config.home_region,
            severity=response.containment_severity,
            modes=tuple((path, mode.value) for path, mode in response.containment.items()),
            forensics_account_id=next(
                (a.id for a in config.accounts if a.role == AccountRole.FORENSICS), None
            ),
            regions=tuple(sorted(config.governed_regions)),
        )

    def event_pattern(self) -> dict[str, object]:
        """The findings that start the function (the EventBridge pattern's fields)."""
        return {
            "source": ["aws.guardduty"],
            "detail_type": ["GuardDuty Finding"],
            "detail": {
                "severity": [{"numeric": [">=", self.severity]}],
                "resource": {"resourceType": list(RESOURCE_TYPES)},
            },
        }


class ContainmentAutomation(Construct):
    """The rule and the function that contain what high GuardDuty findings name."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: ContainmentSettings):
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        region, audit, prefix = stack.region, settings.audit_account_id, settings.prefix
        name = naming.containment_function(prefix, region)
        topic = naming.findings_topic_arn(prefix, audit, settings.home_region)
        responder = f"arn:aws:iam::*:role/{naming.incident_responder_role(prefix)}"
        statements = acting_in_member_accounts(
            "ActAsTheRespondersOfTheOrganization",
            role_pattern=responder,
            organization_id=settings.organization_id,
            home_region=settings.home_region,
            audit_account_id=audit,
            prefix=prefix,
        )
        environment = {
            "PREFIX": prefix,
            "MODES": stack.to_json_string(dict(settings.modes)),
            "TOPIC_ARN": topic,
            "REGIONS": json.dumps(list(settings.regions)),
        }
        if settings.forensics_account_id is not None:
            bucket = naming.evidence_bucket(
                prefix, settings.forensics_account_id, settings.home_region
            )
            environment |= {"EVIDENCE_BUCKET": bucket, "EVIDENCE_REGION": settings.home_region}
            statements += [
                iam.PolicyStatement(
                    sid="KeepEvidence",
                    actions=["s3:PutObject", "s3:PutObjectTagging"],
                    resources=[f"arn:aws:s3:::{bucket}/*"],
                ),
                key_by_alias(
                    "EncryptEvidence",
                    settings.home_region,
                    settings.forensics_account_id,
                    naming.evidence_key_alias(prefix),
                    ["kms:GenerateDataKey"],
                ),
            ]
        self.function = BaselineFunction(
            self,
            "Function",
            function_name=name,
            description="Contains the instances and roles that high GuardDuty findings name",
            code=handler_code("containment"),
            handler="containment.handler",
            log_group_name=f"/{prefix}/containment",
            statements=statements,
            wildcard_reasons={
                "Resource::*": "Organizations' read actions on the OU tree and X-Ray accept "
                "any resource, and the account of a finding is not known in advance",
                f"Resource::{responder}": "the responder role of whichever member account "
                "the finding is in, within the organisation",
                **(
                    {
                        f"Resource::arn:aws:s3:::{environment['EVIDENCE_BUCKET']}/*": (
                            "the case's objects, whose keys are made per finding"
                        )
                    }
                    if "EVIDENCE_BUCKET" in environment
                    else {}
                ),
                **{
                    f"Resource::arn:aws:kms:{settings.home_region}:{account}:key/*": (
                        "the one key with the alias, named by the kms:ResourceAliases condition"
                    )
                    for account in sorted({audit, *filter(None, [settings.forensics_account_id])})
                },
            },
            policy_path=naming.baseline_policy_path(prefix),
            placement_reasons={
                "no_vpc": (
                    "The function calls AWS APIs only (STS, Organizations, EC2, Auto Scaling, "
                    "IAM, S3 and SNS) over TLS; the audit account runs no network of its "
                    "own, and the evidence it carries goes straight to the object-locked "
                    "bucket, whose policy admits no other writer."
                ),
                "no_reservation": (
                    "A new account's concurrency quota of 10 must stay unreserved, so "
                    "reserving any would fail the deployment; the function runs once per "
                    "high finding, and Lambda keeps a throttled event in its asynchronous queue "
                    "and tries it again for up to six hours before it goes to the "
                    "dead-letter queue."
                ),
            },
        )
        started_by_findings(
            self,
            self.function,
            environment=environment,
            rule_name=naming.containment_rule(prefix),
            description="High GuardDuty findings on instances and credentials, to containment",
            event_pattern=settings.event_pattern(),
        )
        acknowledge(
            self.function.policy,
            "CKV_AWS_111",
            "The only writes on '*'-patterned resources are sts:AssumeRole of the member "
            "accounts' responder roles, within the organisation, and X-Ray's traces.",
        )


def acting_in_member_accounts(
    sid: str,
    *,
    role_pattern: str,
    organization_id: str | None,
    home_region: str,
    audit_account_id: str,
    prefix: str,
) -> list[iam.PolicyStatement]:
    """What an audit-account function that acts on findings needs: assume the member
    accounts' role of ``role_pattern`` (within the organisation), find an account's OU,
    and tell the findings topic (home region) under its key."""
    return [
        iam.PolicyStatement(
            sid=sid,
            actions=["sts:AssumeRole"],
            resources=[role_pattern],
            conditions=(
                {"StringEquals": {"aws:ResourceOrgID": organization_id}}
                if organization_id
                else None
            ),
        ),
        iam.PolicyStatement(
            sid="FindTheAccountsOu",
            actions=["organizations:DescribeOrganizationalUnit", "organizations:ListParents"],
            resources=["*"],
        ),
        *telling_the_findings_topic(home_region, audit_account_id, prefix),
    ]


def telling_the_findings_topic(
    home_region: str, audit_account_id: str, prefix: str
) -> list[iam.PolicyStatement]:
    """What an audit-account function needs to publish to the findings topic (home
    region), which is encrypted under a key of its own."""
    return [
        iam.PolicyStatement(
            sid="NotifyTheSecurityTopic",
            actions=["sns:Publish"],
            resources=[naming.findings_topic_arn(prefix, audit_account_id, home_region)],
        ),
        key_by_alias(
            "UseTheTopicsKey",
            home_region,
            audit_account_id,
            naming.findings_key_alias(prefix),
            ["kms:Decrypt", "kms:GenerateDataKey"],
        ),
    ]


def started_by_findings(
    scope: Construct,
    function: BaselineFunction,
    *,
    environment: dict[str, str],
    rule_name: str,
    description: str,
    event_pattern: dict[str, object],
) -> events.Rule:
    """The function's environment, and the rule that sends it the findings of
    ``event_pattern``: a failed delivery retried for two hours, then kept in the
    function's dead-letter queue (EventBridge may use the queue's key for it)."""
    for key, value in environment.items():
        function.function.add_environment(key, value)
    assert function.key is not None  # the function's own key
    function.key.grant_service_for_account(
        "events.amazonaws.com",
        sid="FailedEventsToTheDeadLetterQueue",
        actions=("kms:GenerateDataKey*", "kms:Decrypt"),
    )
    rule = events.Rule(
        scope,
        "Rule",
        rule_name=rule_name,
        description=description,
        event_pattern=events.EventPattern(**event_pattern),  # type: ignore[arg-type]
    )
    rule.add_target(
        targets.LambdaFunction(
            function.function,
            dead_letter_queue=function.dead_letter_queue,
            retry_attempts=4,
            max_event_age=cdk.Duration.hours(2),
        )
    )
    return rule


def key_by_alias(
    sid: str, region: str, account: str, alias: str, actions: list[str]
) -> iam.PolicyStatement:
    """Use of the key with ``alias`` in another stack or account, by its alias."""
    return iam.PolicyStatement(
        sid=sid,
        actions=actions,
        resources=[f"arn:aws:kms:{region}:{account}:key/*"],
        conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": [alias]}},
    )
