"""Containment of a compromised EC2 instance or role, through a member account's responder role.

Used twice: by the audit account's containment function (``handler``: a high GuardDuty
finding, in an account whose OU isolates) and by ``python -m baseline contain`` (one
instance, by hand). Either way every change in the member account is made as its
``<prefix>-incident-responder`` role, which can contain and collect and never destroy.

An instance (:class:`Containment`), each step recorded with PASS or FAIL:

1. reads the instance: its volumes, network interfaces and instance profile;
2. tags it with the case: SCP-EVIDENCE-PROTECT then denies stopping or terminating it
   (stop and termination protection that no workload administrator can turn off); when
   the guardrail refuses the tag because a run at the same time tagged it first, this run
   stops and leaves the instance to that one;
3. takes the instance out of its Auto Scaling group (which launches a replacement):
   isolation fails its health checks, and the group would terminate it;
4. keeps its description and console output in the evidence bucket (the function only);
5. snapshots every volume, tagged ``lz:incident-case`` and ``lz:evidence``;
6. makes the case's quarantine security group in the instance's VPC (tagged
   ``lz:quarantine=true`` as it is created) and, while the instance is not yet in it alone,
   opens it to all traffic: a flow that a rule for all traffic from and to anywhere allows
   is not tracked, so when the group is closed in step 8 every flow stops at once (a
   change of security groups alone leaves tracked connections open);
7. puts every network interface into that group alone;
8. closes the group: revokes its every inbound and outbound rule; when it stays open
   (the revocations refused or throttled, over several attempts), puts every interface
   back in the groups it had, since a group open to all traffic would leave the instance
   more exposed than before, and says so;
9. gives it the account's deny-all instance profile ``<prefix>-quarantine`` instead of its
   own;
10. denies its own role everything for the credentials that role issued to this instance
    (an inline policy ``DenyContainedInstance-<instance id>`` on ``ec2:SourceInstanceARN``):
    what was taken from its metadata service before the swap no longer works, anywhere,
    and other instances with the same role keep working;
11. with ``quarantine_role`` (the command's ``--quarantine-role``), attaches
    ``AWSDenyAll`` to its own role (every instance with that role loses its permissions).

A role's credentials (:class:`Revocation`): an inline policy ``AWSRevokeOlderSessions``
on the role denies every session issued before now, as the console's "Revoke active
sessions" does; new sessions still work. Credentials GuardDuty finds taken from an
instance (``InstanceCredentialExfiltration``, the session named after the instance)
contain that instance instead: it is where they leak from, and step 10 denies what was
taken without breaking the role's other instances; only when the instance cannot be read
(terminated, say) are the role's older sessions revoked.

Idempotent: a second run for the same case finds the snapshots, group, profile and
revocation it made and makes no second ones. Safe on partial failure: a failed step is
recorded and the steps after it still run. Nothing is stopped, terminated or deleted.
Standard library and boto3 only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

# The kit's names (baseline.defaults and baseline.naming; a test keeps them equal)
CASE_TAG = "lz:incident-case"
QUARANTINE_TAG = "lz:quarantine"
EVIDENCE_TAG = "lz:evidence"
DENY_ALL = "arn:aws:iam::aws:policy/AWSDenyAll"
REVOKE_POLICY = "AWSRevokeOlderSessions"
#: the inline policy, per instance, that denies its role's credentials issued to it
CONTAINED_INSTANCE_POLICY = "DenyContainedInstance-"
#: GuardDuty's finding types about credentials taken from an instance's metadata service
INSTANCE_CREDENTIALS = "InstanceCredentialExfiltration"
INSTANCE_SESSION = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
ANYWHERE = {"IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
CLOSE_ATTEMPTS = 4  # reads of the quarantine group until it has no rule
CLOSE_BACKOFF = 0.5  # seconds, doubled after each attempt
NEW_GROUP_ATTEMPTS = 5  # calls about a group just made, while EC2 does not know it yet

ClientFactory = Callable[[str], Any]  # service -> client in the member account and region
Store = Callable[[str, bytes, str], str]  # (name, body, content type) -> where it is kept


def responder_role(prefix: str) -> str:
    return f"{prefix}-incident-responder"


def quarantine_profile(prefix: str) -> str:
    return f"{prefix}-quarantine"


@dataclass
class Step:
    """One step of a containment or a command, as printed and kept with the case."""

    name: str
    passed: bool | None  # None: left to a person
    seconds: float
    detail: str = ""

    def line(self) -> str:
        status = {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]
        return f"{status}  {self.seconds:6.1f}s  {self.name}" + (
            f": {self.detail}" if self.detail else ""
        )


@dataclass(frozen=True)
class Target:
    """The instance to contain, and where."""

    prefix: str
    account_id: str
    region: str
    instance_id: str
    case_id: str
    account_name: str = ""
    #: attach AWSDenyAll to the instance's own role (every instance with it loses it)
    quarantine_role: bool = False
    #: give the instance the account's deny-all instance profile instead of its own
    quarantine_profile: bool = True

    @property
    def responder_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{responder_role(self.prefix)}"

    @property
    def quarantine_profile_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:instance-profile/{quarantine_profile(self.prefix)}"

    @property
    def group_name(self) -> str:
        return quarantine_group(self.prefix, self.case_id, self.instance_id)


#: Roles IAM lets nobody change, so no session of theirs can be revoked there: Identity
#: Center's permission-set roles and services' service-linked roles.
AWS_PROTECTED_ROLES = ("AWSReservedSSO_", "AWSServiceRoleFor")


def quarantine_group(prefix: str, case: str, instance_id: str) -> str:
    """The quarantine group of one instance in a case: its own, so that opening it (to
    leave no flow tracked) never opens the group of another instance of the case."""
    return f"{prefix}-quarantine-{case}-{instance_id}"


def record(steps: list[Step], name: str, passed: bool | None, detail: str, started: float) -> Step:
    step = Step(name, passed, round(time.monotonic() - started, 1), detail)
    steps.append(step)
    return step


def attempt(steps: list[Step], name: str, action: Callable[[], str]) -> Step:
    """Do one step and record it; a failure is recorded and the next steps still run."""
    started = time.monotonic()
    try:
        return record(steps, name, True, action(), started)
    except Exception as error:  # recorded; the next steps still run
        return record(steps, name, False, f"{type(error).__name__}: {error}", started)


class _Steps:
    steps: list[Step]

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(s.passed is not False for s in self.steps)

    def _record(self, name: str, passed: bool | None, detail: str, started: float) -> Step:
        return record(self.steps, name, passed, detail, started)

    def _attempt(self, name: str, action: Callable[[], str]) -> Step:
        return attempt(self.steps, name, action)


#: The services a containment calls, through its client factory.
CONTAINMENT_SERVICES = ("ec2", "autoscaling", "iam")


@dataclass
class Containment(_Steps):
    """Contains one instance through ``client`` (clients as the responder role)."""

    target: Target
    client: ClientFactory
    store: Store | None = None  # where evidence is kept; None: nowhere (the command)
    steps: list[Step] = field(default_factory=list)
    #: the case the instance is contained under: its own tag's, once it has one
    case: str = ""
    #: another run, at the same time, tagged the instance first: that run contains it
    left_to_another_run: bool = False
    #: EC2 knows no such instance in the account and region (a mistyped id, another region)
    instance_unknown: bool = False
    #: the instance read again after its tag was refused: the rest works from it
    reread: dict[str, Any] = field(default_factory=dict)

    def run(self) -> Iterator[Step]:
        """Each step as it completes; only a failure to read the instance stops the run."""
        started = time.monotonic()
        try:
            ec2 = self.client("ec2")
            instance = ec2.describe_instances(InstanceIds=[self.target.instance_id])[
                "Reservations"
            ][0]["Instances"][0]
        except Exception as error:  # nothing else can be done without the instance
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            self.instance_unknown = str(code).startswith("InvalidInstanceID.")
            yield self._record(
                "read the instance", False, f"{type(error).__name__}: {error}", started
            )
            return
        state = instance.get("State", {}).get("Name", "")
        if state in ("shutting-down", "terminated"):
            # EC2 still describes it for about an hour: nothing is left to isolate, and
            # credentials taken from it are the role's to revoke
            yield self._record("read the instance", False, f"it is {state}", started)
            return
        volumes = [
            m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m
        ]
        interfaces = [n["NetworkInterfaceId"] for n in instance.get("NetworkInterfaces", [])]
        # An instance already contained (an earlier finding's case) stays in that case:
        # its snapshots and quarantine group are found, not made twice.
        tagged = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == CASE_TAG), None)
        self.case = tagged or self.target.case_id
        yield self._record(
            "read the instance",
            True,
            f"{len(volumes)} volumes, {len(interfaces)} interfaces",
            started,
        )
        yield self._attempt(
            "tag it with the case (no stop, no termination)", partial(self._tag, ec2, tagged)
        )
        if self.left_to_another_run:
            yield self._record(
                "leave the rest to that run", None, f"case {self.case}", time.monotonic()
            )
            return
        instance = self.reread or instance
        # first out of its Auto Scaling group: isolation fails its health checks, and the
        # group would terminate it (its service-linked role is beyond the guardrails)
        yield self._attempt("leave its Auto Scaling group", self._detach)
        if self.store is not None:
            store = self.store
            yield self._attempt(
                "keep its description",
                lambda: store(
                    "instance.json", json.dumps(instance, default=str).encode(), "application/json"
                ),
            )
            yield self._attempt("keep its console output", partial(self._console, ec2, store))
        for volume in volumes:
            yield self._attempt(f"snapshot {volume}", partial(self._snapshot, ec2, volume))
        yield from self._isolation_steps(ec2, instance, interfaces)
        profile = instance.get("IamInstanceProfile", {}).get("Arn")
        if profile:
            yield from self._profile_steps(ec2, profile)

    def _isolation_steps(
        self, ec2: Any, instance: dict[str, Any], interfaces: list[str]
    ) -> Iterator[Step]:
        """Every interface into a quarantine group that is then closed; back into its own
        groups where the quarantine group cannot be closed."""
        if interfaces:
            # SCP-EVIDENCE-PROTECT keeps an interface's groups where it carries the case
            # tag: a change of an interface's groups is authorised on the interface, which
            # the instance's own tag does not reach
            yield self._attempt(
                "tag its network interfaces with the case",
                partial(self._tag_interfaces, ec2, interfaces),
            )
        # A group belongs to one VPC, and an interface may be in another VPC than the
        # instance's (a multi-VPC attachment): one quarantine group in each VPC.
        vpcs = _vpcs(instance)
        groups: dict[str, dict[str, Any]] = {vpc: {} for vpc in vpcs}
        if not vpcs:
            yield self._record(
                "its quarantine group", False, "EC2 names no VPC of it", time.monotonic()
            )
        for vpc, group in groups.items():
            where = "" if len(vpcs) == 1 else f" in {vpc}"
            yield self._attempt(
                f"its quarantine group{where}",
                partial(self._quarantine_group, ec2, vpc, group),
            )
            if group and not self._isolated(instance, vpc, group["id"]):
                yield self._attempt(
                    f"open it, so that no flow is tracked{where}",
                    partial(self._open, ec2, group),
                )
        for interface in interfaces:
            group = groups.get(_vpc_of(instance, interface), {})
            yield self._attempt(
                f"isolate {interface}", partial(self._isolate, ec2, interface, instance, group)
            )
        for vpc, group in groups.items():
            if not group:
                continue
            where = "" if len(vpcs) == 1 else f" in {vpc}"
            closing = self._attempt(
                f"close it: no traffic{where}", partial(self._close, ec2, group)
            )
            yield closing
            if closing.passed is False:
                # open to all traffic is worse than where the instance was: back there
                for interface, own in self._own_groups(instance, vpc, group["id"]):
                    yield self._attempt(
                        f"put {interface} back in its own groups: the quarantine group is open",
                        partial(self._put_back, ec2, interface, own),
                    )

    def _profile_steps(self, ec2: Any, profile: str) -> Iterator[Step]:
        """Its own role's credentials denied, then, once nothing more needs the role's
        name, its profile swapped for the deny-all one."""
        if profile.rsplit("/", 1)[-1] == quarantine_profile(self.target.prefix):
            # an earlier run gave it the deny-all profile: its own role is no longer
            # known here, and the deny-all profile's role is the kit's, not the instance's
            yield self._record(
                "deny the credentials its role issued to it",
                None,
                "it has the deny-all profile already, from an earlier run: whether that run "
                "denied its own role's credentials its mail says (its instance.json names "
                "the role); if it did not, deny them on that role by hand",
                time.monotonic(),
            )
            return
        yield self._attempt(
            "deny the credentials its role issued to it", lambda: self._deny_issued(profile)
        )
        if self.target.quarantine_role:
            yield self._attempt("deny its own role everything", lambda: self._deny(profile))
        if self.target.quarantine_profile:
            yield self._attempt(
                "give it the deny-all instance profile", partial(self._swap_profile, ec2, profile)
            )

    # --- the steps -------------------------------------------------------------------

    def _case_tags(self, *extra: tuple[str, str]) -> list[dict[str, str]]:
        return [{"Key": CASE_TAG, "Value": self.case}] + [{"Key": k, "Value": v} for k, v in extra]

    def _tag(self, ec2: Any, tagged: str | None) -> str:
        if tagged is not None:  # the guardrail keeps the first case's tag
            return f"already {CASE_TAG}={tagged}"
        try:
            ec2.create_tags(Resources=[self.target.instance_id], Tags=self._case_tags())
        except ec2.exceptions.ClientError:
            # Two findings on one instance start two runs at once; the guardrail refuses
            # the second case's tag. The first run contains it: a second would snapshot
            # it again and open a second group while the first closes its own.
            instance = self._read(ec2)
            now = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == CASE_TAG), None)
            if now is None:
                raise
            if now != self.case:
                self.case, self.left_to_another_run = now, True
                return f"a run at the same time tagged it first: {CASE_TAG}={now}"
            # Its own case: this call's retry after a lost answer, or the same finding
            # delivered twice. Nothing tells the two apart, so it goes on, as every step
            # finds what is done already, from the instance as it is now (not as first
            # read: a group it is isolated in already is not opened again).
            self.reread = instance
            return f"already {CASE_TAG}={now} (this case's own tag)"
        return f"{CASE_TAG}={self.case}"

    def _tag_interfaces(self, ec2: Any, interfaces: list[str]) -> str:
        ec2.create_tags(Resources=interfaces, Tags=self._case_tags())
        return f"{CASE_TAG}={self.case} on {', '.join(interfaces)}"

    def _read(self, ec2: Any) -> dict[str, Any]:
        (instance,) = ec2.describe_instances(InstanceIds=[self.target.instance_id])["Reservations"][
            0
        ]["Instances"]
        return dict(instance)

    def _console(self, ec2: Any, store: Store) -> str:
        try:
            output = ec2.get_console_output(InstanceId=self.target.instance_id, Latest=True)
        except ec2.exceptions.ClientError as error:
            if error.response["Error"]["Code"] != "UnsupportedOperation":
                raise
            # the latest output is for Nitro instances; others give the last boot's
            output = ec2.get_console_output(InstanceId=self.target.instance_id)
        text = output.get("Output") or ""  # botocore decodes the base64 of the API
        return store("console-output.txt", text.encode(), "text/plain; charset=utf-8")

    def _snapshot(self, ec2: Any, volume: str) -> str:
        existing = ec2.describe_snapshots(
            OwnerIds=["self"],
            Filters=[
                {"Name": "volume-id", "Values": [volume]},
                {"Name": f"tag:{CASE_TAG}", "Values": [self.case]},
            ],
        )["Snapshots"]
        if existing:
            return f"{existing[0]['SnapshotId']} (already taken for this case)"
        snapshot = ec2.create_snapshot(
            VolumeId=volume,
            Description=f"Evidence of case {self.case}, {self.target.instance_id}",
            TagSpecifications=[
                {
                    "ResourceType": "snapshot",
                    "Tags": self._case_tags((EVIDENCE_TAG, self.case)),
                }
            ],
        )
        return str(snapshot["SnapshotId"])

    def _quarantine_group(self, ec2: Any, vpc: str, group: dict[str, Any]) -> str:
        name = quarantine_group(self.target.prefix, self.case, self.target.instance_id)
        found = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "group-name", "Values": [name]},
                {"Name": f"tag:{QUARANTINE_TAG}", "Values": ["true"]},
                {"Name": f"tag:{CASE_TAG}", "Values": [self.case]},
            ]
        )["SecurityGroups"]
        if found:
            group.update(id=found[0]["GroupId"], rules=found[0])
            return f"{group['id']} (already made)"
        group_id = ec2.create_security_group(
            GroupName=name,
            Description=f"Quarantine of case {self.case}: no traffic",
            VpcId=vpc,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": self._case_tags((QUARANTINE_TAG, "true")),
                }
            ],
        )["GroupId"]
        (made,) = _eventually(ec2, ec2.describe_security_groups, GroupIds=[group_id])[
            "SecurityGroups"
        ]
        group.update(id=group_id, rules=made)
        return f"{group_id} (made)"

    @staticmethod
    def _isolated(instance: dict[str, Any], vpc: str, group_id: str) -> bool:
        """Every interface of the instance in ``vpc`` is in the group alone already."""
        return all(
            [g["GroupId"] for g in n.get("Groups", [])] == [group_id]
            for n in instance.get("NetworkInterfaces", [])
            if _vpc_of(instance, n["NetworkInterfaceId"]) == vpc
        )

    def _open(self, ec2: Any, group: dict[str, Any]) -> str:
        rules = group["rules"]
        opened = []
        for direction, authorize in (
            ("IpPermissions", ec2.authorize_security_group_ingress),
            ("IpPermissionsEgress", ec2.authorize_security_group_egress),
        ):
            missing = _missing_anywhere(rules.get(direction, []))
            if missing:
                _eventually(
                    ec2,
                    authorize,
                    GroupId=group["id"],
                    IpPermissions=[{"IpProtocol": "-1", **missing}],
                )
                rules[direction] = [*rules.get(direction, []), {"IpProtocol": "-1", **missing}]
                opened.append("inbound" if direction == "IpPermissions" else "outbound")
        return f"all traffic {' and '.join(opened)} allowed" if opened else "already open"

    def _isolate(
        self, ec2: Any, interface: str, instance: dict[str, Any], group: dict[str, Any]
    ) -> str:
        if "id" not in group:
            raise RuntimeError("no quarantine group to move it into (the step above failed)")
        current: dict[str, Any] = next(
            (
                n
                for n in instance.get("NetworkInterfaces", [])
                if n["NetworkInterfaceId"] == interface
            ),
            {},
        )
        if [g["GroupId"] for g in current.get("Groups", [])] == [group["id"]]:
            return f"already only in {group['id']}"
        _eventually(
            ec2,
            ec2.modify_network_interface_attribute,
            NetworkInterfaceId=interface,
            Groups=[group["id"]],
        )
        return f"only in {group['id']}"

    @staticmethod
    def _own_groups(
        instance: dict[str, Any], vpc: str, group_id: str
    ) -> list[tuple[str, list[str]]]:
        """The groups of each interface in ``vpc`` as the instance was read, where that is
        not the quarantine group alone (an interface an earlier run isolated has no other)."""
        own = [
            (n["NetworkInterfaceId"], [g["GroupId"] for g in n.get("Groups", [])])
            for n in instance.get("NetworkInterfaces", [])
            if _vpc_of(instance, n["NetworkInterfaceId"]) == vpc
        ]
        return [(interface, groups) for interface, groups in own if groups != [group_id]]

    @staticmethod
    def _put_back(ec2: Any, interface: str, groups: list[str]) -> str:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=interface, Groups=groups)
        return f"in {', '.join(groups)} again: NOT isolated"

    def _close(self, ec2: Any, group: dict[str, Any]) -> str:
        """Revokes the group's every rule by id, and reads it again until none is left: a
        group left open would leave the instance more exposed than before."""
        revoked = 0
        for attempt_number in range(CLOSE_ATTEMPTS):
            rules = ec2.describe_security_group_rules(
                Filters=[{"Name": "group-id", "Values": [group["id"]]}]
            )["SecurityGroupRules"]
            if not rules:
                group["rules"] = {"IpPermissions": [], "IpPermissionsEgress": []}
                return f"{revoked} rules revoked; none left"
            try:
                for egress, revoke in (
                    (False, ec2.revoke_security_group_ingress),
                    (True, ec2.revoke_security_group_egress),
                ):
                    ids = [r["SecurityGroupRuleId"] for r in rules if r["IsEgress"] is egress]
                    if ids:
                        revoke(GroupId=group["id"], SecurityGroupRuleIds=ids)
                        revoked += len(ids)
            except Exception:
                if attempt_number == CLOSE_ATTEMPTS - 1:
                    raise
            time.sleep(CLOSE_BACKOFF * 2**attempt_number)
        raise RuntimeError(
            f"{group['id']} still has rules: it is OPEN to all traffic; revoke them by hand now"
        )

    def _detach(self) -> str:
        autoscaling = self.client("autoscaling")
        found = autoscaling.describe_auto_scaling_instances(InstanceIds=[self.target.instance_id])[
            "AutoScalingInstances"
        ]
        if not found:
            return "in no group"
        group = found[0]["AutoScalingGroupName"]
        if found[0].get("LifecycleState", "").startswith(("Detach", "Terminat")):
            return f"already leaving {group}"
        autoscaling.detach_instances(
            InstanceIds=[self.target.instance_id],
            AutoScalingGroupName=group,
            ShouldDecrementDesiredCapacity=False,
        )
        return f"detached from {group}; it launches a replacement"

    def _swap_profile(self, ec2: Any, profile_arn: str) -> str:
        quarantine = self.target.quarantine_profile_arn
        associations = ec2.describe_iam_instance_profile_associations(
            Filters=[
                {"Name": "instance-id", "Values": [self.target.instance_id]},
                {"Name": "state", "Values": ["associated"]},
            ]
        )["IamInstanceProfileAssociations"]
        if not associations:
            return "no profile associated any more"
        association = associations[0]
        if association["IamInstanceProfile"]["Arn"] == quarantine:
            return f"already {quarantine_profile(self.target.prefix)}"
        ec2.replace_iam_instance_profile_association(
            AssociationId=association["AssociationId"], IamInstanceProfile={"Arn": quarantine}
        )
        return (
            f"{profile_arn.rsplit('/', 1)[-1]} replaced by {quarantine_profile(self.target.prefix)}"
        )

    def _profile_roles(self, iam: Any, profile_arn: str) -> list[str]:
        name = profile_arn.rsplit("/", 1)[-1]
        roles = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
        return [str(role["RoleName"]) for role in roles]

    def _deny_issued(self, profile_arn: str) -> str:
        """Credentials of the instance's role carry the instance's ARN wherever they are
        used: a deny on it stops what was taken from the instance, and only that."""
        iam = self.client("iam")
        target = self.target
        instance_arn = (
            f"arn:aws:ec2:{target.region}:{target.account_id}:instance/{target.instance_id}"
        )
        name = CONTAINED_INSTANCE_POLICY + target.instance_id
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyCredentialsIssuedToTheContainedInstance",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"ec2:SourceInstanceARN": instance_arn}},
                }
            ],
        }
        done = []
        for role in self._profile_roles(iam, profile_arn):
            if _role_policy(iam, role, name) is not None:
                done.append(f"{role} (already)")
                continue
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
            done.append(role)
        return f"{name} on {', '.join(done)}" if done else "the profile has no role"

    def _deny(self, profile_arn: str) -> str:
        iam = self.client("iam")
        roles = self._profile_roles(iam, profile_arn)
        for role in roles:
            iam.attach_role_policy(RoleName=role, PolicyArn=DENY_ALL)
        return ", ".join(roles) or "the profile has no role"


def _vpcs(instance: dict[str, Any]) -> list[str]:
    """The VPCs of the instance's interfaces, its own first (one group is made in each)."""
    vpcs = [instance["VpcId"]] if instance.get("VpcId") else []
    for interface in instance.get("NetworkInterfaces", []):
        vpc = interface.get("VpcId")
        if vpc and vpc not in vpcs:
            vpcs.append(vpc)
    return vpcs


