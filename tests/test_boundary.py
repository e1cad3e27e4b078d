"""The workload permissions boundary (baseline/boundary.py), evaluated as IAM evaluates a
boundary: a request passes only if the boundary allows it too."""

from __future__ import annotations

import pytest

from baseline.boundary import workload_boundary_document
from baseline.guardrails.evaluator import Request, decide

PROD = "756789012345"
ROLE = f"arn:aws:iam::{PROD}:role/orders-api-Fn-1A2B3C"
BOUNDARY = f"arn:aws:iam::{PROD}:policy/nwl-workload-boundary"
LOG_ARCHIVE = "312345678901"
DOCUMENT = workload_boundary_document("nwl", LOG_ARCHIVE)
LOG_KEY = {"kms:ResourceAliases": ["alias/nwl/log-archive"]}

CASES = [
    ("read its own bucket", Request("s3:GetObject", "arn:aws:s3:::orders-data/x", ROLE), "Allow"),
    (
        "create a role with the boundary",
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{PROD}:role/orders-worker",
            ROLE,
            context={"iam:PermissionsBoundary": BOUNDARY},
        ),
        "Allow",
    ),
    (
        "create a role without the boundary",
        Request("iam:CreateRole", f"arn:aws:iam::{PROD}:role/orders-worker", ROLE),
        "Deny",
    ),
    (
        # a policy of a path that ends like the boundary's name: the boundary is matched as
        # an ARN, part by part, so the account's wildcard cannot take in the path
        "create a role with a look-alike boundary",
        Request(
            "iam:CreateRole",
            f"arn:aws:iam::{PROD}:role/orders-worker",
            ROLE,
            context={
                "iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/x:policy/nwl-workload-boundary"
            },
        ),
        "Deny",
    ),
    (
        "create a user with another boundary",
        Request(
            "iam:CreateUser",
            f"arn:aws:iam::{PROD}:user/x",
            ROLE,
            context={"iam:PermissionsBoundary": f"arn:aws:iam::{PROD}:policy/open"},
        ),
        "Deny",
    ),
    (
        "remove its own boundary",
        Request("iam:DeleteRolePermissionsBoundary", ROLE, ROLE),
        "Deny",
    ),
    ("rewrite the boundary", Request("iam:CreatePolicyVersion", BOUNDARY, ROLE), "Deny"),
    (
        "make an unbounded role trust it (OrganizationAccountAccessRole)",
        Request(
            "iam:UpdateAssumeRolePolicy",
            f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole",
            ROLE,
        ),
        "Deny",
    ),
    (
        "give an unbounded role more",
        Request("iam:AttachRolePolicy", f"arn:aws:iam::{PROD}:role/legacy-admin", ROLE),
        "Deny",
    ),
    (
        "write an inline policy on an unbounded role",
        Request("iam:PutRolePolicy", f"arn:aws:iam::{PROD}:role/legacy-admin", ROLE),
        "Deny",
    ),
    (
        "give a bounded role more",
        Request(
            "iam:AttachRolePolicy",
            f"arn:aws:iam::{PROD}:role/orders-worker",
            ROLE,
            context={"iam:PermissionsBoundary": BOUNDARY},
        ),
        "Allow",
    ),
    (
        "change who may assume a bounded role",
        Request(
            "iam:UpdateAssumeRolePolicy",
            f"arn:aws:iam::{PROD}:role/orders-worker",
            ROLE,
            context={"iam:PermissionsBoundary": BOUNDARY},
        ),
        "Allow",
    ),
    (
        "assume a role of the baseline",
        Request("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/nwl-incident-responder", ROLE),
        "Deny",
    ),
    (
        "pass the StackSets execution role",
        Request("iam:PassRole", f"arn:aws:iam::{PROD}:role/stacksets-exec-4f1c", ROLE),
        "Deny",
    ),
    (
        "delete an object of the log archive",
        Request("s3:DeleteObject", "arn:aws:s3:::nwl-logs-312345678901-eu-west-1/x", ROLE),
        "Deny",
    ),
    (
        "decrypt with a baseline key",
        Request(
            "kms:Decrypt",
            f"arn:aws:kms:eu-west-1:{PROD}:key/1",
            ROLE,
            context={"kms:ResourceAliases": ["alias/nwl/baseline"]},
        ),
        "Deny",
    ),
    (
        "decrypt with its own key",
        Request(
            "kms:Decrypt",
            f"arn:aws:kms:eu-west-1:{PROD}:key/2",
            ROLE,
            context={"kms:ResourceAliases": ["alias/orders/data"]},
        ),
        "Allow",
    ),
    # an instance's own (bounded) profile can log its Session Manager sessions ...
    (
        "use the account's session key",
        Request(
            "kms:GenerateDataKey",
            f"arn:aws:kms:eu-west-1:{PROD}:key/3",
            ROLE,
            context={"kms:ResourceAliases": ["alias/nwl/session-manager"]},
        ),
        "Allow",
    ),
    (
        "write a session transcript to the log archive",
        Request(
            "s3:PutObject",
            f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/session-manager/{PROD}/s.log",
            ROLE,
            context={"aws:ResourceAccount": LOG_ARCHIVE},
        ),
        "Allow",
    ),
    (
        "encrypt it with the log archive's key, through S3",
        Request(
            "kms:GenerateDataKey",
            f"arn:aws:kms:eu-west-1:{LOG_ARCHIVE}:key/4",
            ROLE,
            context={**LOG_KEY, "kms:ViaService": "s3.eu-west-1.amazonaws.com"},
        ),
        "Allow",
    ),
    # ... and nothing more with those keys and buckets
    (
        "use the log archive's key directly",
        Request("kms:Decrypt", f"arn:aws:kms:eu-west-1:{LOG_ARCHIVE}:key/4", ROLE, context=LOG_KEY),
        "Deny",
    ),
    (
        "grant itself the session key",
        Request(
            "kms:CreateGrant",
            f"arn:aws:kms:eu-west-1:{PROD}:key/3",
            ROLE,
            context={"kms:ResourceAliases": ["alias/nwl/session-manager"]},
        ),
        "Deny",
    ),
    (
        "write to a baseline bucket outside the log archive",
        Request(
            "s3:PutObject",
            "arn:aws:s3:::nwl-evidence-290123456789-eu-west-1/case/x",
            ROLE,
            context={"aws:ResourceAccount": "290123456789"},
        ),
        "Deny",
    ),
    (
        "read a session transcript",
        Request(
            "s3:GetObject",
            f"arn:aws:s3:::nwl-logs-{LOG_ARCHIVE}-eu-west-1/session-manager/{PROD}/s.log",
            ROLE,
            context={"aws:ResourceAccount": LOG_ARCHIVE},
        ),
        "Deny",
    ),
    ("leave the organisation", Request("organizations:LeaveOrganization", "*", ROLE), "Deny"),
    ("read the organisation", Request("organizations:DescribeOrganization", "*", ROLE), "Allow"),
]


@pytest.mark.parametrize(("case", "request_", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_boundary_caps_what_a_workload_role_can_do(
    case: str, request_: Request, expected: str
) -> None:
    assert decide([[DOCUMENT]], request_) == expected, case


def test_the_boundary_fits_a_managed_policy() -> None:
    import json

    assert len(json.dumps(DOCUMENT, separators=(",", ":"))) <= 6144
