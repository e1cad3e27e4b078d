# Account settings of the member baseline (inline in the StackSet template: keep < 4 KB,
# as the template carries it: no comment lines, one space per indentation level).
# Idempotent; a Delete changes nothing. CloudFormation provides cfnresponse to inline code.
import contextlib
import time
from typing import Any

import boto3
import cfnresponse
from botocore.config import Config

C = Config(retries={"mode": "standard", "max_attempts": 10})


def password_policy(p: dict) -> None:
    boto3.client("iam", config=C).update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
    )


def config_role(p: dict) -> None:
    iam = boto3.client("iam", config=C)
    # InvalidInput: it exists, another region made it (maybe just now)
    with contextlib.suppress(iam.exceptions.InvalidInputException):
        iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")
    # in every region: let a new role propagate before the recorder uses it
    time.sleep(15)


def s3_block_public_access(p: dict) -> None:
    boto3.client("s3control", config=C).put_public_access_block(
        AccountId=p["AccountId"],
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
            True,
        ),
    )


def ebs_encryption(p: dict, ec2: Any) -> None:
    ec2.enable_ebs_encryption_by_default()
    if p.get("EbsKmsKeyId"):
        ec2.modify_ebs_default_kms_key_id(KmsKeyId=p["EbsKmsKeyId"])
    else:
        ec2.reset_ebs_default_kms_key_id()


def imds_defaults(p: dict, ec2: Any) -> None:
    ec2.modify_instance_metadata_defaults(
        HttpTokens="required",
        HttpPutResponseHopLimit=2,
        HttpEndpoint="enabled",
        InstanceMetadataTags="disabled",
    )


def default_vpcs(p: dict, ec2: Any) -> None:
    f = [{"Name": "isDefault", "Values": ["true"]}]
    for vpc in ec2.describe_vpcs(Filters=f)["Vpcs"]:
        i = vpc["VpcId"]
        v = [{"Name": "vpc-id", "Values": [i]}]
        if (
            p["DefaultVpcs"] == "delete"
            and not ec2.describe_network_interfaces(Filters=v)["NetworkInterfaces"]
        ):
            for gw in ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [i]}]
            )["InternetGateways"]:
                g = gw["InternetGatewayId"]
                ec2.detach_internet_gateway(InternetGatewayId=g, VpcId=i)
                ec2.delete_internet_gateway(InternetGatewayId=g)
            for sn in ec2.describe_subnets(Filters=v)["Subnets"]:
                ec2.delete_subnet(SubnetId=sn["SubnetId"])
            try:
                ec2.delete_vpc(VpcId=i)
                continue
            # more of the VPC's (an endpoint, a group): it stays, without subnets or
            # gateway, and its default group is closed as below
            except Exception as e:
                if "DependencyViolation" not in str(e):
                    raise
        f = [*v, {"Name": "group-name", "Values": ["default"]}]
        for sg in ec2.describe_security_groups(Filters=f)["SecurityGroups"]:
            x, up, out = sg["GroupId"], sg["IpPermissions"], sg["IpPermissionsEgress"]
            if up:
                ec2.revoke_security_group_ingress(GroupId=x, IpPermissions=up)
            if out:
                ec2.revoke_security_group_egress(GroupId=x, IpPermissions=out)


def session_manager(p: dict) -> None:
    # Session Manager's preferences (the document every session uses unless told another)
    # and default host management: every instance managed, with or without a profile
    m = boto3.client("ssm", config=C)
    n = "SSM-SessionManagerRunShell"
    try:
        v = m.update_document(Name=n, Content=p["SessionPrefs"], DocumentVersion="$LATEST")
        m.update_document_default_version(
            Name=n, DocumentVersion=v["DocumentDescription"]["DocumentVersion"]
        )
    # InvalidDocument: not made yet (the console makes it on first use)
    except m.exceptions.InvalidDocument:
        m.create_document(Name=n, Content=p["SessionPrefs"], DocumentType="Session")
    # DuplicateDocumentContent: $LATEST has it already; an earlier run may have failed
    # before making it the default, and sessions use the default
    except m.exceptions.DuplicateDocumentContent:
        d = m.describe_document(Name=n)["Document"]
        if d["DefaultVersion"] != d["LatestVersion"]:
            m.update_document_default_version(Name=n, DocumentVersion=d["LatestVersion"])
    m.update_service_setting(
        SettingId="/ssm/managed-instance/default-ec2-instance-management-role",
        SettingValue=p["InstanceRole"],
    )


def apply(p: dict) -> None:
    ec2 = boto3.client("ec2", config=C)
    config_role(p)
    if p.get("HomeRegion") == "true":
        password_policy(p)
        s3_block_public_access(p)
    ebs_encryption(p, ec2)
    if p.get("ImdsDefaults") == "true":
        imds_defaults(p, ec2)
    default_vpcs(p, ec2)
    if "SessionPrefs" in p:
        session_manager(p)


def handler(event: dict, context: object) -> None:
    s, r = cfnresponse.SUCCESS, ""
    try:
        if event["RequestType"] != "Delete":
            apply(event["ResourceProperties"])
    except Exception as e:
        print(f"failed: {e!r}")
        s, r = cfnresponse.FAILED, str(e)[:500]
    cfnresponse.send(event, context, s, {}, "account-settings", reason=r)