def _vpc_of(instance: dict[str, Any], interface: str) -> str:
    """The VPC of one of the instance's interfaces (the instance's, where EC2 names none)."""
    for found in instance.get("NetworkInterfaces", []):
        if found["NetworkInterfaceId"] == interface and found.get("VpcId"):
            return str(found["VpcId"])
    return str(instance.get("VpcId", ""))


def _eventually(ec2: Any, call: Callable[..., Any], **kwargs: Any) -> Any:
    """``call``, again while EC2 does not know the group it has just made yet: EC2 is
    eventually consistent, and its standard retries do not cover ``InvalidGroup.NotFound``."""
    for attempt_number in range(NEW_GROUP_ATTEMPTS - 1):
        try:
            return call(**kwargs)
        except ec2.exceptions.ClientError as error:
            if error.response["Error"]["Code"] != "InvalidGroup.NotFound":
                raise
        time.sleep(CLOSE_BACKOFF * 2**attempt_number)
    return call(**kwargs)  # the last attempt: its error is the step's


def _missing_anywhere(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The all-traffic ranges (IPv4 and IPv6) that the rules do not allow yet."""
    everything = [r for r in rules if r.get("IpProtocol") == "-1"]
    missing: dict[str, Any] = {}
    if not any({"CidrIp": "0.0.0.0/0"} in _bare(r, "IpRanges") for r in everything):
        missing["IpRanges"] = ANYWHERE["IpRanges"]
    if not any({"CidrIpv6": "::/0"} in _bare(r, "Ipv6Ranges") for r in everything):
        missing["Ipv6Ranges"] = ANYWHERE["Ipv6Ranges"]
    return missing


def _bare(rule: dict[str, Any], key: str) -> list[dict[str, str]]:
    """A rule's ranges without their descriptions."""
    return [{k: v for k, v in r.items() if k != "Description"} for r in rule.get(key, [])]


@dataclass
class Revocation(_Steps):
    """Revokes the sessions a role issued before ``now``, through ``client``."""

    role_name: str
    case_id: str
    client: ClientFactory
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: when GuardDuty last saw the activity: a revocation of the case older than that
    #: (the finding delivered again as it recurs) is made again
    last_seen: str | None = None
    steps: list[Step] = field(default_factory=list)
    #: the role is one that IAM lets nobody change: nothing was revoked
    protected: bool = False

    @property
    def sid(self) -> str:
        return "RevokeOlderSessions" + re.sub(r"[^A-Za-z0-9]", "", self.case_id)

    def run(self) -> Iterator[Step]:
        name = f"revoke the older sessions of {self.role_name}"
        if self.role_name.startswith(AWS_PROTECTED_ROLES):
            # IAM refuses every change to these: revoking them is Identity Center's, or
            # the service's (docs/incident-response.md, "Compromised IAM credentials")
            yield self._record(
                name,
                None,
                "IAM refuses changes to this role: for Identity Center's, revoke the "
                "person's sessions in Identity Center; a service-linked role's cannot be",
                time.monotonic(),
            )
            self.protected = True
            return
        yield self._attempt(name, self._revoke)

    def _revoke(self) -> str:
        iam = self.client("iam")
        current = _role_policy(iam, self.role_name, REVOKE_POLICY)
        if current is not None:
            document = current["PolicyDocument"]
            if isinstance(document, str):  # boto3 decodes it; a raw response does not
                document = json.loads(document)
            for statement in document.get("Statement", []):
                before = statement.get("Condition", {}).get("DateLessThan", {})
                issued = str(before.get("aws:TokenIssueTime", ""))
                if statement.get("Sid") == self.sid and _at_or_after(issued, self.last_seen):
                    return f"already revoked for this case ({REVOKE_POLICY}, {issued})"
        issued_before = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        iam.put_role_policy(
            RoleName=self.role_name,
            PolicyName=REVOKE_POLICY,
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": self.sid,
                            "Effect": "Deny",
                            "Action": ["*"],
                            "Resource": ["*"],
                            "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
                        }
                    ],
                }
            ),
        )
        return f"sessions issued before {issued_before} denied ({REVOKE_POLICY})"


