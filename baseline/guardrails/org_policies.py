"""The other organisation policies: declarative EC2, tag, AI opt-out and backup.

Each is one content document in the AWS Organizations policy syntax (``@@assign`` and
the child-control operators), attached where it applies. ``@@operators_allowed_for_child_policies``
set to ``@@none`` stops policies lower in the tree from weakening a setting.
"""

from __future__ import annotations

from typing import Any

from baseline import naming
from baseline.config import ROOT_OU, LandingZoneConfig
from baseline.defaults import BACKUP_RETENTION_DAYS
from baseline.guardrails.model import LIMITS, PolicyType, minify
from baseline.guardrails.packer import PackingError

Content = dict[str, Any]

#: The data-classification tag key and its values (SEC07-BP01).
CLASSIFICATION_TAG = "data-classification"
CLASSIFICATION_VALUES = ("public", "internal", "confidential", "restricted")
#: The tag that opts a resource into the backup plan, and its values.
BACKUP_TAG = "backup"


def _locked(value: Any) -> dict[str, Any]:
    """An ``@@assign`` that policies lower in the tree cannot change."""
    return {"@@assign": value, "@@operators_allowed_for_child_policies": ["@@none"]}


def declarative_ec2_baseline(
    image_providers: list[str] | None = None, images_mode: str = "enabled"
) -> Content:
    """IMDSv2 by default, no public EBS snapshots or AMIs, no serial console, and AMIs
    only from the named providers (and each account's own).

    :param image_providers: the allowed image providers. Default: Amazon and AWS Backup.
    :param images_mode: ``enabled``, or ``audit_mode`` (marks AMIs, blocks none).
    """
    providers = image_providers or ["amazon", "aws_backup_vault"]
    return {
        "ec2_attributes": {
            "allowed_images_settings": {
                "state": _locked(images_mode),
                "image_criteria": {"criteria_1": {"allowed_image_providers": _locked(providers)}},
            },
            "instance_metadata_defaults": {
                "http_tokens": _locked("required"),
                "http_put_response_hop_limit": _locked("2"),
                "http_endpoint": _locked("enabled"),
                "instance_metadata_tags": _locked("disabled"),
            },
            "snapshot_block_public_access": {"state": _locked("block_all_sharing")},
            "image_block_public_access": {"state": _locked("block_new_sharing")},
            "serial_console_access": {"status": _locked("disabled")},
        }
    }


def declarative_ec2_no_internet_gateways() -> Content:
    """VPC Block Public Access both ways: workload VPCs reach the internet only through
    the network account (SEC05-BP01)."""
    return {
        "ec2_attributes": {
            "vpc_block_public_access": {
                "internet_gateway_block": {
                    "mode": _locked("block_bidirectional"),
                    "exclusions_allowed": _locked("disabled"),
                }
            }
        }
    }


def tag_policy() -> Content:
    """The data-classification tag: its exact key and allowed values (SEC07-BP01)."""
    return {
        "tags": {
            CLASSIFICATION_TAG: {
                "tag_key": {"@@assign": CLASSIFICATION_TAG},
                "tag_value": {"@@assign": list(CLASSIFICATION_VALUES)},
                # resource types whose tag policy enforcement AWS supports (rds:db is
                # report-only, so it is left out rather than promising enforcement)
                "enforced_for": {
                    "@@assign": [
                        "dynamodb:table",
                        "ec2:volume",
                        "s3:bucket",
                        "secretsmanager:secret",
                    ]
                },
            }
        }
    }


def ai_opt_out_policy() -> Content:
    """Opt every account out of AI services using its content to improve them."""
    none = ["@@none"]
    return {
        "services": {
            "@@operators_allowed_for_child_policies": none,
            "default": {
                "@@operators_allowed_for_child_policies": none,
                "opt_out_policy": _locked("optOut"),
            },
        }
    }


def backup_policy(config: LandingZoneConfig) -> Content:
    """Daily backups, kept :data:`~baseline.defaults.BACKUP_RETENTION_DAYS` (35) days, of
    resources tagged ``backup=daily`` (SEC10-BP03)."""
    prefix = config.organization.prefix
    return {
        "plans": {
            f"{prefix}-daily": {
                "regions": {"@@assign": sorted(config.governed_regions)},
                "rules": {
                    "daily": {
                        "schedule_expression": {"@@assign": "cron(0 3 ? * * *)"},
                        "start_backup_window_minutes": {"@@assign": "60"},
                        "complete_backup_window_minutes": {"@@assign": "720"},
                        # locked: a policy lower in the tree that kept backups less
                        # long would fail every job into the vault, whose lock keeps
                        # each for at least these days
                        "lifecycle": {"delete_after_days": _locked(str(BACKUP_RETENTION_DAYS))},
                        "target_backup_vault_name": _locked(naming.backup_vault(prefix)),
                    }
                },
                "selections": {
                    "tags": {
                        "daily": {
                            "iam_role_arn": {
                                "@@assign": f"arn:aws:iam::$account:role/{naming.backup_role(prefix)}"
                            },
                            "tag_key": {"@@assign": BACKUP_TAG},
                            "tag_value": {"@@assign": ["daily"]},
                        }
                    }
                },
            }
        }
    }


def organization_policies(
    config: LandingZoneConfig,
) -> dict[str, tuple[PolicyType, Content, list[str]]]:
    """Policy name -> (type, content, targets) for every non-guardrail policy."""
    prefix = config.organization.prefix
    policies: dict[str, tuple[PolicyType, Content, list[str]]] = {
        f"{prefix}-ec2-baseline": (
            PolicyType.DECLARATIVE_EC2,
            declarative_ec2_baseline(
                config.allowed_image_providers(), config.guardrails.allowed_images.mode
            ),
            [ROOT_OU],
        ),
        f"{prefix}-ec2-no-internet-gateways": (
            PolicyType.DECLARATIVE_EC2,
            declarative_ec2_no_internet_gateways(),
            list(config.guardrails.workload_ous),
        ),
        f"{prefix}-data-classification": (PolicyType.TAG, tag_policy(), [ROOT_OU]),
        f"{prefix}-ai-opt-out": (PolicyType.AI_OPT_OUT, ai_opt_out_policy(), [ROOT_OU]),
        f"{prefix}-backup-daily": (PolicyType.BACKUP, backup_policy(config), [ROOT_OU]),
    }
    for name, (policy_type, content, _targets) in policies.items():
        size = len(minify(content))
        if size > LIMITS[policy_type][0]:
            raise PackingError(
                f"{policy_type.name} {name}: {size} characters, over the {LIMITS[policy_type][0]} limit"
            )
    return policies
