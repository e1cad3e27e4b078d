"""``python -m baseline import-organization`` against moto's AWS Organizations (a real
boto3 client against an in-process implementation): an organisation of a few hundred
accounts in nested OUs becomes a config that validates once its placeholders are filled;
only reads are made; the failures of a real organisation are said in one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from moto import mock_aws

from baseline.__main__ import main
from baseline.config import parse_config
from baseline.importer import (
    PLACEHOLDER,
    READ_OPERATIONS,
    ImportedOrganization,
    clients,
    read_organization,
    render_config,
)
from baseline.operations import CommandError

WORKLOADS = 240


@pytest.fixture(scope="module")
def organisation() -> Iterator[dict[str, Any]]:
    """A generated organisation: core accounts, nested workload OUs, delegated admins
    (made once: the tests only read it)."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        org = boto3.client("organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]

        def unit(parent: str, name: str) -> str:
            created = org.create_organizational_unit(ParentId=parent, Name=name)
            return str(created["OrganizationalUnit"]["Id"])

        def account(name: str, parent: str) -> str:
            status = org.create_account(
                AccountName=name, Email=f"aws-{name.lower().replace(' ', '-')}@example.com"
            )["CreateAccountStatus"]
            org.move_account(
                AccountId=status["AccountId"], SourceParentId=root, DestinationParentId=parent
            )
            return str(status["AccountId"])

        security = unit(root, "Security")
        infrastructure = unit(root, "Infrastructure")
        workloads = unit(root, "Workloads")
        prod = unit(workloads, "Prod")
        nonprod = unit(workloads, "NonProd")
        teams = unit(nonprod, "Teams")
        labs = unit(workloads, "Labs.EU")  # a name the config does not accept as it is
        ids = {
            "Log Archive": account("Log Archive", security),
            "Security Tooling": account("Security Tooling", security),
            "Network": account("Network", infrastructure),
            "Shared Services": account("Shared Services", infrastructure),
        }
        for service in ("guardduty.amazonaws.com", "macie.amazonaws.com"):
            org.enable_aws_service_access(ServicePrincipal=service)
            org.register_delegated_administrator(
                AccountId=ids["Security Tooling"], ServicePrincipal=service
            )
        for i in range(WORKLOADS):
            account(f"team-{i:03d}", (prod, nonprod, teams, labs)[i % 4])
        yield {"ids": ids, "root": root, "teams": teams}


def _read() -> ImportedOrganization:
    return read_organization(*clients())


def filled(text: str) -> dict[str, Any]:
    """The imported config with its placeholders filled in as a person would."""
    data: dict[str, Any] = yaml.safe_load(text)
    data["organization"].update(name="Imported", prefix="imp")
    data.update(
        home_region="eu-west-1",
        governed_regions=["eu-west-1", "eu-central-1"],
        security_notification_email="security@example.com",
        security_contact={
            "name": "Security team",
            "title": "CISO",
            "email": "security@example.com",
            "phone": "+44 20 7946 0000",
        },
    )
    return data


def test_every_ou_and_account_is_read_with_its_place(organisation: dict[str, Any]) -> None:
    imported = _read()
    assert imported.root_id == organisation["root"]
    assert len(imported.accounts) == WORKLOADS + 5  # and the management account
    places = {a.name: a.ou for a in imported.accounts}
    assert places["Log Archive"] == "Security"
    assert places["team-002"] == "Workloads/NonProd/Teams"
    assert places["team-000"] == "Workloads/Prod"
    assert places["team-003"] == "Workloads/Labs-EU"
    workloads = next(u for u in imported.units if u.name == "Workloads")
    nonprod = next(u for u in workloads.children if u.name == "NonProd")
    assert nonprod.children[0].id == organisation["teams"]


def test_the_core_accounts_are_guessed_and_marked_to_confirm(
    organisation: dict[str, Any],
) -> None:
    roles = {a.name: (a.role, a.why) for a in _read().accounts}
    assert roles["Security Tooling"] == (
        "audit",
        "guessed: delegated administrator of guardduty.amazonaws.com, macie.amazonaws.com; confirm",
    )
    assert roles["Log Archive"] == ("log_archive", "guessed from its name; confirm")
    assert roles["Network"][0] == "network" and roles["Shared Services"][0] == "shared_services"
    assert roles["team-001"] == ("workload", "")
    assert [r for r, _ in roles.values()].count("management") == 1