def _role_policy(iam: Any, role: str, name: str) -> dict[str, Any] | None:
    """The role's inline policy of that name, or None when it has none."""
    try:
        return dict(iam.get_role_policy(RoleName=role, PolicyName=name))
    except iam.exceptions.NoSuchEntityException:
        return None


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _at_or_after(revoked: str, last_seen: str | None) -> bool:
    """Whether a revocation at ``revoked`` covers activity last seen at ``last_seen``."""
    if last_seen is None:
        return True
    try:
        return _instant(revoked) >= _instant(last_seen)
    except ValueError:
        return False


def role_clients(
    role_arn: str, session_name: str, region: str, sts: Any, duration: int = 3600
) -> ClientFactory:
    """Clients in another account and region, as ``role_arn``."""
    import boto3
    from botocore.config import Config

    credentials = sts.assume_role(
        RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=duration
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "max_attempts": 10})
    return lambda service: session.client(service, config=config)


def responder_clients(
    target_account: str, prefix: str, region: str, case: str, sts: Any
) -> ClientFactory:
    """Clients in the member account, as its incident-responder role."""
    role = f"arn:aws:iam::{target_account}:role/{responder_role(prefix)}"
    return role_clients(role, f"contain-{case}", region, sts)


# --- the containment function -----------------------------------------------------------


