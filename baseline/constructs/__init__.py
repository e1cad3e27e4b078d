"""Reusable constructs, secure by default, for the baseline and for workload stacks.

They live in ``baseline/constructs/`` rather than a top-level ``constructs/`` folder: a
top-level package of that name would shadow the ``constructs`` library that aws-cdk-lib
itself imports.
"""

from baseline.constructs.encryption_key import EncryptionKey
from baseline.constructs.secure_bucket import ReplicationTarget, SecureBucket

__all__ = ["EncryptionKey", "ReplicationTarget", "SecureBucket"]
