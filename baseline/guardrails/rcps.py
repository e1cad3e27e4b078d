"""The resource control policy library: the organisation's data perimeter.

RCPs apply to resources in member accounts whoever calls them, so they stop principals
outside the organisation even when a resource policy is too open. AWS service principals
are kept apart (``aws:PrincipalIsAWSService``) and are pinned to the organisation by the
confused-deputy statement instead. A resource that must be reached from outside (a
third-party role, say) carries the exception tag, which only the baseline may set.
"""

from __future__ import annotations

from baseline import naming
from baseline.guardrails.model import ROOT, Guardrail, PolicyType, Statement
from baseline.guardrails.scps import GuardrailContext

#: Services whose resources the whole perimeter covers: identity, confused deputy and TLS
#: (AWS's own data-perimeter examples cover exactly these for service principals).
PERIMETER_SERVICES = ("kms:*", "s3:*", "secretsmanager:*", "sqs:*")
#: Further services of AWS's list of services that support RCPs, whose resources a landing
#: zone's workloads hold (tables, container images, log groups): the identity perimeter and
#: TLS cover them. Services with unauthenticated public calls (Cognito user pools) are left
#: out on purpose: an identity perimeter would refuse their sign-ins.
IDENTITY_PERIMETER_SERVICES = ("dynamodb:*", "ecr:*", "logs:*")
#: STS actions a principal outside the organisation could call on a role of ours. The web
#: identity and SAML federation calls are left out: their callers are never AWS principals.
STS_ACTIONS = (
    "sts:AssumeRole",
    "sts:DecodeAuthorizationMessage",
    "sts:GetAccessKeyInfo",
    "sts:GetFederationToken",
    "sts:GetServiceBearerToken",
    "sts:GetSessionToken",
    "sts:SetContext",
)


#: The AWS account through which Elastic Load Balancing delivers access logs to S3 in the
#: regions that began before August 2022 (the later ones use the service principal
#: ``logdelivery.elasticloadbalancing.amazonaws.com``, which the perimeter spares as it
#: spares every AWS service). These callers are neither an AWS service nor of the
#: organisation: without them, no load balancer in those regions could log to S3.
#: ``tests/guardrails/test_behaviour.py`` checks the table against the CDK's region facts.
ELB_LOG_DELIVERY_ACCOUNTS = {
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
}


def _deny_all(
    sid: str, actions: tuple[str, ...], condition: dict[str, dict[str, object]]
) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": sorted(actions),
        "Resource": "*",
        "Condition": condition,
    }


def rcp_library(context: GuardrailContext) -> list[Guardrail]:
    """Every RCP guardrail, attached at the root."""
    org = context.organization_id
    tag = naming.perimeter_exception_tag(context.prefix)
    load_balancing = sorted(
        {
            ELB_LOG_DELIVERY_ACCOUNTS[region]
            for region in context.governed_regions
            if region in ELB_LOG_DELIVERY_ACCOUNTS
        }
    )
    spared: dict[str, object] = {"aws:PrincipalAccount": load_balancing} if load_balancing else {}
    return [
        Guardrail(
            id="RCP-IDENTITY-PERIMETER",
            purpose="Only principals of the organisation (and AWS services) reach its S3, KMS, SQS, Secrets Manager, DynamoDB, ECR, CloudWatch Logs and STS resources.",
            policy_type=PolicyType.RCP,
            best_practices=("SEC03-BP07", "SEC03-BP08", "SEC08-BP04"),
            statements=(
                _deny_all(
                    "EnforceOrgIdentities",
                    (*PERIMETER_SERVICES, *IDENTITY_PERIMETER_SERVICES, *STS_ACTIONS),
                    {
                        "StringNotEqualsIfExists": {
                            "aws:PrincipalOrgID": org,
                            **spared,
                            f"aws:ResourceTag/{tag}": "true",
                        },
                        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                    },
                ),
            ),
            attach_to=(ROOT,),
            exemptions=(
                "AWS service principals (see the confused-deputy guardrail)",
                f"resources tagged {tag}=true (the tag only the baseline can set)",
                "the accounts through which Elastic Load Balancing delivers access logs in "
                "the governed regions that began before August 2022",
            ),
        ),
        Guardrail(
            id="RCP-CONFUSED-DEPUTY",
            purpose="AWS services act on the organisation's resources only on behalf of the organisation's own resources.",
            policy_type=PolicyType.RCP,
            best_practices=("SEC03-BP08",),
            statements=(
                _deny_all(
                    "EnforceConfusedDeputyProtection",
                    (*PERIMETER_SERVICES, "sts:*"),
                    {
                        "StringNotEqualsIfExists": {"aws:SourceOrgID": org},
                        "Null": {"aws:SourceAccount": "false"},
                        "Bool": {"aws:PrincipalIsAWSService": "true"},
                    },
                ),
            ),
            attach_to=(ROOT,),
            exemptions=("service requests that carry no source (aws:SourceAccount absent)",),
        ),
        Guardrail(
            id="RCP-SECURE-TRANSPORT",
            purpose="Requests to the organisation's S3, KMS, SQS, Secrets Manager, DynamoDB, ECR, CloudWatch Logs and STS resources use TLS.",
            policy_type=PolicyType.RCP,
            best_practices=("SEC09-BP02",),
            cis=("2.1.1",),
            statements=(
                _deny_all(
                    "EnforceSecureTransport",
                    (*PERIMETER_SERVICES, *IDENTITY_PERIMETER_SERVICES, "sts:*"),
                    {"BoolIfExists": {"aws:SecureTransport": "false"}},
                ),
            ),
            attach_to=(ROOT,),
        ),
    ]