def _boto3_client(service: str, region: str | None = None) -> Any:  # pragma: no cover
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name=region,
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )


@dataclass(frozen=True)
class Settings:
    """The function's environment."""

    prefix: str
    modes: dict[str, str]  # OU path -> isolate | notify
    topic_arn: str
    evidence_bucket: str  # "" without a forensics account
    evidence_region: str
    #: the governed regions: where an instance whose credentials leaked may be
    regions: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            prefix=env["PREFIX"],
            modes=json.loads(env["MODES"]),
            topic_arn=env["TOPIC_ARN"],
            evidence_bucket=env.get("EVIDENCE_BUCKET", ""),
            evidence_region=env.get("EVIDENCE_REGION", ""),
            regions=tuple(json.loads(env.get("REGIONS", "[]"))),
        )

    def mode_of(self, ou_path: str) -> str:
        """The mode of the nearest OU listed on the path; notify under none."""
        parts = ou_path.split("/") if ou_path else []
        for length in range(len(parts), 0, -1):
            mode = self.modes.get("/".join(parts[:length]))
            if mode:
                return mode
        return "notify"


def ou_path(organizations: Any, account_id: str) -> str:
    """The account's OU path by names, ``Workloads/NonProd``; "" directly under the root."""
    names: list[str] = []
    child = account_id
    for _ in range(6):  # an OU tree is at most five levels deep
        (parent,) = _parents(organizations, child)
        if parent["Type"] != "ORGANIZATIONAL_UNIT":
            break
        unit = organizations.describe_organizational_unit(OrganizationalUnitId=parent["Id"])
        names.append(unit["OrganizationalUnit"]["Name"])
        child = parent["Id"]
    return "/".join(reversed(names))


