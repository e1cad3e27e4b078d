"""Remediation of common misconfigurations, from the audit account (home region).

Security Hub's controls, which its central configuration runs as AWS Config rules in every
account and region, report a failed check; findings of every region reach the audit
account's home region. These start this function:

- a security group open to the world on SSH (22) or RDP (3389): ``EC2.13`` / ``EC2.14``
  (CIS v1.2, PCI DSS, NIST), ``EC2.53`` / ``EC2.54`` (CIS v3 and v5) and ``EC2.19``
  (FSBP, high-risk ports): the function revokes, by rule id, each inbound rule from
  0.0.0.0/0 or ::/0 whose ports take in 22 or 3389 (or all traffic), and nothing else.
  The AWS-managed runbook ``AWS-DisablePublicAccessForSecurityGroup`` is not used: it
  fails in a non-default VPC unless the group opens the port in all four of its patterns
  (and the kit leaves no default VPC), and misses port ranges and all-traffic rules;
- ``S3.8``: a bucket does not block public access; the AWS-managed runbook
  ``AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock`` turns every setting on.

Only Security Hub's own findings count (``ProductArn`` ``.../product/aws/securityhub``):
a member account can import findings of its own product, never of that one.

Where the account's nearest OU in ``incident_response.remediation`` says ``remediate``,
the function assumes the account's ``<prefix>-remediation`` role in the finding's region
and remediates, tells the security topic what it did, and marks the finding NOTIFIED so a
re-sent finding does not start it again. Where it says ``notify`` it does nothing more:
the finding rules already page. A quarantine group of an incident (``lz:quarantine``) is
the responder's and is left alone. Standard library and boto3 only.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

try:  # in the function's package the handlers are top-level modules
    import containment  # type: ignore[import-not-found]
except ImportError:  # as part of the baseline package (tests)
    from baseline.handlers import containment

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

#: The Security Hub controls of a security group open to the world on an admin port.
ADMIN_PORT_CONTROLS = ("EC2.13", "EC2.14", "EC2.19", "EC2.53", "EC2.54")
ADMIN_PORTS = (22, 3389)
#: The controls of those that fail on other ports too: FSBP's EC2.19 takes in about 25
#: high-risk ports (3306, 5432, 445, ...), which the kit does not close. A rule from
#: anywhere on a port it keeps may keep the finding failing: a person decides.
MORE_PORTS_CONTROLS = ("EC2.19",)
#: Security Hub control -> the AWS-managed runbook that remediates it, and its parameter
RUNBOOKS: dict[str, tuple[str, str]] = {
    "S3.8": ("AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock", "BucketName"),
}
CONTROLS = (*ADMIN_PORT_CONTROLS, *RUNBOOKS)
PRODUCT = "::product/aws/securityhub"  # the end of Security Hub's own ProductArn
#: The AutomationExecutionStatus values an execution ends in; of those, only these two
#: say it did what it was started for (Exited, Rejected and the rest did not, or not all).
TERMINAL = {
    "Success",
    "CompletedWithSuccess",
    "Failed",
    "TimedOut",
    "Cancelled",
    "CompletedWithFailure",
    "Exited",
    "Rejected",
    "ChangeCalendarOverrideRejected",
}
SUCCEEDED = {"Success", "CompletedWithSuccess"}
WAIT_SECONDS = 60  # for a runbook's outcome, at most, before reporting it as running
POLL_SECONDS = 5.0
ANYWHERE = ("0.0.0.0/0", "::/0")


def remediation_role(prefix: str) -> str:
    return f"{prefix}-remediation"


def remediator(prefix: str) -> str:
    return f"{prefix}-remediator"


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
    role = f"arn:aws:iam::{account}:role/{remediation_role(prefix)}"
    return containment.role_clients(role, "remediation", region, sts, duration=900)


def _world_open(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The inbound rules from anywhere."""
    return [
        r
        for r in rules
        if not r.get("IsEgress") and (r.get("CidrIpv4") or r.get("CidrIpv6")) in ANYWHERE
    ]


def _takes_in_admin_ports(rule: dict[str, Any]) -> bool:
    protocol = str(rule.get("IpProtocol"))
    low, high = rule.get("FromPort", -1), rule.get("ToPort", -1)
    return protocol == "-1" or (
        protocol in ("tcp", "6", "udp", "17") and any(low <= port <= high for port in ADMIN_PORTS)
    )


def _world_open_admin_rules(rules: list[dict[str, Any]]) -> list[str]:
    """The ids of the inbound rules from anywhere whose ports take in SSH or RDP."""
    return [str(r["SecurityGroupRuleId"]) for r in _world_open(rules) if _takes_in_admin_ports(r)]


