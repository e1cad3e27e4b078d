"""The CDK context (feature flags, config path) that cdk.json gives the CDK CLI.

``python app.py``, the tests and the member-baseline template synthesize without the
CLI, so they read it here: one set of feature flags, whichever way the app runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` block of cdk.json."""
    context: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    return context