def _parents(organizations: Any, child: str) -> list[dict[str, Any]]:
    """The child's parent: Organizations may answer a list call with an empty page and a
    token, so the pages are read until one holds it."""
    kwargs: dict[str, Any] = {"ChildId": child}
    while True:
        page = organizations.list_parents(**kwargs)
        if page["Parents"] or not page.get("NextToken"):
            return list(page["Parents"])
        kwargs["NextToken"] = page["NextToken"]


def case_of(finding: dict[str, Any]) -> str:
    """One case per finding: the same finding delivered again is the same case."""
    return f"gd-{finding['id']}"[:64]


def evidence_store(s3: Any, bucket: str, account: str, case: str) -> Store:
    """Keeps a case's evidence under ``<account>/<case>/`` of the evidence bucket."""
    prefix = f"{account}/{case}/"

    def store(name: str, body: bytes, content_type: str) -> str:
        s3.put_object(
            Bucket=bucket,
            Key=prefix + name,
            Body=body,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            Tagging=urllib.parse.urlencode({CASE_TAG: case}),
        )
        return f"s3://{bucket}/{prefix}{name}"

    return store


def _act(
    finding: dict[str, Any],
    settings: Settings,
    case: str,
    *,
    store: Store | None,
    member_clients: Callable[[str], ClientFactory],
    steps: list[Step],
) -> str:
    """Contains what the finding names, recording each step; what was done.

    ``member_clients(region)``: the account's responder in a region."""
    account, region = finding["accountId"], finding["region"]
    resource = finding.get("resource", {})
    kind = resource.get("resourceType")
    details = resource.get("accessKeyDetails", {})
    acts = kind == "Instance" or (kind == "AccessKey" and details.get("userType") == "AssumedRole")
    responder: list[ClientFactory] = []

    def assume() -> str:
        responder.append(member_clients(region))
        return "assumed"

    if acts:
        attempt(steps, "act as the account's responder role", assume)
    if not responder:
        return (
            "nothing: the responder role could not be assumed"
            if acts
            else "nothing: the finding names no instance and no role's credentials"
        )
    source = _source_instance(finding) if kind == "AccessKey" else None
    # GuardDuty raises a credential finding where the credentials were used, in any
    # region, and sends IAM's and STS's global events to every region: the instance they
    # were taken from is contained where it runs, and the role revoked only when it runs
    # in no governed region
    found: list[tuple[str, ClientFactory]] = []
    searched = False  # every governed region answered the search
    if source:
        searched = (
            attempt(
                steps,
                f"find {source} in the governed regions",
                partial(
                    _find_instance,
                    source,
                    region=region,
                    regions=settings.regions,
                    here=responder[0],
                    member_clients=member_clients,
                    found=found,
                ),
            ).passed
            is True
        )
    elif kind == "Instance":
        found.append((region, responder[0]))
    instance_id = resource["instanceDetails"]["instanceId"] if kind == "Instance" else source
    if found and instance_id:
        where, clients = found[0]
        containment = Containment(
            Target(settings.prefix, account, where, instance_id, case), clients, store
        )
        steps += list(containment.run())
        what = _contained(containment, region, source and details["userName"])
        if not source or containment.steps[0].passed:
            return what
    role = details["userName"]
    revocation = Revocation(
        role, case, responder[0], last_seen=finding.get("service", {}).get("eventLastSeen")
    )
    steps += list(revocation.run())
    if revocation.protected:
        return f"nothing: IAM refuses changes to role {role}; revoke its sessions by hand"
    what = f"older sessions of role {role} revoked"
    if source and not found and searched:
        what += f" (instance {source}, where they were taken, runs in no governed region)"
    elif source:
        what += f" (instance {source}, where they were taken, could not be read)"
    return what


