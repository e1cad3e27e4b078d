"""Answering CloudFormation from a custom-resource function (shared by the handlers)."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

LOG = logging.getLogger()


def send(
    event: dict[str, Any], status: str, physical_id: str, reason: str = ""
) -> None:  # pragma: no cover
    """PUT the response to CloudFormation's pre-signed URL (https only)."""
    url = event["ResponseURL"]
    if not url.startswith("https://"):
        raise ValueError("CloudFormation's response URL must be https")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000] or "see the function's log",
            "PhysicalResourceId": event.get("PhysicalResourceId", physical_id),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https checked above
        LOG.info("response sent: %s", response.status)