def _world_open_kept(rules: list[dict[str, Any]]) -> tuple[str, ...]:
    """The inbound rules from anywhere on TCP or UDP ports the kit does not close, for a
    person to read: ``tcp 3306 from 0.0.0.0/0 (sgr-...)``."""
    kept = []
    for rule in _world_open(rules):
        protocol = {"6": "tcp", "17": "udp"}.get(str(rule.get("IpProtocol")))
        protocol = protocol or str(rule.get("IpProtocol"))
        if protocol not in ("tcp", "udp") or _takes_in_admin_ports(rule):
            continue
        low, high = rule.get("FromPort"), rule.get("ToPort")
        ports = f"{low}" if low == high else f"{low}-{high}"
        source = rule.get("CidrIpv4") or rule.get("CidrIpv6")
        kept.append(f"{protocol} {ports} from {source} ({rule['SecurityGroupRuleId']})")
    return tuple(kept)


@dataclass(frozen=True)
class Closed:
    """What ``close_admin_ports`` did to a group."""

    detail: str
    #: the group's world-open SSH and RDP rules are revoked (by this call, or just before
    #: by the kit for another finding of the group); False: nothing was changed
    changed: bool
    #: the inbound rules from anywhere it keeps (``_world_open_kept``)
    kept_open: tuple[str, ...] = ()


def close_admin_ports(ec2: Any, group_id: str) -> Closed:
    """Revokes the group's world-open SSH and RDP rules, by id; a quarantine group of an
    incident is the responder's and is left alone."""
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
    if tags.get(containment.QUARANTINE_TAG) == "true":
        return Closed("left alone: the quarantine group of an incident", changed=False)
    rules = _inbound_rules(ec2, group_id)
    ids = _world_open_admin_rules(rules)
    if not ids:
        return Closed(
            "nothing revoked: no inbound rule from anywhere takes in 22 or 3389 (any more)",
            changed=False,
            kept_open=_world_open_kept(rules),
        )
    try:
        ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=ids)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "InvalidSecurityGroupRuleId.NotFound":
            raise
        # another finding of the same group (EC2.19 and EC2.53 both, say), handled at the
        # same time, revoked some of them first: revoke what is still there
        rules = _inbound_rules(ec2, group_id)
        left = _world_open_admin_rules(rules)
        if left:
            ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=left)
        gone = [i for i in ids if i not in left]
        already = f"{', '.join(gone)} revoked already, by another finding of the group"
        detail = f"revoked {', '.join(left)}; {already}" if left else already
        return Closed(detail, changed=True, kept_open=_world_open_kept(rules))
    return Closed(f"revoked {', '.join(ids)}", changed=True, kept_open=_world_open_kept(rules))


def _inbound_rules(ec2: Any, group_id: str) -> list[dict[str, Any]]:
    filters = [{"Name": "group-id", "Values": [group_id]}]
    rules: list[dict[str, Any]] = ec2.describe_security_group_rules(Filters=filters)[
        "SecurityGroupRules"
    ]
    return rules


def run_runbook(
    ssm: Any, document: str, parameters: dict[str, list[str]], wait: float
) -> tuple[str, str]:
    """Starts the runbook and waits up to ``wait`` seconds: (execution id, status)."""
    execution = ssm.start_automation_execution(DocumentName=document, Parameters=parameters)[
        "AutomationExecutionId"
    ]
    deadline = time.monotonic() + wait
    while True:
        status = str(
            ssm.get_automation_execution(AutomationExecutionId=execution)["AutomationExecution"][
                "AutomationExecutionStatus"
            ]
        )
        if status in TERMINAL or time.monotonic() >= deadline:
            return str(execution), status
        time.sleep(POLL_SECONDS)


