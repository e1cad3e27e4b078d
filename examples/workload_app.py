#!/usr/bin/env python3
"""A workload team's CDK app that imports the kit's constructs.

Run it: ``python examples/workload_app.py`` (from the repository root, in the kit's venv).
It synthesizes one stack with an encrypted, logged, TLS-only bucket and a role that may
read it, and checks the result with every compliance pack the landing zone uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from baseline.compliance import attach_packs, synth_or_exit
from baseline.constructs import (
    EncryptionKey,
    LayeredVpc,
    PermissionsBoundary,
    SecureBucket,
    SecureFunction,
    declare_availability_zones,
)

ZONES = ["eu-west-1a", "eu-west-1b"]
#: The landing zone's prefix (organization.prefix of its config), which names the boundary.
LANDING_ZONE_PREFIX = "nwl"


class OrdersDataStack(cdk.Stack):
    """Order documents for the orders service: its network, key, bucket and reader role."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # The stack has a fixed account and region: name its AZs before any construct, so
        # synth needs no AWS credentials (and writes no placeholder zones).
        declare_availability_zones(self, ZONES)
        # In a workload OU every role needs the landing zone's workload boundary (the
        # guardrail SCP-PERMISSIONS-BOUNDARY): this puts it on every role of the stack.
        PermissionsBoundary(self, "Boundary", prefix=LANDING_ZONE_PREFIX)
        # In a workload OU the guardrails leave internet and NAT gateways to the network
        # account, so this VPC is isolated (or give it transit_gateway_id for egress).
        self.vpc = LayeredVpc(self, "Vpc", isolated_only=True, availability_zones=ZONES)
        key = EncryptionKey(self, "OrdersKey", alias="alias/orders/documents")
        self.bucket = SecureBucket(
            self,
            "OrderDocuments",
            encryption_key=key.key,
            # an explicit choice the NIST, HIPAA and PCI packs would otherwise report
            unreplicated_reason=(
                "Order documents are regenerated from the order database, which has its own "
                "cross-region backups, so a replica of this bucket would add no second copy."
            ),
            # and the one Control Tower's proactive controls would report (CT.S3.PR.9)
            unlocked_reason=(
                "Order documents are replaced when an order changes, so they cannot be "
                "write-once; versioning keeps every earlier version for ninety days instead."
            ),
        )
        # Grants go into a customer-managed policy: compliance packs flag inline policies.
        self.read_access = iam.ManagedPolicy(
            self, "OrdersReadAccess", description="Read order documents"
        )
        self.bucket.grant_read(self.read_access, "documents/*")
        # A function that indexes the documents: one line for its access, and it passes
        # every pack with no acknowledgement of its own (its grants go into its managed
        # policy; it runs in the VPC with reserved concurrency).
        self.indexer = SecureFunction(
            self,
            "OrdersIndexer",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
            handler="index.handler",
            description="Indexes new order documents",
            vpc=self.vpc.vpc,
            reserved_concurrency=2,
        )
        self.bucket.grant_read(self.indexer, "documents/*")
        self.reader = iam.Role(
            self,
            "OrdersReader",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Read-only access to order documents for the orders service",
            managed_policies=[self.read_access],
        )


def build(outdir: str | None = None) -> cdk.App:
    """The workload app, with the landing zone's compliance packs attached."""
    app = cdk.App(outdir=outdir)
    OrdersDataStack(
        app, "OrdersData", env=cdk.Environment(account="756789012345", region="eu-west-1")
    )
    attach_packs(app)
    return app


if __name__ == "__main__":
    synth_or_exit(build(), "the workload app")  # a violation: its finding and the report path
