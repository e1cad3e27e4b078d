"""Reusable constructs, secure by default, for the baseline and for workload stacks.

They live in ``baseline/constructs/`` rather than a top-level ``constructs/`` folder: a
top-level package of that name would shadow the ``constructs`` library that aws-cdk-lib
itself imports.
"""

from baseline.constructs.baseline_function import BaselineFunction
from baseline.constructs.break_glass_role import BreakGlassRole
from baseline.constructs.encryption_key import EncryptionKey
from baseline.constructs.layered_vpc import (
    LayeredVpc,
    NetworkHubIds,
    declare_availability_zones,
    network_hub_ids,
)
from baseline.constructs.machine_access import GitHubOidcDeployRole, ThirdPartyRole
from baseline.constructs.network_hub import NetworkHub
from baseline.constructs.organization_trail import OrganizationTrail
from baseline.constructs.permissions_boundary import PermissionsBoundary
from baseline.constructs.secure_bucket import ReplicationTarget, SecureBucket
from baseline.constructs.secure_function import SecureFunction
from baseline.constructs.secure_log_group import SecureLogGroup
from baseline.constructs.secure_secret import SecureSecret
from baseline.constructs.security_alarms import SecurityAlarms
from baseline.constructs.security_notifications import SecurityNotifications
from baseline.constructs.web_acl_protection import WebAclProtection

__all__ = [
    "BaselineFunction",
    "BreakGlassRole",
    "EncryptionKey",
    "GitHubOidcDeployRole",
    "LayeredVpc",
    "NetworkHub",
    "NetworkHubIds",
    "OrganizationTrail",
    "PermissionsBoundary",
    "ReplicationTarget",
    "SecureBucket",
    "SecureFunction",
    "SecureLogGroup",
    "SecureSecret",
    "SecurityAlarms",
    "SecurityNotifications",
    "ThirdPartyRole",
    "WebAclProtection",
    "declare_availability_zones",
    "network_hub_ids",
]
