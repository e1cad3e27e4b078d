"""The workload permissions boundary: what no role or user of a workload may ever do.

A permissions boundary grants nothing; it caps what a principal's own policies can grant
(SEC03-BP02, SEC03-BP05). Every role and user a workload creates carries this one, and
cannot shed it or create a principal without it, so no one escapes it by making a new
role (no privilege escalation). It also keeps the baseline out of reach: its roles,
keys, trails and log buckets, the organisation, and the boundary itself.

No CDK here: the member baseline writes the document, the guardrail tests evaluate it.
"""

from __future__ import annotations

from typing import Any

from baseline import naming

#: Creating or re-bounding a principal: each must name the boundary.
BOUNDED_CREATIONS = (
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:PutRolePermissionsBoundary",
    "iam:PutUserPermissionsBoundary",
)
#: Changing what an existing principal may do, or who may assume a role.
GRANT_CHANGES = (
    "iam:AttachRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:AttachUserPolicy",
    "iam:DeleteUserPolicy",
    "iam:DetachUserPolicy",
    "iam:PutUserPolicy",
)
#: Removing a boundary.
BOUNDARY_REMOVALS = ("iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary")
#: Changing a managed policy's content or existence.
POLICY_CHANGES = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)


#: The verbs of every Organizations action that changes something (leaving included).
ORGANIZATION_WRITES = (
    "Accept",
    "Attach",
    "Cancel",
    "Create",
    "Decline",
    "Delete",
    "Deregister",
    "Detach",
    "Disable",
    "Enable",
    "Invite",
    "Leave",
    "Move",
    "Put",
    "Register",
    "Remove",
    "Tag",
    "Untag",
    "Update",
)


#: What a workload's instance role does to write Session Manager transcripts to the log
#: archive, and with which keys (the session key, the log archive's through S3).
SESSION_LOG_WRITES = ("s3:GetEncryptionConfiguration", "s3:PutObject")
KEY_USES = ("kms:Decrypt", "kms:GenerateDataKey")


def workload_boundary_document(
    prefix: str, log_archive_account_id: str | None = None
) -> dict[str, Any]:
    """The boundary policy document (account-independent)."""
    boundary = naming.workload_boundary_pattern(prefix)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # the principal's own policies decide; the statements below cap them
                "Sid": "AllowWhatOwnPoliciesGrant",
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
            },
            {
                "Sid": "NoPrincipalWithoutTheBoundary",
                "Effect": "Deny",
                "Action": list(BOUNDED_CREATIONS),
                "Resource": "*",
                "Condition": {"ArnNotLike": {"iam:PermissionsBoundary": boundary}},
            },
            {
                # a principal without the boundary (OrganizationAccountAccessRole, the CDK
                # bootstrap roles, anything made before the baseline) is not to be given more
                # or made to trust someone else: a bounded role would act through it unbounded
                "Sid": "NoChangeToUnboundedPrincipals",
                "Effect": "Deny",
                "Action": list(GRANT_CHANGES),
                "Resource": "*",
                "Condition": {"ArnNotLike": {"iam:PermissionsBoundary": boundary}},
            },
            {
                "Sid": "KeepTheBoundaryOn",
                "Effect": "Deny",
                "Action": list(BOUNDARY_REMOVALS),
                "Resource": "*",
            },
            {
                "Sid": "LeaveTheBoundaryAsItIs",
                "Effect": "Deny",
                "Action": list(POLICY_CHANGES),
                "Resource": boundary,
            },
            {
                "Sid": "NothingOnTheBaseline",
                "Effect": "Deny",
                "Action": "*",
                "Resource": [
                    naming.baseline_role_pattern(prefix),
                    naming.stackset_execution_role_pattern(),
                    f"arn:aws:iam::*:role/cdk-{naming.CDK_QUALIFIER}-*",
                    naming.baseline_policy_pattern(prefix),
                    f"arn:aws:cloudtrail:*:*:trail/{prefix}-*",
                ],
            },
            # the baseline's buckets: nothing but Session Manager's transcripts, written
            # into the log archive, whose bucket policy admits them below the account's id
            # alone (an instance's own profile needs that, and a bounded role can hold it)
            {
                "Sid": "NothingOnTheBaselineBuckets",
                "Effect": "Deny",
                "NotAction": list(SESSION_LOG_WRITES),
                "Resource": [f"arn:aws:s3:::{prefix}-*"],
            },
            {
                "Sid": "SessionLogsOnlyToTheLogArchive",
                "Effect": "Deny",
                "Action": list(SESSION_LOG_WRITES),
                "Resource": [f"arn:aws:s3:::{prefix}-*"],
                **(
                    {
                        "Condition": {
                            "StringNotEquals": {"aws:ResourceAccount": log_archive_account_id}
                        }
                    }
                    if log_archive_account_id
                    else {}
                ),
            },
            # the baseline's keys: nothing but using the session key of the account, and the
            # log archive's key through S3 (for the transcripts)
            {
                "Sid": "NothingOnTheBaselineKeys",
                "Effect": "Deny",
                "NotAction": list(KEY_USES),
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringLike": {"kms:ResourceAliases": f"alias/{prefix}/*"}
                },
            },
            {
                "Sid": "OnlyTheSessionAndLogKeys",
                "Effect": "Deny",
                "Action": list(KEY_USES),
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringLike": {"kms:ResourceAliases": f"alias/{prefix}/*"},
                    "ForAllValues:StringNotEquals": {
                        "kms:ResourceAliases": [
                            naming.session_key_alias(prefix),
                            naming.log_key_alias(prefix),
                        ]
                    },
                },
            },
            {
                "Sid": "TheLogKeyOnlyThroughS3",
                "Effect": "Deny",
                "Action": list(KEY_USES),
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": naming.log_key_alias(prefix)
                    },
                    "StringNotLike": {"kms:ViaService": "s3.*.amazonaws.com"},
                },
            },
            {
                "Sid": "NoChangeToTheOrganization",
                "Effect": "Deny",
                "Action": [f"organizations:{verb}*" for verb in ORGANIZATION_WRITES],
                "Resource": "*",
            },
        ],
    }