def remediate(
    finding: dict[str, Any],
    settings: Settings,
    client: Callable[..., Any],
    members: Callable[[str, str], containment.ClientFactory],
    wait: float = WAIT_SECONDS,
) -> dict[str, Any] | None:
    """Remediate one failed control, if the account's OU remediates; its record, or None
    when nothing is to be done. ``client(service, region)`` makes the function's own
    clients, ``members(account, region)`` the member account's."""
    control = finding.get("Compliance", {}).get("SecurityControlId", "")
    if (
        control not in CONTROLS
        or finding.get("Compliance", {}).get("Status") != "FAILED"
        or not str(finding.get("ProductArn", "")).endswith(PRODUCT)
    ):
        return None
    account, region = finding["AwsAccountId"], finding["Region"]
    resource = finding["Resources"][0]
    target = str(resource["Id"]).rsplit("/" if control in ADMIN_PORT_CONTROLS else ":", 1)[-1]
    path = containment.ou_path(client("organizations"), account)
    mode = settings.mode_of(path)
    if mode != "remediate":
        LOG.info("%s of %s in %s (%s): %s", control, target, account, path or "root", mode)
        return None
    steps: list[containment.Step] = []
    done: dict[str, str] = {}
    # nothing changed, or rules from anywhere the control may still fail on
    unchanged = False
    kept_open: tuple[str, ...] = ()
    running = False

    def act() -> str:
        nonlocal unchanged, kept_open, running
        if control in ADMIN_PORT_CONTROLS:
            done["what"] = "the kit's revocation of world-open SSH and RDP rules"
            closed = close_admin_ports(members(account, region)("ec2"), target)
            unchanged = not closed.changed
            kept_open = closed.kept_open if control in MORE_PORTS_CONTROLS else ()
            if not kept_open:
                return closed.detail
            return (
                f"{closed.detail}; still open to anywhere, on ports the kit does not close "
                f"(a person decides): {', '.join(kept_open)}"
            )
        document, parameter = RUNBOOKS[control]
        done["what"] = document
        role = f"arn:aws:iam::{account}:role/{remediation_role(settings.prefix)}"
        execution, status = run_runbook(
            members(account, region)("ssm"),
            document,
            {parameter: [target], "AutomationAssumeRole": [role]},
            wait,
        )
        done["execution"] = execution
        if status in TERMINAL and status not in SUCCEEDED:
            raise RuntimeError(f"{document} {execution}: {status}")
        running = status not in TERMINAL
        return f"{document} {execution}: {status}"

    containment.attempt(steps, f"remediate {target}", act)
    if not all(s.passed for s in steps):
        outcome = "Remediation failed"
    elif unchanged:
        outcome = "Not remediated"
    elif running:
        outcome = "Remediation started"
    else:
        outcome = "Partly remediated" if kept_open else "Remediated"
    # A finding the kit did not remediate (or not all of, or not yet: a runbook still
    # running may fail after this) stays NEW: in the queue, paged about by the finding
    # rules, and resolved by Security Hub once the control passes. It gets no note either:
    # any update sends the finding again, still NEW, which would start this function
    # again, and again.
    handled = outcome in ("Remediated", "Remediation failed")
    record = {
        "control": control,
        "title": finding.get("Title", ""),
        "account": account,
        "region": region,
        "ou": path,
        "resource": target,
        "remediation": done.get("what"),
        "execution": done.get("execution"),
        "steps": [s.__dict__ for s in steps],
        "outcome": outcome,
        "workflow": "NOTIFIED" if handled else "NEW",
    }
    home = settings.topic_arn.split(":")[3]
    client("sns", home).publish(
        TopicArn=settings.topic_arn,
        Subject=f"{outcome}: {control} {target}"[:99],
        Message=message(record),
    )
    if handled:
        # the same finding sent again (every re-evaluation) does not start it again
        updated = client("securityhub", home).batch_update_findings(
            FindingIdentifiers=[{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}],
            Workflow={"Status": "NOTIFIED"},
            Note={
                "Text": f"{outcome}: {steps[0].detail}"[:512],
                "UpdatedBy": remediator(settings.prefix),
            },
        )
        for refused in updated.get("UnprocessedFindings", []):
            # the finding stays NEW: each time it is sent again it starts the remediation
            # again and pages again, so say why in the function's log
            LOG.warning(
                "finding %s not marked NOTIFIED: %s %s",
                refused.get("FindingIdentifier", {}).get("Id"),
                refused.get("ErrorCode"),
                refused.get("ErrorMessage"),
            )
    return record


def message(record: dict[str, Any]) -> str:
    """The notification: short, in the order a responder reads it."""
    return "\n".join(
        [
            f"{record['control']} ({record['title']}): {record['resource']}.",
            f"Account {record['account']} ({record['ou'] or 'root'}), region {record['region']}.",
            f"Remediation: {record['remediation']}.",
            "Done:",
            *(f"  {containment.Step(**s).line()}" for s in record["steps"]),
            *(
                [
                    f"Runbook execution: {record['execution']} (Systems Manager, Automation, in "
                    "that account and region)."
                ]
                if record.get("execution")
                else []
            ),
            *(
                [
                    "The finding stays NEW, for a person to decide; Security Hub resolves it "
                    "once the control passes."
                ]
                if record.get("workflow") == "NEW"
                else []
            ),
            "Next: docs/detection.md, Automated remediation.",
        ]
    )


def handle(
    event: dict[str, Any],
    settings: Settings,
    client: Callable[..., Any],
    members: Callable[[str, str], containment.ClientFactory],
    remaining: Callable[[], float] = lambda: 300.0,
) -> list[dict[str, Any]]:
    """Every finding of the event: the records of those remediated. A runbook is waited
    for only while the invocation has time left (``remaining()`` seconds)."""
    records = []
    for finding in event["detail"]["findings"]:
        wait = max(0.0, min(WAIT_SECONDS, remaining() - 60))
        record = remediate(finding, settings, client, members, wait)
        if record is not None:
            records.append(record)
    return records


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
        lambda: context.get_remaining_time_in_millis() / 1000,
    )