def test_the_config_validates_once_the_placeholders_arefilled(
    organisation: dict[str, Any],
) -> None:
    text = render_config(_read())
    values = [line for line in text.splitlines() if not line.startswith("#")]
    assert sum(line.count(PLACEHOLDER) for line in values) == 9
    config = parse_config(filled(text))
    assert len(config.accounts) == WORKLOADS + 5
    assert "Workloads/NonProd/Teams" in config.ou_paths()
    assert "Workloads/Labs-EU" in config.ou_paths()
    assert '- name: "Labs-EU"   # "Labs.EU" in AWS' in text
    assert config.account_by_name("log-archive") is not None  # names made config-safe
    assert '# "Log Archive" in AWS' in text


def test_validate_names_each_placeholder_left(
    organisation: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported.yaml"
    assert main(["import-organization", "--output", str(out)]) == 0
    assert "fill in the FILL-IN values" in capsys.readouterr().err
    assert main(["validate", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{out}: values import-organization left for you to fill in:"
    assert err[1:] == [
        f"  {field}: still FILL-IN"
        for field in (
            "organization.name",
            "organization.prefix",
            "home_region",
            "governed_regions[0]",
            "security_notification_email",
            "security_contact.name",
            "security_contact.title",
            "security_contact.email",
            "security_contact.phone",
        )
    ]
    # filled in, the same file validates
    out.write_text(yaml.safe_dump(filled(out.read_text(encoding="utf-8"))), encoding="utf-8")
    assert main(["validate", str(out)]) == 0


def test_it_makes_only_read_calls(organisation: dict[str, Any]) -> None:
    organizations, sts = clients()
    made: list[str] = []
    for client, service in ((organizations, "organizations"), (sts, "sts")):
        client.meta.events.register(
            f"before-call.{client.meta.service_model.service_name}.*",
            lambda model, service=service, **_: made.append(f"{service}:{model.name}"),
        )
    read_organization(organizations, sts)
    assert set(made) <= READ_OPERATIONS
    assert {m.split(":")[1][:4] for m in made} <= {"Desc", "List", "GetC"}
    assert "organizations:ListAccountsForParent" in made  # paginated per OU


def test_an_existing_output_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.yaml"
    out.write_text("keep me\n", encoding="utf-8")
    assert main(["import-organization", "--output", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "keep me\n"
    assert "the file exists" in capsys.readouterr().err


def test_a_directory_as_output_is_called_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-organization", "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"--output {tmp_path}: is a directory; give the name of a new file"
    ]


def test_an_output_nowhere_to_write_is_refused_before_the_organisation_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading a large organisation takes minutes: a place the result cannot be written
    is named before it starts, not after."""
    import baseline.importer

    monkeypatch.setattr(baseline.importer, "clients", lambda: pytest.fail("read first"))
    missing = tmp_path / "missing" / "org.yaml"
    assert main(["import-organization", "--output", str(missing)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"--output {missing}: {missing.parent} is not a directory; create it first"
    ]
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if not os.access(locked, os.W_OK):  # root writes anywhere
        assert main(["import-organization", "--output", str(locked / "org.yaml")]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"--output {locked / 'org.yaml'}: {locked} cannot be written to"
        ]


# --- failures a real organisation gives (Stubber: botocore validates each request) -------


def _stubbed(*responses: tuple[str, Any]) -> tuple[Any, Any]:
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    organizations = boto3.client("organizations", region_name="us-east-1", **keys)
    sts = boto3.client("sts", region_name="us-east-1", **keys)
    for client in (organizations, sts):
        stubber = Stubber(client)
        for operation, response in responses:
            if operation.split(".")[0] != client.meta.service_model.service_name:
                continue
            name = operation.split(".")[1]
            if isinstance(response, str):
                stubber.add_client_error(name, service_error_code=response, http_status_code=400)
            else:
                stubber.add_response(name, response)
        stubber.activate()
    return organizations, sts


_ORG = {
    "Organization": {
        "Id": "o-abcdefghij",
        "Arn": "arn:aws:organizations::111111111111:organization/o-abcdefghij",
        "MasterAccountId": "111111111111",
        "FeatureSet": "ALL",
    }
}


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        (("AWS_ENDPOINT_URL", "notaurl"), "Invalid endpoint: notaurl"),
        (("AWS_DEFAULT_REGION", ""), "Invalid endpoint: https://sts..amazonaws.com"),
    ],
    ids=["endpoint", "empty region"],
)
def test_settings_botocore_cannot_use_are_one_line(
    setting: tuple[str, str],
    problem: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv(*setting)
    output = tmp_path / "imported.yaml"
    assert main(["import-organization", "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"cannot use the AWS credentials: {problem}", err
    assert not output.exists()


def test_denied_reads_name_the_permission() -> None:
    with pytest.raises(CommandError) as caught:
        read_organization(
            *_stubbed(
                ("organizations.describe_organization", _ORG),
                ("sts.get_caller_identity", {"Account": "111111111111"}),
                ("organizations.list_roots", "AccessDeniedException"),
            )
        )
    assert caught.value.problems == [
        "access denied: the credentials may not call organizations:ListRoots; give them "
        "read access to AWS Organizations (e.g. AWSOrganizationsReadOnlyAccess)"
    ]


def test_an_account_s_state_is_read_where_aws_now_gives_it() -> None:
    def account(number: str, **state: str) -> dict[str, str]:
        return {"Id": number * 12, "Name": f"a{number}", "Email": f"a{number}@example.com", **state}

    organisation = read_organization(
        *_stubbed(
            ("organizations.describe_organization", _ORG),
            ("sts.get_caller_identity", {"Account": "111111111111"}),
            ("organizations.list_roots", {"Roots": [{"Id": "r-abcd", "Name": "Root"}]}),
            (
                "organizations.list_accounts_for_parent",
                {
                    "Accounts": [
                        account("1", State="ACTIVE"),
                        account("2", State="SUSPENDED"),  # no Status: retired in 2026
                        account("3", Status="SUSPENDED"),  # an answer from before State
                    ]
                },
            ),
            ("organizations.list_organizational_units_for_parent", {"OrganizationalUnits": []}),
            ("organizations.list_delegated_administrators", {"DelegatedAdministrators": []}),
            ("organizations.list_policies", {"Policies": []}),
            ("organizations.list_policies", {"Policies": []}),
        )
    )
    assert [(a.id[0], a.status) for a in organisation.accounts] == [
        ("1", "ACTIVE"),
        ("2", "SUSPENDED"),
        ("3", "SUSPENDED"),
    ]


def _policy(number: str, name: str, *, aws_managed: bool = False) -> dict[str, Any]:
    return {
        "Id": f"p-{number * 8}",
        "Arn": f"arn:aws:organizations::111111111111:policy/o-abcdefghij/service_control_policy/p-{number * 8}",
        "Name": name,
        "Type": "SERVICE_CONTROL_POLICY",
        "AwsManaged": aws_managed,
    }


def test_every_page_of_policies_and_targets_is_read() -> None:
    """ListPolicies and ListTargetsForPolicy through their paginators: the second page of
    each is read too; an AWS-managed policy is not asked about."""
    root = {"TargetId": "r-abcd", "Arn": "arn:aws:organizations::1:root/o-x/r-abcd"}
    organisation = read_organization(
        *_stubbed(
            ("organizations.describe_organization", _ORG),
            ("sts.get_caller_identity", {"Account": "111111111111"}),
            ("organizations.list_roots", {"Roots": [{"Id": "r-abcd", "Name": "Root"}]}),
            ("organizations.list_accounts_for_parent", {"Accounts": []}),
            ("organizations.list_organizational_units_for_parent", {"OrganizationalUnits": []}),
            ("organizations.list_delegated_administrators", {"DelegatedAdministrators": []}),
            (
                "organizations.list_policies",
                {
                    "Policies": [_policy("1", "FullAWSAccess", aws_managed=True)],
                    "NextToken": "page-2",
                },
            ),
            ("organizations.list_policies", {"Policies": [_policy("2", "legacy")]}),
            (
                "organizations.list_targets_for_policy",
                {"Targets": [{**root, "Name": "Root", "Type": "ROOT"}], "NextToken": "page-2"},
            ),
            (
                "organizations.list_targets_for_policy",
                {
                    "Targets": [
                        {
                            "TargetId": "222222222222",
                            "Arn": "arn:aws:organizations::1:account/o-x/222222222222",
                            "Name": "api",
                            "Type": "ACCOUNT",
                        }
                    ]
                },
            ),
            ("organizations.list_policies", {"Policies": []}),  # no RCP
        )
    )
    (policy,) = organisation.policies
    assert (policy.name, policy.kind) == ("legacy", "SCP")
    assert policy.targets == [("ROOT", "r-abcd"), ("ACCOUNT", "222222222222")]


def test_a_member_account_is_told_it_is_not_the_management_account() -> None:
    with pytest.raises(CommandError) as caught:
        read_organization(
            *_stubbed(
                ("organizations.describe_organization", _ORG),
                ("sts.get_caller_identity", {"Account": "222222222222"}),
                ("organizations.list_roots", "AccessDeniedException"),
            )
        )
    (problem,) = caught.value.problems
    assert problem.startswith(
        "these credentials are of account 222222222222, not the management account 111111111111"
    )


def test_an_account_outside_any_organisation_says_so() -> None:
    with pytest.raises(CommandError) as caught:
        read_organization(
            *_stubbed(("organizations.describe_organization", "AWSOrganizationsNotInUseException"))
        )
    assert caught.value.problems == ["this account is in no organisation: nothing to import"]


def _rooted(*accounts: tuple[str, str, str, str]) -> ImportedOrganization:
    """An organisation of accounts (id, name, email, state) in the root, the first the
    management account."""
    from baseline.importer import ImportedAccount

    org = ImportedOrganization(
        id="o-abcdefghij",
        root_id="r-abcd",
        management_account_id=accounts[0][0],
        units=[],
        accounts=[
            ImportedAccount(i, name, email, "Root", state) for i, name, email, state in accounts
        ],
    )
    org.accounts[0].role = "management"
    return org


def test_odd_names_and_addresses_still_make_a_config_that_loads() -> None:
    """E-mail addresses with YAML's special characters, names that slug alike, and an
    organisation whose core accounts nothing identifies: the file loads, every name is
    unique, and the missing core accounts are placeholders that validate will list."""
    org = _rooted(
        ("111111111111", "Main", "*ops@example.com", "ACTIVE"),
        ("222222222222", "prod", "&a@example.com", "ACTIVE"),
        ("333333333333", "Prod", "!b@example.com", "ACTIVE"),
        ("444444444444", "Prod 2", "{c}@example.com", "SUSPENDED"),
    )
    text = render_config(org)
    data = yaml.safe_load(text)
    names = [a["name"] for a in data["accounts"] if a["name"] != PLACEHOLDER]
    assert len(names) == len(set(names)) == 4
    assert {a["email"] for a in data["accounts"]} >= {"*ops@example.com", "{c}@example.com"}
    stubs = [a for a in data["accounts"] if a["name"] == PLACEHOLDER]
    assert sorted(a["role"] for a in stubs) == ["audit", "log_archive", "network"]
    assert '# status "SUSPENDED" in AWS' in text
    (suspended,) = [a for a in data["accounts"] if a.get("id") == "444444444444"]
    assert suspended["ou"] == PLACEHOLDER  # validate lists it until someone decides


def test_a_denied_identity_call_is_named_as_sts() -> None:
    with pytest.raises(CommandError) as caught:
        read_organization(
            *_stubbed(
                ("organizations.describe_organization", _ORG),
                ("sts.get_caller_identity", "AccessDenied"),
            )
        )
    assert caught.value.problems[0].startswith(
        "access denied: the credentials may not call sts:GetCallerIdentity"
    )


def test_the_operator_commands_work_on_the_imported_organisation(
    organisation: dict[str, Any],
) -> None:
    """explain, diagram and cost take the imported config as they take the example."""
    from baseline.cost import Assumptions, estimate
    from baseline.diagram import organisation as drawn
    from baseline.diagram import render_mermaid
    from baseline.explain import explain

    config = parse_config(filled(render_config(_read())))
    denied = explain(config, account="team-001", action="ec2:RunInstances", region="ap-southeast-2")
    assert "SCP-REGION-DENY" in {d["guardrail"] for d in denied.denials()}
    allowed = explain(
        config,
        account="team-001",
        action="s3:GetObject",
        resource="arn:aws:s3:::team-data/x",
    )
    assert allowed.allowed, allowed.as_text()
    picture = render_mermaid(drawn(config))
    assert "team-239" in picture and "OU Workloads/NonProd/Teams" in picture
    assert sum(line.monthly for line in estimate(config, Assumptions())) > 0


@pytest.mark.parametrize(
    ("aws_name", "expected"),
    [
        ("Prod.EU", "Prod-EU"),
        ("Teams/Payments", "Teams-Payments"),
        ("2024 projects", "OU-2024 projects"),
        ("Root", "Root-OU"),
        ("...", "OU"),
        ("Workloads", "Workloads"),
    ],
)
def test_an_ou_name_the_config_refuses_becomes_one_it_accepts(aws_name: str, expected: str) -> None:
    from baseline.config import _OU_NAME
    from baseline.importer import unit_name

    name = unit_name(aws_name, set())
    assert name == expected and _OU_NAME.match(name)


def test_renamed_ous_stay_unique_and_their_accounts_follow() -> None:
    """Two OUs that differ only in the characters the config refuses get two names; the
    AWS name is kept beside the config's, and the accounts' paths use the config's."""
    from baseline.importer import ImportedAccount, ImportedUnit

    org = ImportedOrganization(
        id="o-abcdefghij",
        root_id="r-abcd",
        management_account_id="111111111111",
        units=[
            ImportedUnit("Prod-EU", "ou-abcd-11111111", [], "Prod.EU"),
            ImportedUnit("Prod-EU-2", "ou-abcd-22222222", [], "Prod/EU"),
        ],
        accounts=[
            ImportedAccount("111111111111", "Main", "ops@example.com", "Root", "ACTIVE"),
            ImportedAccount("222222222222", "api", "api@example.com", "Prod-EU-2", "ACTIVE"),
        ],
    )
    org.accounts[0].role = "management"
    text = render_config(org)
    assert '- name: "Prod-EU"   # "Prod.EU" in AWS' in text
    data = yaml.safe_load(text)
    assert [u["name"] for u in data["organizational_units"]] == ["Prod-EU", "Prod-EU-2"]
    assert {a["ou"] for a in data["accounts"] if a["name"] == "api"} == {"Prod-EU-2"}
    taken: set[str] = set()
    from baseline.importer import unit_name

    # one resource each: "prod eu" would be ProdEu, and then ProdEu2, as the two before
    assert [unit_name(n, taken) for n in ("Prod.EU", "Prod/EU", "prod eu")] == [
        "Prod-EU",
        "Prod-EU-2",
        "prod eu-3",
    ]
    # and across levels: a top-level Workloads-Prod is Workloads/Prod's resource
    taken = set()
    assert unit_name("Prod", taken, "Workloads") == "Prod"
    assert unit_name("Workloads-Prod", taken) == "Workloads-Prod-2"


def test_an_account_being_activated_is_placed_as_an_active_one() -> None:
    """PENDING_ACTIVATION is a new account on its way to ACTIVE: it keeps its OU, with a
    comment, and is no closed account to move to a suspended OU."""
    from baseline.importer import inactive_warning

    org = _rooted(
        ("111111111111", "Main", "ops@example.com", "ACTIVE"),
        ("222222222222", "new-team", "new@example.com", "PENDING_ACTIVATION"),
    )
    text = render_config(org)
    (new,) = [a for a in yaml.safe_load(text)["accounts"] if a.get("id") == "222222222222"]
    assert new["ou"] == "Root"
    assert "still being activated in AWS" in text and "closed or suspended" not in text
    assert inactive_warning(org) is None