def _contained(containment: Containment, region: str, role: str | None) -> str:
    """What a containment did, for the outcome: ``role`` the one whose credentials were
    taken from the instance, if the finding is about them."""
    instance, case = containment.target.instance_id, containment.target.case_id
    if containment.left_to_another_run:
        return f"instance {instance} left to the run of case {containment.case}"
    what = f"instance {instance} contained"
    if containment.target.region != region:
        what += f" in {containment.target.region}"
    if role:
        what += f", where the credentials of role {role} were taken"
    if containment.case != case:
        what += f" (under its earlier case {containment.case})"
    return what


def _find_instance(
    instance_id: str,
    *,
    region: str,
    regions: Sequence[str],
    here: ClientFactory,
    member_clients: Callable[[str], ClientFactory],
    found: list[tuple[str, ClientFactory]],
) -> str:
    """The region of the governed ones (the finding's first) where EC2 knows the instance,
    and the responder's clients there, into ``found``."""
    order = [region, *sorted(set(regions) - {region})]
    unread: list[str] = []  # a region that did not answer (not enabled, say) is no answer
    for name in order:
        try:
            clients = here if name == region else member_clients(name)
            clients("ec2").describe_instances(InstanceIds=[instance_id])
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if not str(code).startswith("InvalidInstanceID."):
                unread.append(f"{name} ({type(error).__name__}: {error})")
            continue
        found.append((name, clients))
        return f"in {name}"
    if unread:
        raise RuntimeError(f"not found; not read in {', '.join(unread)}")
    return f"in none of {', '.join(order)}: terminated, or in a region not governed"


