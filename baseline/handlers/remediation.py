"""Remediation of common misconfigurations, from the audit account (home region).

Security Hub's controls, which its central configuration runs as AWS Config rules in every
account and region, report a failed check; findings of every region reach the audit
account's home region. Three of them start this function:

- ``EC2.13`` / ``EC2.14``: a security group allows SSH (22) / RDP (3389) from anywhere;
  the AWS-managed runbook ``AWS-DisablePublicAccessForSecurityGroup`` removes those rules;
- ``S3.8``: a bucket does not block public access; the AWS-managed runbook
  ``AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock`` turns every setting on.

Where the account's nearest OU in ``incident_response.remediation`` says ``remediate``,
the function assumes the account's ``<prefix>-remediation`` role in the finding's region
and starts the runbook with that role as its automation role, waits a little for its
outcome, and tells the security topic what it did. Where it says ``notify`` it does
nothing more: the finding rules already page. A quarantine group of an incident
(``lz:quarantine``) is the responder's and is left alone. Standard library and boto3 only.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

try:  # in the function's package the handlers are top-level modules
    import containment  # type: ignore[import-not-found]
except ImportError:  # as part of the baseline package (tests)
    from baseline.handlers import containment

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

#: Security Hub control -> (AWS-managed runbook, its parameter naming the resource, how
#: the resource's id is read from the finding's resource id)
RUNBOOKS: dict[str, tuple[str, str, Callable[[str], str]]] = {
    "EC2.13": (
        "AWS-DisablePublicAccessForSecurityGroup",
        "GroupId",
        lambda arn: arn.rsplit("/", 1)[-1],
    ),
    "EC2.14": (
        "AWS-DisablePublicAccessForSecurityGroup",
        "GroupId",
        lambda arn: arn.rsplit("/", 1)[-1],
    ),
    "S3.8": (
        "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
        "BucketName",
        lambda arn: arn.rsplit(":", 1)[-1],
    ),
}
TERMINAL = {"Success", "Failed", "TimedOut", "Cancelled", "CompletedWithFailure"}
WAIT_SECONDS = 60  # for the runbook's outcome before reporting it as still running
POLL_SECONDS = 5.0


def remediation_role(prefix: str) -> str:
    return f"{prefix}-remediation"


@dataclass(frozen=True)
class Settings:
    """The function's environment."""

    prefix: str
    modes: dict[str, str]  # OU path -> remediate | notify
    topic_arn: str

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(prefix=env["PREFIX"], modes=json.loads(env["MODES"]), topic_arn=env["TOPIC_ARN"])

    def mode_of(self, ou_path: str) -> str:
        """The mode of the nearest OU listed on the path; notify under none."""
        listed = containment.Settings(self.prefix, self.modes, self.topic_arn, "", "")
        return str(listed.mode_of(ou_path))


def member_clients(account: str, region: str, prefix: str, sts: Any) -> containment.ClientFactory:
    """Clients in the member account and region, as its remediation role."""
    import boto3
    from botocore.config import Config

    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{remediation_role(prefix)}",
        RoleSessionName="remediation",
        DurationSeconds=900,
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "max_attempts": 10})
    return lambda service: session.client(service, config=config)


def _quarantined(resource: dict[str, Any]) -> bool:
    return bool(resource.get("Tags", {}).get(containment.QUARANTINE_TAG) == "true")


def remediate(
    finding: dict[str, Any],
    settings: Settings,
    client: Callable[..., Any],
    members: Callable[[str, str], containment.ClientFactory],
) -> dict[str, Any] | None:
    """Start the runbook for one failed control, if the account's OU remediates; its
    record, or None when nothing is to be done. ``client(service, region)`` makes the
    function's own clients, ``members(account, region)`` the member account's."""
    control = finding.get("Compliance", {}).get("SecurityControlId", "")
    if control not in RUNBOOKS or finding.get("Compliance", {}).get("Status") != "FAILED":
        return None
    account, region = finding["AwsAccountId"], finding["Region"]
    resource = finding["Resources"][0]
    document, parameter, read = RUNBOOKS[control]
    target = read(resource["Id"])
    path = containment.ou_path(client("organizations"), account)
    mode = settings.mode_of(path)
    if mode != "remediate" or _quarantined(resource):
        LOG.info("%s of %s in %s (%s): %s", control, target, account, path or "root", mode)
        return None
    steps: list[containment.Step] = []
    execution: dict[str, str] = {}

    def start() -> str:
        ssm = members(account, region)("ssm")
        role = f"arn:aws:iam::{account}:role/{remediation_role(settings.prefix)}"
        execution["id"] = ssm.start_automation_execution(
            DocumentName=document,
            Parameters={parameter: [target], "AutomationAssumeRole": [role]},
        )["AutomationExecutionId"]
        execution["status"] = _outcome(ssm, execution["id"])
        if execution["status"] != "Success":
            raise RuntimeError(f"{document} {execution['id']}: {execution['status']}")
        return f"{document} {execution['id']}: Success"

    containment.attempt(steps, f"run {document} on {target}", start)
    record = {
        "control": control,
        "title": finding.get("Title", ""),
        "account": account,
        "region": region,
        "ou": path,
        "resource": target,
        "runbook": document,
        "execution": execution.get("id"),
        "steps": [s.__dict__ for s in steps],
    }
    passed = all(s.passed for s in steps)
    client("sns", settings.topic_arn.split(":")[3]).publish(
        TopicArn=settings.topic_arn,
        Subject=f"{'Remediated' if passed else 'Remediation failed'}: {control} {target}"[:99],
        Message=message(record),
    )
    return record


def _outcome(ssm: Any, execution_id: str) -> str:
    """The runbook's status once it ends, or its status after ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status = str(
            ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"][
                "AutomationExecutionStatus"
            ]
        )
        if status in TERMINAL or time.monotonic() >= deadline:
            return status
        time.sleep(POLL_SECONDS)


def message(record: dict[str, Any]) -> str:
    """The notification: short, in the order a responder reads it."""
    return "\n".join(
        [
            f"{record['control']} ({record['title']}): {record['resource']}.",
            f"Account {record['account']} ({record['ou'] or 'root'}), region {record['region']}.",
            "Done:",
            *(f"  {containment.Step(**s).line()}" for s in record["steps"]),
            f"Runbook execution: {record['execution'] or 'not started'} (Systems Manager, "
            "Automation, in that account and region).",
            "Next: docs/detection.md, Automated remediation.",
        ]
    )


def handle(
    event: dict[str, Any],
    settings: Settings,
    client: Callable[..., Any],
    members: Callable[[str, str], containment.ClientFactory],
) -> list[dict[str, Any]]:
    """Every finding of the event: the records of those remediated."""
    records = [remediate(f, settings, client, members) for f in event["detail"]["findings"]]
    return [r for r in records if r is not None]


def _boto3_client(service: str, region: str | None = None) -> Any:  # pragma: no cover
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, region_name=region, config=Config(retries={"mode": "standard", "max_attempts": 10})
    )


def handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:  # pragma: no cover
    settings = Settings.from_environment()
    sts = _boto3_client("sts")
    return handle(
        event,
        settings,
        _boto3_client,
        lambda account, region: member_clients(account, region, settings.prefix, sts),
    )
