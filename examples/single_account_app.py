#!/usr/bin/env python3
"""The member baseline as a plain stack in one account, for a team without an organisation.

The same template the StackSet rolls out to every member account deploys here with
``cdk deploy`` into a single account and region: account settings, the Config recorder
(delivering to a bucket you already have) and the audit, incident-response, support and
break-glass roles, trusting this account itself.

    python examples/single_account_app.py        # synthesize into cdk.out.single-account/

It uses the landing zone's bootstrap qualifier (cdk.json): bootstrap the account with
``npx cdk bootstrap --qualifier lzbaseline`` first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aws_cdk as cdk

from baseline.cdk_context import cdk_json_context
from baseline.compliance import attach_packs
from baseline.stacks.member_baseline import MemberBaselineSettings, MemberBaselineStack

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def build(outdir: str | None = None) -> cdk.App:
    """One account, one region, every compliance pack."""
    # under the CDK CLI, write where it reads (CDK_OUTDIR); run alone, beside cdk.out
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = "cdk.out.single-account"
    app = cdk.App(outdir=outdir, context=cdk_json_context())
    MemberBaselineStack(
        app,
        "AccountBaseline",
        settings=MemberBaselineSettings(
            prefix="acme",
            home_region=REGION,
            config_bucket_name="acme-config-logs-123456789012",  # an existing bucket Config may write
            audit_account_id=ACCOUNT,  # no separate audit account: the roles trust this one
            management_account_id=ACCOUNT,
            break_glass_principals=(f"arn:aws:iam::{ACCOUNT}:user/break-glass-1",),  # MFA users
            break_glass_session_hours=1,
            customer_managed_ebs_key=False,
            default_vpcs="close_default_security_groups",
            imds_defaults=True,  # no organisation, so no declarative EC2 policy sets them
        ),
        env=cdk.Environment(account=ACCOUNT, region=REGION),
        description="Account baseline of the landing zone, deployed into a single account",
    )
    attach_packs(app)
    return app


if __name__ == "__main__":
    build().synth()