def _source_instance(finding: dict[str, Any]) -> str | None:
    """The instance whose role credentials the finding says were taken, if it says so.

    Only GuardDuty's instance-credential findings are read this way: it tells those
    credentials from others, while any principal trusted by a role can name its own
    session after an instance."""
    if INSTANCE_CREDENTIALS not in str(finding.get("type", "")):
        return None
    details = finding.get("resource", {}).get("accessKeyDetails", {})
    session = str(details.get("principalId", "")).rpartition(":")[2]
    return session if INSTANCE_SESSION.fullmatch(session) else None


def handle(
    event: dict[str, Any],
    settings: Settings,
    client: Callable[..., Any],
    member_clients: Callable[[str, str, str], ClientFactory],
) -> dict[str, Any]:
    """Contain what a GuardDuty finding names, if the account's OU isolates; then report."""
    finding = event["detail"]
    account, region = finding["accountId"], finding["region"]
    case = case_of(finding)
    path = ou_path(client("organizations"), account)
    mode = settings.mode_of(path)
    resource = finding.get("resource", {})
    kind = resource.get("resourceType")
    if finding.get("service", {}).get("additionalInfo", {}).get("sample"):
        mode = "sample"  # a game day's: its resources do not exist
    if mode != "isolate":
        LOG.info("case %s: %s in %s (%s): %s only", case, kind, account, path or "root", mode)
        return {"case": case, "mode": mode, "steps": []}
    store = (
        evidence_store(
            client("s3", settings.evidence_region), settings.evidence_bucket, account, case
        )
        if settings.evidence_bucket
        else None
    )
    steps: list[Step] = []
    if store is not None:
        keep = store
        attempt(
            steps,
            "keep the finding",
            lambda: keep(
                f"finding-{finding.get('updatedAt', 'first')}.json",
                json.dumps(finding).encode(),
                "application/json",
            ),
        )
    what = _act(
        finding,
        settings,
        case,
        store=store,
        member_clients=lambda where: member_clients(account, where, case),
        steps=steps,
    )
    failed = [s for s in steps if s.passed is False]
    if failed:
        what = f"{what}, but {len(failed)} of {len(steps)} steps failed"
    record = {
        "case": case,
        "account": account,
        "region": region,
        "ou": path,
        "finding_type": finding.get("type"),
        "severity": finding.get("severity"),
        "outcome": what,
        "steps": [s.__dict__ for s in steps],
    }
    where = "not kept: the organisation has no forensics account"
    if store is not None:
        try:
            where = store("case.json", json.dumps(record, indent=1).encode(), "application/json")
            where = where.rsplit("/", 1)[0] + "/"
        except Exception as error:
            where = f"not kept ({type(error).__name__}: {error})"
    outcome = (
        "Containment incomplete"
        if failed
        else "Not contained, a person acts"
        if what.startswith("nothing")
        else "Contained"
    )
    client("sns", settings.topic_arn.split(":")[3]).publish(
        TopicArn=settings.topic_arn,
        Subject=f"{outcome}: {finding.get('type', 'GuardDuty finding')}"[:99],
        Message=message(record, where),
    )
    return record


