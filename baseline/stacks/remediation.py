"""The remediation automation of the audit account, in the home region.

Security Hub's central configuration runs its controls, as AWS Config rules, in every
account and region; their findings are aggregated into the audit account's home region.
An EventBridge rule there sends the new failed findings of the controls that
``baseline/handlers/remediation.py`` remediates (a security group open to the world on
SSH or RDP, a bucket that does not block public access) to the function
``<prefix>-remediator``. Where ``incident_response.remediation`` says the account's OU
remediates, it starts the AWS-managed runbook in the account as its
``<prefix>-remediation`` role and tells the security topic what it did.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from baseline import naming
from baseline.compliance import acknowledge
from baseline.config import AccountRole, LandingZoneConfig
from baseline.constructs.baseline_function import BaselineFunction, handler_code
from baseline.handlers.remediation import CONTROLS, PRODUCT
from baseline.stacks.containment import acting_in_member_accounts, started_by_findings


@dataclass(frozen=True)
class RemediationSettings:
    """What the remediation automation needs, derived once from the config."""

    prefix: str
    organization_id: str | None
    audit_account_id: str
    home_region: str
    modes: tuple[tuple[str, str], ...]  # (OU path, remediate | notify)

    @classmethod
    def from_config(cls, config: LandingZoneConfig) -> RemediationSettings | None:
        """The settings, or None when no OU remediates."""
        response = config.incident_response
        if not response.remediating_ous():
            return None
        return cls(
            prefix=config.organization.prefix,
            organization_id=config.organization.id,
            audit_account_id=config.account_id_for(AccountRole.AUDIT),
            home_region=config.home_region,
            modes=tuple((path, mode.value) for path, mode in response.remediation.items()),
        )

    @staticmethod
    def event_pattern() -> dict[str, object]:
        """The findings that start the function (the EventBridge pattern's fields)."""
        return {
            "source": ["aws.securityhub"],
            "detail_type": ["Security Hub Findings - Imported"],
            "detail": {
                "findings": {
                    # Security Hub's own findings only: a member account can import
                    # findings of its own product, never of this one
                    "ProductArn": [{"suffix": PRODUCT}],
                    "Compliance": {
                        "SecurityControlId": sorted(CONTROLS),
                        "Status": ["FAILED"],
                    },
                    "RecordState": ["ACTIVE"],
                    "Workflow": {"Status": ["NEW"]},
                }
            },
        }


class RemediationAutomation(Construct):
    """The rule and the function that remediate the failed controls of ``RUNBOOKS``."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: RemediationSettings):
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        audit, prefix, home = settings.audit_account_id, settings.prefix, settings.home_region
        topic = naming.findings_topic_arn(prefix, audit, home)
        role = f"arn:aws:iam::*:role/{naming.remediation_role(prefix)}"
        self.function = BaselineFunction(
            self,
            "Function",
            function_name=naming.remediation_function(prefix),
            description="Undoes the misconfiguration of a failed security control",
            code=handler_code("remediation", "containment"),
            handler="remediation.handler",
            log_group_name=f"/{prefix}/remediation",
            timeout=cdk.Duration.minutes(5),
            statements=[
                *acting_in_member_accounts(
                    "ActAsTheRemediationRolesOfTheOrganization",
                    role_pattern=role,
                    organization_id=settings.organization_id,
                    home_region=home,
                    audit_account_id=audit,
                    prefix=prefix,
                ),
                iam.PolicyStatement(
                    sid="MarkTheFindingsNotified",
                    actions=["securityhub:BatchUpdateFindings"],
                    resources=[f"arn:aws:securityhub:{home}:{audit}:hub/default"],
                ),
            ],
            wildcard_reasons={
                "Resource::*": "Organizations' read actions on the OU tree and X-Ray accept "
                "any resource, and the account of a finding is not known in advance",
                f"Resource::{role}": "the remediation role of whichever member account the "
                "finding is in, within the organisation",
                f"Resource::arn:aws:kms:{home}:{audit}:key/*": (
                    "the one key with the alias, named by the kms:ResourceAliases condition"
                ),
            },
            policy_path=naming.baseline_policy_path(prefix),
            placement_reasons={
                "no_vpc": (
                    "The function calls AWS APIs only (STS, Organizations, EC2, Systems "
                    "Manager, Security Hub and SNS) over TLS and handles no data; the audit "
                    "account runs no network of its own."
                ),
                "no_reservation": (
                    "A new account's concurrency quota of 10 must stay unreserved, so "
                    "reserving any would fail the deployment; the function runs once per "
                    "failed control, and Lambda keeps a throttled event in its asynchronous queue "
                    "and tries it again for up to six hours before it goes to the "
                    "dead-letter queue."
                ),
            },
        )
        started_by_findings(
            self,
            self.function,
            environment={
                "PREFIX": prefix,
                "MODES": stack.to_json_string(dict(settings.modes)),
                "TOPIC_ARN": topic,
            },
            rule_name=naming.remediation_rule(prefix),
            description="Failed security controls that the kit remediates, to the remediator",
            event_pattern=settings.event_pattern(),
        )
        acknowledge(
            self.function.policy,
            "CKV_AWS_111",
            "The only write on a '*'-patterned resource is sts:AssumeRole of the member "
            "accounts' remediation roles, within the organisation, and X-Ray's traces.",
        )
