"""Answering CloudFormation from a custom-resource function (shared by the handlers)."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger()


class ResponseData(dict[str, str]):
    """What ``apply_changes`` returns to hand attributes back (read with Fn::GetAtt)."""


#: What ``apply_changes`` returns when another invocation goes on and will answer.
CONTINUED = object()

#: Attempts of each AWS call of a handler (standard retries: each wait between them is at
#: most 25 s, the 20-s backoff cap and the 5 s more an x-amz-retry-after answer can add).
CALL_ATTEMPTS = 10
#: Seconds a function keeps back from its timeout to answer CloudFormation: a call
#: started just before may wait out all its retries (9 x 25 s) and still leave time to
#: answer. A function stopped by its timeout answers nothing, and the stack waits an hour.
ANSWER_MARGIN_SECONDS = (CALL_ATTEMPTS - 1) * 25 + 30


def send(
    event: dict[str, Any],
    status: str,
    physical_id: str,
    reason: str = "",
    data: dict[str, str] | None = None,
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
            "Data": data or {},
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https checked above
        LOG.info("response sent: %s", response.status)


def handle(
    event: dict[str, Any],
    apply_changes: Callable[[], Any],
    send_response: Callable[..., None],
    remove: Callable[[], Any] | None = None,
) -> None:
    """Run a custom resource request and always answer CloudFormation (a missing answer
    leaves the stack waiting an hour), exactly once.

    Create and Update apply; Delete changes nothing unless ``remove`` is given. A
    :class:`ResponseData` result goes back to CloudFormation as the resource's attributes.

    The answer is sent after the request is decided, outside the ``try``: an answer that
    raises (a timeout reading S3's reply to the PUT, say) may have been stored already, and
    a second one, FAILED, would overwrite it. Its error is raised instead, to the
    function's log and dead-letter queue.
    """
    LOG.info("request %s", event.get("RequestType"))
    answer: dict[str, Any] = {}
    try:
        result = None
        if event["RequestType"] in ("Create", "Update"):
            result = apply_changes()
            LOG.info("applied %s", json.dumps(result, default=str))
        elif remove is not None:
            LOG.info("removed %s", json.dumps(remove(), default=str))
        if result is CONTINUED:
            LOG.info("another invocation goes on and will answer")
            return
        if isinstance(result, ResponseData):
            answer["data"] = dict(result)
            json.dumps(answer["data"])  # attributes that cannot be sent fail here, once
        status = "SUCCESS"
    except Exception as error:
        LOG.exception("failed")
        status, answer = "FAILED", {"reason": f"{type(error).__name__}: {error}"}
    send_response(event, status, **answer)