def message(record: dict[str, Any], where: str) -> str:
    """The notification: short, in the order a responder reads it."""
    steps = record["steps"]
    still_open = [s for s in steps if s["name"].startswith("close") and s["passed"] is False]
    put_back = [s for s in steps if s["name"].startswith("put ")]
    warning = []
    if still_open and put_back and all(s["passed"] for s in put_back):
        warning = [
            "THE QUARANTINE GROUP COULD NOT BE CLOSED: the instance is back in its own"
            " groups, NOT isolated. Close the group by hand, then run contain again."
        ]
    elif still_open:
        warning = ["THE QUARANTINE GROUP IS OPEN TO ALL TRAFFIC: close it by hand now."]
    lines = [
        *warning,
        f"Case {record['case']}: {record['outcome']}.",
        f"Account {record['account']} ({record['ou'] or 'root'}), region {record['region']}.",
        f"Finding: {record['finding_type']}, severity {record['severity']}.",
        "Done:",
        *(f"  {Step(**s).line()}" for s in record["steps"]),
        f"Evidence: {where}",
        "Next: docs/incident-response.md, the playbook of this finding type.",
    ]
    return "\n".join(lines)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # pragma: no cover
    settings = Settings.from_environment()
    sts = _boto3_client("sts")

    def members(account: str, region: str, case: str) -> ClientFactory:
        return responder_clients(account, settings.prefix, region, case, sts)

    return handle(event, settings, _boto3_client, members)
