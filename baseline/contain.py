"""``python -m baseline contain``: contain a compromised EC2 instance, from the audit account.

The playbook's first hour as one command (docs/incident-response.md). Run with the audit
account's IncidentResponse credentials: it assumes the member account's
``<prefix>-incident-responder`` role, which can contain and collect and never destroy,
and then, printing each step with PASS or FAIL:

1. reads the instance: its volumes, network interfaces and instance profile;
2. snapshots every volume, tagged ``lz:incident-case`` and ``lz:evidence`` with the case id
   (SCP-EVIDENCE-PROTECT then keeps the snapshots);
3. makes the case's quarantine security group in the instance's VPC (tagged
   ``lz:quarantine=true`` as it is created) and revokes every outbound rule it has;
4. puts every network interface of the instance into that group alone;
5. takes it out of its Auto Scaling group, if it has one (the group launches a
   replacement, and neither terminates nor reuses the instance);
6. with ``--quarantine-role``, attaches ``AWSDenyAll`` to the instance profile's role
   (every instance with that role loses its permissions: the responder cannot swap the
   profile of one instance);
7. tags the instance with the case.

It is idempotent: a second run for the same case finds the snapshots and the group it
made and makes no second ones. It is safe on partial failure: a failed step is recorded
and the steps after it still run. It never stops, terminates or deletes anything.
Security-group changes do not cut connections that are already tracked; the playbook
says what else to do. Standard library and boto3 only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from baseline import naming
from baseline.config import LandingZoneConfig
from baseline.defaults import CASE_TAG, EVIDENCE_TAG, QUARANTINE_TAG
from baseline.operations import CommandError, Step, created_account, governed_region

DENY_ALL = "arn:aws:iam::aws:policy/AWSDenyAll"
_INSTANCE = re.compile(r"^i-[0-9a-f]{8,17}$")
_CASE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

ClientFactory = Callable[[str], Any]  # service -> client in the member account and region


@dataclass(frozen=True)
class Target:
    """The instance to contain, and where."""

    prefix: str
    account_name: str
    account_id: str
    region: str
    instance_id: str
    case_id: str
    quarantine_role: bool = False

    @property
    def responder_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{naming.incident_responder_role(self.prefix)}"

    @property
    def group_name(self) -> str:
        return f"{self.prefix}-quarantine-{self.case_id}"

    def calls(self) -> list[str]:
        """What a run calls, for ``--dry-run``."""
        return [
            f"sts AssumeRole {self.responder_role_arn}",
            f"ec2 DescribeInstances {self.instance_id} in {self.region}",
            "ec2 DescribeSnapshots (this case's, per volume) and CreateSnapshot for each "
            f"volume without one, tagged {CASE_TAG}={self.case_id} and {EVIDENCE_TAG}={self.case_id}",
            f"ec2 DescribeSecurityGroups / CreateSecurityGroup {self.group_name} "
            f"(tagged {QUARANTINE_TAG}=true) and RevokeSecurityGroupEgress of its every rule",
            "ec2 ModifyNetworkInterfaceAttribute of each interface to that group alone",
            "autoscaling DescribeAutoScalingInstances and DetachInstances (keeping the "
            "group's size: it launches a replacement)",
            *(
                ["iam GetInstanceProfile and AttachRolePolicy AWSDenyAll to its role"]
                if self.quarantine_role
                else []
            ),
            f"ec2 CreateTags {CASE_TAG}={self.case_id} on {self.instance_id}",
        ]


def target_for(
    config: LandingZoneConfig,
    *,
    account: str,
    instance: str,
    case: str,
    region: str | None = None,
    quarantine_role: bool = False,
) -> Target:
    """The target, or a :class:`CommandError` naming every bad input."""
    problems: list[str] = []
    found = created_account(config, account, problems)
    if found is not None and found.role.value == "management":
        problems.append(
            "--account: the management account has no responder role (no SCP would bound "
            "it); contain there by hand, with break-glass"
        )
    region = governed_region(config, region, problems)
    if not _INSTANCE.match(instance):
        problems.append(f"--instance: {instance!r} is not an instance id like i-0123456789abcdef0")
    if not _CASE.match(case):
        problems.append(f"--case: {case!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if problems:
        raise CommandError(problems)
    assert found is not None and found.id is not None
    return Target(
        prefix=config.organization.prefix,
        account_name=found.name,
        account_id=found.id,
        region=region,
        instance_id=instance,
        case_id=case,
        quarantine_role=quarantine_role,
    )


@dataclass
class Containment:
    """Runs the steps against the member account through ``client`` (responder clients)."""

    target: Target
    client: ClientFactory
    steps: list[Step] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(s.passed is not False for s in self.steps)

    def run(self) -> Iterator[Step]:
        """Each step as it completes; only a failure to read the instance stops the run."""
        ec2 = self.client("ec2")
        try:
            instance = ec2.describe_instances(InstanceIds=[self.target.instance_id])[
                "Reservations"
            ][0]["Instances"][0]
        except Exception as error:  # nothing else can be done without the instance
            yield self._record("read the instance", False, f"{type(error).__name__}: {error}")
            return
        volumes = [
            m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m
        ]
        interfaces = [n["NetworkInterfaceId"] for n in instance.get("NetworkInterfaces", [])]
        yield self._record(
            "read the instance", True, f"{len(volumes)} volumes, {len(interfaces)} interfaces"
        )
        for volume in volumes:
            yield self._attempt(f"snapshot {volume}", partial(self._snapshot, ec2, volume))
        group: dict[str, str] = {}
        yield self._attempt(
            "quarantine group, no outbound rule",
            lambda: self._quarantine_group(ec2, instance["VpcId"], group),
        )
        for interface in interfaces:
            yield self._attempt(
                f"isolate {interface}", partial(self._isolate, ec2, interface, group)
            )
        yield self._attempt("leave its Auto Scaling group", self._detach)
        profile = instance.get("IamInstanceProfile", {}).get("Arn")
        if profile and self.target.quarantine_role:
            yield self._attempt("deny the instance role everything", lambda: self._deny(profile))
        elif profile:
            yield self._record(
                "deny the instance role everything",
                None,
                "not asked (--quarantine-role): every instance with the role would lose it",
            )
        yield self._attempt("tag the instance with the case", lambda: self._tag(ec2))

    # --- the steps -------------------------------------------------------------------

    def _record(self, name: str, passed: bool | None, detail: str) -> Step:
        step = Step(name, passed, 0.0, detail)
        self.steps.append(step)
        return step

    def _attempt(self, name: str, action: Callable[[], str]) -> Step:
        try:
            return self._record(name, True, action())
        except Exception as error:  # recorded; the next steps still run
            return self._record(name, False, f"{type(error).__name__}: {error}")

    def _case_tags(self, *extra: tuple[str, str]) -> list[dict[str, str]]:
        return [{"Key": CASE_TAG, "Value": self.target.case_id}] + [
            {"Key": k, "Value": v} for k, v in extra
        ]

    def _snapshot(self, ec2: Any, volume: str) -> str:
        existing = ec2.describe_snapshots(
            OwnerIds=["self"],
            Filters=[
                {"Name": "volume-id", "Values": [volume]},
                {"Name": f"tag:{CASE_TAG}", "Values": [self.target.case_id]},
            ],
        )["Snapshots"]
        if existing:
            return f"{existing[0]['SnapshotId']} (already taken for this case)"
        snapshot = ec2.create_snapshot(
            VolumeId=volume,
            Description=f"Evidence of case {self.target.case_id}, {self.target.instance_id}",
            TagSpecifications=[
                {
                    "ResourceType": "snapshot",
                    "Tags": self._case_tags((EVIDENCE_TAG, self.target.case_id)),
                }
            ],
        )
        return str(snapshot["SnapshotId"])

    def _quarantine_group(self, ec2: Any, vpc: str, group: dict[str, str]) -> str:
        found = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": f"tag:{QUARANTINE_TAG}", "Values": ["true"]},
                {"Name": f"tag:{CASE_TAG}", "Values": [self.target.case_id]},
            ]
        )["SecurityGroups"]
        if found:
            group_id = found[0]["GroupId"]
            rules = found[0].get("IpPermissionsEgress", [])
            made = "already made"
        else:
            group_id = ec2.create_security_group(
                GroupName=self.target.group_name,
                Description=f"Quarantine of case {self.target.case_id}: no traffic",
                VpcId=vpc,
                TagSpecifications=[
                    {
                        "ResourceType": "security-group",
                        "Tags": self._case_tags((QUARANTINE_TAG, "true")),
                    }
                ],
            )["GroupId"]
            rules = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0].get(
                "IpPermissionsEgress", []
            )
            made = "made"
        if rules:
            ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=rules)
        group["id"] = group_id
        return f"{group_id} ({made}; {len(rules)} outbound rules revoked)"

    def _isolate(self, ec2: Any, interface: str, group: dict[str, str]) -> str:
        if "id" not in group:
            raise RuntimeError("no quarantine group to move it into (the step above failed)")
        ec2.modify_network_interface_attribute(NetworkInterfaceId=interface, Groups=[group["id"]])
        return f"only in {group['id']}"

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

    def _deny(self, profile_arn: str) -> str:
        iam = self.client("iam")
        name = profile_arn.rsplit("/", 1)[-1]
        roles = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
        for role in roles:
            iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=DENY_ALL)
        return ", ".join(r["RoleName"] for r in roles) or "the profile has no role"

    def _tag(self, ec2: Any) -> str:
        ec2.create_tags(Resources=[self.target.instance_id], Tags=self._case_tags())
        return f"{CASE_TAG}={self.target.case_id}"


def responder_clients(target: Target, sts: Any) -> ClientFactory:
    """Clients in the member account, as its incident-responder role."""
    import boto3
    from botocore.config import Config

    credentials = sts.assume_role(
        RoleArn=target.responder_role_arn,
        RoleSessionName=f"contain-{target.case_id}"[:64],
        DurationSeconds=3600,
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=target.region,
    )
    config = Config(retries={"mode": "standard", "max_attempts": 10})
    return lambda service: session.client(service, config=config)
