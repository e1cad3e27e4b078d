"""SecureSecret: its own key, closed to the outside, rotated or explicitly not."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_lambda as lambda_

from baseline.app import cdk_json_context
from baseline.compliance import attach_packs, synth_checked
from baseline.constructs import SecureSecret
from tests.constructs.helpers import ENV, nag_violations, new_stack

ORG = "o-abc123def4"
REASON = "The vendor issues this API key and rotates it on their side every ninety days."


def _template(**kwargs: object) -> assertions.Template:
    _, stack = new_stack()
    SecureSecret(stack, "Token", organization_id=ORG, **kwargs)  # type: ignore[arg-type]
    return assertions.Template.from_stack(stack)


def test_is_encrypted_with_its_own_key_and_retained() -> None:
    template = _template(unrotated_reason=REASON)
    (key_id,) = template.find_resources("AWS::KMS::Key")
    (secret,) = template.find_resources("AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert secret["DeletionPolicy"] == "RetainExceptOnCreate"


def test_denies_everyone_outside_the_organisation_and_blocks_public_policies() -> None:
    template = _template(unrotated_reason=REASON)
    (policy,) = template.find_resources("AWS::SecretsManager::ResourcePolicy").values()
    assert policy["Properties"]["BlockPublicPolicy"] is True
    (statement,) = policy["Properties"]["ResourcePolicy"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"] == {
        "StringNotEquals": {"aws:PrincipalOrgID": ORG},
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
    }


def test_rotates_with_the_given_function() -> None:
    _, stack = new_stack()
    rotator = lambda_.Function(
        stack,
        "Rotator",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c):\n    return None\n"),
    )
    SecureSecret(stack, "Token", organization_id=ORG, rotation_function=rotator, rotation_days=7)
    (schedule,) = (
        assertions.Template.from_stack(stack)
        .find_resources("AWS::SecretsManager::RotationSchedule")
        .values()
    )
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(7 days)"}


def test_without_a_rotation_choice_the_packs_say_so() -> None:
    app, stack = new_stack()
    SecureSecret(stack, "Token", organization_id=ORG)
    rules = {finding.split(":")[0] for finding in nag_violations(app)}
    assert "AwsSolutions-SMG4" in rules


def test_passes_every_suite_once_rotation_is_decided(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Secrets", env=ENV)
    SecureSecret(stack, "Token", organization_id=ORG, unrotated_reason=REASON)
    assert nag_violations(app) == []
    attach_packs(app)
    synth_checked(app, "the secret")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"organization_id": "abc"}, "organization_id must be an organisation id"),
        ({"organization_id": "o-"}, "organization_id must be an organisation id .*got 'o-'"),
        ({"organization_id": "o-ABCDEFGHIJ"}, "organization_id must be an organisation id"),
        ({"organization_id": ORG, "rotation_days": 0}, "rotation_days must be between 1 and 1000"),
        (
            {"organization_id": ORG, "secret_name": "orders db!"},
            r"secret_name must be 1-512 .*'orders db!'",
        ),
        ({"organization_id": ORG, "secret_name": "x" * 513}, "secret_name must be 1-512"),
    ],
)
def test_fails_on_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    _, stack = new_stack()
    with pytest.raises(ValueError, match=message):
        SecureSecret(stack, "Token", **kwargs)  # type: ignore[arg-type]


KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("given", ["arn", "alias", "own"])
def test_a_reader_may_decrypt_the_value_whatever_key_encrypts_it(given: str) -> None:
    """The CDK puts a reader's decrypt into the key's policy, which it cannot change for an
    existing key: then the reader's own policy gets it, through Secrets Manager only."""
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms

    _, stack = new_stack()
    key = {
        "arn": lambda: kms.Key.from_key_arn(stack, "Existing", KEY_ARN),
        "alias": lambda: kms.Alias.from_alias_name(stack, "Existing", "alias/team/secrets"),
        "own": lambda: None,
    }[given]()
    secret = SecureSecret(
        stack, "Token", organization_id=ORG, encryption_key=key, unrotated_reason=REASON
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    secret.grant_read(reader)
    template = assertions.Template.from_stack(stack)
    statements = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    decrypts = [s for s in statements if s["Action"] == "kms:Decrypt"]
    if given == "own":  # the app's key: its policy holds the reader's decrypt
        assert decrypts == []
        (key_policy,) = [
            k["Properties"]["KeyPolicy"] for k in template.find_resources("AWS::KMS::Key").values()
        ]
        assert "kms:Decrypt" in str(key_policy)
        return
    (decrypt,) = decrypts
    via = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    if given == "arn":
        assert decrypt["Resource"] == KEY_ARN
        assert decrypt["Condition"] == {"StringEquals": via}
    else:
        assert decrypt["Resource"] == "*"
        assert decrypt["Condition"] == {
            "StringEquals": via,
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/team/secrets"]},
        }
